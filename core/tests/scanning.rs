//! The whole path on real files with the real model: benign photos pass, synthetic positives
//! are blurred, hostile input gets typed errors.

mod common;

use veil_core::{
    decode, Action, Channel, DecodeOptions, Limits, PixelBuffer, PixelFormat, Policy, ScanContext,
    Scanner, Sender, Sensitivity, SourceFormat,
};

#[test]
fn benign_photos_are_allowed() {
    let scanner = common::scanner();
    let files = common::files_in("benign");
    assert!(files.len() >= 10);
    for path in files {
        let outcome = scanner
            .scan_file(&path, &ScanContext::default())
            .expect("scan");
        assert_eq!(
            outcome.verdict.action,
            Action::Allow,
            "{}: {}",
            path.display(),
            outcome.verdict.reason
        );
        assert!(outcome.preview.is_none());
    }
}

#[test]
fn synthetic_positives_are_blurred_with_a_preview() {
    let scanner = common::scanner();
    for path in common::files_in("positive") {
        let outcome = scanner
            .scan_file(&path, &ScanContext::default())
            .expect("scan");
        assert_eq!(outcome.verdict.action, Action::Blur, "{}", path.display());
        assert!(outcome.verdict.explicit_score >= 0.95);
        let preview = outcome.preview.expect("preview");
        // Aspect ratio of the original is kept.
        let (w, h) = (outcome.image.width as f64, outcome.image.height as f64);
        let ratio = f64::from(preview.width) / f64::from(preview.height);
        assert!((ratio - w / h).abs() < 0.02, "{ratio} vs {}", w / h);
        let png = preview.to_png().expect("png");
        let decoded = image::load_from_memory(&png).expect("decode preview");
        assert_eq!(
            (decoded.width(), decoded.height()),
            (preview.width, preview.height)
        );
    }
}

#[test]
fn blurred_preview_is_not_recognisable_as_the_original() {
    // The preview, scanned again, must not look like the explicit original to the model.
    let scanner = common::scanner();
    let outcome = scanner
        .scan_file(
            &common::fixture("positive/abstract-field-a.png"),
            &ScanContext::default(),
        )
        .expect("scan");
    let preview = outcome.preview.expect("preview");
    let jpeg = preview.to_jpeg(90).expect("jpeg");
    let rescanned = scanner
        .scan_bytes(&jpeg, &ScanContext::default())
        .expect("rescan");
    assert!(
        rescanned.verdict.explicit_score < outcome.verdict.explicit_score - 0.3,
        "preview still scores {}",
        rescanned.verdict.explicit_score
    );
}

#[test]
fn sensitivity_and_sender_change_the_verdict() {
    let classifier = common::classifier();
    let bytes = std::fs::read(common::fixture("benign/astronaut.jpg")).expect("fixture");
    let score = Scanner::new(classifier.clone(), Policy::default())
        .expect("scanner")
        .scan_bytes(&bytes, &ScanContext::default())
        .expect("scan")
        .verdict
        .explicit_score;
    // A custom threshold just below the score blurs; just above allows.
    let strict = Scanner::new(
        classifier.clone(),
        Policy::new(Sensitivity::Custom(score * 0.99)).expect("policy"),
    )
    .expect("scanner");
    let friend = ScanContext::new(
        Channel::Sms,
        Some(Sender {
            id: "Mum".into(),
            known_contact: true,
        }),
    );
    assert_eq!(
        strict
            .scan_bytes(&bytes, &friend)
            .expect("scan")
            .verdict
            .action,
        Action::Blur
    );
    let lenient = Scanner::new(
        classifier,
        Policy::new(Sensitivity::Custom((score * 1.1).min(1.0))).expect("policy"),
    )
    .expect("scanner");
    assert_eq!(
        lenient
            .scan_bytes(&bytes, &friend)
            .expect("scan")
            .verdict
            .action,
        Action::Allow
    );
}

#[test]
fn exif_orientation_is_applied() {
    let bytes = std::fs::read(common::fixture("benign/chelsea-exif6.jpg")).expect("fixture");
    let decoded = decode::decode_bytes(&bytes, &DecodeOptions::default()).expect("decode");
    // Stored 213x320, displayed 320x213.
    assert_eq!((decoded.width, decoded.height), (320, 213));
    assert!(decoded.frames[0].width() > decoded.frames[0].height());
}

#[test]
fn animated_gif_scans_several_frames() {
    let bytes = std::fs::read(common::fixture("benign/chelsea-animated.gif")).expect("fixture");
    let decoded = decode::decode_bytes(&bytes, &DecodeOptions::default()).expect("decode");
    assert_eq!(decoded.format, SourceFormat::Gif);
    assert_eq!(decoded.frames_decoded, 4);
    assert_eq!(decoded.frames.len(), 4);
    let outcome = common::scanner()
        .scan_bytes(&bytes, &ScanContext::default())
        .expect("scan");
    assert_eq!(outcome.image.frames_scanned, 4);
}

