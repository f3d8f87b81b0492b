//! `veil evidence`: list, show, export, verify and wipe the evidence database.
//!
//! `verify` needs no key: with `--db` alone it checks the chain's internal consistency, with
//! `--key-file` as well it also checks the key-sealed chain head and every encrypted field, and
//! with a `BUNDLE.zip` it checks an exported bundle. Exit 0 when everything verifies, 1 when
//! something does not (each problem is printed, naming the record), 2 on errors.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use veil_core::{EvidenceVault, ExportOptions, VaultKey, VerifyReport};

/// Arguments of `veil evidence`.
#[derive(Args, Debug)]
pub struct EvidenceArgs {
    /// The evidence database.
    #[arg(long, global = true, value_name = "DB")]
    pub db: Option<PathBuf>,
    /// A file holding the 32 raw bytes of the vault key.
    #[arg(long, global = true, value_name = "F")]
    pub key_file: Option<PathBuf>,
    #[command(subcommand)]
    pub command: EvidenceCommand,
}

/// `veil evidence` subcommands.
#[derive(Subcommand, Debug)]
pub enum EvidenceCommand {
    /// List every incident, oldest first.
    List {
        /// One JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one incident in full (as JSON).
    Show {
        /// The incident id.
        id: String,
    },
    /// Write a ZIP evidence bundle for the police.
    Export {
        /// The ZIP file to write.
        out: PathBuf,
        /// Include the decrypted original images.
        #[arg(long)]
        include_originals: bool,
    },
    /// Check the database (`--db`) or an exported bundle; no key needed.
    Verify {
        /// A bundle written by `veil evidence export`.
        bundle: Option<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Keep incidents this many days (or `off`), and purge older ones now.
    Retention {
        /// Days, or `off`.
        days: String,
    },
    /// Delete the database and its WAL/SHM files, overwriting them first.
    Wipe,
}

fn need_db(args: &EvidenceArgs) -> Result<&Path, String> {
    args.db
        .as_deref()
        .ok_or_else(|| "give the evidence database with --db DB".to_string())
}

fn open(args: &EvidenceArgs) -> Result<EvidenceVault, String> {
    let db = need_db(args)?;
    let key_file = args
        .key_file
        .as_deref()
        .ok_or_else(|| "give the vault key with --key-file F (32 raw bytes)".to_string())?;
    if !db.is_file() {
        return Err(format!("{}: no such evidence database", db.display()));
    }
    let key = VaultKey::from_file(key_file).map_err(|e| e.to_string())?;
    EvidenceVault::open(db, &key).map_err(|e| e.to_string())
}

/// Runs `veil evidence`.
pub fn run(args: EvidenceArgs) -> Result<ExitCode, String> {
    match &args.command {
        EvidenceCommand::List { json } => {
            let list = open(&args)?.list().map_err(|e| e.to_string())?;
            if *json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&list).map_err(|e| e.to_string())?
                );
            } else {
                println!(
                    "{:<32}  {:<25}  {:<12}  {:>5}  {:>6}  sender",
                    "id", "received (local)", "channel", "score", "events"
                );
                for i in &list {
                    println!(
                        "{:<32}  {:<25}  {:<12}  {:>5.3}  {:>6}  {}",
                        i.id,
                        local_time(i.received_at_ms, i.utc_offset_minutes),
                        i.channel,
                        i.explicit_score,
                        i.events,
                        i.sender.as_deref().unwrap_or("-")
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        EvidenceCommand::Show { id } => {
            let incident = open(&args)?.get(id).map_err(|e| e.to_string())?;
            println!(
                "{}",
                serde_json::to_string_pretty(&incident).map_err(|e| e.to_string())?
            );
            Ok(ExitCode::SUCCESS)
        }
        EvidenceCommand::Export {
            out,
            include_originals,
        } => {
            let summary = open(&args)?
                .export(
                    out,
                    ExportOptions {
                        include_originals: *include_originals,
                    },
                )
                .map_err(|e| e.to_string())?;
            println!(
                "wrote {}: {} incidents, {} chain records, {} files",
                out.display(),
                summary.incidents,
                summary.records,
                summary.files
            );
            Ok(ExitCode::SUCCESS)
        }
        EvidenceCommand::Verify { bundle, json } => {
            let report = match bundle {
                Some(zip) => EvidenceVault::verify_bundle(zip),
                None if args.key_file.is_some() => open(&args)?.verify(),
                None => EvidenceVault::verify_without_key(need_db(&args)?),
            }
            .map_err(|e| e.to_string())?;
            print_report(&report, *json)?;
            Ok(if report.is_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        EvidenceCommand::Retention { days } => {
            let days = match days.trim() {
                "off" | "none" | "forever" => None,
                d => Some(
                    d.parse::<u32>()
                        .map_err(|_| format!("retention {d:?} is not a number of days or `off`"))?,
                ),
            };
            let vault = open(&args)?;
            vault.set_retention_days(days).map_err(|e| e.to_string())?;
            let purged = vault
                .purge_expired(veil_core::evidence::now_ms())
                .map_err(|e| e.to_string())?;
            println!("retention set; {purged} incidents purged");
            Ok(ExitCode::SUCCESS)
        }
        EvidenceCommand::Wipe => {
            let db = need_db(&args)?;
            if args.key_file.is_some() {
                open(&args)?.wipe().map_err(|e| e.to_string())?;
            } else {
                EvidenceVault::wipe_path(db).map_err(|e| e.to_string())?;
            }
            println!("wiped {}", db.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn print_report(report: &VerifyReport, json: bool) -> Result<(), String> {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(report).map_err(|e| e.to_string())?
        );
        return Ok(());
    }
    for p in &report.problems {
        println!("MISMATCH {p}");
    }
    let scope = if report.files > 0 {
        format!("{} records and {} files", report.records, report.files)
    } else {
        format!("{} records", report.records)
    };
    if report.is_ok() {
        let note = if report.checked_with_key || report.files > 0 {
            ""
        } else {
            " (chain only: give --key-file to also check the sealed head and encrypted fields)"
        };
        println!("OK: {scope} verified{note}");
    } else {
        println!("FAILED: {} problem(s) in {scope}", report.problems.len());
    }
    Ok(())
}

fn local_time(ms: i64, offset: i32) -> String {
    let secs = (ms / 1000) + i64::from(offset) * 60;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970 (Howard Hinnant).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let sign = if offset < 0 { '-' } else { '+' };
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} {sign}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        offset.unsigned_abs() / 60,
        offset.unsigned_abs() % 60
    )
}
