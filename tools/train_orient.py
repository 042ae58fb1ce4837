#!/usr/bin/python3
"""Train faceup's face-orientation classifier on ../shared/data/faces-train (never on faces-dev).

Why a classifier: YuNet fires on turned faces too, so the score difference between turns is often
under 0.1 and flips on small crops. A tiny CNN that looks at one detected face crop and answers
"turned 0 / 90 / 180 / 270, or not a face" separates them cleanly.

Input: the face boxes our own detector finds on the (upright) training photos:
    faceup detect --json $(train images) > dets.jsonl
Every detection found in the 0-degree turn with score >= 0.6 is an upright face; detections that
only appear in other turns and overlap no upright face are false positives, the "not a face" class,
together with random background squares.

Crop (must match src/models/orient_net.c): a square centred on the box centre, side CROP_SCALE * max(w, h),
outside the image black, scaled to SIZE x SIZE (area averaging down, bilinear up), BGR 0..255.

Training: each crop is turned by a random multiple of 90 degrees (the label), with jitter in
position, scale and roll, mirror, brightness, contrast, greyscale and blur. 10% of the photos are
held out to measure accuracy and to fit the temperature of the softmax (confidence calibration).

Output: src/models/orient_weights.c (BN folded, exact hex floats) and a training record (--record).
Run by /usr/bin/python3 with Debian's python3-torch, python3-numpy, python3-pil.
"""
import argparse, json, math, os, random, sys, time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

SIZE = 48
CROP_SCALE = 1.5
CONTEXT = 2.0       # crops are stored with this much context, then augmented down to CROP_SCALE
STORE = 96          # stored crop size
NONFACE = 4
MAX_ROLL = 25       # degrees of random roll in training (--max-roll)


def load_dets(path, root):
    per_image = {}
    for line in open(path):
        o = json.loads(line)
        if not o.get("file") or o.get("error"):
            continue
        f = o["file"] if os.path.isabs(o["file"]) else os.path.join(root, o["file"])
        rel = os.path.relpath(f, root)
        per_image[rel] = o.get("faces", [])
    return per_image


def iou(a, b):
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0, x1 - x0) * max(0, y1 - y0)
    return inter / max(1e-6, a[2] * a[3] + b[2] * b[3] - inter)


def crop(img, cx, cy, side, out):
    """A side x side square centred at (cx, cy), black outside, scaled to out x out."""
    x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
    s = max(1, int(round(side)))
    c = img.crop((x0, y0, x0 + s, y0 + s))
    return c.resize((out, out), Image.BOX if s >= out else Image.BILINEAR)


def build_samples(root, dets, rng):
    """Return (crops uint8 [N,STORE,STORE,3] RGB, labels (0 face / NONFACE), image ids)."""
    crops, labels, ids = [], [], []
    for idx, (rel, faces) in enumerate(sorted(dets.items())):
        try:
            img = Image.open(os.path.join(root, rel)).convert("RGB")
        except Exception:
            continue
        W, H = img.size
        pos = [f for f in faces if f["turn_scores"][0] >= 0.6]
        for f in pos:
            x, y, w, h = f["box"]
            crops.append(np.asarray(crop(img, x + w / 2, y + h / 2, CONTEXT * max(w, h), STORE)))
            labels.append(0)
            ids.append(idx)
        for f in faces:
            if f["turn_scores"][0] < 0.3 and all(iou(f["box"], p["box"]) < 0.1 for p in pos):
                x, y, w, h = f["box"]
                crops.append(np.asarray(crop(img, x + w / 2, y + h / 2, CONTEXT * max(w, h), STORE)))
                labels.append(NONFACE)
                ids.append(idx)
        # a random background square, where it does not cover a face
        for _ in range(2 if "facemask" in rel else 1):
            side = rng.uniform(0.15, 0.6) * min(W, H)
            cx, cy = rng.uniform(0, W), rng.uniform(0, H)
            box = [cx - side / 2, cy - side / 2, side, side]
            if all(iou(box, p["box"]) < 0.05 for p in pos):
                crops.append(np.asarray(crop(img, cx, cy, CONTEXT * side, STORE)))
                labels.append(NONFACE)
                ids.append(idx)
    return np.stack(crops), np.array(labels), np.array(ids)


