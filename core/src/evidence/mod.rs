//! The evidence vault: a tamper-evident, encrypted, crash-safe local record of flagged images,
//! exportable as a ZIP bundle for a police report.
//!
//! # Storage
//! One SQLite file (bundled SQLite, WAL journal, `synchronous=FULL`, `secure_delete=ON`) at a
//! path the host app chooses. Every incident and every later user action (viewed, deleted the
//! original, blocked the sender, reported, note) is a *record* appended to one table; records are
//! never edited. Schema versions are kept in `PRAGMA user_version` and migrated on open.
//!
//! # Integrity: the hash chain
//! Each record stores its canonical body (JSON text, exactly the bytes that are hashed), the
//! SHA-256 of that body (`content_hash`), the hash of the previous record (`prev_hash`; 32 zero
//! bytes for the first) and its own `hash` = SHA-256 over a domain tag, its sequence number, kind,
//! incident id, time, `content_hash` and `prev_hash`. [`EvidenceVault::verify`] walks the chain and
//! names every record that was edited, deleted, reordered or inserted.
//!
//! Deleting the *last* records leaves a chain that is still internally consistent. So the vault
//! also keeps a *chain head* (record count and last hash) sealed with the key in the `meta`
//! table, rewritten in the same transaction as every append. Without the key (`veil evidence
//! verify --db`) only internal consistency can be checked; with the key the head is checked too,
//! and every encrypted field is decrypted and compared with its commitment.
//!
//! # Encryption at rest
//! The host supplies a 32-byte [`VaultKey`] (kept in the Android Keystore or iOS Keychain); the
//! core never writes it anywhere. Subkeys for encryption and for sender tags are derived from it
//! with HMAC-SHA256. Encrypted (ChaCha20-Poly1305, random 96-bit nonce, the record and field
//! bound in as associated data): the original image, the blurred preview, the sender's identity,
//! the location and the text of notes. Each encrypted field is committed to in the clear body by
//! `SHA-256(tag ‖ salt ‖ plaintext)`, with a random 16-byte salt kept inside the ciphertext, so the
//! chain can be verified without the key, re-encryption under a new key leaves the chain
//! unchanged, and guessing a sender name from the commitment is not possible.
//!
//! **Stored in the clear, by choice:** times, channel, model name and scores, verdict, the SHA-256
//! of the original bytes and its PDQ perceptual hash. The hashes are needed to recognise an image
//! again *before* the model runs, without decrypting every incident; they do not reveal the
//! image. "Same sender" lookups use a keyed tag, `HMAC-SHA256(sender subkey, sender id)`, which is
//! not part of the chain and is recomputed on key rotation.
//!
//! # Retention and purging
//! A purge removes an incident's body, its events' bodies and every encrypted field, but keeps
//! the chain entries (hashes only) and appends a `purge` record naming the incident. A record
//! without a body verifies only when a later `purge` record covers it, so purging is itself a
//! recorded, verifiable event. "Deleted the original" works the same way for the original alone.
//!
//! # Threads and processes
//! [`EvidenceVault`] is `Send + Sync`; writes are serialised by a mutex in the process and by
//! `BEGIN IMMEDIATE` transactions between processes. A write returns only after SQLite has
//! committed it durably, so a record reported as committed survives `SIGKILL` or power loss.

mod bundle_verify;
mod chain;
mod crypto;
mod export;
pub mod pdq;
mod retention;
mod schema;
mod store;
mod timefmt;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub use crypto::VaultKey;
pub use pdq::PdqHash;

/// A unique incident id: 32 lowercase hex digits (128 random bits).
pub type IncidentId = String;

/// Where the user was when the image arrived, if they chose to say.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Location {
    /// Coordinates from the platform.
    Coordinates {
        /// Degrees north.
        latitude: f64,
        /// Degrees east.
        longitude: f64,
        /// Radius of uncertainty, in metres.
        accuracy_m: f64,
    },
    /// Text the user typed, such as "Northern line near Bank".
    Described {
        /// The text.
        text: String,
    },
}

/// When (and optionally where) an image arrived. The core reads no clock or time zone of its
/// own when the host supplies one: pass the platform's time and the local UTC offset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Arrival {
    /// Arrival time, milliseconds since 1970-01-01 UTC.
    pub received_at_ms: i64,
    /// The local offset from UTC at that moment, in minutes (e.g. 60 for BST).
    pub utc_offset_minutes: i32,
    /// Where the user was, if known.
    pub location: Option<Location>,
}

