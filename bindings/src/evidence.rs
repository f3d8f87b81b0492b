//! Records and enums of the evidence vault, and their conversions from the core's.

use std::collections::HashMap;

/// Where the user was when an image arrived, if they chose to say.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
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

impl From<Location> for veil_core::Location {
    fn from(l: Location) -> Self {
        match l {
            Location::Coordinates {
                latitude,
                longitude,
                accuracy_m,
            } => veil_core::Location::Coordinates {
                latitude,
                longitude,
                accuracy_m,
            },
            Location::Described { text } => veil_core::Location::Described { text },
        }
    }
}

impl From<veil_core::Location> for Location {
    fn from(l: veil_core::Location) -> Self {
        match l {
            veil_core::Location::Coordinates {
                latitude,
                longitude,
                accuracy_m,
            } => Location::Coordinates {
                latitude,
                longitude,
                accuracy_m,
            },
            veil_core::Location::Described { text } => Location::Described { text },
        }
    }
}

/// When (and optionally where) an image arrived, as the platform reports it. Recorded with the
/// incident when the image is flagged and a vault is open.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Arrival {
    /// Arrival time, milliseconds since 1970-01-01 UTC.
    pub received_at_ms: i64,
    /// The local offset from UTC at that moment, in minutes (60 for BST).
    pub utc_offset_minutes: i32,
    /// Where the user was, if known.
    #[uniffi(default = None)]
    pub location: Option<Location>,
}

impl From<Arrival> for veil_core::Arrival {
    fn from(a: Arrival) -> Self {
        veil_core::Arrival {
            received_at_ms: a.received_at_ms,
            utc_offset_minutes: a.utc_offset_minutes,
            location: a.location.map(Into::into),
        }
    }
}

/// What the user did about an incident later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum EventKind {
    /// The user looked at the incident (or at the original, after confirming).
    Viewed,
    /// The user deleted the original image: the encrypted original is removed from the vault
    /// (its hashes stay in the chain).
    OriginalDeleted,
    /// The user blocked the sender.
    SenderBlocked,
    /// The user reported the incident (the text can hold a crime reference number).
    Reported,
    /// A note the user added.
    Note,
    /// The incident was purged (by retention or by the user). Recorded by the vault itself:
    /// `addEvent` refuses it; use `purgeIncident`.
    Purged,
}

impl From<EventKind> for veil_core::EventKind {
    fn from(k: EventKind) -> Self {
        match k {
            EventKind::Viewed => veil_core::EventKind::Viewed,
            EventKind::OriginalDeleted => veil_core::EventKind::OriginalDeleted,
            EventKind::SenderBlocked => veil_core::EventKind::SenderBlocked,
            EventKind::Reported => veil_core::EventKind::Reported,
            EventKind::Note => veil_core::EventKind::Note,
            EventKind::Purged => veil_core::EventKind::Purged,
        }
    }
}

impl From<veil_core::EventKind> for EventKind {
    fn from(k: veil_core::EventKind) -> Self {
        match k {
            veil_core::EventKind::Viewed => EventKind::Viewed,
            veil_core::EventKind::OriginalDeleted => EventKind::OriginalDeleted,
            veil_core::EventKind::SenderBlocked => EventKind::SenderBlocked,
            veil_core::EventKind::Reported => EventKind::Reported,
            veil_core::EventKind::Note => EventKind::Note,
            veil_core::EventKind::Purged => EventKind::Purged,
        }
    }
}

/// One recorded event, decrypted.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Event {
    /// Position in the vault's chain.
    pub seq: i64,
    /// What happened.
    pub kind: EventKind,
    /// When, milliseconds since 1970 UTC.
    pub at_ms: i64,
    /// Local UTC offset at that time, minutes.
    pub utc_offset_minutes: i32,
    /// The note or report text (none when there was none, or after a purge).
    pub text: Option<String>,
}

impl From<veil_core::Event> for Event {
    fn from(e: veil_core::Event) -> Self {
        Event {
            seq: e.seq,
            kind: e.kind.into(),
            at_ms: e.at_ms,
            utc_offset_minutes: e.utc_offset_minutes,
            text: e.text,
        }
    }
}