class OrientNet(nn.Module):
    """Layers map one-to-one onto src/models/orient_net.c (BN folded into the convolutions at export)."""

    def __init__(self):
        super().__init__()
        def bn(c):
            return nn.BatchNorm2d(c)
        self.conv0 = nn.Conv2d(3, 16, 3, 2, 1, bias=False); self.bn0 = bn(16)          # 48 -> 24
        self.pw1 = nn.Conv2d(16, 32, 1, bias=False); self.bpw1 = bn(32)
        self.dw1 = nn.Conv2d(32, 32, 3, 1, 1, groups=32, bias=False); self.bdw1 = bn(32)  # 24
        self.pw2 = nn.Conv2d(32, 32, 1, bias=False); self.bpw2 = bn(32)
        self.dw2 = nn.Conv2d(32, 32, 3, 1, 1, groups=32, bias=False); self.bdw2 = bn(32)  # 12
        self.pw3 = nn.Conv2d(32, 64, 1, bias=False); self.bpw3 = bn(64)
        self.dw3 = nn.Conv2d(64, 64, 3, 1, 1, groups=64, bias=False); self.bdw3 = bn(64)  # 6
        self.pw4 = nn.Conv2d(64, 64, 1, bias=False); self.bpw4 = bn(64)
        self.dw4 = nn.Conv2d(64, 64, 3, 1, 1, groups=64, bias=False); self.bdw4 = bn(64)  # 6
        self.fc = nn.Linear(64 * 3 * 3, 5)                                                # 3x3 kept

    def forward(self, x):
        x = F.relu(self.bn0(self.conv0(x)))
        x = F.relu(self.bdw1(self.dw1(self.bpw1(self.pw1(x)))))
        x = F.max_pool2d(x, 2)
        x = F.relu(self.bdw2(self.dw2(self.bpw2(self.pw2(x)))))
        x = F.max_pool2d(x, 2)
        x = F.relu(self.bdw3(self.dw3(self.bpw3(self.pw3(x)))))
        x = F.relu(self.bdw4(self.dw4(self.bpw4(self.pw4(x)))))
        x = F.max_pool2d(x, 2)
        # flatten in NHWC order, the order the C code reads its tensor in
        return self.fc(x.permute(0, 2, 3, 1).reshape(x.shape[0], -1))


