//! The bindings' API called the way Kotlin and Swift call it: owned arguments, `Arc` objects,
//! `Result<_, VeilError>` everywhere, the real model and the real fixtures.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use veil_ffi::{
    encode_preview_png, set_log_level, veil_version, verify_vault_without_key, Action, Arrival,
    Channel, EventKind, FilterSettings, ImageFormat, LogLevel, PixelFormat, RawPixels, ScanContext,
    Sender, Sensitivity, VeilError, VeilFilter,
};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(root().join("tests/fixtures").join(rel)).expect("fixture")
}

fn model_path() -> String {
    std::env::var("VEIL_MODEL")
        .unwrap_or_else(|_| root().join("models/open-nsfw.onnx").display().to_string())
}

/// One filter for the whole test binary, as an app would hold one.
fn filter() -> Arc<VeilFilter> {
    static FILTER: OnceLock<Arc<VeilFilter>> = OnceLock::new();
    FILTER
        .get_or_init(|| {
            VeilFilter::from_model_path(model_path(), FilterSettings::balanced()).expect("model")
        })
        .clone()
}

fn airdrop_stranger() -> ScanContext {
    ScanContext {
        channel: Channel::AirDrop,
        sender: Some(Sender {
            id: "iPhone".into(),
            known_contact: false,
        }),
    }
}

fn key(byte: u8) -> Vec<u8> {
    vec![byte; 32]
}

#[test]
fn benign_images_are_allowed() {
    let filter = filter();
    for name in [
        "benign/astronaut.jpg",
        "benign/chelsea.png",
        "benign/coffee.webp",
    ] {
        let result = filter
            .scan_bytes(fixture(name), airdrop_stranger(), None)
            .expect(name);
        assert_eq!(result.verdict.action, Action::Allow, "{name}");
        assert!(result.preview.is_none(), "{name}");
        assert!(result.verdict.explicit_score < 0.1, "{name}");
        assert!(result.incident_id.is_none());
    }
}

#[test]
fn positives_are_blurred_with_a_decodable_preview() {
    let filter = filter();
    let result = filter
        .scan_bytes(
            fixture("positive/abstract-field-a.jpg"),
            airdrop_stranger(),
            None,
        )
        .expect("scan");
    assert_eq!(result.verdict.action, Action::Blur);
    assert!(result.verdict.explicit_score >= 0.9);
    assert_eq!(result.image.format, ImageFormat::Jpeg);
    assert!(result.model_ran);
    let preview = result.preview.expect("preview");
    assert_eq!(
        preview.rgba.len(),
        (preview.width * preview.height * 4) as usize
    );
    let png = encode_preview_png(preview).expect("png");
    assert!(png.starts_with(b"\x89PNG"));
}

#[test]
fn files_and_pixels_scan_too() {
    let filter = filter();
    let path = root().join("tests/fixtures/positive/abstract-field-b.png");
    let result = filter
        .scan_file(path.display().to_string(), airdrop_stranger(), None)
        .expect("file");
    assert_eq!(result.verdict.action, Action::Blur);

    // A flat grey RGBA buffer with row padding, as an Android Bitmap might have.
    let (w, h, stride) = (300u32, 240u32, 300 * 4 + 16);
    let pixels = RawPixels {
        data: vec![128; (stride * h) as usize],
        width: w,
        height: h,
        row_stride: stride,
        format: PixelFormat::Rgba8,
    };
    let result = filter
        .scan_pixels(pixels, airdrop_stranger(), None)
        .expect("pixels");
    assert_eq!(result.verdict.action, Action::Allow);
    assert_eq!(result.image.format, ImageFormat::Pixels);
    assert_eq!((result.image.width, result.image.height), (w, h));
}

#[test]
fn bad_inputs_raise_the_right_errors() {
    let filter = filter();
    let ctx = || ScanContext {
        channel: Channel::Sms,
        sender: None,
    };
    let err = |rel: &str| filter.scan_bytes(fixture(rel), ctx(), None).expect_err(rel);
    assert!(matches!(err("bad/truncated.jpg"), VeilError::Truncated(_)));
    assert!(matches!(
        err("bad/random-bytes.jpg"),
        VeilError::Corrupt(_) | VeilError::UnsupportedFormat(_)
    ));
    assert!(matches!(
        err("bad/empty.jpg"),
        VeilError::Empty(_) | VeilError::Truncated(_) | VeilError::UnsupportedFormat(_)
    ));
    assert!(matches!(
        err("bad/bomb-100000x100000.png"),
        VeilError::TooLarge(_)
    ));
    let short = RawPixels {
        data: vec![0; 10],
        width: 4,
        height: 4,
        row_stride: 16,
        format: PixelFormat::Bgra8,
    };
    assert!(matches!(
        filter.scan_pixels(short, ctx(), None),
        Err(VeilError::InvalidPixelBuffer(_))
    ));
    assert!(matches!(
        filter.scan_file("/nonexistent/x.jpg".into(), ctx(), None),
        Err(VeilError::Io(_))
    ));
}

