//! The open vault: appends, reads, lookups, verification and key rotation over one connection.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};

use super::chain::{self, ChainRow, KIND_EVENT, KIND_INCIDENT, KIND_PURGE};
use super::crypto::{commit, field_aad, random, Keys, VaultKey};
use super::{
    hex, schema, Event, EventKind, Incident, IncidentId, IncidentSummary, Location, LookupResult,
    NewIncident, PdqHash, VerifyReport,
};
use crate::error::{Error, Result};

const KEY_CHECK_AAD: &[u8] = b"veil-key-check-v1";
const KEY_CHECK_PLAIN: &[u8] = b"veil-evidence-vault";
const HEAD_AAD: &[u8] = b"veil-head-v1";

/// Sealed field names.
pub(crate) const F_SENDER: &str = "sender";
pub(crate) const F_LOCATION: &str = "location";
pub(crate) const F_PREVIEW: &str = "preview";
pub(crate) const F_ORIGINAL: &str = "original";
pub(crate) const F_TEXT: &str = "text";

/// Commitments to the encrypted fields of an incident (hex).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Commitments {
    pub sender: Option<String>,
    pub location: Option<String>,
    pub preview: Option<String>,
    pub original: Option<String>,
}

/// The canonical, hashed body of an incident. Field order is the serialised order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct IncidentBody {
    pub v: u32,
    pub kind: String,
    pub incident_id: String,
    pub at_ms: i64,
    pub utc_offset_minutes: i32,
    pub channel: String,
    pub sender_known_contact: bool,
    pub model_name: String,
    pub model_version: String,
    pub scores: BTreeMap<String, f32>,
    pub explicit_score: f32,
    pub threshold: f32,
    pub action: String,
    pub reason: String,
    pub image_sha256: String,
    pub pdq: Option<String>,
    pub pdq_quality: Option<u8>,
    pub original_media_type: String,
    pub original_len: u64,
    pub commitments: Commitments,
}

/// The canonical body of an event or purge.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct EventBody {
    pub v: u32,
    pub kind: String,
    pub incident_id: String,
    pub at_ms: i64,
    pub utc_offset_minutes: i32,
    pub event: EventKind,
    pub text_commitment: Option<String>,
}

/// An open vault file.
pub(crate) struct Store {
    pub(crate) conn: Connection,
    pub(crate) keys: Keys,
    #[allow(dead_code)]
    pub(crate) path: PathBuf,
}

impl Store {
    pub(crate) fn open(path: &Path, key: &VaultKey) -> Result<Store> {
        let mut conn = schema::connect(path, false)?;
        let keys = key.derive();
        if schema::is_empty(&conn)? {
            schema::migrate(&mut conn)?;
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let existing: Option<Vec<u8>> = tx
                .query_row("SELECT value FROM meta WHERE key='key_check'", [], |r| {
                    r.get(0)
                })
                .optional()?;
            if existing.is_none() {
                let check = keys.seal(KEY_CHECK_AAD, KEY_CHECK_PLAIN)?;
                tx.execute(
                    "INSERT INTO meta(key, value) VALUES ('key_check', ?1)",
                    [check],
                )?;
                write_head(&tx, &keys, 0, &chain::GENESIS)?;
            }
            tx.commit()?;
        }
        let store = Store {
            conn,
            keys,
            path: path.to_path_buf(),
        };
        // The key is checked before any migration or write touches an existing file.
        store.check_key()?;
        let mut store = store;
        schema::migrate(&mut store.conn)?;
        schema::check_tables(&store.conn)?;
        log::info!("evidence vault opened");
        Ok(store)
    }

