"""test_heif.py - HEIC and AVIF (src/codec/heif.c), checked from outside.

Every HEIF is written at test time by tests/heif_make.c (libheif's encoder) from a photo of
samples/; the pixels a HEIF holds are read back with libheif's own heif-convert (libheif-examples),
which is the reference decoder here. Programs driven: the CLI, tests/fix_apply.c (faceup_fix with
the detector's answer given), heif_make --dump (what a HEIF holds: sizes, EXIF, XMP, ICC).

Run with: FACEUP_BIN=build/faceup FIX_APPLY=build/tests/fix_apply HEIF_MAKE=build/tests/heif_make
.venv/bin/python -m pytest tests/test_heif.py   (ctest sets them). Needs heif-convert.
"""
import json
import os
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

ROOT = Path(__file__).resolve().parent.parent
FACEUP = os.environ.get("FACEUP_BIN", str(ROOT / "build" / "faceup"))
FIX_APPLY = os.environ.get("FIX_APPLY", str(ROOT / "build" / "tests" / "fix_apply"))
HEIF_MAKE = os.environ.get("HEIF_MAKE", str(ROOT / "build" / "tests" / "heif_make"))
SAMPLES = ROOT / "samples"
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'
ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
FORMATS = {"heic": [], "avif": ["--avif"]}


