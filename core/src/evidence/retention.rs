//! Retention (purging old incidents) and wiping the whole vault.
//!
//! A purge keeps the chain verifiable: the records stay with their hashes, their bodies and
//! encrypted fields go, and a `purge` record is appended (see the module docs of
//! [`crate::evidence`]).

use std::io::Write;
use std::path::{Path, PathBuf};

use rusqlite::TransactionBehavior;

use super::chain::KIND_INCIDENT;
use super::store::Store;
use crate::error::{Error, Result};

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// Purges every incident that arrived more than the retention period before `now_ms`.
pub(crate) fn purge_expired(store: &mut Store, now_ms: i64) -> Result<usize> {
    let Some(days) = store.retention_days()? else {
        return Ok(0);
    };
    let cutoff = now_ms.saturating_sub(i64::from(days).saturating_mul(DAY_MS));
    let tx = store
        .conn
        .transaction_with_behavior(TransactionBehavior::Immediate)?;
    let ids: Vec<String> = {
        let mut stmt = tx.prepare(
            "SELECT incident_id FROM records WHERE kind = ?1 AND body IS NOT NULL AND at_ms < ?2 ORDER BY seq",
        )?;
        let it = stmt.query_map(rusqlite::params![KIND_INCIDENT, cutoff], |r| r.get(0))?;
        it.collect::<rusqlite::Result<Vec<_>>>()?
    };
    for id in &ids {
        Store::purge_in(&tx, &store.keys, id, now_ms)?;
    }
    tx.commit()?;
    if !ids.is_empty() {
        log::info!("purged {} incidents past retention", ids.len());
    }
    Ok(ids.len())
}

/// Purges one incident.
pub(crate) fn purge(store: &mut Store, id: &str, now_ms: i64) -> Result<()> {
    let tx = store
        .conn
        .transaction_with_behavior(TransactionBehavior::Immediate)?;
    let live: i64 = tx.query_row(
        "SELECT count(*) FROM records WHERE incident_id = ?1 AND kind = ?2 AND body IS NOT NULL",
        rusqlite::params![id, KIND_INCIDENT],
        |r| r.get(0),
    )?;
    if live == 0 {
        return Err(Error::UnknownIncident(id.to_string()));
    }
    Store::purge_in(&tx, &store.keys, id, now_ms)?;
    tx.commit()?;
    Ok(())
}

/// The database file and its companions (`-wal`, `-shm`, `-journal`).
pub(crate) fn vault_files(path: &Path) -> Vec<PathBuf> {
    let mut files = vec![path.to_path_buf()];
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        files.push(PathBuf::from(name));
    }
    files
}

/// Overwrites each file with zeros, syncs it, and deletes it. Flash storage may keep old
/// blocks; everything sensitive in them is encrypted, so losing the key makes them unreadable.
pub(crate) fn wipe_files(path: &Path) -> Result<()> {
    for file in vault_files(path) {
        let len = match std::fs::metadata(&file) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io(&file, e)),
        };
        let overwrite = || -> std::io::Result<()> {
            let mut f = std::fs::OpenOptions::new().write(true).open(&file)?;
            let zeros = vec![0u8; 64 * 1024];
            let mut left = len;
            while left > 0 {
                let n = left.min(zeros.len() as u64) as usize;
                f.write_all(&zeros[..n])?;
                left -= n as u64;
            }
            f.sync_all()
        };
        overwrite().map_err(|e| Error::io(&file, e))?;
        std::fs::remove_file(&file).map_err(|e| Error::io(&file, e))?;
    }
    log::info!("evidence vault wiped");
    Ok(())
}
