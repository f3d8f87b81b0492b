//! The exported object: one model, one policy, optionally one evidence vault.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock, Weak};

use veil_core::{Classifier, EvidenceVault, Filter, ModelManifest, Scanner, VaultKey};

use crate::error::{guard, VeilError};
use crate::evidence::{Arrival, EventKind, ExportSummary, Incident, IncidentSummary, VerifyReport};
use crate::logging::install_panic_hook;
use crate::types::{
    BlurredPreview, FilterSettings, ImageInfo, ModelInfo, RawPixels, ScanContext, Sensitivity,
    Verdict,
};

/// The result of scanning one image.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ScanResult {
    /// The decision: allow, or blur.
    pub verdict: Verdict,
    /// The blurred preview to show instead of the image; present when the verdict is blur.
    pub preview: Option<BlurredPreview>,
    /// Facts about the image (never its content).
    pub image: ImageInfo,
    /// The incident recorded for this image: set when it was blurred and a vault is open.
    pub incident_id: Option<String>,
    /// The earlier incident this image matched, when it was recognised as an image already
    /// flagged and blurred without running the model.
    pub matched_incident: Option<String>,
    /// Whether the model ran (false for a recognised image).
    pub model_ran: bool,
    /// Earlier incidents with the same image (identical, or a near-duplicate by PDQ hash).
    pub earlier_same_image: u32,
    /// Earlier incidents from the same sender.
    pub earlier_same_sender: u32,
}

impl From<veil_core::FilterOutcome> for ScanResult {
    fn from(o: veil_core::FilterOutcome) -> Self {
        ScanResult {
            verdict: o.scan.verdict.into(),
            preview: o.scan.preview.map(Into::into),
            image: o.scan.image.into(),
            incident_id: o.incident_id,
            matched_incident: o.matched_incident,
            model_ran: o.model_ran,
            earlier_same_image: o.earlier_same_image,
            earlier_same_sender: o.earlier_same_sender,
        }
    }
}

/// Veil's filter: owns the model (loaded once), the policy and, once opened, the evidence
/// vault. Create one per app and share it: every method may be called from many threads at
/// once. Scans are CPU-bound and take tens to hundreds of milliseconds: never call them on the
/// main thread (the Kotlin and Swift layers offer suspend and async versions).
///
/// With a vault open, every blurred image is recorded as an incident (encrypted, in a
/// tamper-evident chain), and images already flagged are recognised and blurred at once.
#[derive(Debug, uniffi::Object)]
pub struct VeilFilter {
    scanner: Scanner,
    settings: FilterSettings,
    /// The filter in use; replaced (never mutated) when a vault is opened, closed or wiped, so
    /// scans in flight keep the one they started with.
    current: RwLock<Arc<Filter>>,
}

/// Models already loaded in this process, by file, so that filters built from the same file
/// share one copy.
static LOADED: Mutex<Option<HashMap<PathBuf, Weak<Classifier>>>> = Mutex::new(None);

fn load_from_path(path: &Path) -> Result<Arc<Classifier>, VeilError> {
    let key = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let mut loaded = LOADED
        .lock()
        .map_err(|_| VeilError::Internal("the model cache lock is poisoned".into()))?;
    let cache = loaded.get_or_insert_with(HashMap::new);
    if let Some(classifier) = cache.get(&key).and_then(Weak::upgrade) {
        return Ok(classifier);
    }
    let is_manifest = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let classifier = Arc::new(if is_manifest {
        Classifier::from_manifest_file(path)?
    } else {
        Classifier::from_path(path, ModelManifest::default_model())?
    });
    cache.retain(|_, weak| weak.strong_count() > 0);
    cache.insert(key, Arc::downgrade(&classifier));
    Ok(classifier)
}

impl VeilFilter {
    fn build(
        classifier: Arc<Classifier>,
        settings: FilterSettings,
    ) -> Result<Arc<Self>, VeilError> {
        let scanner = Scanner::new(classifier, settings.policy()?)?;
        let current = RwLock::new(Arc::new(Self::filter(&scanner, &settings, None)));
        Ok(Arc::new(VeilFilter {
            scanner,
            settings,
            current,
        }))
    }

