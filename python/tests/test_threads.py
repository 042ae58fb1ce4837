"""Threads: a Detector each gives the same answers as one thread; one Detector shared by two
threads at once is refused (BusyError), never raced; the GIL is released while faceup works."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

import faceup

NAMES = ["hopper_turned_90", "astronaut_turned_180", "hopper_exif6", "hopper_90", "noface",
         "hopper_gray_270", "hopper_90_webp"]


def test_many_threads_with_a_handle_each_give_the_serial_answers(images):
    datas = [images[n].read_bytes() for n in NAMES]
    arrays = [np.asarray(Image.open(images[n])) for n in ("hopper_90", "astronaut_90")]
    serial = [faceup.Detector().detect(d).to_json() for d in datas]
    serial_px = [faceup.Detector().detect(a).to_json() for a in arrays]
    serial_fix = [faceup.Detector().fix(d).data for d in datas]

    def work(k):
        d = faceup.Detector() if k % 2 else None      # own Detector, or the module's per thread
        out = []
        for i in range(len(datas)):
            j = (i + k) % len(datas)
            r = d.detect(datas[j]) if d else faceup.detect(datas[j])
            f = d.fix(datas[j]) if d else faceup.fix(datas[j])
            out.append((j, r.to_json(), f.data))
        for j, a in enumerate(arrays):
            out.append((j + 100, (d.detect(a) if d else faceup.detect(a)).to_json(), None))
        return out

    with ThreadPoolExecutor(8) as pool:
        for out in pool.map(work, range(8)):
            for j, text, fixed in out:
                if j >= 100:
                    assert text == serial_px[j - 100]
                else:
                    assert text == serial[j] and fixed == serial_fix[j]


def test_module_functions_keep_one_detector_per_thread():
    seen = []

    def record():
        seen.append((faceup._detector(), faceup._detector()))

    threads = [threading.Thread(target=record) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(a is b for a, b in seen)                           # the same within a thread
    assert len({id(a) for a, _ in seen}) == 4 or len(seen) == 4   # ... and one per thread
    assert faceup._detector() is faceup._detector()


def slow_image() -> bytes:
    """A photo that keeps one call busy for a while: many faces, searched in fine detail."""
    import io
    face = Image.open(__import__("conftest").SAMPLES / "grace_hopper.jpg").convert("RGB")
    face = face.resize((128, 150))
    canvas = Image.new("RGB", (2048, 1536), (90, 90, 90))
    for y in range(0, 1536 - 150, 200):
        for x in range(0, 2048 - 128, 180):
            canvas.paste(face, (x, y))
    buf = io.BytesIO()
    canvas.save(buf, "PNG")
    return buf.getvalue()


def test_one_detector_used_by_two_threads_at_once_raises_busy():
    data = slow_image()
    d = faceup.Detector(detail=2048)
    started, done = threading.Event(), threading.Event()
    results = []

    def hold():
        started.set()
        try:
            for _ in range(3):
                results.append(d.detect(data))
        finally:
            done.set()

    t = threading.Thread(target=hold)
    t.start()
    started.wait()
    busy = None
    while not done.is_set():
        try:
            d.detect(b"")
        except faceup.BusyError as e:
            busy = e
            break
        except faceup.FormatError:
            time.sleep(0.001)   # got in between two of its calls; try again
    t.join()
    assert busy is not None and isinstance(busy, RuntimeError)
    assert "one Detector per thread" in busy.message
    assert len(results) == 3 and all(r.to_json() == results[0].to_json() for r in results)
    d.detect(data)          # usable again once free


def test_the_gil_is_released_while_faceup_works():
    data = slow_image()
    d = faceup.Detector(detail=2048)
    t0 = time.perf_counter()
    d.detect(data)
    call = time.perf_counter() - t0
    assert call > 0.05, "the slow image is not slow enough to tell"
    # While a thread is inside faceup, this thread keeps running Python: with the GIL held,
    # its longest pause would be the whole call.
    t = threading.Thread(target=d.detect, args=(data,))
    ticks = []
    t.start()
    while t.is_alive():
        ticks.append(time.perf_counter())
    t.join()
    gaps = np.diff(ticks) if len(ticks) > 1 else np.array([call])
    assert gaps.max() < call / 2, (gaps.max(), call)
