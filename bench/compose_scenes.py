#!/usr/bin/env python3
"""Compose large photos with several small faces, as a set orient_eval.py can score.

Each scene is one of the set's no-face photos scaled so its longer side is --side px, with
--faces face photos of the same set pasted upright at random places, each --face-px wide, under
a feathered oval so no hard edge marks it. Writes OUT/manifest.tsv and OUT/images/composed/*.jpg
(kind 'face'); orient_eval.py then turns every scene four ways as for any face photo.

Usage: bench/compose_scenes.py --set ../shared/data/faces-dev --out /tmp/scenes1024 [--n 200]
       [--side 1024] [--faces 2-5] [--face-px 48-160] [--seed 1] [--sources lfw,scenes,...]
--sources keeps only the photos of those source folders (images/SOURCE/...): the decision's fit
composes each fold's scenes from that fold's own sources (tools/retrain.sh).
The scenes are measurement inputs: they stay outside the repository, like the set they are made of.
"""
import argparse, os, random

from PIL import Image, ImageDraw, ImageFilter


def rows(set_dir):
    faces, backgrounds = [], []
    with open(os.path.join(set_dir, "manifest.tsv"), encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 2 or parts[0] == "path" or line.startswith("#"):
                continue
            (faces if parts[1] == "face" else backgrounds).append(parts[0])
    return faces, backgrounds


def span(text):
    lo, _, hi = text.partition("-")
    return int(lo), int(hi or lo)


def oval_mask(w, h):
    m = Image.new("L", (w, h), 0)
    ImageDraw.Draw(m).ellipse((w * 0.04, h * 0.02, w * 0.96, h * 0.98), fill=255)
    return m.filter(ImageFilter.GaussianBlur(max(1, w // 16)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--side", type=int, default=1024)
    ap.add_argument("--faces", default="2-5")
    ap.add_argument("--face-px", default="48-160")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--sources", help="comma-separated source folders to draw from (default: all)")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    faces, backgrounds = rows(a.set)
    if a.sources:
        keep = {f"images/{name}/" for name in a.sources.split(",") if name}
        faces = [p for p in faces if any(p.startswith(k) for k in keep)]
        backgrounds = [p for p in backgrounds if any(p.startswith(k) for k in keep)]
    # only photos of one person fill the frame; crowd photos would paste crowds
    faces = [p for p in faces if "/facemask/" not in p and "/groups/" not in p]
    if not faces or not backgrounds:
        raise SystemExit(f"{a.set}: needs face and no-face photos")
    os.makedirs(os.path.join(a.out, "images", "composed"), exist_ok=True)
    lo_n, hi_n = span(a.faces)
    lo_px, hi_px = span(a.face_px)
    with open(os.path.join(a.out, "manifest.tsv"), "w", encoding="utf-8") as man:
        man.write("path\tkind\n")
        for i in range(a.n):
            bg = Image.open(os.path.join(a.set, rng.choice(backgrounds))).convert("RGB")
            s = a.side / max(bg.size)
            bg = bg.resize((max(1, round(bg.width * s)), max(1, round(bg.height * s))), Image.LANCZOS)
            placed = []
            for _ in range(rng.randint(lo_n, hi_n)):
                face = Image.open(os.path.join(a.set, rng.choice(faces))).convert("RGB")
                fw = rng.randint(lo_px, hi_px)
                fh = max(1, round(face.height * fw / face.width))
                face = face.resize((fw, fh), Image.LANCZOS)
                for _ in range(20):   # a place that overlaps no face pasted before
                    x, y = rng.randint(0, max(0, bg.width - fw)), rng.randint(0, max(0, bg.height - fh))
                    if all(x + fw <= px or px + pw <= x or y + fh <= py or py + ph <= y for px, py, pw, ph in placed):
                        break
                else:
                    continue
                bg.paste(face, (x, y), oval_mask(fw, fh))
                placed.append((x, y, fw, fh))
            rel = f"images/composed/scene_{i:04d}.jpg"
            bg.save(os.path.join(a.out, rel), quality=92)
            man.write(f"{rel}\tface\n")
    print(f"wrote {a.n} scenes to {a.out}")


if __name__ == "__main__":
    main()
