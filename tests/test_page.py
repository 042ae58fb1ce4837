"""The page at GET /, driven in headless Chromium over the DevTools protocol, as a person would:
pick a turned photo in the file input, then read what the page shows.

The screenshot is kept as a test artifact: $FACEUP_BUILD/test-artifacts/page.png.
Chromium comes from Debian (tools/setup.sh installs it).
"""
import base64
import io
import json
import os
import shutil
import subprocess
import time
import urllib.request

import pytest
import websocket
from PIL import Image, ImageChops, ImageStat

from test_server import BUILD, SAMPLES, Server

ARTIFACTS = os.path.join(BUILD, "test-artifacts")


class Browser:
    """Headless Chromium and one page, spoken to over the DevTools protocol (a websocket)."""

    def __init__(self, profile):
        exe = shutil.which("chromium") or shutil.which("chromium-browser")
        assert exe, "chromium not found: tools/setup.sh installs it"
        self.proc = subprocess.Popen(
            [exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--no-first-run", "--no-default-browser-check", "--disable-extensions",
             "--disable-background-networking", "--remote-debugging-port=0",
             f"--user-data-dir={profile}", "--window-size=1200,1000", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = os.path.join(profile, "DevToolsActivePort")
        deadline = time.monotonic() + 30
        while not os.path.exists(port_file) or not open(port_file).read().strip():
            assert time.monotonic() < deadline and self.proc.poll() is None, "chromium did not start"
            time.sleep(0.05)
        port = int(open(port_file).read().split()[0])
        while True:
            targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list"))
            pages = [t for t in targets if t["type"] == "page"]
            if pages:
                break
            assert time.monotonic() < deadline, "no page target"
            time.sleep(0.05)
        self.ws = websocket.create_connection(pages[0]["webSocketDebuggerUrl"], timeout=60,
                                              suppress_origin=True)
        self.next_id = 0
        self.events = []

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.next_id:
                assert "error" not in msg, (method, msg["error"])
                return msg.get("result", {})
            self.events.append(msg)

    def wait_event(self, method, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            for i, e in enumerate(self.events):
                if e.get("method") == method:
                    return self.events.pop(i)
            assert time.monotonic() < deadline, f"no {method}"
            self.ws.settimeout(max(0.1, deadline - time.monotonic()))
            self.events.append(json.loads(self.ws.recv()))

    def js(self, expression):
        r = self.call("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        assert "exceptionDetails" not in r, r["exceptionDetails"]
        return r["result"].get("value")

    def wait_js(self, expression, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            value = self.js(expression)
            if value:
                return value
            assert time.monotonic() < deadline, f"timed out waiting for {expression}"
            time.sleep(0.1)

    def close(self):
        try:
            self.ws.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("serve"), "--threads", "2")
    yield s
    assert s.stop() == 0


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    b = Browser(str(tmp_path_factory.mktemp("chromium")))
    yield b
    b.close()


def test_picking_a_turned_photo_shows_it_upright_with_the_decision(server, browser, tmp_path):
    upright = Image.open(os.path.join(SAMPLES, "grace_hopper.jpg")).convert("RGB")
    turned = tmp_path / "turned.jpg"
    upright.rotate(-90, expand=True).save(turned, quality=92)   # turned 90 degrees clockwise

    browser.call("Page.enable")
    browser.call("Runtime.enable")
    browser.call("Page.navigate", url=f"http://127.0.0.1:{server.port}/")
    browser.wait_event("Page.loadEventFired")
    assert browser.js("document.title") == "faceup"

    # Pick the file in the real <input type=file>: the page's own change handler takes it from there.
    root = browser.call("DOM.getDocument")["root"]["nodeId"]
    node = browser.call("DOM.querySelector", nodeId=root, selector="#file")["nodeId"]
    browser.call("DOM.setFileInputFiles", files=[str(turned)], nodeId=node)

    orientation = browser.wait_js("document.getElementById('decision').dataset.orientation")
    decision = browser.js("document.getElementById('decision').textContent")
    details = browser.js("document.getElementById('details').textContent")
    assert orientation == "90", (decision, details)
    assert "Orientation 90\u00b0 clockwise" in decision and "confidence" in decision
    assert "Rotated 90\u00b0 counter-clockwise" in decision
    # 600 rows are not a whole number of 16-row MCUs: the page says the fix was lossy
    assert "rotated 90\u00b0 counter-clockwise, re-encoded (lossy)" in details

    # After: the image the page shows is the upright photo /v1/fix returned.
    size = browser.js("(() => { const a = document.getElementById('after');"
                      " return a.complete ? [a.naturalWidth, a.naturalHeight] : null; })()")
    assert size == [upright.width, upright.height]
    shown = browser.js("(() => { const a = document.getElementById('after');"
                       " const c = document.createElement('canvas');"
                       " c.width = a.naturalWidth; c.height = a.naturalHeight;"
                       " c.getContext('2d').drawImage(a, 0, 0);"
                       " return c.toDataURL('image/png').split(',')[1]; })()")
    after = Image.open(io.BytesIO(base64.b64decode(shown))).convert("RGB")
    diff = ImageChops.difference(after, upright)
    assert sum(ImageStat.Stat(diff).mean) / 3 < 6

    # Before: the photo as sent, with the landmarks drawn where /v1/detect put them.
    assert browser.js("[document.getElementById('before').width, document.getElementById('before').height]") \
        == [upright.height, upright.width]
    detection = json.loads(urllib.request.urlopen(urllib.request.Request(
        f"http://127.0.0.1:{server.port}/v1/detect", data=turned.read_bytes(),
        headers={"Content-Type": "image/jpeg"})).read())
    x, y = (round(v) for v in detection["faces"][0]["landmarks"][0])   # right eye: red
    pixel = browser.js(f"Array.from(document.getElementById('before').getContext('2d')"
                       f".getImageData({x}, {y}, 1, 1).data)")
    assert pixel[0] > 200 and pixel[1] < 110 and pixel[2] < 110, pixel

    os.makedirs(ARTIFACTS, exist_ok=True)
    shot = browser.call("Page.captureScreenshot", format="png")["data"]
    with open(os.path.join(ARTIFACTS, "page.png"), "wb") as f:
        f.write(base64.b64decode(shot))


def test_a_file_that_is_no_image_shows_the_error(server, browser, tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_bytes(b"not a photo at all")
    browser.call("Page.navigate", url=f"http://127.0.0.1:{server.port}/")
    browser.wait_event("Page.loadEventFired")
    root = browser.call("DOM.getDocument")["root"]["nodeId"]
    node = browser.call("DOM.querySelector", nodeId=root, selector="#file")["nodeId"]
    browser.call("DOM.setFileInputFiles", files=[str(bad)], nodeId=node)
    browser.wait_js("document.getElementById('result').classList.contains('error')")
    text = browser.js("document.getElementById('details').textContent")
    assert "415" in text and "unsupported_media_type" in text
