#!/usr/bin/env python3
"""Write the seed corpus of fuzz_fix from the unit tests' own fixtures (tests/fixtures, made by
tests/make_fixtures.py): each seed is one plan byte (see fuzz_fix.c) followed by a fixture, so
the seeds reach both calls, every format, both EXIF paths and each output format.

Usage: python3 fuzz/make_fix_corpus.py  (writes fuzz/corpus/fuzz_fix/; standard library only)
"""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
OUT = ROOT / "fuzz" / "corpus" / "fuzz_fix"

# plan byte: bits 0-1 orientation / 90, bit 2 faceup_fix, bit 3 strip metadata,
# bits 4-5 output format (0 same, 1 JPEG, 2 PNG, 3 WebP), bit 6 lossless only
SEEDS = [
    ("orient_6.jpg", 0x00),   # fold EXIF 6 into the pixels, lossless JPEG turn
    ("orient_6.jpg", 0x04),   # the networks decide
    ("rgb420.jpg", 0x01),     # 90: a JPEG turn, chroma subsampled
    ("progressive.jpg", 0x0A),  # 180, metadata stripped
    ("cmyk.jpg", 0x23),       # 270 into PNG
    ("orient_3.png", 0x00),   # PNG with EXIF 3
    ("pal4_trns_adam7.png", 0x11),  # interlaced palette PNG into JPEG
    ("rgba16.png", 0x42),     # lossless only: 180 of a 16-bit PNG
    ("webp_lossy.webp", 0x01),  # lossy WebP: re-encoded
    ("webp_lossy.webp", 0x41),  # ... refused under lossless only
    ("webp_lossless.webp", 0x03),
    ("orient_8.webp", 0x04),
    ("webp_alpha.webp", 0x21),  # WebP with alpha into PNG
]


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for name, how in SEEDS:
        data = (FIXTURES / name).read_bytes()
        stem = name.replace(".", "_")
        (OUT / f"{stem}_{how:02x}").write_bytes(bytes([how]) + data)


if __name__ == "__main__":
    main()
