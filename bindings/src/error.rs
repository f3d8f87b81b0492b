//! The one error type of the bindings, and the guard that turns panics into it.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Everything that can go wrong in a Veil call. Kotlin sees it as `VeilException` with one
/// subclass per case (`VeilException.Corrupt`, ...), Swift as the `VeilError` enum; the
/// message says what was wrong and, where it helps, what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
pub enum VeilError {
    /// A file could not be read or written.
    #[error("{0}")]
    Io(String),
    /// The bytes are not in an image format Veil reads (pass HEIC and other formats as
    /// decoded pixels instead).
    #[error("{0}")]
    UnsupportedFormat(String),
    /// The image ends before its data does: a transfer was cut short.
    #[error("{0}")]
    Truncated(String),
    /// The image data is damaged or not what its header claims.
    #[error("{0}")]
    Corrupt(String),
    /// The image has no pixels.
    #[error("{0}")]
    Empty(String),
    /// The image is larger than the limits allow (a likely decompression bomb).
    #[error("{0}")]
    TooLarge(String),
    /// A raw pixel buffer does not match its declared geometry.
    #[error("{0}")]
    InvalidPixelBuffer(String),
    /// An argument is outside the range the call accepts.
    #[error("{0}")]
    InvalidArgument(String),
    /// The model file could not be found.
    #[error("{0}")]
    ModelNotFound(String),
    /// The model file is not the one its manifest pins (wrong or damaged download).
    #[error("{0}")]
    ModelChecksum(String),
    /// The model or its manifest could not be loaded or run.
    #[error("{0}")]
    Model(String),
    /// A preview could not be encoded.
    #[error("{0}")]
    Encode(String),
    /// The evidence vault's key does not open it. Nothing was changed.
    #[error("{0}")]
    WrongKey(String),
    /// The evidence vault key is not exactly 32 bytes.
    #[error("{0}")]
    InvalidKey(String),
    /// The evidence vault file is damaged or is not a Veil evidence vault.
    #[error("{0}")]
    VaultCorrupt(String),
    /// The call needs an evidence vault, but none is open.
    #[error("{0}")]
    NoVault(String),
    /// No incident has the given id (or it was purged).
    #[error("{0}")]
    UnknownIncident(String),
    /// The vault was wiped: open a new one.
    #[error("{0}")]
    VaultWiped(String),
    /// Any other evidence vault failure: the store could not be read or written (disk full,
    /// locked, permissions), it was made by a newer Veil, or a bundle could not be read.
    #[error("{0}")]
    Vault(String),
    /// A bug in Veil: a panic was caught at the boundary instead of crashing the app. The
    /// object that raised it can still be used; please report the message.
    #[error("{0}")]
    Internal(String),
}

impl From<veil_core::Error> for VeilError {
    fn from(error: veil_core::Error) -> Self {
        use veil_core::Error as E;
        let message = error.to_string();
        match error {
            E::Io { .. } => VeilError::Io(message),
            E::UnsupportedFormat(_) => VeilError::UnsupportedFormat(message),
            E::Truncated(_) => VeilError::Truncated(message),
            E::Corrupt(_) => VeilError::Corrupt(message),
            E::Empty(_) => VeilError::Empty(message),
            E::TooLarge(_) => VeilError::TooLarge(message),
            E::InvalidPixelBuffer(_) => VeilError::InvalidPixelBuffer(message),
            E::InvalidArgument(_) => VeilError::InvalidArgument(message),
            E::ModelNotFound(_) => VeilError::ModelNotFound(message),
            E::ModelChecksum { .. } => VeilError::ModelChecksum(message),
            E::Manifest(_) | E::Model(_) => VeilError::Model(message),
            E::Encode(_) => VeilError::Encode(message),
            // The evidence vault's errors, and kinds added later (`veil_core::Error` is
            // non-exhaustive), are sorted by their stable kind name.
            other => from_kind(other.kind(), message),
        }
    }
}

/// Maps a core error by its stable kind name ([`veil_core::Error::kind`]).
fn from_kind(kind: &str, message: String) -> VeilError {
    match kind {
        "wrong_key" => VeilError::WrongKey(message),
        "invalid_key" => VeilError::InvalidKey(message),
        "evidence_corrupt" => VeilError::VaultCorrupt(message),
        "unknown_incident" => VeilError::UnknownIncident(message),
        "vault_wiped" => VeilError::VaultWiped(message),
        "evidence_store" | "evidence_schema_too_new" | "bundle" => VeilError::Vault(message),
        k if k.contains("vault") || k.contains("evidence") => VeilError::Vault(message),
        _ => VeilError::Internal(message),
    }
}

/// Runs `f`, turning a panic into [`VeilError::Internal`] so that it reaches the app as an
/// exception instead of aborting the process. Every exported function goes through here.
pub(crate) fn guard<T>(f: impl FnOnce() -> Result<T, VeilError>) -> Result<T, VeilError> {
    // AssertUnwindSafe: the objects behind the calls are immutable after construction (the
    // scanner) or protected by locks that report poisoning as errors (the vault).
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        let message = panic_message(payload.as_ref());
        log::error!("panic caught at the FFI boundary: {message}");
        Err(VeilError::Internal(format!("internal error: {message}")))
    })
}

/// The text of a panic payload.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-text payload".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_become_internal_errors() {
        let result: Result<(), VeilError> = guard(|| panic!("boom {}", 42));
        match result {
            Err(VeilError::Internal(message)) => assert!(message.contains("boom 42"), "{message}"),
            other => panic!("expected Internal, got {other:?}"),
        }
        let result: Result<(), VeilError> = guard(|| std::panic::panic_any(7u8));
        assert!(matches!(result, Err(VeilError::Internal(_))));
    }

    #[test]
    fn core_errors_keep_their_kind_and_message() {
        let e: VeilError = veil_core::Error::Truncated("cut short".into()).into();
        assert_eq!(
            e,
            VeilError::Truncated("the image is truncated: cut short".into())
        );
        let e: VeilError = veil_core::Error::Manifest("bad".into()).into();
        assert!(matches!(e, VeilError::Model(_)));
        let e: VeilError = veil_core::Error::WrongKey.into();
        assert!(matches!(e, VeilError::WrongKey(_)));
        let e: VeilError = veil_core::Error::InvalidKey("3 bytes".into()).into();
        assert!(matches!(e, VeilError::InvalidKey(_)));
        let e: VeilError = veil_core::Error::UnknownIncident("x".into()).into();
        assert!(matches!(e, VeilError::UnknownIncident(_)));
        let e: VeilError = veil_core::Error::EvidenceCorrupt("x".into()).into();
        assert!(matches!(e, VeilError::VaultCorrupt(_)));
        let e: VeilError = veil_core::Error::VaultWiped.into();
        assert!(matches!(e, VeilError::VaultWiped(_)));
    }
}
