#!/usr/bin/env python3
"""bench_python.py - what the Python package costs over the C library, against issue 9's targets.

  1. Per-call overhead of faceup.detect(bytes) over the C library's own time, on faces-dev,
     held to CPU 0: for each image RUNS calls of each, alternating faceup.detect() with
     faceup_detect of build/libfaceup.so called through ctypes in the same process; the median
     of the per-image ratios of the medians, and the ratio of the sums (target: under 5 %);
     and the same against build/bench_latency, a C program of its own.
  2. Threads: the same images decided by 1 Python thread and by 2 (a Detector each), 2 cores,
     alternated REPEAT times; the ratio of the median times (target: >= 1.7x), next to
     `faceup detect -j 1` vs `-j 2` on the same files and to two busy loops vs one (what this
     shared machine gives two CPUs at that moment).
  3. Ray: N faces-dev images turned at random into a temporary folder; a cluster of two Ray
     nodes on this machine (python/tests/ray_cluster.py: `ray start --head` and a second
     `ray start`, loopback only, one CPU each); `faceup-ray detect -r FOLDER --address` against
     `faceup detect --json -j 2` on the same files: identical output, and images/second of
     each (faceup-ray's own count, Ray's join excluded, and wall time of the whole command).
     While it runs, the resident memory of the cluster's processes is sampled: what one worker
     and one node cost.

Usage: .venv/bin/python bench/bench_python.py --dev ../shared/data/faces-dev [--build build]
           [--n1 100] [--runs 15] [--n2 300] [--repeat 3] [--n3 1000] [--batch-size 16]
           [--parts 123]
Medians and ratios against a peer in the same run; the machine is shared, so absolute times
drift. Everything is written under a temporary folder removed at the end.
"""
from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import faceup

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python" / "tests"))
from ray_cluster import TwoNodeCluster  # noqa: E402


def dev_paths(dev: Path, n: int) -> list[Path]:
    """n images spread evenly over the manifest (faces of every kind, and no-face photos)."""
    rows = [line.split("\t")[0] for line in (dev / "manifest.tsv").read_text().splitlines()[1:]]
    step = max(1, len(rows) // n)
    return [dev / r for r in rows[::step][:n]]


def c_library(build: Path):
    """faceup_detect of build/libfaceup.so, called through ctypes: the C library's own time,
    measured in this process call by call beside faceup.detect (ctypes adds ~1 us a call)."""
    import ctypes
    lib = ctypes.CDLL(str(build / "libfaceup.so"))
    lib.faceup_create.restype = ctypes.c_void_p
    lib.faceup_detect.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t,
                                  ctypes.POINTER(ctypes.c_void_p)]
    lib.faceup_result_free.argtypes = [ctypes.c_void_p]
    h = lib.faceup_create()

    def detect(data: bytes) -> None:
        r = ctypes.c_void_p()
        if lib.faceup_detect(h, data, len(data), ctypes.byref(r)) != 0:
            raise RuntimeError("faceup_detect failed")
        lib.faceup_result_free(r)
    return detect


def part1(a) -> None:
    paths = dev_paths(a.dev, a.n1)
    print(f"1. per-call overhead: {len(paths)} faces-dev images, {a.runs} calls each, CPU 0")
    os.sched_setaffinity(0, {0})
    d = faceup.Detector()
    c_detect = c_library(a.build)
    # (a) in this process, alternating call by call: faceup.detect(bytes) against
    #     faceup_detect itself (through ctypes), so that load on the machine hits both alike
    ratios, c_all, py_all = [], [], []
    for p in paths:
        data = p.read_bytes()
        d.detect(data)                                   # warm-up: workspaces sized
        c_detect(data)
        tc, tp = [], []
        for _ in range(a.runs):
            t0 = time.perf_counter()
            c_detect(data)
            t1 = time.perf_counter()
            d.detect(data)
            t2 = time.perf_counter()
            tc.append(t1 - t0)
            tp.append(t2 - t1)
        c_all.append(statistics.median(tc) * 1e3)
        py_all.append(statistics.median(tp) * 1e3)
        ratios.append(py_all[-1] / c_all[-1])
    q = statistics.quantiles(ratios, n=10)
    print(f"   (a) alternating calls in one process: faceup.detect / faceup_detect per image "
          f"{statistics.median(ratios):.4f} (p10 {q[0]:.4f}, p90 {q[-1]:.4f}); sums "
          f"{sum(py_all):.0f} ms / {sum(c_all):.0f} ms = {sum(py_all) / sum(c_all):.4f}; "
          f"faceup_detect median {statistics.median(c_all):.2f} ms an image")
    # (b) against build/bench_latency, faceup_detect in a C program of its own
    ratios_b = []
    for p, py_ms in zip(paths, py_all):
        out = subprocess.run(["taskset", "-c", "0", str(a.build / "bench_latency"), str(p),
                              str(a.runs)], capture_output=True, text=True, check=True).stdout
        ratios_b.append(py_ms / float(re.search(r"median ([0-9.]+) ms", out).group(1)))
    os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    print(f"   (b) against build/bench_latency (a C process): median per image "
          f"{statistics.median(ratios_b):.4f}")
    print(f"   overhead {100 * (statistics.median(ratios) - 1):+.2f} % (target < 5 %)")


