//! The SQLite file: connection settings and versioned migrations (`PRAGMA user_version`).
//!
//! Tables (version 1):
//! - `meta(key, value)`: `key_check` (a sealed constant that proves the key), `head` (the sealed
//!   chain head), `retention_days`.
//! - `records`: the hash chain. One row per incident, event or purge; `body` is the canonical
//!   JSON that `content_hash` covers (NULL once purged).
//! - `sealed(seq, field, blob)`: encrypted fields of a record.
//! - `lookup(incident_id, ...)`: derived index of image hashes and sender tags for the
//!   "already seen" lookups; not part of the chain.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, Result};

/// The newest schema version this build writes.
pub(crate) const SCHEMA_VERSION: i64 = 1;

const MIGRATIONS: &[&str] = &[
    // 0 -> 1
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
     CREATE TABLE records (
         seq INTEGER PRIMARY KEY,
         kind TEXT NOT NULL,
         incident_id TEXT NOT NULL,
         at_ms INTEGER NOT NULL,
         body TEXT,
         content_hash BLOB NOT NULL,
         prev_hash BLOB NOT NULL,
         hash BLOB NOT NULL
     );
     CREATE INDEX records_incident ON records(incident_id);
     CREATE TABLE sealed (
         seq INTEGER NOT NULL,
         field TEXT NOT NULL,
         blob BLOB NOT NULL,
         PRIMARY KEY (seq, field)
     );
     CREATE TABLE lookup (
         incident_id TEXT PRIMARY KEY,
         seq INTEGER NOT NULL,
         image_sha256 BLOB NOT NULL,
         pdq BLOB,
         pdq_quality INTEGER,
         sender_tag BLOB
     );
     CREATE INDEX lookup_sha ON lookup(image_sha256);
     CREATE INDEX lookup_sender ON lookup(sender_tag);",
];

/// Opens (or creates) the database with the vault's settings. Checks that the file is a
/// readable SQLite database before anything is written.
pub(crate) fn connect(path: &Path, read_only: bool) -> Result<Connection> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn =
        Connection::open_with_flags(path, flags).map_err(|e| match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::CannotOpen) => Error::EvidenceStore(format!(
                "cannot open {}: {e} (does the folder exist?)",
                path.display()
            )),
            _ => Error::from(e),
        })?;
    conn.busy_timeout(Duration::from_secs(10))?;
    // Reading the schema fails on a file that is not a database (or is damaged) before any
    // write happens.
    let _: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
    if !read_only {
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::EvidenceStore(format!(
                "cannot use write-ahead logging (journal mode is {mode})"
            )));
        }
        conn.execute_batch(
            "PRAGMA synchronous=FULL; PRAGMA secure_delete=ON; PRAGMA foreign_keys=ON;",
        )?;
    }
    Ok(conn)
}

/// The schema version in the file.
pub(crate) fn version(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// Whether the file has no tables yet (a new vault).
pub(crate) fn is_empty(conn: &Connection) -> Result<bool> {
    let n: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
    Ok(n == 0)
}

/// Applies every migration newer than the file's version, in one transaction.
pub(crate) fn migrate(conn: &mut Connection) -> Result<()> {
    let found = version(conn)?;
    if found > SCHEMA_VERSION {
        return Err(Error::EvidenceSchemaTooNew {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    if found == SCHEMA_VERSION {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    // Another process may have migrated while we waited for the lock.
    let now: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(now.max(0) as usize) {
        tx.execute_batch(sql)?;
        tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))?;
    }
    tx.commit()?;
    Ok(())
}

/// Checks that the tables this build needs are there (a database that is not a vault).
pub(crate) fn check_tables(conn: &Connection) -> Result<()> {
    for table in ["meta", "records", "sealed", "lookup"] {
        let n: i64 = conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type='table' AND name=?1",
            [table],
            |r| r.get(0),
        )?;
        if n == 0 {
            return Err(Error::EvidenceCorrupt(format!(
                "the table {table} is missing"
            )));
        }
    }
    Ok(())
}