#[test]
fn animation_keeps_the_worst_frame() {
    // Three benign frames and one positive frame: the animation must be blurred.
    let benign = image::open(common::fixture("benign/chelsea.png"))
        .expect("benign")
        .to_rgba8();
    let positive = image::open(common::fixture("positive/abstract-field-a.png"))
        .expect("positive")
        .to_rgba8();
    let size = (320, 320);
    let resize = |img: &image::RgbaImage| {
        image::imageops::resize(img, size.0, size.1, image::imageops::FilterType::Triangle)
    };
    let mut gif = Vec::new();
    {
        let mut encoder = image::codecs::gif::GifEncoder::new_with_speed(&mut gif, 30);
        for frame in [
            resize(&benign),
            resize(&benign),
            resize(&positive),
            resize(&benign),
        ] {
            encoder
                .encode_frame(image::Frame::new(frame))
                .expect("frame");
        }
    }
    let outcome = common::scanner()
        .scan_bytes(&gif, &ScanContext::default())
        .expect("scan");
    assert_eq!(
        outcome.verdict.action,
        Action::Blur,
        "{}",
        outcome.verdict.reason
    );
}

#[test]
fn pixel_buffers_score_like_the_file() {
    let scanner = common::scanner();
    let path = common::fixture("positive/abstract-field-b.png");
    let rgba = image::open(&path).expect("open").to_rgba8();
    let (w, h) = rgba.dimensions();
    // BGRA with a padded stride, as iOS hands it over.
    let stride = w as usize * 4 + 64;
    let mut data = vec![0u8; stride * h as usize];
    for (y, row) in rgba.rows().enumerate() {
        for (x, px) in row.enumerate() {
            let at = y * stride + x * 4;
            data[at..at + 4].copy_from_slice(&[px[2], px[1], px[0], px[3]]);
        }
    }
    let buffer = PixelBuffer {
        data: &data,
        width: w,
        height: h,
        row_stride: stride,
        format: PixelFormat::Bgra8,
    };
    let from_pixels = scanner
        .scan_pixels(&buffer, &ScanContext::default())
        .expect("scan pixels");
    let from_file = scanner
        .scan_file(&path, &ScanContext::default())
        .expect("scan file");
    assert_eq!(from_pixels.verdict.action, Action::Blur);
    assert!((from_pixels.verdict.explicit_score - from_file.verdict.explicit_score).abs() < 0.01);
}

#[test]
fn hostile_and_broken_files_get_typed_errors() {
    let scanner = common::scanner();
    let cases = [
        ("bad/truncated.jpg", "truncated"),
        ("bad/random-bytes.jpg", "unsupported_format"),
        ("bad/empty.jpg", "empty"),
        ("bad/bomb-100000x100000.png", "too_large"),
        ("bad/text.png", "unsupported_format"),
    ];
    for (rel, kind) in cases {
        let err = scanner
            .scan_file(&common::fixture(rel), &ScanContext::default())
            .expect_err(rel);
        assert_eq!(err.kind(), kind, "{rel}: {err}");
        assert!(!err.to_string().is_empty());
    }
    let tiny = scanner
        .scan_file(&common::fixture("bad/1x1.png"), &ScanContext::default())
        .expect("1x1 scans");
    assert_eq!(tiny.image.width, 1);
}

#[test]
fn every_truncation_of_a_png_and_a_jpeg_is_an_error_not_a_panic() {
    let scanner = common::scanner();
    for rel in [
        "benign/chelsea.png",
        "benign/rocket.jpg",
        "benign/coffee.webp",
        "benign/chelsea-animated.gif",
    ] {
        let bytes = std::fs::read(common::fixture(rel)).expect("fixture");
        for cut in (0..bytes.len()).step_by(bytes.len() / 23 + 1) {
            assert!(
                scanner
                    .scan_bytes(&bytes[..cut], &ScanContext::default())
                    .is_err(),
                "{rel} cut at {cut}"
            );
        }
    }
}

#[test]
fn giant_declared_dimensions_are_refused_before_decoding() {
    // A JPEG header claiming 60000x60000 pixels: refused by the pixel limit.
    let mut jpeg = std::fs::read(common::fixture("benign/rocket.jpg")).expect("fixture");
    let sof = jpeg
        .windows(2)
        .position(|w| w[0] == 0xFF && (w[1] == 0xC0 || w[1] == 0xC2))
        .expect("SOF");
    jpeg[sof + 5..sof + 9].copy_from_slice(&[0xEA, 0x60, 0xEA, 0x60]);
    let err = decode::decode_bytes(&jpeg, &DecodeOptions::default()).expect_err("giant");
    assert_eq!(err.kind(), "too_large", "{err}");

    // Tighter limits apply to every format.
    let options = DecodeOptions {
        limits: Limits {
            max_side: 100,
            ..Limits::default()
        },
        ..DecodeOptions::default()
    };
    let png = std::fs::read(common::fixture("benign/chelsea.png")).expect("fixture");
    assert_eq!(
        decode::decode_bytes(&png, &options)
            .expect_err("limit")
            .kind(),
        "too_large"
    );
}
