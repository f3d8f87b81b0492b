//! `--model NAME|PATH`: a manifest name under a models folder, a manifest file, or weights.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use veil_core::{Classifier, ModelManifest};

/// Loads the model named on the command line, or the shared default.
pub fn load(model: Option<&str>) -> veil_core::Result<Arc<Classifier>> {
    let Some(spec) = model else {
        return Classifier::shared_default();
    };
    let path = Path::new(spec);
    if path.extension().is_some_and(|e| e == "json") {
        return Classifier::from_manifest_file(path).map(Arc::new);
    }
    if path.extension().is_some_and(|e| e == "onnx") {
        // Weights alone: they must be the default model's, whose manifest pins them.
        return Classifier::from_path(path, ModelManifest::default_model()).map(Arc::new);
    }
    let manifest = models_dirs()
        .into_iter()
        .map(|dir| dir.join(format!("{spec}.json")))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            veil_core::Error::ModelNotFound(format!(
                "no manifest {spec}.json in VEIL_MODELS_DIR, ./models or the source tree's models/"
            ))
        })?;
    Classifier::from_manifest_file(&manifest).map(Arc::new)
}

fn models_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(dir) = std::env::var_os("VEIL_MODELS_DIR") {
        dirs.push(PathBuf::from(dir));
    }
    dirs.push(PathBuf::from("models"));
    dirs.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../models"));
    dirs
}