    fn filter(
        scanner: &Scanner,
        settings: &FilterSettings,
        vault: Option<Arc<EvidenceVault>>,
    ) -> Filter {
        Filter::new(scanner.clone(), vault).with_match_distance(settings.match_distance)
    }

    fn current(&self) -> Result<Arc<Filter>, VeilError> {
        self.current
            .read()
            .map(|f| Arc::clone(&f))
            .map_err(|_| VeilError::Internal("the filter lock is poisoned".into()))
    }

    fn replace(&self, vault: Option<Arc<EvidenceVault>>) -> Result<(), VeilError> {
        let filter = Arc::new(Self::filter(&self.scanner, &self.settings, vault));
        let mut current = self
            .current
            .write()
            .map_err(|_| VeilError::Internal("the filter lock is poisoned".into()))?;
        *current = filter;
        Ok(())
    }

    fn vault(&self) -> Result<Arc<EvidenceVault>, VeilError> {
        self.current()?.vault().cloned().ok_or_else(|| {
            VeilError::NoVault("no evidence vault is open: call openVault first".into())
        })
    }
}

fn arrival_or_now(arrival: Option<Arrival>) -> veil_core::Arrival {
    arrival.map_or_else(|| veil_core::Arrival::now(0), Into::into)
}

fn key(bytes: &[u8]) -> Result<VaultKey, VeilError> {
    Ok(VaultKey::from_bytes(bytes)?)
}

#[uniffi::export]
impl VeilFilter {
    /// A filter using the model at `model_path`: the default model's ONNX weights
    /// (`open-nsfw.onnx`, checked against its pinned SHA-256), or a model manifest `.json` with
    /// its weights beside it. Filters built from the same file share one loaded model.
    #[uniffi::constructor]
    pub fn from_model_path(
        model_path: String,
        settings: FilterSettings,
    ) -> Result<Arc<Self>, VeilError> {
        install_panic_hook();
        guard(|| Self::build(load_from_path(Path::new(&model_path))?, settings))
    }

    /// A filter using the default model's ONNX weights held in memory (an app asset), checked
    /// against their pinned SHA-256.
    #[uniffi::constructor]
    pub fn from_model_bytes(
        model: Vec<u8>,
        settings: FilterSettings,
    ) -> Result<Arc<Self>, VeilError> {
        install_panic_hook();
        guard(|| {
            let classifier = Classifier::from_bytes(&model, ModelManifest::default_model())?;
            Self::build(Arc::new(classifier), settings)
        })
    }

    /// A filter using the default model where development builds find it: the file named by
    /// the `VEIL_MODEL` environment variable, `open-nsfw.onnx` in `VEIL_MODELS_DIR`, or the
    /// source tree's `models/` folder. Apps should use `fromModelPath` or `fromModelBytes`.
    #[uniffi::constructor]
    pub fn with_default_model(settings: FilterSettings) -> Result<Arc<Self>, VeilError> {
        install_panic_hook();
        guard(|| Self::build(Classifier::shared_default()?, settings))
    }

    /// Scans encoded image bytes (JPEG, PNG, WebP, GIF, BMP, TIFF) that arrived by `context`.
    /// `arrival` is recorded with the incident when the image is flagged and a vault is open
    /// (none: now, at UTC offset 0).
    #[uniffi::method(default(arrival = None))]
    pub fn scan_bytes(
        &self,
        bytes: Vec<u8>,
        context: ScanContext,
        arrival: Option<Arrival>,
    ) -> Result<ScanResult, VeilError> {
        guard(|| {
            let filter = self.current()?;
            Ok(filter
                .scan_bytes(&bytes, &context.into(), &arrival_or_now(arrival))?
                .into())
        })
    }

    /// Reads and scans the image file at `path` (see `scanBytes`).
    #[uniffi::method(default(arrival = None))]
    pub fn scan_file(
        &self,
        path: String,
        context: ScanContext,
        arrival: Option<Arrival>,
    ) -> Result<ScanResult, VeilError> {
        guard(|| {
            let filter = self.current()?;
            Ok(filter
                .scan_file(Path::new(&path), &context.into(), &arrival_or_now(arrival))?
                .into())
        })
    }

