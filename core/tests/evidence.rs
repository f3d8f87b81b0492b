//! The evidence vault end to end: real SQLite files, the real model, the synthetic positives.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use veil_core::{
    Arrival, Channel, Error, EventKind, EvidenceVault, ExportOptions, Filter, Location,
    NewIncident, ScanContext, Sender, VaultKey,
};

fn key(byte: u8) -> VaultKey {
    VaultKey::from_bytes(&[byte; 32]).expect("key")
}

fn ctx(sender: &str) -> ScanContext {
    ScanContext::new(
        Channel::AirDrop,
        Some(Sender {
            id: sender.into(),
            known_contact: false,
        }),
    )
}

fn arrival() -> Arrival {
    Arrival {
        received_at_ms: 1_709_277_302_000,
        utc_offset_minutes: 60,
        location: Some(Location::Described {
            text: "Northern line near Bank".into(),
        }),
    }
}

/// A flagged incident without running the model (for bursts).
fn synthetic(n: usize) -> NewIncident {
    let original =
        std::fs::read(common::fixture("positive/abstract-field-a.jpg")).expect("fixture");
    NewIncident {
        arrival: arrival(),
        channel: "airdrop".into(),
        sender: Some(format!("Sender {n}")),
        sender_known_contact: false,
        model_name: "open_nsfw".into(),
        model_version: "test".into(),
        scores: [("nsfw".to_string(), 0.99f32)].into_iter().collect(),
        explicit_score: 0.99,
        threshold: 0.4,
        action: "blur".into(),
        reason: format!("burst {n}"),
        image_sha256: [n as u8; 32],
        pdq: None,
        preview_png: None,
        original,
        original_media_type: "image/jpeg".into(),
    }
}

fn filter(vault: &Arc<EvidenceVault>) -> Filter {
    Filter::new(common::scanner(), Some(vault.clone()))
}

#[test]
fn record_reopen_verify_and_repeat_lookup() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("evidence.db");
    let vault = Arc::new(EvidenceVault::open(&db, &key(1)).expect("open"));
    let f = filter(&vault);
    let a = common::fixture("positive/abstract-field-a.png");
    let first = f
        .scan_file(&a, &ctx("Tom's iPhone"), &arrival())
        .expect("scan");
    assert!(first.model_ran);
    let id = first.incident_id.clone().expect("recorded");
    assert_eq!(
        (first.earlier_same_image, first.earlier_same_sender),
        (0, 0)
    );

    // The same photo again: flagged at once, no model.
    let again = f
        .scan_file(&a, &ctx("Tom's iPhone"), &arrival())
        .expect("scan");
    assert!(!again.model_ran);
    assert_eq!(again.matched_incident.as_deref(), Some(id.as_str()));
    assert_eq!(again.scan.verdict.action, veil_core::Action::Blur);
    assert!(again.scan.verdict.reason.contains(&id));
    assert_eq!(
        (again.earlier_same_image, again.earlier_same_sender),
        (1, 1)
    );

    // Resized and re-encoded: a PDQ near-duplicate, from someone else.
    let img = image::open(&a).expect("decode").into_rgb8();
    let small = image::imageops::resize(
        &img,
        img.width() * 3 / 4,
        img.height() * 3 / 4,
        image::imageops::FilterType::Triangle,
    );
    let mut png = Vec::new();
    image::DynamicImage::ImageRgb8(small)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .expect("encode");
    let near = f
        .scan_bytes(&png, &ctx("Someone else"), &arrival())
        .expect("scan");
    assert!(!near.model_ran, "{}", near.scan.verdict.reason);
    assert_eq!(near.earlier_same_image, 2);
    assert_eq!(near.earlier_same_sender, 0);

    // Benign: allowed, not recorded.
    let benign = f
        .scan_file(
            &common::fixture("benign/chelsea.png"),
            &ctx("Tom's iPhone"),
            &arrival(),
        )
        .expect("scan");
    assert!(benign.incident_id.is_none());

    vault
        .add_event(&id, EventKind::Viewed, 60, None)
        .expect("event");
    vault
        .add_event(&id, EventKind::Note, 60, Some("he was wearing a red cap"))
        .expect("note");
    vault
        .add_event(&id, EventKind::OriginalDeleted, 60, None)
        .expect("delete");
    drop(f);
    drop(vault);

    let vault = EvidenceVault::open(&db, &key(1)).expect("reopen");
    let list = vault.list().expect("list");
    assert_eq!(list.len(), 3);
    assert_eq!(list[0].sender.as_deref(), Some("Tom's iPhone"));
    let inc = vault.get(&id).expect("get");
    assert_eq!(inc.events.len(), 3);
    assert_eq!(
        inc.events[1].text.as_deref(),
        Some("he was wearing a red cap")
    );
    assert_eq!(inc.location, arrival().location);
    assert!(inc
        .preview_png
        .as_ref()
        .is_some_and(|p| p.starts_with(b"\x89PNG")));
    assert!(vault.original(&id).expect("original").is_none());
    assert_eq!(
        vault
            .original(&list[1].id)
            .expect("original")
            .expect("kept"),
        std::fs::read(&a).expect("read")
    );
    let report = vault.verify().expect("verify");
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(report.records, 6);

    // The sender's name is not in the file in the clear.
    drop(vault);
    let bytes = std::fs::read(&db).expect("read db");
    assert!(!bytes.windows(12).any(|w| w == b"Tom's iPhone"));
    assert!(!bytes.windows(9).any(|w| w == b"red cap"));
}

