"""Peer for bench/bench_server.py: the obvious Python service doing what `faceup serve` does.

FastAPI + uvicorn + OpenCV's YuNet (face_detection_yunet_2023mar.onnx): the image is decoded,
YuNet runs on it turned 0/90/180/270 degrees clockwise, a face whose mouth lands above its eyes
is discounted, the turn with the best score wins (the rule of shared/eval/peers/yunet_opencv.py),
and the image is sent back turned upright, re-encoded in its own format.

    YUNET_MODEL=/path/face_detection_yunet_2023mar.onnx \\
        uvicorn fastapi_yunet:app --app-dir bench/peers --workers 2 --port 8081

POST /v1/fix takes the image as the body, like faceup's. The body is read on the event loop and
the work runs on Starlette's thread pool, so the loop stays free; each uvicorn worker process
has one detector, used by one thread at a time.
"""
import os
import threading

import cv2
import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

ROTATE = [None, cv2.ROTATE_90_CLOCKWISE, cv2.ROTATE_180, cv2.ROTATE_90_COUNTERCLOCKWISE]
SIZE = 640
MODEL = os.environ.get("YUNET_MODEL", "face_detection_yunet_2023mar.onnx")
cv2.setNumThreads(int(os.environ.get("PEER_CV_THREADS", "1")))

app = FastAPI()
# One detector per process, behind a lock: cv2.FaceDetectorYN keeps its input size as state, so
# threads cannot share it unguarded, and one per pool thread (40 of them) only thrashes the CPU
# and memory of a machine with a core or two per worker process.
_detector = cv2.FaceDetectorYN.create(MODEL, "", (320, 320), 0.5, 0.3, 5000)
_lock = threading.Lock()


def detect(img):
    """(score, landmarks) of each face, the longer side scaled to SIZE as the peer script does."""
    h, w = img.shape[:2]
    s = SIZE / max(h, w)
    img = cv2.resize(img, (max(1, round(w * s)), max(1, round(h * s))))
    _detector.setInputSize((img.shape[1], img.shape[0]))
    _, faces = _detector.detect(img)
    if faces is None:
        return []
    return [(float(f[14]), f[4:14].reshape(5, 2) / s) for f in faces]


def upright_score(dets):
    best = -1.0
    for score, k in dets:
        eyes_y = (k[0, 1] + k[1, 1]) / 2
        mouth_y = (k[3, 1] + k[4, 1]) / 2
        best = max(best, score if mouth_y > eyes_y else score - 1.0)
    return best


def media_type(data):
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg", ".jpg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png", ".png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", ".webp"
    return None, None


def fix_image(data):
    """The work of one request, on a pool thread: (status, body, media type, headers)."""
    ctype, ext = media_type(data)
    if ctype is None:
        return 415, b'{"error":{"code":"unsupported_media_type","message":"not an image"}}', "application/json", {}
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    if img is None:
        return 422, b'{"error":{"code":"undecodable_image","message":"cannot decode"}}', "application/json", {}
    turned = [img if k == 0 else cv2.rotate(img, ROTATE[k]) for k in range(4)]
    with _lock:
        scores = [upright_score(detect(t)) for t in turned]
    k = int(np.argmax(scores))
    if scores[k] <= 0:
        return 200, data, ctype, {"X-Faceup-Orientation": "undecided"}
    params = [cv2.IMWRITE_JPEG_QUALITY, 92] if ext == ".jpg" else []
    _, out = cv2.imencode(ext, turned[k], params)
    return 200, out.tobytes(), ctype, {"X-Faceup-Orientation": str((360 - 90 * k) % 360),
                                       "X-Faceup-Confidence": "%.4f" % scores[k]}


@app.post("/v1/fix")
async def fix(request: Request):
    data = await request.body()
    status, body, ctype, headers = await run_in_threadpool(fix_image, data)
    return Response(body, status_code=status, media_type=ctype, headers=headers)
