#!/usr/bin/env python3
"""Peak memory of faceup on decompression bombs (issue 12): what each command holds, by the
peak RSS of the process itself (wait4 of a child forked from a small trampoline, so the RSS of
this script does not count). The bombs are made here, at run time (tests/bombs.py):

  png16   6900x6900 RGBA 16-bit PNG (~370 KB)       webp  10000x10000 lossless WebP (30 bytes)
  png8    10000x10000 RGB PNG (~290 KB)             jpeg  10000x10000 progressive 4:4:4 JPEG (~1.2 MB)

Targets: detect <= 96 MB or a clear refusal; fix of png16 <= 1.2 x one decoded copy + 64 MB;
serve --threads 4 --max-memory 1G with 4 clients posting png16 to /v1/fix at once: peak RSS
<= 1.1 GB, every answer 200 or 503.

    python3 bench/bench_memory.py [--build build]    (Pillow makes the JPEG)
"""
import argparse
import concurrent.futures
import os
import pathlib
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
import bombs  # noqa: E402

MB = 1e6


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    args = ap.parse_args()
    faceup = os.path.join(args.build, "faceup")
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="bench_memory-"))
    files = {
        "png16": bombs.png(str(tmp / "png16.png"), 6900, 6900, depth=16, colour=6),
        "png8": bombs.png(str(tmp / "png8.png"), 10000, 10000),
        "webp": bombs.webp_lossless(str(tmp / "webp.webp"), 10000, 10000),
        "jpeg": bombs.jpeg_progressive(str(tmp / "jpeg.jpg"), 10000, 10000),
    }
    print(f"{'command':58} {'exit':>4} {'peak RSS':>10}  answer")
    for budget in (None, 96 << 20):
        for name, path in files.items():
            extra = ["--max-memory", str(budget)] if budget else []
            rc, out, err, rss = bombs.run_rss([faceup, "detect", *extra, path])
            answer = (out.splitlines()[-1] if out else err).split(None, 1)[-1][:70]
            print(f"{'detect ' + ' '.join(extra) + ' ' + name:58} {rc:>4} {rss / MB:>7.0f} MB  "
                  f"{answer}")
    out = tmp / "out"
    out.mkdir()
    rc, so, err, rss = bombs.run_rss([faceup, "fix", "--orientation", "90", "-o", str(out),
                                      files["png16"]])
    one = 6900 * 6900 * 8
    print(f"{'fix --orientation 90 png16':58} {rc:>4} {rss / MB:>7.0f} MB  "
          f"target {(1.2 * one + 64e6) / MB:.0f} MB (one copy {one / MB:.0f} MB)")

    body = open(files["png16"], "rb").read()
    srv = bombs.Server(faceup, tmp, "--threads", "4", "--max-memory", str(1 << 30),
                       "--queue", "16")
    try:
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda _: srv.post("/v1/fix?orientation=90", body)[0],
                                    range(4)))
    finally:
        rss = srv.stop()
    print(f"{'serve --threads 4 --max-memory 1G, 4 x POST png16':58} {'':>4} {rss / MB:>7.0f} MB  "
          f"statuses {sorted(answers)}")


if __name__ == "__main__":
    main()
