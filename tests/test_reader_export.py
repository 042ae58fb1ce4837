#!/usr/bin/python3
"""tools/train_reader.py's export, and the committed weights, against the network they come from.

Run by CTest with Debian's python3 (python3-torch, -numpy, -pil: the training environment).
1. A network with random weights and batch-norm statistics is exported to a temporary folder;
   the C arrays, run the way src/models/reader.c runs them (NHWC, BGR 0..255, batch norm
   folded), give the network's own logits on the fixture crops; a single changed weight is caught.
2. The committed src/models/reader_weights.bin, run the same way, gives the logits the trained model
   gave at export (tests/fixtures/reader/golden.json): the weights in C are the trained model's.
"""
import json, os, sys, tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
import train_reader as tr  # noqa: E402
import reader_to_c  # noqa: E402


def random_model(seed):
    torch.manual_seed(seed)
    m = tr.ReaderNet("m64")
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.5, 0.5)
            mod.running_var.uniform_(0.5, 2.0)
            mod.weight.data.uniform_(0.5, 1.5)
            mod.bias.data.uniform_(-0.2, 0.2)
    return m.eval()


def export_round_trip():
    m = random_model(3)
    with tempfile.TemporaryDirectory() as tmp:
        ck = os.path.join(tmp, "random.pt")
        torch.save({"state": m.state_dict(), "result": {"arch": "m64", "crop_scale": 1.6, "seed": 3,
                                                        "epochs": 0, "temperature": 1.0}}, ck)
        out = os.path.join(tmp, "reader_weights.bin")

        class A:
            model, temperature, golden = ck, 0.0, os.path.join(tmp, "golden.json")
        A.out = out
        tr.export(A)
        assert os.path.exists(os.path.join(tmp, "reader_weights.h"))
        err = tr.check_export(m, out)
        assert err < 1e-3, err
        # the check is not blind: one bias of the last layer changed by 0.5 is seen
        head, arrays = reader_to_c.read(out)
        arrays["fu_reader_fc_b"] = (arrays["fu_reader_fc_b"][0] + 0.5,) + arrays["fu_reader_fc_b"][1:]
        reader_to_c.write(out, head, arrays)
        try:
            tr.check_export(m, out)
        except SystemExit:
            pass
        else:
            raise AssertionError("a changed bias went unnoticed")
        # a truncated or foreign file is refused, not read as weights
        data = open(out, "rb").read()
        for bad, what in ((data[:-4], "truncated"), (b"GIF89a" + data[6:], "foreign"), (data + b"\0\0\0\0", "trailing")):
            with open(out, "wb") as f:
                f.write(bad)
            try:
                reader_to_c.read(out)
            except ValueError:
                continue
            raise AssertionError(f"a {what} weights file was read")
    print(f"export round trip: C arrays within {err:.1e} of the network; a changed bias is caught; "
          "truncated, foreign and padded files are refused")


def committed_weights():
    arrays = tr.load_weights(os.path.join(HERE, "..", "src", "models", "reader_weights.bin"))
    gold = json.load(open(os.path.join(tr.FIXTURES, "golden.json")))
    names, x = tr.fixture_inputs()
    got = tr.forward_c_layout(arrays, gold["arch"], (x * 255).permute(0, 2, 3, 1).numpy())
    want = np.array([gold["logits"][n] for n in names])
    err = float(np.abs(got - want).max())
    assert err < 1e-3, f"committed weights give logits {err:.2e} away from the trained model's"
    print(f"committed weights: the trained model's logits within {err:.1e} on {len(names)} crops")


if __name__ == "__main__":
    export_round_trip()
    committed_weights()
