"""Shared by the Python package's tests: the CLI they compare against, and the test images.

The images are the public-domain portraits of samples/ and images made from them here (turned,
gray, with alpha, in each format); nothing comes from outside the repository.

    FACEUP_BUILD   the CMake build folder holding the `faceup` CLI (default: build)
    FACEUP_WHEEL   the wheel test_wheel.py installs in a fresh venv (default: one is built)
"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
BUILD = Path(os.environ.get("FACEUP_BUILD", ROOT / "build"))
FACEUP = BUILD / "faceup"
# Pillow transposes that turn an upright image clockwise by the key
TURN_CW = {90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180,
           270: Image.Transpose.ROTATE_90}


def faceup_cli(*args: str, check: bool = False) -> subprocess.CompletedProcess:
    if not FACEUP.exists():
        pytest.fail(f"{FACEUP} missing: build the CLI first (or set FACEUP_BUILD)")
    p = subprocess.run([str(FACEUP), *args], capture_output=True, timeout=300)
    if check:
        assert p.returncode == 0, p.stderr.decode(errors="replace")
    return p


def cli_detect(*paths: str | Path) -> list[dict]:
    """`faceup detect --json` on each path, one object each."""
    out = faceup_cli("detect", "--json", *map(str, paths)).stdout.decode()
    objs = [json.loads(line) for line in out.splitlines()]
    assert len(objs) == len(paths)
    return objs


def turned(img: Image.Image, angle: int) -> Image.Image:
    return img.transpose(TURN_CW[angle]) if angle else img.copy()


@pytest.fixture(scope="session")
def images(tmp_path_factory) -> dict[str, Path]:
    """name -> path of the test images: samples/*.jpg, and made here:
    hopper_{0,90,180,270}.png, hopper_gray_270.png, astronaut_90.png, hopper_90.webp
    (lossless), hopper_mcu_90.jpg (a whole number of MCUs: turned losslessly), noface.png,
    truncated.jpg, notimage.jpg, empty.jpg."""
    d = tmp_path_factory.mktemp("images")
    out = {p.stem: p for p in sorted(SAMPLES.glob("*.jpg"))}
    hopper = Image.open(SAMPLES / "grace_hopper.jpg").convert("RGB")
    astronaut = Image.open(SAMPLES / "astronaut.jpg").convert("RGB")
    for a in (0, 90, 180, 270):
        out[f"hopper_{a}"] = d / f"hopper_{a}.png"
        turned(hopper, a).save(out[f"hopper_{a}"])
    out["hopper_gray_270"] = d / "hopper_gray_270.png"
    turned(hopper, 270).convert("L").save(out["hopper_gray_270"])
    out["astronaut_90"] = d / "astronaut_90.png"
    turned(astronaut, 90).save(out["astronaut_90"])
    out["hopper_90_webp"] = d / "hopper_90.webp"
    turned(hopper, 90).save(out["hopper_90_webp"], lossless=True)
    out["hopper_mcu_90"] = d / "hopper_mcu_90.jpg"
    turned(hopper.crop((0, 0, 512, 592)), 90).save(out["hopper_mcu_90"], quality=90)
    out["noface"] = d / "noface.png"
    Image.linear_gradient("L").resize((320, 240)).convert("RGB").save(out["noface"])
    jpg = (SAMPLES / "grace_hopper.jpg").read_bytes()
    for name, data in (("truncated", jpg[:2000]), ("notimage", b"hello, not an image\n" * 40),
                       ("empty", b"")):
        out[name] = d / f"{name}.jpg"
        out[name].write_bytes(data)
    return out
