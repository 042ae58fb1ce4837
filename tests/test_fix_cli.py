"""test_fix_cli.py - `faceup fix` and faceup_fix, checked from outside against Pillow and jpegtran.

Two programs are driven: the real CLI (with the detector: its inputs are the public-domain face
photos in samples/, turned), and tests/fix_apply.c, which runs faceup_fix with the detector's
answer given on its command line, so that every format and EXIF orientation can be checked
without depending on what the detector says.

Run with:  FACEUP_BIN=build/faceup FIX_APPLY=build/tests/fix_apply .venv/bin/python -m pytest tests/test_fix_cli.py
(ctest sets both). Needs jpegtran (libjpeg-turbo-progs).
"""
import hashlib
import io
import json
import os
import random
import resource
import shutil
import signal
import struct
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms, PngImagePlugin

ROOT = Path(__file__).resolve().parent.parent
FACEUP = os.environ.get("FACEUP_BIN", str(ROOT / "build" / "faceup"))
FIX_APPLY = os.environ.get("FIX_APPLY", str(ROOT / "build" / "tests" / "fix_apply"))
SAMPLES = ROOT / "samples"

# EXIF Orientation -> the Pillow transpose that shows the stored pixels, and jpegtran's name for it
SHOW = {2: Image.FLIP_LEFT_RIGHT, 3: Image.ROTATE_180, 4: Image.FLIP_TOP_BOTTOM,
        5: Image.TRANSPOSE, 6: Image.ROTATE_270, 7: Image.TRANSVERSE, 8: Image.ROTATE_90}
UNSHOW = {2: Image.FLIP_LEFT_RIGHT, 3: Image.ROTATE_180, 4: Image.FLIP_TOP_BOTTOM,
          5: Image.TRANSPOSE, 6: Image.ROTATE_90, 7: Image.TRANSVERSE, 8: Image.ROTATE_270}
JPEGTRAN = {2: ["-flip", "horizontal"], 3: ["-rotate", "180"], 4: ["-flip", "vertical"],
            5: ["-transpose"], 6: ["-rotate", "90"], 7: ["-transverse"], 8: ["-rotate", "270"]}
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'
ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


# ---- helpers --------------------------------------------------------------------------------

def run(*args, check=True, **kw):
    r = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kw)
    if check and r.returncode != 0:
        raise AssertionError(f"{args}: exit {r.returncode}\n{r.stdout}\n{r.stderr}")
    return r


def fix_apply(src, dst, turn, *extra):
    return json.loads(run(FIX_APPLY, src, dst, turn, *extra).stdout)


def pixels(path):
    with Image.open(path) as im:
        im.load()
        return np.asarray(im)


def psnr(a, b):
    mse = np.mean((a.astype(float) - b.astype(float)) ** 2)
    return 99.0 if mse == 0 else 10 * np.log10(255 ** 2 / mse)


def sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def jpeg_segments(data):
    """(marker, payload) of each segment before the first scan."""
    out, pos = [], 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        m = data[pos + 1]
        if m in (0xDA, 0xD9):
            break
        n = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        out.append((m, data[pos + 4:pos + 2 + n]))
        pos += 2 + n
    return out


def png_chunks(data):
    out, pos = [], 8
    while pos + 12 <= len(data):
        n = struct.unpack(">I", data[pos:pos + 4])[0]
        out.append((data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]))
        pos += 12 + n
    return out


def webp_chunks(data):
    out, pos = [], 12
    while pos + 8 <= len(data):
        n = struct.unpack("<I", data[pos + 4:pos + 8])[0]
        out.append((data[pos:pos + 4], data[pos + 8:pos + 8 + n]))
        pos += 8 + n + (n & 1)
    return out


def metadata(path):
    """{kind: bytes} of the EXIF, ICC and XMP blocks as stored, in the container's own form."""
    data = Path(path).read_bytes()
    found = {}
    if data[:2] == b"\xff\xd8":
        for m, p in jpeg_segments(data):
            if m == 0xE1 and p.startswith(b"Exif\0\0"):
                found["exif"] = p
            elif m == 0xE1 and p.startswith(b"http://ns.adobe.com/xap/1.0/\0"):
                found["xmp"] = p
            elif m == 0xE2 and p.startswith(b"ICC_PROFILE\0"):
                found["icc"] = found.get("icc", b"") + p
            elif m == 0xFE:
                found["comment"] = p
    elif data[:4] == b"\x89PNG":
        for t, p in png_chunks(data):
            key = {b"eXIf": "exif", b"iCCP": "icc", b"iTXt": "xmp", b"tEXt": "comment"}.get(t)
            if key:
                found[key] = p
    else:
        for t, p in webp_chunks(data):
            key = {b"EXIF": "exif", b"ICCP": "icc", b"XMP ": "xmp"}.get(t)
            if key:
                found[key] = p
    return found


def exif_with(orientation, w, h):
    ex = Image.Exif()
    ex[0x0112] = orientation
    ex[0x010F] = "faceup test"
    ex[0x0131] = "Pillow"
    sub = ex.get_ifd(0x8769)
    sub[0xA002] = w
    sub[0xA003] = h
    sub[0x9003] = "2024:01:02 03:04:05"
    return ex


def upright_face():
    """grace_hopper.jpg cut to 512x592, a whole number of 16x16 MCUs."""
    with Image.open(SAMPLES / "grace_hopper.jpg") as im:
        return im.convert("RGB").crop((0, 0, 512, 592))


def save(im, path, fmt, exif=None, **kw):
    extra = dict(icc_profile=ICC)
    if exif is not None:
        extra["exif"] = exif
    if fmt == "JPEG":
        extra.update(quality=92, xmp=XMP, comment=b"a comment")
    elif fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_itxt("XML:com.adobe.xmp", XMP.decode(), zip=False)
        info.add_text("Comment", "a comment")
        extra["pnginfo"] = info
    else:
        extra.update(xmp=XMP, lossless=True, exact=True)
    extra.update(kw)
    im.save(path, fmt, **extra)
    return path


@pytest.fixture(scope="module")
def built():
    for exe in (FACEUP, FIX_APPLY):
        if not os.access(exe, os.X_OK):
            pytest.fail(f"{exe} not built (run tools/setup.sh)")
    if not shutil.which("jpegtran"):
        pytest.fail("jpegtran not installed (tools/setup.sh installs libjpeg-turbo-progs)")


# ---- lossless JPEG -------------------------------------------------------------------------

