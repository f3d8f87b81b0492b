#!/usr/bin/env python3
"""Regenerates pdq_expected.json: PDQ hashes of PNG fixtures by the `pdqhash` PyPI package
(Python bindings around Meta's C++ reference implementation), for core/tests/evidence_pdq.rs.

    python3 -m venv /tmp/pdqvenv && /tmp/pdqvenv/bin/pip install pdqhash pillow numpy
    /tmp/pdqvenv/bin/python tests/reference/pdq_reference.py > tests/reference/pdq_expected.json

PNG only: lossless, so both sides hash exactly the same pixels. Alpha is dropped (RGB).
pdqhash.compute returns bits 255..0; printed as hex they match Meta's `toString()`.
"""
import json, sys
from pathlib import Path

import numpy as np
import pdqhash
from PIL import Image

ROOT = Path(__file__).resolve().parents[2] / "tests" / "fixtures"
FILES = ["benign/chelsea.png", "benign/camera-gray.png", "benign/coffee-rgba.png",
         "positive/abstract-field-a.png", "positive/abstract-field-b.png", "positive/abstract-field-c.png"]

out = []
for rel in FILES:
    img = np.array(Image.open(ROOT / rel).convert("RGB"))
    bits, quality = pdqhash.compute(img)
    value = int("".join(str(int(b)) for b in bits), 2)
    out.append({"file": rel, "pdq": f"{value:064x}", "quality": int(quality)})
json.dump({"generator": f"pdqhash {pdqhash.__version__}", "hashes": out}, sys.stdout, indent=2)
print()
