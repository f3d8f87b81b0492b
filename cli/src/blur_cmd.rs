//! `veil blur IN OUT`: a blurred preview of any image, whatever its verdict.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use veil_core::{decode, scanner::read_bounded, BlurredPreview, DecodeOptions};

/// Arguments of `veil blur`.
#[derive(Args, Debug)]
pub struct BlurArgs {
    /// The image to blur.
    pub input: PathBuf,
    /// Where to write the preview: .png, or JPEG for any other extension.
    pub output: PathBuf,
    /// Long side of the preview, in pixels.
    #[arg(long, default_value_t = 512)]
    pub max_side: u32,
}

/// Writes the preview.
pub fn run(args: BlurArgs) -> Result<ExitCode, String> {
    let options = DecodeOptions::default();
    let bytes =
        read_bounded(&args.input, options.limits.max_input_bytes).map_err(|e| e.to_string())?;
    let decoded = decode::decode_bytes(&bytes, &options)
        .map_err(|e| format!("{}: {e}", args.input.display()))?;
    let preview = BlurredPreview::from_frame(
        &decoded.frames[0],
        decoded.width,
        decoded.height,
        args.max_side,
    )
    .map_err(|e| e.to_string())?;
    let encoded = if args
        .output
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("png"))
    {
        preview.to_png()
    } else {
        preview.to_jpeg(85)
    }
    .map_err(|e| e.to_string())?;
    std::fs::write(&args.output, encoded)
        .map_err(|e| format!("cannot write {}: {e}", args.output.display()))?;
    println!(
        "{} ({}x{})",
        args.output.display(),
        preview.width,
        preview.height
    );
    Ok(ExitCode::SUCCESS)
}
