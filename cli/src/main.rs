//! `veil`: scan images for explicit content, write blurred previews, inspect the model, and
//! (with an evidence database) keep and export a tamper-evident record.
//!
//! Exit codes: 0 nothing flagged, 1 something flagged (or, for `verify`, something does not
//! verify), 2 usage errors or a failure to start (no model, unreadable key).

mod bench;
mod blur_cmd;
mod evidence_cmd;
mod inputs;
mod model_arg;
mod model_cmd;
mod report;
mod scan;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Veil: an on-device cyberflashing filter.
#[derive(Parser, Debug)]
#[command(name = "veil", version, about, propagate_version = true)]
struct Cli {
    /// Log what Veil does (repeat for more detail: -v info, -vv debug).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Scan image files and folders (recursively) and print a verdict for each.
    Scan(scan::ScanArgs),
    /// Write a blurred preview of an image.
    Blur(blur_cmd::BlurArgs),
    /// Information about the model.
    Model {
        #[command(subcommand)]
        command: model_cmd::ModelCommand,
    },
    /// Time model loading, inference and file-to-verdict scans (for performance comparisons).
    Bench(bench::BenchArgs),
    /// The evidence database: list, show, export, verify, retention, wipe.
    Evidence(evidence_cmd::EvidenceArgs),
}

/// The exit code for usage errors and failures to start.
pub(crate) const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let level = match cli.verbose {
        0 => log::LevelFilter::Warn,
        1 => log::LevelFilter::Info,
        _ => log::LevelFilter::Debug,
    };
    env_logger::Builder::new()
        .filter_level(level)
        .format_timestamp_millis()
        .init();
    let result = match cli.command {
        Command::Scan(args) => scan::run(args),
        Command::Blur(args) => blur_cmd::run(args),
        Command::Model { command } => model_cmd::run(command),
        Command::Bench(args) => bench::run(args),
        Command::Evidence(args) => evidence_cmd::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("veil: {e}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}
