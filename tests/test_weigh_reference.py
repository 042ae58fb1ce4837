#!/usr/bin/python3
"""The decision's model in C (src/decide/weigh.c, through tests/weigh_dump) against the one that was
fitted: tools/fit_decision.py's Tables.decide with the constants of tools/fit_decision.record.md.

Run by CTest with Debian's python3 (fit_decision.py's environment). Random evidence - one to five
faces, each with YuNet's per-turn scores and the reader's log-probabilities - goes through both;
the best turn and the confidence must agree. A constant changed on one side only fails here.
"""
import json, os, re, subprocess, sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
import fit_decision as fd  # noqa: E402

RECORD = os.path.join(HERE, "..", "tools", "fit_decision.record.md")


def chosen():
    return json.loads(re.search(r"Chosen[^`]*`(\{.*?\})`", open(RECORD).read()).group(1))


def random_cases(rng, n_cases):
    """[(s[4], top, lp[5]) per face] per case."""
    cases = []
    for _ in range(n_cases):
        faces = []
        for _ in range(rng.integers(1, 6)):
            s = np.where(rng.random(4) < 0.4, rng.uniform(0.3, 1.0, 4), 0.0)
            k = rng.integers(4)
            s[k] = max(s[k], rng.uniform(0.5, 1.0))           # found in one turn at least
            p = rng.dirichlet(np.full(5, rng.choice([0.1, 0.5, 2.0])))
            p = np.maximum(p, 1e-9)
            faces.append((s, float(s.max()), np.log(p / p.sum())))
        cases.append(faces)
    return cases


def python_answers(cases, params):
    """Tables.decide on the cases as photos of one pass, the reader's logits rolled with the crop's
    turn so that its four readings average back to lp (and the temperature taken as applied)."""
    feats = {}
    for i, faces in enumerate(cases):
        groups = []
        for j, (s, top, lp) in enumerate(faces):
            logits = np.stack([np.concatenate([np.roll(lp[:4], u), lp[4:]]) for u in range(4)])
            groups.append({"s": s.astype(np.float32), "top": top, "box": (i, j, 1, 1),
                           "logits": logits, "side": 48.0})
        feats[f"{i:05d}"] = {"src": "test", "kind": "face", "w": 100, "h": 100,
                             "per": {(params["det_thr"], (0,)): groups}, "temperature": 1.0}
    tab = fd.Tables(feats)
    best, conf, _ = tab.decide((params["det_thr"], (0,)), dict(params, T=1.0))
    return best[:, 0], conf[:, 0]


def c_answers(cases):
    lines = []
    for faces in cases:
        lines.append(str(len(faces)))
        for s, top, lp in faces:
            # float32 as C holds the scores, lp exact
            lines.append(" ".join(f"{float(np.float32(v))!r}" for v in (*s, top)) + " " +
                         " ".join(repr(float(v)) for v in lp))
    exe = os.path.join(os.environ.get("FACEUP_BUILD", os.path.join(HERE, "..", "build")), "tests", "weigh_dump")
    out = subprocess.run([exe], input="\n".join(lines) + "\n", capture_output=True, text=True, check=True).stdout
    rows = [l.split() for l in out.splitlines()]
    return (np.array([int(r[0]) for r in rows]), np.array([float.fromhex(r[1]) for r in rows]),
            np.array([r[2] == "1" for r in rows]))


def test_c_decides_as_fitted():
    params = chosen()
    cases = random_cases(np.random.default_rng(8), 3000)
    # the scores as C holds them (float32) on both sides
    cases = [[(s.astype(np.float32).astype(np.float64), float(np.float32(top)), lp) for s, top, lp in f]
             for f in cases]
    pb, pc = python_answers(cases, params)
    cb, cc, cdecided = c_answers(cases)
    assert len(cb) == len(cases)
    assert np.abs(pc - cc).max() < 1e-4, np.abs(pc - cc).max()
    decided = pc >= params["tau"]
    assert decided.sum() > 300 and (~decided).sum() > 300   # both kinds of answer are exercised
    assert (pb[decided] == cb[decided]).all()
    # and C's threshold is the fitted tau (a case within float error of it may fall either way)
    clear = np.abs(pc - params["tau"]) > 1e-4
    assert (cdecided[clear] == decided[clear]).all()


if __name__ == "__main__":
    test_c_decides_as_fitted()
    print("ok")
