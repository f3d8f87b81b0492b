//! The hash chain: each record's hash covers its position, kind, incident, time, the hash of its
//! canonical body and the previous record's hash. The same walk checks a database and a bundle.

use std::collections::HashSet;

use sha2::{Digest, Sha256};

use super::{hex, VerifyReport};

/// The `prev_hash` of the first record.
pub(crate) const GENESIS: [u8; 32] = [0u8; 32];

/// Record kinds.
pub(crate) const KIND_INCIDENT: &str = "incident";
pub(crate) const KIND_EVENT: &str = "event";
pub(crate) const KIND_PURGE: &str = "purge";

/// One chain entry as stored.
#[derive(Debug, Clone)]
pub(crate) struct ChainRow {
    pub seq: i64,
    pub kind: String,
    pub incident_id: String,
    pub at_ms: i64,
    pub body: Option<String>,
    pub content_hash: Vec<u8>,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
}

/// SHA-256 of a canonical body.
pub(crate) fn content_hash(body: &str) -> [u8; 32] {
    Sha256::digest(body.as_bytes()).into()
}

/// The chain hash of a record.
pub(crate) fn record_hash(
    seq: i64,
    kind: &str,
    incident_id: &str,
    at_ms: i64,
    content_hash: &[u8],
    prev_hash: &[u8],
) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"veil-chain-v1\0");
    h.update(seq.to_be_bytes());
    h.update(kind.as_bytes());
    h.update([0]);
    h.update(incident_id.as_bytes());
    h.update([0]);
    h.update(at_ms.to_be_bytes());
    h.update(content_hash);
    h.update(prev_hash);
    h.finalize().into()
}

/// Walks `rows` (in stored order) and adds every mismatch to `report`. Returns the number of
/// records and the last hash (the head).
pub(crate) fn walk(rows: &[ChainRow], report: &mut VerifyReport) -> (u64, [u8; 32]) {
    let purged: HashSet<&str> = rows
        .iter()
        .filter(|r| r.kind == KIND_PURGE)
        .map(|r| r.incident_id.as_str())
        .collect();
    let mut prev = GENESIS;
    let mut expected_seq = 1i64;
    for row in rows {
        let id = Some(row.incident_id.as_str());
        let seq = Some(row.seq);
        if row.seq != expected_seq {
            report.problem(
                seq,
                id,
                format!(
                    "is at position {} where record {expected_seq} should be: records were deleted, inserted or reordered",
                    row.seq
                ),
            );
        }
        if row.prev_hash != prev {
            report.problem(
                seq,
                id,
                "does not link to the record before it: a record before it was deleted, inserted, reordered or edited".into(),
            );
        }
        if ![KIND_INCIDENT, KIND_EVENT, KIND_PURGE].contains(&row.kind.as_str()) {
            report.problem(seq, id, format!("has an unknown kind {:?}", row.kind));
        }
        match &row.body {
            Some(body) => {
                if content_hash(body)[..] != row.content_hash[..] {
                    report.problem(
                        seq,
                        id,
                        "its content was edited: the SHA-256 of its body does not match the hash recorded for it".into(),
                    );
                } else if let Err(message) = body_matches(row, body) {
                    report.problem(seq, id, message);
                }
            }
            None if purged.contains(row.incident_id.as_str()) && row.kind != KIND_PURGE => {}
            None => report.problem(
                seq,
                id,
                "its content is missing but no purge of the incident is recorded".into(),
            ),
        }
        let hash = record_hash(
            row.seq,
            &row.kind,
            &row.incident_id,
            row.at_ms,
            &row.content_hash,
            &row.prev_hash,
        );
        if hash[..] != row.hash[..] {
            report.problem(
                seq,
                id,
                "its chain hash does not match its fields: the record was edited".into(),
            );
        }
        // Continue from the stored hash so one edit is reported once, not for every later record.
        prev = row.hash.as_slice().try_into().unwrap_or(hash);
        expected_seq = row.seq + 1;
    }
    (rows.len() as u64, prev)
}

/// The body must name the same kind, incident and time as the chained columns.
fn body_matches(row: &ChainRow, body: &str) -> Result<(), String> {
    let value: serde_json::Value =
        serde_json::from_str(body).map_err(|e| format!("its body is not valid JSON: {e}"))?;
    let same = value.get("kind").and_then(|v| v.as_str()) == Some(row.kind.as_str())
        && value.get("incident_id").and_then(|v| v.as_str()) == Some(row.incident_id.as_str())
        && value.get("at_ms").and_then(|v| v.as_i64()) == Some(row.at_ms);
    if same {
        Ok(())
    } else {
        Err("its body names a different kind, incident or time than the record".into())
    }
}

/// Hex of a head hash, for messages.
pub(crate) fn head_hex(hash: &[u8; 32]) -> String {
    hex(hash)
}
