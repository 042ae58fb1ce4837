"""What the face-orientation reader learns from and is measured on: crops of faces-train.

Shared by tools/train_reader.py (training) and tools/fit_decision.py (the decision). Nothing here
reads faces-dev.

Source of truth for the boxes: tools/evidence_dump (every YuNet detection of every candidate pass
in the four turns of each upright training photo). From it:
  - faces: clusters of detections found in the upright turn (score >= FACE_SCORE), each with its
    best box; the reader is trained on crops around that box and around the box the detector
    gives the same face in another turn (a natural jitter: that box is what the decision sees
    when the other turn's detection scores best);
  - not faces: the detector's own false positives (any turn, any pass, score >= 0.3) in the
    no-face photos; random background squares of every photo that no detection touches;
    synthetic drawings (shapes, lines, text).
Crops are stored with STORE_CONTEXT times the box's longer side, STORE px square, RGB, black
outside the photo; training cuts the reader's crop out of them with augmentation.

AffectNet blacks out the background in a face-shaped oval whose outline tells up from down. Its
crops are therefore masked to the largest circle around the box centre that stays inside the oval
(a circle looks the same in all four turns), and a random tenth of all other crops get the same
kind of circle, so the circle says nothing about the source either.
"""
import json, math, os, random

import numpy as np
from PIL import Image

STORE = 128
STORE_CONTEXT = 2.6
FACE_SCORE = 0.5
NONFACE_SOURCES = {"scenes", "indoor", "catsdogs", "pets"}
# tight face crops: the whole photo is one face, so no detection in it is a background false positive
TIGHT_SOURCES = {"humans", "lag", "mask12k", "affectnet"}

# Folds for leave-sources-out: each model is trained on the other folds and measured on its own.
FOLDS = [
    ["lfw", "affectnet", "yale", "scenes"],
    ["utkface", "humans", "ekman", "catsdogs"],
    ["mask12k", "happyfaces", "celeba", "indoor"],
    ["lag", "fairface", "facemask", "stockfaces", "pets"],
]


def source_of(rel):
    """The source folder of a photo: the folder under images/ in its path."""
    parts = rel.split("/")
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "images":
            return parts[i + 1]
    return parts[0]


def fold_of(source):
    for i, f in enumerate(FOLDS):
        if source in f:
            return i
    raise KeyError(source)


def load_dump(paths):
    """{rel: (w, h, dets float32 [n, 17])} from evidence_dump JSON lines."""
    out = {}
    for p in paths:
        with open(p) as f:
            for line in f:
                o = json.loads(line)
                if o.get("error"):
                    continue
                d = np.asarray(o["dets"], np.float32).reshape(-1, 17)
                out[o["file"]] = (o["w"], o["h"], d)
    return out


def iou(a, b):
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    return inter / max(1e-6, a[2] * a[3] + b[2] * b[3] - inter)


def inter_over_own(a, b):
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    return max(0.0, x1 - x0) * max(0.0, y1 - y0) / max(1e-6, a[2] * a[3])


def cluster(dets, thr=0.4):
    """Greedy clusters of detections (rows of dets), best score first: list of index lists."""
    order = np.argsort(-dets[:, 6], kind="stable")
    groups = []
    for i in order:
        b = dets[i, 2:6]
        for g in groups:
            if iou(dets[g[0], 2:6], b) >= thr:
                g.append(i)
                break
        else:
            groups.append([i])
    return groups


def faces_of(dets):
    """Upright faces of an upright photo: clusters of upright-turn detections >= FACE_SCORE.
    Returns a list of (best det row, alternative det row from another turn or None)."""
    up = dets[(dets[:, 1] == 0) & (dets[:, 6] >= FACE_SCORE)]
    faces = []
    for g in cluster(up):
        best = up[g[0]]
        others = dets[dets[:, 1] != 0]
        alt = None
        for r in others[np.argsort(-others[:, 6], kind="stable")]:
            if iou(r[2:6], best[2:6]) >= 0.4:
                alt = r
                break
        faces.append((best, alt))
    return faces


def false_positives(dets, source, limit=6):
    """The detector's false positives in a no-face photo: best score first, one per cluster.
    (In face photos, what YuNet finds besides the faces is too often a face after all - a person
    in the background found only turned, half a face at the edge - to be taught as "not a face";
    their backgrounds give random squares instead.)"""
    if source not in NONFACE_SOURCES or not len(dets):
        return []
    return [dets[g[0]] for g in cluster(dets, 0.3)][:limit]


def background_squares(w, h, dets, rng, n):
    """n random squares that no detection of any turn (>= the dump's 0.3) overlaps."""
    out = []
    for _ in range(4 * n):
        if len(out) == n:
            break
        side = rng.uniform(0.12, 0.6) * min(w, h)
        cx, cy = rng.uniform(side / 2, w - side / 2), rng.uniform(side / 2, h - side / 2)
        b = np.array([0, 0, cx - side / 2, cy - side / 2, side, side, 0] + [0] * 10, np.float32)
        if all(iou(b[2:6], m[2:6]) < 0.05 and inter_over_own(m[2:6], b[2:6]) < 0.3 for m in dets):
            out.append(b)
    return out


