//! Shared by the integration tests: fixture paths and the real default model.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use veil_core::{Classifier, Policy, Scanner};

/// The `tests/fixtures` folder at the top of the workspace.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

/// A fixture by its path below `tests/fixtures`.
pub fn fixture(rel: &str) -> PathBuf {
    fixtures().join(rel)
}

/// The real default model (fetched by `make setup`).
pub fn classifier() -> Arc<Classifier> {
    Classifier::shared_default().expect("the default model is missing: run `make setup`")
}

/// A scanner with the default (balanced) policy.
pub fn scanner() -> Scanner {
    Scanner::new(classifier(), Policy::default()).expect("scanner")
}

/// Every file in a fixture folder, sorted.
pub fn files_in(folder: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures().join(folder))
        .expect("fixture folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}