impl Arrival {
    /// Now, by the system clock, with the given local offset and no location.
    pub fn now(utc_offset_minutes: i32) -> Arrival {
        Arrival {
            received_at_ms: now_ms(),
            utc_offset_minutes,
            location: None,
        }
    }
}

/// The system clock in milliseconds since 1970-01-01 UTC (0 if the clock is before 1970).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Everything recorded about one flagged image, as passed to [`EvidenceVault::record`].
#[derive(Debug, Clone)]
pub struct NewIncident {
    /// When and where it arrived.
    pub arrival: Arrival,
    /// Channel name as [`crate::Channel::name`] gives it (`airdrop`, `app:WhatsApp`, ...).
    pub channel: String,
    /// The sender as the platform knows them (device name, number, handle). Encrypted at rest.
    pub sender: Option<String>,
    /// Whether the sender is a known contact.
    pub sender_known_contact: bool,
    /// The model's name (from its manifest).
    pub model_name: String,
    /// The model's version.
    pub model_version: String,
    /// Every label's score.
    pub scores: std::collections::BTreeMap<String, f32>,
    /// The explicit score judged.
    pub explicit_score: f32,
    /// The threshold that applied.
    pub threshold: f32,
    /// `blur` or `allow`.
    pub action: String,
    /// Why, in words.
    pub reason: String,
    /// SHA-256 of the original bytes (for pixel buffers: of the raw pixels).
    pub image_sha256: [u8; 32],
    /// The PDQ perceptual hash and its quality, if computed.
    pub pdq: Option<PdqHash>,
    /// The blurred preview, PNG. Encrypted at rest.
    pub preview_png: Option<Vec<u8>>,
    /// The original image bytes. Encrypted at rest.
    pub original: Vec<u8>,
    /// The original's media type (`image/jpeg`, `image/png`, ...).
    pub original_media_type: String,
}

/// What a user did about an incident later. Appended; never edited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The user looked at the incident (or the original).
    Viewed,
    /// The user deleted the original image; the encrypted original is removed from the vault
    /// (its hashes and commitment stay in the chain).
    OriginalDeleted,
    /// The user blocked the sender.
    SenderBlocked,
    /// The user reported the incident (the text can hold a crime reference number).
    Reported,
    /// A note the user added.
    Note,
    /// Retention or the user purged the incident; recorded by the vault, not by [`EvidenceVault::add_event`].
    Purged,
}

impl EventKind {
    /// The stable snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Viewed => "viewed",
            EventKind::OriginalDeleted => "original_deleted",
            EventKind::SenderBlocked => "sender_blocked",
            EventKind::Reported => "reported",
            EventKind::Note => "note",
            EventKind::Purged => "purged",
        }
    }

    /// Parses [`EventKind::name`] (and `view`, `deleted`, `blocked`, `report`).
    pub fn parse(text: &str) -> Result<EventKind> {
        Ok(match text.trim().to_ascii_lowercase().as_str() {
            "viewed" | "view" => EventKind::Viewed,
            "original_deleted" | "deleted" => EventKind::OriginalDeleted,
            "sender_blocked" | "blocked" => EventKind::SenderBlocked,
            "reported" | "report" => EventKind::Reported,
            "note" => EventKind::Note,
            "purged" => EventKind::Purged,
            other => {
                return Err(Error::InvalidArgument(format!(
                "event {other:?} is not viewed, original_deleted, sender_blocked, reported or note"
            )))
            }
        })
    }
}

/// One recorded event, decrypted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Position in the chain.
    pub seq: i64,
    /// What happened.
    pub kind: EventKind,
    /// When, milliseconds since 1970 UTC.
    pub at_ms: i64,
    /// Local UTC offset at that time, minutes.
    pub utc_offset_minutes: i32,
    /// The note or report text, decrypted (None when there was none, or after a purge).
    pub text: Option<String>,
}

/// One incident as listed: no image data, sender decrypted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentSummary {
    /// The incident id.
    pub id: IncidentId,
    /// Position in the chain.
    pub seq: i64,
    /// Arrival time, ms since 1970 UTC.
    pub received_at_ms: i64,
    /// Local UTC offset, minutes.
    pub utc_offset_minutes: i32,
    /// The channel name.
    pub channel: String,
    /// The sender, decrypted.
    pub sender: Option<String>,
    /// Whether the sender is a known contact.
    pub sender_known_contact: bool,
    /// The explicit score judged.
    pub explicit_score: f32,
    /// `blur` or `allow`.
    pub action: String,
    /// Number of events recorded for it.
    pub events: usize,
    /// Whether the encrypted original is still held.
    pub has_original: bool,
}

