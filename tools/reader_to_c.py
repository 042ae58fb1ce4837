#!/usr/bin/env python3
"""The reader's weights file (src/models/reader_weights.bin) as C arrays, at build time.

    reader_to_c.py src/models/reader_weights.bin -o build/reader_weights.c

The weights are committed as binary float32 (a quarter of their size as C text) and turned into
the C arrays that src/models/reader_weights.h declares when the library is built, as the YuNet
weights are (tools/onnx_to_c.py). tools/train_reader.py export writes the file; its layout:

    8 bytes   magic "FUREADR1"
    4 bytes   header length N, little-endian
    N bytes   JSON header: {"model", "arch", "seed", "epochs", "temperature", "crop_scale",
              "stage_blocks": [...], "layers": [[name, kind, cin, cout, n_w, n_b], ...],
              "fc": [n_w, n_b]}
    then      float32 little-endian: each layer's weights then biases, in header order,
              then the dense layer's weights and biases

Standard library only: the wheel's build and the C build both run it.
"""
import argparse, json, os, struct, sys

MAGIC = b"FUREADR1"


def read(path):
    """(header dict, {array name: tuple of floats}) of a weights file; raises ValueError."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != MAGIC or len(data) < 12:
        raise ValueError(f"{path}: not a reader weights file")
    (n,) = struct.unpack_from("<I", data, 8)
    head = json.loads(data[12:12 + n].decode("utf-8"))
    at = 12 + n
    arrays = {}

    def take(name, count):
        nonlocal at
        if at + 4 * count > len(data):
            raise ValueError(f"{path}: truncated at {name}")
        arrays[name] = struct.unpack_from(f"<{count}f", data, at)
        at += 4 * count

    for name, _kind, _cin, _cout, nw, nb in head["layers"]:
        take(f"{name}_w", nw)
        take(f"{name}_b", nb)
    take("fu_reader_fc_w", head["fc"][0])
    take("fu_reader_fc_b", head["fc"][1])
    if at != len(data):
        raise ValueError(f"{path}: {len(data) - at} bytes after the last array")
    return head, arrays


def write(path, head, arrays):
    """The weights file for `head` and `arrays` (as read() returns them)."""
    order = [k for name, *_ in head["layers"] for k in (f"{name}_w", f"{name}_b")]
    order += ["fu_reader_fc_w", "fu_reader_fc_b"]
    h = json.dumps(head, separators=(",", ":")).encode("utf-8")
    parts = [MAGIC, struct.pack("<I", len(h)), h]
    parts += [struct.pack(f"<{len(arrays[k])}f", *arrays[k]) for k in order]
    with open(path + ".tmp", "wb") as f:
        f.write(b"".join(parts))
    os.replace(path + ".tmp", path)


def hexf(v):
    if v != v or v in (float("inf"), float("-inf")):
        raise ValueError("non-finite weight")
    return float(v).hex() + "f"


def to_c(head, arrays, source):
    out = [f"/* Generated from {source} by tools/reader_to_c.py at build time: do not edit.",
           f" * Model {head['model']} ({head['arch']}, seed {head['seed']}, {head['epochs']} epochs);"
           " its record is tools/train_reader.record.md. */",
           '#include "models/reader_weights.h"', ""]
    for name, *_ in head["layers"]:
        for k in (f"{name}_w", f"{name}_b"):
            out.append(f"static const float {k}[{len(arrays[k])}] = {{{', '.join(hexf(v) for v in arrays[k])}}};")
    out += ["", "const fu_conv_weights fu_reader_layers[FU_READER_LAYERS] = {"]
    for name, kind, cin, cout, _nw, _nb in head["layers"]:
        out.append(f'    {{"{name}", {kind}, {cin}, {cout}, {name}_w, {name}_b}},')
    out.append("};")
    out.append(f"const int fu_reader_stage_blocks[FU_READER_STAGES] = {{{', '.join(str(b) for b in head['stage_blocks'])}}};")
    for k in ("fu_reader_fc_w", "fu_reader_fc_b"):
        out.append(f"const float {k}[{len(arrays[k])}] = {{{', '.join(hexf(v) for v in arrays[k])}}};")
    out.append(f"const float fu_reader_temperature = {hexf(head['temperature'])};")
    out.append(f"const float fu_reader_crop_scale = {hexf(head['crop_scale'])};")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("weights")
    ap.add_argument("-o", "--out", required=True)
    a = ap.parse_args()
    try:
        head, arrays = read(a.weights)
    except (OSError, ValueError, KeyError, struct.error) as e:
        sys.exit(f"reader_to_c.py: {e}")
    with open(a.out + ".tmp", "w") as f:
        f.write(to_c(head, arrays, os.path.basename(a.weights)))
    os.replace(a.out + ".tmp", a.out)


if __name__ == "__main__":
    main()
