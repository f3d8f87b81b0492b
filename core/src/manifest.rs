//! Model manifests: everything the core needs to know to feed a model and read its answer.
//!
//! A second model is a new manifest file, not new code: the decoder, preprocessing and policy
//! read their parameters from here.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The manifest of the default model, compiled in so that only the weights need fetching.
pub const DEFAULT_MANIFEST_JSON: &str = include_str!("../../models/open_nsfw.json");

/// Describes one model: its file, its pinned digest, and how to prepare its input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelManifest {
    /// Short name, used by `--model NAME`.
    pub name: String,
    /// Version string recorded with every verdict and incident.
    pub version: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// File name of the ONNX weights, relative to the manifest.
    pub file: String,
    /// Lowercase hex SHA-256 of the weights.
    pub sha256: String,
    /// Licence of the weights.
    #[serde(default)]
    pub license: String,
    /// Input tensor geometry.
    pub input: InputSpec,
    /// How decoded pixels become the input tensor.
    pub preprocessing: Preprocessing,
    /// How to read the output tensor.
    pub output: OutputSpec,
}

/// Memory layout of the input tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Layout {
    /// Batch, height, width, channels.
    NHWC,
    /// Batch, channels, height, width.
    NCHW,
}

/// Input tensor geometry (batch size is always 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputSpec {
    /// Memory layout.
    pub layout: Layout,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// A width and a height.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Size {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// Order of colour channels in the tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChannelOrder {
    /// Red, green, blue.
    RGB,
    /// Blue, green, red (Caffe models).
    BGR,
}

/// Preprocessing steps, applied in this order: resize (bilinear, ignoring aspect), centre crop,
/// optional JPEG round trip, channel order, `(value - mean) * scale`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preprocessing {
    /// Size to resize to.
    pub resize: Size,
    /// Centre crop taken after resizing; must equal the input size.
    pub center_crop: Size,
    /// When set, the crop is JPEG-encoded at this quality and decoded again, as the reference
    /// pipeline of open_nsfw does; skipping it moves scores.
    #[serde(default)]
    pub jpeg_roundtrip_quality: Option<u8>,
    /// Channel order of the tensor.
    pub channel_order: ChannelOrder,
    /// Per-channel mean subtracted, in tensor channel order.
    pub mean: [f32; 3],
    /// Multiplier applied after subtracting the mean.
    pub scale: f32,
}

/// What the output activation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// The model already outputs probabilities.
    None,
    /// Apply softmax to the model's logits.
    Softmax,
}

/// How to read the output tensor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputSpec {
    /// One label per output value, in order.
    pub labels: Vec<String>,
    /// Labels whose probabilities add up to the explicit score.
    pub explicit_labels: Vec<String>,
    /// Activation to apply to the raw outputs.
    pub activation: Activation,
}

impl ModelManifest {
    /// The manifest of the default model (open_nsfw).
    pub fn default_model() -> ModelManifest {
        // The embedded manifest is validated by a unit test, so this cannot fail at run time.
        Self::from_json(DEFAULT_MANIFEST_JSON).unwrap_or_else(|e| panic!("embedded manifest: {e}"))
    }

    /// Parses and validates a manifest.
    pub fn from_json(text: &str) -> Result<ModelManifest> {
        let manifest: ModelManifest =
            serde_json::from_str(text).map_err(|e| Error::Manifest(e.to_string()))?;
        manifest.validate()?;
        Ok(manifest)
    }

    /// Reads and validates a manifest file.
    pub fn from_file(path: &Path) -> Result<ModelManifest> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_json(&text).map_err(|e| Error::Manifest(format!("{}: {e}", path.display())))
    }

    /// Indices of the explicit labels in the output.
    pub fn explicit_indices(&self) -> Vec<usize> {
        self.output
            .labels
            .iter()
            .enumerate()
            .filter(|(_, l)| self.output.explicit_labels.contains(l))
            .map(|(i, _)| i)
            .collect()
    }

    /// Where the weights are expected, given the folder the manifest lives in.
    pub fn weights_path(&self, models_dir: &Path) -> PathBuf {
        models_dir.join(&self.file)
    }

    fn validate(&self) -> Result<()> {
        let bad = |msg: String| Err(Error::Manifest(msg));
        if self.output.labels.is_empty() {
            return bad("output.labels is empty".into());
        }
        if let Some(label) = self
            .output
            .explicit_labels
            .iter()
            .find(|l| !self.output.labels.contains(l))
        {
            return bad(format!(
                "explicit label {label:?} is not among output.labels"
            ));
        }
        if self.output.explicit_labels.is_empty() {
            return bad("output.explicit_labels is empty".into());
        }
        let p = &self.preprocessing;
        if p.center_crop.width != self.input.width || p.center_crop.height != self.input.height {
            return bad("preprocessing.center_crop must equal the input size".into());
        }
        if p.center_crop.width > p.resize.width || p.center_crop.height > p.resize.height {
            return bad("preprocessing.center_crop is larger than preprocessing.resize".into());
        }
        if self.input.width == 0 || self.input.height == 0 || self.input.width > 4096 {
            return bad("input size must be between 1 and 4096".into());
        }
        if p.jpeg_roundtrip_quality
            .is_some_and(|q| !(1..=100).contains(&q))
        {
            return bad("preprocessing.jpeg_roundtrip_quality must be 1..=100".into());
        }
        if self.sha256.len() != 64 || !self.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return bad("sha256 must be 64 hex digits".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_manifest_is_valid() {
        let m = ModelManifest::from_json(DEFAULT_MANIFEST_JSON).expect("valid");
        assert_eq!(m.name, "open_nsfw");
        assert_eq!(m.explicit_indices(), vec![1]);
    }

    #[test]
    fn inconsistent_manifest_is_rejected() {
        let text = DEFAULT_MANIFEST_JSON.replace(
            "\"explicit_labels\": [\"nsfw\"]",
            "\"explicit_labels\": [\"porn\"]",
        );
        let err = ModelManifest::from_json(&text).expect_err("must fail");
        assert_eq!(err.kind(), "manifest");
        assert!(err.to_string().contains("porn"));
    }
}