    /// Scans a raw pixel buffer (a decoded HEIC photo, a `Bitmap`, a `CGImage`'s pixels); a
    /// flagged one is kept in the vault as PNG (see `scanBytes`).
    #[uniffi::method(default(arrival = None))]
    pub fn scan_pixels(
        &self,
        pixels: RawPixels,
        context: ScanContext,
        arrival: Option<Arrival>,
    ) -> Result<ScanResult, VeilError> {
        guard(|| {
            let filter = self.current()?;
            Ok(filter
                .scan_pixels(
                    &pixels.as_buffer(),
                    &context.into(),
                    &arrival_or_now(arrival),
                )?
                .into())
        })
    }

    /// The settings this filter was built with.
    pub fn settings(&self) -> Result<FilterSettings, VeilError> {
        guard(|| Ok(self.settings.clone()))
    }

    /// The sensitivity in force.
    pub fn sensitivity(&self) -> Result<Sensitivity, VeilError> {
        guard(|| Ok(self.scanner.policy().sensitivity.into()))
    }

    /// Facts about the loaded model.
    pub fn model_info(&self) -> Result<ModelInfo, VeilError> {
        guard(|| Ok(self.scanner.classifier().manifest().into()))
    }

    // --- The evidence vault -------------------------------------------------------------

    /// Opens (creating if needed) the evidence vault at `path` with `key` (exactly 32 bytes,
    /// kept by the app in the Android Keystore or the iOS Keychain; Veil never stores it).
    /// From now on every blurred image is recorded. Replaces a vault already open. A wrong key
    /// raises `WrongKey` and changes nothing.
    pub fn open_vault(&self, path: String, key: Vec<u8>) -> Result<(), VeilError> {
        guard(|| {
            let vault = EvidenceVault::open(Path::new(&path), &self::key(&key)?)?;
            self.replace(Some(Arc::new(vault)))
        })
    }

    /// Stops recording: scans go on without a vault. The vault's file is kept.
    pub fn close_vault(&self) -> Result<(), VeilError> {
        guard(|| self.replace(None))
    }

    /// Whether an evidence vault is open.
    pub fn has_vault(&self) -> Result<bool, VeilError> {
        guard(|| Ok(self.current()?.vault().is_some()))
    }

    /// Appends an event (viewed, original deleted, sender blocked, reported, note) to an
    /// incident; `text` is a note or a crime reference (stored encrypted). `OriginalDeleted`
    /// also removes the encrypted original. Returns the event's chain position.
    #[uniffi::method(default(text = None))]
    pub fn add_event(
        &self,
        incident_id: String,
        kind: EventKind,
        utc_offset_minutes: i32,
        text: Option<String>,
    ) -> Result<i64, VeilError> {
        guard(|| {
            Ok(self.vault()?.add_event(
                &incident_id,
                kind.into(),
                utc_offset_minutes,
                text.as_deref(),
            )?)
        })
    }

    /// Every incident still held, oldest first (no image data).
    pub fn list_incidents(&self) -> Result<Vec<IncidentSummary>, VeilError> {
        guard(|| Ok(self.vault()?.list()?.into_iter().map(Into::into).collect()))
    }

    /// One incident in full, with its events and blurred preview.
    pub fn get_incident(&self, incident_id: String) -> Result<Incident, VeilError> {
        guard(|| Ok(self.vault()?.get(&incident_id)?.into()))
    }

    /// The decrypted original image of an incident (none after it was deleted or purged).
    /// Show it only after the user confirms, and record a `Viewed` event.
    pub fn incident_original(&self, incident_id: String) -> Result<Option<Vec<u8>>, VeilError> {
        guard(|| Ok(self.vault()?.original(&incident_id)?))
    }

    /// Walks the vault's whole chain and checks the key-sealed head and every encrypted field.
    /// Tampering does not raise: it is listed in the report's problems.
    pub fn verify_vault(&self) -> Result<VerifyReport, VeilError> {
        guard(|| Ok(self.vault()?.verify()?.into()))
    }

    /// Writes a ZIP evidence bundle for the police to `out_path`: a manifest of every record
    /// with its hashes, a readable report, the previews, the originals when
    /// `include_originals`, and checksums.
    #[uniffi::method(default(include_originals = false))]
    pub fn export_vault(
        &self,
        out_path: String,
        include_originals: bool,
    ) -> Result<ExportSummary, VeilError> {
        guard(|| {
            let options = veil_core::ExportOptions { include_originals };
            Ok(self.vault()?.export(Path::new(&out_path), options)?.into())
        })
    }

