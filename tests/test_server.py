"""`faceup serve`, black-box: a real server on a free port, real sockets, malformed bytes.

Every response that /openapi.json describes is checked against it (schemas and headers), so the
document and the server cannot drift apart. Run by CTest with FACEUP_BUILD (the build folder);
by hand: FACEUP_BUILD=build .venv/bin/python -m pytest tests/test_server.py
"""
import concurrent.futures
import http.client
import io
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time

import jsonschema
import pytest
from PIL import Image, ImageChops, ImageStat

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("FACEUP_SOURCE", os.path.join(HERE, ".."))
BUILD = os.environ.get("FACEUP_BUILD", os.path.join(SOURCE, "build"))
FACEUP = os.path.join(BUILD, "faceup")
SAMPLES = os.path.join(SOURCE, "samples")
MAX_BODY = 4 << 20
TIMEOUT = 3
HEADER_TIMEOUT = 2


# --- a server process ----------------------------------------------------------------------------

class Server:
    """`faceup serve --port 0 ...`, its port read from stderr, ready when /readyz says so."""

    def __init__(self, tmp_path, *args, env=None):
        self.log_path = tmp_path / f"serve-{time.monotonic_ns()}.log"
        self.log = open(self.log_path, "w+b")
        self.proc = subprocess.Popen([FACEUP, "serve", "--port", "0", *args],
                                     stdout=subprocess.DEVNULL, stderr=self.log,
                                     env=dict(os.environ, **(env or {})))
        self.port = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.port is None:
            m = re.search(rb"listening on http://127\.0\.0\.1:(\d+)", self.log_path.read_bytes())
            if m:
                self.port = int(m.group(1))
            elif self.proc.poll() is not None:
                raise AssertionError("server exited early:\n" + self.text())
            else:
                time.sleep(0.02)
        assert self.port, "no 'listening on' line:\n" + self.text()
        while time.monotonic() < deadline:
            if get(self, "/readyz", check=False)[0] == 200:
                return
            time.sleep(0.05)
        raise AssertionError("never ready:\n" + self.text())

    def text(self):
        return self.log_path.read_bytes().decode("utf-8", "replace")

    def stop(self, timeout=30):
        """SIGTERM; returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self.log.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("serve"), "--threads", "2", "--timeout", str(TIMEOUT),
               "--header-timeout", str(HEADER_TIMEOUT), "--max-body", str(MAX_BODY),
               "--queue", "128")
    yield s
    rc = s.stop()
    assert rc == 0, "server exit status %d:\n%s" % (rc, s.text()[-4000:])


@pytest.fixture(scope="module")
def openapi(server):
    status, headers, body = request(server, "GET", "/openapi.json", validate=False)
    assert status == 200 and headers["content-type"] == "application/json"
    return json.loads(body)


# --- HTTP helpers ---------------------------------------------------------------------------------

OPENAPI = None   # set by the first request that fetched it; responses are checked against it


def request(srv, method, path, body=None, headers=None, validate=True, chunked=False):
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
    try:
        if chunked:
            conn.request(method, path, body=iter(body), headers=headers or {}, encode_chunked=True)
        else:
            conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
    finally:
        conn.close()
    if validate:
        check_openapi(method, path, r.status, hdrs, data)
    return r.status, hdrs, data


def get(srv, path, check=True):
    return request(srv, "GET", path, validate=check)


def post(srv, path, body, ctype="application/octet-stream", **kw):
    return request(srv, "POST", path, body, {"Content-Type": ctype}, **kw)


def multipart(parts, boundary="faceup-test-boundary"):
    """parts: (name, filename or None, bytes). Returns (body, content type)."""
    out = io.BytesIO()
    for name, filename, data in parts:
        out.write(b"--" + boundary.encode() + b"\r\n")
        disp = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out.write(f"Content-Disposition: {disp}\r\n".encode())
        out.write(b"Content-Type: application/octet-stream\r\n\r\n")
        out.write(data + b"\r\n")
    out.write(b"--" + boundary.encode() + b"--\r\n")
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def raw(srv, data, wait=5.0):
    """Write bytes to a fresh connection; return everything read until it closes or `wait`."""
    s = socket.create_connection(("127.0.0.1", srv.port))
    s.settimeout(wait)
    out = b""
    try:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    except OSError:   # timed out, or reset or shut by the server part way through
        pass
    finally:
        s.close()
    return out


def converse(srv, data, wait=TIMEOUT + 3, addr="127.0.0.1"):
    """Write bytes and keep the connection open for writing (no half-close, unlike raw()): what
    comes back until the server closes it, and how long that took."""
    s = socket.create_connection((addr, srv.port))
    s.settimeout(wait)
    t0, out = time.monotonic(), b""
    try:
        s.sendall(data)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    except OSError:
        pass
    finally:
        s.close()
    return out, time.monotonic() - t0


def statuses_of(response_bytes):
    return [int(s) for s in re.findall(rb"HTTP/1\.[01] (\d{3}) ", response_bytes)]


def status_of(response_bytes):
    m = re.match(rb"HTTP/1\.[01] (\d{3}) ", response_bytes)
    return int(m.group(1)) if m else None


def error_code(body):
    return json.loads(body)["error"]["code"]


def check_openapi(method, path, status, headers, body):
    """The response must be one the document describes, and match its schema and headers."""
    if OPENAPI is None:
        return
    path = path.split("?")[0]
    op = OPENAPI["paths"].get(path, {}).get("get" if method == "HEAD" else method.lower())
    if op is None and status == 401:   # unknown path or method, and no key
        spec = OPENAPI["components"]["responses"]["Unauthorized"]
    elif op is None:   # unknown path or method: 404/405, the Error response
        assert status in (404, 405), (method, path, status)
        spec = OPENAPI["components"]["responses"]["Error"]
    else:
        spec = op["responses"].get(str(status)) or op["responses"].get("default")
        assert spec, f"{method} {path} answered {status}, which the document does not list"
        if "$ref" in spec:
            spec = OPENAPI["components"]["responses"][spec["$ref"].rsplit("/", 1)[1]]
    media = headers.get("content-type", "").split(";")[0].strip()
    if method == "HEAD":
        return
    assert media in spec["content"], f"{method} {path} {status}: {media} not in {list(spec['content'])}"
    schema = spec["content"][media].get("schema", {})
    if media == "application/json":
        root = dict(schema, components=OPENAPI["components"])
        value = json.loads(body)
        jsonschema.Draft202012Validator(root).validate(value)
        if path == "/v1/detect" and status == 200:
            for detection in value if isinstance(value, list) else [value]:
                check_documented(detection, "Detection")
    for name, h in spec.get("headers", {}).items():
        if "$ref" in h:
            h = OPENAPI["components"]["headers"][h["$ref"].rsplit("/", 1)[1]]
        if name.lower() not in headers and h.get("required") is False:
            continue   # documented as sent only sometimes (X-Faceup-Exif-Baked)
        assert name.lower() in headers, f"{method} {path} {status}: no {name} header"
        jsonschema.Draft202012Validator(h["schema"]).validate(headers[name.lower()])


def check_documented(value, schema_name):
    """The result objects may grow (their schemas allow it, for clients); the document must not
    lag behind: every field the server sends is described in server/openapi.json."""
    props = OPENAPI["components"]["schemas"][schema_name]["properties"]
    undocumented = set(value) - set(props)
    assert not undocumented, f"fields {undocumented} of {schema_name} are not in server/openapi.json"
    if schema_name == "Detection":
        for face in value["faces"]:
            check_documented(face, "Face")


@pytest.fixture(scope="module", autouse=True)
def _openapi_checks(openapi):
    global OPENAPI
    OPENAPI = openapi
    yield
    OPENAPI = None


# --- images ---------------------------------------------------------------------------------------

def encode(img, fmt, **kw):
    out = io.BytesIO()
    img.save(out, fmt, **kw)
    return out.getvalue()


@pytest.fixture(scope="module")
def images():
    hopper = Image.open(os.path.join(SAMPLES, "grace_hopper.jpg")).convert("RGB")
    astronaut = Image.open(os.path.join(SAMPLES, "astronaut.jpg")).convert("RGB")
    gradient = Image.linear_gradient("L").resize((200, 150)).convert("RGB")
    return {
        "hopper": hopper,
        "hopper.jpg": encode(hopper, "JPEG", quality=92),
        # Image.rotate turns counter-clockwise: -90 shows the photo turned 90 degrees clockwise.
        "hopper90.jpg": encode(hopper.rotate(-90, expand=True), "JPEG", quality=92),
        "astronaut": astronaut,
        "astronaut270.png": encode(astronaut.rotate(90, expand=True), "PNG"),
        "noface.png": encode(gradient, "PNG"),
        "small.jpg": encode(hopper.resize((160, 188)).rotate(-90, expand=True), "JPEG", quality=90),
    }


def mean_difference(a, b):
    return sum(ImageStat.Stat(ImageChops.difference(a.convert("RGB"), b.convert("RGB"))).mean) / 3


# --- endpoints ------------------------------------------------------------------------------------

def test_healthz_says_ok(server):
    status, headers, body = get(server, "/healthz")
    assert status == 200 and json.loads(body) == {"status": "ok"}


def test_readyz_says_ready_once_warmed_up(server):
    status, _, body = get(server, "/readyz")
    assert status == 200 and json.loads(body) == {"status": "ready"}


def test_openapi_is_3_1_and_lists_every_endpoint(openapi):
    assert openapi["openapi"].startswith("3.1")
    assert set(openapi["paths"]) == {"/v1/fix", "/v1/detect", "/healthz", "/readyz", "/metrics",
                                     "/openapi.json", "/"}
    for op in (openapi["paths"]["/v1/fix"]["post"], openapi["paths"]["/v1/detect"]["post"]):
        assert {"200", "400", "408", "411", "413", "415", "422", "503"} <= set(op["responses"])
    jsonschema.Draft202012Validator.check_schema(openapi["components"]["schemas"]["Detection"])


def test_page_is_self_contained_html(server):
    status, headers, body = get(server, "/")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert b"<input" in body and b"/v1/fix" in body and b"/v1/detect" in body
    assert not re.search(rb"""(src|href)\s*=\s*["']?(https?:)?//""", body), "external asset"
    assert "default-src 'none'" in headers["content-security-policy"]