    fn check_key(&self) -> Result<()> {
        let has_meta: i64 = self.conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='meta'",
            [],
            |r| r.get(0),
        )?;
        if has_meta == 0 {
            return Err(Error::EvidenceCorrupt(
                "the file is an SQLite database but not a Veil evidence vault".into(),
            ));
        }
        let check: Option<Vec<u8>> = self
            .conn
            .query_row("SELECT value FROM meta WHERE key='key_check'", [], |r| {
                r.get(0)
            })
            .optional()?;
        let check = check.ok_or_else(|| {
            Error::EvidenceCorrupt("the key check is missing from the vault".into())
        })?;
        match self.keys.open(KEY_CHECK_AAD, &check) {
            Some(plain) if &plain[..] == KEY_CHECK_PLAIN => Ok(()),
            _ => Err(Error::WrongKey),
        }
    }

    pub(crate) fn close(self) {
        if let Err((_, e)) = self.conn.close() {
            log::warn!("closing the evidence database: {e}");
        }
    }

    pub(crate) fn record(&mut self, inc: &NewIncident) -> Result<IncidentId> {
        let mut idb = [0u8; 16];
        random(&mut idb)?;
        let id = hex(&idb);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (seq, prev) = last(&tx)?;
        let seq = seq + 1;
        let keys = &self.keys;
        let mut sealed: Vec<(&str, Vec<u8>)> = Vec::new();
        let mut commitments = Commitments::default();
        let mut seal = |field: &'static str, value: &[u8]| -> Result<String> {
            let (blob, c) = keys.seal_field(&field_aad(&id, seq, field), value)?;
            sealed.push((field, blob));
            Ok(hex(&c))
        };
        if let Some(sender) = &inc.sender {
            commitments.sender = Some(seal(F_SENDER, sender.as_bytes())?);
        }
        if let Some(location) = &inc.arrival.location {
            let json = serde_json::to_vec(location)
                .map_err(|e| Error::InvalidArgument(format!("location: {e}")))?;
            commitments.location = Some(seal(F_LOCATION, &json)?);
        }
        if let Some(preview) = &inc.preview_png {
            commitments.preview = Some(seal(F_PREVIEW, preview)?);
        }
        commitments.original = Some(seal(F_ORIGINAL, &inc.original)?);
        let body = IncidentBody {
            v: 1,
            kind: KIND_INCIDENT.into(),
            incident_id: id.clone(),
            at_ms: inc.arrival.received_at_ms,
            utc_offset_minutes: inc.arrival.utc_offset_minutes,
            channel: inc.channel.clone(),
            sender_known_contact: inc.sender_known_contact,
            model_name: inc.model_name.clone(),
            model_version: inc.model_version.clone(),
            scores: inc.scores.clone(),
            explicit_score: inc.explicit_score,
            threshold: inc.threshold,
            action: inc.action.clone(),
            reason: inc.reason.clone(),
            image_sha256: hex(&inc.image_sha256),
            pdq: inc.pdq.map(|p| p.to_hex()),
            pdq_quality: inc.pdq.map(|p| p.quality),
            original_media_type: inc.original_media_type.clone(),
            original_len: inc.original.len() as u64,
            commitments,
        };
        let body = to_json(&body)?;
        let hash = append(
            &tx,
            seq,
            KIND_INCIDENT,
            &id,
            inc.arrival.received_at_ms,
            &body,
            &prev,
        )?;
        for (field, blob) in &sealed {
            tx.execute(
                "INSERT INTO sealed(seq, field, blob) VALUES (?1, ?2, ?3)",
                params![seq, field, blob],
            )?;
        }
        tx.execute(
            "INSERT INTO lookup(incident_id, seq, image_sha256, pdq, pdq_quality, sender_tag) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                id,
                seq,
                &inc.image_sha256[..],
                inc.pdq.map(|p| p.bits.to_vec()),
                inc.pdq.map(|p| p.quality),
                inc.sender.as_deref().map(|s| self.keys.sender_tag(s).to_vec()),
            ],
        )?;
        write_head(&tx, &self.keys, seq, &hash)?;
        tx.commit()?;
        log::debug!("recorded incident at position {seq}");
        Ok(id)
    }

    pub(crate) fn add_event(
        &mut self,
        incident: &str,
        kind: EventKind,
        at_ms: i64,
        utc_offset_minutes: i32,
        text: Option<&str>,
    ) -> Result<i64> {
        if kind == EventKind::Purged {
            return Err(Error::InvalidArgument(
                "purges are recorded by purge(), not as user events".into(),
            ));
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let inc_seq = incident_seq(&tx, incident)?;
        let (seq, prev) = last(&tx)?;
        let seq = seq + 1;
        let mut sealed = None;
        let text_commitment = match text {
            Some(t) => {
                let (blob, c) = self
                    .keys
                    .seal_field(&field_aad(incident, seq, F_TEXT), t.as_bytes())?;
                sealed = Some(blob);
                Some(hex(&c))
            }
            None => None,
        };
        let body = EventBody {
            v: 1,
            kind: KIND_EVENT.into(),
            incident_id: incident.to_string(),
            at_ms,
            utc_offset_minutes,
            event: kind,
            text_commitment,
        };
        let body = to_json(&body)?;
        let hash = append(&tx, seq, KIND_EVENT, incident, at_ms, &body, &prev)?;
        if let Some(blob) = sealed {
            tx.execute(
                "INSERT INTO sealed(seq, field, blob) VALUES (?1, ?2, ?3)",
                params![seq, F_TEXT, blob],
            )?;
        }
        if kind == EventKind::OriginalDeleted {
            tx.execute(
                "DELETE FROM sealed WHERE seq = ?1 AND field = ?2",
                params![inc_seq, F_ORIGINAL],
            )?;
        }
        write_head(&tx, &self.keys, seq, &hash)?;
        tx.commit()?;
        Ok(seq)
    }

    fn sealed_value(&self, incident: &str, seq: i64, field: &str) -> Result<Option<Vec<u8>>> {
        let blob: Option<Vec<u8>> = self
            .conn
            .query_row(
                "SELECT blob FROM sealed WHERE seq = ?1 AND field = ?2",
                params![seq, field],
                |r| r.get(0),
            )
            .optional()?;
        match blob {
            None => Ok(None),
            Some(blob) => match self
                .keys
                .open_field(&field_aad(incident, seq, field), &blob)
            {
                Some((_, value)) => Ok(Some(value.to_vec())),
                None => Err(Error::EvidenceCorrupt(format!(
                    "the encrypted {field} of record {seq} does not open: it was altered"
                ))),
            },
        }
    }

    fn incident_bodies(&self) -> Result<Vec<(i64, IncidentBody)>> {
        let mut stmt = self.conn.prepare(
            "SELECT seq, body FROM records WHERE kind = ?1 AND body IS NOT NULL ORDER BY seq",
        )?;
        let rows = stmt
            .query_map([KIND_INCIDENT], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(seq, body)| Ok((seq, parse_incident(seq, &body)?)))
            .collect()
    }

    fn summary(&self, seq: i64, b: &IncidentBody, events: usize) -> Result<IncidentSummary> {
        let sender = self
            .sealed_value(&b.incident_id, seq, F_SENDER)?
            .map(|v| String::from_utf8_lossy(&v).into_owned());
        let has_original: i64 = self.conn.query_row(
            "SELECT count(*) FROM sealed WHERE seq = ?1 AND field = ?2",
            params![seq, F_ORIGINAL],
            |r| r.get(0),
        )?;
        Ok(IncidentSummary {
            id: b.incident_id.clone(),
            seq,
            received_at_ms: b.at_ms,
            utc_offset_minutes: b.utc_offset_minutes,
            channel: b.channel.clone(),
            sender,
            sender_known_contact: b.sender_known_contact,
            explicit_score: b.explicit_score,
            action: b.action.clone(),
            events,
            has_original: has_original > 0,
        })
    }

    pub(crate) fn list(&self) -> Result<Vec<IncidentSummary>> {
        let mut counts: HashMap<String, usize> = HashMap::new();
        {
            let mut stmt = self.conn.prepare(
                "SELECT incident_id, count(*) FROM records WHERE kind = ?1 AND body IS NOT NULL GROUP BY incident_id",
            )?;
            let rows = stmt.query_map([KIND_EVENT], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })?;
            for row in rows {
                let (id, n) = row?;
                counts.insert(id, n as usize);
            }
        }
        self.incident_bodies()?
            .iter()
            .map(|(seq, b)| self.summary(*seq, b, counts.get(&b.incident_id).copied().unwrap_or(0)))
            .collect()
    }

    pub(crate) fn events(&self, incident: &str) -> Result<Vec<Event>> {
        let mut stmt = self.conn.prepare(
            "SELECT seq, body FROM records WHERE incident_id = ?1 AND kind = ?2 AND body IS NOT NULL ORDER BY seq",
        )?;
        let rows = stmt
            .query_map(params![incident, KIND_EVENT], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(seq, body)| {
                let b: EventBody = serde_json::from_str(&body).map_err(|e| {
                    Error::EvidenceCorrupt(format!("record {seq} has an unreadable body: {e}"))
                })?;
                let text = self
                    .sealed_value(incident, seq, F_TEXT)?
                    .map(|v| String::from_utf8_lossy(&v).into_owned());
                Ok(Event {
                    seq,
                    kind: b.event,
                    at_ms: b.at_ms,
                    utc_offset_minutes: b.utc_offset_minutes,
                    text,
                })
            })
            .collect()
    }

    pub(crate) fn get(&self, id: &str) -> Result<Incident> {
        let seq = incident_seq(&self.conn, id)?;
        let body: String =
            self.conn
                .query_row("SELECT body FROM records WHERE seq = ?1", [seq], |r| {
                    r.get(0)
                })?;
        let hash: Vec<u8> =
            self.conn
                .query_row("SELECT hash FROM records WHERE seq = ?1", [seq], |r| {
                    r.get(0)
                })?;
        let b = parse_incident(seq, &body)?;
        let events = self.events(id)?;
        let location = match self.sealed_value(id, seq, F_LOCATION)? {
            Some(json) => serde_json::from_slice::<Location>(&json).ok(),
            None => None,
        };
        let preview_png = self.sealed_value(id, seq, F_PREVIEW)?;
        Ok(Incident {
            summary: self.summary(seq, &b, events.len())?,
            location,
            model_name: b.model_name,
            model_version: b.model_version,
            scores: b.scores,
            threshold: b.threshold,
            reason: b.reason,
            image_sha256: b.image_sha256,
            pdq: b.pdq,
            pdq_quality: b.pdq_quality,
            original_media_type: b.original_media_type,
            original_len: b.original_len,
            chain_hash: hex(&hash),
            events,
            preview_png,
        })
    }

    pub(crate) fn original(&self, id: &str) -> Result<Option<Vec<u8>>> {
        let seq = incident_seq(&self.conn, id)?;
        self.sealed_value(id, seq, F_ORIGINAL)
    }

    pub(crate) fn earlier_scores(
        &self,
        id: &str,
    ) -> Result<(f32, BTreeMap<String, f32>, String, String)> {
        let seq = incident_seq(&self.conn, id)?;
        let body: String =
            self.conn
                .query_row("SELECT body FROM records WHERE seq = ?1", [seq], |r| {
                    r.get(0)
                })?;
        let b = parse_incident(seq, &body)?;
        Ok((b.explicit_score, b.scores, b.model_name, b.model_version))
    }

    pub(crate) fn lookup(
        &self,
        sha256: &[u8; 32],
        pdq: Option<&PdqHash>,
        max_distance: u32,
        sender: Option<&str>,
    ) -> Result<LookupResult> {
        let mut same_image = Vec::new();
        let mut stmt = self
            .conn
            .prepare("SELECT incident_id, seq, image_sha256, pdq, pdq_quality FROM lookup")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Vec<u8>>(2)?,
                r.get::<_, Option<Vec<u8>>>(3)?,
                r.get::<_, Option<i64>>(4)?,
            ))
        })?;
        for row in rows {
            let (id, seq, sha, bits, quality) = row?;
            if sha[..] == sha256[..] {
                same_image.push((seq, id, 0));
                continue;
            }
            let (Some(query), Some(bits)) = (pdq, bits) else {
                continue;
            };
            let Ok(bits) = <[u8; 32]>::try_from(bits.as_slice()) else {
                continue;
            };
            let earlier = PdqHash {
                bits,
                quality: quality.unwrap_or(0).clamp(0, 100) as u8,
            };
            if query.is_reliable() && earlier.is_reliable() {
                let d = query.distance(&earlier);
                if d <= max_distance {
                    same_image.push((seq, id, d));
                }
            }
        }
        same_image.sort_by_key(|(seq, _, d)| (*d, *seq));
        let same_sender = match sender {
            Some(s) => {
                let tag = self.keys.sender_tag(s);
                self.conn.query_row(
                    "SELECT count(*) FROM lookup WHERE sender_tag = ?1",
                    [&tag[..]],
                    |r| r.get::<_, i64>(0),
                )? as u32
            }
            None => 0,
        };
        Ok(LookupResult {
            same_image: same_image.into_iter().map(|(_, id, d)| (id, d)).collect(),
            same_sender,
        })
    }

    pub(crate) fn set_retention_days(&mut self, days: Option<u32>) -> Result<()> {
        match days {
            Some(d) => self.conn.execute(
                "INSERT OR REPLACE INTO meta(key, value) VALUES ('retention_days', ?1)",
                [d.to_string().into_bytes()],
            )?,
            None => self
                .conn
                .execute("DELETE FROM meta WHERE key = 'retention_days'", [])?,
        };
        Ok(())
    }

    pub(crate) fn retention_days(&self) -> Result<Option<u32>> {
        let v: Option<Vec<u8>> = self
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'retention_days'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        Ok(v.and_then(|v| String::from_utf8(v).ok()?.parse().ok()))
    }

    pub(crate) fn verify(&self) -> Result<VerifyReport> {
        let rows = chain_rows(&self.conn)?;
        let mut report = VerifyReport {
            checked_with_key: true,
            ..VerifyReport::default()
        };
        let (count, head) = chain::walk(&rows, &mut report);
        report.records = count;
        // The sealed head catches deleted newest records.
        match read_head(&self.conn, &self.keys)? {
            Some((n, h)) => {
                if n != count || h != head {
                    report.problem(
                        Some(n as i64),
                        None,
                        format!(
                            "the chain ends at record {count} (hash {}), but the key-sealed head says record {n} (hash {}): records at the end were deleted or added",
                            chain::head_hex(&head),
                            chain::head_hex(&h)
                        ),
                    );
                }
            }
            None => report.problem(
                None,
                None,
                "the key-sealed chain head is missing or was altered".into(),
            ),
        }
        self.verify_sealed(&rows, &mut report)?;
        Ok(report)
    }

    /// Every encrypted field must open and match its commitment.
    fn verify_sealed(&self, rows: &[ChainRow], report: &mut VerifyReport) -> Result<()> {
        let mut sealed: HashMap<(i64, String), Vec<u8>> = HashMap::new();
        {
            let mut stmt = self.conn.prepare("SELECT seq, field, blob FROM sealed")?;
            let it = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            for row in it {
                let (seq, field, blob) = row?;
                sealed.insert((seq, field), blob);
            }
        }
        let deleted: std::collections::HashSet<&str> = rows
            .iter()
            .filter(|r| {
                r.kind == KIND_PURGE
                    || (r.kind == KIND_EVENT
                        && r.body
                            .as_deref()
                            .is_some_and(|b| b.contains("\"original_deleted\"")))
            })
            .map(|r| r.incident_id.as_str())
            .collect();
        for row in rows {
            let Some(body) = &row.body else { continue };
            let expected: Vec<(&str, Option<String>)> = if row.kind == KIND_INCIDENT {
                let Ok(b) = serde_json::from_str::<IncidentBody>(body) else {
                    report.problem(
                        Some(row.seq),
                        Some(&row.incident_id),
                        "its body is not an incident".into(),
                    );
                    continue;
                };
                vec![
                    (F_SENDER, b.commitments.sender),
                    (F_LOCATION, b.commitments.location),
                    (F_PREVIEW, b.commitments.preview),
                    (F_ORIGINAL, b.commitments.original),
                ]
            } else if row.kind == KIND_EVENT {
                let Ok(b) = serde_json::from_str::<EventBody>(body) else {
                    report.problem(
                        Some(row.seq),
                        Some(&row.incident_id),
                        "its body is not an event".into(),
                    );
                    continue;
                };
                vec![(F_TEXT, b.text_commitment)]
            } else {
                continue;
            };
            for (field, commitment) in expected {
                let blob = sealed.remove(&(row.seq, field.to_string()));
                match (commitment, blob) {
                    (None, None) => {}
                    (None, Some(_)) => report.problem(
                        Some(row.seq),
                        Some(&row.incident_id),
                        format!("holds an encrypted {field} that its body does not mention"),
                    ),
                    (Some(_), None) => {
                        if !(field == F_ORIGINAL && deleted.contains(row.incident_id.as_str())) {
                            report.problem(
                                Some(row.seq),
                                Some(&row.incident_id),
                                format!("its encrypted {field} is missing"),
                            );
                        }
                    }
                    (Some(c), Some(blob)) => {
                        let ok = self
                            .keys
                            .open_field(&field_aad(&row.incident_id, row.seq, field), &blob)
                            .is_some_and(|(salt, v)| hex(&commit(&salt, &v)) == c);
                        if !ok {
                            report.problem(
                                Some(row.seq),
                                Some(&row.incident_id),
                                format!("its encrypted {field} was altered (it does not decrypt to what the chain commits to)"),
                            );
                        }
                    }
                }
            }
        }
        for (seq, field) in sealed.keys() {
            report.problem(
                Some(*seq),
                None,
                format!("an encrypted {field} belongs to no record content"),
            );
        }
        Ok(())
    }

    pub(crate) fn rotate_key(&mut self, new_key: &VaultKey) -> Result<()> {
        let new = new_key.derive();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let rows: Vec<(i64, String, String, Vec<u8>)> = {
            let mut stmt = tx.prepare(
                "SELECT s.seq, s.field, r.incident_id, s.blob FROM sealed s JOIN records r ON r.seq = s.seq",
            )?;
            let it = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
            it.collect::<rusqlite::Result<Vec<_>>>()?
        };
        for (seq, field, incident, blob) in rows {
            let aad = field_aad(&incident, seq, &field);
            let plain = self.keys.open(&aad, &blob).ok_or_else(|| {
                Error::EvidenceCorrupt(format!(
                    "the encrypted {field} of record {seq} does not open, so the key was not changed; run verify"
                ))
            })?;
            if field == F_SENDER {
                let sender = String::from_utf8_lossy(plain.get(16..).unwrap_or_default());
                tx.execute(
                    "UPDATE lookup SET sender_tag = ?1 WHERE seq = ?2",
                    params![&new.sender_tag(&sender)[..], seq],
                )?;
            }
            tx.execute(
                "UPDATE sealed SET blob = ?1 WHERE seq = ?2 AND field = ?3",
                params![new.seal(&aad, &plain)?, seq, field],
            )?;
        }
        let head = read_head(&tx, &self.keys)?.ok_or_else(|| {
            Error::EvidenceCorrupt("the key-sealed chain head does not open; run verify".into())
        })?;
        tx.execute(
            "UPDATE meta SET value = ?1 WHERE key = 'key_check'",
            [new.seal(KEY_CHECK_AAD, KEY_CHECK_PLAIN)?],
        )?;
        write_head(&tx, &new, head.0 as i64, &head.1)?;
        tx.commit()?;
        self.keys = new;
        log::info!("evidence key rotated");
        Ok(())
    }

    /// Appends a purge record for `incident` within `tx`, dropping its payload.
    pub(crate) fn purge_in(
        tx: &rusqlite::Transaction<'_>,
        keys: &Keys,
        incident: &str,
        now_ms: i64,
    ) -> Result<()> {
        let seqs: Vec<i64> = {
            let mut stmt =
                tx.prepare("SELECT seq FROM records WHERE incident_id = ?1 AND kind IN (?2, ?3)")?;
            let it = stmt.query_map(params![incident, KIND_INCIDENT, KIND_EVENT], |r| r.get(0))?;
            it.collect::<rusqlite::Result<Vec<_>>>()?
        };
        if seqs.is_empty() {
            return Err(Error::UnknownIncident(incident.to_string()));
        }
        for seq in &seqs {
            tx.execute("DELETE FROM sealed WHERE seq = ?1", [seq])?;
            tx.execute("UPDATE records SET body = NULL WHERE seq = ?1", [seq])?;
        }
        tx.execute("DELETE FROM lookup WHERE incident_id = ?1", [incident])?;
        let (seq, prev) = last(tx)?;
        let seq = seq + 1;
        let body = to_json(&EventBody {
            v: 1,
            kind: KIND_PURGE.into(),
            incident_id: incident.to_string(),
            at_ms: now_ms,
            utc_offset_minutes: 0,
            event: EventKind::Purged,
            text_commitment: None,
        })?;
        let hash = append(tx, seq, KIND_PURGE, incident, now_ms, &body, &prev)?;
        write_head(tx, keys, seq, &hash)?;
        Ok(())
    }
}