def augment(batch_u8, labels, gen, train):
    """Stored 96px crops (context 2.0) -> 48px training crops turned by a random k*90 degrees."""
    x = torch.from_numpy(batch_u8).permute(0, 3, 1, 2).float()  # RGB, 0..255
    x = x[:, [2, 1, 0]]                                         # BGR, as the C code feeds it
    n = x.shape[0]
    zoom = CROP_SCALE / CONTEXT
    if train:
        scale = zoom * torch.empty(n).uniform_(0.85, 1.2, generator=gen)
        ang = torch.empty(n).uniform_(-MAX_ROLL, MAX_ROLL, generator=gen) * math.pi / 180
        shift = torch.empty(n, 2).uniform_(-0.08, 0.08, generator=gen)
        flip = torch.rand(n, generator=gen) < 0.5
    else:
        scale = torch.full((n,), zoom)
        ang = torch.zeros(n)
        shift = torch.zeros(n, 2)
        flip = torch.zeros(n, dtype=torch.bool)
    cos, sin = torch.cos(ang) * scale, torch.sin(ang) * scale
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    theta[flip, 0, :2] *= -1
    grid = F.affine_grid(theta, (n, 3, SIZE, SIZE), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    if train:
        gray = torch.rand(n, generator=gen) < 0.2
        x[gray] = x[gray].mean(1, keepdim=True).expand(-1, 3, -1, -1)
        contrast = torch.empty(n, 1, 1, 1).uniform_(0.6, 1.4, generator=gen)
        bright = torch.empty(n, 1, 1, 1).uniform_(-40, 40, generator=gen)
        mean = x.mean((1, 2, 3), keepdim=True)
        x = ((x - mean) * contrast + mean + bright).clamp(0, 255)
        blur = torch.rand(n, generator=gen) < 0.2
        if blur.any():
            x[blur] = F.avg_pool2d(F.pad(x[blur], (1, 1, 1, 1), mode="replicate"), 3, 1)
    # the label: turn each face crop clockwise by k * 90 degrees
    k = torch.randint(0, 4, (n,), generator=gen) if train else torch.arange(n) % 4
    out = torch.empty_like(x)
    for r in range(4):
        m = k == r
        out[m] = torch.rot90(x[m], -r, (2, 3))   # rot90 with -r turns clockwise
    y = torch.where(torch.from_numpy(labels) == NONFACE, torch.full_like(k, NONFACE), k)
    return out / 255.0, y


def fold(conv_w, bn):
    s = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    w = conv_w * s.reshape(-1, 1, 1, 1)
    b = bn.bias - bn.running_mean * s
    return w.detach().numpy().astype(np.float32), b.detach().numpy().astype(np.float32)


def hexf(v):
    return float(v).hex() + "f"


def export(model, path, record):
    m = model.eval()
    layers = []
    w, b = fold(m.conv0.weight, m.bn0)
    w = w / 255.0   # the C code feeds 0..255
    layers.append(("conv0", "FU_CONV3X3S2", 3, 16, w.transpose(2, 3, 1, 0).reshape(-1), b))
    for i in range(1, 5):
        pw, bpw = getattr(m, f"pw{i}"), getattr(m, f"bpw{i}")
        dw, bdw = getattr(m, f"dw{i}"), getattr(m, f"bdw{i}")
        w, b = fold(pw.weight, bpw)
        layers.append((f"pw{i}", "FU_CONV_PW", w.shape[1], w.shape[0], w[:, :, 0, 0].T.reshape(-1), b))
        w, b = fold(dw.weight, bdw)
        layers.append((f"dw{i}", "FU_CONV_DW", w.shape[0], w.shape[0], w[:, 0].reshape(w.shape[0], 9).T.reshape(-1), b))
    fc_w = m.fc.weight.detach().numpy().astype(np.float32)   # [5][576]
    fc_b = m.fc.bias.detach().numpy().astype(np.float32)
    out = ["/* Generated by tools/train_orient.py; the training record is tools/train_orient.record.md. */",
           '#include "models/orient_weights.h"', ""]
    for name, kind, cin, cout, w, b in layers:
        out.append(f"static const float {name}_w[{w.size}] = {{{', '.join(hexf(v) for v in w)}}};")
        out.append(f"static const float {name}_b[{b.size}] = {{{', '.join(hexf(v) for v in b)}}};")
    out.append("")
    out.append(f"const fu_conv_weights fu_orient_layers[{len(layers)}] = {{")
    for name, kind, cin, cout, w, b in layers:
        out.append(f'    {{"{name}", {kind}, {cin}, {cout}, {name}_w, {name}_b}},')
    out.append("};")
    out.append(f"const float fu_orient_fc_w[{fc_w.size}] = {{{', '.join(hexf(v) for v in fc_w.reshape(-1))}}};")
    out.append(f"const float fu_orient_fc_b[{fc_b.size}] = {{{', '.join(hexf(v) for v in fc_b)}}};")
    out.append(f"const float fu_orient_temperature = {hexf(record['temperature'])};")
    out.append(f"const float fu_orient_crop_scale = {hexf(record['crop_scale'])};")
    with open(path + ".tmp", "w") as f:
        f.write("\n".join(out) + "\n")
    os.replace(path + ".tmp", path)


def evaluate(model, X, Y, gen, temperature=1.0):
    model.eval()
    logits, ys = [], []
    with torch.no_grad():
        for s in range(0, len(X), 512):
            x, y = augment(X[s:s + 512], Y[s:s + 512], gen, train=False)
            logits.append(model(x)); ys.append(y)
    logits, ys = torch.cat(logits), torch.cat(ys)
    acc = (logits.argmax(1) == ys).float().mean().item()
    nll = F.cross_entropy(logits / temperature, ys).item()
    return acc, nll, logits, ys


def main():
    global CROP_SCALE, CONTEXT, MAX_ROLL
    ap = argparse.ArgumentParser()
    ap.add_argument("--train-set", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "faces-train"))
    ap.add_argument("--dets", required=True, help="faceup detect --json output over the training images")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "src", "models", "orient_weights.c"))
    ap.add_argument("--record", default=os.path.join(os.path.dirname(__file__), "train_orient.record.md"))
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--crop-scale", type=float, default=CROP_SCALE)
    ap.add_argument("--max-roll", type=float, default=MAX_ROLL,
                    help="random roll in degrees; up to 45 teaches diagonal faces their nearest turn")
    ap.add_argument("--oversample-crowds", type=int, default=1,
                    help="repeat faces of the crowd photos (facemask/) this many times per epoch")
    a = ap.parse_args()
    CROP_SCALE = a.crop_scale
    MAX_ROLL = a.max_roll
    CONTEXT = max(CONTEXT, CROP_SCALE * 1.3)
    torch.manual_seed(a.seed)
    rng = random.Random(a.seed)
    gen = torch.Generator().manual_seed(a.seed)
    root = os.path.abspath(a.train_set)
    t0 = time.time()
    dets = load_dets(a.dets, root)
    X, Y, ids = build_samples(root, dets, rng)
    n_img = ids.max() + 1
    held = np.array([rng.random() < 0.1 for _ in range(n_img)])
    tr, va = ~held[ids], held[ids]
    print(f"{len(X)} crops ({(Y == 0).sum()} faces, {(Y == NONFACE).sum()} not faces) from {n_img} photos; "
          f"{tr.sum()} train, {va.sum()} held out; {time.time() - t0:.0f}s", flush=True)
    crowd = np.array(["facemask" in r for r in sorted(dets)])[ids]
    rep = np.where(crowd & tr, a.oversample_crowds, tr.astype(int))
    Xtr, Ytr = np.repeat(X, rep, axis=0), np.repeat(Y, rep)
    Xva, Yva, crowd_va = X[va], Y[va], crowd[va]
    model = OrientNet()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    steps = a.epochs * math.ceil(len(Xtr) / 128)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    log = []
    for ep in range(a.epochs):
        model.train()
        perm = np.random.default_rng(a.seed + ep).permutation(len(Xtr))
        tot = 0.0
        for s in range(0, len(perm), 128):
            b = perm[s:s + 128]
            x, y = augment(Xtr[b], Ytr[b], gen, train=True)
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad(); loss.backward(); opt.step(); sched.step()
            tot += loss.item() * len(b)
        acc, nll, _, _ = evaluate(model, Xva, Yva, gen)
        line = f"epoch {ep + 1}: train loss {tot / len(Xtr):.4f}, held-out accuracy {acc:.4f}, nll {nll:.4f}, {time.time() - t0:.0f}s"
        print(line, flush=True)
        log.append(line)
    # temperature scaling on the held-out crops, so softmax probabilities mean what they say
    _, _, logits, ys = evaluate(model, Xva, Yva, gen)
    best_t, best_nll = 1.0, 1e9
    for t in np.arange(0.5, 3.01, 0.05):
        nll = F.cross_entropy(logits / float(t), ys).item()
        if nll < best_nll:
            best_t, best_nll = float(t), nll
    acc = (logits.argmax(1) == ys).float().mean().item()
    crowd_t = torch.from_numpy(crowd_va)
    acc_crowd = (logits.argmax(1) == ys)[crowd_t].float().mean().item()
    record = {"temperature": best_t, "crop_scale": CROP_SCALE}
    export(model, a.out, record)
    with open(a.record, "w") as f:
        f.write("# Training record of the orientation classifier\n\n")
        f.write(f"Command: `/usr/bin/python3 tools/train_orient.py --dets DETS --epochs {a.epochs} --seed {a.seed} "
                f"--crop-scale {CROP_SCALE} --oversample-crowds {a.oversample_crowds} --max-roll {MAX_ROLL}`  \n")
        f.write(f"torch {torch.__version__}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n\n")
        f.write(f"Data: {len(X)} crops ({(Y == 0).sum()} upright faces, {(Y == NONFACE).sum()} not faces) from "
                f"{n_img} photos of faces-train; {tr.sum()} crops train, {va.sum()} held out (10% of photos).\n\n")
        f.write("```\n" + "\n".join(log) + "\n```\n\n")
        f.write(f"Held-out accuracy (5 classes, each held-out crop in one turn): {acc:.4f}; "
                f"on crowd photos (facemask/) {acc_crowd:.4f}; "
                f"temperature {best_t:.2f} (held-out NLL {best_nll:.4f}).\n")
        f.write(f"Crop: {CROP_SCALE} x the longer side of the box; crowd faces repeated {a.oversample_crowds}x; "
                f"roll up to {MAX_ROLL} degrees.\n")
    print(f"wrote {a.out}; held-out accuracy {acc:.4f} (crowds {acc_crowd:.4f}), temperature {best_t:.2f}")


if __name__ == "__main__":
    main()