def test_head_gives_headers_without_body(server):
    status, headers, body = request(server, "HEAD", "/healthz")
    assert status == 200 and body == b"" and headers["content-length"] == "15"


def test_detect_upright_photo_gives_the_cli_json(server, images):
    status, headers, body = post(server, "/v1/detect", images["hopper.jpg"], "image/jpeg")
    assert status == 200 and headers["content-type"] == "application/json"
    r = json.loads(body)
    assert r["orientation"] == 0 and r["error"] is None and "file" not in r
    assert len(r["faces"]) >= 1 and r["width"] == 512 and r["height"] == 600
    cli = subprocess.run([FACEUP, "detect", "--json", os.path.join(SAMPLES, "grace_hopper.jpg")],
                         capture_output=True, check=True).stdout
    cli = json.loads(cli)
    assert cli["orientation"] == r["orientation"] and len(cli["faces"]) == len(r["faces"])


def test_fix_turns_a_face_turned_90_back_upright(server, images):
    status, headers, body = post(server, "/v1/fix", images["hopper90.jpg"], "image/jpeg")
    assert status == 200 and headers["content-type"] == "image/jpeg"
    assert headers["x-faceup-orientation"] == "90"
    assert headers["x-faceup-rotated-ccw"] == "90"   # orientation 90: rotated 90 counter-clockwise
    assert "x-faceup-exif-baked" not in headers
    assert headers["x-faceup-rotated"] == "270"      # deprecated: the same turn, clockwise
    assert float(headers["x-faceup-confidence"]) >= 0.5
    upright = Image.open(io.BytesIO(body))
    assert upright.size == images["hopper"].size
    assert mean_difference(upright, images["hopper"]) < 6
    # and the server agrees that what it gave back is upright
    status, _, again = post(server, "/v1/detect", body, "image/jpeg")
    assert status == 200 and json.loads(again)["orientation"] == 0


def heif(img, tmp_path, suffix):
    """img as HEIC or AVIF, written by libheif's heif-enc (libheif-examples)."""
    src, out = tmp_path / "src.png", tmp_path / ("out" + suffix)
    img.save(src)
    subprocess.run(["heif-enc", "-q", "90", "-o", str(out), str(src)], check=True,
                   capture_output=True)
    return out.read_bytes()


