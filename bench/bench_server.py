#!/usr/bin/env python3
"""Throughput and stability of `faceup serve` against the obvious Python service, in one run.

    .venv/bin/python bench/bench_server.py --images /work/shared/data/faces-dev/images/lfw \\
        [--build build] [--concurrency 64] [--duration 60] [--peer-duration 60]

1. Up to --limit JPEGs from --images are each turned by a seeded random multiple of 90 degrees
   (so that /v1/fix has work to do) and re-encoded in memory. Both servers get the same bytes,
   in the same order, at the same concurrency. Images stay where they are: nothing is copied.
2. `faceup serve` (--threads = CPUs) on a free port: --warmup seconds of load, then --duration
   seconds of --concurrency keep-alive connections, each sending POST /v1/fix back to back.
   Every latency is kept; an error is a status other than 200, a missing X-Faceup-Orientation,
   or a broken connection. The server's resident memory (VmRSS, its children included) is read
   every second.
3. The peer, bench/peers/fastapi_yunet.py (FastAPI + uvicorn + OpenCV YuNet, the four-turn rule
   of shared/eval/peers/yunet_opencv.py), in a venv of its own under the build folder,
   pip-installed from PEER_PINS, uvicorn --workers = CPUs: the same load.
4. Prints requests/s, errors, latency percentiles, memory over time, agreement with the turn
   applied, and the throughput ratio.

The load generator runs on the same machine (asyncio, one thread) and takes some CPU from
whichever server is measured; it is the same for both. Benchmarks measure; they assert nothing.
"""
import argparse
import asyncio
import io
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request

from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PEER_PINS = ["fastapi==0.165.0", "uvicorn==0.54.0", "opencv-python-headless==4.14.0.94",
             "numpy==2.4.6"]
MODEL_NAME = "face_detection_yunet_2023mar.onnx"


# --- the images -----------------------------------------------------------------------------------

def load_images(folder, limit, seed):
    names = sorted(n for n in os.listdir(folder) if n.lower().endswith((".jpg", ".jpeg")))[:limit]
    rng = random.Random(seed)
    images = []
    for n in names:
        turn = rng.choice([0, 90, 180, 270])   # clockwise; Image.rotate turns counter-clockwise
        img = Image.open(os.path.join(folder, n)).convert("RGB").rotate(-turn, expand=True)
        out = io.BytesIO()
        img.save(out, "JPEG", quality=92)
        images.append((out.getvalue(), turn))
    if not images:
        sys.exit(f"no JPEG in {folder}")
    return images


# --- servers --------------------------------------------------------------------------------------

def rss_kib(pid):
    """VmRSS of pid and its direct children, in KiB (0 once gone)."""
    pids = [pid]
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read()
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    pids.append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    total = 0
    for p in pids:
        try:
            m = re.search(r"VmRSS:\s+(\d+)", open(f"/proc/{p}/status").read())
            total += int(m.group(1)) if m else 0
        except OSError:
            pass
    return total


