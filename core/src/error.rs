//! The one error type of `veil-core`.

use std::path::PathBuf;

/// Everything that can go wrong in the core. Messages say what was wrong with the input and,
/// where it helps, what to do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read or written.
    #[error("cannot access {path}: {source}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The bytes are not in an image format Veil reads.
    #[error("unsupported image format: {0} (Veil reads JPEG, PNG, WebP, GIF, BMP and TIFF; pass other formats, such as HEIC, as decoded pixels)")]
    UnsupportedFormat(String),
    /// The image ends before its data does: a transfer was cut short.
    #[error("the image is truncated: {0}")]
    Truncated(String),
    /// The image data is damaged or not what its header claims.
    #[error("the image is corrupt: {0}")]
    Corrupt(String),
    /// The image has no pixels.
    #[error("the image is empty: {0}")]
    Empty(String),
    /// The image is larger than the configured limits (a likely decompression bomb).
    #[error("the image is too large: {0}")]
    TooLarge(String),
    /// A raw pixel buffer does not match its declared geometry.
    #[error("invalid pixel buffer: {0}")]
    InvalidPixelBuffer(String),
    /// An argument is outside the range the call accepts.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The model manifest is missing, unreadable or inconsistent.
    #[error("invalid model manifest: {0}")]
    Manifest(String),
    /// The model file does not match the SHA-256 its manifest pins.
    #[error("model file {path} has SHA-256 {actual}, but its manifest pins {expected}; fetch it again with `make setup`")]
    ModelChecksum {
        /// The model file.
        path: PathBuf,
        /// The pinned digest.
        expected: String,
        /// The digest of the file found.
        actual: String,
    },
    /// The model could not be found.
    #[error("model not found: {0}")]
    ModelNotFound(String),
    /// The model could not be loaded or run.
    #[error("model error: {0}")]
    Model(String),
    /// An image could not be encoded (blurred previews).
    #[error("cannot encode image: {0}")]
    Encode(String),
    /// The evidence key does not open this evidence database. Nothing was changed.
    #[error("the key does not open this evidence database (nothing was changed): use the key it was created with")]
    WrongKey,
    /// The evidence key is not 32 bytes.
    #[error("invalid evidence key: {0} (the key must be exactly 32 random bytes)")]
    InvalidKey(String),
    /// The evidence database file is damaged or is not a Veil evidence database.
    #[error("the evidence database is damaged or not a Veil evidence database: {0}; keep a copy of the file and run `veil evidence verify --db`")]
    EvidenceCorrupt(String),
    /// The evidence database could not be read or written (disk full, locked, permissions).
    #[error("evidence database error: {0}")]
    EvidenceStore(String),
    /// The evidence database was created by a newer Veil.
    #[error("the evidence database has schema version {found}, newer than this Veil understands ({supported}): update Veil")]
    EvidenceSchemaTooNew {
        /// The version in the file.
        found: i64,
        /// The newest version this build reads.
        supported: i64,
    },
    /// No incident with this id is recorded (or it was purged).
    #[error("no incident {0} in the evidence database (it may have been purged): run `veil evidence list` to see the ids")]
    UnknownIncident(String),
    /// The evidence vault was wiped; open a new one.
    #[error("the evidence database was wiped; open it again to start a new one")]
    VaultWiped,
    /// An evidence bundle (ZIP) could not be read.
    #[error("cannot read the evidence bundle: {0}")]
    Bundle(String),
}

impl Error {
    /// A short, stable name for the kind of error, for scripts and JSON output.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Io { .. } => "io",
            Error::UnsupportedFormat(_) => "unsupported_format",
            Error::Truncated(_) => "truncated",
            Error::Corrupt(_) => "decode",
            Error::Empty(_) => "empty",
            Error::TooLarge(_) => "too_large",
            Error::InvalidPixelBuffer(_) => "invalid_pixel_buffer",
            Error::InvalidArgument(_) => "invalid_argument",
            Error::Manifest(_) => "manifest",
            Error::ModelChecksum { .. } => "model_checksum",
            Error::ModelNotFound(_) => "model_not_found",
            Error::Model(_) => "model",
            Error::Encode(_) => "encode",
            Error::WrongKey => "wrong_key",
            Error::InvalidKey(_) => "invalid_key",
            Error::EvidenceCorrupt(_) => "evidence_corrupt",
            Error::EvidenceStore(_) => "evidence_store",
            Error::EvidenceSchemaTooNew { .. } => "evidence_schema_too_new",
            Error::UnknownIncident(_) => "unknown_incident",
            Error::VaultWiped => "vault_wiped",
            Error::Bundle(_) => "bundle",
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        match e.sqlite_error_code() {
            Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => {
                Error::EvidenceCorrupt(e.to_string())
            }
            _ => Error::EvidenceStore(e.to_string()),
        }
    }
}

/// Shorthand for results of the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;
