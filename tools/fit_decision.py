#!/usr/bin/python3
"""Fit faceup's orientation decision on faces-train sources that the reader never saw.

Every constant of the decision (pass schedule, detector threshold and weight, the reader's
temperature, how a face is weighted, when a finer pass runs, when to answer null) is chosen here,
on out-of-fold evidence: each photo of faces-train is read by the fold model of
tools/train_reader.py that was trained without the photo's source. faces-dev is not read.

  1. features: fit_decision.py features --dump dump.jsonl --models fold0.pt ... --out feats.pkl
     For every upright photo, every prefix of the candidate pass schedule: the face groups (all
     detections of those passes in the four turns, clustered), each group's best detector score
     per turn, its size, and the fold reader's logits on the group's crop in the four turns.
     A photo turned by t is the same evidence with the turns shifted, so one dump serves all four
     cases orient_eval.py makes (no-face photos only as they are).
  2. fit:      fit_decision.py fit --features feats.pkl [--record FILE]
     Searches the decision's constants; prints and records the per-source table, the confidence
     bands and the chosen constants (which src/decide/weigh.c, weigh.h and orientation.c must
     then use; tests/test_weigh_reference.py holds weigh.c to them).
"""
import argparse, json, os, pickle, sys, time

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reader_data as rd  # noqa: E402
import train_reader as tr  # noqa: E402

# the passes of tools/evidence_dump.c: 0 = 192 px whole photo (x1.3 margin), 1 = 640 px in 2x2
# overlapping tiles, 8 = the zoom on small faces' hints (photos larger than the passes only)
PASS_NAMES = {0: "192:1:1.3", 1: "640:2:1", 8: "zoom"}
SCHEDULES = {"A": [0], "B": [0, 1], "Z": [0, 1, 8]}
DET_MIN = 0.3   # the dump's threshold


def group_features(dets, passes, thr):
    """Face groups from the detections of `passes` scoring >= thr: list of dicts with s[4] (best
    score per turn), top, box (best detection's), members."""
    run = dets[np.isin(dets[:, 0], passes)]
    d = run[run[:, 6] >= thr]
    out = []
    for g in rd.cluster(d, 0.4):
        s = np.zeros(4, np.float32)
        for i in g:
            k = int(d[i, 1])
            s[k] = max(s[k], d[i, 6])
        # the same, counting the faint detections (>= DET_MIN) that overlap the group's best box
        s_low = s.copy()
        for r in run:
            if rd.iou(r[2:6], d[g[0], 2:6]) >= 0.4:
                s_low[int(r[1])] = max(s_low[int(r[1])], r[6])
        out.append({"s": s, "s_low": s_low, "top": float(d[g[0], 6]),
                    "box": tuple(float(v) for v in d[g[0], 2:6])})
    return out


def reader_logits(model, img, boxes, crop_scale):
    """Logits [n, 4, 5] of the reader on each box's crop turned clockwise by 0, 90, 180, 270."""
    if not boxes:
        return np.zeros((0, 4, 5), np.float32)
    xs = []
    for (x, y, w, h) in boxes:
        c = np.asarray(rd.crop_square(img, x + w / 2, y + h / 2, crop_scale * max(w, h), model.size))
        xs.extend(np.rot90(c, -r, (0, 1)) for r in range(4))
    x = torch.from_numpy(np.stack(xs).copy()).permute(0, 3, 1, 2).float()[:, [2, 1, 0]] / 255.0
    with torch.no_grad():
        return model(x).view(len(boxes), 4, 5).numpy()


