"""`faceup detect`: the JSON contract, exit codes, bad inputs, EXIF, and decisions on constructed
images. Fixtures are generated here from the public-domain portraits in samples/."""
import json, os, struct, subprocess, zlib

import pytest
from PIL import Image

BUILD = os.environ.get("FACEUP_BUILD", "build")
FACEUP = os.path.join(BUILD, "faceup")
SAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "samples")
KEYS = {"file", "orientation", "confidence", "faces", "exif_orientation", "error"}
TURN = {90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_90}


def run(*args, env=None):
    p = subprocess.run([FACEUP, *args], capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, **(env or {})))
    return p.returncode, p.stdout, p.stderr


def detect(*paths, extra=(), env=None):
    rc, out, err = run("detect", "--json", *extra, *paths, env=env)
    objs = [json.loads(l) for l in out.splitlines()]
    assert len(objs) == len(paths), err
    for o in objs:
        assert KEYS <= o.keys()
    return rc, objs


def hopper():
    return Image.open(os.path.join(SAMPLES, "grace_hopper.jpg")).convert("RGB")


def save(img, path, **kw):
    img.save(path, **kw)
    return str(path)


@pytest.mark.parametrize("angle", [0, 90, 180, 270])
@pytest.mark.parametrize("fmt", ["jpg", "png", "webp"])
def test_turned_portrait_is_decided(tmp_path, angle, fmt):
    img = hopper()
    if angle:
        img = img.transpose(TURN[angle])
    path = save(img, tmp_path / f"h{angle}.{fmt}", **({"lossless": True} if fmt == "webp" else {}))
    rc, [o] = detect(path)
    assert rc == 0
    assert o["orientation"] == angle and o["confidence"] > 0.9 and o["error"] is None
    assert o["exif_orientation"] is None
    assert len(o["faces"]) == 1
    f = o["faces"][0]
    assert f["orientation"] == angle
    # the box sits on the face, in the coordinates of the image as given
    w, h = img.size
    x, y, bw, bh = f["box"]
    assert 0 <= x and x + bw <= w + 5 and 0 <= y and y + bh <= h + 5 and 80 < bw < 260
    assert abs(f["roll"]) < 15


def test_no_face_is_undecided(tmp_path):
    grad = Image.linear_gradient("L").resize((320, 240)).convert("RGB")
    rc, [o] = detect(save(grad, tmp_path / "grad.png"))
    assert rc == 0 and o["orientation"] is None and o["confidence"] == 0 and o["faces"] == []


def test_faces_that_disagree_take_the_weighted_majority(tmp_path):
    # faces large enough that each one alone is sure of its own turn
    face = hopper().resize((300, 351))
    canvas = Image.new("RGB", (1000, 451), (120, 120, 120))
    canvas.paste(face, (20, 40))
    canvas.paste(face, (350, 40))
    canvas.paste(face.transpose(TURN[90]), (680, 40))
    rc, [o] = detect(save(canvas, tmp_path / "mixed.png"))
    assert rc == 0
    assert o["orientation"] == 0 and o["faces_disagree"] is True
    assert sorted(f["orientation"] for f in o["faces"]) == [0, 0, 90]
    # disagreement costs confidence: it is lower than for the same faces all upright
    canvas.paste(face, (680, 40))
    _, [same] = detect(save(canvas, tmp_path / "same.png"))
    assert same["faces_disagree"] is False and same["confidence"] >= o["confidence"]


def test_face_threshold_filters_the_faces_listed_never_the_answer(tmp_path):
    canvas = Image.new("RGB", (700, 360), (120, 120, 120))
    canvas.paste(hopper().resize((200, 234)), (20, 40))
    canvas.paste(hopper().resize((60, 70)).transpose(TURN[90]), (400, 120))   # a small face, turned
    path = save(canvas, tmp_path / "two.png")
    _, [loose] = detect(path)
    for t in ("0.9", "0.99", "1"):
        rc, [strict] = detect(path, extra=("--face-threshold", t))
        assert rc == 0
        assert (strict["orientation"], strict["confidence"]) == (loose["orientation"], loose["confidence"])
        assert all(f["score"] >= float(t) for f in strict["faces"])
        assert len(strict["faces"]) <= len(loose["faces"])
    assert loose["orientation"] == 0 and len(loose["faces"]) >= 1
    assert detect(path, extra=("--face-threshold", "1"))[1][0]["faces"] == []


