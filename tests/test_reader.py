"""The C orientation reader (src/models/reader.c) against the trained network it was exported from.

tests/fixtures/reader/: crops of the public-domain samples in their four turns, two crops without a
face and a drawing; golden.json: the trained model's logits on them, written by
tools/train_reader.py export. Run by CTest with FACEUP_BUILD set.
"""
import json, os, subprocess

import pytest

BUILD = os.environ.get("FACEUP_BUILD", "build")
HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures", "reader")
GOLDEN = json.load(open(os.path.join(FIXTURES, "golden.json")))
NAMES = sorted(GOLDEN["logits"])


def reader_logits(scalar):
    env = dict(os.environ, FACEUP_FORCE_SCALAR="1" if scalar else "0")
    out = subprocess.run([os.path.join(BUILD, "tests", "reader_dump")] + [os.path.join(FIXTURES, n) for n in NAMES],
                         capture_output=True, text=True, env=env, check=True).stdout
    rows = {}
    for line in out.splitlines():
        name, *vals = line.split()
        rows[name] = [float.fromhex(v) for v in vals]
    return rows


@pytest.mark.parametrize("scalar", [True, False])
def test_reader_matches_trained_model_on_fixture_crops(scalar):
    got = reader_logits(scalar)
    assert sorted(got) == NAMES
    worst = max(abs(g - w) for n in NAMES for g, w in zip(got[n], GOLDEN["logits"][n]))
    assert worst < 2e-4, f"max abs error per logit {worst:.2e}"


def test_reader_kernel_paths_agree_bit_for_bit():
    assert reader_logits(True) == reader_logits(False)


def argmax(v):
    return max(range(len(v)), key=v.__getitem__)


def test_reader_reads_the_sample_faces_in_every_turn():
    # crops 0-11: three face crops of the samples, each turned 0, 90, 180, 270 clockwise
    got = reader_logits(False)
    for i in range(12):
        assert argmax(got[NAMES[i]]) == i % 4, (NAMES[i], got[NAMES[i]])
