//! Checks an exported bundle on any machine, without the database or the key: every file
//! against `SHA256SUMS`, the hash chain in the manifest, and every revealed field against the
//! commitment in its chained record.
//!
//! Without the key the bundle cannot prove that no records were cut from the end before export;
//! it proves that what it holds is one unbroken chain ending in `head_hash`.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::chain::{self, ChainRow};
use super::crypto::commit;
use super::export::{Manifest, Revealed, FORMAT};
use super::store::{EventBody, IncidentBody};
use super::{hex, unhex, VerifyReport};
use crate::error::{Error, Result};

/// Files above this size are refused (a bundle is not a place for zip bombs).
const MAX_ENTRY_BYTES: u64 = 512 * 1024 * 1024;

pub(crate) fn verify_bundle(path: &Path) -> Result<VerifyReport> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| {
        Error::Bundle(format!(
            "{} is not a readable ZIP file: {e}",
            path.display()
        ))
    })?;
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for i in 0..zip.len() {
        let mut entry = zip
            .by_index(i)
            .map_err(|e| Error::Bundle(format!("entry {i}: {e}")))?;
        if entry.is_dir() {
            continue;
        }
        let name = entry.name().to_string();
        let mut bytes = Vec::new();
        (&mut entry)
            .take(MAX_ENTRY_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::Bundle(format!("{name}: {e}")))?;
        if bytes.len() as u64 > MAX_ENTRY_BYTES {
            return Err(Error::Bundle(format!(
                "{name} is larger than {MAX_ENTRY_BYTES} bytes"
            )));
        }
        files.insert(name, bytes);
    }
    let mut report = VerifyReport::default();
    check_sums(&files, &mut report);
    let Some(manifest) = files.get("manifest.json") else {
        report.problem(None, None, "the bundle has no manifest.json".into());
        return Ok(report);
    };
    let manifest: Manifest = match serde_json::from_slice(manifest) {
        Ok(m) => m,
        Err(e) => {
            report.problem(
                None,
                None,
                format!("manifest.json is not a Veil manifest: {e}"),
            );
            return Ok(report);
        }
    };
    if manifest.format != FORMAT {
        report.problem(
            None,
            None,
            format!(
                "manifest.json has format {:?}, not {FORMAT}",
                manifest.format
            ),
        );
    }
    let rows: Vec<ChainRow> = manifest
        .records
        .iter()
        .map(|r| ChainRow {
            seq: r.seq,
            kind: r.kind.clone(),
            incident_id: r.incident_id.clone(),
            at_ms: r.at_ms,
            body: r.body.clone(),
            content_hash: unhex(&r.content_hash).unwrap_or_default(),
            prev_hash: unhex(&r.prev_hash).unwrap_or_default(),
            hash: unhex(&r.hash).unwrap_or_default(),
        })
        .collect();
    let (count, head) = chain::walk(&rows, &mut report);
    report.records = count;
    if hex(&head) != manifest.head_hash {
        report.problem(
            None,
            None,
            format!(
                "the chain ends in {} but the manifest's head_hash is {}",
                hex(&head),
                manifest.head_hash
            ),
        );
    }
    check_incidents(&manifest, &rows, &files, &mut report);
    Ok(report)
}

fn check_sums(files: &BTreeMap<String, Vec<u8>>, report: &mut VerifyReport) {
    let Some(sums) = files.get("SHA256SUMS") else {
        report.problem(None, None, "the bundle has no SHA256SUMS".into());
        return;
    };
    let mut listed: HashMap<&str, &str> = HashMap::new();
    let text = String::from_utf8_lossy(sums);
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        match line.split_once("  ") {
            Some((sum, name)) => {
                listed.insert(name, sum);
            }
            None => report.problem(
                None,
                None,
                format!("SHA256SUMS has a malformed line {line:?}"),
            ),
        }
    }
    for (name, bytes) in files {
        if name == "SHA256SUMS" {
            continue;
        }
        match listed.remove(name.as_str()) {
            None => report.problem(
                None,
                None,
                format!("{name} is in the bundle but not in SHA256SUMS (added)"),
            ),
            Some(sum) => {
                report.files += 1;
                if hex(&Sha256::digest(bytes)) != sum {
                    report.problem(
                        None,
                        None,
                        format!("{name} does not match its SHA-256 in SHA256SUMS (altered)"),
                    );
                }
            }
        }
    }
    for name in listed.keys() {
        report.problem(
            None,
            None,
            format!("{name} is listed in SHA256SUMS but missing from the bundle"),
        );
    }
}

