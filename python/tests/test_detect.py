"""faceup.detect() and faceup.Detector: every input type gives the CLI's answer on the same
image; results carry the CLI's JSON; bad inputs and bad parameters raise faceup.Error
subclasses with the library's message and never crash the interpreter."""
from __future__ import annotations

import io
import json
import os
import pathlib
import re
import time

import numpy as np
import pytest
from PIL import Image

import faceup
from conftest import ROOT, cli_detect, faceup_cli


def without_file(d: dict) -> dict:
    return {k: v for k, v in d.items() if k != "file"}


def pixels_json(d: dict) -> dict:
    """What detect() on the decoded pixels gives: no file, and no EXIF (pixels have none)."""
    return dict(without_file(d), exif_orientation=None)


# ---- encoded inputs ----------------------------------------------------------------------

ENCODED = ["hopper_turned_90", "astronaut_turned_180", "hopper_exif6", "grace_hopper",
           "hopper_90_webp", "hopper_gray_270", "noface"]


@pytest.mark.parametrize("name", ENCODED)
@pytest.mark.parametrize("kind", ["bytes", "bytearray", "memoryview", "str", "pathlike"])
def test_encoded_inputs_give_the_cli_answer(images, name, kind):
    path = images[name]
    [cli] = cli_detect(path)
    data = path.read_bytes()
    given = {"bytes": data, "bytearray": bytearray(data), "memoryview": memoryview(data),
             "str": str(path), "pathlike": pathlib.Path(path)}[kind]
    r = faceup.detect(given)
    if kind in ("str", "pathlike"):
        assert r.to_dict() == cli and r.file == str(path)
        assert r.to_json() == faceup.detect(str(path)).to_json()
    else:
        assert r.to_dict() == without_file(cli) and r.file is None


def test_result_fields_are_the_json_values(images):
    r = faceup.detect(str(images["hopper_exif6"]))
    d = r.to_dict()
    assert (r.orientation, r.confidence, r.exif_orientation, r.faces_disagree, r.width, r.height) \
        == (d["orientation"], d["confidence"], d["exif_orientation"], d["faces_disagree"],
            d["width"], d["height"])
    assert r.decided and r.exif_orientation == 6 and len(r.faces) == len(d["faces"]) == 1
    f, fd = r.faces[0], d["faces"][0]
    assert list(f.box) == fd["box"] and f.score == fd["score"] and f.roll == fd["roll"]
    assert [list(p) for p in f.landmarks] == fd["landmarks"] and len(f.landmarks) == 5
    assert f.orientation == fd["orientation"] and f.confidence == fd["confidence"]
    assert list(f.turn_scores) == fd["turn_scores"] and list(f.turn_probs) == fd["turn_probs"]
    r.to_dict()["faces"].clear()            # a new dict each time
    assert r.to_dict() == d


def test_undecided_is_none(images):
    r = faceup.detect(str(images["noface"]))
    assert r.orientation is None and not r.decided and r.confidence == 0 and r.faces == ()
    assert r.exif_orientation is None


# ---- pixels ------------------------------------------------------------------------------

def rgb(images, name):
    return np.asarray(Image.open(images[name]).convert("RGB"))


def layouts(a: np.ndarray) -> dict[str, np.ndarray]:
    """The same H x W x 3 pixels in memory laid out every way numpy allows."""
    h, w, _ = a.shape
    padded = np.zeros((h + 6, w + 10, 3), np.uint8)
    padded[3:3 + h, 4:4 + w] = a
    planar = np.ascontiguousarray(a.transpose(2, 0, 1)).transpose(1, 2, 0)
    flipped = np.flipud(np.ascontiguousarray(np.flipud(a)))
    mirrored = np.fliplr(np.ascontiguousarray(np.fliplr(a)))
    every_other = np.zeros((h, w * 2, 3), np.uint8)
    every_other[:, ::2] = a
    readonly = a.copy()
    readonly.flags.writeable = False
    out = {"contiguous": np.ascontiguousarray(a), "padded rows": padded[3:3 + h, 4:4 + w],
           "planar": planar, "fortran": np.asfortranarray(a), "rows reversed": flipped,
           "columns reversed": mirrored, "every other column": every_other[:, ::2],
           "read-only": readonly}
    for k, v in out.items():
        assert np.array_equal(v, a), k
    assert not out["padded rows"].flags.c_contiguous and not out["planar"].flags.c_contiguous
    return out