def test_face_threshold_leaves_the_whole_answer_alone(tmp_path):
    """--face-threshold only filters the faces listed: orientation, confidence and
    faces_disagree are those of the default, even when it lists none of the faces."""
    face = hopper().resize((300, 351))
    canvas = Image.new("RGB", (1000, 451), (120, 120, 120))
    canvas.paste(face, (20, 40))
    canvas.paste(face, (350, 40))
    canvas.paste(face.transpose(TURN[90]), (680, 40))
    path = save(canvas, tmp_path / "mixed.png")
    _, [base] = detect(path)
    assert base["orientation"] == 0 and base["confidence"] > 0.9 and base["faces_disagree"] is True
    for t in ("0.5", "0.9", "0.95", "1"):
        rc, [o] = detect(path, extra=("--face-threshold", t))
        assert rc == 0
        keys = ("orientation", "confidence", "faces_disagree")
        assert [o[k] for k in keys] == [base[k] for k in keys], t
    assert o["faces"] == []


def test_face_near_45_degrees_is_never_turned_far(tmp_path):
    img = hopper()
    tilted = img.rotate(-44, expand=True, fillcolor=(0, 0, 0))   # 44 degrees clockwise
    rc, [o] = detect(save(tilted, tmp_path / "tilt.png"))
    assert rc == 0
    # between 0 and 90: either of them, or undecided; never upside down or the other way
    assert o["orientation"] in (None, 0, 90)
    assert o["confidence"] < 0.99 or o["orientation"] is None


@pytest.mark.parametrize("tilt", [-15, 0, 20])
def test_roll_follows_the_eye_line(tmp_path, tilt):
    upright = detect(save(hopper(), tmp_path / "up.png"))[1][0]["faces"][0]["roll"]
    img = hopper().rotate(-tilt, expand=True, fillcolor=(0, 0, 0))   # clockwise by `tilt`
    rc, [o] = detect(save(img, tmp_path / "tilt.png"))
    assert rc == 0 and o["orientation"] == 0
    assert abs(o["faces"][0]["roll"] - (upright + tilt)) < 6


# EXIF: stored pixels S, tag t; the displayed image is upright, so the answer is 0 with the tag
# reported. The stored image is the upright one put through the inverse of the tag's transform.
INVERSE = {
    1: [], 2: [Image.Transpose.FLIP_LEFT_RIGHT], 3: [Image.Transpose.ROTATE_180],
    4: [Image.Transpose.FLIP_TOP_BOTTOM], 5: [Image.Transpose.TRANSPOSE],
    6: [Image.Transpose.ROTATE_90], 7: [Image.Transpose.TRANSVERSE], 8: [Image.Transpose.ROTATE_270],
}


@pytest.mark.parametrize("tag", range(1, 9))
def test_exif_orientation_is_applied_first(tmp_path, tag):
    img = hopper()
    for t in INVERSE[tag]:
        img = img.transpose(t)
    exif = Image.Exif()
    exif[0x0112] = tag
    path = save(img, tmp_path / f"exif{tag}.jpg", exif=exif.tobytes(), quality=92)
    with Image.open(path) as check:   # Pillow agrees that it displays upright
        from PIL import ImageOps
        shown = ImageOps.exif_transpose(check)
        assert shown.size == hopper().size
    rc, [o] = detect(path)
    assert rc == 0 and o["exif_orientation"] == tag
    assert o["orientation"] == 0 and o["confidence"] > 0.9
    assert (o["width"], o["height"]) == hopper().size


def test_exif_and_a_real_turn_combine(tmp_path):
    # displayed image = upright turned 90 clockwise, stored with tag 6 (stored = displayed turned ccw)
    shown = hopper().transpose(TURN[90])
    stored = shown.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    rc, [o] = detect(save(stored, tmp_path / "e6.jpg", exif=exif.tobytes(), quality=92))
    assert rc == 0 and o["exif_orientation"] == 6 and o["orientation"] == 90


def png_header_only(w, h):
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + chunk


BAD = {
    "empty.jpg": b"",
    "text.jpg": b"this is not an image\n" * 20,
    "truncated.jpg": None,          # the first 40% of a real JPEG
    "truncated.png": None,
    "absurd.png": png_header_only(100000, 100000),
    "absurd_small_file.jpg": b"\xff\xd8\xff\xc0\x00\x11\x08\xff\xff\xff\xff\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01\xff\xd9",
}


