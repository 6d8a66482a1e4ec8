//! `gatehouse seed-users N`: many users, fast, for benchmarks and demos.

use std::time::Duration;

use anyhow::Context;
use gatehouse_domain::{Email, User, Username};
use indicatif::{ProgressBar, ProgressStyle};
use rand::Rng;
use rand::distr::Alphanumeric;

use crate::startup::Components;

/// What a seeding run made.
pub struct Seeded {
    /// How many users.
    pub count: u64,
    /// The password every one of them has.
    pub password: String,
    /// The marker in their emails and usernames (`seed-<run>-<n>@example.test`).
    pub run: String,
}

/// Inserts `count` regular users in batches of `batch`. One bcrypt hash serves them all (a
/// million hashes would take days at cost 12); creation times are a microsecond apart and
/// end now, so they are distinct and sort in insertion order.
pub async fn seed_users(
    components: &Components,
    count: u64,
    batch: usize,
) -> anyhow::Result<Seeded> {
    let batch = batch.clamp(1, 1000);
    let run: String = random_text(6).to_lowercase();
    let password = random_text(20);
    let hash = components.hasher.hash(&password_value(&password)?).await?;
    let progress = ProgressBar::new(count).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} users ({per_sec}, eta {eta})")
            .context("progress template")?,
    );
    progress.enable_steady_tick(Duration::from_millis(200));
    let start = time::OffsetDateTime::now_utc() - Duration::from_micros(count);
    let mut next = 0u64;
    while next < count {
        let end = (next + batch as u64).min(count);
        let users = (next..end)
            .map(|n| {
                let email = Email::parse(&format!("seed-{run}-{n}@example.test"))?;
                let username = Username::parse(&format!("seed_{run}_{n}"))?;
                let at = start + Duration::from_micros(n);
                Ok(User::register(email, username, hash.clone(), at))
            })
            .collect::<Result<Vec<_>, gatehouse_domain::DomainError>>()?;
        components
            .users
            .insert_many(&users)
            .await
            .with_context(|| format!("inserting users {next}..{end}"))?;
        progress.inc(end - next);
        next = end;
    }
    progress.finish();
    Ok(Seeded {
        count,
        password,
        run,
    })
}

fn random_text(len: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

fn password_value(raw: &str) -> anyhow::Result<gatehouse_domain::Password> {
    gatehouse_domain::PasswordPolicy::default()
        .check_standalone(raw)
        .map_err(|e| anyhow::anyhow!("generated password refused: {e}"))
}
