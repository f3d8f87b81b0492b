//! # veil-core
//!
//! The on-device heart of Veil, a cyberflashing filter: images arriving by AirDrop, Bluetooth,
//! Nearby/Quick Share, SMS/MMS or a messaging app are scanned with a real classifier, explicit
//! ones are blurred before anyone sees them, and (optionally) recorded as evidence. Nothing ever
//! leaves the device; this crate has no network code.
//!
//! Data flows one way, one module per step:
//! [`decode`] (downscaled early) → [`preprocess`] → [`classifier`] → [`policy`] →
//! [`blur`] → [`evidence`]. [`filter::Filter`] is the entry point for apps: it runs the scanner,
//! recognises images already flagged, and records new ones in an [`evidence::EvidenceVault`]. [`scanner::Scanner`] runs the whole path.
//!
//! ```no_run
//! use std::sync::Arc;
//! use veil_core::{Classifier, Policy, ScanContext, Scanner, Sensitivity};
//!
//! let scanner = Scanner::new(Classifier::shared_default()?, Policy::new(Sensitivity::Balanced)?)?;
//! let outcome = scanner.scan_file("photo.jpg".as_ref(), &ScanContext::default())?;
//! println!("{} ({})", outcome.verdict.action.name(), outcome.verdict.reason);
//! # Ok::<(), veil_core::Error>(())
//! ```

pub mod blur;
pub mod classifier;
pub mod context;
mod conv_gemm;
mod cpu_kernels;
pub mod decode;
pub mod error;
pub mod evidence;
pub mod filter;
pub mod manifest;
pub mod policy;
pub mod preprocess;
pub mod scanner;

pub use blur::BlurredPreview;
pub use classifier::{default_model_path, Classifier, LoadOptions, Scores};
pub use context::{Channel, ScanContext, Sender};
pub use decode::{DecodeOptions, DecodedImage, Limits, PixelBuffer, PixelFormat, SourceFormat};
pub use error::{Error, Result};
pub use evidence::{
    Arrival, Event, EventKind, EvidenceVault, ExportOptions, ExportSummary, Incident, IncidentId,
    IncidentSummary, Location, LookupResult, NewIncident, PdqHash, Problem, VaultKey, VerifyReport,
};
pub use filter::{Filter, FilterOutcome};
pub use manifest::ModelManifest;
pub use policy::{Action, Policy, Sensitivity, Verdict};
pub use scanner::{ImageInfo, ScanOutcome, Scanner, ScannerOptions};
