#!/usr/bin/env python3
"""faceup detect against the OpenCV YuNet peer, in one run: accuracy, speed, latency, memory.

Usage: bench/bench_detect.py [--set ../shared/data/faces-dev] [--limit N] [--build build]
  1. orient_eval.py on the set for faceup, then for ../shared/eval/peers/yunet_opencv.py
     (opencv-python-headless from requirements.txt), then for faceup again; prints the summary
     lines and the ratio of ms_per_image against the mean of faceup's two runs, with its span
     (the target: faceup at least 10x lower).
  2. the same on larger photos (target: faceup at least 5x lower): faces-dev's group photos
     (1920 px) and --scenes 1024-px scenes composed from faces-dev by bench/compose_scenes.py
     (seed 1), faceup before and after the peer as in 1.
  3. single-image latency of a 640x480 JPEG on one core (taskset -c 0), median of 100 runs
     in process (bench_latency), and the peer's per-image time on the same file for the ratio.
  4. peak resident memory of `faceup detect` on a 12-megapixel JPEG (target: under 64 MB).
"""
import argparse, os, re, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SHARED = os.path.join(ROOT, "..", "shared")
PY = sys.executable


def summary(out):
    line = [l for l in out.splitlines() if l.startswith("accuracy=")]
    return line[-1] if line else out[-500:]


def ms_of(line):
    m = re.search(r"ms_per_image=([\d.]+)", line)
    return float(m.group(1)) if m else float("nan")


def make_inputs(tmp):
    from PIL import Image
    hopper = Image.open(os.path.join(ROOT, "samples", "grace_hopper.jpg")).convert("RGB")
    small = Image.new("RGB", (640, 480), (40, 60, 80))
    small.paste(hopper.resize((340, 400)).transpose(Image.Transpose.ROTATE_90), (150, 80))
    p640 = os.path.join(tmp, "portrait_640x480.jpg")
    small.save(p640, quality=92)
    big = hopper.resize((4000, 3000 * 600 // 512 // 1)).crop((0, 0, 4000, 3000))
    p12 = os.path.join(tmp, "photo_12mp.jpg")
    big.transpose(Image.Transpose.ROTATE_270).save(p12, quality=92)
    return p640, p12


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", default=os.path.join(SHARED, "data", "faces-dev"))
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--scenes", type=int, default=100, help="composed 1024-px scenes in part 2 (0: none)")
    a = ap.parse_args()
    faceup = os.path.join(a.build, "faceup")
    model = os.path.join(a.build, "model", "face_detection_yunet_2023mar.onnx")
    peer = f"{PY} {os.path.join(SHARED, 'eval', 'peers', 'yunet_opencv.py')} --model {model}"
    ev = [PY, os.path.join(SHARED, "eval", "orient_eval.py"), "--set", a.set] + (["--limit", str(a.limit)] if a.limit else [])

    def paired(ev, label):
        """faceup, the peer, faceup again on one set: a machine that slows down or speeds up
        during the peer's minutes moves both of faceup's runs; the ratio is against their
        mean, with the span against each."""
        def ours():
            line = summary(subprocess.run(ev + ["--sut", f"{faceup} detect --json"], capture_output=True, text=True).stdout)
            print("faceup      ", line, flush=True)
            return ms_of(line)
        runs = [ours()]
        theirs = summary(subprocess.run(ev + ["--sut", peer], capture_output=True, text=True).stdout)
        print("yunet_opencv", theirs, flush=True)
        runs.append(ours())
        t = ms_of(theirs)
        print(f"ms_per_image ratio on {label} (opencv / faceup, mean of faceup's two runs): "
              f"{t / (sum(runs) / 2):.1f}x (against each run: {t / max(runs):.1f}x - {t / min(runs):.1f}x)",
              flush=True)

    print("== accuracy and throughput on", a.set, flush=True)
    paired(ev, "the set")

    if a.scenes or os.path.isdir(os.path.join(a.set, "images", "groups")):
        with tempfile.TemporaryDirectory() as large:
            if a.scenes:
                subprocess.run([PY, os.path.join(HERE, "compose_scenes.py"), "--set", a.set, "--out", large,
                                "--n", str(a.scenes), "--seed", "1"], check=True, capture_output=True)
            else:
                with open(os.path.join(large, "manifest.tsv"), "w") as f:
                    f.write("path\tkind\n")
            groups = os.path.join(a.set, "images", "groups")
            if os.path.isdir(groups):
                os.makedirs(os.path.join(large, "images"), exist_ok=True)
                os.symlink(os.path.abspath(groups), os.path.join(large, "images", "groups"))
                with open(os.path.join(large, "manifest.tsv"), "a") as f:
                    for name in sorted(os.listdir(groups)):
                        f.write(f"images/groups/{name}\tface\n")
            print(f"== larger photos: {a.set}'s group photos and {a.scenes} composed 1024-px scenes", flush=True)
            paired([PY, os.path.join(SHARED, "eval", "orient_eval.py"), "--set", large], "larger photos")

    with tempfile.TemporaryDirectory() as tmp:
        p640, p12 = make_inputs(tmp)
        print("== one 640x480 JPEG on one core", flush=True)
        lat = subprocess.run(["taskset", "-c", "0", os.path.join(a.build, "bench_latency"), p640, "100"],
                             capture_output=True, text=True).stdout.strip()
        print("faceup      ", lat)
        t0 = time.perf_counter()
        n = 10
        subprocess.run(["taskset", "-c", "0"] + peer.split() + [p640] * n, capture_output=True)
        peer_ms = (time.perf_counter() - t0) * 1000 / n
        m = re.search(r"median ([\d.]+) ms", lat)
        print(f"yunet_opencv {peer_ms:.1f} ms per image (10 in one process, start-up included)")
        if m:
            print(f"latency ratio (opencv / faceup): {peer_ms / float(m.group(1)):.1f}x")

        print("== peak resident memory, 12-megapixel JPEG", flush=True)
        # a process of its own, so no earlier child's peak is counted
        out = subprocess.run(["/usr/bin/time", "-f", "%M", faceup, "detect", "--json", p12],
                             capture_output=True, text=True, check=True)
        kb = int(out.stderr.strip().splitlines()[-1])
        print(f"faceup detect: {kb / 1024:.1f} MB max RSS (target < 64 MB)")


if __name__ == "__main__":
    main()
