//! The model: loaded once with tract, optimised for a fixed batch-1 input, shared across threads.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use image::RgbImage;
use once_cell::sync::OnceCell;
use sha2::{Digest, Sha256};
use tract_onnx::prelude::*;

use crate::error::{Error, Result};
use crate::manifest::{Activation, Layout, ModelManifest};
use crate::preprocess::frame_to_tensor;

/// The model's answer for one frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    /// Probability of each output label, in manifest order.
    pub labels: Vec<(String, f32)>,
    /// Sum of the explicit labels' probabilities.
    pub explicit: f32,
}

/// A loaded, optimised model and the manifest that describes it. Cheap to share: wrap it in an
/// [`Arc`]; [`Classifier::classify`] takes `&self` and may run on many threads at once.
pub struct Classifier {
    manifest: ModelManifest,
    plan: Arc<TypedRunnableModel>,
    explicit: Vec<usize>,
}

impl std::fmt::Debug for Classifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Classifier")
            .field("model", &self.manifest.name)
            .finish_non_exhaustive()
    }
}

/// How to load a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadOptions {
    /// Threads one inference may use (1 = the calling thread only). More threads shorten one
    /// scan; when scanning many images at once, one thread each uses the cores better.
    pub threads: usize,
    /// Compute convolutions with Veil's matrix-product and Winograd kernels where they pay (the
    /// default; open_nsfw inference about 1.2x faster than with tract's own); `false` leaves
    /// every convolution to tract. Has no effect on CPUs other than x86_64 and aarch64.
    pub gemm_conv: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            threads: 1,
            gemm_conv: true,
        }
    }
}

/// File name of the default model's weights.
pub const DEFAULT_MODEL_FILE: &str = "open-nsfw.onnx";

static DEFAULT: OnceCell<Arc<Classifier>> = OnceCell::new();

impl Classifier {
    /// Loads ONNX weights from a file, checking them against the manifest's SHA-256.
    pub fn from_path(path: &Path, manifest: ModelManifest) -> Result<Classifier> {
        let bytes = std::fs::read(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::ModelNotFound(format!(
                "{} does not exist; run `make setup` to fetch the default model",
                path.display()
            )),
            _ => Error::io(path, e),
        })?;
        Self::load(
            &bytes,
            manifest,
            Some(path.to_path_buf()),
            LoadOptions::default(),
        )
    }

    /// Loads ONNX weights from memory (for apps that ship the model as an asset), checking them
    /// against the manifest's SHA-256.
    pub fn from_bytes(bytes: &[u8], manifest: ModelManifest) -> Result<Classifier> {
        Self::load(bytes, manifest, None, LoadOptions::default())
    }

    /// Like [`Classifier::from_bytes`], with load options (such as intra-op threads).
    pub fn from_bytes_with_options(
        bytes: &[u8],
        manifest: ModelManifest,
        options: LoadOptions,
    ) -> Result<Classifier> {
        Self::load(bytes, manifest, None, options)
    }

    /// Loads the model a manifest file describes; its weights sit beside it.
    pub fn from_manifest_file(manifest_path: &Path) -> Result<Classifier> {
        let manifest = ModelManifest::from_file(manifest_path)?;
        let dir = manifest_path.parent().unwrap_or(Path::new("."));
        Self::from_path(&manifest.weights_path(dir), manifest)
    }

    /// The default model (open_nsfw), loaded on first use and shared by every caller.
    /// See [`default_model_path`] for where it is looked for.
    pub fn shared_default() -> Result<Arc<Classifier>> {
        DEFAULT
            .get_or_try_init(|| {
                let path = default_model_path()?;
                Classifier::from_path(&path, ModelManifest::default_model()).map(Arc::new)
            })
            .cloned()
    }

    fn load(
        bytes: &[u8],
        manifest: ModelManifest,
        path: Option<PathBuf>,
        options: LoadOptions,
    ) -> Result<Classifier> {
        let actual = hex(&Sha256::digest(bytes));
        if !actual.eq_ignore_ascii_case(&manifest.sha256) {
            return Err(Error::ModelChecksum {
                path: path.unwrap_or_else(|| PathBuf::from("<bytes>")),
                expected: manifest.sha256.clone(),
                actual,
            });
        }
        let started = std::time::Instant::now();
        let run_options = run_options(options)?;
        let plan = optimized_model(bytes, &manifest, options).and_then(|m| {
            m.into_runnable_with_options(&run_options)
                .map_err(|e| Error::Model(format!("cannot load {}: {e:#}", manifest.name)))
        })?;
        log::info!(
            "loaded model {} {} in {:?}",
            manifest.name,
            manifest.version,
            started.elapsed()
        );
        let explicit = manifest.explicit_indices();
        Ok(Classifier {
            manifest,
            plan,
            explicit,
        })
    }

    /// The manifest this model was loaded with.
    pub fn manifest(&self) -> &ModelManifest {
        &self.manifest
    }

    /// Preprocesses one decoded frame and runs the model on it.
    pub fn classify(&self, frame: &RgbImage) -> Result<Scores> {
        let tensor = frame_to_tensor(frame, &self.manifest)?;
        self.classify_tensor(tensor)
    }

    /// Runs the model on an already prepared input tensor.
    pub fn classify_tensor(&self, input: Tensor) -> Result<Scores> {
        let outputs = self
            .plan
            .run(tvec!(input.into()))
            .map_err(|e| Error::Model(format!("{e:#}")))?;
        let raw = outputs
            .first()
            .ok_or_else(|| Error::Model("the model produced no output".into()))?
            .try_as_plain_ram()
            .and_then(|view| view.as_slice::<f32>().map(|s| s.to_vec()))
            .map_err(|e| Error::Model(format!("{e:#}")))?;
        let labels = &self.manifest.output.labels;
        if raw.len() != labels.len() {
            return Err(Error::Model(format!(
                "the model produced {} values but the manifest names {} labels",
                raw.len(),
                labels.len()
            )));
        }
        let probs = match self.manifest.output.activation {
            Activation::None => raw,
            Activation::Softmax => softmax(&raw),
        };
        let explicit = self
            .explicit
            .iter()
            .map(|&i| probs[i])
            .sum::<f32>()
            .clamp(0.0, 1.0);
        Ok(Scores {
            labels: labels.iter().cloned().zip(probs).collect(),
            explicit,
        })
    }
}

