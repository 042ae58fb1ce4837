"""The wheel: one cp311-abi3 file holding the package and the extension with libfaceup inside;
it installs in a fresh venv (no numpy, no Pillow, no build tree, no network) and works there."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import BUILD, ROOT, SAMPLES, cli_detect


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    given = os.environ.get("FACEUP_WHEEL")
    if given:
        return Path(given)
    # none given: build one, as `pip wheel .` does, with the build tools of this venv
    out = tmp_path_factory.mktemp("dist")
    model = BUILD / "model" / "face_detection_yunet_2023mar.onnx"
    extra = [f"-Ccmake.define.FACEUP_MODEL={model}"] if model.exists() else []
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-build-isolation",
                    "--no-deps", "-w", str(out), str(ROOT), *extra], check=True, timeout=900)
    [w] = out.glob("faceup-*.whl")
    return w


def test_the_wheel_holds_the_package_and_nothing_else(wheel):
    assert re.fullmatch(r"faceup-\d+\.\d+\.\d+-cp311-abi3-linux_x86_64\.whl", wheel.name)
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        entry_points = z.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    package = {n for n in names if not n.startswith("faceup-")}
    assert package == {"faceup/" + f for f in (
        "__init__.py", "_detector.py", "_errors.py", "_files.py", "_result.py", "_ray_cli.py",
        "ray.py", "_faceup.pyi", "py.typed", "_faceup.abi3.so")}
    assert "faceup-ray = faceup._ray_cli:main" in entry_points


def test_the_wheel_installs_in_a_fresh_venv_and_works_there(wheel, tmp_path):
    venv = tmp_path / "venv"
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q",
                    "--no-deps", "--no-index", str(wheel)], check=True, timeout=300)
    sample = SAMPLES / "hopper_turned_90.jpg"
    script = f"""
import importlib.util, json, os, sys
import faceup
assert faceup.__file__.startswith({str(venv)!r}), faceup.__file__
assert importlib.util.find_spec("numpy") is None and importlib.util.find_spec("PIL") is None
with open({str(sample)!r}, "rb") as f:
    data = f.read()
r = faceup.detect(data)
fixed = faceup.fix(data)
print(json.dumps({{"result": r.to_dict(), "rotated": fixed.rotated, "so": faceup._faceup.__file__}}))
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PATH"] = f"{venv / 'bin'}:/usr/bin:/bin"
    p = subprocess.run([str(py), "-I", "-c", script], cwd=tmp_path, env=env, capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    import json
    got = json.loads(p.stdout)
    [cli] = cli_detect(sample)
    assert got["result"] == {k: v for k, v in cli.items() if k != "file"}
    assert got["rotated"] == 270
    # libfaceup is inside the extension: no libfaceup.so, and no path into this checkout
    so = got["so"]
    ldd = subprocess.run(["ldd", so], capture_output=True, text=True, check=True).stdout
    assert "libfaceup" not in ldd and "not found" not in ldd
    dyn = subprocess.run(["readelf", "-d", so], capture_output=True, text=True, check=True).stdout
    assert "RPATH" not in dyn and "RUNPATH" not in dyn
    syms = subprocess.run(["nm", "-D", "--defined-only", so], capture_output=True, text=True,
                          check=True).stdout.split()
    assert [s for s in syms if s.startswith(("faceup_", "fu_", "Py"))] == ["PyInit__faceup"]
    assert (venv / "bin" / "faceup-ray").exists()