@pytest.mark.parametrize("turn", [90, 180, 270])
def test_jpegtran_turn_is_undone_to_the_exact_pixels(built, tmp_path, turn):
    original = save(upright_face(), tmp_path / "orig.jpg", "JPEG")
    turned = tmp_path / "turned.jpg"
    run("jpegtran", "-perfect", "-copy", "all", "-rotate", turn, "-outfile", turned, original)
    # the detector's answer, through the CLI
    out = tmp_path / "out"
    r = run(FACEUP, "fix", "--json", turned, "-o", out)
    rec = json.loads(r.stdout)
    assert rec["orientation"] == turn and rec["action"] == "rotated" and rec["method"] == "lossless"
    assert np.array_equal(pixels(out / "turned.jpg"), pixels(original))
    # and without it
    fixed = tmp_path / "fixed.jpg"
    assert fix_apply(turned, fixed, turn)["path"] == "lossless"
    assert np.array_equal(pixels(fixed), pixels(original))


def test_four_quarter_turns_are_the_identity_and_byte_stable(built, tmp_path):
    src = save(upright_face(), tmp_path / "0.jpg", "JPEG")
    for k in range(1, 5):
        fix_apply(tmp_path / f"{k - 1}.jpg", tmp_path / f"{k}.jpg", 90)
    assert np.array_equal(pixels(tmp_path / "4.jpg"), pixels(src))
    # the same input gives the same bytes, every time
    fix_apply(tmp_path / "3.jpg", tmp_path / "again.jpg", 90)
    assert sha(tmp_path / "again.jpg") == sha(tmp_path / "4.jpg")


@pytest.mark.parametrize("orientation", range(2, 9))
def test_every_transform_decodes_like_jpegtran(built, tmp_path, orientation):
    im = upright_face()
    src = save(im, tmp_path / "src.jpg", "JPEG", exif=exif_with(orientation, *im.size))
    ours, ref = tmp_path / "ours.jpg", tmp_path / "ref.jpg"
    assert fix_apply(src, ours, 0, "--exif", "bake")["path"] == "lossless"
    run("jpegtran", "-perfect", *JPEGTRAN[orientation], "-outfile", ref, src)
    assert np.array_equal(pixels(ours), pixels(ref))


def test_partial_mcus_are_reencoded_not_cropped(built, tmp_path):
    with Image.open(SAMPLES / "grace_hopper.jpg") as im:  # 512x600: 600 is not a multiple of 16
        src = save(im.convert("RGB"), tmp_path / "src.jpg", "JPEG")
    out = tmp_path / "out.jpg"
    # turned 270 as displayed: we turn 90 clockwise, which moves the partial bottom row of
    # MCUs to the left edge
    assert fix_apply(src, out, 270)["path"] == "reencoded"
    got, want = pixels(out), np.asarray(Image.open(src).transpose(Image.ROTATE_270))
    assert got.shape == want.shape  # nothing dropped
    assert psnr(got, want) > 38


def test_grayscale_and_cmyk_jpegs(built, tmp_path):
    face = upright_face()
    for mode in ("L", "CMYK"):
        src = tmp_path / f"{mode}.jpg"
        face.convert(mode).save(src, quality=92)
        out = tmp_path / f"{mode}-out.jpg"
        assert fix_apply(src, out, 180)["path"] == "lossless"
        assert Image.open(out).mode == mode
        ref = tmp_path / f"{mode}-ref.jpg"
        run("jpegtran", "-perfect", "-rotate", "180", "-outfile", ref, src)
        assert np.array_equal(pixels(out), pixels(ref))


# ---- the eight EXIF orientations, three formats ----------------------------------------------

@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_baked_in_and_metadata_kept(built, tmp_path, fmt, orientation):
    upright = upright_face()
    stored = upright if orientation == 1 else upright.transpose(UNSHOW[orientation])
    ext = fmt.lower()
    src = save(stored, tmp_path / f"src.{ext}", fmt, exif=exif_with(orientation, *stored.size))
    out = tmp_path / f"out.{ext}"
    # the detector found the displayed picture upright: --exif keep leaves it as it is
    assert fix_apply(src, out, 0)["path"] == "unchanged" and sha(out) == sha(src)
    rec = fix_apply(src, out, 0, "--exif", "bake")  # bake moves the tag's turn into the pixels
    assert rec["path"] == ("unchanged" if orientation == 1 else "lossless")
    assert rec["exif_transform"] == orientation

    with Image.open(out) as o:
        assert o.getexif().get(0x0112) == 1
        shown = np.asarray(o.convert("RGB"))
    if fmt == "JPEG":
        assert psnr(shown, np.asarray(upright)) > 35  # as upright as the JPEG source was
    else:
        assert np.array_equal(shown, np.asarray(upright))

    a, b = metadata(src), metadata(out)
    assert set(a) == set(b)
    for kind in a:
        if kind != "exif":
            assert a[kind] == b[kind], kind
    # EXIF: same length, only the Orientation value and the swapped dimensions differ
    assert len(a["exif"]) == len(b["exif"])
    assert sum(x != y for x, y in zip(a["exif"], b["exif"])) <= (0 if orientation == 1 else 21)
    before, after = Image.open(src).getexif(), Image.open(out).getexif()
    for tag in (0x010F, 0x0131):
        assert after[tag] == before[tag]
    swap = orientation >= 5
    w, h = before.get_ifd(0x8769)[0xA002], before.get_ifd(0x8769)[0xA003]
    assert (after.get_ifd(0x8769)[0xA002], after.get_ifd(0x8769)[0xA003]) == ((h, w) if swap else (w, h))
    assert after.get_ifd(0x8769)[0x9003] == before.get_ifd(0x8769)[0x9003]


