"""faceup on Ray: `faceup-ray` and the faceup.ray classes on a real cluster of two Ray nodes
(a head and a second node, each started with `ray start`, on loopback addresses: see
ray_cluster.py), started and stopped here; and `faceup-ray` starting its own local Ray.

`faceup-ray detect` must print what `faceup detect --json` prints, byte for byte; `faceup-ray
fix -o` must write what `faceup fix -o` writes (same paths, same bytes, same permissions, no
temporary file left) and report what `faceup fix --json -o` reports. Every wait is bounded;
the cluster's processes are all gone at the end.
"""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import faceup
from conftest import FACEUP, SAMPLES, faceup_cli
from ray_cluster import TwoNodeCluster

BIN = Path(sys.executable).parent
RUN_TIMEOUT = 300


@pytest.fixture(scope="module")
def cluster():
    c = TwoNodeCluster(str(BIN / "ray"))
    with c:
        yield c
    assert c.leftover == [], "Ray processes outlived the cluster"


def faceup_ray(env, *args):
    p = subprocess.run([str(BIN / "faceup-ray"), *map(str, args)], env=env, capture_output=True,
                       timeout=RUN_TIMEOUT)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


def inputs(images, tmp_path):
    """Files that exercise every answer and every error of `faceup detect`."""
    files = [images[n] for n in sorted(images)]
    return files + [tmp_path / "missing.jpg", tmp_path]          # gone; a folder


def test_detect_on_two_nodes_prints_what_faceup_detect_prints(cluster, images, tmp_path):
    files = inputs(images, tmp_path)
    expected = faceup_cli("detect", "--json", *map(str, files))
    rc, out, err = faceup_ray(cluster.env, "detect", "--address", cluster.address,
                              "--batch-size", "2", *files)
    assert out == expected.stdout, err
    assert rc == expected.returncode == 1                        # some inputs are not images
    assert len(out.splitlines()) == len(files)
    assert "2 workers, 2 nodes" in err, err                      # the work ran on both nodes


def make_tree(root: Path, images) -> None:
    """A folder as `faceup fix -r` walks it: images at several depths, a hidden file, a file
    that is not an image, a symbolic link, a broken image, a read-only one."""
    for rel, name in [("a/hopper.jpg", "hopper_turned_90"), ("a/b/astro.jpg", "astronaut_turned_180"),
                      ("a/b/c/gray.png", "hopper_gray_270"), ("top.webp", "hopper_90_webp"),
                      ("exif.JPG", "hopper_exif6"), ("upright.jpg", "grace_hopper"),
                      ("mcu.jpeg", "hopper_mcu_90"), ("noface.png", "noface"),
                      ("broken.jpg", "truncated"), (".hidden.jpg", "hopper_turned_90")]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(images[name], root / rel)
    (root / "notes.txt").write_text("not an image")
    (root / "link.jpg").symlink_to(root / "a" / "hopper.jpg")
    os.chmod(root / "upright.jpg", 0o444)


def tree(root: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(root)): (p.read_bytes(), stat.S_IMODE(p.stat().st_mode))
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_fix_on_two_nodes_writes_what_faceup_fix_writes(cluster, images, tmp_path):
    src = tmp_path / "in"
    make_tree(src, images)
    single = images["astronaut_turned_180"]
    args = ["-r", src, single, tmp_path / "missing.jpg"]
    out = tmp_path / "out"
    expected = faceup_cli("fix", "--json", "-o", str(out), *map(str, args))
    assert expected.returncode == 1
    cli_tree = tree(out)
    out.rename(tmp_path / "out.cli")
    rc, report, err = faceup_ray(cluster.env, "fix", "--address", cluster.address, "-o", out,
                                 "--batch-size", "2", *args)
    assert report == expected.stdout, err
    assert rc == expected.returncode
    got = tree(out)
    assert got == cli_tree                       # same paths, bytes and permissions
    assert "a/b/c/gray.png" in got and not any(".faceup-" in p for p in got)
    assert "2 nodes" in err and "errors" in err
    for line in report.decode().splitlines():    # and the report says where each went
        o = json.loads(line)
        assert o["output"] is None or Path(o["output"]).is_file()


def test_fix_options_reach_the_workers(cluster, images, tmp_path):
    args = [images["hopper_mcu_90"], images["hopper_exif6"]]
    for opts in (["--min-confidence", "1"], ["--strip-metadata"]):
        out = tmp_path / "out"
        expected = faceup_cli("fix", "--json", "-o", str(out), *opts, *map(str, args))
        cli_tree = tree(out)
        shutil.rmtree(out)
        rc, report, err = faceup_ray(cluster.env, "fix", "--address", cluster.address, "-o", out,
                                     *opts, *args)
        assert (rc, report) == (0, expected.stdout), err
        assert tree(out) == cli_tree
        shutil.rmtree(out)


