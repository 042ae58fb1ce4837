#!/usr/bin/python3
"""Train faceup's face-orientation reader on ../shared/data/faces-train (never on faces-dev).

The reader looks at one square crop around a face box the detector found and answers: the face in
it is turned 0 / 90 / 180 / 270 degrees clockwise, or it is not a face. Layers map one-to-one onto
src/models/reader.c (batch norm folded into the convolutions at export):

    SIZE x SIZE x 3 -> conv3x3 s2 (relu) -> for each stage: pointwise (linear), depthwise 3x3
    (relu), then residual blocks x + relu(dw(pw(x))), then 2x2 max pool except after the last
    -> global average -> dense -> 5 logits

Steps (run by /usr/bin/python3 with Debian's python3-torch, python3-numpy, python3-pil):

  1. evidence_dump over faces-train (every detection of every pass of the decision, 4 turns;
     paths relative to the training set, as its manifest.tsv lists them):
        cd ../shared/data/faces-train && tail -n +2 manifest.tsv | cut -f1 |
            /path/to/build/evidence_dump - > dump.jsonl
  2. crops:   train_reader.py crops --dump dump.jsonl --out crops.npz
  3. folds:   train_reader.py train --crops crops.npz --holdout-fold K --out foldK.pt   (K=0..3)
     each fold model never sees the sources of its fold; its record has their per-source table.
  4. final:   train_reader.py train --crops crops.npz --out final.pt --temperature T
     (all sources; T is the mean of the fold models' fitted temperatures)
  4b. trade-off (other sizes on one fold):  train --arch s48|l80 --holdout-fold 3 ..., then
        train_reader.py tradeoff --models fold3_m64.pt fold3_s48.pt fold3_l80.pt
  5. export:  train_reader.py export --model final.pt --out src/models/reader_weights.bin
     (binary float32; tools/reader_to_c.py makes the C arrays at build time)
  5b. temper: train_reader.py temper --weights src/models/reader_weights.bin --temperature T
     (only the temperature changes, as tools/fit_decision.py fits it: the weights stay the same)

Augmentation (as the detector presents faces in real photos): box jitter from the detector itself
(crops around the box another turn gave) plus random position, scale and roll up to 40 degrees,
mirror, low resolution, blur, noise, JPEG artefacts, grayscale, colour casts, contrast, occlusion
and overlaid text; occlusion and text at an orientation independent of the face's. Optional
(--masks P, off by default and in the shipped model): synthetic face masks on a share P of the
face crops, drawn in the face's own frame (tried on two folds, see the record).
"""
import argparse, io, json, math, os, random, string, sys, time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFont

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reader_data as rd  # noqa: E402
import reader_to_c  # noqa: E402

NONFACE = 4
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRAIN_SET = os.path.join(ROOT, "..", "shared", "data", "faces-train")

ARCHS = {
    # name: (input side, widths stem + 4 stages, residual blocks per stage)
    "s48": (48, (16, 32, 48, 96, 128), (0, 1, 1, 1)),
    "m64": (64, (16, 32, 64, 128, 256), (0, 1, 2, 1)),
    "l80": (80, (24, 48, 96, 160, 256), (0, 1, 2, 1)),
}


class ReaderNet(nn.Module):
    def __init__(self, arch="m64"):
        super().__init__()
        self.arch = arch
        self.size, widths, res = ARCHS[arch]
        self.stem = nn.Conv2d(3, widths[0], 3, 2, 1, bias=False)
        self.stem_bn = nn.BatchNorm2d(widths[0])
        self.stages = nn.ModuleList()
        cin = widths[0]
        for i, c in enumerate(widths[1:]):
            blocks = nn.ModuleList()
            blocks.append(self._pair(cin, c))
            for _ in range(res[i]):
                blocks.append(self._pair(c, c))
            self.stages.append(blocks)
            cin = c
        self.fc = nn.Linear(cin, 5)

    @staticmethod
    def _pair(cin, cout):
        return nn.ModuleDict({
            "pw": nn.Conv2d(cin, cout, 1, bias=False), "pw_bn": nn.BatchNorm2d(cout),
            "dw": nn.Conv2d(cout, cout, 3, 1, 1, groups=cout, bias=False), "dw_bn": nn.BatchNorm2d(cout)})

    @staticmethod
    def _run(p, x):
        return F.relu(p["dw_bn"](p["dw"](p["pw_bn"](p["pw"](x)))))

    def forward(self, x):
        x = F.relu(self.stem_bn(self.stem(x)))
        for i, blocks in enumerate(self.stages):
            x = self._run(blocks[0], x)
            for p in blocks[1:]:
                x = x + self._run(p, x)
            if i < len(self.stages) - 1:
                x = F.max_pool2d(x, 2)
        return self.fc(x.mean((2, 3)))