/// One incident as listed: no image data, sender decrypted.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct IncidentSummary {
    /// The incident id (32 lowercase hex digits).
    pub id: String,
    /// Position in the vault's chain.
    pub seq: i64,
    /// Arrival time, milliseconds since 1970 UTC.
    pub received_at_ms: i64,
    /// Local UTC offset at arrival, minutes.
    pub utc_offset_minutes: i32,
    /// The channel's name (`airdrop`, `bluetooth`, `nearby_share`, `sms`, `app:<name>`, `other`).
    pub channel: String,
    /// The sender, decrypted.
    pub sender: Option<String>,
    /// Whether the sender was a known contact.
    pub sender_known_contact: bool,
    /// The explicit score judged.
    pub explicit_score: f32,
    /// `blur` or `allow`.
    pub action: String,
    /// Number of events recorded for it.
    pub events: u32,
    /// Whether the encrypted original is still held.
    pub has_original: bool,
}

impl From<veil_core::IncidentSummary> for IncidentSummary {
    fn from(s: veil_core::IncidentSummary) -> Self {
        IncidentSummary {
            id: s.id,
            seq: s.seq,
            received_at_ms: s.received_at_ms,
            utc_offset_minutes: s.utc_offset_minutes,
            channel: s.channel,
            sender: s.sender,
            sender_known_contact: s.sender_known_contact,
            explicit_score: s.explicit_score,
            action: s.action,
            events: u32::try_from(s.events).unwrap_or(u32::MAX),
            has_original: s.has_original,
        }
    }
}

/// One incident in full, decrypted.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Incident {
    /// The listing fields.
    pub summary: IncidentSummary,
    /// Where the user was.
    pub location: Option<Location>,
    /// The model's name.
    pub model_name: String,
    /// The model's version.
    pub model_version: String,
    /// Every label's score.
    pub scores: HashMap<String, f32>,
    /// The threshold that applied.
    pub threshold: f32,
    /// Why it was flagged.
    pub reason: String,
    /// SHA-256 of the original, lowercase hex.
    pub image_sha256: String,
    /// PDQ perceptual hash, 64 hex digits, if computed.
    pub pdq: Option<String>,
    /// PDQ quality (0 to 100), if computed.
    pub pdq_quality: Option<u8>,
    /// The original's media type (`image/jpeg`, ...).
    pub original_media_type: String,
    /// The original's size in bytes.
    pub original_len: u64,
    /// The record's chain hash, hex.
    pub chain_hash: String,
    /// Everything done since, oldest first.
    pub events: Vec<Event>,
    /// The blurred preview as PNG, decrypted.
    pub preview_png: Option<Vec<u8>>,
}

impl From<veil_core::Incident> for Incident {
    fn from(i: veil_core::Incident) -> Self {
        Incident {
            summary: i.summary.into(),
            location: i.location.map(Into::into),
            model_name: i.model_name,
            model_version: i.model_version,
            scores: i.scores.into_iter().collect(),
            threshold: i.threshold,
            reason: i.reason,
            image_sha256: i.image_sha256,
            pdq: i.pdq,
            pdq_quality: i.pdq_quality,
            original_media_type: i.original_media_type,
            original_len: i.original_len,
            chain_hash: i.chain_hash,
            events: i.events.into_iter().map(Into::into).collect(),
            preview_png: i.preview_png,
        }
    }
}

/// One thing in the vault that does not verify.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Problem {
    /// The chain position involved, if any.
    pub seq: Option<i64>,
    /// The incident involved, if any.
    pub incident_id: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// The result of verifying a vault or an exported bundle.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct VerifyReport {
    /// True when nothing was found wrong.
    pub ok: bool,
    /// Records checked.
    pub records: u64,
    /// Whether the key-sealed chain head and the encrypted fields were checked too.
    pub checked_with_key: bool,
    /// Files checked (bundles).
    pub files: u64,
    /// Everything found wrong (edited, deleted, reordered or inserted records, ...).
    pub problems: Vec<Problem>,
}

impl From<veil_core::VerifyReport> for VerifyReport {
    fn from(r: veil_core::VerifyReport) -> Self {
        VerifyReport {
            ok: r.is_ok(),
            records: r.records,
            checked_with_key: r.checked_with_key,
            files: r.files,
            problems: r
                .problems
                .into_iter()
                .map(|p| Problem {
                    seq: p.seq,
                    incident_id: p.incident_id,
                    message: p.message,
                })
                .collect(),
        }
    }
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ExportSummary {
    /// Incidents in the bundle.
    pub incidents: u32,
    /// Chain records in the bundle's manifest.
    pub records: u32,
    /// Files in the ZIP.
    pub files: u32,
}

impl From<veil_core::ExportSummary> for ExportSummary {
    fn from(s: veil_core::ExportSummary) -> Self {
        let n = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
        ExportSummary {
            incidents: n(s.incidents),
            records: n(s.records),
            files: n(s.files),
        }
    }
}
