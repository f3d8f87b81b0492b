//! PDQ against Meta's reference implementation (values in tests/reference/pdq_expected.json,
//! computed by the `pdqhash` PyPI bindings; see tests/reference/pdq_reference.py).

mod common;

use veil_core::evidence::pdq;

#[test]
fn matches_reference_hashes() {
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(common::fixtures().join("../reference/pdq_expected.json"))
            .expect("expected values"),
    )
    .expect("json");
    let hashes = expected["hashes"].as_array().expect("hashes");
    assert!(hashes.len() >= 6);
    for h in hashes {
        let file = h["file"].as_str().expect("file");
        let image = image::open(common::fixture(file))
            .expect("decode")
            .into_rgb8();
        let ours = pdq::hash_rgb(&image).expect("hash");
        let theirs = veil_core::PdqHash::from_hex(h["pdq"].as_str().expect("pdq"), 0).expect("hex");
        assert_eq!(
            ours.to_hex(),
            theirs.to_hex(),
            "{file}: distance {}",
            ours.distance(&theirs)
        );
        assert_eq!(
            i64::from(ours.quality),
            h["quality"].as_i64().expect("quality"),
            "{file}"
        );
    }
}

#[test]
fn near_duplicates_are_close_and_different_images_far() {
    let a = image::open(common::fixture("positive/abstract-field-a.png"))
        .expect("a")
        .into_rgb8();
    let small = image::imageops::resize(
        &a,
        a.width() / 2,
        a.height() / 2,
        image::imageops::FilterType::Triangle,
    );
    let b = image::open(common::fixture("positive/abstract-field-b.png"))
        .expect("b")
        .into_rgb8();
    let (ha, hs, hb) = (
        pdq::hash_rgb(&a).expect("a"),
        pdq::hash_rgb(&small).expect("s"),
        pdq::hash_rgb(&b).expect("b"),
    );
    assert!(
        ha.distance(&hs) <= 31,
        "resized distance {}",
        ha.distance(&hs)
    );
    assert!(
        ha.distance(&hb) > 31,
        "different images distance {}",
        ha.distance(&hb)
    );
}