def test_exif_orientation_through_the_cli(built, tmp_path):
    """A photo upright only thanks to its EXIF Orientation: --exif keep (the default) leaves it
    byte for byte; --exif bake moves the tag into the pixels, and says when that was lossy."""
    upright = upright_face()
    src = save(upright.transpose(UNSHOW[6]), tmp_path / "tagged.jpg", "JPEG",
               exif=exif_with(6, 592, 512))
    r = run(FACEUP, "fix", src, "-o", tmp_path / "kept")
    assert r.stdout == (f"{src}: orientation 0 (upright); not rotated, EXIF Orientation 6 kept -> "
                        f"{tmp_path / 'kept' / 'tagged.jpg'}\n")
    assert sha(tmp_path / "kept" / "tagged.jpg") == sha(src)
    rec = json.loads(run(FACEUP, "fix", "--json", src, "-o", tmp_path / "kept").stdout)
    assert (rec["exif_orientation"], rec["orientation"], rec["action"], rec["exif_baked"],
            rec["method"]) == (6, 0, "upright", None, "unchanged")
    inode = (tmp_path / "in-place.jpg")
    shutil.copyfile(src, inode)
    before = inode.stat()
    run(FACEUP, "fix", "--in-place", inode)
    assert inode.stat().st_ino == before.st_ino and sha(inode) == sha(src)  # not rewritten

    rec = json.loads(run(FACEUP, "fix", "--json", "--exif", "bake", src, "-o",
                         tmp_path / "out").stdout)
    assert (rec["exif_orientation"], rec["orientation"], rec["action"], rec["exif_baked"],
            rec["method"]) == (6, 0, "exif_baked", 6, "lossless")
    with Image.open(tmp_path / "out" / "tagged.jpg") as o:
        assert o.getexif()[0x0112] == 1 and o.size == (512, 592)
    # a tag of 3 on partial MCUs cannot be baked without a re-encode: the line says so
    partial = save(upright.crop((0, 0, 504, 584)).transpose(Image.ROTATE_180),
                   tmp_path / "partial.jpg", "JPEG", exif=exif_with(3, 504, 584))
    r = run(FACEUP, "fix", "--exif", "bake", partial, "-o", tmp_path / "out")
    assert r.stdout == (f"{partial}: orientation 0 (upright); EXIF Orientation 3 baked in, "
                        f"re-encoded (lossy) -> {tmp_path / 'out' / 'partial.jpg'}\n")
    assert "1 with the EXIF Orientation baked in" in r.stderr
    r = run(FACEUP, "fix", "--exif", "bake", "--lossless-only", partial, "-o", tmp_path / "l",
            check=False)
    assert r.returncode == 3 and r.stdout == (
        f"{partial}: orientation 0 (upright); left as it is: baking in its EXIF Orientation "
        "needs a re-encode (lossy), refused by --lossless-only\n")
    assert run(FACEUP, "fix", "--exif", "turn", src, "-n", check=False).returncode == 2


def test_strip_metadata_drops_exif_icc_xmp_and_comments(built, tmp_path):
    for fmt in ("JPEG", "PNG", "WEBP"):
        src = save(upright_face(), tmp_path / f"s.{fmt}", fmt, exif=exif_with(1, 512, 592))
        out = tmp_path / f"o.{fmt}"
        fix_apply(src, out, 90, "--strip")
        assert metadata(out) == {}


def test_format_conversion_turns_and_keeps_metadata(built, tmp_path):
    src = save(upright_face().transpose(Image.ROTATE_270), tmp_path / "s.jpg", "JPEG",
               exif=exif_with(1, 592, 512))
    for fmt in ("png", "webp"):
        out = tmp_path / f"o.{fmt}"
        rec = fix_apply(src, out, 90, "--format", fmt)
        assert rec["format"] == fmt and rec["path"] == "reencoded"
        with Image.open(out) as o:
            assert o.format == fmt.upper() and o.size == (512, 592)
            assert o.getexif()[0x0112] == 1
        assert set(metadata(out)) >= {"exif", "icc", "xmp"}


def colour_waves(w, h):
    """Smooth colour that changes along both axes: a one-pixel shift of the chroma shows."""
    y, x = np.mgrid[0:h, 0:w].astype(float)
    px = np.stack([128 + 100 * np.sin(2 * np.pi * x / 12), 128 + 100 * np.sin(2 * np.pi * y / 10),
                   128 + 100 * np.sin(2 * np.pi * (x + y) / 14)], -1)
    return Image.fromarray(px.round().astype(np.uint8))


@pytest.mark.parametrize("size", [(100, 64), (101, 64), (100, 63), (101, 63)])
@pytest.mark.parametrize("turn,orientation", [(90, 1), (180, 1), (270, 1)] +
                         [(0, o) for o in range(2, 9)])
def test_lossy_webp_of_odd_size_keeps_its_colours_in_place(built, tmp_path, size, turn,
                                                           orientation):
    """Lossy WebP is turned in its 4:2:0 planes; along an odd side that is flipped the chroma
    must be moved half a sample, or every colour lands one pixel off (mean error 16-27 here,
    against 2 for even sides)."""
    src = tmp_path / "src.webp"
    kw = {} if orientation == 1 else {"exif": exif_with(orientation, *size)}
    colour_waves(*size).save(src, "WEBP", quality=90, **kw)
    with Image.open(src) as im:
        decoded = im.convert("RGB")
    out = tmp_path / "out.webp"
    assert fix_apply(src, out, turn, "--exif", "bake")["path"] == "reencoded"
    want = decoded if orientation == 1 else decoded.transpose(SHOW[orientation])
    if turn:
        want = want.transpose({90: Image.ROTATE_90, 180: Image.ROTATE_180,
                               270: Image.ROTATE_270}[turn])
    got = pixels(out).astype(float)
    assert got.shape == np.asarray(want).shape
    assert np.abs(got - np.asarray(want, dtype=float)).mean() < 5


# ---- nothing to do --------------------------------------------------------------------------

def test_json_lines_are_valid_whatever_the_file_name(built, tmp_path):
    """`fix --json` writes the output path with the library's JSON string writer, as it writes the
    file name: quote and backslash escaped, control characters as \\u00XX, bytes that are not
    UTF-8 as U+FFFD, so the line is valid JSON in valid UTF-8."""
    name = b'we"ird\\\x01\xff.jpg'
    src = os.path.join(os.fsencode(tmp_path), name)
    buf = io.BytesIO()
    upright_face().save(buf, "JPEG", quality=90)
    with open(src, "wb") as f:
        f.write(buf.getvalue())
    out = tmp_path / "out"
    r = subprocess.run([FACEUP, b"fix", b"--json", src, b"-o", os.fsencode(out)],
                       capture_output=True)
    assert r.returncode == 0, r.stderr
    rec = json.loads(r.stdout.decode("utf-8"))
    assert rec["file"] == src.decode("utf-8", "replace")
    assert rec["output"] == str(out) + '/we"ird\\\x01\ufffd.jpg'
    assert os.path.exists(os.path.join(os.fsencode(out), name))


