//! The single entry point for apps: scan an arriving image, recognise images already flagged,
//! and record flagged ones in the evidence vault.
//!
//! Order of work for every image:
//! 1. SHA-256 of the bytes, looked up among earlier incidents (no decoding needed);
//! 2. decode, PDQ hash of the first scan frame, looked up by Hamming distance;
//! 3. a known flagged image is blurred at once, **without running the model**, its verdict
//!    reason naming the earlier incident; otherwise the model judges it;
//! 4. a flagged image is recorded when a vault is attached.
//!
//! The PDQ hash is computed on the decoder's reduced scan frame (short side ≥ 256), not on the
//! full-resolution image: PDQ is built to survive resizing, and decoding twice would double the
//! cost. Hashes therefore differ by a few bits from Meta's tool run on the full image.

use std::path::Path;
use std::sync::Arc;

use image::ImageEncoder;
use sha2::{Digest, Sha256};

use crate::context::ScanContext;
use crate::decode::{DecodedImage, PixelBuffer, PixelFormat};
use crate::error::{Error, Result};
use crate::evidence::{pdq, Arrival, EvidenceVault, IncidentId, NewIncident};
use crate::policy::{Action, Verdict};
use crate::scanner::{ScanOutcome, Scanner};

/// PDQ distance at or below which two images count as the same (Meta's recommended 31 of 256).
pub const DEFAULT_MATCH_DISTANCE: u32 = 31;

/// The result of [`Filter`] on one image.
#[derive(Debug, Clone)]
pub struct FilterOutcome {
    /// The verdict, preview and image facts, as [`Scanner`] gives them.
    pub scan: ScanOutcome,
    /// The incident recorded for this image (flagged, with a vault attached).
    pub incident_id: Option<IncidentId>,
    /// The earlier incident this image matched, when it was flagged without running the model.
    pub matched_incident: Option<IncidentId>,
    /// Whether the model ran (false for a known image).
    pub model_ran: bool,
    /// Earlier incidents with the same image (identical or a PDQ near-duplicate).
    pub earlier_same_image: u32,
    /// Earlier incidents from the same sender.
    pub earlier_same_sender: u32,
}

/// Scanner plus optional evidence vault. `Send + Sync`: share one across threads.
#[derive(Debug, Clone)]
pub struct Filter {
    scanner: Scanner,
    vault: Option<Arc<EvidenceVault>>,
    match_distance: u32,
}

/// What the filter keeps as "the original" for the vault.
struct Original<'a> {
    sha256: [u8; 32],
    bytes: std::borrow::Cow<'a, [u8]>,
    media_type: &'static str,
}

impl Filter {
    /// A filter with `scanner` and, when given, a vault that records flagged images.
    pub fn new(scanner: Scanner, vault: Option<Arc<EvidenceVault>>) -> Filter {
        Filter {
            scanner,
            vault,
            match_distance: DEFAULT_MATCH_DISTANCE,
        }
    }

    /// Sets the PDQ distance (0 to 256) at or below which an image counts as already seen.
    pub fn with_match_distance(mut self, distance: u32) -> Filter {
        self.match_distance = distance.min(256);
        self
    }

    /// The attached vault.
    pub fn vault(&self) -> Option<&Arc<EvidenceVault>> {
        self.vault.as_ref()
    }

    /// The scanner.
    pub fn scanner(&self) -> &Scanner {
        &self.scanner
    }

    /// Scans encoded image bytes that arrived as `arrival` says.
    pub fn scan_bytes(
        &self,
        bytes: &[u8],
        context: &ScanContext,
        arrival: &Arrival,
    ) -> Result<FilterOutcome> {
        let sha256: [u8; 32] = Sha256::digest(bytes).into();
        let media_type = sniff_media_type(bytes);
        let original = Original {
            sha256,
            bytes: std::borrow::Cow::Borrowed(bytes),
            media_type,
        };
        self.run(
            original,
            || self.scanner.decode_bytes(bytes),
            context,
            arrival,
        )
    }