def wait_http(url, proc, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"server exited with {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"{url} never answered")


def start_faceup(build, threads, log, options=("--queue", "1024")):
    proc = subprocess.Popen([os.path.join(build, "faceup"), "serve", "--port", "0",
                             "--threads", str(threads), *options],
                            stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        m = re.search(rb"listening on http://127\.0\.0\.1:(\d+)", open(log.name, "rb").read())
        if m:
            port = int(m.group(1))
            wait_http(f"http://127.0.0.1:{port}/readyz", proc)
            return proc, port
        time.sleep(0.05)
    sys.exit("faceup serve did not start")


def peer_python(build):
    venv = os.path.join(build, "bench-peer-venv")
    py = os.path.join(venv, "bin", "python")
    if not os.path.exists(py):
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    subprocess.run([py, "-m", "pip", "install", "-q", "--disable-pip-version-check", *PEER_PINS],
                   check=True)
    return py


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_peer(build, workers, model, log):
    py = peer_python(build)
    port = free_port()
    env = dict(os.environ, YUNET_MODEL=model)
    proc = subprocess.Popen([py, "-m", "uvicorn", "fastapi_yunet:app", "--app-dir",
                             os.path.join(HERE, "peers"), "--host", "127.0.0.1", "--port", str(port),
                             "--workers", str(workers), "--log-level", "warning",
                             "--no-access-log", "--backlog", "1024"],
                            stdout=subprocess.DEVNULL, stderr=log, env=env)
    wait_http(f"http://127.0.0.1:{port}/docs", proc)
    return proc, port


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


# --- the load -------------------------------------------------------------------------------------

class Stats:
    def __init__(self):
        self.latencies = []
        self.errors = {}
        self.agree = self.decided = 0

    def error(self, why):
        self.errors[why] = self.errors.get(why, 0) + 1


async def one_connection(port, images, start_index, stop_at, measure_from, stats):
    reader = writer = None
    i = start_index
    while time.monotonic() < stop_at:
        body, turn = images[i % len(images)]
        i += 1
        t0 = time.monotonic()
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"POST /v1/fix HTTP/1.1\r\nHost: bench\r\nContent-Type: image/jpeg\r\n"
                         b"Content-Length: %d\r\n\r\n" % len(body) + body)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            headers = dict(line.split(b": ", 1) for line in head.split(b"\r\n")[1:-2])
            headers = {k.lower(): v for k, v in headers.items()}
            await reader.readexactly(int(headers.get(b"content-length", b"0")))
            if headers.get(b"connection", b"").lower() == b"close":
                writer.close()
                writer = None
            error = None
            if status != 200:
                error = f"HTTP {status}"
            elif b"x-faceup-orientation" not in headers:
                error = "no X-Faceup-Orientation"
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as e:
            error = type(e).__name__
            if writer is not None:
                writer.close()
            writer = None
        t1 = time.monotonic()
        if t0 < measure_from:
            continue   # warm-up
        if error:
            stats.error(error)
            continue
        stats.latencies.append(t1 - t0)
        got = headers[b"x-faceup-orientation"].decode()
        if got != "undecided":
            stats.decided += 1
            stats.agree += got == str(turn)
    if writer is not None:
        writer.close()


def run_load(port, images, concurrency, warmup, duration, pid):
    stats = Stats()
    memory = []   # (seconds since measuring started, KiB)
    done = threading.Event()
    t_measure = time.monotonic() + warmup

    def sample():
        while not done.is_set():
            memory.append((time.monotonic() - t_measure, rss_kib(pid)))
            done.wait(1.0)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()

    async def main():
        stop_at = t_measure + duration
        await asyncio.gather(*(one_connection(port, images, k * 7, stop_at, t_measure, stats)
                               for k in range(concurrency)))

    asyncio.run(main())
    done.set()
    sampler.join()
    return stats, memory


def percentile(sorted_values, q):
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def report(name, stats, memory, duration):
    lat = sorted(stats.latencies)
    rps = len(lat) / duration
    errors = sum(stats.errors.values())
    print(f"\n== {name}")
    print(f"requests/s   {rps:.1f}   ({len(lat)} ok in {duration:.0f} s)")
    print(f"errors       {errors}" + (f"  {stats.errors}" if errors else ""))
    print("latency ms   p50 %.1f   p90 %.1f   p99 %.1f   max %.1f" % tuple(
        1000 * percentile(lat, q) for q in (0.5, 0.9, 0.99, 1.0)))
    if stats.decided:
        print(f"agreement    {stats.agree / stats.decided:.3f} of {stats.decided} decided "
              f"with the turn applied ({len(lat) - stats.decided} undecided)")
    after = [(t, kib) for t, kib in memory if t >= 0]
    if after:
        marks = [after[min(len(after) - 1, int(f * (len(after) - 1)))] for f in (0, .25, .5, .75, 1)]
        print("RSS MiB      " + "   ".join(f"t={t:.0f}s {kib / 1024:.1f}" for t, kib in marks))
        first, peak = after[0][1], max(k for _, k in after)
        settled = [k for t, k in after if t >= duration / 4]
        print(f"             after warm-up {first / 1024:.1f}, peak {peak / 1024:.1f}, "
              f"last three quarters {min(settled) / 1024:.1f}..{max(settled) / 1024:.1f}")
    return rps


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", default="/work/shared/data/faces-dev/images/lfw")
    ap.add_argument("--build", default=os.environ.get("FACEUP_BUILD", os.path.join(ROOT, "build")))
    ap.add_argument("--model", help=f"{MODEL_NAME} for the peer (default: BUILD/model/)")
    ap.add_argument("--limit", type=int, default=200, help="images used (default 200)")
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--duration", type=float, default=60, help="seconds measured for faceup")
    ap.add_argument("--peer-duration", type=float, default=None, help="seconds for the peer (default: --duration)")
    ap.add_argument("--warmup", type=float, default=5)
    ap.add_argument("--workers", type=int, default=os.cpu_count(), help="faceup threads and uvicorn workers")
    ap.add_argument("--only", choices=["faceup", "peer"], help="measure one side only")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    model = a.model or os.path.join(a.build, "model", MODEL_NAME)
    peer_duration = a.peer_duration or a.duration

    images = load_images(a.images, a.limit, a.seed)
    print(f"{len(images)} images from {a.images}, {a.concurrency} connections, "
          f"{a.workers} workers, {os.cpu_count()} CPUs, warm-up {a.warmup:.0f} s")
    results = {}
    os.makedirs(a.build, exist_ok=True)
    if a.only in (None, "faceup"):
        with open(os.path.join(a.build, "bench-faceup-serve.log"), "wb") as log:
            proc, port = start_faceup(a.build, a.workers, log)
            stats, memory = run_load(port, images, a.concurrency, a.warmup, a.duration, proc.pid)
            rc = stop(proc)
        results["faceup"] = report(f"faceup serve (exit {rc})", stats, memory, a.duration)
    if a.only in (None, "peer"):
        with open(os.path.join(a.build, "bench-peer.log"), "wb") as log:
            proc, port = start_peer(a.build, a.workers, model, log)
            stats, memory = run_load(port, images, a.concurrency, a.warmup, peer_duration, proc.pid)
            stop(proc)
        results["peer"] = report("FastAPI + uvicorn + OpenCV YuNet (bench/peers/fastapi_yunet.py)",
                                 stats, memory, peer_duration)
    if len(results) == 2 and results["peer"] > 0:
        print(f"\nthroughput ratio faceup / peer: {results['faceup'] / results['peer']:.2f}x")


if __name__ == "__main__":
    main()
