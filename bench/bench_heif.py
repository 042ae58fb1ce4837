#!/usr/bin/env python3
"""faceup detect on a 12-megapixel HEIC (and AVIF) against libheif's own full decode of the
same file, in one run.

Usage: bench/bench_heif.py [--build build] [--runs 15] [--rounds 3] [--avif]
  1. makes a 4000x3000 photo from samples/grace_hopper.jpg, turned 90 degrees, and encodes it
     with libheif's heif-enc (libheif-examples) at quality 90 (a HEIC, or an AVIF with --avif);
  2. on one core (taskset -c 0), in process: bench_heif_decode (libheif: read the file, decode
     the primary image to 8-bit RGB) and bench_latency (faceup_detect on the same bytes), each
     the median of --runs, alternated for --rounds; prints each round and the median of the
     rounds' ratios (the target: at most 1.3x);
  3. peak resident memory of `faceup detect` on the file (target: under 128 MB).
"""
import argparse, os, re, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def median_ms(out):
    m = re.search(r"median ([\d.]+) ms", out)
    if not m:
        sys.exit(f"no median in: {out}")
    return float(m.group(1))


def make_input(tmp, avif):
    from PIL import Image
    hopper = Image.open(os.path.join(ROOT, "samples", "grace_hopper.jpg")).convert("RGB")
    big = hopper.resize((4000, 4688)).crop((0, 0, 4000, 3000))
    png = os.path.join(tmp, "photo_12mp.png")
    big.transpose(Image.Transpose.ROTATE_270).save(png)
    out = os.path.join(tmp, "photo_12mp." + ("avif" if avif else "heic"))
    subprocess.run(["heif-enc", "-q", "90", "-o", out, png] + (["-A"] if avif else []),
                   check=True, capture_output=True)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--avif", action="store_true")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        img = make_input(tmp, a.avif)
        print(f"input: {os.path.basename(img)}, {os.path.getsize(img)} bytes, 4000x3000")
        one = ["taskset", "-c", "0"]
        ratios = []
        for r in range(a.rounds):  # alternated, so that a load on the machine hits both sides
            ref = subprocess.run(one + [os.path.join(a.build, "bench_heif_decode"), img,
                                        str(a.runs)], capture_output=True, text=True,
                                 check=True).stdout.strip()
            det = subprocess.run(one + [os.path.join(a.build, "bench_latency"), img,
                                        str(a.runs)], capture_output=True, text=True,
                                 check=True).stdout.strip()
            ratios.append(median_ms(det) / median_ms(ref))
            print(f"round {r + 1}: libheif decode: {ref}")
            print(f"round {r + 1}: faceup detect:  {det}")
            print(f"round {r + 1}: ratio {ratios[-1]:.2f}x")
        ratios.sort()
        print(f"ratio (faceup detect / libheif decode), median of {a.rounds} rounds: "
              f"{ratios[len(ratios) // 2]:.2f}x (target <= 1.3x)")
        # peak RSS of one `faceup detect` process alone (a fresh parent, so that ru_maxrss of
        # its children is that process's)
        probe = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, "
                 "capture_output=True); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
        kb = int(subprocess.run([sys.executable, "-c", probe, os.path.join(a.build, "faceup"),
                                 "detect", img], capture_output=True, text=True,
                                check=True).stdout)
        print(f"peak RSS of faceup detect: {kb / 1024:.1f} MB (target < 128 MB)")


if __name__ == "__main__":
    main()