    /// Reads and scans an image file.
    pub fn scan_file(
        &self,
        path: &Path,
        context: &ScanContext,
        arrival: &Arrival,
    ) -> Result<FilterOutcome> {
        let bytes = self.scanner.read_file(path)?;
        self.scan_bytes(&bytes, context, arrival)
    }

    /// Scans a raw pixel buffer. The SHA-256 is of the packed pixels (rows without padding,
    /// prefixed by the geometry and format); the original is kept as a PNG.
    pub fn scan_pixels(
        &self,
        buffer: &PixelBuffer<'_>,
        context: &ScanContext,
        arrival: &Arrival,
    ) -> Result<FilterOutcome> {
        buffer.validate()?;
        let (packed, color) = pack_rgba_or_rgb(buffer);
        let mut h = Sha256::new();
        h.update(b"veil-pixels-v1");
        h.update(buffer.width.to_be_bytes());
        h.update(buffer.height.to_be_bytes());
        h.update([color_tag(color)]);
        h.update(&packed);
        let sha256: [u8; 32] = h.finalize().into();
        let png = LazyPng {
            packed,
            width: buffer.width,
            height: buffer.height,
            color,
        };
        let original = Original {
            sha256,
            bytes: std::borrow::Cow::Owned(Vec::new()),
            media_type: "image/png",
        };
        self.run_with(
            original,
            Some(&png),
            || self.scanner.decode_pixels(buffer),
            context,
            arrival,
        )
    }

    fn run(
        &self,
        original: Original<'_>,
        decode: impl FnOnce() -> Result<DecodedImage>,
        context: &ScanContext,
        arrival: &Arrival,
    ) -> Result<FilterOutcome> {
        self.run_with(original, None, decode, context, arrival)
    }

    fn run_with(
        &self,
        mut original: Original<'_>,
        png: Option<&LazyPng>,
        decode: impl FnOnce() -> Result<DecodedImage>,
        context: &ScanContext,
        arrival: &Arrival,
    ) -> Result<FilterOutcome> {
        let decoded = decode()?;
        let first = decoded
            .frames
            .first()
            .ok_or_else(|| Error::Empty("the image has no frames".into()))?;
        // The perceptual hash only serves the vault's lookup and record; skip it without one.
        let pdq_hash = self.vault.as_ref().and_then(|_| pdq::hash_rgb(first));
        let sender = context.sender.as_ref().map(|s| s.id.as_str());
        let lookup = match &self.vault {
            Some(vault) => vault.lookup(
                &original.sha256,
                pdq_hash.as_ref(),
                self.match_distance,
                sender,
            )?,
            None => Default::default(),
        };
        let known = lookup.same_image.first().cloned();
        let (verdict, worst, model_ran, model) = match (&known, &self.vault) {
            (Some((id, distance)), Some(vault)) => {
                let (score, labels, name, version) = vault.earlier_scores(id)?;
                let how = if *distance == 0 {
                    "is identical to".to_string()
                } else {
                    format!("is a near-duplicate (PDQ distance {distance}) of")
                };
                let verdict = Verdict {
                    explicit_score: score,
                    labels,
                    action: Action::Blur,
                    threshold: self.scanner.policy().sensitivity.threshold(),
                    reason: format!(
                        "this image {how} the image of earlier incident {id}, already flagged; blurred without running the model"
                    ),
                };
                (verdict, 0, false, (name, version))
            }
            _ => {
                let (scores, worst) = self.scanner.frame_scores(&decoded)?;
                let verdict = self.scanner.policy().decide(&scores[worst], context);
                let m = self.scanner.classifier().manifest();
                (verdict, worst, true, (m.name.clone(), m.version.clone()))
            }
        };
        log::debug!("filter: {} (model ran: {model_ran})", verdict.action.name());
        let frames_scanned = if model_ran {
            decoded.frames.len() as u32
        } else {
            0
        };
        let scan = self
            .scanner
            .finish(&decoded, verdict, worst, frames_scanned)?;
        let mut incident_id = None;
        if let (Some(vault), Action::Blur) = (&self.vault, scan.verdict.action) {
            if let Some(png) = png {
                original.bytes = std::borrow::Cow::Owned(png.encode()?);
            }
            let preview_png = scan.preview.as_ref().map(|p| p.to_png()).transpose()?;
            let incident = NewIncident {
                arrival: arrival.clone(),
                channel: context.channel.name(),
                sender: context.sender.as_ref().map(|s| s.id.clone()),
                sender_known_contact: context.sender.as_ref().is_some_and(|s| s.known_contact),
                model_name: model.0,
                model_version: model.1,
                scores: scan.verdict.labels.clone(),
                explicit_score: scan.verdict.explicit_score,
                threshold: scan.verdict.threshold,
                action: scan.verdict.action.name().to_string(),
                reason: scan.verdict.reason.clone(),
                image_sha256: original.sha256,
                pdq: pdq_hash,
                preview_png,
                original: original.bytes.into_owned(),
                original_media_type: original.media_type.to_string(),
            };
            incident_id = Some(vault.record(&incident)?);
        }
        Ok(FilterOutcome {
            scan,
            incident_id,
            matched_incident: if model_ran { None } else { known.map(|k| k.0) },
            model_ran,
            earlier_same_image: lookup.same_image.len() as u32,
            earlier_same_sender: lookup.same_sender,
        })
    }
}

