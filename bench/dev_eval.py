#!/usr/bin/env python3
"""Score faceup (or a peer) on a face set the way ../shared/eval/orient_eval.py does, with the
turned copies kept between runs and every answer saved, for
the confidence table and failure analysis (faces-dev is the final check: nothing is fitted on it).

Usage: bench/dev_eval.py --set ../shared/data/faces-dev --sut "build/faceup detect --json"
       [--cache /tmp/faceup-cases] [--save answers.jsonl] [--limit N]
The official number is always orient_eval.py's.
"""
import argparse, importlib.util, json, os, pickle, shlex, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
EVAL = os.path.join(HERE, "..", "..", "shared", "eval", "orient_eval.py")


def load_eval():
    spec = importlib.util.spec_from_file_location("orient_eval", EVAL)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", required=True)
    ap.add_argument("--sut", required=True)
    ap.add_argument("--cache", default="/tmp/faceup-cases")
    ap.add_argument("--save")
    ap.add_argument("--limit", type=int, default=0)
    a = ap.parse_args()
    ev = load_eval()
    rows = ev.load_manifest(a.set, a.limit)
    key = os.path.join(a.cache, f"{os.path.basename(os.path.abspath(a.set))}-{a.limit}")
    index = key + ".pkl"
    if os.path.exists(index):
        cases = pickle.load(open(index, "rb"))
    else:
        os.makedirs(key, exist_ok=True)
        cases = ev.make_cases(a.set, rows, key)
        pickle.dump(cases, open(index, "wb"))
    paths = sorted(cases)
    t0 = time.perf_counter()
    answers = {}
    for s in range(0, len(paths), 400):
        proc = subprocess.run(shlex.split(a.sut) + paths[s:s + 400], capture_output=True, text=True)
        for line in proc.stdout.splitlines():
            if line.startswith("{"):
                obj = json.loads(line)
                answers[obj.get("file")] = obj
    secs = time.perf_counter() - t0
    right = wrong = undec = up_ok = up_n = neg_ok = neg_n = 0
    decided = []   # (confidence, wrong) of every answer given
    for p in paths:
        truth, kind, rel = cases[p]
        ans = answers.get(p, {})
        got = ans.get("orientation")
        ans["truth"], ans["kind"], ans["rel"] = truth, kind, rel
        if kind == "noface":
            neg_n += 1
            neg_ok += got in (None, 0)
            if got is not None:
                decided.append((ans.get("confidence", 0), got != 0))
            continue
        if truth == 0:
            up_n += 1
            up_ok += got in (None, 0)
        if got is None:
            undec += 1
        elif got == truth:
            right += 1
        else:
            wrong += 1
        if got is not None:
            decided.append((ans.get("confidence", 0), got != truth))
    faces = right + wrong + undec
    if a.save:
        with open(a.save, "w") as f:
            for p in paths:
                f.write(json.dumps(answers.get(p, {"file": p})) + "\n")
    print(f"accuracy={right / faces:.4f} wrong={wrong / faces:.4f} undecided={undec / faces:.4f} "
          f"upright_kept={up_ok / max(1, up_n):.4f} noface_kept={neg_ok / max(1, neg_n):.4f} "
          f"ms_per_image={1000 * secs / len(paths):.1f}")
    print("| confidence | answers | wrong |\n|---|---|---|")
    edges = (0.0, 0.9, 0.95, 0.99, 0.999, 1.0001)
    for lo, hi in zip(edges[:-1], edges[1:]):
        band = [w for c, w in decided if lo <= c < hi]
        if band:
            name = f"{lo:.3g}" if lo == 0.999 else f"{lo:.3g} - {hi:.3g}"
            print(f"| {name} | {len(band):,} | {sum(band)} ({100 * sum(band) / len(band):.2f} %) |")


if __name__ == "__main__":
    main()