def features(a):
    torch.set_num_threads(a.threads)
    dump = rd.load_dump(a.dump)
    models = []
    for p in a.models:
        ck = torch.load(p)
        m = tr.ReaderNet(ck["result"]["arch"])
        m.load_state_dict(ck["state"])
        m.eval()
        models.append((m, ck["result"]))
    by_fold = {tuple(sorted(r["held_out"])): (m, r) for m, r in models}
    root = os.path.abspath(a.train_set)
    feats = {}
    t0 = time.time()
    for n, rel in enumerate(sorted(dump)):
        w, h, dets = dump[rel]
        src = rd.source_of(rel)
        fold = tuple(sorted(rd.FOLDS[rd.fold_of(src)])) if a.model_for_all is None else \
            tuple(sorted(models[a.model_for_all][1]["held_out"]))
        if fold not in by_fold:
            continue   # no model was trained without this photo's source
        model, res = by_fold[fold]
        img = Image.open(rel if os.path.isabs(rel) else os.path.join(root, rel)).convert("RGB")
        if img.size != (w, h):   # the decision's decode of a large JPEG is reduced (DCT scaling)
            img = img.resize((w, h), Image.BOX)
        per = {}
        cache = {}
        for thr in a.thresholds:
            for name, sched in SCHEDULES.items():
                for j in range(len(sched)):
                    key = (thr, tuple(sched[: j + 1]))
                    if key in per:
                        continue
                    groups = group_features(dets, list(key[1]), thr)[: a.max_groups]
                    need = [g["box"] for g in groups if g["box"] not in cache]
                    for b, lg in zip(need, reader_logits(model, img, need, res["crop_scale"])):
                        cache[b] = lg
                    for g in groups:
                        g["logits"] = cache[g["box"]]
                        g["side"] = max(g["box"][2], g["box"][3])
                    per[key] = groups
        if a.source_name:
            src = a.source_name
        feats[rel] = {"src": src, "kind": "noface" if src in rd.NONFACE_SOURCES else "face",
                      "w": w, "h": h, "per": per, "temperature": res["temperature"]}
        if n % 1000 == 0:
            print(f"  {n}/{len(dump)} photos, {time.time() - t0:.0f}s", flush=True)
    with open(a.out, "wb") as f:
        pickle.dump(feats, f)
    print(f"wrote {a.out}")


# ---- the decision, as src/decide/weigh.c and orientation.c compute it -----------------------------

class Tables:
    """The features as flat arrays, one set per (detector threshold, pass prefix), so a whole
    parameter set is scored in a few vectorised steps."""

    def __init__(self, feats, low=False):
        self.rels = sorted(feats)
        self.src = np.array([feats[r]["src"] for r in self.rels])
        self.face = np.array([feats[r]["kind"] == "face" for r in self.rels])
        # the fold models' fitted temperatures; the final model gets their mean
        self.T = float(np.mean([f["temperature"] for f in feats.values()]))
        self.keys = sorted({k for f in feats.values() for k in f["per"]})
        self.per = {}
        self.has_key = {k: np.array([k in feats[r]["per"] for r in self.rels]) for k in self.keys}
        for key in self.keys:
            img, lg, s, top = [], [], [], []
            for i, r in enumerate(self.rels):
                for g in feats[r]["per"].get(key, []):
                    img.append(i)
                    lg.append(g["logits"] / feats[r]["temperature"])   # each fold model's own
                    s.append(g.get("s_low", g["s"]) if low else g["s"])
                    top.append(g["top"])
            self.per[key] = (np.array(img, np.int64), np.array(lg, np.float64).reshape(-1, 4, 5),
                             np.array(s, np.float64).reshape(-1, 4), np.array(top))
        self._lp = {}

    def logp(self, key, T, tta):
        """[groups, case t, 5] reader log-probabilities for the photo turned by t."""
        ck = (key, T, tta)
        if ck not in self._lp:
            lg = self.per[key][1] / T
            l = lg - lg.max(-1, keepdims=True)
            l = l - np.log(np.exp(l).sum(-1, keepdims=True))     # [g, u, 5]: crop turned by u
            if tta:
                out = np.zeros_like(l)
                for t in range(4):
                    acc = np.zeros((len(l), 5))
                    for r in range(4):
                        lr = l[:, (t + r) % 4]
                        acc[:, :4] += np.roll(lr[:, :4], -r, axis=1)
                        acc[:, 4] += lr[:, 4]
                    acc /= 4
                    acc -= acc.max(-1, keepdims=True)
                    out[:, t] = acc - np.log(np.exp(acc).sum(-1, keepdims=True))
                l = out
            self._lp[ck] = l
        return self._lp[ck]

    def decide(self, key, p):
        """(best turn [images, 4 cases], confidence [images, 4], any evidence [images, 4])."""
        img, lg, s, top = self.per[key]
        n = len(self.rels)
        lp = self.logp(key, p["T"], p["tta"])                 # [g, t, 5]
        pface = 1.0 - np.exp(lp[..., 4])                      # [g, t]
        lq = lp[..., :4] - np.log(np.maximum(pface, 1e-12))[..., None]
        # the detector's score in turn k of the photo turned by t is its upright score in k - t
        st = np.stack([np.roll(s, t, axis=1) for t in range(4)], 1)   # [g, t, 4]
        # each group is a face with probability pf, pointing by pi; else it says nothing:
        # P(turn k) grows by pf * 4 pi_k + (1 - pf), at most 4x a group
        e = (np.maximum(lq, p["floor"]) + p["beta"] * st) / p.get("Te", 1.0)
        e = e - e.max(-1, keepdims=True)
        pi = np.exp(e) / np.exp(e).sum(-1, keepdims=True)
        if p["mix"] == 2:
            # whether it is a face, as a logistic model of the three looks at it: the reader's
            # P(face), the detector's score, and whether the two agree on the turn
            agree = (lq.argmax(-1) == st.argmax(-1)) & (st.max(-1) > 0)
            pc = np.clip(pface, 1e-6, 1 - 1e-6)
            tc = np.clip(top, 1e-6, 1 - 1e-6)
            z = p["b0"] + p["bp"] * np.log(pc / (1 - pc)) + \
                p["bd"] * np.log(tc / (1 - tc))[:, None] + p["ba"] * agree
            pf = np.where(pface >= p["pface_min"], 1 / (1 + np.exp(-z)), 0.0)
        else:   # v2: P(face)^pface_pow x a ramp on the detector score
            pf = np.where(pface >= p["pface_min"], pface ** p["pface_pow"], 0.0) * \
                np.clip((top - p["thr"]) / p["ramp"], 0, 1)[:, None]
        pf = np.minimum(pf, p.get("pf_cap", 1.0))
        E = np.log(pf[..., None] * 4 * pi + (1 - pf[..., None]))
        L = np.zeros((n, 4, 4))
        np.add.at(L, img, E)
        W = np.zeros((n, 4))
        np.add.at(W, img, pf)
        best = L.argmax(-1)
        z = np.exp(L - L.max(-1, keepdims=True)).sum(-1)
        conf = np.where(W > 0, np.minimum(1.0 / z, p["cap"]), 0.0)
        return best, conf, W > 0