    /// Sets how long incidents are kept, in days (none: forever). Applied by `purgeExpired`.
    pub fn set_retention_days(&self, days: Option<u32>) -> Result<(), VeilError> {
        guard(|| Ok(self.vault()?.set_retention_days(days)?))
    }

    /// The retention period in days (none: forever).
    pub fn retention_days(&self) -> Result<Option<u32>, VeilError> {
        guard(|| Ok(self.vault()?.retention_days()?))
    }

    /// Purges every incident older than the retention period at `now_ms` (milliseconds since
    /// 1970 UTC; none: the system clock). Returns how many were purged.
    #[uniffi::method(default(now_ms = None))]
    pub fn purge_expired(&self, now_ms: Option<i64>) -> Result<u32, VeilError> {
        guard(|| {
            let now = now_ms.unwrap_or_else(veil_core::evidence::now_ms);
            let purged = self.vault()?.purge_expired(now)?;
            Ok(u32::try_from(purged).unwrap_or(u32::MAX))
        })
    }

    /// Purges one incident now: its data goes, a verifiable purge record stays.
    pub fn purge_incident(&self, incident_id: String) -> Result<(), VeilError> {
        guard(|| Ok(self.vault()?.purge(&incident_id)?))
    }

    /// Re-encrypts the whole vault under `new_key` (32 bytes) in one transaction; on error
    /// nothing changes. Open it with the new key from then on.
    pub fn rotate_vault_key(&self, new_key: Vec<u8>) -> Result<(), VeilError> {
        guard(|| Ok(self.vault()?.rotate_key(&key(&new_key)?)?))
    }

    /// Deletes the vault's files, overwriting them first, and goes on scanning without a vault.
    pub fn wipe_vault(&self) -> Result<(), VeilError> {
        guard(|| {
            let vault = self.vault()?;
            self.replace(None)?;
            Ok(vault.wipe()?)
        })
    }
}

/// Checks a vault file's chain without the key (internal consistency only: deleting the newest
/// records cannot be detected without the key).
#[uniffi::export]
pub fn verify_vault_without_key(path: String) -> Result<VerifyReport, VeilError> {
    guard(|| Ok(EvidenceVault::verify_without_key(Path::new(&path))?.into()))
}

/// Checks an exported evidence bundle (ZIP) without the vault or the key.
#[uniffi::export]
pub fn verify_bundle(path: String) -> Result<VerifyReport, VeilError> {
    guard(|| Ok(EvidenceVault::verify_bundle(Path::new(&path))?.into()))
}

/// Deletes the files of a vault that cannot be opened (a lost key), overwriting them first.
#[uniffi::export]
pub fn wipe_vault_at(path: String) -> Result<(), VeilError> {
    guard(|| Ok(EvidenceVault::wipe_path(Path::new(&path))?))
}

/// Encodes a blurred preview as PNG (lossless; for storage or `BitmapFactory`/`UIImage`).
#[uniffi::export]
pub fn encode_preview_png(preview: BlurredPreview) -> Result<Vec<u8>, VeilError> {
    guard(|| Ok(veil_core::BlurredPreview::from(preview).to_png()?))
}

/// Encodes a blurred preview as JPEG at `quality` (1 to 100; smaller files than PNG).
#[uniffi::export]
pub fn encode_preview_jpeg(preview: BlurredPreview, quality: u8) -> Result<Vec<u8>, VeilError> {
    guard(|| Ok(veil_core::BlurredPreview::from(preview).to_jpeg(quality)?))
}

/// The version of the Veil library, for "about" screens and bug reports.
#[uniffi::export]
pub fn veil_version() -> Result<String, VeilError> {
    guard(|| Ok(env!("CARGO_PKG_VERSION").to_string()))
}

/// Where development builds find the default model (see `VeilFilter.withDefaultModel`).
#[uniffi::export]
pub fn default_model_path() -> Result<String, VeilError> {
    guard(|| Ok(veil_core::default_model_path()?.display().to_string()))
}
