"""faceup.fix() hands back the bytes `faceup fix -o` writes, byte for byte, with the decision and
what was done as `faceup fix --json` reports them; faceup.upright() turns pixels upright."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

import faceup
from conftest import faceup_cli

FIX_INPUTS = ["hopper_turned_90", "hopper_mcu_90", "astronaut_turned_180", "hopper_exif6",
              "grace_hopper", "hopper_90", "hopper_270", "hopper_90_webp", "hopper_gray_270",
              "noface"]
FIX_KEYS = ("action", "rotated_ccw", "exif_baked", "method", "dropped", "dry_run", "output",
            "rotated", "path")


def cli_fix(images, tmp_path, *options):
    out = tmp_path / "out"
    p = faceup_cli("fix", "--json", "-o", str(out), *options,
                   *(str(images[n]) for n in FIX_INPUTS))
    assert p.returncode == 0, p.stderr
    lines = [json.loads(line) for line in p.stdout.decode().splitlines()]
    return {n: (line, (out / images[n].name).read_bytes()) for n, line in zip(FIX_INPUTS, lines)}


@pytest.mark.parametrize("options, kwargs", [
    ((), {}),
    (("--min-confidence", "0.9995"), {"min_confidence": 0.9995}),
    (("--strip-metadata",), {"keep_metadata": False}),
    (("--exif", "bake"), {"bake_exif": True}),
])
def test_fix_gives_the_cli_bytes_and_report(images, tmp_path, options, kwargs):
    expected = cli_fix(images, tmp_path, *options)
    for name, (line, data) in expected.items():
        src = images[name].read_bytes()
        f = faceup.fix(src, **kwargs)
        assert f.data == data, name
        assert (f.action, f.rotated_ccw, f.exif_baked, f.method) == \
            (line["action"], line["rotated_ccw"], line["exif_baked"], line["method"])
        assert list(f.dropped) == line["dropped"]
        assert (f.rotated, f.path) == (line["rotated"], line["path"])  # the deprecated names
        assert f.result.to_dict() == {k: v for k, v in line.items()
                                      if k not in FIX_KEYS and k != "file"}
        assert f.changed == (f.path != "unchanged")
        if not f.changed:
            assert f.data == src
        assert f.format == {"jpg": "jpeg", "png": "png", "webp": "webp"}[images[name].suffix[1:]]
        # the same through a path, and through a Detector holding the options
        assert faceup.fix(str(images[name]), **kwargs).data == data
        assert faceup.Detector(**kwargs).fix(bytearray(src)).data == data


def test_what_fix_did(images):
    f = faceup.fix(images["hopper_mcu_90"].read_bytes())
    # orientation 90 clockwise: rotated 90 counter-clockwise
    assert (f.action, f.rotated_ccw, f.method, f.exif_baked) == ("rotated", 90, "lossless", None)
    assert (f.rotated, f.path) == (270, "lossless")  # deprecated: clockwise, the old name
    f = faceup.fix(images["hopper_turned_90"].read_bytes())  # 600 rows: no whole MCU
    assert (f.action, f.rotated_ccw, f.method, f.path) == \
        ("rotated", 90, "reencoded_lossy", "reencoded")
    # upright as displayed thanks to its EXIF tag: kept, unless asked to bake it in
    src = images["hopper_exif6"].read_bytes()
    f = faceup.fix(src)
    assert (f.action, f.exif_baked, f.method, f.data) == ("upright", None, "unchanged", src)
    f = faceup.fix(src, bake_exif=True)
    assert f.exif_baked == 6 and f.action == "exif_baked" and f.result.orientation == 0
    assert faceup.Detector(bake_exif=True).params["bake_exif"] is True
    assert faceup.fix(src).data == src  # the module's own Detector is set back
    f = faceup.fix(images["grace_hopper"].read_bytes())
    assert (f.action, f.rotated_ccw, f.method, f.changed) == ("upright", 0, "unchanged", False)
    f = faceup.fix(images["noface"].read_bytes())
    assert (f.action, f.method) == ("undecided", "unchanged")
    # a decision under min_confidence is left as it is, and reported undecided
    f = faceup.fix(images["hopper_mcu_90"].read_bytes(), min_confidence=1.0)
    assert (f.action, f.method, f.result.orientation) == ("undecided", "unchanged", 90)


def test_fix_says_what_it_dropped(images):
    """A multi-picture JPEG (APP2 MPF index, a second JPEG after the first) that is rotated
    loses both, and says so as `faceup fix --json` does; upright, it keeps both."""
    index = b"MPF\0II*\0" + b"\x08\0\0\0" + b"\0" * 6
    app2 = b"\xff\xe2" + len(index + b"..").to_bytes(2, "big") + index
    tail = images["grace_hopper"].read_bytes()
    for name, dropped in (("hopper_mcu_90", ("mpf", "trailing_data")), ("grace_hopper", ())):
        src = images[name].read_bytes()
        f = faceup.fix(src[:2] + app2 + src[2:] + tail)
        assert f.dropped == dropped, name
    assert faceup.fix(images["hopper_mcu_90"].read_bytes()).dropped == ()


def test_lossless_only_hands_back_what_needs_a_reencode_as_the_cli_does(images, tmp_path):
    names = ["hopper_mcu_90", "hopper_turned_90"]  # whole MCUs; 600 rows, partial MCUs
    out = tmp_path / "out"
    p = faceup_cli("fix", "--json", "--lossless-only", "-o", str(out),
                   *(str(images[n]) for n in names))
    assert p.returncode == 3, p.stderr                  # some were left as they were
    lines = dict(zip(names, map(json.loads, p.stdout.decode().splitlines())))
    for name in names:
        src = images[name].read_bytes()
        f = faceup.fix(src, lossless_only=True)
        line = lines[name]
        assert (f.action, f.rotated_ccw, f.method) == \
            (line["action"], line["rotated_ccw"], line["method"])
        assert f.result.orientation == line["orientation"] == 90
    kept = faceup.fix(images["hopper_turned_90"].read_bytes(), lossless_only=True)
    assert kept.reencode_refused and kept.action == "needs_reencode"
    assert kept.data == images["hopper_turned_90"].read_bytes() and not kept.changed
    done = faceup.fix(images["hopper_mcu_90"].read_bytes(), lossless_only=True)
    assert not done.reencode_refused and done.data == (out / "hopper_mcu_90.jpg").read_bytes()
    assert faceup.Detector(lossless_only=True).params["lossless_only"] is True
    assert not faceup.fix(images["hopper_turned_90"].read_bytes()).reencode_refused  # reset


def test_fix_orientation_gives_the_cli_bytes_without_detecting(images, tmp_path):
    out = tmp_path / "out"
    faceup_cli("fix", "--orientation", "90", "-o", str(out), str(images["noface"]), check=True)
    f = faceup.fix_orientation(images["noface"].read_bytes(), 90)
    assert f.data == (out / images["noface"].name).read_bytes()
    assert (f.action, f.rotated_ccw, f.method) == ("rotated", 90, "lossless")
    assert (f.result.orientation, f.result.confidence, f.result.faces) == (90, 1.0, ())
    # the same as a detected 90: the detector's bytes
    assert faceup.fix_orientation(images["hopper_mcu_90"].read_bytes(), 90).data == \
        faceup.fix(images["hopper_mcu_90"].read_bytes()).data
    assert faceup.Detector().fix_orientation(str(images["noface"]), 90).data == f.data
    g = faceup.fix_orientation(images["hopper_turned_90"].read_bytes(), 90, lossless_only=True)
    assert g.reencode_refused and g.action == "needs_reencode"
    for bad in (45, 360, -90, True, 90.0, "90"):
        with pytest.raises(faceup.ArgumentError):
            faceup.fix_orientation(images["noface"].read_bytes(), bad)


def test_fix_output_format(images):
    f = faceup.fix(images["hopper_90"].read_bytes(), output_format="jpeg")
    assert f.format == "jpeg" and f.method == "reencoded_lossy" and f.data[:2] == b"\xff\xd8"
    assert faceup.detect(f.data).orientation == 0


@pytest.mark.parametrize("bad, error", [(b"", faceup.FormatError),
                                        (b"\xff\xd8\xff\xe0", faceup.DecodeError),
                                        (np.zeros((8, 8, 3), np.uint8), faceup.InputError),
                                        (42, faceup.InputError)])
def test_fix_errors(bad, error):
    with pytest.raises(error):
        faceup.fix(bad)


# ---- upright ------------------------------------------------------------------------------

@pytest.mark.parametrize("angle", [90, 180, 270])
def test_upright_numpy_turns_back_exactly(images, angle):
    original = np.asarray(Image.open(images["hopper_0"]))
    a = np.asarray(Image.open(images[f"hopper_{angle}"]))
    for given in (a, np.asfortranarray(a), a[:, :, ::-1][:, :, ::-1]):
        up = faceup.upright(given)
        assert np.array_equal(up.image, original) and up.image.flags.c_contiguous
        assert up.rotated_ccw == angle and up.result.orientation == angle
        assert up.rotated == 360 - angle  # deprecated: clockwise
    g = np.asarray(Image.open(images[f"hopper_{angle}"]).convert("L"))
    assert np.array_equal(faceup.upright(g).image, np.asarray(Image.open(images["hopper_0"]).convert("L")))


@pytest.mark.parametrize("angle", [90, 180, 270])
def test_upright_pil_turns_back_exactly(images, angle):
    original = Image.open(images["hopper_0"])
    up = faceup.upright(Image.open(images[f"hopper_{angle}"]))
    assert isinstance(up.image, Image.Image) and up.image.size == original.size
    assert up.image.tobytes() == original.convert("RGB").tobytes() and up.rotated_ccw == angle


def test_upright_leaves_upright_and_undecided_alone(images):
    for name in ("hopper_0", "noface"):
        a = np.asarray(Image.open(images[name]))
        up = faceup.upright(a)
        assert up.image is a and up.rotated_ccw == 0
    a = np.asarray(Image.open(images["hopper_90"]))
    up = faceup.upright(a, min_confidence=1.0)             # 0.999 is under 1
    assert up.image is a and up.rotated_ccw == 0 and up.result.orientation == 90
    d = faceup.Detector(min_confidence=1.0)
    assert d.upright(a).image is a


def test_upright_takes_pixels_only(images):
    with pytest.raises(faceup.InputError):
        faceup.upright(images["hopper_90"].read_bytes())
    with pytest.raises(faceup.InputError):
        faceup.upright(str(images["hopper_90"]))