def test_bad_inputs_get_error_objects_and_exit_1(tmp_path):
    paths = []
    for name, data in BAD.items():
        if data is None:
            src = tmp_path / ("src." + name.split(".")[1])
            save(hopper(), src)
            raw = src.read_bytes()
            data = raw[: int(len(raw) * 0.4)]
        (tmp_path / name).write_bytes(data)
        paths.append(str(tmp_path / name))
    paths.append(str(tmp_path / "missing.jpg"))
    paths.append(str(tmp_path))                       # a directory
    good = save(hopper(), tmp_path / "good.jpg")
    rc, objs = detect(*paths, good)
    assert rc == 1
    for o in objs[:-1]:
        assert o["orientation"] is None and o["error"], o
    assert objs[-1]["error"] is None and objs[-1]["orientation"] == 0
    assert [o["file"] for o in objs] == paths + [good]       # input order kept


def test_a_fifo_is_an_error_not_a_hang(tmp_path):
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    good = save(hopper(), tmp_path / "good.jpg")
    rc, [o, g] = detect(str(fifo), good)
    assert rc == 1 and "not a regular file" in o["error"] and g["orientation"] == 0


def test_pixel_limit_is_read_from_the_header(tmp_path):
    path = save(hopper(), tmp_path / "h.jpg")
    rc, [o] = detect(path, extra=("--max-pixels", "1000"))
    assert rc == 1 and "pixels" in o["error"]


def test_answers_do_not_depend_on_jobs_or_simd(tmp_path):
    paths = []
    for a in (0, 90, 180, 270):
        img = hopper() if a == 0 else hopper().transpose(TURN[a])
        paths.append(save(img, tmp_path / f"t{a}.jpg"))
    _, one, _ = run("detect", "--json", "-j", "1", *paths)
    _, three, _ = run("detect", "--json", "-j", "3", *paths)
    _, scalar, _ = run("detect", "--json", "-j", "2", *paths, env={"FACEUP_FORCE_SCALAR": "1"})
    assert one == three == scalar


def test_table_output_and_usage_errors(tmp_path):
    path = save(hopper().transpose(TURN[180]), tmp_path / "t.jpg")
    rc, out, _ = run("detect", path)
    assert rc == 0 and "180" in out.splitlines()[1] and "FILE" in out.splitlines()[0]
    assert run("detect")[0] == 2
    assert run("detect", "-j", "0", path)[0] == 2
    assert run("detect", "--no-such-flag", path)[0] == 2
    assert run("frobnicate")[0] == 2
    rc, out, _ = run("detect", "--help")
    assert rc == 0 and "--json" in out
    rc, out, _ = run("--version")
    assert rc == 0 and "face_detection_yunet_2023mar.onnx" in out


def test_detail_finds_small_faces_in_large_photos(tmp_path):
    # six faces of about 30 px (box) in a 2400x1600 photo: 1/80 of its width
    canvas = Image.new("RGB", (2400, 1600), (110, 120, 100))
    face = hopper().resize((52, 61))
    spots = [(300, 300), (900, 500), (1500, 250), (2000, 900), (700, 1200), (1700, 1300)]
    for x, y in spots:
        canvas.paste(face, (x, y))
    canvas.paste(hopper().resize((400, 469)), (1000, 700))   # and one large face, for the decision
    path = save(canvas, tmp_path / "big.png")
    _, [coarse] = detect(path)
    rc, [fine] = detect(path, extra=("--detail", "2400"))
    assert rc == 0 and fine["orientation"] == coarse["orientation"] == 0
    assert len(coarse["faces"]) < 7
    assert len(fine["faces"]) == 7, [f["box"] for f in fine["faces"]]
    for x, y in spots:   # each small face found once, where it is
        hits = [f for f in fine["faces"] if abs(f["box"][0] + f["box"][2] / 2 - (x + 26)) < 20
                and abs(f["box"][1] + f["box"][3] / 2 - (y + 33)) < 25]
        assert len(hits) == 1
    assert run("detect", "--detail", "100", path)[0] == 2


def test_every_face_of_a_crowd_is_listed(tmp_path):
    canvas = Image.new("RGB", (1000, 640), (90, 100, 110))
    face = hopper().resize((90, 105))
    spots = [(30 + 120 * c, 20 + 150 * r) for r in range(4) for c in range(6)]   # 24 faces
    for x, y in spots:
        canvas.paste(face, (x, y))
    rc, [o] = detect(save(canvas, tmp_path / "crowd.png"))
    assert rc == 0 and o["orientation"] == 0 and not o["faces_disagree"]
    assert len(o["faces"]) == len(spots)