def evaluate(tab, p):
    """The cascade for every photo and case. Returns per source
    [right, wrong, undecided, upright kept, upright n, noface kept, noface n, passes] and the
    answers (source, kind, truth, answer or None, confidence)."""
    sched = SCHEDULES[p["schedule"]]
    n = len(tab.rels)
    best = np.zeros((n, 4), np.int64)
    conf = np.zeros((n, 4))
    has = np.zeros((n, 4), bool)
    passes = np.zeros((n, 4))
    done = np.zeros((n, 4), bool)
    for j in range(len(sched)):
        key = (p["det_thr"], tuple(sched[: j + 1]))
        if key not in tab.per:
            continue   # a pass these photos never get (the detail pass on small photos)
        b, c, h = tab.decide(key, p)
        upd = ~done & tab.has_key[key][:, None]
        best[upd], conf[upd], has[upd] = b[upd], c[upd], h[upd]
        passes[upd] += 1
        done |= c >= p["sure"]
    answer = np.where(has & (conf >= p["tau"]), best, -1)      # -1: undecided
    truth = np.arange(4)[None, :].repeat(n, 0)
    stats = {}
    for sname in np.unique(tab.src):
        m = tab.src == sname
        st = np.zeros(8)
        if tab.face[m].any():
            a, tr_ = answer[m & tab.face], truth[m & tab.face]
            st[0] = (a == tr_).sum()
            st[1] = ((a >= 0) & (a != tr_)).sum()
            st[2] = (a < 0).sum()
            st[3] = (a[:, 0] <= 0).sum()
            st[4] = len(a)
            st[7] += passes[m & tab.face].sum()
        nf = m & ~tab.face
        if nf.any():
            st[5] = (answer[nf, 0] <= 0).sum()
            st[6] = nf.sum()
            st[7] += passes[nf, 0].sum()
        stats[sname] = st
    answers = (answer, conf, truth)
    return stats, answers


def summarise(stats):
    tot = sum(stats.values())
    faces = tot[0] + tot[1] + tot[2]
    return {"accuracy": tot[0] / max(1, faces), "wrong": tot[1] / max(1, faces),
            "upright_kept": tot[3] / max(1, tot[4]), "noface_kept": tot[5] / max(1, tot[6]),
            "worst_wrong": max(s[1] / max(1, s[0] + s[1] + s[2]) for s in stats.values()),
            "worst_noface": min((s[5] / s[6] for s in stats.values() if s[6]), default=1.0),
            "passes": tot[7] / max(1, faces + tot[6])}