@pytest.mark.parametrize("ctype,suffix", [("image/heic", ".heic"), ("image/avif", ".avif")])
def test_fix_heic_and_avif_come_back_reencoded_in_their_type(server, images, tmp_path, ctype,
                                                             suffix):
    body = heif(images["hopper"].rotate(-90, expand=True), tmp_path, suffix)
    status, headers, out = post(server, "/v1/fix", body, ctype)
    assert status == 200 and headers["content-type"] == ctype
    assert headers["x-faceup-rotated"] == "270" and headers["x-faceup-path"] == "reencoded"
    status, _, again = post(server, "/v1/detect", out, "image/heif")
    assert status == 200 and json.loads(again)["orientation"] == 0
    assert (json.loads(again)["width"], json.loads(again)["height"]) == (512, 600)
    status, _, err = post(server, "/v1/detect", body[:600], ctype)
    assert status == 422 and error_code(err) == "undecodable_image"


def test_fix_png_from_a_form_is_lossless(server, images):
    body, ctype = multipart([("file", "astronaut270.png", images["astronaut270.png"])])
    status, headers, out = post(server, "/v1/fix", body, ctype)
    assert status == 200 and headers["content-type"] == "image/png"
    assert headers["x-faceup-orientation"] == "270" and headers["x-faceup-rotated-ccw"] == "270"
    assert headers["x-faceup-method"] == "lossless" and headers["x-faceup-path"] == "lossless"
    upright = Image.open(io.BytesIO(out)).convert("RGB")
    assert ImageChops.difference(upright, images["astronaut"]).getbbox() is None


def test_fix_without_a_face_returns_the_input_byte_for_byte(server, images):
    status, headers, out = post(server, "/v1/fix", images["noface.png"], "image/png")
    assert status == 200 and out == images["noface.png"]
    assert headers["x-faceup-orientation"] == "undecided" and headers["x-faceup-rotated-ccw"] == "0"
    assert headers["x-faceup-method"] == "unchanged"


def test_fix_min_confidence_above_the_decision_keeps_the_image(server, images):
    status, headers, _ = post(server, "/v1/fix?min_confidence=0", images["hopper90.jpg"])
    assert status == 200 and headers["x-faceup-rotated-ccw"] == "90"
    conf = float(headers["x-faceup-confidence"])
    if conf < 1.0:
        status, headers, out = post(server, "/v1/fix?min_confidence=1", images["hopper90.jpg"])
        assert status == 200 and headers["x-faceup-rotated-ccw"] == "0"
        assert out == images["hopper90.jpg"]


def test_fix_with_an_orientation_turns_as_told_without_detecting(server, images):
    # no face: detection leaves it; told 90, it is turned as a detected 90 would be
    status, headers, out = post(server, "/v1/fix?orientation=90", images["noface.png"], "image/png")
    assert status == 200 and headers["content-type"] == "image/png"
    assert headers["x-faceup-orientation"] == "90" and headers["x-faceup-rotated-ccw"] == "90"
    assert headers["x-faceup-method"] == "lossless" and headers["x-faceup-faces"] == "0"
    assert float(headers["x-faceup-confidence"]) == 1
    gradient = Image.open(io.BytesIO(images["noface.png"])).convert("RGB")
    upright = Image.open(io.BytesIO(out)).convert("RGB")
    assert ImageChops.difference(upright, gradient.rotate(90, expand=True)).getbbox() is None
    # with a face: the same bytes as the detector's answer
    _, _, detected = post(server, "/v1/fix", images["hopper90.jpg"], "image/jpeg")
    _, _, told = post(server, "/v1/fix?orientation=90", images["hopper90.jpg"], "image/jpeg")
    assert told == detected


def test_fix_keeps_an_exif_orientation_unless_asked_to_bake_it(server):
    """samples/hopper_exif6.jpg is upright as displayed thanks to its tag 6."""
    with open(os.path.join(SAMPLES, "hopper_exif6.jpg"), "rb") as f:
        tagged = f.read()
    for query in ("", "?exif=keep"):
        status, headers, out = post(server, "/v1/fix" + query, tagged, "image/jpeg")
        assert status == 200 and out == tagged
        assert (headers["x-faceup-orientation"], headers["x-faceup-rotated-ccw"],
                headers["x-faceup-method"]) == ("0", "0", "unchanged")
        assert "x-faceup-exif-baked" not in headers
    status, headers, out = post(server, "/v1/fix?exif=bake", tagged, "image/jpeg")
    assert status == 200 and headers["x-faceup-exif-baked"] == "6"
    assert (headers["x-faceup-rotated-ccw"], headers["x-faceup-method"]) == ("0", "lossless")
    with Image.open(io.BytesIO(out)) as o:
        assert o.getexif().get(0x0112) == 1 and o.size == (512, 600)
    # the handle is left as it was: the next request keeps the tag again
    assert post(server, "/v1/fix", tagged, "image/jpeg")[2] == tagged
    for bad in ("/v1/fix?exif=turn", "/v1/fix?exif=", "/v1/detect?exif=bake"):
        status, _, body = post(server, bad, tagged, "image/jpeg")
        assert status == 400 and error_code(body) == "bad_request" and b"exif" in body, bad


def test_fix_says_what_it_drops_of_a_multi_picture_jpeg(server, images):
    """An APP2 MPF index and a second JPEG after the first: a turned picture cannot keep them."""
    index = b"MPF\0II*\0" + b"\x08\0\0\0" + b"\0" * 6
    app2 = b"\xff\xe2" + len(index + b"..").to_bytes(2, "big") + index
    extra = encode(images["hopper"].resize((64, 75)), "JPEG", quality=80)
    for name, dropped in (("hopper90.jpg", "mpf, trailing_data"), ("hopper.jpg", None)):
        mpf = images[name][:2] + app2 + images[name][2:] + extra
        status, headers, out = post(server, "/v1/fix", mpf, "image/jpeg")
        assert status == 200 and headers.get("x-faceup-dropped") == dropped, name
        if dropped is None:
            assert out == mpf   # not rotated: kept byte for byte
        else:
            assert out.count(b"\xff\xd8") == 1 and b"MPF\0" not in out


@pytest.mark.parametrize("query", ["45", "360", "-90", "90.0", "abc", "", "%2090"])
def test_bad_orientation_is_400(server, images, query):
    status, _, body = post(server, "/v1/fix?orientation=" + query, images["small.jpg"])
    assert status == 400 and error_code(body) == "bad_request"
    assert b"0, 90, 180 or 270" in body


def test_orientation_on_detect_is_400(server, images):
    status, _, body = post(server, "/v1/detect?orientation=90", images["small.jpg"])
    assert status == 400 and b"/v1/fix" in body