def synthetic_drawings(n, rng):
    """Flat drawings with no face: shapes, lines and text on plain or graded backgrounds (documents,
    logos, drawings of objects). STORE px RGB crops."""
    from PIL import ImageDraw
    out = []
    for _ in range(n):
        bgc = tuple(rng.randint(0, 255) for _ in range(3))
        im = Image.new("RGB", (STORE, STORE), bgc)
        d = ImageDraw.Draw(im)
        for _ in range(rng.randint(1, 8)):
            col = tuple(rng.randint(0, 255) for _ in range(3))
            x0, y0 = rng.randint(0, STORE), rng.randint(0, STORE)
            x1, y1 = x0 + rng.randint(-60, 60), y0 + rng.randint(-60, 60)
            box = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
            kind = rng.random()
            if kind < 0.3:
                d.ellipse(box, fill=col if rng.random() < 0.6 else None, outline=col, width=rng.randint(1, 5))
            elif kind < 0.55:
                d.rectangle(box, fill=col if rng.random() < 0.6 else None, outline=col, width=rng.randint(1, 5))
            elif kind < 0.75:
                d.line((x0, y0, x1, y1), fill=col, width=rng.randint(1, 6))
            else:
                for row in range(rng.randint(1, 6)):
                    text = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789 ") for _ in range(rng.randint(4, 16)))
                    d.text((rng.randint(0, STORE // 2), y0 % STORE + 12 * row), text, fill=col)
        out.append(np.asarray(im))
    return out


def crop_square(img, cx, cy, side, out):
    """The C library's crop (fu_image_crop_square): a side x side square centred at (cx, cy),
    top-left at (round(cx - side/2), round(cy - side/2)), black outside, area-averaged down or
    bilinear up to out x out. img: PIL RGB."""
    s = max(1, int(round(side)))
    x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
    c = img.crop((x0, y0, x0 + s, y0 + s))
    return c.resize((out, out), Image.BOX if s >= out else Image.BILINEAR)


def oval_radius(img, cx, cy):
    """Distance from (cx, cy) to the nearest pixel of the black background connected to the
    photo's border (AffectNet's oval mask)."""
    a = np.asarray(img.convert("L"), np.int16)
    dark = a < 24
    h, w = dark.shape
    # flood fill from the border through dark pixels
    seen = np.zeros_like(dark)
    stack = [(y, x) for y in range(h) for x in (0, w - 1) if dark[y, x]]
    stack += [(y, x) for x in range(w) for y in (0, h - 1) if dark[y, x]]
    while stack:
        y, x = stack.pop()
        if seen[y, x]:
            continue
        seen[y, x] = True
        for yy, xx in ((y + 1, x), (y - 1, x), (y, x + 1), (y, x - 1)):
            if 0 <= yy < h and 0 <= xx < w and dark[yy, xx] and not seen[yy, xx]:
                stack.append((yy, xx))
    ys, xs = np.nonzero(seen)
    if not len(ys):
        return float(max(w, h))
    return float(np.sqrt(((xs + 0.5 - cx) ** 2 + (ys + 0.5 - cy) ** 2).min()))


def circle_mask(crop_u8, radius_px):
    """Black out a stored crop outside a circle of radius_px (in stored-crop pixels) around its
    centre."""
    n = crop_u8.shape[0]
    yy, xx = np.mgrid[0:n, 0:n]
    r2 = (xx + 0.5 - n / 2) ** 2 + (yy + 0.5 - n / 2) ** 2
    out = crop_u8.copy()
    out[r2 > radius_px ** 2] = 0
    return out


def build(train_root, dump, seed=1, n_synthetic=1500, log=print):
    """All stored crops of faces-train. Returns dict of numpy arrays:
    x uint8 [N, STORE, STORE, 3]; label (0 face, 4 not a face); src (source name); img (photo
    index); kind ('face', 'alt', 'fp', 'bg'); side (box's longer side in photo pixels)."""
    rng = random.Random(seed)
    xs, meta = [], []
    rels = sorted(dump)
    circle_rel = []   # affectnet radii relative to the box side, drawn from for other crops
    pending_circles = []
    for idx, rel in enumerate(rels):
        w, h, dets = dump[rel]
        src = source_of(rel)
        img = Image.open(os.path.join(train_root, rel)).convert("RGB")
        faces = [] if src in NONFACE_SOURCES else faces_of(dets)
        items = []
        for best, alt in faces:
            items.append((best, 0, "face"))
            if alt is not None:
                items.append((alt, 0, "alt"))
        for r in false_positives(dets, src):
            items.append((r, 4, "fp"))
        if src not in TIGHT_SOURCES:
            for b in background_squares(w, h, dets, rng, 2 if src in NONFACE_SOURCES else 1):
                items.append((b, 4, "bg"))
        for r, label, kind in items:
            bx, by, bw, bh = (float(v) for v in r[2:6])
            side = max(bw, bh)
            cx, cy = bx + bw / 2, by + bh / 2
            c = np.asarray(crop_square(img, cx, cy, STORE_CONTEXT * side, STORE))
            if src == "affectnet":
                rad = oval_radius(img, cx, cy)
                circle_rel.append(rad / side)
                c = circle_mask(c, rad * STORE / (STORE_CONTEXT * side))
            elif rng.random() < 0.1:
                pending_circles.append(len(xs))
            xs.append(c)
            meta.append((label, src, idx, kind, side))
        if idx % 2000 == 0:
            log(f"  {idx}/{len(rels)} photos, {len(xs)} crops")
    for c in synthetic_drawings(n_synthetic, rng):
        xs.append(c)
        meta.append((4, "synthetic", -1, "draw", 0.0))
    # circles for a random tenth of the other crops, radii as AffectNet's
    if circle_rel:
        for i in pending_circles:
            rad = rng.choice(circle_rel) * STORE / STORE_CONTEXT
            xs[i] = circle_mask(xs[i], rad)
    return {
        "x": np.stack(xs),
        "label": np.array([m[0] for m in meta], np.int64),
        "src": np.array([m[1] for m in meta]),
        "img": np.array([m[2] for m in meta], np.int64),
        "kind": np.array([m[3] for m in meta]),
        "side": np.array([m[4] for m in meta], np.float32),
        "rels": np.array(rels),
    }
