//! The `veil` command as scripts use it: JSON lines, exit codes, previews, evidence.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

fn veil(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_veil"))
        .args(args)
        .output()
        .expect("run veil")
}

fn json_lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn benign_folder_exits_zero_with_one_json_line_per_image() {
    let benign = fixtures().join("benign");
    let out = veil(&["scan", "--json", path_str(&benign)]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&out);
    assert_eq!(
        lines.len(),
        std::fs::read_dir(&benign).expect("dir").count()
    );
    for line in &lines {
        assert_eq!(line["ok"], true);
        assert_eq!(line["action"], "allow");
        let score = line["score"].as_f64().expect("score");
        let nsfw = line["labels"]["nsfw"].as_f64().expect("nsfw");
        assert!((score - nsfw).abs() < 1e-6);
        assert!(line["reason"].as_str().is_some_and(|r| !r.is_empty()));
    }
}

#[test]
fn flagged_images_exit_one_and_get_previews() {
    let dir = tempfile::tempdir().expect("tmp");
    let positive = fixtures().join("positive/abstract-field-a.jpg");
    let benign = fixtures().join("benign/rocket.jpg");
    let out = veil(&[
        "scan",
        "--json",
        "--blur-dir",
        path_str(dir.path()),
        path_str(&benign),
        path_str(&positive),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let lines = json_lines(&out);
    assert_eq!(lines[0]["action"], "allow");
    assert_eq!(lines[1]["action"], "blur");
    let preview = PathBuf::from(lines[1]["preview"].as_str().expect("preview path"));
    assert!(preview.starts_with(dir.path()));
    assert!(preview.ends_with("abstract-field-a.jpg.blurred.jpg"));
    let jpeg = std::fs::read(&preview).expect("preview written");
    assert!(
        jpeg.starts_with(&[0xFF, 0xD8, 0xFF]) && jpeg.ends_with(&[0xFF, 0xD9]),
        "not a JPEG"
    );
}

#[test]
fn unreadable_inputs_are_reported_not_fatal() {
    let out = veil(&["scan", "--json", path_str(&fixtures().join("bad"))]);
    assert_eq!(out.status.code(), Some(0));
    let lines = json_lines(&out);
    let truncated = lines
        .iter()
        .find(|l| {
            l["path"]
                .as_str()
                .is_some_and(|p| p.ends_with("truncated.jpg"))
        })
        .expect("line");
    assert_eq!(truncated["ok"], false);
    assert_eq!(truncated["error"]["kind"], "truncated");
    assert!(truncated["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("truncated")));
}

#[test]
fn usage_errors_exit_two() {
    assert_eq!(veil(&["scan"]).status.code(), Some(2));
    assert_eq!(
        veil(&["scan", "--sensitivity", "extreme", "x.jpg"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(veil(&["scan", "/no/such/file.jpg"]).status.code(), Some(2));
    assert_eq!(
        veil(&[
            "scan",
            "--model",
            "no_such_model",
            path_str(&fixtures().join("benign"))
        ])
        .status
        .code(),
        Some(2)
    );
}

#[test]
fn sensitivity_changes_the_exit_code() {
    let astronaut = fixtures().join("benign/astronaut.jpg");
    assert_eq!(
        veil(&["scan", "--sensitivity", "relaxed", path_str(&astronaut)])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        veil(&["scan", "--sensitivity", "0.001", path_str(&astronaut)])
            .status
            .code(),
        Some(1)
    );
}

#[test]
fn blur_and_model_info() {
    let dir = tempfile::tempdir().expect("tmp");
    let out_png = dir.path().join("preview.png");
    let out = veil(&[
        "blur",
        path_str(&fixtures().join("benign/chelsea.png")),
        path_str(&out_png),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(image::open(&out_png).is_ok());

    let out = veil(&["model", "info", "--json"]);
    assert!(out.status.success());
    let info: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(info["manifest"]["name"], "open_nsfw");
}

#[test]
fn evidence_is_recorded_verified_exported_and_wiped() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("evidence.db");
    let key = dir.path().join("key.bin");
    std::fs::write(&key, [7u8; 32]).expect("key");
    let (db_s, key_s) = (path_str(&db), path_str(&key));
    let positive = fixtures().join("positive/abstract-field-b.png");
    let out = veil(&[
        "scan",
        "--json",
        "--evidence",
        db_s,
        "--key-file",
        key_s,
        "--channel",
        "airdrop",
        "--sender",
        "Tom's iPhone",
        path_str(&positive),
        path_str(&fixtures().join("benign/rocket.jpg")),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let list = veil(&[
        "evidence",
        "--db",
        db_s,
        "--key-file",
        key_s,
        "list",
        "--json",
    ]);
    assert!(
        list.status.success(),
        "{}",
        String::from_utf8_lossy(&list.stderr)
    );
    let incidents: Value = serde_json::from_slice(&list.stdout).expect("json");
    assert_eq!(
        incidents.as_array().expect("array").len(),
        1,
        "only the flagged image is recorded"
    );

    assert_eq!(
        veil(&["evidence", "verify", "--db", db_s]).status.code(),
        Some(0)
    );
    assert_eq!(
        veil(&["evidence", "verify", "--db", db_s, "--key-file", key_s])
            .status
            .code(),
        Some(0)
    );

    let bundle = dir.path().join("bundle.zip");
    let export = veil(&[
        "evidence",
        "--db",
        db_s,
        "--key-file",
        key_s,
        "export",
        path_str(&bundle),
        "--include-originals",
    ]);
    assert!(
        export.status.success(),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
    assert_eq!(
        veil(&["evidence", "verify", path_str(&bundle)])
            .status
            .code(),
        Some(0)
    );

    // A wrong key is refused and changes nothing.
    let wrong = dir.path().join("wrong.bin");
    std::fs::write(&wrong, [8u8; 32]).expect("key");
    let before = std::fs::read(&db).expect("db");
    assert_eq!(
        veil(&[
            "evidence",
            "--db",
            db_s,
            "--key-file",
            path_str(&wrong),
            "list"
        ])
        .status
        .code(),
        Some(2)
    );
    assert_eq!(std::fs::read(&db).expect("db"), before);

    assert!(
        veil(&["evidence", "--db", db_s, "--key-file", key_s, "wipe"])
            .status
            .success()
    );
    assert!(!db.exists());
}
