//! `gatehouse keys`: what operators see of the token-signing keys, and the rotation they ask
//! for.

use std::fmt::Write as _;

use gatehouse_application::ports::StoredSigningKey;
use gatehouse_application::{SecondFactors, SigningKeys};
use gatehouse_domain::{KeyState, RotationStep};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Why there is nothing to show or rotate.
pub const NO_KEYS: &str = "GATEHOUSE_JWT_ALGORITHM=HS256 signs with the shared secret and \
    publishes no key (it only prepares one for a move to key pairs): rotate the secret with \
    GATEHOUSE_JWT_VERIFY_ONLY_SECRETS instead";

/// Every published key, one per line: state, `kid`, algorithm and its dates.
pub async fn list(keys: &SigningKeys) -> anyhow::Result<String> {
    Ok(table(&keys.list().await?))
}

/// Publishes the next key now (or takes whatever steps are due) and says what happened and
/// when the next key starts signing.
pub async fn rotate(keys: &SigningKeys) -> anyhow::Result<String> {
    let steps = keys.maintain(true).await?;
    let published = keys.list().await?;
    let mut out = String::new();
    for step in &steps {
        let _ = writeln!(out, "{}", describe(step));
    }
    if let Some(next) = published.iter().find(|k| k.state == KeyState::Next) {
        let _ = writeln!(
            out,
            "next key {} is published; it starts signing after {} (at the first rotation \
             check after it: every instance checks every half GATEHOUSE_JWKS_MAX_AGE)",
            next.kid,
            date(next.created_at + keys.policy().publish_before_use())
        );
    } else if steps.is_empty() {
        let _ = writeln!(out, "nothing to do");
    }
    out.push_str(&table(&published));
    Ok(out)
}

/// A leak: a new key signs at once, the current one retires (see [`SigningKeys::rotate_immediately`]).
pub async fn rotate_immediately(keys: &SigningKeys) -> anyhow::Result<String> {
    let steps = keys.rotate_immediately().await?;
    let mut out = String::new();
    for step in &steps {
        let _ = writeln!(out, "{}", describe(step));
    }
    out.push_str(&table(&keys.list().await?));
    Ok(out)
}

/// A leak: a retired key leaves the JWKS now, and its tokens stop working.
pub async fn remove(keys: &SigningKeys, kid: &str) -> anyhow::Result<String> {
    anyhow::ensure!(
        keys.remove_now(kid).await?,
        "{kid:?} is not a retired key: run `gatehouse keys rotate --now` first"
    );
    Ok(format!(
        "key {kid} is removed; every token it signed is refused\n{}",
        table(&keys.list().await?)
    ))
}

/// Seals again under `GATEHOUSE_MASTER_KEY` every signing key and authenticator-app secret
/// `GATEHOUSE_MASTER_KEY_PREVIOUS` sealed.
pub async fn reseal(keys: &SigningKeys, factors: &SecondFactors) -> anyhow::Result<String> {
    let resealed = keys.reseal().await?;
    let secrets = factors.reseal_secrets().await?;
    Ok(format!(
        "resealed {resealed} key(s) and {secrets} authenticator-app secret(s) under \
         GATEHOUSE_MASTER_KEY; every one now opens with it alone. Recovery codes issued before \
         the rotation are recognised only while GATEHOUSE_MASTER_KEY_PREVIOUS is set (they are \
         keyed digests that cannot be re-keyed): remove it everywhere once their owners have \
         new ones, then retire the old master key\n"
    ))
}

fn describe(step: &RotationStep) -> String {
    match step {
        RotationStep::CreateCurrent => "created the first key".into(),
        RotationStep::CreateNext => "created the next key".into(),
        RotationStep::Promote { next, retiring } => match retiring {
            Some(old) => format!("key {next} now signs; key {old} is retired"),
            None => format!("key {next} now signs"),
        },
        RotationStep::Remove { kid } => format!("key {kid} is removed (its tokens have expired)"),
    }
}

fn table(keys: &[StoredSigningKey]) -> String {
    let mut out = format!(
        "{:<8} {:<44} {:<6} {:<26} {:<26} {}\n",
        "STATE", "KID", "ALG", "CREATED", "ACTIVATED", "RETIRED"
    );
    for key in keys {
        let _ = writeln!(
            out,
            "{:<8} {:<44} {:<6} {:<26} {:<26} {}",
            key.state.as_str(),
            key.kid,
            key.algorithm,
            date(key.created_at),
            key.activated_at.map_or_else(|| "-".into(), date),
            key.retired_at.map_or_else(|| "-".into(), date),
        );
    }
    out
}

fn date(at: OffsetDateTime) -> String {
    at.replace_nanosecond(0)
        .unwrap_or(at)
        .format(&Rfc3339)
        .unwrap_or_else(|_| at.to_string())
}
