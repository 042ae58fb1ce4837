"""The network against ONNX Runtime, and the detector against OpenCV's FaceDetectorYN.

Run by CTest (tests/CMakeLists.txt) with FACEUP_BUILD (the build folder) and FACEUP_MODEL_FILE
(the .onnx the weights were converted from) in the environment.
"""
import json, os, subprocess

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from PIL import Image

BUILD = os.environ.get("FACEUP_BUILD", "build")
MODEL = os.environ.get("FACEUP_MODEL_FILE", os.path.join(BUILD, "model", "face_detection_yunet_2023mar.onnx"))
HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLES = os.path.join(HERE, "..", "samples")
NN_DUMP = os.path.join(BUILD, "tests", "nn_dump")
DET_DUMP = os.path.join(BUILD, "tests", "det_dump")
OUTPUTS = [f"{k}_{s}" for k in ("cls", "obj", "bbox", "kps") for s in (8, 16, 32)]


@pytest.fixture(scope="module")
def session():
    m = onnx.load(MODEL)
    dims = m.graph.input[0].type.tensor_type.shape.dim
    dims[2].dim_param, dims[3].dim_param = "H", "W"
    for o in m.graph.output:   # the cell count follows the input size
        o.type.tensor_type.shape.dim[1].dim_param = "N_" + o.name
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    return ort.InferenceSession(m.SerializeToString(), opts, providers=["CPUExecutionProvider"])


def photo_input(h, w):
    img = Image.open(os.path.join(SAMPLES, "grace_hopper.jpg")).convert("RGB").resize((w, h))
    return np.asarray(img)[:, :, ::-1].transpose(2, 0, 1)[None].astype(np.float32)  # BGR NCHW


def random_input(h, w, seed):
    return (np.random.default_rng(seed).random((1, 3, h, w)) * 255).astype(np.float32)


CASES = [("random", 32, 32), ("random", 64, 96), ("random", 160, 128), ("photo", 320, 256), ("photo", 640, 640)]


@pytest.mark.parametrize("kind,h,w", CASES)
@pytest.mark.parametrize("scalar,threads", [(False, 1), (False, 3), (True, 1), (True, 2)])
def test_every_output_matches_onnxruntime(session, tmp_path, kind, h, w, scalar, threads):
    x = photo_input(h, w) if kind == "photo" else random_input(h, w, h * w)
    ref = dict(zip(OUTPUTS, session.run(OUTPUTS, {"input": x})))
    x.tofile(tmp_path / "in.f32")
    env = dict(os.environ, FACEUP_FORCE_SCALAR="1" if scalar else "0")
    subprocess.run([NN_DUMP, str(h), str(w), str(tmp_path / "in.f32"), str(tmp_path / "out.f32"), str(threads)],
                   check=True, env=env, capture_output=True)
    got = np.fromfile(tmp_path / "out.f32", np.float32)
    off = 0
    for name in OUTPUTS:
        r = ref[name]
        g = got[off:off + r.size].reshape(r.shape)
        off += r.size
        err = float(np.abs(g - r).max())
        assert err <= 1e-4, f"{name}: max abs error {err}"
    assert off == got.size


def opencv_faces(path):
    img = cv2.imread(path, cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    det = cv2.FaceDetectorYN.create(MODEL, "", (img.shape[1], img.shape[0]), 0.6, 0.3, 5000)
    _, faces = det.detect(img)
    return [] if faces is None else [(f[:4], float(f[14])) for f in faces]


def iou(a, b):
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def make_group(path):
    """Two public-domain portraits at different sizes on one canvas, a small face among them."""
    canvas = Image.new("RGB", (900, 600), (90, 110, 130))
    hopper = Image.open(os.path.join(SAMPLES, "grace_hopper.jpg")).convert("RGB")
    astro = Image.open(os.path.join(SAMPLES, "astronaut.jpg")).convert("RGB")
    canvas.paste(hopper.resize((300, 352)), (40, 120))
    canvas.paste(astro.resize((240, 240)), (420, 60))
    canvas.paste(hopper.resize((110, 129)), (720, 380))
    canvas.save(path, quality=95)


@pytest.mark.parametrize("name", ["grace_hopper.jpg", "astronaut.jpg", "group"])
def test_detector_finds_the_faces_opencv_finds(tmp_path, name):
    path = os.path.join(SAMPLES, name)
    if name == "group":
        path = str(tmp_path / "group.jpg")
        make_group(path)
    ours = json.loads(subprocess.run([DET_DUMP, path, "0.6"], check=True, capture_output=True, text=True).stdout)
    theirs = opencv_faces(path)
    assert len(theirs) >= 1
    assert len(ours) == len(theirs), f"faceup {len(ours)} faces, OpenCV {len(theirs)}"
    for box, score in theirs:
        best = max(ours, key=lambda o: iou(o["box"], box))
        assert iou(best["box"], box) >= 0.9
        assert abs(best["score"] - score) < 0.02