/// Where the default model's weights are looked for, in order: the file named by `VEIL_MODEL`;
/// `open-nsfw.onnx` in the folder named by `VEIL_MODELS_DIR`; `models/open-nsfw.onnx` below the
/// working directory; the source tree's `models/` folder (for development builds).
pub fn default_model_path() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("VEIL_MODEL") {
        return Ok(PathBuf::from(path));
    }
    let mut candidates = Vec::new();
    if let Some(dir) = std::env::var_os("VEIL_MODELS_DIR") {
        candidates.push(PathBuf::from(dir).join(DEFAULT_MODEL_FILE));
    }
    candidates.push(PathBuf::from("models").join(DEFAULT_MODEL_FILE));
    candidates.push(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../models")
            .join(DEFAULT_MODEL_FILE),
    );
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| {
            Error::ModelNotFound(format!(
                "{DEFAULT_MODEL_FILE} is not in any of {}; run `make setup`, or set VEIL_MODEL",
                candidates
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
}

/// The model in `bytes` as tract will run it: input shape fixed from the manifest, convolutions
/// handed to Veil's kernels when `options` say so, optimised. For tools that inspect or profile
/// the graph; [`Classifier`] is the way to run it. The checksum is not checked here.
pub fn optimized_model(
    bytes: &[u8],
    manifest: &ModelManifest,
    options: LoadOptions,
) -> Result<tract_onnx::prelude::TypedModel> {
    crate::cpu_kernels::tune_once();
    let (w, h) = (
        manifest.input.width as usize,
        manifest.input.height as usize,
    );
    let shape: [usize; 4] = match manifest.input.layout {
        Layout::NHWC => [1, h, w, 3],
        Layout::NCHW => [1, 3, h, w],
    };
    tract_onnx::onnx()
        .model_for_read(&mut std::io::Cursor::new(bytes))
        .and_then(|m| m.with_input_fact(0, f32::fact(shape).into()))
        .and_then(|m| m.into_typed())
        .and_then(|mut m| {
            if options.gemm_conv && crate::conv_gemm::AVAILABLE {
                let replaced = crate::conv_gemm::rewrite(&mut m, options.threads)?;
                log::debug!("{replaced} convolutions rewritten for Veil's kernels");
            }
            m.into_optimized()
        })
        .map_err(|e| Error::Model(format!("cannot load {}: {e:#}", manifest.name)))
}

/// Single-threaded by default; a private thread pool when more threads are asked for.
fn run_options(options: LoadOptions) -> Result<RunOptions> {
    let executor = match options.threads {
        0 => return Err(Error::InvalidArgument("threads must be at least 1".into())),
        1 => None,
        n => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .thread_name(|i| format!("veil-infer-{i}"))
                .build()
                .map_err(|e| Error::Model(format!("cannot start {n} inference threads: {e}")))?;
            Some(tract_linalg::multithread::Executor::MultiThread(Arc::new(
                pool,
            )))
        }
    };
    Ok(RunOptions {
        executor,
        ..RunOptions::default()
    })
}

fn softmax(raw: &[f32]) -> Vec<f32> {
    let max = raw.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f32> = raw.iter().map(|v| (v - max).exp()).collect();
    let sum: f32 = exp.iter().sum();
    exp.iter().map(|v| v / sum).collect()
}

/// Lowercase hex of a digest.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_sums_to_one() {
        let p = softmax(&[1.0, 2.0, 3.0]);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(p[2] > p[1] && p[1] > p[0]);
    }

    #[test]
    fn wrong_bytes_fail_the_checksum() {
        let err = Classifier::from_bytes(b"not a model", ModelManifest::default_model())
            .expect_err("must fail");
        assert_eq!(err.kind(), "model_checksum");
    }
}