def ceiling() -> float:
    """How much faster two CPU-bound processes finish than one after the other, now."""
    loop = [sys.executable, "-c", "s = 0\nfor i in range(12_000_000): s += i"]
    t0 = time.perf_counter()
    subprocess.run(loop, check=True)
    one = time.perf_counter() - t0
    t0 = time.perf_counter()
    procs = [subprocess.Popen(loop) for _ in range(2)]
    for p in procs:
        p.wait()
    return 2 * one / (time.perf_counter() - t0)


def threaded(datas: list[bytes], n_threads: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process per wall second) to decide all of `datas`."""
    next_i = iter(range(len(datas)))
    lock = threading.Lock()

    def work() -> None:
        d = faceup.Detector()
        while True:
            with lock:
                i = next(next_i, None)
            if i is None:
                return
            d.detect(datas[i])

    threads = [threading.Thread(target=work) for _ in range(n_threads)]
    c0, t0 = time.process_time(), time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return wall, (time.process_time() - c0) / wall


def part2(a) -> None:
    paths = dev_paths(a.dev, a.n2)
    datas = [p.read_bytes() for p in paths]
    print(f"2. threads: {len(paths)} faces-dev images as bytes, {a.repeat} rounds, "
          f"{os.cpu_count()} CPUs")
    threaded(datas[:20], 2)                                 # warm-up
    t: dict[int, list[float]] = {1: [], 2: []}
    busy: dict[int, list[float]] = {1: [], 2: []}
    cli: dict[int, list[float]] = {1: [], 2: []}
    for _ in range(a.repeat):
        for n in (1, 2):
            wall, cpu = threaded(datas, n)
            t[n].append(wall)
            busy[n].append(cpu)
        for j in (1, 2):
            t0 = time.perf_counter()
            subprocess.run([str(a.build / "faceup"), "detect", "--json", "-j", str(j),
                            *map(str, paths)], capture_output=True, check=True)
            cli[j].append(time.perf_counter() - t0)
    m = {n: statistics.median(v) for n, v in t.items()}
    c = {n: statistics.median(v) for n, v in cli.items()}
    print(f"   Python: 1 thread {m[1]:.2f} s, 2 threads {m[2]:.2f} s: {m[1] / m[2]:.2f}x "
          f"(target >= 1.7x)")
    print(f"   CPUs busy per second of wall time: 1 thread {statistics.median(busy[1]):.2f}, "
          f"2 threads {statistics.median(busy[2]):.2f} (a GIL held would keep it at 1)")
    print(f"   peer, faceup detect: -j 1 {c[1]:.2f} s, -j 2 {c[2]:.2f} s: {c[1] / c[2]:.2f}x")
    print(f"   this machine's ceiling now, two busy loops vs one: {ceiling():.2f}x")


def rss_sampler(cluster: TwoNodeCluster, stop: threading.Event, peak: dict) -> None:
    """Peak resident memory (KiB) of the cluster's processes: each worker, the driver, and the
    rest (Ray's daemons and helper processes), summed at each sample."""
    while not stop.is_set():
        sums = {"workers": 0, "driver": 0, "ray": 0}
        for pid in cluster.own_pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            m = re.search(r"VmRSS:\s+(\d+)", status)
            kb = int(m.group(1)) if m else 0
            kind = ("workers" if b"MapWorker" in cmd else "driver" if b"faceup-ray" in cmd
                    else "ray")
            sums[kind] += kb
            if kind == "workers":
                peak["one worker"] = max(peak.get("one worker", 0), kb)
        for k, v in sums.items():
            peak[k] = max(peak.get(k, 0), v)
        peak["all"] = max(peak.get("all", 0), sum(sums.values()))
        stop.wait(0.5)


def part3(a) -> None:
    paths = dev_paths(a.dev, a.n3)
    tmp = Path(tempfile.mkdtemp(prefix="bench_python"))
    try:
        folder = tmp / "in"
        folder.mkdir()
        rng = random.Random(1)
        for i, src in enumerate(paths):
            turn = rng.choice(["0", "90", "180", "270"])
            dst = folder / f"{i:04d}_{src.name}"
            if turn == "0":
                shutil.copyfile(src, dst)
            else:
                subprocess.run(["jpegtran", "-rotate", turn, "-copy", "all", "-outfile", str(dst),
                                str(src)], check=True)
        files = sorted(str(p) for p in folder.iterdir())
        print(f"3. Ray: {len(files)} faces-dev images turned at random, two Ray nodes of one CPU")
        cli_times, cli_out = [], None
        for _ in range(2):
            t0 = time.perf_counter()
            p = subprocess.run([str(a.build / "faceup"), "detect", "--json", "-j", "2", *files],
                               capture_output=True, check=True)
            cli_times.append(time.perf_counter() - t0)
            cli_out = p.stdout
        with TwoNodeCluster(str(Path(sys.executable).parent / "ray")) as c:
            stop, peak = threading.Event(), {}
            sampler = threading.Thread(target=rss_sampler, args=(c, stop, peak))
            sampler.start()
            t0 = time.perf_counter()
            r = subprocess.run([str(Path(sys.executable).parent / "faceup-ray"), "detect",
                                "--address", c.address, "--batch-size", str(a.batch_size),
                                "-r", str(folder)], env=c.env,
                               capture_output=True, timeout=1800)
            ray_wall = time.perf_counter() - t0
            stop.set()
            sampler.join()
        summary = r.stderr.decode(errors="replace").strip().splitlines()[-1]
        ray_rate = float(re.search(r"then ([0-9.]+) images/s", summary).group(1))
        startup = float(re.search(r"first results after ([0-9.]+) s", summary).group(1))
        same = r.stdout == cli_out
        t_cli = statistics.median(cli_times)
        print(f"   output identical to faceup detect --json: {same} "
              f"({len(r.stdout.splitlines())} lines)")
        print(f"   faceup detect -j 2: {t_cli:.1f} s, {len(files) / t_cli:.1f} images/s")
        print(f"   faceup-ray on 2 nodes: {ray_rate:.1f} images/s once its workers are up "
              f"({ray_rate * t_cli / len(files):.2f}x of -j 2; workers up in {startup:.1f} s); "
              f"whole command {ray_wall:.1f} s, {len(files) / ray_wall:.1f} images/s "
              f"({t_cli / ray_wall:.2f}x of -j 2)")
        print(f"   {summary}")
        print("   peak resident memory, MiB: " + ", ".join(
            f"{k} {peak.get(k, 0) / 1024:.0f}" for k in ("one worker", "workers", "driver",
                                                           "ray", "all")))
        if not same:
            sys.exit("faceup-ray and faceup detect disagree")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dev", type=Path, required=True)
    ap.add_argument("--build", type=Path, default=ROOT / "build")
    ap.add_argument("--n1", type=int, default=100)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--n2", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--n3", type=int, default=1000)
    ap.add_argument("--batch-size", type=int, default=16, help="faceup-ray's")
    ap.add_argument("--parts", default="123")
    a = ap.parse_args()
    print(f"faceup {faceup.__version__} from {Path(faceup.__file__).parent}; "
          f"load average {os.getloadavg()[0]:.1f}")
    for k, f in (("1", part1), ("2", part2), ("3", part3)):
        if k in a.parts:
            f(a)


if __name__ == "__main__":
    main()