DATASETS = r"""
import json, sys
import numpy as np, ray, faceup, faceup.ray
ray.init(address=sys.argv[1])
files, pngs = json.loads(sys.argv[2]), json.loads(sys.argv[3])
pool = dict(batch_size=2, num_cpus=1, compute=ray.data.ActorPoolStrategy(size=1))
out = {}
rows = ray.data.read_binary_files(files, include_paths=True).map_batches(
    faceup.ray.Detect, **pool).take_all()
out["bytes"] = {r["path"]: [int(r["orientation"]), float(r["confidence"]), int(r["faces"]),
                            int(r["exif_orientation"]), bool(r["faces_disagree"]), r["result"],
                            r["error"]] for r in rows}
rows = ray.data.read_images(pngs, include_paths=True, mode="RGB").map_batches(
    faceup.ray.Detect, fn_constructor_kwargs={"detail": 640}, **pool).take_all()
out["image"] = {r["path"]: [int(r["orientation"]), r["result"], r["error"]] for r in rows}
rows = ray.data.read_binary_files(files, include_paths=True).map_batches(
    faceup.ray.Fix, fn_constructor_kwargs={"min_confidence": 0.9}, **pool).take_all()
out["fix"] = {r["path"]: [bytes(r["upright"]).hex(), int(r["rotated"]), r["fix"], r["error"]]
              for r in rows}
ray.shutdown()
print(json.dumps(out))
"""


def test_the_map_batches_classes_on_bytes_and_on_images(cluster, images):
    names = ["hopper_turned_90", "hopper_exif6", "noface", "truncated", "notimage",
             "hopper_90_webp"]
    files = [str(images[n]) for n in names]
    pngs = [str(images[n]) for n in ("hopper_90", "astronaut_90", "noface")]
    p = subprocess.run([sys.executable, "-c", DATASETS, cluster.address, json.dumps(files),
                        json.dumps(pngs)], env=cluster.env, capture_output=True, text=True,
                       timeout=RUN_TIMEOUT)
    assert p.returncode == 0, p.stderr[-3000:]
    got = json.loads(p.stdout.splitlines()[-1])
    for f in files:
        [orientation, confidence, faces, exif, disagree, result, error] = got["bytes"][f]
        try:
            r = faceup.detect(Path(f).read_bytes())
        except faceup.Error as e:
            assert (orientation, error) == (-1, e.message)
            assert json.loads(result)["error"] == e.message
            assert got["fix"][f][3] == e.message
            continue
        assert error == "" and result == r.to_json()
        assert (orientation, confidence, faces, exif, disagree) == (
            -1 if r.orientation is None else r.orientation, r.confidence, len(r.faces),
            r.exif_orientation or 0, r.faces_disagree)
        fixed = faceup.fix(Path(f).read_bytes(), min_confidence=0.9)
        assert got["fix"][f] == [fixed.data.hex(), fixed.rotated, fixed.path, ""]
    import numpy as np
    from PIL import Image
    for f in pngs:
        r = faceup.detect(np.asarray(Image.open(f).convert("RGB")))
        assert got["image"][f] == [-1 if r.orientation is None else r.orientation,
                                   r.to_json(), ""]


def test_without_address_it_starts_and_stops_a_local_ray(images, tmp_path):
    home = tempfile.mkdtemp(prefix="ful", dir="/tmp")     # short: Ray's socket paths
    env = dict(os.environ, HOME=home, RAY_TMPDIR=home, RAY_USAGE_STATS_ENABLED="0")
    env.pop("RAY_ADDRESS", None)
    try:
        files = sorted(SAMPLES.glob("*.jpg"))
        expected = faceup_cli("detect", "--json", *map(str, files))
        rc, out, err = faceup_ray(env, "detect", *files)
        assert (rc, out) == (0, expected.stdout), err
        assert "1 nodes" in err
        own = [pid for pid in os.listdir("/proc") if pid.isdigit() and
               home.encode() in _environ(pid)]
        assert own == [], "the local Ray outlived faceup-ray"
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _environ(pid: str) -> bytes:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return f.read()
    except OSError:
        return b""


def test_usage_errors_exit_2(tmp_path):
    for args in ([], ["detect"], ["fix", str(SAMPLES)], ["frobnicate", "x"],
                 ["detect", "--workers", "0", "x.jpg"]):
        rc, _, _ = faceup_ray(os.environ, *args)
        assert rc == 2, args
    rc, out, _ = faceup_ray(os.environ, "detect", "--help")
    assert rc == 0 and b"--address" in out
    assert FACEUP.exists()
