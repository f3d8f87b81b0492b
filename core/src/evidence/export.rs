//! Export: one ZIP evidence bundle a victim can hand to the police.
//!
//! Contents:
//! - `manifest.json`: every chain record exactly as stored (bodies, content hashes, links) and,
//!   per incident, the decrypted details with the salts that open their commitments, so the
//!   bundle can be checked without the database or the key;
//! - `report.html`: the same, for people;
//! - `previews/<id>.png`, and `originals/<id>.<ext>` when asked for;
//! - `SHA256SUMS`: the SHA-256 of every other file (`sha256sum -c` reads it).

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;

use super::chain::{ChainRow, KIND_INCIDENT};
use super::crypto::field_aad;
use super::store::{self, Store, F_LOCATION, F_ORIGINAL, F_PREVIEW, F_SENDER, F_TEXT};
use super::{hex, timefmt, EventKind, ExportOptions, ExportSummary, Location};
use crate::error::{Error, Result};

/// Bundle format name and version.
pub(crate) const FORMAT: &str = "veil-evidence-bundle";
pub(crate) const FORMAT_VERSION: u32 = 1;

/// A chain record in the manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ManifestRecord {
    pub seq: i64,
    pub kind: String,
    pub incident_id: String,
    pub at_ms: i64,
    pub body: Option<String>,
    pub content_hash: String,
    pub prev_hash: String,
    pub hash: String,
}

/// A decrypted field with the salt that opens its commitment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Revealed {
    pub salt: String,
    /// The text value; for files, None (the file's bytes are the value).
    pub value: Option<String>,
    /// The file in the bundle holding the value.
    pub file: Option<String>,
}

/// An event in the manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ManifestEvent {
    pub seq: i64,
    pub event: EventKind,
    pub at_utc: String,
    pub at_local: String,
    pub text: Option<Revealed>,
}

/// An incident in the manifest, decrypted.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ManifestIncident {
    pub id: String,
    pub seq: i64,
    pub received_utc: String,
    pub received_local: String,
    pub channel: String,
    pub sender: Option<Revealed>,
    pub location: Option<Revealed>,
    pub model: String,
    pub explicit_score: f32,
    pub reason: String,
    pub image_sha256: String,
    pub pdq: Option<String>,
    pub preview: Option<Revealed>,
    pub original: Option<Revealed>,
    pub events: Vec<ManifestEvent>,
}

/// The manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Manifest {
    pub format: String,
    pub version: u32,
    pub created_utc: String,
    pub records: Vec<ManifestRecord>,
    pub head_hash: String,
    pub incidents: Vec<ManifestIncident>,
}

pub(crate) fn export(store: &Store, out: &Path, options: ExportOptions) -> Result<ExportSummary> {
    let rows = store::chain_rows(&store.conn)?;
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut incidents = Vec::new();
    for row in rows
        .iter()
        .filter(|r| r.kind == KIND_INCIDENT && r.body.is_some())
    {
        incidents.push(incident(store, row, &rows, options, &mut files)?);
    }
    let manifest = Manifest {
        format: FORMAT.into(),
        version: FORMAT_VERSION,
        created_utc: timefmt::utc(super::now_ms()),
        head_hash: rows
            .last()
            .map(|r| hex(&r.hash))
            .unwrap_or_else(|| hex(&[0u8; 32])),
        records: rows
            .iter()
            .map(|r| ManifestRecord {
                seq: r.seq,
                kind: r.kind.clone(),
                incident_id: r.incident_id.clone(),
                at_ms: r.at_ms,
                body: r.body.clone(),
                content_hash: hex(&r.content_hash),
                prev_hash: hex(&r.prev_hash),
                hash: hex(&r.hash),
            })
            .collect(),
        incidents,
    };
    let json = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| Error::EvidenceStore(format!("cannot encode the manifest: {e}")))?;
    files.insert(0, ("manifest.json".into(), json));
    files.insert(
        1,
        ("report.html".into(), report_html(&manifest).into_bytes()),
    );
    let sums: String = files
        .iter()
        .map(|(name, bytes)| format!("{}  {name}\n", hex(&Sha256::digest(bytes))))
        .collect();
    files.push(("SHA256SUMS".into(), sums.into_bytes()));

    let tmp = out.with_extension("zip.partial");
    let write = || -> std::io::Result<()> {
        let file = std::fs::File::create(&tmp)?;
        let mut zip = zip::ZipWriter::new(file);
        let opts = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .unix_permissions(0o600);
        for (name, bytes) in &files {
            zip.start_file(name.as_str(), opts)
                .map_err(std::io::Error::other)?;
            zip.write_all(bytes)?;
        }
        let file = zip.finish().map_err(std::io::Error::other)?;
        file.sync_all()?;
        std::fs::rename(&tmp, out)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(out, e)
    })?;
    Ok(ExportSummary {
        incidents: manifest.incidents.len(),
        records: manifest.records.len(),
        files: files.len(),
    })
}