def test_detect_several_files_answers_an_array_in_order(server, images):
    body, ctype = multipart([("file", "a.png", images["astronaut270.png"]),
                             ("comment", None, b"ignored"),
                             ("file", "b.jpg", images["hopper90.jpg"]),
                             ("file", "c.jpg", images["hopper.jpg"]),
                             ("file", "broken.jpg", images["hopper.jpg"][:300])])
    status, _, out = post(server, "/v1/detect", body, ctype)
    assert status == 200
    results = json.loads(out)
    assert [r["file"] for r in results] == ["a.png", "b.jpg", "c.jpg", "broken.jpg"]
    assert [r["orientation"] for r in results] == [270, 90, 0, None]
    assert [r["error"] is None for r in results] == [True, True, True, False]


def test_chunked_upload_is_accepted(server, images):
    data = images["hopper90.jpg"]
    chunks = [data[i:i + 10000] for i in range(0, len(data), 10000)]
    status, headers, _ = request(server, "POST", "/v1/fix", chunks,
                                 {"Content-Type": "image/jpeg"}, chunked=True)
    assert status == 200 and headers["x-faceup-orientation"] == "90"


def test_keep_alive_serves_several_requests_on_one_connection(server, images):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    for _ in range(3):
        conn.request("POST", "/v1/detect", body=images["small.jpg"],
                     headers={"Content-Type": "image/jpeg"})
        r = conn.getresponse()
        assert r.status == 200 and json.loads(r.read())["orientation"] == 90
    conn.request("GET", "/healthz")
    assert conn.getresponse().status == 200
    conn.close()


# --- errors ---------------------------------------------------------------------------------------

def test_unknown_path_is_404(server):
    status, _, body = get(server, "/v2/nothing")
    assert status == 404 and error_code(body) == "not_found"


def test_error_messages_are_valid_json_whatever_the_path(server):
    """The path in a 404 message goes through the library's JSON string writer: quote and
    backslash escaped; bytes outside printable ASCII were made '?' for the log already."""
    out = raw(server, b"GET /%22q%5C%01%C3%A9%FF HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head, _, body = out.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 404")
    error = json.loads(body.decode("utf-8"))["error"]
    assert error["code"] == "not_found" and error["message"] == 'no endpoint /"q\\????'


def test_wrong_method_is_405_with_allow(server):
    status, headers, body = get(server, "/v1/fix")
    assert status == 405 and headers["allow"] == "POST" and error_code(body) == "method_not_allowed"
    status, headers, _ = post(server, "/metrics", b"x")
    assert status == 405 and headers["allow"] == "GET, HEAD"


def test_no_length_is_411(server):
    out = raw(server, b"POST /v1/detect HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\n"
                      b"Connection: close\r\n\r\n")
    assert status_of(out) == 411 and b'"length_required"' in out


def test_content_length_over_the_limit_is_413_before_the_body(server):
    # Only the headers are sent: the answer must come without waiting for the body.
    s = socket.create_connection(("127.0.0.1", server.port))
    s.settimeout(5)
    s.sendall(b"POST /v1/fix HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\n"
              b"Content-Length: %d\r\nExpect: 100-continue\r\n\r\n" % (MAX_BODY + 1))
    out = s.recv(4096)
    s.close()
    assert status_of(out) == 413 and b'"payload_too_large"' in out


def feed(sock, head, piece, total):
    """Send head, then up to `total` bytes made of `piece`, from a thread; returns the thread and a
    dict that ends up with how many bytes went out and whether the server closed first."""
    state = {"sent": 0, "closed": False}

    def run():
        try:
            sock.sendall(head)
            while state["sent"] < total:
                sock.sendall(piece)
                state["sent"] += len(piece)
        except OSError:
            state["closed"] = True
    t = threading.Thread(target=run)
    t.start()
    return t, state


def read_all(sock, wait):
    sock.settimeout(wait)
    out = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            out += chunk
    except OSError:
        pass
    return out


def test_chunked_body_over_the_limit_is_413_at_once_and_closed(server):
    """Not read to its end: the answer comes when the body passes --max-body, and the connection
    is closed while the client is still sending (here it would send 16 times the limit)."""
    chunk = b"10000\r\n" + b"\xff" * 65536 + b"\r\n"
    s = socket.create_connection(("127.0.0.1", server.port))
    t0 = time.monotonic()
    t, state = feed(s, b"POST /v1/detect HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\n"
                       b"Transfer-Encoding: chunked\r\n\r\n", chunk, 16 * MAX_BODY)
    out = read_all(s, TIMEOUT + 3)
    took = time.monotonic() - t0
    t.join()
    s.close()
    assert statuses_of(out) == [413] and b'"payload_too_large"' in out, out[:300]
    assert re.search(rb"(?im)^connection: close\r$", out.partition(b"\r\n\r\n")[0])
    assert state["closed"] and state["sent"] < 16 * MAX_BODY and took < TIMEOUT
    time.sleep(0.2)
    m = re.findall(r"POST /v1/detect 413 \S+ in=(\d+)", server.text())
    assert m and int(m[-1]) <= MAX_BODY + 65536, "read on past the limit"
    assert "internal error" not in server.text()   # closing on purpose is no error


def test_stalled_body_is_408_then_closed(server):
    """Content-Length promises 4 MiB, 1 MiB comes, then nothing: 408 when the body's time is up
    (--timeout), then the connection is closed."""
    s = socket.create_connection(("127.0.0.1", server.port))
    s.sendall(b"POST /v1/detect HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\n"
              b"Content-Length: %d\r\n\r\n" % MAX_BODY + b"\xff" * (1 << 20))
    t0 = time.monotonic()
    out = read_all(s, TIMEOUT + 5)
    took = time.monotonic() - t0
    s.close()
    assert statuses_of(out) == [408] and error_code(out.partition(b"\r\n\r\n")[2]) == "request_timeout"
    assert TIMEOUT - 1 < took < TIMEOUT + 2
    time.sleep(0.2)
    assert re.search(r"POST /v1/detect 408 \S+ in=\d+ out=\d+ orientation=- \(timed out\)", server.text())


def test_other_media_type_is_415(server, images):
    status, _, body = post(server, "/v1/fix", images["hopper.jpg"], "text/plain")
    assert status == 415 and error_code(body) == "unsupported_media_type"