fn check_reveal(
    what: &str,
    revealed: &Option<Revealed>,
    commitment: &Option<String>,
    files: &BTreeMap<String, Vec<u8>>,
    seq: i64,
    id: &str,
    report: &mut VerifyReport,
) {
    let Some(r) = revealed else { return };
    let Some(c) = commitment else {
        report.problem(
            Some(seq),
            Some(id),
            format!("the manifest shows a {what} the chained record has none of"),
        );
        return;
    };
    let value: Option<&[u8]> = match (&r.value, &r.file) {
        (Some(v), _) => Some(v.as_bytes()),
        (None, Some(f)) => files.get(f).map(Vec::as_slice),
        (None, None) => None,
    };
    let ok = match (unhex(&r.salt), value) {
        (Some(salt), Some(v)) => hex(&commit(&salt, v)) == *c,
        _ => false,
    };
    if !ok {
        report.problem(
            Some(seq),
            Some(id),
            format!("its {what} in the bundle does not match what the chained record commits to"),
        );
    }
}

fn check_incidents(
    manifest: &Manifest,
    rows: &[ChainRow],
    files: &BTreeMap<String, Vec<u8>>,
    report: &mut VerifyReport,
) {
    let by_seq: HashMap<i64, &ChainRow> = rows.iter().map(|r| (r.seq, r)).collect();
    for inc in &manifest.incidents {
        let id = inc.id.as_str();
        let Some(body) = by_seq
            .get(&inc.seq)
            .filter(|r| r.incident_id == inc.id)
            .and_then(|r| r.body.as_deref())
            .and_then(|b| serde_json::from_str::<IncidentBody>(b).ok())
        else {
            report.problem(
                Some(inc.seq),
                Some(id),
                "the manifest lists an incident the chain does not hold".into(),
            );
            continue;
        };
        if body.channel != inc.channel
            || body.image_sha256 != inc.image_sha256
            || body.pdq != inc.pdq
            || super::timefmt::utc(body.at_ms) != inc.received_utc
        {
            report.problem(
                Some(inc.seq),
                Some(id),
                "the manifest's time, channel or hashes differ from the chained record".into(),
            );
        }
        let c = &body.commitments;
        check_reveal("sender", &inc.sender, &c.sender, files, inc.seq, id, report);
        check_reveal(
            "location",
            &inc.location,
            &c.location,
            files,
            inc.seq,
            id,
            report,
        );
        check_reveal(
            "preview",
            &inc.preview,
            &c.preview,
            files,
            inc.seq,
            id,
            report,
        );
        check_reveal(
            "original",
            &inc.original,
            &c.original,
            files,
            inc.seq,
            id,
            report,
        );
        if let Some(name) = inc.original.as_ref().and_then(|o| o.file.as_ref()) {
            let looks_like_bytes = !body.original_media_type.is_empty();
            if let (true, Some(bytes)) = (looks_like_bytes, files.get(name)) {
                if body.original_len != bytes.len() as u64 {
                    report.problem(
                        Some(inc.seq),
                        Some(id),
                        format!(
                            "{name} has {} bytes but the record says {}",
                            bytes.len(),
                            body.original_len
                        ),
                    );
                }
            }
        }
        for ev in &inc.events {
            let commitment = by_seq
                .get(&ev.seq)
                .filter(|r| r.incident_id == inc.id)
                .and_then(|r| r.body.as_deref())
                .and_then(|b| serde_json::from_str::<EventBody>(b).ok());
            match commitment {
                Some(eb) if eb.event == ev.event => check_reveal(
                    "note",
                    &ev.text,
                    &eb.text_commitment,
                    files,
                    ev.seq,
                    id,
                    report,
                ),
                _ => report.problem(
                    Some(ev.seq),
                    Some(id),
                    "the manifest lists an event the chain does not hold".into(),
                ),
            }
        }
    }
}