#[test]
fn wrong_key_and_damaged_files_are_typed_errors() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("e.db");
    let vault = EvidenceVault::open(&db, &key(1)).expect("open");
    vault.record(&synthetic(1)).expect("record");
    drop(vault);
    let before = std::fs::read(&db).expect("read");
    assert!(matches!(
        EvidenceVault::open(&db, &key(2)),
        Err(Error::WrongKey)
    ));
    assert_eq!(
        std::fs::read(&db).expect("read"),
        before,
        "a wrong key changed the file"
    );

    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, vec![0x5Au8; 8192]).expect("write");
    let e = EvidenceVault::open(&garbage, &key(1)).expect_err("garbage");
    assert_eq!(e.kind(), "evidence_corrupt", "{e}");

    let truncated = dir.path().join("truncated.db");
    std::fs::write(&truncated, &before[..before.len() / 3]).expect("write");
    match EvidenceVault::open(&truncated, &key(1)) {
        Err(e) => assert!(
            matches!(e.kind(), "evidence_corrupt" | "evidence_store"),
            "{e}"
        ),
        Ok(v) => assert!(v.list().is_err() || !v.verify().expect("verify").is_ok()),
    }
}

#[test]
fn tampering_is_named() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("e.db");
    let vault = EvidenceVault::open(&db, &key(1)).expect("open");
    let ids: Vec<String> = (0..3)
        .map(|n| vault.record(&synthetic(n)).expect("record"))
        .collect();
    drop(vault);

    // Flip one byte of the second incident's body in the database file.
    let mut bytes = std::fs::read(&db).expect("read");
    let needle = b"burst 1";
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("body in file");
    bytes[at + 6] = b'7';
    std::fs::write(&db, &bytes).expect("write");

    let report = EvidenceVault::verify_without_key(&db).expect("verify");
    assert!(!report.is_ok());
    assert_eq!(report.problems[0].seq, Some(2));
    assert_eq!(
        report.problems[0].incident_id.as_deref(),
        Some(ids[1].as_str())
    );
    let with_key = EvidenceVault::open(&db, &key(1))
        .expect("open")
        .verify()
        .expect("verify");
    assert_eq!(with_key.problems[0].seq, Some(2));
}

