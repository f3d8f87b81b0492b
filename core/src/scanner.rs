//! One image through the whole path: decode, classify every scan frame, judge the worst,
//! blur when the verdict says so.

use std::path::Path;
use std::sync::Arc;

use crate::blur::BlurredPreview;
use crate::classifier::{Classifier, Scores};
use crate::context::ScanContext;
use crate::decode::{self, DecodeOptions, DecodedImage, PixelBuffer, SourceFormat};
use crate::error::{Error, Result};
use crate::policy::{Action, Policy, Verdict};

/// Facts about the scanned image (never its content).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    /// Width of the original, upright.
    pub width: u32,
    /// Height of the original, upright.
    pub height: u32,
    /// Format it arrived in.
    pub format: SourceFormat,
    /// Frames decoded (animations).
    pub frames_decoded: u32,
    /// Frames run through the model.
    pub frames_scanned: u32,
}

/// The result of scanning one image.
#[derive(Debug, Clone)]
pub struct ScanOutcome {
    /// The decision.
    pub verdict: Verdict,
    /// The blurred preview, present when the verdict is [`Action::Blur`] (or when asked for).
    pub preview: Option<BlurredPreview>,
    /// Facts about the image.
    pub image: ImageInfo,
}

/// Scanner settings.
#[derive(Debug, Clone)]
pub struct ScannerOptions {
    /// Decoding limits and sizes.
    pub decode: DecodeOptions,
    /// Long side of blurred previews, in pixels.
    pub preview_max_side: u32,
    /// Make a preview even when the verdict is allow.
    pub always_preview: bool,
}

impl Default for ScannerOptions {
    fn default() -> Self {
        ScannerOptions {
            decode: DecodeOptions::default(),
            preview_max_side: 512,
            always_preview: false,
        }
    }
}

/// Scans images with one classifier and one policy. `Send + Sync`: share it across threads.
#[derive(Debug, Clone)]
pub struct Scanner {
    classifier: Arc<Classifier>,
    policy: Policy,
    options: ScannerOptions,
}

impl Scanner {
    /// A scanner with default options.
    pub fn new(classifier: Arc<Classifier>, policy: Policy) -> Result<Scanner> {
        Self::with_options(classifier, policy, ScannerOptions::default())
    }

    /// A scanner with the given options.
    pub fn with_options(
        classifier: Arc<Classifier>,
        policy: Policy,
        options: ScannerOptions,
    ) -> Result<Scanner> {
        policy.validate()?;
        // The classifier's own resize needs at least its resize size on the short side.
        let pre = &classifier.manifest().preprocessing;
        let mut options = options;
        options.decode.min_short_side = options
            .decode
            .min_short_side
            .max(pre.resize.width.min(pre.resize.height));
        Ok(Scanner {
            classifier,
            policy,
            options,
        })
    }

    /// The classifier in use.
    pub fn classifier(&self) -> &Arc<Classifier> {
        &self.classifier
    }

    /// The policy in use.
    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// Scans encoded image bytes.
    pub fn scan_bytes(&self, bytes: &[u8], context: &ScanContext) -> Result<ScanOutcome> {
        self.judge(self.decode_bytes(bytes)?, context)
    }

    /// Reads and scans an image file.
    pub fn scan_file(&self, path: &Path, context: &ScanContext) -> Result<ScanOutcome> {
        self.scan_bytes(&self.read_file(path)?, context)
    }

    /// Scans a raw pixel buffer from the platform.
    pub fn scan_pixels(
        &self,
        buffer: &PixelBuffer<'_>,
        context: &ScanContext,
    ) -> Result<ScanOutcome> {
        self.judge(self.decode_pixels(buffer)?, context)
    }

    /// Scores of every scan frame of an already decoded image, and the index of the worst.
    pub fn frame_scores(&self, decoded: &DecodedImage) -> Result<(Vec<Scores>, usize)> {
        let scores = decoded
            .frames
            .iter()
            .map(|f| self.classifier.classify(f))
            .collect::<Result<Vec<_>>>()?;
        let worst = scores
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.explicit.total_cmp(&b.1.explicit))
            .map(|(i, _)| i)
            .ok_or_else(|| Error::Empty("the image has no frames".into()))?;
        Ok((scores, worst))
    }

    /// Decodes encoded bytes with this scanner's limits and sizes.
    pub fn decode_bytes(&self, bytes: &[u8]) -> Result<DecodedImage> {
        decode::decode_bytes(bytes, &self.options.decode)
    }

    /// Converts a pixel buffer with this scanner's limits and sizes.
    pub fn decode_pixels(&self, buffer: &PixelBuffer<'_>) -> Result<DecodedImage> {
        decode::decode_pixels(buffer, &self.options.decode)
    }

    /// Reads a file within this scanner's input-size limit.
    pub fn read_file(&self, path: &Path) -> Result<Vec<u8>> {
        read_bounded(path, self.options.decode.limits.max_input_bytes)
    }

    /// Assembles the outcome of a decided image: the blurred preview (of frame `worst`) when the
    /// verdict blurs or previews are always wanted, and the image facts.
    pub fn finish(
        &self,
        decoded: &DecodedImage,
        verdict: Verdict,
        worst: usize,
        frames_scanned: u32,
    ) -> Result<ScanOutcome> {
        let preview = if verdict.action == Action::Blur || self.options.always_preview {
            let frame = decoded
                .frames
                .get(worst)
                .or(decoded.frames.first())
                .ok_or_else(|| Error::Empty("the image has no frames".into()))?;
            Some(BlurredPreview::from_frame(
                frame,
                decoded.width,
                decoded.height,
                self.options.preview_max_side,
            )?)
        } else {
            None
        };
        Ok(ScanOutcome {
            verdict,
            preview,
            image: ImageInfo {
                width: decoded.width,
                height: decoded.height,
                format: decoded.format,
                frames_decoded: decoded.frames_decoded,
                frames_scanned,
            },
        })
    }

    fn judge(&self, decoded: DecodedImage, context: &ScanContext) -> Result<ScanOutcome> {
        let (scores, worst) = self.frame_scores(&decoded)?;
        let verdict = self.policy.decide(&scores[worst], context);
        log::debug!(
            "verdict {} at {:.3}",
            verdict.action.name(),
            verdict.explicit_score
        );
        self.finish(&decoded, verdict, worst, decoded.frames.len() as u32)
    }
}

/// Reads a file, refusing ones larger than `limit` before reading them.
pub fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        return Err(Error::InvalidArgument(format!(
            "{} is a folder, not an image",
            path.display()
        )));
    }
    if meta.len() > limit {
        return Err(Error::TooLarge(format!(
            "{} is {} bytes, over the limit of {limit}",
            path.display(),
            meta.len()
        )));
    }
    std::fs::read(path).map_err(|e| Error::io(path, e))
}