def table(stats):
    lines = ["| source | images | accuracy | wrong | upright kept | no-face kept | passes run |",
             "|---|---|---|---|---|---|---|"]
    for s in sorted(stats):
        v = stats[s]
        faces = v[0] + v[1] + v[2]
        n = faces + v[6]
        nf = f"{v[5] / v[6]:.4f}" if v[6] else "-"
        lines.append(f"| {s} | {int(n)} | {v[0] / faces:.4f} | {v[1] / faces:.4f} | {v[3] / max(1, v[4]):.4f} | "
                     f"{nf} | {v[7] / n:.2f} |" if faces else
                     f"| {s} | {int(n)} | - | - | - | {v[5] / v[6]:.4f} | {v[7] / n:.2f} |")
    return "\n".join(lines)


def bands(tab, answers, edges=(0.5, 0.8, 0.9, 0.95, 0.99, 0.999, 1.0001)):
    answer, conf, truth = answers
    cases = np.where(tab.face[:, None], np.ones((1, 4), bool), np.array([[True, False, False, False]]))
    wrong = np.where(tab.face[:, None], answer != truth, answer != 0)
    rows = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = cases & (answer >= 0) & (conf >= lo) & (conf < hi)
        rows.append((lo, min(hi, 1.0), int(sel.sum()), int((sel & wrong).sum())))
    return rows


# the mixture, no weighting by face size, and whether a group is a face (pf) as a logistic model of
# P(face), the score and the turns' agreement ("logistic", mix 2: what src/decide/weigh.c
# implements since v3) or, as v2 did, P(face)^pface_pow x a ramp on the detector score ("ramp",
# mix 1: kept to compare, tools/fit_decision.record.md)
COMMON = {"beta": [0.0, 3.0, 6.0, 10.0, 15.0], "Te": [0.5, 1.0, 2.0], "T": [0.8, 1.0, 1.25]}
LATER = {"floor": [-30.0, -6.0, -3.0], "tta": [0, 1],
         "tau": [0.7, 0.8, 0.85, 0.9, 0.95], "sure": [0.95, 0.97, 0.99, 0.999], "schedule": ["A", "B", "Z"]}
FORMS = {   # searched in this order
    "ramp": {"mix": [1], **COMMON, "pface_pow": [0.5, 1.0, 2.0], "pface_min": [0.3, 0.5, 0.7],
             "ramp": [0.05, 0.15, 0.35], **LATER},
    "logistic": {"mix": [2], **COMMON, "b0": [-18.0, -16.0, -14.0, -12.0, -10.0, -8.0, -6.0, -4.0, -2.0, 0.0],
                 "bp": [0.25, 0.5, 0.75, 1.0, 2.0], "pface_min": [0.3, 0.5, 0.7], "bd": [0.0, 1.0, 2.0, 4.0, 6.0, 8.0, 10.0],
                 "ba": [0.0, 0.5, 1.0, 2.0, 3.0, 4.0], **LATER}}


def load_features(paths):
    feats = {}
    for i, path in enumerate(paths):
        for rel, f in pickle.load(open(path, "rb")).items():
            feats[f"{i}:{rel}"] = f
    return feats