@pytest.mark.parametrize("name", ["hopper_90", "hopper_180", "astronaut_90", "noface"])
def test_numpy_rgb_in_every_layout_gives_the_cli_answer(images, name):
    [cli] = cli_detect(images[name])
    for layout, a in layouts(rgb(images, name)).items():
        assert faceup.detect(a).to_dict() == pixels_json(cli), layout


def test_numpy_gray_and_rgba_give_the_cli_answer(images):
    [gray_cli] = cli_detect(images["hopper_gray_270"])
    g = np.asarray(Image.open(images["hopper_gray_270"]))
    assert g.ndim == 2
    assert faceup.detect(g).to_dict() == pixels_json(gray_cli)
    assert faceup.detect(g[:, :, None]).to_dict() == pixels_json(gray_cli)
    assert faceup.detect(np.asfortranarray(g)).to_dict() == pixels_json(gray_cli)
    [cli] = cli_detect(images["hopper_270"])
    a = rgb(images, "hopper_270")
    rgba = np.concatenate([a, np.full(a.shape[:2] + (1,), 255, np.uint8)], axis=2)
    assert faceup.detect(rgba).to_dict() == pixels_json(cli)
    assert faceup.detect(rgba[:, ::-1][:, ::-1]).to_dict() == pixels_json(cli)


@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA", "P", "CMYK"])
def test_pil_images_give_the_cli_answer(images, tmp_path, mode):
    img = Image.open(images["hopper_180"]).convert(mode)
    # the CLI on a PNG of the pixels faceup reads from this image (RGB for modes it converts)
    shown = img if mode in ("RGB", "L") else img.convert("RGB")
    shown.save(tmp_path / "same.png")
    [cli] = cli_detect(tmp_path / "same.png")
    r = faceup.detect(img)
    assert r.to_dict() == pixels_json(cli)
    assert r.orientation == 180


def test_pil_image_from_a_file_is_taken_as_its_pixels(images):
    with Image.open(images["hopper_turned_90"]) as im:
        assert faceup.detect(im).orientation == 90


# ---- errors ------------------------------------------------------------------------------

@pytest.mark.parametrize("data, error, message", [
    (b"", faceup.FormatError, "faceup_detect(): empty input"),
    (b"hello, not an image", faceup.FormatError, "faceup_detect(): not a JPEG, PNG, WebP, HEIC or AVIF image"),
    ("truncated", faceup.DecodeError, "faceup_detect(): "),
    ("notimage", faceup.FormatError, "faceup_detect(): "),
    ("empty", faceup.FormatError, "faceup_detect(): empty input"),
])
def test_bad_encoded_inputs_raise_the_library_error(images, data, error, message):
    if isinstance(data, str):
        [cli] = cli_detect(images[data])
        data = images[data].read_bytes()
        # the CLI reports the library's message, without the function's name
        message = "faceup_detect(): " + cli["error"]
    with pytest.raises(error) as e:
        faceup.detect(data)
    assert str(e.value) == e.value.message == message
    assert isinstance(e.value, faceup.Error) and isinstance(e.value, ValueError)
    assert e.value.status == error.status < 0