/// Checks a database file's chain without the key (read-only).
pub(crate) fn verify_without_key(path: &Path) -> Result<VerifyReport> {
    if !path.is_file() {
        return Err(Error::io(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such evidence database"),
        ));
    }
    let conn = schema::connect(path, true)?;
    schema::check_tables(&conn)?;
    let rows = chain_rows(&conn)?;
    let mut report = VerifyReport::default();
    let (count, _) = chain::walk(&rows, &mut report);
    report.records = count;
    Ok(report)
}

/// Every chain row, in stored order.
pub(crate) fn chain_rows(conn: &Connection) -> Result<Vec<ChainRow>> {
    let mut stmt = conn.prepare(
        "SELECT seq, kind, incident_id, at_ms, body, content_hash, prev_hash, hash FROM records ORDER BY seq",
    )?;
    let rows = stmt
        .query_map([], |r| {
            Ok(ChainRow {
                seq: r.get(0)?,
                kind: r.get(1)?,
                incident_id: r.get(2)?,
                at_ms: r.get(3)?,
                body: r.get(4)?,
                content_hash: r.get(5)?,
                prev_hash: r.get(6)?,
                hash: r.get(7)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub(crate) fn parse_incident(seq: i64, body: &str) -> Result<IncidentBody> {
    serde_json::from_str(body).map_err(|e| {
        Error::EvidenceCorrupt(format!(
            "record {seq} has an unreadable body: {e}; run verify"
        ))
    })
}

fn to_json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::EvidenceStore(format!("cannot encode: {e}")))
}

/// The position and hash of the newest record (0 and the genesis hash when empty).
fn last(conn: &Connection) -> Result<(i64, [u8; 32])> {
    let row: Option<(i64, Vec<u8>)> = conn
        .query_row(
            "SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    match row {
        None => Ok((0, chain::GENESIS)),
        Some((seq, hash)) => {
            let hash = hash.try_into().map_err(|_| {
                Error::EvidenceCorrupt(format!("record {seq} has a damaged hash; run verify"))
            })?;
            Ok((seq, hash))
        }
    }
}

/// The seq of a live (not purged) incident.
fn incident_seq(conn: &Connection, id: &str) -> Result<i64> {
    conn.query_row(
        "SELECT seq FROM records WHERE incident_id = ?1 AND kind = ?2 AND body IS NOT NULL",
        params![id, KIND_INCIDENT],
        |r| r.get(0),
    )
    .optional()?
    .ok_or_else(|| Error::UnknownIncident(id.to_string()))
}

fn append(
    conn: &Connection,
    seq: i64,
    kind: &str,
    incident: &str,
    at_ms: i64,
    body: &str,
    prev: &[u8; 32],
) -> Result<[u8; 32]> {
    let content = chain::content_hash(body);
    let hash = chain::record_hash(seq, kind, incident, at_ms, &content, prev);
    conn.execute(
        "INSERT INTO records(seq, kind, incident_id, at_ms, body, content_hash, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![seq, kind, incident, at_ms, body, &content[..], &prev[..], &hash[..]],
    )?;
    Ok(hash)
}

fn write_head(conn: &Connection, keys: &Keys, count: i64, hash: &[u8; 32]) -> Result<()> {
    let mut plain = Vec::with_capacity(40);
    plain.extend_from_slice(&count.to_be_bytes());
    plain.extend_from_slice(hash);
    conn.execute(
        "INSERT OR REPLACE INTO meta(key, value) VALUES ('head', ?1)",
        [keys.seal(HEAD_AAD, &plain)?],
    )?;
    Ok(())
}

fn read_head(conn: &Connection, keys: &Keys) -> Result<Option<(u64, [u8; 32])>> {
    let blob: Option<Vec<u8>> = conn
        .query_row("SELECT value FROM meta WHERE key = 'head'", [], |r| {
            r.get(0)
        })
        .optional()?;
    Ok(blob.and_then(|b| {
        let plain = keys.open(HEAD_AAD, &b)?;
        let count = i64::from_be_bytes(plain.get(..8)?.try_into().ok()?);
        let hash: [u8; 32] = plain.get(8..40)?.try_into().ok()?;
        Some((count.max(0) as u64, hash))
    }))
}
