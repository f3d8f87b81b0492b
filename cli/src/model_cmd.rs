//! `veil model info`: what model is in use, where its weights are, and how it is fed.

use std::process::ExitCode;
use std::time::Instant;

use clap::Subcommand;
use veil_core::Sensitivity;

use crate::model_arg;

/// Subcommands of `veil model`.
#[derive(Subcommand, Debug)]
pub enum ModelCommand {
    /// Load the model and describe it.
    Info {
        /// Model: a manifest name, a manifest .json, or .onnx weights.
        #[arg(long, value_name = "NAME|PATH")]
        model: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `veil model ...`.
pub fn run(command: ModelCommand) -> Result<ExitCode, String> {
    let ModelCommand::Info { model, json } = command;
    let started = Instant::now();
    let classifier = model_arg::load(model.as_deref()).map_err(|e| e.to_string())?;
    let load_ms = started.elapsed().as_secs_f64() * 1000.0;
    let m = classifier.manifest();
    if json {
        let value = serde_json::json!({ "manifest": m, "load_ms": load_ms });
        println!("{value}");
        return Ok(ExitCode::SUCCESS);
    }
    println!("name          {}", m.name);
    println!("version       {}", m.version);
    println!("description   {}", m.description);
    println!("weights       {} (sha256 {})", m.file, m.sha256);
    println!("license       {}", m.license);
    println!(
        "input         {:?} {}x{}x3",
        m.input.layout, m.input.width, m.input.height
    );
    let p = &m.preprocessing;
    println!(
        "preprocess    resize {}x{}, centre crop {}x{}, jpeg round trip {:?}, {:?}, mean {:?}, scale {}",
        p.resize.width, p.resize.height, p.center_crop.width, p.center_crop.height, p.jpeg_roundtrip_quality, p.channel_order, p.mean, p.scale
    );
    println!(
        "labels        {} (explicit: {})",
        m.output.labels.join(", "),
        m.output.explicit_labels.join(", ")
    );
    for s in [
        Sensitivity::Strict,
        Sensitivity::Balanced,
        Sensitivity::Relaxed,
    ] {
        println!(
            "threshold     {:<9} {:.2} (known contact)",
            s.name(),
            s.threshold()
        );
    }
    println!("load time     {load_ms:.0} ms");
    Ok(ExitCode::SUCCESS)
}
