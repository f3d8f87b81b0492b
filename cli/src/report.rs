//! What `veil scan` prints: JSON lines for scripts, a table and a summary for people.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use veil_core::{Action, ScanOutcome};

/// One input's result.
#[derive(Debug, Serialize)]
pub struct Line {
    path: String,
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    score: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    labels: Option<BTreeMap<String, f32>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    action: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    width: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    height: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    format: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    frames_scanned: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    preview: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorInfo>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) extra: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Serialize)]
struct ErrorInfo {
    kind: String,
    message: String,
}

impl Line {
    /// A scanned input; `preview` is where its blurred preview went, if one was written.
    pub fn scanned(
        path: &Path,
        outcome: &ScanOutcome,
        preview: Option<Result<PathBuf, String>>,
    ) -> Line {
        let mut line = Line::empty(path, true);
        let v = &outcome.verdict;
        line.score = Some(v.explicit_score);
        line.labels = Some(v.labels.clone());
        line.action = Some(v.action.name());
        line.reason = Some(v.reason.clone());
        line.width = Some(outcome.image.width);
        line.height = Some(outcome.image.height);
        line.format = Some(outcome.image.format.name());
        line.frames_scanned = Some(outcome.image.frames_scanned);
        match preview {
            Some(Ok(p)) => line.preview = Some(p),
            Some(Err(e)) => log::warn!("{e}"),
            None => {}
        }
        line
    }

    /// An input that could not be scanned.
    pub fn failed(path: &Path, error: &veil_core::Error) -> Line {
        let mut line = Line::empty(path, false);
        line.error = Some(ErrorInfo {
            kind: error.kind().to_string(),
            message: error.to_string(),
        });
        line
    }

    fn empty(path: &Path, ok: bool) -> Line {
        Line {
            path: path.display().to_string(),
            ok,
            score: None,
            labels: None,
            action: None,
            reason: None,
            width: None,
            height: None,
            format: None,
            frames_scanned: None,
            preview: None,
            error: None,
            extra: BTreeMap::new(),
        }
    }

    /// Whether this input was flagged.
    pub fn flagged(&self) -> bool {
        self.action == Some(Action::Blur.name())
    }
}

/// Prints one line, as JSON or as a table row.
pub fn print(line: &Line, json: bool) {
    if json {
        match serde_json::to_string(line) {
            Ok(text) => println!("{text}"),
            Err(e) => eprintln!("veil: cannot serialise result: {e}"),
        }
        return;
    }
    match (&line.error, line.score, line.action) {
        (Some(err), _, _) => println!(
            "{:<6} {:>6}  {}  [{}] {}",
            "ERROR", "-", line.path, err.kind, err.message
        ),
        (None, Some(score), Some(action)) => {
            println!("{:<6} {:>6.3}  {}", action.to_uppercase(), score, line.path);
            if let Some(p) = &line.preview {
                println!("{:<6} {:>6}  preview: {}", "", "", p.display());
            }
        }
        _ => {}
    }
}

/// Counts for the closing summary.
#[derive(Debug, Default)]
pub struct Summary {
    /// Inputs seen.
    pub total: usize,
    /// Inputs flagged.
    pub flagged: usize,
    /// Inputs that could not be read.
    pub errors: usize,
}

impl Summary {
    /// Counts one line.
    pub fn add(&mut self, line: &Line) {
        self.total += 1;
        if line.error.is_some() {
            self.errors += 1;
        } else if line.flagged() {
            self.flagged += 1;
        }
    }

    /// Prints the summary table.
    pub fn print(&self, elapsed: Duration) {
        let allowed = self.total - self.flagged - self.errors;
        println!();
        println!("{:<10} {:>6}", "scanned", self.total);
        println!("{:<10} {:>6}", "allowed", allowed);
        println!("{:<10} {:>6}", "blurred", self.flagged);
        println!("{:<10} {:>6}", "errors", self.errors);
        println!("{:<10} {:>6.2}s", "time", elapsed.as_secs_f64());
    }
}

/// A progress bar on stderr for long interactive runs; hidden for JSON and short runs.
pub fn progress_bar(len: usize, json: bool) -> ProgressBar {
    if json || len < 8 {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len as u64);
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} {elapsed} eta {eta}") {
        bar.set_style(style);
    }
    bar
}