#[test]
fn deleting_the_newest_record_is_caught_with_the_key() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("e.db");
    let vault = EvidenceVault::open(&db, &key(1)).expect("open");
    for n in 0..3 {
        vault.record(&synthetic(n)).expect("record");
    }
    drop(vault);
    let conn = rusqlite::Connection::open(&db).expect("sqlite");
    conn.execute("DELETE FROM records WHERE seq = 3", [])
        .expect("delete");
    drop(conn);
    // Without the key the shortened chain is internally consistent.
    assert!(EvidenceVault::verify_without_key(&db)
        .expect("verify")
        .is_ok());
    let report = EvidenceVault::open(&db, &key(1))
        .expect("open")
        .verify()
        .expect("verify");
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.message.contains("key-sealed head")),
        "{:?}",
        report.problems
    );
}

#[test]
fn key_rotation_retention_and_wipe() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("e.db");
    let vault = EvidenceVault::open(&db, &key(1)).expect("open");
    let old = vault.record(&synthetic(1)).expect("record");
    let mut recent = synthetic(2);
    recent.arrival.received_at_ms = veil_core::evidence::now_ms();
    let kept = vault.record(&recent).expect("record");
    vault.rotate_key(&key(9)).expect("rotate");
    assert_eq!(
        vault
            .lookup(&[2u8; 32], None, 31, Some("Sender 2"))
            .expect("lookup")
            .same_sender,
        1
    );
    drop(vault);
    assert!(matches!(
        EvidenceVault::open(&db, &key(1)),
        Err(Error::WrongKey)
    ));
    let vault = EvidenceVault::open(&db, &key(9)).expect("new key");
    assert_eq!(
        vault.get(&old).expect("get").summary.sender.as_deref(),
        Some("Sender 1")
    );

    vault.set_retention_days(Some(30)).expect("retention");
    assert_eq!(
        vault
            .purge_expired(veil_core::evidence::now_ms())
            .expect("purge"),
        1
    );
    let ids: Vec<String> = vault
        .list()
        .expect("list")
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(ids, vec![kept]);
    assert!(matches!(vault.get(&old), Err(Error::UnknownIncident(_))));
    let report = vault.verify().expect("verify");
    assert!(report.is_ok(), "{:?}", report.problems);
    assert!(EvidenceVault::verify_without_key(&db)
        .expect("verify")
        .is_ok());

    vault.wipe().expect("wipe");
    assert!(matches!(vault.list(), Err(Error::VaultWiped)));
    let left: Vec<_> = std::fs::read_dir(dir.path()).expect("dir").collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn concurrent_writers() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("e.db");
    let a = Arc::new(EvidenceVault::open(&db, &key(1)).expect("open"));
    let b = Arc::new(EvidenceVault::open(&db, &key(1)).expect("second connection"));
    let per = 25;
    let started = Instant::now();
    std::thread::scope(|s| {
        for t in 0..4 {
            let v = if t % 2 == 0 { a.clone() } else { b.clone() };
            s.spawn(move || {
                for n in 0..per {
                    v.record(&synthetic(t * 100 + n)).expect("record");
                }
            });
        }
    });
    let elapsed = started.elapsed();
    eprintln!(
        "recorded {} incidents from 4 threads in {elapsed:?} ({:.0}/s)",
        4 * per,
        (4 * per) as f64 / elapsed.as_secs_f64()
    );
    let started = Instant::now();
    let report = a.verify().expect("verify");
    eprintln!(
        "verified {} records with the key in {:?}",
        report.records,
        started.elapsed()
    );
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(report.records, 4 * per as u64);
    assert_eq!(b.list().expect("list").len(), 4 * per);
}

