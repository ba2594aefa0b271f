//! `portcullis migrate-store`: copy one store into another (SQLite to PostgreSQL, say) and
//! prove the copy by counting rows on both sides.

use crate::config::Settings;
use crate::runtime::open_store;
use anyhow::bail;
use portcullis_core::{Clock, SystemClock};

pub async fn run(settings: &Settings, from: &str, to: &str) -> anyhow::Result<()> {
    if from == to {
        bail!("--from and --to name the same database");
    }
    if let Some(path) = crate::config::sqlite_path(from)
        && !path.exists()
    {
        bail!("the source database {} does not exist", path.display());
    }
    let (source, _) = open_store(from, settings).await?;
    let (target, _) = open_store(to, settings).await?;
    let written =
        portcullis_core::snapshot::copy(source.as_ref(), target.as_ref(), SystemClock.now())
            .await?;
    let copied = target.counts().await?;
    println!("{:<16} {:>10} {:>10}", "TABLE", "SOURCE", "TARGET");
    let mut mismatches = Vec::new();
    for (table, expected) in written {
        let got = copied
            .iter()
            .find(|(t, _)| *t == table)
            .map_or(-1, |(_, n)| *n);
        println!("{table:<16} {expected:>10} {got:>10}");
        if got != expected {
            mismatches.push(table);
        }
    }
    if !mismatches.is_empty() {
        bail!(
            "the copy differs from the source in: {}",
            mismatches.join(", ")
        );
    }
    println!(
        "copied; start the new nodes with the same master key, whose signing keys were copied sealed"
    );
    Ok(())
}