def test_bytes_that_are_no_image_are_415(server):
    status, _, body = post(server, "/v1/detect", b"GIF89a" + b"\0" * 100, "application/octet-stream")
    assert status == 415 and error_code(body) == "unsupported_media_type"
    # the library's message, without the name of the function that said it
    assert json.loads(body)["error"]["message"] == "not a JPEG, PNG, WebP, HEIC or AVIF image"


def test_truncated_jpeg_is_422(server, images):
    status, _, body = post(server, "/v1/detect", images["hopper.jpg"][:2000], "image/jpeg")
    assert status == 422 and error_code(body) == "undecodable_image"


def test_too_many_pixels_is_422(server):
    huge = encode(Image.new("L", (9000, 6000)), "PNG", optimize=True)   # 54 MP > 50 MP default
    assert len(huge) < MAX_BODY
    status, _, body = post(server, "/v1/fix", huge, "image/png")
    assert status == 422 and error_code(body) == "too_many_pixels"


@pytest.mark.parametrize("query", ["abc", "2", "-0.1", "nan", "inf", "0x1p-1", "%200.5", ""])
def test_bad_min_confidence_is_400(server, images, query):
    status, _, body = post(server, "/v1/fix?min_confidence=" + query, images["small.jpg"])
    assert status == 400 and error_code(body) == "bad_request"


@pytest.mark.parametrize("body,why", [
    (b"--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nabc", "truncated"),
    (b"no boundary here", "boundary"),
    (b"--b\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nabc\r\n--b--\r\n", "no 'file'"),
    (b"--b\r\nContent-Type: image/jpeg\r\n\r\nabc\r\n--b--\r\n", "Content-Disposition"),
    (b"--b\r\nContent-Disposition: attachment; name=\"file\"\r\n\r\nabc\r\n--b--\r\n", "not form-data"),
    (b"--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n\r\n--b--\r\n", "empty"),
])
def test_malformed_multipart_is_400(server, body, why):
    status, _, out = post(server, "/v1/detect", body, "multipart/form-data; boundary=b")
    assert status == 400 and error_code(out) == "bad_request"
    assert why in json.loads(out)["error"]["message"]


def test_fix_takes_one_file(server, images):
    body, ctype = multipart([("file", "a.jpg", images["small.jpg"]), ("file", "b.jpg", images["small.jpg"])])
    status, _, out = post(server, "/v1/fix", body, ctype)
    assert status == 400 and "one file" in json.loads(out)["error"]["message"]


@pytest.mark.parametrize("ctype", ["multipart/form-data", "multipart/form-data; boundary=",
                                   "image/", "image/jpeg; q", 'multipart/form-data; boundary="x'])
def test_malformed_content_type_is_400(server, images, ctype):
    status, _, out = post(server, "/v1/detect", images["small.jpg"], ctype)
    assert status == 400 and error_code(out) == "bad_request"


def test_empty_body_is_400(server):
    status, _, out = post(server, "/v1/detect", b"", "image/jpeg")
    assert status == 400 and error_code(out) == "bad_request"


NEXT = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.mark.parametrize("path", ["/v1/detect", "/healthz"])
@pytest.mark.parametrize("framing", [
    b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
    b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
    b"Content-Length: 3\r\nContent-Length: 5\r\n",
    b"Content-Length: 5\r\nContent-Length: 5\r\n",
    b"Transfer-Encoding: chunked, identity\r\n",
    b"Transfer-Encoding: xchunked\r\n",
    b"Transfer-Encoding: identity\r\n",
    b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
    b"X-Spaced : before the colon\r\n",
    b"X-Tab\t: before the colon\r\n",
])
def test_ambiguous_framing_is_400_and_closes_the_connection(server, path, framing):
    """RFC 9112 6.1-6.3: a request whose end is unknown is refused at once, and nothing after its
    headers is read as another request (that is how request smuggling works)."""
    body = b"5\r\nabcde\r\n0\r\n\r\n" if b"chunked" in framing else b"abcde"
    out, took = converse(server, b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n" +
                         b"Content-Type: image/jpeg\r\n" + framing + b"\r\n" + body + NEXT)
    assert statuses_of(out) == [400], out[:300]
    head, _, text = out.partition(b"\r\n\r\n")
    assert re.search(rb"(?im)^connection: close\r$", head) and error_code(text) == "bad_request"
    assert took < TIMEOUT, "the server waited for more instead of closing"


def test_transfer_encoding_in_http_1_0_is_400(server):
    out, _ = converse(server, b"POST /v1/detect HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"
                              b"5\r\nabcde\r\n0\r\n\r\n")
    assert statuses_of(out) == [400]


def test_chunked_is_case_insensitive(server, images):
    data = images["small.jpg"]
    out, _ = converse(server, b"POST /v1/detect HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\n"
                              b"Transfer-Encoding: CHUNKED\r\nConnection: close\r\n\r\n" +
                              b"%x\r\n" % len(data) + data + b"\r\n0\r\n\r\n")
    assert statuses_of(out) == [200] and json.loads(out.partition(b"\r\n\r\n")[2])["orientation"] == 90


def test_full_queue_is_503_with_retry_after(tmp_path, images):
    srv = Server(tmp_path, "--threads", "1", "--queue", "1")
    try:
        def one(_):
            return post(srv, "/v1/detect", images["hopper.jpg"], "image/jpeg", validate=False)
        with concurrent.futures.ThreadPoolExecutor(12) as pool:
            answers = list(pool.map(one, range(12)))
        statuses = sorted(a[0] for a in answers)
        assert set(statuses) <= {200, 503} and statuses.count(200) >= 2 and 503 in statuses
        for status, headers, body in answers:
            if status == 503:
                assert headers["retry-after"] == "1" and error_code(body) == "overloaded"
    finally:
        assert srv.stop() == 0


# --- hostile and broken clients -------------------------------------------------------------------

@pytest.mark.parametrize("data", [
    b"GARBAGE\r\n\r\n",
    b"GET\r\n\r\n",
    b"GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n",
    b"\x00\x01\x02\x03\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n",
    b"POST /v1/fix HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
    b"POST /v1/fix HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n",
    b"POST /v1/fix HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
])
def test_malformed_request_gets_4xx_or_a_closed_connection(server, data):
    out = raw(server, data, wait=TIMEOUT + 3)
    status = status_of(out)
    assert status is None or 400 <= status < 500, out[:200]
    assert get(server, "/healthz")[0] == 200


def test_unknown_http_version_is_505(server):
    out = raw(server, b"GET /healthz HTTP/7.0\r\nHost: x\r\n\r\n")
    assert status_of(out) == 505   # the one 5xx that is about the request: RFC 9110 15.6.6