fn reveal(
    store: &Store,
    incident: &str,
    seq: i64,
    field: &str,
) -> Result<Option<([u8; 16], Vec<u8>)>> {
    let blob: Option<Vec<u8>> = rusqlite::OptionalExtension::optional(store.conn.query_row(
        "SELECT blob FROM sealed WHERE seq = ?1 AND field = ?2",
        rusqlite::params![seq, field],
        |r| r.get(0),
    ))?;
    match blob {
        None => Ok(None),
        Some(blob) => match store
            .keys
            .open_field(&field_aad(incident, seq, field), &blob)
        {
            Some((salt, value)) => Ok(Some((salt, value.to_vec()))),
            None => Err(Error::EvidenceCorrupt(format!(
                "the encrypted {field} of record {seq} does not open: it was altered; run verify"
            ))),
        },
    }
}

fn text_reveal(r: Option<([u8; 16], Vec<u8>)>) -> Option<Revealed> {
    r.map(|(salt, v)| Revealed {
        salt: hex(&salt),
        value: Some(String::from_utf8_lossy(&v).into_owned()),
        file: None,
    })
}

fn extension(media_type: &str) -> &'static str {
    match media_type {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "image/bmp" => "bmp",
        "image/tiff" => "tiff",
        _ => "bin",
    }
}

fn incident(
    store: &Store,
    row: &ChainRow,
    rows: &[ChainRow],
    options: ExportOptions,
    files: &mut Vec<(String, Vec<u8>)>,
) -> Result<ManifestIncident> {
    let id = &row.incident_id;
    let b = store::parse_incident(row.seq, row.body.as_deref().unwrap_or_default())?;
    let mut file_reveal = |field: &str, name: String| -> Result<Option<Revealed>> {
        Ok(reveal(store, id, row.seq, field)?.map(|(salt, bytes)| {
            files.push((name.clone(), bytes));
            Revealed {
                salt: hex(&salt),
                value: None,
                file: Some(name),
            }
        }))
    };
    let preview = file_reveal(F_PREVIEW, format!("previews/{id}.png"))?;
    let original = if options.include_originals {
        file_reveal(
            F_ORIGINAL,
            format!("originals/{id}.{}", extension(&b.original_media_type)),
        )?
    } else {
        None
    };
    let mut events = Vec::new();
    for ev in rows
        .iter()
        .filter(|r| r.kind == super::chain::KIND_EVENT && &r.incident_id == id && r.body.is_some())
    {
        let eb: store::EventBody = serde_json::from_str(ev.body.as_deref().unwrap_or_default())
            .map_err(|e| Error::EvidenceCorrupt(format!("record {}: {e}", ev.seq)))?;
        events.push(ManifestEvent {
            seq: ev.seq,
            event: eb.event,
            at_utc: timefmt::utc(eb.at_ms),
            at_local: timefmt::local(eb.at_ms, eb.utc_offset_minutes),
            text: text_reveal(reveal(store, id, ev.seq, F_TEXT)?),
        });
    }
    Ok(ManifestIncident {
        id: id.clone(),
        seq: row.seq,
        received_utc: timefmt::utc(b.at_ms),
        received_local: timefmt::local(b.at_ms, b.utc_offset_minutes),
        channel: b.channel.clone(),
        sender: text_reveal(reveal(store, id, row.seq, F_SENDER)?),
        location: text_reveal(reveal(store, id, row.seq, F_LOCATION)?),
        model: format!("{} {}", b.model_name, b.model_version),
        explicit_score: b.explicit_score,
        reason: b.reason.clone(),
        image_sha256: b.image_sha256.clone(),
        pdq: b.pdq.clone(),
        preview,
        original,
        events,
    })
}

fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn location_text(r: &Option<Revealed>) -> String {
    let Some(json) = r.as_ref().and_then(|r| r.value.as_deref()) else {
        return "not recorded".into();
    };
    match serde_json::from_str::<Location>(json) {
        Ok(Location::Coordinates {
            latitude,
            longitude,
            accuracy_m,
        }) => format!("{latitude:.6}, {longitude:.6} (within {accuracy_m:.0} m)"),
        Ok(Location::Described { text }) => text,
        Err(_) => json.to_string(),
    }
}

fn report_html(m: &Manifest) -> String {
    let mut h = String::new();
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Evidence report: unsolicited explicit images</title>\n<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.4}table{border-collapse:collapse;width:100%;margin-bottom:2em}th,td{border:1px solid #999;padding:4px 8px;text-align:left;vertical-align:top}th{background:#eee;width:14em}code{word-break:break-all}</style></head><body>\n");
    h.push_str("<h1>Evidence report: unsolicited explicit images received</h1>\n");
    h.push_str(&format!(
        "<p>Produced by Veil on {} from its tamper-evident evidence log. {} incident(s). Each incident below was received on this phone and flagged as explicit by an on-device classifier. Times are shown in the phone's local time with its offset from UTC, and in UTC.</p>\n",
        esc(&m.created_utc),
        m.incidents.len()
    ));
    h.push_str(&format!(
        "<p>Integrity: every record is linked into a SHA-256 hash chain of {} records ending in <code>{}</code>. The file <code>SHA256SUMS</code> lists the SHA-256 of every file in this bundle; <code>veil evidence verify</code> on this ZIP checks all of it on any computer.</p>\n",
        m.records.len(),
        esc(&m.head_hash)
    ));
    for (n, inc) in m.incidents.iter().enumerate() {
        h.push_str(&format!(
            "<h2>Incident {} <small>(id {})</small></h2>\n<table>\n",
            n + 1,
            esc(&inc.id)
        ));
        let mut row = |k: &str, v: String| {
            h.push_str(&format!("<tr><th>{}</th><td>{}</td></tr>\n", esc(k), v));
        };
        row("Received (local time)", esc(&inc.received_local));
        row("Received (UTC)", esc(&inc.received_utc));
        row("How it arrived", esc(&inc.channel));
        row(
            "Sender (as the phone showed it)",
            esc(inc
                .sender
                .as_ref()
                .and_then(|s| s.value.as_deref())
                .unwrap_or("not shown")),
        );
        row("Location", esc(&location_text(&inc.location)));
        row(
            "Classifier",
            format!(
                "{} (explicit score {:.3})",
                esc(&inc.model),
                inc.explicit_score
            ),
        );
        row("Why it was flagged", esc(&inc.reason));
        row(
            "SHA-256 of the image",
            format!("<code>{}</code>", esc(&inc.image_sha256)),
        );
        row(
            "PDQ perceptual hash",
            format!("<code>{}</code>", esc(inc.pdq.as_deref().unwrap_or("none"))),
        );
        row(
            "Blurred preview",
            inc.preview
                .as_ref()
                .and_then(|p| p.file.as_deref())
                .map(|f| format!("<img src=\"{0}\" alt=\"blurred preview\" style=\"max-width:16em\"><br><code>{0}</code>", esc(f)))
                .unwrap_or_else(|| "not kept".into()),
        );
        row(
            "Original image",
            inc.original
                .as_ref()
                .and_then(|p| p.file.as_deref())
                .map(|f| format!("<code>{}</code> (explicit: not shown here)", esc(f)))
                .unwrap_or_else(|| "not included in this bundle".into()),
        );
        let actions = if inc.events.is_empty() {
            "none recorded".to_string()
        } else {
            inc.events
                .iter()
                .map(|e| {
                    let text = e
                        .text
                        .as_ref()
                        .and_then(|t| t.value.as_deref())
                        .map(|t| format!(": {}", esc(t)))
                        .unwrap_or_default();
                    format!("{}: {}{}", esc(&e.at_local), esc(e.event.name()), text)
                })
                .collect::<Vec<_>>()
                .join("<br>")
        };
        row("What the recipient did", actions);
        h.push_str("</table>\n");
    }
    h.push_str("</body></html>\n");
    h
}