def test_nothing_to_do_gives_the_input_bytes(built, tmp_path):
    inputs = []
    for fmt in ("JPEG", "PNG", "WEBP"):
        src = save(upright_face(), tmp_path / f"u.{fmt.lower()}", fmt, exif=exif_with(1, 512, 592))
        out = tmp_path / f"o.{fmt.lower()}"
        assert fix_apply(src, out, 0)["path"] == "unchanged"
        assert out.read_bytes() == src.read_bytes()
        assert fix_apply(src, out, -1)["path"] == "unchanged"  # undecided
        assert out.read_bytes() == src.read_bytes()
        inputs.append(src)
    r = run(FACEUP, "fix", *inputs, "-o", tmp_path / "cli")
    for src in inputs:
        assert (tmp_path / "cli" / src.name).read_bytes() == src.read_bytes()
    assert "3 already upright" in r.stderr


def test_undecided_images_are_left_alone(built, tmp_path):
    flat = tmp_path / "flat.jpg"
    Image.new("RGB", (64, 64), (90, 120, 200)).save(flat, exif=exif_with(6, 64, 64))
    before = flat.read_bytes()
    r = run(FACEUP, "fix", "--json", "--in-place", flat)
    assert json.loads(r.stdout)["action"] == "undecided"
    assert flat.read_bytes() == before


# ---- the command line ---------------------------------------------------------------------------

def face_folder(root, n=6):
    """n face photos under root/ and root/sub/, turned in various ways, some upright."""
    face = upright_face()
    turns = [Image.ROTATE_90, Image.ROTATE_180, Image.ROTATE_270, None]
    paths = []
    for i in range(n):
        sub = root / ("sub" if i % 2 else "")
        sub.mkdir(parents=True, exist_ok=True)
        t = turns[i % 4]
        im = face if t is None else face.transpose(t)
        p = sub / f"img{i}.{'png' if i % 3 == 2 else 'jpg'}"
        im.save(p)
        paths.append(p)
    return paths


def vocabulary_inputs(folder):
    """A face of orientation 90 clockwise in whole MCUs, the same in partial MCUs, an upright
    face, and a file that is no image."""
    folder.mkdir()
    face = upright_face()
    face.transpose(Image.ROTATE_270).save(folder / "cw90.jpg", quality=92)
    face.crop((0, 0, 504, 584)).transpose(Image.ROTATE_270).save(folder / "partial.jpg", quality=92)
    face.save(folder / "up.jpg", quality=92)
    (folder / "bad.jpg").write_bytes(b"not a photo")
    return [folder / n for n in ("cw90.jpg", "partial.jpg", "up.jpg", "bad.jpg")]


def test_detect_table_says_orientation_clockwise_and_errors_go_to_stderr(built, tmp_path):
    cw90, partial, up, bad = vocabulary_inputs(tmp_path / "in")
    r = run(FACEUP, "detect", cw90, partial, up, bad, check=False)
    assert r.returncode == 1
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["FILE", "ORIENTATION", "CONFIDENCE", "FACES", "EXIF"]
    assert [line.split()[1:3] for line in lines[1:]] == [["90", "clockwise"], ["90", "clockwise"],
                                                         ["0", "(upright)"]]
    assert r.stderr == f"{bad}: error: not a JPEG, PNG, WebP, HEIC or AVIF image\n"  # no "faceup_detect():"
    rec = json.loads(run(FACEUP, "detect", "--json", bad, check=False).stdout)
    assert rec["error"] == "not a JPEG, PNG, WebP, HEIC or AVIF image"


def test_fix_lines_say_orientation_then_the_counter_clockwise_rotation_and_the_method(built,
                                                                                     tmp_path):
    """Golden lines: `orientation N clockwise` (detect's answer) is put upright by `rotated N
    counter-clockwise`, and a lossy path says so; errors are on stderr, without function names."""
    cw90, partial, up, bad = vocabulary_inputs(tmp_path / "in")
    out = tmp_path / "out"
    r = run(FACEUP, "fix", "-j", "2", cw90, partial, up, bad, "-o", out, check=False)
    assert r.returncode == 1
    assert r.stdout.splitlines() == [
        f"{cw90}: orientation 90 clockwise; rotated 90 counter-clockwise, lossless -> "
        f"{out / 'cw90.jpg'}",
        f"{partial}: orientation 90 clockwise; rotated 90 counter-clockwise, re-encoded (lossy)"
        f" -> {out / 'partial.jpg'}",
        f"{up}: orientation 0 (upright); not rotated -> {out / 'up.jpg'}",
    ]
    assert r.stderr.startswith(f"{bad}: error: not a JPEG, PNG, WebP, HEIC or AVIF image\n"
                               "faceup fix: 2 rotated, 1 already upright, 0 undecided, 1 errors")
    r = run(FACEUP, "fix", "--dry-run", cw90, up)
    assert r.stdout.splitlines() == [
        f"{cw90}: orientation 90 clockwise; would rotate 90 counter-clockwise, lossless",
        f"{up}: orientation 0 (upright); not rotated"]
    assert "faceup fix: 1 to rotate, 1 already upright" in r.stderr
    recs = [json.loads(line) for line in run(FACEUP, "fix", "--json", "-n", cw90, partial, up,
                                             bad, check=False).stdout.splitlines()]
    keys = ("orientation", "action", "rotated_ccw", "exif_baked", "method", "rotated", "path")
    assert [tuple(rec[k] for k in keys) for rec in recs] == [
        (90, "rotated", 90, None, "lossless", 270, "lossless"),
        (90, "rotated", 90, None, "reencoded_lossy", 270, "reencoded"),  # rotated, path: deprecated
        (0, "upright", 0, None, "unchanged", 0, "unchanged"),
        (None, "error", 0, None, "unchanged", 0, "unchanged")]
    assert recs[3]["error"] == "not a JPEG, PNG, WebP, HEIC or AVIF image"