def n_params(model):
    return sum(p.numel() for n, p in model.named_parameters() if "bn" not in n)


def macs(arch):
    size, widths, res = ARCHS[arch]
    s = size // 2
    total = s * s * widths[0] * 27
    cin = widths[0]
    for i, c in enumerate(widths[1:]):
        total += s * s * (cin * c + 9 * c) * (1 + res[i]) - s * s * (cin - c) * c * res[i]
        cin = c
        if i < 3:
            s //= 2
    return total + cin * 5


# ---- augmentation -------------------------------------------------------------------------------

_FONT = None


def font(size):
    for path in ("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
                 "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"):
        if os.path.exists(path):
            return ImageFont.truetype(path, size)
    return ImageFont.load_default()


def pil_extras(x, rng):
    """Per-sample artefacts that need PIL: overlaid text (any orientation) and JPEG. x: float
    [n,3,S,S] RGB 0..255, modified in place."""
    n, _, S, _ = x.shape
    for i in range(n):
        t, j = rng.random() < 0.1, rng.random() < 0.2
        if not (t or j):
            continue
        im = Image.fromarray(x[i].permute(1, 2, 0).clamp(0, 255).byte().numpy())
        if t:
            layer = Image.new("RGBA", (S, S), (0, 0, 0, 0))
            d = ImageDraw.Draw(layer)
            words = "".join(rng.choice(string.ascii_letters + string.digits + "  ") for _ in range(rng.randint(3, 12)))
            col = rng.choice([(255, 0, 0), (255, 255, 255), (0, 0, 0), (255, 255, 0), (0, 200, 255)])
            d.text((rng.randint(-S // 4, S // 2), rng.randint(0, S - 8)), words,
                   fill=col + (rng.randint(160, 255),), font=font(rng.randint(S // 8, S // 3)))
            layer = layer.rotate(90 * rng.randint(0, 3))
            im = Image.alpha_composite(im.convert("RGBA"), layer).convert("RGB")
        if j:
            buf = io.BytesIO()
            im.save(buf, "JPEG", quality=rng.randint(8, 60))
            im = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
        x[i] = torch.from_numpy(np.asarray(im).copy()).permute(2, 0, 1).float()


MASK_COLOURS = [(170, 205, 230), (130, 180, 215), (235, 235, 235), (250, 250, 250), (30, 30, 35),
                (70, 70, 80), (150, 150, 150), (205, 190, 210), (40, 60, 120)]


def synthetic_masks(x, labels, p, rng):
    """Draw a face mask over the lower face of a random share p of the face crops: stored crops
    (float [n,3,STORE,STORE] RGB, upright, the box centred at STORE_CONTEXT times its side),
    modified in place, before the geometric augmentation so that the mask turns and rolls with
    the face. The shape (nose to chin, ear loops) follows the face's own frame, as real masks do;
    colours, pleats, shading and fit vary. The faces of faces-train's masked sources are real
    masks; this adds them to every source so that a masked face is read as a face."""
    if p <= 0:
        return
    S = x.shape[-1]
    L = S / rd.STORE_CONTEXT
    c = S / 2
    for i in np.nonzero(labels == 0)[0].tolist():
        if rng.random() >= p:
            continue
        top = c + L * rng.uniform(-0.06, 0.06)
        bottom = c + L * rng.uniform(0.48, 0.66)
        half = L * rng.uniform(0.36, 0.50)
        dx = L * rng.uniform(-0.06, 0.06)          # a face a little turned: the mask off centre
        peak = L * rng.uniform(0.0, 0.08)          # over the nose
        pts = [(c + dx - half, top + 0.05 * L), (c + dx, top - peak), (c + dx + half, top + 0.05 * L)]
        for t in np.linspace(0, math.pi, 9):
            pts.append((c + dx + half * 0.97 * math.cos(t), (top + bottom) / 2 + 0.05 * L
                        + (bottom - top) / 2 * math.sin(t) * rng.uniform(0.9, 1.05)))
        shape = Image.new("L", (S, S), 0)
        d = ImageDraw.Draw(shape)
        d.polygon(pts, fill=255)
        if rng.random() < 0.7:                     # ear loops
            w = max(1, int(L * 0.03))
            for sgn in (-1, 1):
                x0 = c + dx + sgn * half
                d.line([(x0, top + 0.1 * L), (c + sgn * L * 0.6, c - 0.12 * L)], fill=255, width=w)
                d.line([(x0, bottom - 0.2 * L), (c + sgn * L * 0.6, c + 0.1 * L)], fill=255, width=w)
        a = torch.from_numpy(np.asarray(shape, np.float32) / 255.0)
        col = torch.tensor(rng.choice(MASK_COLOURS) if rng.random() < 0.8 else
                           [rng.uniform(0, 255) for _ in range(3)]).view(3, 1, 1)
        ys = torch.arange(S).float().view(S, 1)
        shade = 1.0 + rng.uniform(-0.25, 0.1) * (ys - top) / max(1.0, bottom - top)
        if rng.random() < 0.5:                     # pleats
            period = L * rng.uniform(0.1, 0.16)
            shade = shade * (1 - 0.12 * (torch.sin((ys - top) * 2 * math.pi / period) > 0.6).float())
        fill = (col * shade.view(1, S, 1)).expand(3, S, S)
        x[i] = x[i] * (1 - a) + fill * a


def augment(stored, labels, size, crop_scale, gen, rng, train, masks=0.0):
    """Stored crops (uint8 [n,STORE,STORE,3] RGB, context STORE_CONTEXT) -> reader inputs turned
    by k*90 degrees clockwise, and labels (k, or NONFACE). Inputs are BGR / 255 as the C code
    feeds them (its first layer has the 1/255 folded in)."""
    x = torch.from_numpy(stored).permute(0, 3, 1, 2).float()
    n = x.shape[0]
    zoom = crop_scale / rd.STORE_CONTEXT
    if train:
        synthetic_masks(x, labels, masks, rng)   # before the geometry: it turns with the face
        scale = zoom * torch.empty(n).uniform_(0.85, 1.25, generator=gen)
        big_roll = torch.rand(n, generator=gen) < 0.7
        ang = torch.where(big_roll, torch.empty(n).uniform_(-40, 40, generator=gen),
                          torch.empty(n).uniform_(-10, 10, generator=gen)) * math.pi / 180
        shift = torch.empty(n, 2).uniform_(-0.12, 0.12, generator=gen)
        flip = torch.rand(n, generator=gen) < 0.5
    else:
        scale, ang = torch.full((n,), zoom), torch.zeros(n)
        shift, flip = torch.zeros(n, 2), torch.zeros(n, dtype=torch.bool)
    cos, sin = torch.cos(ang) * scale, torch.sin(ang) * scale
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    theta[flip, 0, :2] *= -1
    # area-like sampling: sample at twice the resolution, then average 2x2
    grid2 = F.affine_grid(theta, (n, 3, 2 * size, 2 * size), align_corners=False)
    x = F.avg_pool2d(F.grid_sample(x, grid2, mode="bilinear", padding_mode="zeros", align_corners=False), 2)
    if train:
        # low resolution: small faces
        lo = torch.rand(n, generator=gen) < 0.15
        for i in torch.nonzero(lo).flatten().tolist():
            r = int(torch.randint(10, max(11, size // 2), (1,), generator=gen))
            x[i:i + 1] = F.interpolate(F.interpolate(x[i:i + 1], size=(r, r), mode="area"),
                                       size=(size, size), mode="bilinear", align_corners=False)
        blur = torch.rand(n, generator=gen) < 0.15
        if blur.any():
            sig = float(torch.empty(1).uniform_(0.6, 1.6, generator=gen))
            k = torch.exp(-torch.arange(-3, 4).float() ** 2 / (2 * sig * sig))
            k = (k / k.sum()).view(1, 1, 1, 7).repeat(3, 1, 1, 1)
            xb = F.conv2d(F.pad(x[blur], (3, 3, 0, 0), mode="replicate"), k, groups=3)
            x[blur] = F.conv2d(F.pad(xb, (0, 0, 3, 3), mode="replicate"), k.transpose(2, 3), groups=3)
        gray = torch.rand(n, generator=gen) < 0.2
        x[gray] = x[gray].mean(1, keepdim=True).expand(-1, 3, -1, -1)
        cast = torch.rand(n, generator=gen) < 0.3
        gains = torch.where(cast.view(n, 1, 1, 1), torch.empty(n, 3, 1, 1).uniform_(0.7, 1.3, generator=gen),
                            torch.ones(n, 3, 1, 1))
        contrast = torch.empty(n, 1, 1, 1).uniform_(0.6, 1.4, generator=gen)
        bright = torch.empty(n, 1, 1, 1).uniform_(-30, 30, generator=gen)
        mean = x.mean((1, 2, 3), keepdim=True)
        x = ((x - mean) * contrast + mean + bright) * gains
        noise = torch.rand(n, generator=gen) < 0.15
        if noise.any():
            sig = torch.empty(int(noise.sum()), 1, 1, 1).uniform_(2, 12, generator=gen)
            x[noise] += torch.randn(x[noise].shape, generator=gen) * sig
        x = x.clamp(0, 255)
    # the label: turn each crop clockwise by k * 90 degrees
    k = torch.randint(0, 4, (n,), generator=gen) if train else torch.arange(n) % 4
    out = torch.empty_like(x)
    for r in range(4):
        m = k == r
        out[m] = torch.rot90(x[m], -r, (2, 3))
    if train:
        occl = torch.rand(n, generator=gen) < 0.1
        for i in torch.nonzero(occl).flatten().tolist():
            w, h = (int(torch.randint(size // 8, size // 2, (1,), generator=gen)) for _ in range(2))
            x0, y0 = (int(torch.randint(0, size - 4, (1,), generator=gen)) for _ in range(2))
            out[i, :, y0:y0 + h, x0:x0 + w] = torch.rand(3, 1, 1, generator=gen) * 255
        pil_extras(out, rng)
    y = torch.where(torch.from_numpy(labels) == NONFACE, torch.full_like(k, NONFACE), k)
    return out[:, [2, 1, 0]] / 255.0, y


# ---- training ----------------------------------------------------------------------------------

def epoch_indices(src, label, cap, rng):
    """Balanced sampling: per source at most `cap` faces and `cap` non-faces per epoch."""
    idx = []
    for s in np.unique(src):
        for lab in (0, NONFACE):
            pool = np.nonzero((src == s) & (label == lab))[0]
            if len(pool) > cap:
                pool = rng.choice(pool, cap, replace=False)
            idx.append(pool)
    idx = np.concatenate(idx)
    rng.shuffle(idx)
    return idx


def logits_all_turns(model, X, crop_scale, batch=512):
    """Logits of each crop in its four turns: [N, 4, 5] (turn r: crop turned clockwise by 90r)."""
    model.eval()
    out = []
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for s in range(0, len(X), batch):
            xb = X[s:s + batch]
            rep = np.repeat(xb, 4, axis=0)   # augment(train=False) turns sample i by i % 4
            x, _ = augment(rep, np.zeros(len(rep), np.int64), model.size, crop_scale, gen, None, False)
            out.append(model(x).view(len(xb), 4, 5))
    return torch.cat(out)


def per_source_table(logits4, label, src, temperature):
    """Rows: source, crops, accuracy over 4 turns x crops (5 classes), face accuracy among faces
    (4 turns), P(face) < 0.5 on faces, P(face) >= 0.5 on non-faces."""
    rows = []
    lp = F.log_softmax(logits4 / temperature, -1)
    pred = lp.argmax(-1)                       # [N, 4]
    truth = torch.where(torch.from_numpy(label == NONFACE).view(-1, 1), torch.full((1, 4), NONFACE),
                        torch.arange(4).view(1, 4))
    pface = 1 - lp[..., NONFACE].exp()
    for s in sorted(set(src)):
        m = torch.from_numpy(src == s)
        f = m & torch.from_numpy(label == 0)
        nf = m & torch.from_numpy(label == NONFACE)
        row = {"source": s, "crops": int(m.sum()),
               "accuracy": float((pred[m] == truth[m]).float().mean())}
        if f.any():
            row["face_turn_acc"] = float((pred[f] == truth[f]).float().mean())
            row["face_missed"] = float((pface[f] < 0.5).float().mean())
        if nf.any():
            row["nonface_taken"] = float((pface[nf] >= 0.5).float().mean())
        rows.append(row)
    return rows


def fit_temperature(logits4, label):
    truth = torch.where(torch.from_numpy(label == NONFACE).view(-1, 1), torch.full((1, 4), NONFACE),
                        torch.arange(4).view(1, 4)).reshape(-1)
    lg = logits4.reshape(-1, 5)
    best = (1.0, 1e9)
    for t in np.arange(0.5, 4.01, 0.05):
        nll = F.cross_entropy(lg / float(t), truth).item()
        if nll < best[1]:
            best = (float(t), nll)
    return best


def train(a):
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    rng = random.Random(a.seed)
    nrng = np.random.default_rng(a.seed)
    gen = torch.Generator().manual_seed(a.seed)
    d = np.load(a.crops, allow_pickle=False)
    X, label, src = d["x"], d["label"], d["src"]
    if a.holdout_fold is not None:
        held_sources = set(rd.FOLDS[a.holdout_fold])
    else:
        held_sources = set(s for s in a.holdout.split(",") if s)
    held = np.isin(src, list(held_sources))
    tr = ~held
    Xtr, Ltr, Str = X[tr], label[tr], src[tr]
    model = ReaderNet(a.arch)
    t0 = time.time()
    print(f"{a.arch}: {n_params(model)} parameters, {macs(a.arch) / 1e6:.1f} M multiply-adds; "
          f"{tr.sum()} crops to train on, {held.sum()} held out ({', '.join(sorted(held_sources)) or 'none'})",
          flush=True)
    per_epoch = len(epoch_indices(Str, Ltr, a.cap, np.random.default_rng(0)))
    steps = a.epochs * math.ceil(per_epoch / a.batch)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=a.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=steps, pct_start=0.15)
    log = []
    for ep in range(a.epochs):
        model.train()
        idx = epoch_indices(Str, Ltr, a.cap, nrng)
        tot = n = 0
        for s in range(0, len(idx), a.batch):
            b = np.sort(idx[s:s + a.batch])
            x, y = augment(Xtr[b], Ltr[b], model.size, a.crop_scale, gen, rng, True, a.masks)
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if sched.last_epoch + 1 < steps:
                sched.step()
            tot += loss.item() * len(b)
            n += len(b)
        line = f"epoch {ep + 1}: train loss {tot / n:.4f} on {n} crops, {time.time() - t0:.0f}s"
        print(line, flush=True)
        log.append(line)
    result = {"arch": a.arch, "crop_scale": a.crop_scale, "seed": a.seed, "epochs": a.epochs,
              "held_out": sorted(held_sources), "masks": a.masks, "log": log, "params": n_params(model),
              "macs": macs(a.arch), "train_seconds": round(time.time() - t0)}
    if held.any():
        lg = logits_all_turns(model, X[held], a.crop_scale)
        t, nll = fit_temperature(lg, label[held])
        result["temperature"], result["nll"] = t, nll
        result["table"] = per_source_table(lg, label[held], src[held], t)
        for r in result["table"]:
            print(json.dumps(r), flush=True)
        print(f"temperature {t:.2f}, held-out NLL {nll:.4f}", flush=True)
    else:
        result["temperature"] = a.temperature
    torch.save({"state": model.state_dict(), "result": result}, a.out)
    with open(a.out + ".json", "w") as f:
        json.dump(result, f, indent=1)
    print(f"wrote {a.out}", flush=True)


# ---- export ------------------------------------------------------------------------------------

def fold_bn(conv_w, bn):
    s = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    w = conv_w * s.reshape(-1, 1, 1, 1)
    b = bn.bias - bn.running_mean * s
    return w.detach().double().numpy().astype(np.float32), b.detach().double().numpy().astype(np.float32)


def export_layers(model):
    """(name, kind, cin, cout, weights in the C layout, bias) per layer, in forward order."""
    layers = []
    w, b = fold_bn(model.stem.weight, model.stem_bn)
    w = w / np.float32(255.0)
    layers.append(("stem", "FU_CONV3X3S2", 3, w.shape[0], w.transpose(2, 3, 1, 0).reshape(-1), b))
    for i, blocks in enumerate(model.stages):
        for j, p in enumerate(blocks):
            w, b = fold_bn(p["pw"].weight, p["pw_bn"])
            layers.append((f"s{i}b{j}_pw", "FU_CONV_PW", w.shape[1], w.shape[0], w[:, :, 0, 0].T.reshape(-1), b))
            w, b = fold_bn(p["dw"].weight, p["dw_bn"])
            layers.append((f"s{i}b{j}_dw", "FU_CONV_DW", w.shape[0], w.shape[0],
                           w[:, 0].reshape(w.shape[0], 9).T.reshape(-1), b))
    return layers


def export(a):
    ck = torch.load(a.model)
    res = ck["result"]
    model = ReaderNet(res["arch"])
    model.load_state_dict(ck["state"])
    model.eval()
    size, widths, blocks = ARCHS[res["arch"]]
    layers = export_layers(model)
    fc_w = model.fc.weight.detach().numpy().astype(np.float32)
    fc_b = model.fc.bias.detach().numpy().astype(np.float32)
    temperature = a.temperature if a.temperature else res["temperature"]
    head = {"model": os.path.basename(a.model), "arch": res["arch"], "seed": res["seed"],
            "epochs": res["epochs"], "temperature": float(np.float32(temperature)),
            "crop_scale": float(np.float32(res["crop_scale"])),
            "stage_blocks": [1 + r for r in blocks],
            "layers": [[name, kind, cin, cout, int(w.size), int(b.size)] for name, kind, cin, cout, w, b in layers],
            "fc": [int(fc_w.size), int(fc_b.size)]}
    arrays = {}
    for name, kind, cin, cout, w, b in layers:
        arrays[f"{name}_w"], arrays[f"{name}_b"] = w.tolist(), b.tolist()
    arrays["fu_reader_fc_w"], arrays["fu_reader_fc_b"] = fc_w.reshape(-1).tolist(), fc_b.tolist()
    reader_to_c.write(a.out, head, arrays)
    hdr = os.path.join(os.path.dirname(a.out), "reader_weights.h")
    with open(hdr + ".tmp", "w") as f:
        f.write(f"""/*
 * reader_weights.h - the orientation reader's weights (generated by tools/train_reader.py export).
 */
#ifndef FU_READER_WEIGHTS_H
#define FU_READER_WEIGHTS_H

#include "nn/layer.h"

#define FU_READER_SIZE {size}          /* input side in pixels */
#define FU_READER_STAGES {len(blocks)}
#define FU_READER_LAYERS {len(layers)}
#define FU_READER_WIDTH0 {widths[0]}
#define FU_READER_MAX_WIDTH {max(widths)}
#define FU_READER_FEATURES {widths[-1]}
#define FU_READER_CLASSES 5          /* turned 0, 90, 180, 270; not a face */

extern const fu_conv_weights fu_reader_layers[FU_READER_LAYERS];
extern const int fu_reader_stage_blocks[FU_READER_STAGES]; /* pointwise+depthwise pairs per stage */
extern const float fu_reader_fc_w[FU_READER_CLASSES * FU_READER_FEATURES];
extern const float fu_reader_fc_b[FU_READER_CLASSES];
extern const float fu_reader_temperature;   /* logits are divided by it (fitted on held-out sources) */
extern const float fu_reader_crop_scale;    /* crop side / the box's longer side */

#endif
""")
    os.replace(hdr + ".tmp", hdr)
    err = check_export(model, a.out)
    gold = {"model": os.path.basename(a.model), "arch": res["arch"], "logits": golden(model)}
    with open(a.golden, "w") as f:
        json.dump(gold, f, indent=0)
    print(f"wrote {a.out} and {hdr} (temperature {temperature:.3f}); the C arrays reproduce the model "
          f"within {err:.1e} on the fixture crops; golden logits in {a.golden}")


# ---- fixtures: the C reader against this model ------------------------------------------------

FIXTURES = os.path.join(ROOT, "tests", "fixtures", "reader")
# (sample photo, face box) pairs and background squares of the public-domain samples/
FIXTURE_BOXES = [
    ("grace_hopper.jpg", (182.9, 120.5, 170.3, 212.5)),
    ("grace_hopper.jpg", (150.0, 90.0, 230.0, 250.0)),
    ("astronaut.jpg", (178.3, 62.9, 90.2, 112.8)),
    ("astronaut.jpg", (20.0, 300.0, 120.0, 120.0)),     # no face: the suit and the flag
    ("grace_hopper.jpg", (0.0, 420.0, 150.0, 150.0)),   # no face: the uniform
]


def make_fixtures(a):
    """tests/fixtures/reader/*.png: FU_READER_SIZE crops of the samples in four turns, and a
    drawing. Made once; the golden logits are rewritten at every export."""
    size = ARCHS[a.arch][0]
    os.makedirs(FIXTURES, exist_ok=True)
    n = 0
    for name, (x, y, w, h) in FIXTURE_BOXES:
        img = Image.open(os.path.join(ROOT, "samples", name)).convert("RGB")
        c = np.asarray(rd.crop_square(img, x + w / 2, y + h / 2, a.crop_scale * max(w, h), size))
        for r in range(4):
            Image.fromarray(np.ascontiguousarray(np.rot90(c, -r, (0, 1)))).save(os.path.join(FIXTURES, f"crop_{n:02d}.png"))
            n += 1
    d = rd.synthetic_drawings(1, random.Random(7))[0]
    Image.fromarray(d).resize((size, size), Image.BOX).save(os.path.join(FIXTURES, f"crop_{n:02d}.png"))
    print(f"wrote {n + 1} crops to {FIXTURES}")


def fixture_inputs():
    names = sorted(f for f in os.listdir(FIXTURES) if f.endswith(".png"))
    x = np.stack([np.asarray(Image.open(os.path.join(FIXTURES, f)).convert("RGB")) for f in names])
    return names, torch.from_numpy(x).permute(0, 3, 1, 2).float()[:, [2, 1, 0]] / 255.0


def golden(model):
    """The model's logits on the fixture crops, for tests/test_reader.py."""
    names, x = fixture_inputs()
    with torch.no_grad():
        lg = model(x).double().numpy()
    return {n: [float(v) for v in row] for n, row in zip(names, lg)}


def load_weights(path):
    """{array name: float32 array} of a weights file (tools/reader_to_c.py's layout)."""
    _head, arrays = reader_to_c.read(path)
    return {k: np.array(v, np.float32) for k, v in arrays.items()}


def forward_c_layout(arrays, arch, x_bgr255):
    """The network as src/models/reader.c computes it, from the exported arrays alone (NHWC,
    BGR 0..255, the C weight layouts), in float64: what the export promises the C code."""
    size, widths, res = ARCHS[arch]
    x = x_bgr255.astype(np.float64)                  # [n, S, S, 3]

    def conv3x3(x, w, b, stride, groups_dw=False):
        n, h, wd, c = x.shape
        p = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
        oh, ow = (h + 2 - 3) // stride + 1, (wd + 2 - 3) // stride + 1
        out = np.zeros((n, oh, ow, w.shape[-1]))
        for ky in range(3):
            for kx in range(3):
                patch = p[:, ky:ky + stride * oh:stride, kx:kx + stride * ow:stride, :]
                out += patch * w[ky, kx] if groups_dw else patch @ w[ky, kx]
        return out + b

    relu = lambda v: np.maximum(v, 0)
    w = arrays["stem_w"].reshape(3, 3, 3, widths[0])
    x = relu(conv3x3(x, w, arrays["stem_b"], 2))
    cin = widths[0]
    for i, c in enumerate(widths[1:]):
        for j in range(1 + res[i]):
            pw = arrays[f"s{i}b{j}_pw_w"].reshape(cin if j == 0 else c, c)
            t = x @ pw + arrays[f"s{i}b{j}_pw_b"]
            dw = arrays[f"s{i}b{j}_dw_w"].reshape(3, 3, c)
            t = relu(conv3x3(t, dw, arrays[f"s{i}b{j}_dw_b"], 1, True))
            x = t if j == 0 else x + t
        cin = c
        if i < 3:
            n, h, wd, ch = x.shape
            x = x.reshape(n, h // 2, 2, wd // 2, 2, ch).max((2, 4))
    feat = x.mean((1, 2))
    fc_w = arrays["fu_reader_fc_w"].reshape(5, -1)
    return feat @ fc_w.T.astype(np.float64) + arrays["fu_reader_fc_b"]


def check_export(model, path):
    """The exported file computes what the model computes (on the fixture crops); raises if not."""
    arrays = load_weights(path)
    names, x = fixture_inputs()
    with torch.no_grad():
        want = model(x).double().numpy()
    got = forward_c_layout(arrays, model.arch, (x[:, :, :, :] * 255).permute(0, 2, 3, 1).numpy())
    err = float(np.abs(got - want).max())
    if not err < 1e-3:
        raise SystemExit(f"export check failed: the C arrays compute logits {err:.2e} away from the model's")
    return err


def crops(a):
    dump = rd.load_dump(a.dump)
    t0 = time.time()
    d = rd.build(os.path.abspath(a.train_set), dump, seed=a.seed)
    np.savez(a.out, **d)
    lab = d["label"]
    print(f"{len(lab)} crops: {(lab == 0).sum()} faces, {(lab == NONFACE).sum()} not faces, "
          f"{time.time() - t0:.0f}s -> {a.out}")
    for s in sorted(set(d["src"])):
        m = d["src"] == s
        print(f"  {s:>12}: {(lab[m] == 0).sum():6d} faces {(lab[m] == NONFACE).sum():6d} not")


def record(a):
    """The training record's tables: per fold model, its held-out sources, each read by a model
    that never saw them (crops of faces-train, all four turns, at the fold's fitted temperature)."""
    out = []
    for path in a.models:
        r = torch.load(path)["result"]
        held = ", ".join(r["held_out"]) or "none (all sources)"
        out += [f"### `{os.path.basename(path)}`: {r['arch']}, {r['params']} parameters, "
                f"{r['epochs']} epochs, seed {r['seed']}; held out: {held}", ""]
        last = r["log"][-1] if r.get("log") else ""
        out += [f"Last epoch: {last}", ""]
        if r.get("table"):
            out += [f"Fitted temperature {r['temperature']:.2f}, held-out NLL {r['nll']:.4f}.", "",
                    "| held-out source | crops | accuracy (5 classes x 4 turns) | face turn accuracy "
                    "| faces taken for non-faces | non-faces taken for faces |", "|---|---|---|---|---|---|"]
            for row in r["table"]:
                f = lambda k: f"{row[k]:.4f}" if k in row else "-"
                out.append(f"| {row['source']} | {row['crops']} | {row['accuracy']:.4f} | "
                           f"{f('face_turn_acc')} | {f('face_missed')} | {f('nonface_taken')} |")
            out.append("")
        else:
            out += [f"Temperature {r['temperature']:.2f} (the mean of the fold models').", ""]
    text = "\n".join(out)
    print(text)
    if a.out:
        with open(a.out, "w") as fh:
            fh.write(text)


def tradeoff(a):
    """Size, speed and held-out accuracy of models of different architectures trained on the same
    fold: one table for the record. Speed: one crop at a time on one thread, median of --reps
    forward passes, all models timed in this same run (a ratio is what to read from it)."""
    torch.set_num_threads(1)
    rows = []
    for path in a.models:
        ck = torch.load(path)
        r = ck["result"]
        model = ReaderNet(r["arch"])
        model.load_state_dict(ck["state"])
        model.eval()
        x = torch.rand(1, 3, ARCHS[r["arch"]][0], ARCHS[r["arch"]][0])
        times = []
        with torch.no_grad():
            for _ in range(10):
                model(x)
            for _ in range(a.reps):
                t0 = time.perf_counter()
                model(x)
                times.append(time.perf_counter() - t0)
        rows.append((path, r, float(np.median(times)) * 1e3))
    base = rows[0][2]
    srcs = [t["source"] for t in rows[0][1]["table"]]
    out = ["| model | input | parameters | multiply-adds | ms per crop (torch, 1 thread) | ratio | "
           "held-out NLL | " + " | ".join(f"{s}: face turn / non-faces taken" for s in srcs) + " |",
           "|" + "---|" * (7 + len(srcs))]
    for path, r, ms in rows:
        tab = {t["source"]: t for t in r["table"]}
        cells = []
        for s in srcs:
            t = tab.get(s, {})
            f = lambda k: f"{t[k]:.3f}" if k in t else "-"
            cells.append(f"{f('face_turn_acc')} / {f('nonface_taken')}")
        out.append(f"| `{os.path.basename(path)}` {r['arch']} | {ARCHS[r['arch']][0]} px | {r['params']:,} | "
                   f"{macs(r['arch']) / 1e6:.1f} M | {ms:.2f} | {ms / base:.2f} | {r['nll']:.4f} | "
                   + " | ".join(cells) + " |")
    print("\n".join(out))


def temper(a):
    """A weights file's temperature set anew (the decision's fit changes it), the weights kept."""
    head, arrays = reader_to_c.read(a.weights)
    old = head["temperature"]
    head["temperature"] = float(np.float32(a.temperature))
    reader_to_c.write(a.weights, head, arrays)
    print(f"{a.weights}: temperature {old:.4f} -> {head['temperature']:.4f}, weights unchanged")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("crops")
    c.add_argument("--dump", nargs="+", required=True)
    c.add_argument("--train-set", default=TRAIN_SET)
    c.add_argument("--out", required=True)
    c.add_argument("--seed", type=int, default=1)
    t = sub.add_parser("train")
    t.add_argument("--crops", required=True)
    t.add_argument("--out", required=True)
    t.add_argument("--arch", default="m64", choices=sorted(ARCHS))
    t.add_argument("--holdout-fold", type=int, choices=range(len(rd.FOLDS)))
    t.add_argument("--holdout", default="", help="comma-separated sources to hold out instead of a fold")
    t.add_argument("--epochs", type=int, default=12)
    t.add_argument("--batch", type=int, default=128)
    t.add_argument("--cap", type=int, default=1000, help="faces (and non-faces) per source per epoch")
    t.add_argument("--lr", type=float, default=4e-3)
    t.add_argument("--weight-decay", type=float, default=5e-4)
    t.add_argument("--crop-scale", type=float, default=1.6)
    t.add_argument("--seed", type=int, default=1)
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--temperature", type=float, default=1.0, help="for a model without held-out sources")
    t.add_argument("--masks", type=float, default=0.0,
                   help="share of face crops given a synthetic face mask (0: the v2 models)")
    fx = sub.add_parser("fixtures")
    fx.add_argument("--arch", default="m64", choices=sorted(ARCHS))
    fx.add_argument("--crop-scale", type=float, default=1.6)
    e = sub.add_parser("export")
    e.add_argument("--model", required=True)
    e.add_argument("--out", required=True)
    e.add_argument("--temperature", type=float, default=0.0)
    e.add_argument("--golden", default=os.path.join(FIXTURES, "golden.json"))
    tp = sub.add_parser("temper")
    tp.add_argument("--weights", required=True)
    tp.add_argument("--temperature", type=float, required=True)
    rc = sub.add_parser("record")
    rc.add_argument("--models", nargs="+", required=True)
    rc.add_argument("--out")
    to = sub.add_parser("tradeoff")
    to.add_argument("--models", nargs="+", required=True)
    to.add_argument("--reps", type=int, default=300)
    a = ap.parse_args()
    {"crops": crops, "tradeoff": tradeoff, "train": train, "export": export, "fixtures": make_fixtures,
     "record": record, "temper": temper}[a.cmd](a)


if __name__ == "__main__":
    main()