def test_huge_headers_are_refused(server):
    out = raw(server, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200000 + b"\r\n\r\n")
    assert status_of(out) in (None, 400, 413, 431)
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(20000))
    out = raw(server, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
    assert status_of(out) in (None, 400, 413, 431)
    assert get(server, "/healthz")[0] == 200


def test_content_length_shorter_than_the_body(server, images):
    # The extra bytes are read as the next request, which is garbage: 4xx or closed, never 5xx.
    data = images["small.jpg"]
    out = raw(server, b"POST /v1/detect HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\n"
                      b"Content-Length: 100\r\n\r\n" + data)
    assert status_of(out) in (400, 415, 422)
    assert all(int(s) < 500 for s in re.findall(rb"HTTP/1\.1 (\d{3}) ", out))


def test_content_length_longer_than_the_body(server, images):
    # The client stops sending (half-close): no answer is possible, the server must not suffer.
    out = raw(server, b"POST /v1/detect HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\n"
                      b"Content-Length: 100000\r\n\r\n" + images["small.jpg"][:5000], wait=TIMEOUT + 3)
    assert status_of(out) is None or status_of(out) < 500
    assert get(server, "/healthz")[0] == 200


def test_truncated_multipart_is_400(server, images):
    body, ctype = multipart([("file", "x.jpg", images["small.jpg"])])
    cut = body[: len(body) // 2]
    status, _, out = post(server, "/v1/detect", cut, ctype)
    assert status == 400 and "truncated" in json.loads(out)["error"]["message"]


def test_slow_body_is_cut_off_by_the_timeout(server):
    s = socket.create_connection(("127.0.0.1", server.port))
    s.sendall(b"POST /v1/detect HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\n"
              b"Content-Length: 1000\r\n\r\n")
    t0 = time.monotonic()
    closed_after = None
    try:
        while time.monotonic() - t0 < TIMEOUT + 6:
            s.sendall(b"x")   # one byte every quarter second: never idle, always too slow
            time.sleep(0.25)
    except (BrokenPipeError, ConnectionResetError):
        closed_after = time.monotonic() - t0
    s.close()
    assert closed_after is not None and closed_after < TIMEOUT + 3


def test_slow_headers_are_cut_off_by_the_header_timeout(server):
    s = socket.create_connection(("127.0.0.1", server.port))
    t0 = time.monotonic()
    closed_after = None
    try:
        for b in b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100:
            s.sendall(bytes([b]))
            time.sleep(0.2)
    except (BrokenPipeError, ConnectionResetError):
        closed_after = time.monotonic() - t0
    s.close()
    assert closed_after is not None and closed_after < HEADER_TIMEOUT + 1.5
    _, _, metrics = get(server, "/metrics")
    assert int(re.search(rb"faceup_http_timeouts_total (\d+)", metrics).group(1)) >= 1


def test_header_deadline_is_its_own(tmp_path):
    """A connection that sends nothing is closed after --header-timeout, not --timeout."""
    srv = Server(tmp_path, "--threads", "1", "--timeout", "30", "--header-timeout", "1")
    try:
        idle = socket.create_connection(("127.0.0.1", srv.port))
        t0 = time.monotonic()
        assert read_all(idle, 10) == b"" and time.monotonic() - t0 < 2.5
        idle.close()
    finally:
        assert srv.stop() == 0


def hold(srv, n, data):
    """n connections from 127.0.0.1 that each sent `data` and are left open."""
    held = []
    for _ in range(n):
        c = socket.create_connection(("127.0.0.1", srv.port))
        c.sendall(data)
        held.append(c)
    return held


def test_one_address_cannot_take_every_connection(tmp_path):
    """Slow clients from 127.0.0.1 hold what they can; one from 127.0.0.2 is still served at once."""
    srv = Server(tmp_path, "--threads", "1", "--max-connections", "8", "--max-conn-per-ip", "4",
                 "--header-timeout", "30")
    held = []
    try:
        held = hold(srv, 16, b"GET /healthz HTTP/1.1\r\nHost: x\r\n")   # headers never finished
        time.sleep(0.3)
        other = socket.create_connection(("127.0.0.1", srv.port), source_address=("127.0.0.2", 0))
        other.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        t0 = time.monotonic()
        out = read_all(other, 5)
        other.close()
        assert statuses_of(out) == [200] and time.monotonic() - t0 < 1.0
    finally:
        for c in held:
            c.close()
        assert srv.stop() == 0


def test_connections_over_the_cap_wait_for_a_free_one(tmp_path):
    """Three connections sending bodies (not idle) fill the cap: a fourth waits until one ends."""
    srv = Server(tmp_path, "--max-connections", "3", "--threads", "1")
    try:
        busy = hold(srv, 3, b"POST /v1/detect HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + b"x" * 10)
        time.sleep(0.3)
        extra = socket.create_connection(("127.0.0.1", srv.port))   # queued by the kernel
        extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        extra.settimeout(2.0)
        with pytest.raises(socket.timeout):
            extra.recv(100)   # not accepted while three are open, and none of them is idle
        busy[0].close()
        extra.settimeout(10)
        assert status_of(extra.recv(100)) == 200   # accepted once one closed
        for s in busy[1:] + [extra]:
            s.close()
    finally:
        assert srv.stop() == 0


def test_idle_connections_are_closed_first_near_the_cap(tmp_path):
    """Eight keep-alive connections idle after a request fill --max-connections 8: a new client is
    served within a few seconds (the longest idle closed to make room), not after the 30 s
    header timeout; the ones closed are counted in /metrics."""
    srv = Server(tmp_path, "--max-connections", "8", "--max-conn-per-ip", "0", "--threads", "1",
                 "--header-timeout", "30")
    idle = []
    try:
        for _ in range(8):
            c = socket.create_connection(("127.0.0.1", srv.port))
            c.settimeout(5)
            c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert status_of(c.recv(1000)) == 200   # answered, kept alive
            idle.append(c)
            time.sleep(0.05)
        time.sleep(0.3)
        t0 = time.monotonic()
        out, took = converse(srv, b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", wait=10)
        assert statuses_of(out) == [200] and took < 4.0, (out[:100], took)
        closed = int(re.search(rb"faceup_http_idle_closed_total (\d+)", out).group(1))
        assert closed >= 1
        idle[0].settimeout(1)
        assert idle[0].recv(100) == b""   # the one idle longest was closed
        assert time.monotonic() - t0 < 5
    finally:
        for c in idle:
            c.close()
        assert srv.stop() == 0


def test_listening_on_ipv6_loopback(tmp_path):
    assert socket.has_ipv6, "this Python has no IPv6: the server's ::1 binding cannot be tested"
    p = subprocess.Popen([FACEUP, "serve", "--bind", "::1", "--port", "0", "--threads", "1"],
                         stderr=subprocess.PIPE)
    try:
        line = p.stderr.readline().decode()
        m = re.match(r"listening on http://\[::1\]:(\d+)", line)
        assert m, line
        deadline = time.monotonic() + 30
        while True:
            try:
                s = socket.create_connection(("::1", int(m.group(1))))
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        s.settimeout(10)
        assert status_of(s.recv(100)) == 200
        s.close()
    finally:
        p.send_signal(signal.SIGINT)   # SIGINT stops it like SIGTERM
        assert p.wait(30) == 0


def test_64_parallel_clients_all_get_the_right_answer(server, images):
    def one(i):
        if i % 2:
            return post(server, "/v1/detect", images["small.jpg"], "image/jpeg")
        return post(server, "/v1/fix", images["small.jpg"], "image/jpeg")
    with concurrent.futures.ThreadPoolExecutor(64) as pool:
        answers = list(pool.map(one, range(64)))
    assert [a[0] for a in answers] == [200] * 64
    for i, (_, headers, body) in enumerate(answers):
        if i % 2:
            assert json.loads(body)["orientation"] == 90
        else:
            assert headers["x-faceup-orientation"] == "90"


# --- who may call: API keys and CORS -------------------------------------------------------------

KEYS = b"# keys of the tests\n\nsecret-key-1\n  other.key2/+=  \r\n"


@pytest.fixture(scope="module")
def keyed(tmp_path_factory):
    d = tmp_path_factory.mktemp("keyed")
    (d / "keys").write_bytes(KEYS)
    s = Server(d, "--threads", "1", "--api-key-file", str(d / "keys"))
    yield s
    assert s.stop() == 0


def test_api_key_is_required_except_on_the_probes(keyed, images):
    assert get(keyed, "/healthz")[0] == 200 and get(keyed, "/readyz")[0] == 200
    for path in ("/metrics", "/openapi.json", "/", "/v2/nothing"):
        status, headers, body = get(keyed, path)
        assert status == 401 and headers["www-authenticate"] == "Bearer", path
        assert error_code(body) == "unauthorized"
    status, _, _ = post(keyed, "/v1/detect", images["small.jpg"], "image/jpeg")
    assert status == 401


@pytest.mark.parametrize("authorization,status", [
    ("Bearer secret-key-1", 200), ("bearer other.key2/+=", 200), ("BEARER  secret-key-1", 200),
    ("Bearer secret-key-", 401), ("Bearer secret-key-12", 401), ("Bearer other.key2", 401),
    ("Basic c2VjcmV0LWtleS0x", 401), ("secret-key-1", 401), ("Bearer ", 401),
    ("Bearer # keys of the tests", 401),
])
def test_only_a_listed_bearer_key_opens(keyed, images, authorization, status):
    got, _, _ = request(keyed, "POST", "/v1/detect", images["small.jpg"],
                        {"Content-Type": "image/jpeg", "Authorization": authorization})
    assert got == status
    assert request(keyed, "GET", "/metrics", headers={"Authorization": authorization})[0] == status


def test_keys_are_never_logged(keyed):
    request(keyed, "GET", "/metrics", headers={"Authorization": "Bearer secret-key-1"})
    request(keyed, "GET", "/metrics?secret-key-1", headers={"Authorization": "Bearer wrong-key"})
    time.sleep(0.2)
    text = keyed.text()
    assert "wrong-key" not in text and "other.key2" not in text
    assert "secret-key-1" not in text.replace("GET /metrics?secret-key-1", "")   # only its own URL
    assert "API keys required" in text


def test_api_key_file_from_the_environment(tmp_path):
    (tmp_path / "keys").write_bytes(b"env-key\n")
    srv = Server(tmp_path, "--threads", "1", env={"FACEUP_API_KEY_FILE": str(tmp_path / "keys")})
    try:
        assert get(srv, "/metrics", check=False)[0] == 401
        assert request(srv, "GET", "/metrics", headers={"Authorization": "Bearer env-key"},
                       validate=False)[0] == 200
    finally:
        assert srv.stop() == 0


@pytest.mark.parametrize("content,why", [
    (b"", b"no key"), (b"# only a comment\n\n", b"no key"), (b"good\nhas space\n", b"line 2"),
    (None, b"keys"),
])
def test_unusable_key_file_stops_the_server(tmp_path, content, why):
    path = tmp_path / "keys"
    if content is not None:
        path.write_bytes(content)
    r = subprocess.run([FACEUP, "serve", "--port", "0", "--api-key-file", str(path)],
                       capture_output=True, timeout=60)
    assert r.returncode == 1 and why in r.stderr, r.stderr
    assert b"has space" not in r.stderr   # the key itself is not printed


@pytest.fixture(scope="module")
def cors(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("cors"), "--threads", "1",
               "--cors-origin", "https://a.example", "--cors-origin", "http://localhost:3000")
    yield s
    assert s.stop() == 0


def test_cors_allows_only_the_listed_origins(cors, server, images):
    status, headers, _ = request(cors, "POST", "/v1/fix", images["small.jpg"],
                                 {"Content-Type": "image/jpeg", "Origin": "http://localhost:3000"})
    assert status == 200 and headers["access-control-allow-origin"] == "http://localhost:3000"
    assert "X-Faceup-Orientation" in headers["access-control-expose-headers"]
    assert "Origin" in headers["vary"]
    for origin in ("https://evil.example", "https://a.example.evil", "null"):
        _, headers, _ = request(cors, "GET", "/healthz", headers={"Origin": origin})
        assert "access-control-allow-origin" not in headers and "Origin" in headers["vary"]
    # none by default
    _, headers, _ = request(server, "GET", "/healthz", headers={"Origin": "https://a.example"})
    assert "access-control-allow-origin" not in headers


def test_cors_preflight_is_answered_for_a_listed_origin(cors, server):
    ask = {"Origin": "https://a.example", "Access-Control-Request-Method": "POST",
           "Access-Control-Request-Headers": "authorization, content-type"}
    status, headers, body = request(cors, "OPTIONS", "/v1/detect", headers=ask, validate=False)
    assert status == 204 and body == b""
    assert headers["access-control-allow-origin"] == "https://a.example"
    assert headers["access-control-allow-methods"] == "POST, OPTIONS"
    assert "Authorization" in headers["access-control-allow-headers"]
    assert int(headers["access-control-max-age"]) > 0
    status, headers, _ = request(cors, "OPTIONS", "/v1/detect", validate=False,
                                 headers=dict(ask, Origin="https://evil.example"))
    assert status == 405 and "access-control-allow-origin" not in headers
    assert request(server, "OPTIONS", "/v1/detect", headers=ask, validate=False)[0] == 405


def test_cors_preflight_needs_no_key(tmp_path):
    (tmp_path / "keys").write_bytes(b"k\n")
    srv = Server(tmp_path, "--threads", "1", "--api-key-file", str(tmp_path / "keys"),
                 "--cors-origin", "https://a.example")
    try:
        status, headers, _ = request(srv, "OPTIONS", "/v1/fix", validate=False, headers={
            "Origin": "https://a.example", "Access-Control-Request-Method": "POST"})
        assert status == 204 and headers["access-control-allow-origin"] == "https://a.example"
        status, headers, _ = request(srv, "GET", "/metrics", validate=False,
                                     headers={"Origin": "https://a.example"})
        assert status == 401 and headers["access-control-allow-origin"] == "https://a.example"
    finally:
        assert srv.stop() == 0


# --- observability --------------------------------------------------------------------------------

def test_metrics_count_requests_latency_bytes_and_decisions(server, images):
    post(server, "/v1/fix", images["hopper90.jpg"], "image/jpeg")
    status, headers, text = get(server, "/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain; version=0.0.4")
    text = text.decode()
    for name, kind in [("faceup_http_requests_total", "counter"),
                       ("faceup_http_request_duration_seconds", "histogram"),
                       ("faceup_http_request_bytes_total", "counter"),
                       ("faceup_http_response_bytes_total", "counter"),
                       ("faceup_decisions_total", "counter"),
                       ("faceup_queue_depth", "gauge"),
                       ("faceup_http_requests_in_flight", "gauge")]:
        assert f"# TYPE {name} {kind}" in text
    assert re.search(r'faceup_http_requests_total\{endpoint="/v1/fix",status="200"\} [1-9]', text)
    assert re.search(r'faceup_http_requests_total\{endpoint="other",status="404"\} [1-9]', text)
    assert re.search(r'faceup_decisions_total\{orientation="90"\} [1-9]', text)
    assert re.search(r'faceup_http_request_duration_seconds_bucket\{endpoint="/v1/fix",le="\+Inf"\} [1-9]', text)
    assert re.search(r'faceup_http_request_bytes_total\{endpoint="/v1/fix"\} [1-9]', text)
    assert re.search(r"^faceup_queue_depth 0$", text, re.M)
    assert re.search(r"^faceup_http_requests_in_flight 1$", text, re.M)   # this one
    for line in text.splitlines():   # every sample line is NAME{LABELS} VALUE
        assert line.startswith("#") or re.match(r'^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [0-9.e+-]+$', line), line


def test_one_log_line_per_request(server, images):
    post(server, "/v1/fix?min_confidence=0.5", images["hopper90.jpg"], "image/jpeg")
    time.sleep(0.2)
    assert re.search(r"POST /v1/fix\S* 200 [0-9.]+ms in=\d+ out=\d+ orientation=90\n", server.text())
    assert re.search(r"GET /v2/nothing 404 [0-9.]+ms in=0 out=\d+ orientation=-\n", server.text())


# --- the process ----------------------------------------------------------------------------------

def test_sigterm_finishes_requests_in_flight_and_exits_0(tmp_path, images):
    # A large photo, so that six of them keep one worker busy for a while.
    big = encode(images["hopper"].resize((2048, 2400)).rotate(-90, expand=True), "JPEG", quality=90)
    srv = Server(tmp_path, "--threads", "1")
    try:
        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            futures = [pool.submit(post, srv, "/v1/fix", big, "image/jpeg", validate=False)
                       for _ in range(6)]
            # SIGTERM once every request has arrived and at least two are still unanswered.
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                _, _, m = get(srv, "/metrics", check=False)
                waiting = int(re.search(rb"faceup_http_requests_in_flight (\d+)", m).group(1)) - 1
                answered = srv.text().count("POST /v1/fix")
                if waiting >= 2 and waiting + answered == 6:
                    break
                time.sleep(0.01)
            assert waiting >= 2, "the requests were answered before SIGTERM could be sent"
            srv.proc.send_signal(signal.SIGTERM)
            answers = [f.result() for f in futures]
        assert [a[0] for a in answers] == [200] * 6
        assert all(a[1]["x-faceup-orientation"] == "90" for a in answers)
        assert srv.proc.wait(30) == 0
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", srv.port), timeout=2)
    finally:
        srv.stop()
    assert "finishing the requests in flight" in srv.text()


def test_environment_sets_the_options_and_flags_win(tmp_path):
    srv = Server(tmp_path, "--max-body", "2000",
                 env={"FACEUP_MAX_BODY": "1000", "FACEUP_THREADS": "1", "FACEUP_TIMEOUT": "5"})
    try:
        status, _, _ = post(srv, "/v1/detect", b"x" * 1500, validate=False)
        assert status == 415   # under the flag's 2000, over the variable's 1000: the flag won
        status, _, _ = post(srv, "/v1/detect", b"x" * 2500, validate=False)
        assert status == 413
    finally:
        assert srv.stop() == 0
    # the main thread prints its "ready:" line once the workers are up, which can be a moment
    # after /readyz first answers 200 (under load it was): read the log once the server is gone
    assert "1 workers" in srv.text() and "timeout 5 s" in srv.text()


def test_usage_errors_exit_2(tmp_path):
    assert subprocess.run([FACEUP, "serve", "--help"], capture_output=True).returncode == 0
    for args in (["--port", "70000"], ["--threads", "0"], ["--bogus"], ["extra"]):
        assert subprocess.run([FACEUP, "serve", *args], capture_output=True).returncode == 2
    r = subprocess.run([FACEUP, "serve", "--port", "0"], capture_output=True,
                       env=dict(os.environ, FACEUP_QUEUE="lots"))
    assert r.returncode == 2 and b"FACEUP_QUEUE" in r.stderr
