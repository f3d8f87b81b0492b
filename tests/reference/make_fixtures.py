#!/usr/bin/env python3
"""Regenerate the benign and malformed image fixtures under tests/fixtures/.

Deterministic: the same scikit-image / Pillow versions produce the same bytes.
Benign images come only from scikit-image's bundled ``skimage/data`` folder and
only from images that are public domain or CC0 (see tests/fixtures/LICENSES.md).

Usage (in a throwaway virtualenv with scikit-image and pillow installed):

    python tests/reference/make_fixtures.py
"""

from __future__ import annotations

import struct
import zlib
from io import BytesIO
from pathlib import Path

import numpy as np
from PIL import Image
from skimage import data

ROOT = Path(__file__).resolve().parents[1] / "fixtures"
BENIGN = ROOT / "benign"
BAD = ROOT / "bad"


def fit(img: Image.Image, long_side: int) -> Image.Image:
    """Downscale so the longer side is at most ``long_side`` (never upscale)."""
    w, h = img.size
    scale = long_side / max(w, h)
    if scale >= 1:
        return img
    return img.resize((round(w * scale), round(h * scale)), Image.Resampling.LANCZOS)


def make_benign() -> None:
    BENIGN.mkdir(parents=True, exist_ok=True)

    astronaut = Image.fromarray(data.astronaut())  # 512x512 RGB, NASA, public domain
    rocket = Image.fromarray(data.rocket())  # 640x427 RGB, SpaceX, public domain
    chelsea = Image.fromarray(data.chelsea())  # 451x300 RGB, CC0
    coffee = Image.fromarray(data.coffee())  # 600x400 RGB, CC0
    hubble = Image.fromarray(data.hubble_deep_field())  # 1000x872 RGB, NASA, public domain
    ihc = Image.fromarray(data.immunohistochemistry())  # 512x512 RGB, no known copyright
    camera = Image.fromarray(data.camera())  # 512x512 L, CC0
    coins = Image.fromarray(data.coins())  # 384x303 L, no known copyright

    # Baseline JPEGs (4:2:0 chroma subsampling, Pillow default), quality 90.
    astronaut.save(BENIGN / "astronaut.jpg", quality=90)
    fit(rocket, 512).save(BENIGN / "rocket.jpg", quality=90)

    # Progressive JPEG, 4:4:4, so the decoder sees a second JPEG flavour.
    fit(hubble, 480).save(BENIGN / "hubble_deep_field-progressive.jpg", quality=90,
                          progressive=True, subsampling=0)

    # Plain 8-bit RGB PNG.
    fit(chelsea, 320).save(BENIGN / "chelsea.png", optimize=True)

    # Lossy WebP (VP8).
    fit(coffee, 512).save(BENIGN / "coffee.webp", quality=85, method=6)

    # 24-bit uncompressed BMP.
    fit(hubble, 224).save(BENIGN / "hubble_deep_field.bmp")

    # TIFF, LZW compressed, RGB, 8 bit per sample.
    fit(ihc, 200).save(BENIGN / "immunohistochemistry.tiff", compression="tiff_lzw")

    # Grayscale ("L") PNG and grayscale (single component) JPEG.
    fit(camera, 384).save(BENIGN / "camera-gray.png", optimize=True)
    coins.save(BENIGN / "coins-gray.jpg", quality=90)

    # RGBA PNG with a transparent border fading into an opaque centre.
    small = fit(coffee, 288).convert("RGBA")
    w, h = small.size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    d = np.sqrt(((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2)
    alpha = np.clip((1.0 - d) * 2.5, 0.0, 1.0)
    alpha[: h // 8, :] = 0.0  # a fully transparent band at the top
    rgba = np.asarray(small).copy()
    rgba[..., 3] = (alpha * 255).round().astype(np.uint8)
    Image.fromarray(rgba, "RGBA").save(BENIGN / "coffee-rgba.png", optimize=True)

    # JPEG with EXIF Orientation = 6 ("rotate 90 CW to display").  The stored
    # pixels are the upright photo rotated 90 degrees counter-clockwise, so a
    # viewer honouring the tag shows chelsea upright (landscape 320x213) while
    # the raw pixel buffer is portrait (213x320).
    upright = fit(chelsea, 320)
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # CCW
    exif = Image.Exif()
    exif[0x0112] = 6
    stored.save(BENIGN / "chelsea-exif6.jpg", quality=90, exif=exif.tobytes())

    # Animated GIF: 4 frames, shifted crops of the chelsea photo.
    base = fit(chelsea, 260)  # 260x173
    fw, fh = 200, 133
    frames = []
    for i in range(4):
        x0, y0 = 15 * i, 12 * i
        frames.append(base.crop((x0, y0, x0 + fw, y0 + fh)).quantize(
            colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE))
    frames[0].save(BENIGN / "chelsea-animated.gif", save_all=True,
                   append_images=frames[1:], duration=200, loop=0)


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (struct.pack(">I", len(payload)) + kind + payload
            + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF))


def make_bad() -> None:
    BAD.mkdir(parents=True, exist_ok=True)

    good = (BENIGN / "astronaut.jpg").read_bytes()
    (BAD / "truncated.jpg").write_bytes(good[: int(len(good) * 0.4)])

    rng = np.random.default_rng(20240601)
    (BAD / "random-bytes.jpg").write_bytes(rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())

    (BAD / "empty.jpg").write_bytes(b"")

    # Decompression bomb: IHDR claims 100000 x 100000 RGB, 8 bit; the IDAT holds
    # only one compressed scanline.  Chunk CRCs are valid, so only a size limit
    # (or running out of data) stops a decoder.
    sig = b"\x89PNG\r\n\x1a\n"
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" + b"\x00" * 3 * 100_000, 9)
    bomb = sig + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")
    (BAD / "bomb-100000x100000.png").write_bytes(bomb)

    one = BytesIO()
    Image.new("RGB", (1, 1), (200, 120, 40)).save(one, format="PNG")
    (BAD / "1x1.png").write_bytes(one.getvalue())

    (BAD / "text.png").write_text("This is not a PNG file, just plain text.\n")


if __name__ == "__main__":
    make_benign()
    make_bad()
    for p in sorted(ROOT.rglob("*")):
        if p.is_file():
            print(f"{p.stat().st_size:>8}  {p.relative_to(ROOT)}")
