//! Criterion benchmarks of the scanning path: model load, inference at batch 1, the scaled
//! JPEG decode, and a 12-megapixel camera JPEG from bytes to verdict.
//!
//! `cargo bench -p veil-core` (needs the model: `make setup`). The 12 MP photo is generated in
//! memory: a fixture photo upscaled to 4032x3024 with seeded sensor noise, JPEG quality 90.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use image::{imageops, imageops::FilterType, RgbImage};
use veil_core::{
    decode, preprocess, BlurredPreview, Classifier, DecodeOptions, ModelManifest, Policy,
    ScanContext, Scanner,
};

fn fixture(rel: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(rel)
}

/// A 12 MP camera-like JPEG: upscaled photo plus deterministic noise, quality 90.
fn camera_jpeg() -> Vec<u8> {
    let photo = image::open(fixture("benign/chelsea.png"))
        .expect("fixture")
        .to_rgb8();
    let mut big: RgbImage = imageops::resize(&photo, 4032, 3024, FilterType::Triangle);
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    for v in big.iter_mut() {
        // xorshift noise in -8..=8
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let noise = (state % 17) as i16 - 8;
        *v = (i16::from(*v) + noise).clamp(0, 255) as u8;
    }
    let image = turbojpeg::Image {
        pixels: big.as_raw().as_slice(),
        width: 4032,
        pitch: 4032 * 3,
        height: 3024,
        format: turbojpeg::PixelFormat::RGB,
    };
    turbojpeg::compress(image, 90, turbojpeg::Subsamp::Sub2x2)
        .expect("encode")
        .to_vec()
}

fn benches(c: &mut Criterion) {
    let model_path = veil_core::default_model_path().expect("model: run `make setup`");
    let model_bytes = std::fs::read(&model_path).expect("model");

    let mut group = c.benchmark_group("model");
    group.sample_size(10);
    group.bench_function("load_optimise", |b| {
        b.iter(|| {
            Classifier::from_bytes(black_box(&model_bytes), ModelManifest::default_model())
                .expect("load")
        })
    });
    group.finish();

    let classifier = Arc::new(
        Classifier::from_bytes(&model_bytes, ModelManifest::default_model()).expect("load"),
    );
    let photo = camera_jpeg();
    let options = DecodeOptions::default();
    let decoded = decode::decode_bytes(&photo, &options).expect("decode");
    let tensor =
        preprocess::frame_to_tensor(&decoded.frames[0], classifier.manifest()).expect("tensor");

    let mut group = c.benchmark_group("pipeline");
    group.sample_size(30);
    group.bench_function("inference_batch1", |b| {
        b.iter(|| {
            classifier
                .classify_tensor(black_box(tensor.clone()))
                .expect("run")
        })
    });
    group.bench_function("decode_12mp_jpeg_scaled", |b| {
        b.iter(|| decode::decode_bytes(black_box(&photo), &options).expect("decode"))
    });
    group.bench_function("preprocess_frame", |b| {
        b.iter(|| {
            preprocess::frame_to_tensor(black_box(&decoded.frames[0]), classifier.manifest())
                .expect("tensor")
        })
    });
    group.bench_function("blur_preview", |b| {
        b.iter(|| {
            BlurredPreview::from_frame(black_box(&decoded.frames[0]), 4032, 3024, 512)
                .expect("blur")
        })
    });
    let scanner = Scanner::new(classifier.clone(), Policy::default()).expect("scanner");
    group.bench_function("scan_12mp_jpeg_end_to_end", |b| {
        b.iter(|| {
            scanner
                .scan_bytes(black_box(&photo), &ScanContext::default())
                .expect("scan")
        })
    });
    group.finish();
}

criterion_group!(pipeline, benches);
criterion_main!(pipeline);