def test_too_many_pixels_and_bytes(images):
    data = images["grace_hopper"].read_bytes()
    d = faceup.Detector(max_pixels=1000)
    with pytest.raises(faceup.TooManyPixelsError, match=r"^faceup_detect\(\): .*1000"):
        d.detect(data)
    with pytest.raises(faceup.TooManyPixelsError, match=r"^faceup_detect_pixels\(\): 600x512"):
        d.detect(rgb(images, "hopper_90"))
    with pytest.raises(faceup.TooManyBytesError, match=r"^faceup_detect\(\): input is \d+ bytes"):
        faceup.Detector(max_bytes=100).detect(data)
    with pytest.raises(faceup.TooManyBytesError, match=r"file is \d+ bytes, over the limit of 100"):
        faceup.Detector(max_bytes=100).detect(str(images["grace_hopper"]))
    # a view of 2**31 pixels over 3 bytes: refused before any pixel is read or copied
    huge = np.lib.stride_tricks.as_strided(np.zeros(3, np.uint8), (1 << 16, 1 << 15, 3), (0, 0, 1))
    t0 = time.perf_counter()
    with pytest.raises(faceup.TooManyPixelsError, match=r"32768x65536 is over the limit"):
        faceup.detect(huge)
    assert time.perf_counter() - t0 < 1


@pytest.mark.parametrize("bad", [
    np.zeros((64, 64, 3), np.float32), np.zeros((64, 64, 3), np.int8),
    np.zeros((64, 64, 3), np.uint16), np.zeros((64, 64), bool), np.zeros((64, 64, 3), object),
    np.zeros(64, np.uint8), np.zeros((64, 64, 2), np.uint8), np.zeros((64, 64, 5), np.uint8),
    np.zeros((2, 64, 64, 3), np.uint8), np.zeros((), np.uint8),
    3, 2.5, None, [[1, 2], [3, 4]], {"image": b""}, object(),
])
def test_what_is_not_an_image_raises_input_error(bad):
    with pytest.raises(faceup.InputError) as e:
        faceup.detect(bad)
    assert isinstance(e.value, TypeError) and e.value.message.startswith("faceup")


def test_empty_pixels_raise_argument_error():
    for a in (np.zeros((0, 10, 3), np.uint8), np.zeros((10, 0), np.uint8)):
        with pytest.raises(faceup.ArgumentError, match=r"^faceup_detect_pixels\(\): bad arguments"):
            faceup.detect(a)
    with pytest.raises(faceup.ArgumentError):
        faceup.detect(Image.new("RGB", (0, 0)))


def test_unreadable_paths_raise_oserror(tmp_path):
    with pytest.raises(FileNotFoundError):
        faceup.detect(str(tmp_path / "missing.jpg"))
    with pytest.raises(IsADirectoryError):
        faceup.detect(tmp_path)


def test_a_non_contiguous_memoryview_is_refused_not_misread():
    mv = memoryview(np.zeros((8, 8, 3), np.uint8)[:, ::2])
    with pytest.raises(faceup.InputError):
        faceup.detect(mv)


def test_garbage_never_crashes():
    rng = np.random.default_rng(7)
    jpg = (ROOT / "samples" / "grace_hopper.jpg").read_bytes()
    for i in range(60):
        data = bytearray(jpg[:rng.integers(0, len(jpg))])
        for _ in range(rng.integers(0, 20)):
            if data:
                data[rng.integers(0, len(data))] = rng.integers(0, 256)
        try:
            faceup.detect(bytes(data))
        except faceup.Error:
            pass


# ---- Detector and its parameters --------------------------------------------------------

def test_detector_parameters_round_trip():
    d = faceup.Detector(threads=2, max_pixels=5_000_000, max_bytes=1 << 20, min_confidence=0.9,
                        keep_metadata=False, output_format="png", face_threshold=0.6, detail=800,
                        lossless_only=True, max_memory=64 << 20, bake_exif=True)
    assert d.params == {"threads": 2, "max_pixels": 5_000_000, "max_bytes": 1 << 20,
                        "min_confidence": 0.9, "keep_metadata": False, "output_format": "png",
                        "face_threshold": pytest.approx(0.6), "detail": 800,
                        "lossless_only": True, "max_memory": 64 << 20, "bake_exif": True}
    assert faceup.Detector().params == {
        "threads": 1, "max_pixels": 100_000_000, "max_bytes": 256 << 20, "min_confidence": 0.5,
        "keep_metadata": True, "output_format": None, "face_threshold": 0.5, "detail": 640,
        "lossless_only": False, "max_memory": 1 << 30, "bake_exif": False}
    assert repr(faceup.Detector(detail=800)).startswith("faceup.Detector(threads=1, ")
    assert faceup.Detector(max_pixels=np.int64(10)).params["max_pixels"] == 10


