//! Where inference time goes: runs the model a few times and sums wall time per operator type.
//! `cargo run --release -p veil-core --example profile_model -- models/open-nsfw.onnx`

use std::collections::HashMap;
use std::time::Instant;
use tract_onnx::prelude::*;
fn main() -> TractResult<()> {
    let path = std::env::args().nth(1).unwrap();
    let t = Instant::now();
    let model = tract_onnx::onnx()
        .model_for_path(&path)?
        .with_input_fact(0, f32::fact([1, 224, 224, 3]).into())?;
    let typed = model.into_typed()?;
    let t1 = t.elapsed();
    let decl = typed.into_decluttered()?;
    let opt = decl.clone().into_optimized()?;
    println!("load {:?} total {:?}", t1, t.elapsed());
    let plan = opt.into_runnable()?;
    let input: Tensor = tract_ndarray::Array4::<f32>::from_elem((1, 224, 224, 3), 10.0).into();
    for _ in 0..3 {
        plan.run(tvec!(input.clone().into()))?;
    }
    let mut times: HashMap<String, (f64, usize)> = HashMap::new();
    let n = 10;
    let t = Instant::now();
    for _ in 0..n {
        let mut state = plan.spawn()?;
        state.run_plan_with_eval(tvec!(input.clone().into()), |s, st, node, inputs| {
            let t = Instant::now();
            let r = tract_onnx::tract_core::plan::eval(s, st, node, inputs);
            let e = times.entry(node.op.name().to_string()).or_default();
            e.0 += t.elapsed().as_secs_f64() * 1000.0;
            e.1 += 1;
            r
        })?;
    }
    println!(
        "per run {:.2} ms",
        t.elapsed().as_secs_f64() * 1000.0 / n as f64
    );
    let mut v: Vec<_> = times.into_iter().collect();
    v.sort_by(|a, b| b.1 .0.partial_cmp(&a.1 .0).unwrap());
    for (k, (ms, c)) in v.iter().take(15) {
        println!("{:40} {:8.2} ms/run  {} nodes", k, ms / n as f64, c / n);
    }
    Ok(())
}