def run(*args, check=True):
    r = subprocess.run([str(a) for a in args], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise AssertionError(f"{args}: exit {r.returncode}\n{r.stdout}\n{r.stderr}")
    return r


@pytest.fixture(scope="module", autouse=True)
def tools():
    for exe in (FACEUP, FIX_APPLY, HEIF_MAKE):
        if not os.access(exe, os.X_OK):
            pytest.fail(f"{exe} not built")
    if not shutil.which("heif-convert"):
        pytest.fail("heif-convert missing: apt-get install libheif-examples (tools/setup.sh)")


def face():
    """grace_hopper.jpg: 512 x 600, upright, one face."""
    with Image.open(SAMPLES / "grace_hopper.jpg") as im:
        return im.convert("RGB")


def make(tmp_path, im, name, *opts):
    ppm = tmp_path / (name + ".ppm")
    im.save(ppm)
    out = tmp_path / name
    run(HEIF_MAKE, ppm, out, *opts)
    return out


def exif_block(orientation):
    ex = Image.Exif()
    ex[0x0112] = orientation
    ex[0x010F] = "faceup test"
    return ex.tobytes()[6:]  # bare TIFF, as a HEIF's Exif item holds it after its offset


def detect(path, *opts):
    r = run(FACEUP, "detect", "--json", *opts, path, check=False)
    rec = json.loads(r.stdout)
    rec.pop("file")
    return r.returncode, rec


def decoded(path, tmp_path):
    """The pixels libheif shows for a HEIF (its transformations applied)."""
    png = tmp_path / (Path(path).name + ".ref.png")
    run("heif-convert", path, png)
    with Image.open(png) as im:
        return np.asarray(im.convert("RGB")).astype(int)


def dump(path):
    return json.loads(run(HEIF_MAKE, "--dump", path).stdout)


# ---- detect ---------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_detect_on_a_heif_is_detect_on_its_pixels_as_png(tmp_path, fmt):
    for turn in (0, 90):
        src = make(tmp_path, face().rotate(turn, expand=True), f"t{turn}.{fmt}", *FORMATS[fmt])
        png = tmp_path / f"t{turn}.png"
        Image.fromarray(decoded(src, tmp_path).astype(np.uint8)).save(png)
        rc, got = detect(src)
        assert rc == 0 and got == detect(png)[1]
        assert got["orientation"] == (360 - turn) % 360 and got["exif_orientation"] is None


def test_ten_bit_heics_are_read(tmp_path):
    """(heif-enc -A -b 10 aborts with Debian 12's libheif and libaom: no 10-bit AVIF here)"""
    fmt = "heic"
    if not shutil.which("convert") or not shutil.which("heif-enc"):
        pytest.fail("convert (imagemagick) and heif-enc (libheif-examples) needed: tools/setup.sh")
    face().rotate(90, expand=True).save(tmp_path / "t.png")
    run("convert", tmp_path / "t.png", "-depth", "16", f"PNG48:{tmp_path / 't16.png'}")
    src = tmp_path / f"t10.{fmt}"
    run("heif-enc", "-b", "10", "-q", "90", "-o", src, tmp_path / "t16.png")
    assert dump(src)["bits"] == 10
    rc, rec = detect(src)
    assert rc == 0 and rec["orientation"] == 270 and (rec["width"], rec["height"]) == (600, 512)
    rec = json.loads(run(FIX_APPLY, src, tmp_path / f"out.{fmt}", 270).stdout)
    assert rec["path"] == "reencoded" and detect(tmp_path / f"out.{fmt}")[1]["orientation"] == 0


@pytest.mark.parametrize("matrix,full_range", [(6, 1), (1, 0), (9, 1)])
def test_a_large_heic_read_at_half_size_sees_what_libheif_shows(tmp_path, matrix, full_range):
    """Sides of 2048 and more are decoded at half size from the Y'CbCr planes (heif.c): the
    answer is the one on libheif's own full-size pixels (heif-enc's HEICs carry their matrix
    and range in the HEVC bitstream only)."""
    big = face().resize((2048, 2400)).rotate(90, expand=True)  # 2400 x 2048
    big.save(tmp_path / "big.png")
    src = tmp_path / "big.heic"
    run("heif-enc", "-q", "90", "--matrix_coefficients", matrix, "--full_range_flag", full_range,
        "-o", src, tmp_path / "big.png")
    ref = tmp_path / "ref.png"
    run("heif-convert", src, ref)
    (rc, got), (_, want) = detect(src), detect(ref)
    assert rc == 0 and got["orientation"] == want["orientation"] == 270
    assert (got["width"], got["height"]) == (want["width"], want["height"]) == (2400, 2048)
    assert len(got["faces"]) == len(want["faces"]) >= 1
    for g, w in zip(got["faces"], want["faces"]):
        # the detector scales 1200 or 2400 px down to its canvas: boxes agree within 1% of the
        # image (the colours themselves are checked pixel by pixel in test_image.c)
        assert np.allclose(g["box"], w["box"], atol=24) and abs(g["score"] - w["score"]) < 0.02


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_containers_rotation_is_part_of_the_picture(tmp_path, fmt):
    stored = face().rotate(90, expand=True)  # 600 x 512, turned a quarter counter-clockwise
    plain = make(tmp_path, stored, f"plain.{fmt}", *FORMATS[fmt])
    # Orientation 6 (irot: a quarter turn clockwise) shows these pixels upright, 512 x 600
    shown = make(tmp_path, stored, f"irot.{fmt}", "--orientation", "6", *FORMATS[fmt])
    assert b"irot" in shown.read_bytes() and b"irot" not in plain.read_bytes()
    assert (dump(shown)["width"], dump(shown)["height"]) == (512, 600)
    assert detect(plain)[1]["orientation"] == 270
    rc, rec = detect(shown)
    assert rc == 0 and rec["orientation"] == 0 and (rec["width"], rec["height"]) == (512, 600)
    assert rec["exif_orientation"] is None
    # a mirror too (imir, Orientation 5 = transpose): the face is still found upright
    stored5 = face().transpose(Image.TRANSPOSE)
    rc, rec = detect(make(tmp_path, stored5, f"imir.{fmt}", "--orientation", "5", *FORMATS[fmt]))
    assert rc == 0 and rec["orientation"] == 0


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_exif_orientation_inside_a_heif_is_not_applied(tmp_path, fmt):
    (tmp_path / "exif6").write_bytes(exif_block(6))
    src = make(tmp_path, face(), f"exif6.{fmt}", "--exif", tmp_path / "exif6", *FORMATS[fmt])
    assert "01120003000000010006" in dump(src)["exif"]  # the tag is there, saying 6
    rc, rec = detect(src)
    assert rc == 0 and rec["orientation"] == 0 and rec["exif_orientation"] is None
    assert (rec["width"], rec["height"]) == (512, 600)
    # nothing to turn: the input comes back byte for byte, its EXIF untouched
    out = tmp_path / "same"
    assert json.loads(run(FIX_APPLY, src, out, 0).stdout)["path"] == "unchanged"
    assert out.read_bytes() == src.read_bytes()


# ---- refusals -------------------------------------------------------------------------------

def ispe_patched(data, w, h):
    i = data.index(b"ispe")
    return data[:i + 8] + struct.pack(">II", w, h) + data[i + 16:]


def test_the_pixel_limit_is_checked_before_decoding(tmp_path):
    src = make(tmp_path, face(), "f.heic")
    rc, rec = detect(src, "--max-pixels", "300000")
    assert rc == 1 and "512x600 pixels, over the limit of 300000" in rec["error"]
    # the same header over damaged HEVC data: still the limit, so no decoding was tried
    data = bytearray(src.read_bytes())
    mdat = data.index(b"mdat") + 4
    data[mdat + 8:] = bytes(len(data) - mdat - 8)
    (tmp_path / "zeroed.heic").write_bytes(data)
    assert "over the limit of 300000" in detect(tmp_path / "zeroed.heic", "--max-pixels", "300000")[1]["error"]
    assert "damaged HEIF" in detect(tmp_path / "zeroed.heic")[1]["error"]
    # a header claiming 60000 x 60000 is refused at the default limit
    (tmp_path / "huge.heic").write_bytes(ispe_patched(src.read_bytes(), 60000, 60000))
    rc, rec = detect(tmp_path / "huge.heic")
    assert rc == 1 and "over the limit" in rec["error"]


def test_a_small_picture_made_of_a_huge_overlay_is_refused_before_libheif_allocates_it():
    """Found by fuzz_heif: a 40x24 grid whose one tile is an overlay with a 50624x65535 canvas
    made libheif allocate 3 GB and crash in its decoding thread. The parts of a picture are now
    held to its own longer side (at least 8192), so it is a clear error, at once."""
    src = ROOT / "fuzz" / "corpus" / "fuzz_heif" / "crash_overlay_canvas_oom.heif"
    for args in (["detect", "--json"], ["fix", "--json", "--dry-run"]):
        p = subprocess.Popen([FACEUP, *args, str(src)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        _, status, usage = os.wait4(p.pid, 0)   # a few lines of output: the pipes never fill
        out, errs = p.stdout.read(), p.stderr.read()
        p.stdout.close()
        p.stderr.close()
        assert os.waitstatus_to_exitcode(status) == 1, errs
        assert "exceeds the maximum image size 8192x8192" in out + errs
        assert usage.ru_maxrss < 200_000, usage.ru_maxrss   # KiB: before, 3.2 GB and SIGSEGV


def test_the_memory_budget_counts_a_heifs_decoded_planes(tmp_path):
    # 1024 x 768: a few KB of HEVC, ~7 MB to decode (planes, libheif's RGB, our copy), and
    # ~16 MB to fix (the decode, the turned image, what x265 holds)
    src = make(tmp_path, face().resize((1024, 768)), "m.heic")
    rc, rec = detect(src, "--max-memory", str(4 << 20))
    assert rc == 1 and "over the memory limit of 4194304 bytes (max_memory)" in rec["error"]
    assert detect(src, "--max-memory", str(64 << 20))[0] == 0
    for limit, ok in ((8 << 20, False), (64 << 20, True)):
        out = tmp_path / f"out{limit}"
        r = run(FACEUP, "fix", "--orientation", "90", "--max-memory", str(limit), "-o", out, src,
                check=False)
        assert (r.returncode == 0) == ok and (out / "m.heic").exists() == ok, r.stderr
        if not ok:
            assert "(max_memory)" in r.stderr


@pytest.mark.parametrize("fmt", FORMATS)
def test_truncated_and_damaged_heifs_are_clear_errors(tmp_path, fmt):
    data = make(tmp_path, face(), f"f.{fmt}", *FORMATS[fmt]).read_bytes()
    meta = data.index(b"meta") - 4
    cases = {f"cut{n}": data[:n] for n in (24, meta + 40, meta + 200, len(data) // 2, len(data) - 1)}
    cases["garbage_after_ftyp"] = data[:meta] + bytes(range(256)) * 4
    cases["ispe_zero"] = ispe_patched(data, 0, 0)
    for name, d in cases.items():
        p = tmp_path / f"{name}.{fmt}"
        p.write_bytes(d)
        rc, rec = detect(p)
        assert rc == 1 and rec["error"].startswith("damaged HEIF"), (name, rec)
        r = run(FIX_APPLY, p, tmp_path / "out", 90, check=False)
        assert r.returncode == 1 and "damaged HEIF" in r.stderr and not (tmp_path / "out").exists()
        assert p.read_bytes() == d


# ---- fix ------------------------------------------------------------------------------------

def mean_diff(a, b):
    return float(np.abs(a - b).mean()) if a.shape == b.shape else float("inf")


@pytest.mark.parametrize("fmt", FORMATS)
def test_fix_reencodes_upright_and_keeps_the_metadata(tmp_path, fmt):
    (tmp_path / "exif").write_bytes(exif_block(6))
    (tmp_path / "xmp").write_bytes(XMP)
    (tmp_path / "icc").write_bytes(ICC)
    meta = ["--exif", tmp_path / "exif", "--xmp", tmp_path / "xmp", "--icc", tmp_path / "icc"]
    # stored turned, shown turned further by irot (Orientation 8: a quarter counter-clockwise)
    src = make(tmp_path, face().rotate(-90, expand=True), f"src.{fmt}", "--orientation", "8",
               *meta, *FORMATS[fmt])
    shown = decoded(src, tmp_path)
    assert shown.shape == (600, 512, 3)  # -90 then +90: the displayed image is upright
    out_dir = tmp_path / "out"
    src2 = make(tmp_path, face().rotate(180), f"upside.{fmt}", *meta, *FORMATS[fmt])
    r = run(FACEUP, "fix", "--json", "-o", out_dir, src2)
    rec = json.loads(r.stdout)
    assert rec["method"] == "reencoded_lossy" and rec["rotated_ccw"] == 180 and rec["action"] == "rotated"
    out = out_dir / src2.name
    assert detect(out)[1]["orientation"] == 0
    upright = decoded(out, tmp_path)
    assert mean_diff(upright, np.asarray(face()).astype(int)) < 4
    held = dump(out)
    assert "01120003000000010001" in held["exif"] and "010f0002" in held["exif"]  # Orientation 1
    assert bytes.fromhex(held["xmp"]) == XMP and bytes.fromhex(held["icc"]) == ICC
    assert b"irot" not in out.read_bytes() and (held["width"], held["height"]) == (512, 600)


@pytest.mark.parametrize("turn", [90, 180, 270])
def test_fix_turns_what_is_displayed(tmp_path, turn):
    src = make(tmp_path, face(), "irot.heic", "--orientation", "6")  # shown 600 x 512
    shown = decoded(src, tmp_path)
    rec = json.loads(run(FIX_APPLY, src, tmp_path / "out.heic", turn).stdout)
    assert rec == {"path": "reencoded", "rotated": (360 - turn) % 360, "format": "heic",
                   "exif_transform": 0, "reencode_refused": 0}
    want = np.rot90(shown, k=(360 - turn) // 90 * -1 % 4)  # turned clockwise by `rotated`
    assert mean_diff(decoded(tmp_path / "out.heic", tmp_path), want) < 4


@pytest.mark.parametrize("target", ["jpeg", "png", "avif"])
def test_a_change_of_format_resets_the_exif_orientation(tmp_path, target):
    (tmp_path / "exif").write_bytes(exif_block(6))
    src = make(tmp_path, face().rotate(90, expand=True), "src.heic", "--exif", tmp_path / "exif")
    out = tmp_path / f"out.{target}"
    rec = json.loads(run(FIX_APPLY, src, out, 270, "--format", target).stdout)
    assert rec["path"] == "reencoded" and rec["format"] == target
    if target == "avif":
        assert "01120003000000010001" in dump(out)["exif"]
        assert detect(out)[1]["orientation"] == 0
    else:
        with Image.open(out) as im:
            assert im.getexif().get(0x0112) == 1 and im.size == (512, 600)
        assert detect(out)[1]["orientation"] == 0


def test_lossless_only_leaves_a_heif_as_it_is(tmp_path):
    src = make(tmp_path, face().rotate(90, expand=True), "src.heic")
    rec = json.loads(run(FIX_APPLY, src, tmp_path / "out", 270, "--lossless-only").stdout)
    assert rec["path"] == "unchanged" and rec["reencode_refused"] == 1
    assert (tmp_path / "out").read_bytes() == src.read_bytes()
    r = run(FACEUP, "fix", "--json", "--lossless-only", "-o", tmp_path / "o", src, check=False)
    assert r.returncode == 3 and json.loads(r.stdout)["action"] == "needs_reencode"
    assert not (tmp_path / "o" / "src.heic").exists()


def test_alpha_is_kept_by_fix(tmp_path):
    src = make(tmp_path, face().rotate(180), "a.heic", "--alpha")
    run(FIX_APPLY, src, tmp_path / "out.heic", 180)
    png = tmp_path / "out.png"
    run("heif-convert", tmp_path / "out.heic", png)
    with Image.open(png) as im:
        assert im.mode == "RGBA"
        a = np.asarray(im)[:, :, 3].astype(int)
    # the ramp ran left to right in the turned source: right to left now
    assert a[:, :64].mean() > 200 and a[:, -64:].mean() < 60


def test_folders_walk_heif_names_and_format_names_outputs(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    for name in ("a.heic", "b.HEIF", "c.hif", "d.avif"):
        make(d, face().rotate(90, expand=True), name,
             *(["--avif"] if name.endswith("avif") else []))
    for p in d.glob("*.ppm"):
        p.unlink()
    r = run(FACEUP, "fix", "-r", "--format", "heic", "-o", tmp_path / "out", d)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.heic", "b.heic", "c.heic",
                                                                   "d.heic"]