#[test]
fn export_and_verify_bundle() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("e.db");
    let vault = Arc::new(EvidenceVault::open(&db, &key(1)).expect("open"));
    let f = filter(&vault);
    let mut ids = Vec::new();
    for name in ["a", "b", "c"] {
        let out = f
            .scan_file(
                &common::fixture(&format!("positive/abstract-field-{name}.jpg")),
                &ctx("Tom's iPhone"),
                &arrival(),
            )
            .expect("scan");
        ids.push(out.incident_id.expect("flagged"));
    }
    vault
        .add_event(&ids[0], EventKind::Reported, 60, Some("crime ref 4401/24"))
        .expect("event");
    let zip = dir.path().join("bundle.zip");
    let started = Instant::now();
    let summary = vault
        .export(
            &zip,
            ExportOptions {
                include_originals: true,
            },
        )
        .expect("export");
    eprintln!(
        "exported {} incidents in {:?}",
        summary.incidents,
        started.elapsed()
    );
    assert_eq!(summary.incidents, 3);
    let report = EvidenceVault::verify_bundle(&zip).expect("verify");
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(report.records, 4);

    // Read back: the original is byte-identical, the report names sender and location.
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&zip).expect("open")).expect("zip");
    let mut html = String::new();
    std::io::Read::read_to_string(
        &mut archive.by_name("report.html").expect("report"),
        &mut html,
    )
    .expect("read");
    assert!(
        html.contains("Tom&#39;s iPhone")
            && html.contains("Northern line near Bank")
            && html.contains("crime ref 4401/24")
    );
    assert!(html.contains("2024-03-01 08:15:02 +01:00"));

    // Change one file: verify names it.
    let tampered = dir.path().join("tampered.zip");
    rewrite(&zip, &tampered, "report.html");
    let report = EvidenceVault::verify_bundle(&tampered).expect("verify");
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.message.contains("report.html")),
        "{:?}",
        report.problems
    );

    // Without originals.
    let lean = dir.path().join("lean.zip");
    vault
        .export(&lean, ExportOptions::default())
        .expect("export");
    assert!(EvidenceVault::verify_bundle(&lean).expect("verify").is_ok());
    let archive = zip::ZipArchive::new(std::fs::File::open(&lean).expect("open")).expect("zip");
    assert!(archive.file_names().all(|n| !n.starts_with("originals/")));
}

fn rewrite(from: &Path, to: &Path, change: &str) {
    let mut src = zip::ZipArchive::new(std::fs::File::open(from).expect("open")).expect("zip");
    let mut dst = zip::ZipWriter::new(std::fs::File::create(to).expect("create"));
    for i in 0..src.len() {
        let mut entry = src.by_index(i).expect("entry");
        let name = entry.name().to_string();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut bytes).expect("read");
        if name == change {
            bytes.extend_from_slice(b"<!-- edited -->");
        }
        dst.start_file(name, zip::write::SimpleFileOptions::default())
            .expect("start");
        std::io::Write::write_all(&mut dst, &bytes).expect("write");
    }
    dst.finish().expect("finish");
}

/// Child half of the kill test: writes incidents until killed, printing each committed id.
#[test]
fn burst_child() {
    let Ok(db) = std::env::var("VEIL_BURST_CHILD_DB") else {
        return;
    };
    let vault = Arc::new(EvidenceVault::open(Path::new(&db), &key(1)).expect("open"));
    std::thread::scope(|s| {
        for t in 0..2 {
            let vault = vault.clone();
            s.spawn(move || {
                for n in 0.. {
                    let id = vault.record(&synthetic(t * 1000 + n)).expect("record");
                    println!("COMMITTED {id}");
                }
            });
        }
    });
}

#[test]
fn sigkill_mid_burst_loses_nothing_committed() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("e.db");
    EvidenceVault::open(&db, &key(1)).expect("create");
    let mut child = std::process::Command::new(std::env::current_exe().expect("exe"))
        .args(["--exact", "burst_child", "--nocapture", "--test-threads=1"])
        .env("VEIL_BURST_CHILD_DB", &db)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut committed = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("line");
        if let Some(id) = line.strip_prefix("COMMITTED ") {
            committed.push(id.to_string());
            if committed.len() >= 40 {
                break;
            }
        }
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("wait");
    let vault = EvidenceVault::open(&db, &key(1)).expect("reopen after kill");
    let held: std::collections::HashSet<String> = vault
        .list()
        .expect("list")
        .into_iter()
        .map(|i| i.id)
        .collect();
    for id in &committed {
        assert!(held.contains(id), "committed incident {id} was lost");
    }
    let report = vault.verify().expect("verify");
    assert!(report.is_ok(), "{:?}", report.problems);
    eprintln!(
        "killed after {} reported commits; {} held; chain verifies",
        committed.len(),
        held.len()
    );
}