def mpf_jpeg(im, path):
    """im as a multi-picture JPEG, as phones write HDR photos: an APP2 "MPF" index after SOI and
    a second JPEG (standing for the gain map) after the first one's EOI."""
    first, second = io.BytesIO(), io.BytesIO()
    im.save(first, "JPEG", quality=92)
    im.resize((im.width // 4, im.height // 4)).save(second, "JPEG", quality=80)
    index = b"MPF\0II*\0" + struct.pack("<IHHHI4s", 8, 1, 0xB000, 7, 4, b"0100") + b"\0" * 4
    app2 = b"\xff\xe2" + struct.pack(">H", len(index) + 2) + index
    data = first.getvalue()[:2] + app2 + first.getvalue()[2:] + second.getvalue()
    Path(path).write_bytes(data)
    return path


def test_mpf_index_and_trailing_images_are_dropped_with_a_warning_when_rotated(built, tmp_path):
    face = upright_face()
    turned = mpf_jpeg(face.transpose(Image.ROTATE_270), tmp_path / "hdr90.jpg")
    upright = mpf_jpeg(face, tmp_path / "hdr.jpg")
    out = tmp_path / "out"
    r = run(FACEUP, "fix", turned, upright, "-o", out)
    assert r.stdout.splitlines() == [
        f"{turned}: orientation 90 clockwise; rotated 90 counter-clockwise, lossless; dropped, "
        "as it would not be rotated with it: the MPF index, the data after the picture "
        f"(secondary images such as a gain map) -> {out / 'hdr90.jpg'}",
        f"{upright}: orientation 0 (upright); not rotated -> {out / 'hdr.jpg'}"]
    fixed = (out / "hdr90.jpg").read_bytes()
    assert not any(m == 0xE2 and p.startswith(b"MPF\0") for m, p in jpeg_segments(fixed))
    assert fixed.endswith(b"\xff\xd9") and fixed.count(b"\xff\xd8") == 1  # one picture
    assert (out / "hdr.jpg").read_bytes() == upright.read_bytes()  # kept, index and all
    recs = [json.loads(line) for line in run(FACEUP, "fix", "--json", "-n", turned,
                                             upright).stdout.splitlines()]
    assert [rec["dropped"] for rec in recs] == [["mpf", "trailing_data"], []]


def exif_with_thumbnail(thumb):
    """A little-endian EXIF block: Orientation 1 in IFD 0, linked to an IFD 1 holding `thumb`."""
    ifd0 = struct.pack("<H", 1) + struct.pack("<HHII", 0x0112, 3, 1, 1) + struct.pack("<I", 26)
    ifd1 = struct.pack("<H", 2) + struct.pack("<HHII", 0x0201, 4, 1, 56) + \
        struct.pack("<HHII", 0x0202, 4, 1, len(thumb)) + struct.pack("<I", 0)
    return b"Exif\0\0" + b"II*\0" + struct.pack("<I", 8) + ifd0 + ifd1 + thumb


def thumbnail_link(path):
    """IFD 0's link to IFD 1 (the thumbnail) in the file's EXIF block."""
    (exif,) = [p for m, p in jpeg_segments(Path(path).read_bytes())
               if m == 0xE1 and p.startswith(b"Exif\0\0")]
    tiff = exif[6:]
    ifd0 = struct.unpack("<I", tiff[4:8])[0]
    n = struct.unpack("<H", tiff[ifd0:ifd0 + 2])[0]
    return struct.unpack("<I", tiff[ifd0 + 2 + 12 * n:ifd0 + 6 + 12 * n])[0]


def test_the_exif_thumbnail_is_removed_from_a_rotated_photo_and_reported(built, tmp_path):
    face = upright_face()
    small = io.BytesIO()
    face.resize((64, 74)).transpose(Image.ROTATE_270).save(small, "JPEG", quality=80)
    exif = exif_with_thumbnail(small.getvalue())
    turned, upright = tmp_path / "cw90.jpg", tmp_path / "up.jpg"
    face.transpose(Image.ROTATE_270).save(turned, quality=92, exif=exif)
    face.save(upright, quality=92, exif=exif)
    assert thumbnail_link(turned) == 26
    out = tmp_path / "out"
    r = run(FACEUP, "fix", turned, upright, "-o", out)
    assert r.stdout.splitlines() == [
        f"{turned}: orientation 90 clockwise; rotated 90 counter-clockwise, lossless; dropped, "
        f"as it would not be rotated with it: the EXIF thumbnail -> {out / 'cw90.jpg'}",
        f"{upright}: orientation 0 (upright); not rotated -> {out / 'up.jpg'}"]
    assert thumbnail_link(out / "cw90.jpg") == 0     # unlinked: no viewer shows it turned
    assert (out / "up.jpg").read_bytes() == upright.read_bytes()
    rec = json.loads(run(FACEUP, "fix", "--json", "-n", turned).stdout)
    assert rec["dropped"] == ["exif_thumbnail"]
    # stripping the metadata drops it on purpose: nothing to report
    rec = json.loads(run(FACEUP, "fix", "--json", "-n", "--strip-metadata", turned).stdout)
    assert rec["dropped"] == []


def test_output_folder_mirrors_paths_and_leaves_inputs_alone(built, tmp_path):
    paths = face_folder(tmp_path / "in")
    (tmp_path / "in" / "notes.txt").write_text("not an image")
    before = {p: sha(p) for p in paths}
    r = run(FACEUP, "fix", "-r", tmp_path / "in", "-o", tmp_path / "out" / "deep", "-j", "2")
    for p in paths:
        assert sha(p) == before[p]
        out = tmp_path / "out" / "deep" / p.relative_to(tmp_path / "in")
        assert out.exists()
        with Image.open(out) as o:
            assert o.size == (512, 592)
    assert not (tmp_path / "out" / "deep" / "notes.txt").exists()
    assert " rotated, " in r.stderr and "0 errors" in r.stderr


def test_folder_without_r_and_missing_files_are_errors(built, tmp_path):
    face_folder(tmp_path / "in", 1)
    r = run(FACEUP, "fix", tmp_path / "in", tmp_path / "missing.jpg", "-o", tmp_path / "o",
            check=False)
    assert r.returncode == 1
    assert "use -r" in r.stderr and "No such file" in r.stderr and not r.stdout


def test_two_inputs_with_one_output_path_are_not_overwritten(built, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    (pa,) = face_folder(a, 1)
    (pb,) = face_folder(b, 1)
    r = run(FACEUP, "fix", pa, pb, "-o", tmp_path / "out", check=False)
    assert r.returncode == 1 and "same output path" in r.stderr
    # in place they are different files: both are fixed
    run(FACEUP, "fix", "--in-place", pa, pb)


def test_dry_run_writes_nothing_and_reports(built, tmp_path):
    paths = face_folder(tmp_path / "in", 4)
    before = {p: sha(p) for p in paths}
    r = run(FACEUP, "fix", "-r", "-n", "--json", tmp_path / "in")
    recs = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(recs) == 4 and all(rec["dry_run"] and rec["output"] is None for rec in recs)
    assert sorted(rec["action"] for rec in recs) == ["rotated", "rotated", "rotated", "upright"]
    assert {p: sha(p) for p in paths} == before
    assert sorted(os.listdir(tmp_path / "in")) == sorted(["sub", "img0.jpg", "img2.png"])


def test_jobs_do_not_change_the_results(built, tmp_path):
    face_folder(tmp_path / "in", 6)
    run(FACEUP, "fix", "-r", tmp_path / "in", "-o", tmp_path / "j1", "-j", "1")
    run(FACEUP, "fix", "-r", tmp_path / "in", "-o", tmp_path / "j2", "-j", "2")
    for p in (tmp_path / "j1").rglob("*.*"):
        assert sha(p) == sha(tmp_path / "j2" / p.relative_to(tmp_path / "j1"))


def test_in_place_replaces_only_what_changes_and_keeps_permissions(built, tmp_path):
    paths = face_folder(tmp_path / "in", 4)
    for p in paths:
        p.chmod(0o640)
    upright = [p for p in paths if p.name == "img3.jpg"][0]
    before = upright.stat()
    run(FACEUP, "fix", "-r", "--in-place", tmp_path / "in")
    for p in paths:
        assert p.stat().st_mode & 0o777 == 0o640
        with Image.open(p) as o:
            assert o.size == (512, 592)
    assert upright.stat().st_ino == before.st_ino  # not rewritten
    assert not [p for p in (tmp_path / "in").rglob(".*")]


def test_usage_errors_exit_2(built, tmp_path):
    assert run(FACEUP, "fix", check=False).returncode == 2
    assert run(FACEUP, "fix", "x.jpg", check=False).returncode == 2  # no destination
    assert run(FACEUP, "fix", "x.jpg", "-o", tmp_path, "--in-place", check=False).returncode == 2
    assert run(FACEUP, "fix", "--min-confidence", "2", "--in-place", "x", check=False).returncode == 2
    assert run(FACEUP, "fix", "--force", "-o", tmp_path, "x", check=False).returncode == 2
    r = run(FACEUP, "fix", "--help")
    assert "--in-place" in r.stdout and "--dry-run" in r.stdout


def test_output_over_its_own_input_is_refused(built, tmp_path):
    (p,) = face_folder(tmp_path, 1)
    before = sha(p)
    r = run(FACEUP, "fix", p, "-o", tmp_path, check=False)
    assert r.returncode == 1 and "--in-place" in r.stderr
    assert sha(p) == before


# ---- safety -------------------------------------------------------------------------------------

def expected_outputs(tmp_path, folder):
    """What `fix` makes of each file, and how long it takes for the whole folder."""
    ref = tmp_path / "expected"
    t0 = time.monotonic()
    run(FACEUP, "fix", "-r", "-j", "2", folder, "-o", ref)
    return {p.relative_to(ref): p.read_bytes() for p in ref.rglob("*.*")}, time.monotonic() - t0


def test_interrupted_in_place_leaves_every_file_old_or_new(built, tmp_path):
    src = tmp_path / "src"
    face_folder(src, 16)
    new, duration = expected_outputs(tmp_path, src)
    old = {p.relative_to(src): p.read_bytes() for p in src.rglob("*.*")}
    rng = random.Random(3)
    work = tmp_path / "work"
    mixed = 0
    for round_ in range(8):
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(src, work)
        proc = subprocess.Popen([FACEUP, "fix", "-r", "--in-place", "-j", "2", str(work)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(rng.uniform(0.1, 0.9) * duration)
        sig = signal.SIGKILL if round_ % 2 else signal.SIGINT
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
        replaced = 0
        for rel, data in old.items():
            now = (work / rel).read_bytes()
            assert now == data or now == new[rel], f"{rel} is torn (round {round_})"
            replaced += now != data
        mixed += 0 < replaced < sum(old[r] != new[r] for r in old)
        if sig == signal.SIGINT:
            # a clean stop: the files in hand are finished, no temporary file is left
            assert proc.returncode in (0, 130), err
            assert not [p for p in work.rglob(".*")]
            if proc.returncode == 130:
                assert "not done (stopped)" in err
    assert mixed > 0  # the signals did land in the middle of the work


def temporaries(folder):
    return [p for p in folder.rglob("*") if ".faceup-" in p.name]


def test_killed_fix_leaves_no_temporary_file(built, tmp_path):
    """Outputs are written to a file with no name (O_TMPFILE) and named when complete: SIGKILL
    at any moment leaves each output absent or whole, and no temporary file."""
    src = tmp_path / "src"
    face_folder(src, 16)
    new, duration = expected_outputs(tmp_path, src)
    rng = random.Random(5)
    out = tmp_path / "out"
    for round_ in range(8):
        shutil.rmtree(out, ignore_errors=True)
        proc = subprocess.Popen([FACEUP, "fix", "-r", "-j", "2", str(src), "-o", str(out)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.1, 0.9) * duration)
        proc.kill()
        proc.wait(60)
        assert not temporaries(out), f"round {round_}"
        for p in out.rglob("*.*"):
            assert p.read_bytes() == new[p.relative_to(out)], f"{p} is torn (round {round_})"


def test_no_temporary_file_is_ever_visible(built, tmp_path):
    """While fix writes new outputs, a reader of the folder never sees a temporary name."""
    src = tmp_path / "src"
    face_folder(src, 12)
    out = tmp_path / "out"
    out.mkdir()
    proc = subprocess.Popen([FACEUP, "fix", "-r", "-j", "2", str(src), "-o", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seen, listings = set(), 0
    while proc.poll() is None:
        for root, _, names in os.walk(out):
            seen.update(n for n in names if ".faceup-" in n)
        listings += 1
    assert proc.returncode == 0 and listings > 10
    assert not seen, seen
    assert len(list(out.rglob("*.*"))) == 12


def write_limited(limit):
    def set_limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return set_limit


def test_failed_write_leaves_the_original(built, tmp_path):
    (p,) = face_folder(tmp_path / "in", 1)  # img0.jpg, turned 90
    before = sha(p)
    r = subprocess.run([FACEUP, "fix", "--in-place", str(p)], capture_output=True, text=True,
                       preexec_fn=write_limited(4096))
    assert r.returncode == 1 and "original untouched" in r.stderr
    assert sha(p) == before
    assert os.listdir(p.parent) == [p.name]


def test_full_disk_leaves_the_original(built, tmp_path):
    mnt = tmp_path / "small"
    mnt.mkdir()
    # a full disk needs a small file system of our own: root's (CI and tools/test.sh run as root)
    assert os.geteuid() == 0, "needs root, to mount a 256 KB tmpfs: run the suite as root, as CI does"
    r = run("mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", mnt, check=False)
    assert r.returncode == 0, f"cannot mount a small tmpfs: {r.stderr}"
    try:
        (p,) = face_folder(mnt, 1)
        before = sha(p)
        filler = mnt / "filler"
        with open(filler, "wb", buffering=0) as f:  # fill the disk, then free a few kilobytes
            try:
                while True:
                    f.write(b"\0" * 4096)
            except OSError:
                pass
            f.truncate(max(0, f.tell() - 8192))
        r = run(FACEUP, "fix", "--in-place", p, check=False)
        assert r.returncode == 1 and "No space left" in r.stderr
        assert sha(p) == before
        assert sorted(os.listdir(mnt)) == ["filler", p.name]
    finally:
        run("umount", mnt, check=False)


def test_read_only_files_are_not_replaced(built, tmp_path):
    (p,) = face_folder(tmp_path, 1)
    p.chmod(0o444)
    before = sha(p)
    r = run(FACEUP, "fix", "--in-place", p, check=False)
    assert r.returncode == 1 and "read-only" in r.stderr
    assert sha(p) == before


@pytest.mark.parametrize("kind", ["truncated", "garbage", "huge", "too_many_bytes"])
def test_malformed_and_huge_inputs_are_errors_and_untouched(built, tmp_path, kind):
    p = tmp_path / "bad.png"
    face = io.BytesIO()
    upright_face().transpose(Image.ROTATE_90).save(face, "PNG")
    data = face.getvalue()
    extra = []
    if kind == "truncated":
        data = data[: len(data) // 2]
    elif kind == "garbage":
        data = bytes(random.Random(1).randrange(256) for _ in range(5000))
    elif kind == "huge":  # a header claiming 100000 x 100000 pixels
        ihdr = b"IHDR" + struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0)
        import zlib
        data = (data[:8] + struct.pack(">I", 13) + ihdr +
                struct.pack(">I", zlib.crc32(ihdr)) + data[33:])
    else:
        extra = ["--max-bytes", "1000"]
    p.write_bytes(data)
    r = run(FACEUP, "fix", "--in-place", *extra, p, check=False)
    assert r.returncode == 1 and "error" in r.stderr
    assert p.read_bytes() == data
    assert os.listdir(tmp_path) == ["bad.png"]


# ---- nothing silently lost, nothing waited on forever -------------------------------------------

def test_fifo_is_refused_not_waited_on(built, tmp_path):
    """open(2) of a FIFO blocks until a writer comes: fix must refuse it, not hang."""
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    for where in (["-o", tmp_path / "out"], ["--in-place"], ["--dry-run"]):
        r = run(FACEUP, "fix", fifo, *where, check=False, timeout=30)
        assert r.returncode == 1 and "not a regular file" in r.stderr, (where, r.stdout)
    assert sorted(os.listdir(tmp_path)) == ["out", "pipe.jpg"]


def test_an_entry_that_cannot_be_stat_ed_is_an_error_not_skipped(built, tmp_path):
    """A file whose path is over PATH_MAX under a folder walked with -r: lstat fails, and the
    run says so (exit 1) instead of reading an uninitialised struct stat."""
    root = tmp_path / "deep"
    root.mkdir()
    fd = os.open(root, os.O_RDONLY)
    length = len(str(root))
    while length < 4096 - 300:  # folders just under PATH_MAX
        os.mkdir("d" * 200, dir_fd=fd)
        nfd = os.open("d" * 200, os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd, length = nfd, length + 201
    name = "f" * (4096 - length)  # the folder opens, the file's path is too long to lstat
    buf = io.BytesIO()
    upright_face().save(buf, "JPEG")
    with open(os.open(name + ".jpg", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), "wb") as f:
        f.write(buf.getvalue())
    os.close(fd)
    r = run(FACEUP, "fix", "-r", "--dry-run", root, check=False, timeout=60)
    assert r.returncode == 1 and "File name too long" in r.stderr, r.stdout + r.stderr


def test_output_that_is_not_a_folder_is_refused(built, tmp_path):
    (p,) = face_folder(tmp_path / "in", 1)
    (tmp_path / "file").write_text("x")
    r = run(FACEUP, "fix", p, "-o", tmp_path / "file", check=False)
    assert r.returncode == 1 and "not a folder" in r.stderr


def test_in_place_refuses_to_break_hard_links_unless_forced(built, tmp_path):
    (p,) = face_folder(tmp_path / "in", 1)  # img0.jpg, turned 90
    other = tmp_path / "other.jpg"
    os.link(p, other)
    before = sha(p)
    r = run(FACEUP, "fix", "--in-place", p, check=False)
    assert r.returncode == 1 and "2 hard links" in r.stderr and "--force" in r.stderr
    assert sha(p) == before and p.stat().st_ino == other.stat().st_ino
    run(FACEUP, "fix", "--in-place", "--force", p)
    assert sha(p) != before and sha(other) == before  # only the name given is replaced
    with Image.open(p) as o:
        assert o.size == (512, 592)


def as_nobody():
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)


def test_in_place_refuses_to_give_the_file_away_unless_forced(built):
    """Run as another user than the file's owner: fchown back fails, so the file is not replaced
    (it would silently change owner); with --force it is, and is then the runner's."""
    assert os.geteuid() == 0, ("needs root, to run faceup as another user than the file's owner: "
                               "run the suite as root, as CI does")
    import tempfile
    folder = Path(tempfile.mkdtemp(prefix="faceup-owner-"))
    try:
        folder.chmod(0o777)
        (p,) = face_folder(folder, 1)
        p.chmod(0o666)
        before = sha(p)
        r = subprocess.run([FACEUP, "fix", "--in-place", str(p)], capture_output=True, text=True,
                           preexec_fn=as_nobody)
        assert r.returncode == 1 and "cannot keep its owner (uid 0, gid 0)" in r.stderr, r.stdout
        assert sha(p) == before and p.stat().st_uid == 0
        assert os.listdir(folder) == [p.name]
        r = subprocess.run([FACEUP, "fix", "--in-place", "--force", str(p)], capture_output=True,
                           text=True, preexec_fn=as_nobody)
        assert r.returncode == 0, r.stdout + r.stderr
        assert sha(p) != before and p.stat().st_uid == 65534
        assert p.stat().st_mode & 0o777 == 0o666
    finally:
        shutil.rmtree(folder)


# ---- a turn that is told, not detected ------------------------------------------------------------

def test_orientation_option_turns_as_told_without_detection(built, tmp_path):
    # no face: detection leaves it alone, --orientation turns it, losslessly
    y, x = np.mgrid[0:592, 0:512]
    flat = Image.fromarray(np.stack([x % 256, y % 256, (x + y) % 256], -1).astype(np.uint8))
    src = save(flat, tmp_path / "flat.jpg", "JPEG")
    r = run(FACEUP, "fix", "--json", src, "-o", tmp_path / "detected")
    assert json.loads(r.stdout)["action"] == "undecided"
    r = run(FACEUP, "fix", "--json", "--orientation", "90", src, "-o", tmp_path / "told")
    rec = json.loads(r.stdout)
    assert (rec["action"], rec["method"], rec["rotated_ccw"]) == ("rotated", "lossless", 90)
    assert (rec["orientation"], rec["confidence"], rec["faces"]) == (90, 1, [])
    ref = tmp_path / "ref.jpg"
    run("jpegtran", "-perfect", "-rotate", "270", "-outfile", ref, src)
    assert np.array_equal(pixels(tmp_path / "told" / "flat.jpg"), pixels(ref))
    # a face turned 90: the same bytes as the detector's answer gives
    face = save(upright_face().transpose(Image.ROTATE_270), tmp_path / "face.jpg", "JPEG")
    run(FACEUP, "fix", face, "-o", tmp_path / "a")
    run(FACEUP, "fix", "--orientation", "90", face, "-o", tmp_path / "b")
    assert sha(tmp_path / "a" / "face.jpg") == sha(tmp_path / "b" / "face.jpg")


def test_orientation_option_is_validated(built, tmp_path):
    for bad in ("45", "360", "-90", "abc", ""):
        r = run(FACEUP, "fix", "--orientation", bad, "--dry-run", "x.jpg", check=False)
        assert r.returncode == 2 and "0, 90, 180 or 270" in r.stderr, bad


# ---- --lossless-only ------------------------------------------------------------------------------

def lossless_only_inputs(folder):
    """A turned JPEG of whole MCUs (turned losslessly), one of partial MCUs and a lossy WebP
    (both need a re-encode to turn)."""
    folder.mkdir()
    with Image.open(SAMPLES / "grace_hopper.jpg") as im:  # 512x600: 600 is no whole MCU
        full = im.convert("RGB")
    save(upright_face().transpose(Image.ROTATE_270), folder / "whole.jpg", "JPEG")
    save(full.transpose(Image.ROTATE_270), folder / "partial.jpg", "JPEG")
    full.transpose(Image.ROTATE_180).save(folder / "lossy.webp", "WEBP", quality=90)
    return {p.name: sha(p) for p in folder.iterdir()}


def test_lossless_only_leaves_what_needs_a_reencode_and_says_so(built, tmp_path):
    before = lossless_only_inputs(tmp_path / "in")
    r = run(FACEUP, "fix", "--json", "-r", tmp_path / "in", "-o", tmp_path / "plain")
    paths = {Path(rec["file"]).name: rec["method"] for rec in map(json.loads, r.stdout.splitlines())}
    assert paths == {"whole.jpg": "lossless", "partial.jpg": "reencoded_lossy",
                     "lossy.webp": "reencoded_lossy"}

    r = run(FACEUP, "fix", "--json", "--lossless-only", "-r", tmp_path / "in", "-o",
            tmp_path / "out", check=False)
    assert r.returncode == 3, r.stderr
    recs = {Path(rec["file"]).name: rec for rec in map(json.loads, r.stdout.splitlines())}
    assert recs["whole.jpg"]["action"] == "rotated" and recs["whole.jpg"]["method"] == "lossless"
    for name in ("partial.jpg", "lossy.webp"):
        rec = recs[name]
        assert (rec["action"], rec["method"], rec["rotated_ccw"], rec["output"]) == \
            ("needs_reencode", "unchanged", 0, None)
        assert rec["orientation"] in (90, 180)  # the decision is still reported
    assert sorted(os.listdir(tmp_path / "out")) == ["whole.jpg"]  # the others are not written
    assert "2 left as they were" in r.stderr

    r = run(FACEUP, "fix", "--lossless-only", "--in-place", "-r", tmp_path / "in", check=False)
    assert r.returncode == 3 and "needs a re-encode (lossy), refused by --lossless-only" in r.stdout
    after = {p.name: sha(p) for p in (tmp_path / "in").iterdir()}
    assert after["partial.jpg"] == before["partial.jpg"]
    assert after["lossy.webp"] == before["lossy.webp"]
    assert after["whole.jpg"] != before["whole.jpg"]


# ---- --format -------------------------------------------------------------------------------------

def test_format_option_writes_every_image_in_that_format_named_for_it(built, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    save(upright_face().transpose(Image.ROTATE_270), src / "face.jpg", "JPEG")
    Image.new("RGB", (64, 48), (90, 120, 200)).save(src / "flat.png")
    r = run(FACEUP, "fix", "--json", "--format", "webp", "-r", src, "-o", tmp_path / "out")
    recs = {Path(rec["file"]).name: rec for rec in map(json.loads, r.stdout.splitlines())}
    assert (recs["face.jpg"]["action"], recs["face.jpg"]["method"]) == ("rotated", "reencoded_lossy")
    assert recs["flat.png"]["action"] == "undecided"  # a change of format alone is no turn
    assert recs["face.jpg"]["output"] == str(tmp_path / "out" / "face.webp")
    assert sorted(os.listdir(tmp_path / "out")) == ["face.webp", "flat.webp"]
    with Image.open(tmp_path / "out" / "face.webp") as o:
        assert o.format == "WEBP" and o.size == (512, 592)
    with Image.open(tmp_path / "out" / "flat.webp") as o:
        assert o.format == "WEBP" and o.size == (64, 48)
    run(FACEUP, "fix", "--format", "png", src / "face.jpg", "-o", tmp_path / "png")
    with Image.open(tmp_path / "png" / "face.png") as o:
        assert o.format == "PNG" and psnr(np.asarray(o.convert("RGB")),
                                          np.asarray(upright_face())) > 35
    # same: as without the option
    run(FACEUP, "fix", "--format", "same", src / "face.jpg", "-o", tmp_path / "same")
    assert os.listdir(tmp_path / "same") == ["face.jpg"]


def test_format_option_refuses_two_inputs_one_output_and_in_place(built, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    Image.new("RGB", (64, 48)).save(src / "a.jpg")
    Image.new("RGB", (64, 48)).save(src / "a.png")
    r = run(FACEUP, "fix", "--format", "png", "-r", src, "-o", tmp_path / "out", check=False)
    assert r.returncode == 1 and "same output path" in r.stderr
    assert run(FACEUP, "fix", "--format", "png", "--in-place", src / "a.jpg",
               check=False).returncode == 2
    assert run(FACEUP, "fix", "--format", "gif", "-o", tmp_path, src / "a.jpg",
               check=False).returncode == 2