/// Packed pixels of a platform buffer, encoded to PNG only when the image is recorded.
struct LazyPng {
    packed: Vec<u8>,
    width: u32,
    height: u32,
    color: image::ExtendedColorType,
}

impl LazyPng {
    fn encode(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        image::codecs::png::PngEncoder::new(&mut out)
            .write_image(&self.packed, self.width, self.height, self.color)
            .map_err(|e| Error::Encode(e.to_string()))?;
        Ok(out)
    }
}

fn color_tag(color: image::ExtendedColorType) -> u8 {
    match color {
        image::ExtendedColorType::Rgb8 => 3,
        _ => 4,
    }
}

/// Rows without padding, BGRA turned into RGBA.
fn pack_rgba_or_rgb(buffer: &PixelBuffer<'_>) -> (Vec<u8>, image::ExtendedColorType) {
    let bpp = buffer.format.bytes_per_pixel();
    let row = buffer.width as usize * bpp;
    let mut packed = Vec::with_capacity(row * buffer.height as usize);
    for y in 0..buffer.height as usize {
        let start = y * buffer.row_stride;
        if let Some(src) = buffer.data.get(start..start + row) {
            packed.extend_from_slice(src);
        }
    }
    let color = match buffer.format {
        PixelFormat::Rgb8 => image::ExtendedColorType::Rgb8,
        PixelFormat::Rgba8 => image::ExtendedColorType::Rgba8,
        PixelFormat::Bgra8 => {
            for px in packed.chunks_exact_mut(4) {
                px.swap(0, 2);
            }
            image::ExtendedColorType::Rgba8
        }
    };
    (packed, color)
}

/// The media type by magic number (`application/octet-stream` when unknown).
fn sniff_media_type(bytes: &[u8]) -> &'static str {
    match bytes {
        [0xFF, 0xD8, ..] => "image/jpeg",
        [0x89, b'P', b'N', b'G', ..] => "image/png",
        [b'G', b'I', b'F', ..] => "image/gif",
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => "image/webp",
        [b'B', b'M', ..] => "image/bmp",
        [b'I', b'I', 42, 0, ..] | [b'M', b'M', 0, 42, ..] => "image/tiff",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_is_send_sync() {
        fn check<T: Send + Sync>() {}
        check::<Filter>();
        check::<EvidenceVault>();
    }

    #[test]
    fn sniffs() {
        assert_eq!(sniff_media_type(&[0xFF, 0xD8, 0xFF]), "image/jpeg");
        assert_eq!(sniff_media_type(b"nope"), "application/octet-stream");
        let _ = crate::evidence::PdqHash::default();
    }
}