/// One incident in full, decrypted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// The listing fields.
    #[serde(flatten)]
    pub summary: IncidentSummary,
    /// Where the user was.
    pub location: Option<Location>,
    /// The model's name.
    pub model_name: String,
    /// The model's version.
    pub model_version: String,
    /// Every label's score.
    pub scores: std::collections::BTreeMap<String, f32>,
    /// The threshold that applied.
    pub threshold: f32,
    /// Why it was flagged.
    pub reason: String,
    /// SHA-256 of the original, lowercase hex.
    pub image_sha256: String,
    /// PDQ hash, 64 hex digits, if computed.
    pub pdq: Option<String>,
    /// PDQ quality (0 to 100), if computed.
    pub pdq_quality: Option<u8>,
    /// The original's media type.
    pub original_media_type: String,
    /// The original's size in bytes.
    pub original_len: u64,
    /// The record's chain hash, hex.
    pub chain_hash: String,
    /// Everything done since, oldest first.
    pub events: Vec<Event>,
    /// The blurred preview (PNG), decrypted; not serialised.
    #[serde(skip)]
    pub preview_png: Option<Vec<u8>>,
}

/// Earlier incidents that share an image or a sender with a new arrival.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LookupResult {
    /// Earlier incidents with the same image: (id, PDQ distance; 0 for an identical SHA-256),
    /// closest first.
    pub same_image: Vec<(IncidentId, u32)>,
    /// How many earlier incidents came from the same sender.
    pub same_sender: u32,
}

/// One thing that does not verify.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// The chain position of the record (None for problems not tied to one record).
    pub seq: Option<i64>,
    /// The incident the record belongs to, if known.
    pub incident_id: Option<String>,
    /// What is wrong, in words.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.seq, &self.incident_id) {
            (Some(seq), Some(id)) => write!(f, "record {seq} (incident {id}): {}", self.message),
            (Some(seq), None) => write!(f, "record {seq}: {}", self.message),
            (None, Some(id)) => write!(f, "incident {id}: {}", self.message),
            (None, None) => f.write_str(&self.message),
        }
    }
}

/// The result of verifying a vault or a bundle.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyReport {
    /// Records walked.
    pub records: u64,
    /// Whether the key-sealed chain head (and every encrypted field) was checked.
    pub checked_with_key: bool,
    /// Files whose SHA-256 was checked (bundles only).
    pub files: u64,
    /// Everything that does not match, first problem first (empty when all verifies).
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    /// True when nothing is wrong.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }

    pub(crate) fn problem(&mut self, seq: Option<i64>, incident: Option<&str>, message: String) {
        self.problems.push(Problem {
            seq,
            incident_id: incident.map(str::to_string),
            message,
        });
    }
}

/// What to put into an export.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportOptions {
    /// Include the decrypted originals. Off by default: the bundle then holds previews, hashes
    /// and metadata only.
    pub include_originals: bool,
}

/// What an export wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportSummary {
    /// Incidents in the bundle.
    pub incidents: usize,
    /// Chain records in the manifest.
    pub records: usize,
    /// Files in the ZIP.
    pub files: usize,
}

/// The evidence vault. Open one per database file and share it (`Arc`) across threads.
pub struct EvidenceVault {
    path: PathBuf,
    inner: Mutex<Option<store::Store>>,
}

