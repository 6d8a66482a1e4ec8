//! `gatehouse import-django --from URL`: a Django project's users, read straight from its
//! database, become Gatehouse accounts that sign in with their Django passwords.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use gatehouse_application::{ImportSummary, UserImport};
use gatehouse_infrastructure::SystemClock;
use gatehouse_infrastructure::django::DjangoSource;
use indicatif::{ProgressBar, ProgressStyle};

use crate::startup::Components;

/// Imports the accounts of `table` in the Django database at `from` (PostgreSQL or SQLite
/// URL); with `dry_run`, decides everything and writes nothing.
pub async fn import_django(
    components: &Components,
    from: &str,
    table: &str,
    dry_run: bool,
) -> anyhow::Result<ImportSummary> {
    let source = DjangoSource::connect(from, table)
        .await
        .with_context(|| format!("reading the Django table {table}"))?;
    let import = UserImport::new(
        Arc::new(source),
        components.users.clone(),
        components.hasher.clone(),
        Arc::new(SystemClock),
    );
    let total = import.total().await?;
    // On stderr, and drawn only on a terminal; the report printed after it ends stdout.
    let progress = ProgressBar::new(total).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} users ({per_sec}, eta {eta})")
            .context("progress template")?,
    );
    progress.enable_steady_tick(Duration::from_millis(200));
    let summary = import
        .run(dry_run, |handled| progress.set_position(handled))
        .await?;
    progress.finish_and_clear();
    Ok(summary)
}

/// The report the command prints: one line per skipped account, then the counts (always
/// the last line).
pub fn report(summary: &ImportSummary, dry_run: bool) -> String {
    let mut out = String::new();
    for (who, reason) in &summary.skipped {
        out.push_str(&format!("skipped {who}: {reason}\n"));
    }
    if dry_run {
        out.push_str("dry run: nothing was written\n");
    }
    out.push_str(&format!(
        "imported: {}, updated: {}, skipped: {}",
        summary.imported,
        summary.updated,
        summary.skipped.len()
    ));
    out
}