def fit(a):
    feats = load_features(a.features)
    tab = Tables(feats, a.low)
    base = {"T": 1.0, "pface_pow": 1.0, "pface_min": 0.5, "thr": 0.5, "ramp": 0.35, "beta": 10.0,
            "cap": 0.999, "tau": 0.85, "sure": 0.97, "schedule": "Z", "det_thr": 0.5, "tta": 0,
            "floor": -30.0, "mix": FORMS[a.form]["mix"][0], "Te": 1.0, "pf_cap": 1.0,
            "b0": 0.0, "bp": 1.0, "bd": 1.0, "ba": 0.0}
    grid = dict(FORMS[a.form], det_thr=sorted({k[0] for k in tab.keys}))
    schedules = {k for k in tab.keys}
    grid["schedule"] = [n for n, sc in SCHEDULES.items() if n in a.schedules
                        and all((t, tuple(sc[: j + 1])) in schedules for t in grid["det_thr"] for j in range(len(sc)))]

    def score(p):
        s = summarise(evaluate(tab, p)[0])
        # the constraints first, then accuracy, then time
        pen = max(0.0, s["worst_wrong"] - a.max_wrong) + max(0.0, a.min_noface - s["worst_noface"])
        return -10 * pen + s["accuracy"] - a.cost_passes * s["passes"] - a.cost_tta * p["tta"], s

    # coordinate search: each constant in turn over its grid, the others held, until nothing moves;
    # started once from each pass schedule (from the cheapest alone it stays in a local optimum)
    t0 = time.time()
    found = []
    # ... and from --restarts random points of the grid (seeded), the search being greedy
    rng = np.random.default_rng(a.seed)
    starts = [dict(base, det_thr=grid["det_thr"][0], schedule=sc) for sc in grid["schedule"]]
    starts += [dict(base, **{k: vs[rng.integers(len(vs))] for k, vs in grid.items()})
               for _ in range(a.restarts)]
    for n_start, p in enumerate(starts):
        p["thr"] = p["det_thr"]
        best = score(p) + (dict(p),)
        print(f"start {n_start}: {json.dumps(p)}", flush=True)
        for rnd in range(4):
            moved = False
            for k in grid:
                for v in grid[k]:
                    q = dict(best[2], **{k: v})
                    q["thr"] = q["det_thr"]
                    sc, s = score(q)
                    if sc > best[0] + 1e-9:
                        best, moved = (sc, s, q), True
                        print(f"{time.time() - t0:.0f}s {k}={v}: "
                              f"{json.dumps({k2: round(v2, 4) for k2, v2 in s.items()})}", flush=True)
            if not moved:
                break
        found.append(best)
    best = max(found, key=lambda b: b[0])
    best = (best[0], best[2], best[1])
    _, p, s = best
    stats, answers = evaluate(tab, p)
    out = [f"Chosen: `{json.dumps(p)}`", "", table(stats), "",
           "| confidence | answers | wrong |", "|---|---|---|"]
    for lo, hi, n, w in bands(tab, answers):
        out.append(f"| {lo:.3f} - {hi:.3f} | {n} | {w} ({100 * w / max(1, n):.2f} %) |")
    text = "\n".join(out)
    print(text)
    if a.record:
        with open(a.record, "w") as f:
            f.write(text + "\n")


def show(a):
    tab = Tables(load_features(a.features), a.low)
    p = json.loads(a.params)
    stats, answers = evaluate(tab, p)
    print(table(stats))
    print(json.dumps({k: round(v, 4) for k, v in summarise(stats).items()}))
    for lo, hi, n, w in bands(tab, answers):
        print(f"| {lo:.3f} - {hi:.3f} | {n} | {w} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("features")
    f.add_argument("--dump", nargs="+", required=True)
    f.add_argument("--models", nargs="+", required=True)
    f.add_argument("--train-set", default=tr.TRAIN_SET)
    f.add_argument("--out", required=True)
    f.add_argument("--thresholds", type=float, nargs="+", default=[0.5])
    f.add_argument("--max-groups", type=int, default=16)
    f.add_argument("--threads", type=int, default=2)
    f.add_argument("--model-for-all", type=int, help="read every photo with this model (composed sets)")
    f.add_argument("--source-name", help="the source these photos count as (composed sets)")
    g = sub.add_parser("fit")
    g.add_argument("--features", nargs="+", required=True)
    g.add_argument("--low", action="store_true", help="detector scores count faint detections")
    g.add_argument("--record")
    g.add_argument("--schedules", default="".join(SCHEDULES), help="the pass schedules it may choose")
    g.add_argument("--restarts", type=int, default=0, help="more starts of the search, at random")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--form", choices=sorted(FORMS), default="logistic", help="how a group's pf is computed")
    g.add_argument("--max-wrong", type=float, default=0.002)
    g.add_argument("--min-noface", type=float, default=0.99)
    g.add_argument("--cost-passes", type=float, default=0.002)
    g.add_argument("--cost-tta", type=float, default=0.001)
    e = sub.add_parser("show")
    e.add_argument("--features", nargs="+", required=True)
    e.add_argument("--low", action="store_true")
    e.add_argument("--params", required=True, help="the decision's constants, JSON")
    a = ap.parse_args()
    {"features": features, "fit": fit, "show": show}[a.cmd](a)


if __name__ == "__main__":
    main()
