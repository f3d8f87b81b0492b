//! Where inference time goes: loads the model as the classifier does, runs it a few times, and
//! sums wall time per operator type (and per node with `PER_NODE=1`). `TRACT_CONV=1` leaves
//! every convolution to tract, for comparison with Veil's kernels.
//!
//! `cargo run --release -p veil-core --example profile_model -- models/open-nsfw.onnx`

use std::collections::HashMap;
use std::time::Instant;

use tract_onnx::prelude::*;

fn main() -> TractResult<()> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "models/open-nsfw.onnx".into());
    let started = Instant::now();
    let options = veil_core::LoadOptions {
        gemm_conv: std::env::var_os("TRACT_CONV").is_none(),
        ..Default::default()
    };
    let bytes = std::fs::read(&path)?;
    let plan = veil_core::classifier::optimized_model(
        &bytes,
        &veil_core::ModelManifest::default_model(),
        options,
    )?
    .into_runnable()?;
    println!("load + optimise: {:?}", started.elapsed());

    let input: Tensor = tract_ndarray::Array4::<f32>::from_elem((1, 224, 224, 3), 10.0).into();
    for _ in 0..3 {
        plan.run(tvec!(input.clone().into()))?;
    }
    let runs = 10;
    let mut per_op: HashMap<String, (f64, usize)> = HashMap::new();
    let mut per_node: HashMap<usize, (f64, String)> = HashMap::new();
    let started = Instant::now();
    for _ in 0..runs {
        let mut state = plan.spawn()?;
        state.run_plan_with_eval(
            tvec!(input.clone().into()),
            |session, op_state, node, inputs| {
                let t = Instant::now();
                let result = tract_onnx::tract_core::plan::eval(session, op_state, node, inputs);
                let entry = per_op.entry(node.op.name().to_string()).or_default();
                if std::env::var_os("PER_NODE").is_some() {
                    let e = per_node.entry(node.id).or_insert((
                        0.0,
                        format!(
                            "{} {} {:?}",
                            node.name,
                            node.op.name(),
                            node.op.info().unwrap_or_default()
                        ),
                    ));
                    e.0 += t.elapsed().as_secs_f64() * 1000.0;
                }
                entry.0 += t.elapsed().as_secs_f64() * 1000.0;
                entry.1 += 1;
                result
            },
        )?;
    }
    println!(
        "per run: {:.2} ms",
        started.elapsed().as_secs_f64() * 1000.0 / runs as f64
    );
    let mut rows: Vec<_> = per_op.into_iter().collect();
    rows.sort_by(|a, b| b.1 .0.total_cmp(&a.1 .0));
    for (op, (ms, count)) in rows.iter().take(15) {
        println!(
            "{op:40} {:8.2} ms/run  {} nodes",
            ms / runs as f64,
            count / runs
        );
    }
    let mut nodes: Vec<_> = per_node.into_iter().collect();
    nodes.sort_by_key(|n| n.0);
    for (_, (ms, desc)) in nodes {
        println!("{:8.3} ms  {}", ms / runs as f64, desc);
    }
    Ok(())
}