impl std::fmt::Debug for EvidenceVault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvidenceVault")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl EvidenceVault {
    /// Opens the vault at `path` with `key`, creating it (and its schema) if the file does not
    /// exist, and migrating an older schema. A key that does not match gives
    /// [`Error::WrongKey`] and changes nothing; a damaged file gives [`Error::EvidenceCorrupt`].
    pub fn open(path: &Path, key: &VaultKey) -> Result<EvidenceVault> {
        let store = store::Store::open(path, key)?;
        Ok(EvidenceVault {
            path: path.to_path_buf(),
            inner: Mutex::new(Some(store)),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn with<T>(&self, f: impl FnOnce(&mut store::Store) -> Result<T>) -> Result<T> {
        let mut guard = self
            .inner
            .lock()
            .map_err(|_| Error::EvidenceStore("a writer panicked; reopen the vault".into()))?;
        match guard.as_mut() {
            Some(store) => f(store),
            None => Err(Error::VaultWiped),
        }
    }

    /// Records a flagged image and returns its new id. Returns once the record is durably
    /// committed.
    pub fn record(&self, incident: &NewIncident) -> Result<IncidentId> {
        self.with(|s| s.record(incident))
    }

    /// Appends an event to an incident; `text` is a note or report reference (encrypted).
    /// [`EventKind::OriginalDeleted`] also removes the encrypted original. Returns the event's
    /// chain position.
    pub fn add_event(
        &self,
        incident: &str,
        kind: EventKind,
        arrival_offset_minutes: i32,
        text: Option<&str>,
    ) -> Result<i64> {
        self.with(|s| s.add_event(incident, kind, now_ms(), arrival_offset_minutes, text))
    }

    /// Every incident still held, oldest first.
    pub fn list(&self) -> Result<Vec<IncidentSummary>> {
        self.with(|s| s.list())
    }

    /// One incident in full, with its events and preview.
    pub fn get(&self, id: &str) -> Result<Incident> {
        self.with(|s| s.get(id))
    }

    /// The decrypted original of an incident (None after it was deleted or purged).
    pub fn original(&self, id: &str) -> Result<Option<Vec<u8>>> {
        self.with(|s| s.original(id))
    }

    /// Earlier incidents with this image (same SHA-256, or PDQ within `max_pdq_distance` when
    /// both hashes have quality ≥ 50) and how many came from this sender.
    pub fn lookup(
        &self,
        sha256: &[u8; 32],
        pdq: Option<&PdqHash>,
        max_pdq_distance: u32,
        sender: Option<&str>,
    ) -> Result<LookupResult> {
        self.with(|s| s.lookup(sha256, pdq, max_pdq_distance, sender))
    }

    /// The flagged scores of an earlier incident, for re-flagging a known image without the model:
    /// (explicit score, labels, model name, model version).
    pub fn earlier_scores(
        &self,
        id: &str,
    ) -> Result<(f32, std::collections::BTreeMap<String, f32>, String, String)> {
        self.with(|s| s.earlier_scores(id))
    }

    /// Walks the whole chain and checks the key-sealed head and every encrypted field. Never
    /// fails on tampering: problems are in the report.
    pub fn verify(&self) -> Result<VerifyReport> {
        self.with(|s| s.verify())
    }

    /// Checks a database file's chain without the key (internal consistency only: deleting the
    /// newest records cannot be detected without the key). Opens the file read-only.
    pub fn verify_without_key(path: &Path) -> Result<VerifyReport> {
        store::verify_without_key(path)
    }

    /// Writes a ZIP evidence bundle to `out`: `manifest.json` (every record with its hashes),
    /// `report.html`, previews, originals when asked, and `SHA256SUMS`.
    pub fn export(&self, out: &Path, options: ExportOptions) -> Result<ExportSummary> {
        self.with(|s| export::export(s, out, options))
    }

    /// Sets how long incidents are kept (None: forever). Applied by [`EvidenceVault::purge_expired`].
    pub fn set_retention_days(&self, days: Option<u32>) -> Result<()> {
        self.with(|s| s.set_retention_days(days))
    }

    /// The retention period in days (None: forever).
    pub fn retention_days(&self) -> Result<Option<u32>> {
        self.with(|s| s.retention_days())
    }

    /// Purges every incident older than the retention period at `now_ms`; returns how many.
    pub fn purge_expired(&self, now_ms: i64) -> Result<usize> {
        self.with(|s| retention::purge_expired(s, now_ms))
    }

    /// Purges one incident now (its payload goes; a `purge` record is appended).
    pub fn purge(&self, id: &str) -> Result<()> {
        self.with(|s| retention::purge(s, id, now_ms()))
    }

    /// Re-encrypts everything under `new_key` in one transaction; on error nothing changes.
    pub fn rotate_key(&self, new_key: &VaultKey) -> Result<()> {
        self.with(|s| s.rotate_key(new_key))
    }

    /// Deletes the database and its WAL and SHM files, overwriting them first. The vault is
    /// unusable afterwards ([`Error::VaultWiped`]).
    pub fn wipe(&self) -> Result<()> {
        let mut guard = self
            .inner
            .lock()
            .map_err(|_| Error::EvidenceStore("a writer panicked; reopen the vault".into()))?;
        if let Some(store) = guard.take() {
            store.close();
        }
        retention::wipe_files(&self.path)
    }

    /// Wipes the files of a vault that cannot be opened (a lost key).
    pub fn wipe_path(path: &Path) -> Result<()> {
        retention::wipe_files(path)
    }

    /// Checks an exported bundle without the database or the key.
    pub fn verify_bundle(bundle: &Path) -> Result<VerifyReport> {
        bundle_verify::verify_bundle(bundle)
    }
}

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Parses lowercase or uppercase hex.
pub(crate) fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}
