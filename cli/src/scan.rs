//! `veil scan`: verdicts for files and folders, as a table or as JSON lines.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use clap::Args;
use veil_core::{
    Action, Arrival, Channel, EvidenceVault, Filter, FilterOutcome, Location, Policy, ScanContext,
    ScanOutcome, Scanner, Sender, Sensitivity, VaultKey,
};

use crate::report::{self, Line};
use crate::{inputs, model_arg};

/// Arguments of `veil scan`.
#[derive(Args, Debug)]
pub struct ScanArgs {
    /// Print one JSON object per input, on its own line.
    #[arg(long)]
    pub json: bool,
    /// Model: a manifest name (e.g. open_nsfw), a manifest .json, or .onnx weights.
    #[arg(long, value_name = "NAME|PATH")]
    pub model: Option<String>,
    /// strict, balanced, relaxed, or a threshold from 0 to 1.
    #[arg(long, default_value = "balanced", value_parser = parse_sensitivity)]
    pub sensitivity: Sensitivity,
    /// Write a blurred preview (JPEG) of every flagged image into this folder.
    #[arg(long, value_name = "DIR")]
    pub blur_dir: Option<PathBuf>,
    /// How the images arrived: airdrop, bluetooth, nearby_share, sms, app:NAME, other.
    #[arg(long, default_value = "other")]
    pub channel: String,
    /// Who sent them, as the platform shows it (device name, number, handle).
    #[arg(long)]
    pub sender: Option<String>,
    /// The sender is a known contact (judged less strictly than a stranger).
    #[arg(long)]
    pub known_contact: bool,
    /// Images scanned at once (default: the number of cores).
    #[arg(long, short = 'j')]
    pub jobs: Option<usize>,
    /// Record every flagged image in this evidence database (created if missing).
    #[arg(long, value_name = "DB", requires = "key_file")]
    pub evidence: Option<PathBuf>,
    /// The vault key for --evidence: a file holding 32 raw bytes.
    #[arg(long, value_name = "F")]
    pub key_file: Option<PathBuf>,
    /// Local offset from UTC in minutes, recorded with each incident (e.g. 60 for BST).
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub utc_offset: i32,
    /// Where the images arrived, as text ("Northern line near Bank"), recorded with each incident.
    #[arg(long)]
    pub location: Option<String>,
    /// Files and folders to scan (folders recursively).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

fn parse_sensitivity(text: &str) -> Result<Sensitivity, String> {
    Sensitivity::parse(text).map_err(|e| e.to_string())
}

/// Runs the scan; the exit code is 1 when anything was flagged.
pub fn run(args: ScanArgs) -> Result<ExitCode, String> {
    let files = inputs::expand(&args.paths)?;
    let classifier = model_arg::load(args.model.as_deref()).map_err(|e| e.to_string())?;
    let policy = Policy::new(args.sensitivity).map_err(|e| e.to_string())?;
    let scanner = Scanner::new(classifier, policy).map_err(|e| e.to_string())?;
    let vault = match (&args.evidence, &args.key_file) {
        (Some(db), Some(key_file)) => {
            let key = VaultKey::from_file(key_file).map_err(|e| e.to_string())?;
            Some(std::sync::Arc::new(
                EvidenceVault::open(db, &key).map_err(|e| e.to_string())?,
            ))
        }
        _ => None,
    };
    let filter = Filter::new(scanner, vault);
    let context = ScanContext::new(
        Channel::parse(&args.channel),
        args.sender.clone().map(|id| Sender {
            id,
            known_contact: args.known_contact,
        }),
    );
    if let Some(dir) = &args.blur_dir {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }

    let started = Instant::now();
    let progress = report::progress_bar(files.len(), args.json);
    let mut summary = report::Summary::default();
    let vault_attached = filter.vault().is_some();
    let arrival_location = args
        .location
        .clone()
        .map(|text| Location::Described { text });
    let scan = |path: &std::path::Path| {
        let arrival = Arrival {
            location: arrival_location.clone(),
            ..Arrival::now(args.utc_offset)
        };
        filter.scan_file(path, &context, &arrival)
    };
    for_each_in_order(scan, &files, args.jobs, |path, result| {
        let line = match result {
            Ok(filtered) => {
                let outcome = &filtered.scan;
                let preview = write_preview(&args, path, outcome);
                let mut line = Line::scanned(path, outcome, preview);
                if vault_attached {
                    add_evidence(&mut line, &filtered);
                }
                line
            }
            Err(e) => Line::failed(path, &e),
        };
        summary.add(&line);
        progress.suspend(|| report::print(&line, args.json));
        progress.inc(1);
    });
    progress.finish_and_clear();
    if !args.json {
        summary.print(started.elapsed());
    }
    Ok(if summary.flagged > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn write_preview(
    args: &ScanArgs,
    path: &std::path::Path,
    outcome: &ScanOutcome,
) -> Option<Result<PathBuf, String>> {
    let dir = args.blur_dir.as_ref()?;
    if outcome.verdict.action != Action::Blur {
        return None;
    }
    let preview = outcome.preview.as_ref()?;
    // The whole file name, so `a.jpg` and `a.png` get separate previews.
    let name = path
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "image".into());
    let out = dir.join(format!("{name}.blurred.jpg"));
    Some(
        preview
            .to_jpeg(85)
            .map_err(|e| e.to_string())
            .and_then(|jpeg| {
                std::fs::write(&out, jpeg)
                    .map_err(|e| format!("cannot write {}: {e}", out.display()))
            })
            .map(|()| out),
    )
}

/// What the evidence database did with an image, added to its output line.
fn add_evidence(line: &mut Line, outcome: &FilterOutcome) {
    use serde_json::Value;
    if let Some(id) = &outcome.incident_id {
        line.extra
            .insert("incident".into(), Value::from(id.clone()));
    }
    if let Some(id) = &outcome.matched_incident {
        line.extra
            .insert("matched_incident".into(), Value::from(id.clone()));
    }
    line.extra
        .insert("model_ran".into(), Value::from(outcome.model_ran));
    line.extra.insert(
        "earlier_same_image".into(),
        Value::from(outcome.earlier_same_image),
    );
    line.extra.insert(
        "earlier_same_sender".into(),
        Value::from(outcome.earlier_same_sender),
    );
}

/// Scans files on several threads and hands results to `each` in input order.
fn for_each_in_order<T: Send>(
    scan: impl Fn(&std::path::Path) -> veil_core::Result<T> + Sync,
    files: &[PathBuf],
    jobs: Option<usize>,
    mut each: impl FnMut(&std::path::Path, veil_core::Result<T>),
) {
    let workers = jobs
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
        .clamp(1, files.len().max(1));
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let tx = tx.clone();
            let next = &next;
            let scan = &scan;
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(path) = files.get(i) else { break };
                if tx.send((i, scan(path))).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        let mut pending = BTreeMap::new();
        let mut printed = 0;
        for (i, result) in rx {
            pending.insert(i, result);
            while let Some(result) = pending.remove(&printed) {
                each(&files[printed], result);
                printed += 1;
            }
        }
    });
}