#[test]
fn constructors_report_model_problems() {
    assert!(matches!(
        VeilFilter::from_model_path(
            "/nonexistent/open-nsfw.onnx".into(),
            FilterSettings::balanced()
        ),
        Err(VeilError::ModelNotFound(_))
    ));
    assert!(matches!(
        VeilFilter::from_model_bytes(b"not a model".to_vec(), FilterSettings::balanced()),
        Err(VeilError::ModelChecksum(_))
    ));
    let bad = FilterSettings {
        sensitivity: Sensitivity::Custom { threshold: 1.5 },
        ..FilterSettings::balanced()
    };
    assert!(matches!(
        VeilFilter::from_model_path(model_path(), bad),
        Err(VeilError::InvalidArgument(_))
    ));
    // Same file, same loaded model: a second filter is cheap.
    let strict = VeilFilter::from_model_path(
        model_path(),
        FilterSettings {
            sensitivity: Sensitivity::Strict,
            ..FilterSettings::balanced()
        },
    )
    .expect("strict");
    assert_eq!(strict.sensitivity().expect("s"), Sensitivity::Strict);
    let info = strict.model_info().expect("info");
    assert_eq!(info.name, "open_nsfw");
    assert_eq!(info.sha256.len(), 64);
    assert!(!veil_version().expect("version").is_empty());
    set_log_level(LogLevel::Warn).expect("log");
}

#[test]
fn many_threads_scan_at_once() {
    let filter = filter();
    let names = [
        ("benign/rocket.jpg", Action::Allow),
        ("positive/abstract-field-c.jpg", Action::Blur),
        ("benign/coins-gray.jpg", Action::Allow),
        ("positive/abstract-field-a.png", Action::Blur),
    ];
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let filter = filter.clone();
                let (name, expected) = names[i % names.len()];
                s.spawn(move || {
                    let result = filter
                        .scan_bytes(fixture(name), airdrop_stranger(), None)
                        .expect(name);
                    assert_eq!(result.verdict.action, expected, "{name}");
                    result.verdict.explicit_score
                })
            })
            .collect();
        for h in handles {
            h.join().expect("thread");
        }
    });
}

#[test]
fn evidence_is_recorded_verified_and_exported() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("evidence.db").display().to_string();
    let filter =
        VeilFilter::from_model_path(model_path(), FilterSettings::balanced()).expect("filter");
    assert!(!filter.has_vault().expect("has"));
    assert!(matches!(
        filter.list_incidents(),
        Err(VeilError::NoVault(_))
    ));
    assert!(matches!(
        filter.open_vault(db.clone(), vec![1; 5]),
        Err(VeilError::InvalidKey(_))
    ));
    filter.open_vault(db.clone(), key(7)).expect("open");

    let arrival = Arrival {
        received_at_ms: 1_700_000_000_000,
        utc_offset_minutes: 60,
        location: None,
    };
    let first = filter
        .scan_bytes(
            fixture("positive/abstract-field-a.jpg"),
            airdrop_stranger(),
            Some(arrival.clone()),
        )
        .expect("scan");
    let id = first.incident_id.expect("recorded");
    // The same image again is recognised without the model.
    let again = filter
        .scan_bytes(
            fixture("positive/abstract-field-a.jpg"),
            airdrop_stranger(),
            Some(arrival),
        )
        .expect("again");
    assert_eq!(again.verdict.action, Action::Blur);
    assert!(!again.model_ran);
    assert_eq!(again.matched_incident.as_deref(), Some(id.as_str()));
    assert_eq!(again.earlier_same_image, 1);
    // Benign images are not recorded.
    let benign = filter
        .scan_bytes(fixture("benign/rocket.jpg"), airdrop_stranger(), None)
        .expect("benign");
    assert!(benign.incident_id.is_none());

    filter
        .add_event(id.clone(), EventKind::Reported, 60, Some("CRN 1234".into()))
        .expect("event");
    let list = filter.list_incidents().expect("list");
    assert_eq!(list.len(), 2);
    let incident = filter.get_incident(id.clone()).expect("get");
    assert_eq!(incident.summary.channel, "airdrop");
    assert_eq!(incident.summary.sender.as_deref(), Some("iPhone"));
    assert!(incident.preview_png.is_some());
    assert!(incident
        .events
        .iter()
        .any(|e| e.kind == EventKind::Reported && e.text.as_deref() == Some("CRN 1234")));
    assert_eq!(
        filter.incident_original(id.clone()).expect("original"),
        Some(fixture("positive/abstract-field-a.jpg"))
    );
    assert!(matches!(
        filter.get_incident("0".repeat(32)),
        Err(VeilError::UnknownIncident(_))
    ));

    let report = filter.verify_vault().expect("verify");
    assert!(report.ok, "{:?}", report.problems);
    assert!(report.checked_with_key);
    assert!(verify_vault_without_key(db.clone()).expect("no key").ok);

    let bundle = dir.path().join("bundle.zip").display().to_string();
    let summary = filter.export_vault(bundle.clone(), false).expect("export");
    assert_eq!(summary.incidents, 2);
    assert!(veil_ffi::verify_bundle(bundle).expect("bundle").ok);

    filter.set_retention_days(Some(30)).expect("retention");
    assert_eq!(filter.retention_days().expect("days"), Some(30));
    assert_eq!(
        filter
            .purge_expired(Some(1_700_000_000_000))
            .expect("purge"),
        0
    );

    // A second filter with the wrong key is refused; the right one opens.
    let other =
        VeilFilter::from_model_path(model_path(), FilterSettings::balanced()).expect("other");
    assert!(matches!(
        other.open_vault(db.clone(), key(8)),
        Err(VeilError::WrongKey(_))
    ));

    filter.rotate_vault_key(key(9)).expect("rotate");
    filter.purge_incident(id).expect("purge one");
    assert_eq!(filter.list_incidents().expect("list").len(), 1);
    filter.close_vault().expect("close");
    other.open_vault(db.clone(), key(9)).expect("new key opens");
    assert!(other.verify_vault().expect("verify").ok);
    other.wipe_vault().expect("wipe");
    assert!(!other.has_vault().expect("has"));
    assert!(!Path::new(&db).exists());
    // Scanning goes on after the wipe.
    other
        .scan_bytes(fixture("benign/rocket.jpg"), airdrop_stranger(), None)
        .expect("scan after wipe");
}
