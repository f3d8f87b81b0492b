//! `veil bench`: timings for comparison with the reference pipeline (see
//! scripts/bench_vs_reference.sh). Medians over repeated runs, one thread.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use veil_core::{decode, Classifier, LoadOptions, ModelManifest, Policy, ScanContext, Scanner};

/// Arguments of `veil bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Print one JSON object per file.
    #[arg(long)]
    pub json: bool,
    /// Runs per measurement.
    #[arg(long, default_value_t = 30)]
    pub iterations: usize,
    /// Threads one inference may use.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Leave every convolution to tract's kernels (to compare with Veil's matrix-product path).
    #[arg(long)]
    pub tract_conv: bool,
    /// Images to time (file to verdict, each).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

fn ms(f: impl FnOnce()) -> f64 {
    let t = Instant::now();
    f();
    t.elapsed().as_secs_f64() * 1000.0
}

fn median_min(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0])
}

/// Runs the benchmark.
pub fn run(args: BenchArgs) -> Result<ExitCode, String> {
    let iterations = args.iterations.max(1);
    let path = veil_core::default_model_path().map_err(|e| e.to_string())?;
    let options = LoadOptions {
        threads: args.threads,
        gemm_conv: !args.tract_conv,
    };
    // Timed from the file, as an app loading the model from its storage would.
    let started = Instant::now();
    let classifier = std::fs::read(&path)
        .map_err(|e| format!("{}: {e}", path.display()))
        .and_then(|bytes| {
            Classifier::from_bytes_with_options(&bytes, ModelManifest::default_model(), options)
                .map_err(|e| e.to_string())
        })?;
    let load_ms = started.elapsed().as_secs_f64() * 1000.0;
    let classifier = std::sync::Arc::new(classifier);
    let scanner = Scanner::new(classifier.clone(), Policy::default()).map_err(|e| e.to_string())?;
    let context = ScanContext::default();
    for file in &args.files {
        let bytes = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
        let decoded =
            decode::decode_bytes(&bytes, &Default::default()).map_err(|e| e.to_string())?;
        let tensor =
            veil_core::preprocess::frame_to_tensor(&decoded.frames[0], classifier.manifest())
                .map_err(|e| e.to_string())?;
        // Warm up once, then measure.
        scanner
            .scan_file(file, &context)
            .map_err(|e| e.to_string())?;
        let mut end_to_end = Vec::with_capacity(iterations);
        let mut inference = Vec::with_capacity(iterations);
        let mut decode_times = Vec::with_capacity(iterations);
        for _ in 0..iterations {
            end_to_end.push(ms(|| drop(scanner.scan_file(file, &context))));
            inference.push(ms(|| drop(classifier.classify_tensor(tensor.clone()))));
            decode_times.push(ms(|| {
                drop(decode::decode_bytes(&bytes, &Default::default()))
            }));
        }
        let (e2e_med, e2e_min) = median_min(end_to_end);
        let (inf_med, inf_min) = median_min(inference);
        let (dec_med, _) = median_min(decode_times);
        let rss = peak_rss_mb();
        if args.json {
            let value = serde_json::json!({
                "path": file.display().to_string(),
                "load_ms": load_ms,
                "end_to_end_median_ms": e2e_med,
                "end_to_end_min_ms": e2e_min,
                "inference_median_ms": inf_med,
                "inference_min_ms": inf_min,
                "decode_median_ms": dec_med,
                "peak_rss_mb": rss,
            });
            println!("{value}");
        } else {
            println!(
                "{}: load {load_ms:.0} ms, file-to-verdict {e2e_med:.1} ms (min {e2e_min:.1}), inference {inf_med:.1} ms, decode {dec_med:.1} ms, peak RSS {}",
                file.display(),
                rss.map(|r| format!("{r:.0} MiB")).unwrap_or_else(|| "n/a".into())
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Peak resident memory of this process (Linux), in MiB.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