def test_max_memory_refuses_an_image_whose_pixels_cost_more():
    # 3000 x 2000 RGB: a few KB of PNG, 18 MB of pixels to turn
    big = io.BytesIO()
    Image.new("RGB", (3000, 2000), (90, 90, 90)).save(big, format="PNG")
    with pytest.raises(faceup.TooManyPixelsError, match="max_memory"):
        faceup.Detector(max_memory=1 << 20).fix_orientation(big.getvalue(), 90)
    assert faceup.Detector().fix_orientation(big.getvalue(), 90).rotated_ccw == 90
    with pytest.raises(faceup.ArgumentError, match="max_memory=1000"):
        faceup.Detector(max_memory=1000)


@pytest.mark.parametrize("kw, message", [
    ({"detail": 100}, r"detail=100: faceup_set_param\(\): parameter 7: value 100 out of range"),
    ({"threads": 0}, r"threads=0: faceup_set_param\(\): .* out of range"),
    ({"min_confidence": 1.5}, r"min_confidence=1.5: faceup_set_param\(\)"),
    ({"face_threshold": -0.1}, r"face_threshold=-0.1: faceup_set_param\(\)"),
    ({"max_pixels": 0}, r"max_pixels=0: faceup_set_param\(\)"),
    ({"detail": 640.5}, r"detail wants an int"),
    ({"detail": "640"}, r"detail wants an int"),
    ({"threads": True}, r"threads wants an int"),
    ({"keep_metadata": 1}, r"keep_metadata wants True or False"),
    ({"output_format": "gif"}, r"output_format wants None, \"jpeg\""),
    ({"min_confidence": "high"}, r"min_confidence wants a number"),
])
def test_bad_parameters_raise_argument_error(kw, message):
    with pytest.raises(faceup.ArgumentError, match=message):
        faceup.Detector(**kw)


def test_unknown_parameter_is_a_type_error():
    with pytest.raises(TypeError):
        faceup.Detector(thredas=2)


def test_parameters_mean_what_the_cli_options_mean(images):
    path = str(images["astronaut_turned_180"])
    p = faceup_cli("detect", "--json", "--face-threshold", "0.9", "--detail", "1024",
                   "--max-pixels", "5000000", path, check=True)
    d = faceup.Detector(face_threshold=0.9, detail=1024, max_pixels=5_000_000)
    assert d.detect(path).to_dict() == json.loads(p.stdout)


def test_version_and_embedded_model_are_the_projects():
    cmake = (ROOT / "CMakeLists.txt").read_text()
    assert faceup.__version__ == faceup.LIBRARY_VERSION == \
        re.search(r"project\(faceup VERSION ([0-9.]+)", cmake).group(1)
    assert faceup.MODEL_NAME == "face_detection_yunet_2023mar.onnx"
    assert faceup.MODEL_SHA256 == re.search(r'FACEUP_MODEL_SHA256 "([0-9a-f]{64})"', cmake).group(1)
    from importlib.metadata import version
    assert version("faceup") == faceup.__version__


def test_the_package_is_typed():
    pkg = pathlib.Path(faceup.__file__).parent
    assert (pkg / "py.typed").exists()
    assert faceup.detect.__annotations__["return"] in ("Result", faceup.Result)
    assert faceup.detect.__doc__ and faceup.Detector.__doc__ and faceup.Result.__doc__
    assert os.path.basename(faceup._faceup.__file__) == "_faceup.abi3.so"
