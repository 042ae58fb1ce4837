"""Decompression bombs, made at run time: small files that decode to huge images.

Used by tests/test_memory.py and bench/bench_memory.py, with the two ways they measure: run_rss
(a command's peak RSS) and Server (`faceup serve`'s, once stopped). Each writer streams, so making a bomb
never holds its decoded pixels: PNG rows go through zlib one at a time, the WebP is written bit
by bit, and only the JPEG (which needs an encoder) is made with Pillow, at the size asked.
"""
import http.client
import os
import re
import signal
import struct
import subprocess
import sys
import tempfile
import time
import zlib


def _chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(path, width, height, depth=8, colour=2, interlace=0, level=9):
    """A uniform black PNG (colour type 2 RGB, 6 RGBA, ...) of width x height, not interlaced
    unless asked (Adam7 rows of a uniform image are just shorter rows of zeros)."""
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour]
    row = b"\0" * (1 + (width * channels * depth + 7) // 8)
    z = zlib.compressobj(level)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0,
                                            interlace)))
        if colour == 3:
            f.write(_chunk(b"PLTE", b"\0\0\0"))
        # Adam7 has more rows (one filter byte each) than the image: write enough zeros for
        # every pass; libpng ignores nothing, so count them exactly
        rows = height if not interlace else _adam7_rows(width, height, channels, depth)
        pending = b""
        for r in rows if interlace else range(rows):
            pending += z.compress(r if interlace else row)
            if len(pending) > 1 << 16:
                f.write(_chunk(b"IDAT", pending))
                pending = b""
        pending += z.flush()
        f.write(_chunk(b"IDAT", pending))
        f.write(_chunk(b"IEND", b""))
    return path


def _adam7_rows(width, height, channels, depth):
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
              (0, 1, 1, 2)]
    for x0, y0, dx, dy in passes:
        cols = (width - x0 + dx - 1) // dx if width > x0 else 0
        n = (height - y0 + dy - 1) // dy if height > y0 else 0
        if cols and n:
            row = b"\0" * (1 + (cols * channels * depth + 7) // 8)
            for _ in range(n):
                yield row


class _Bits:
    def __init__(self):
        self.value, self.n = 0, 0

    def put(self, v, bits):
        self.value |= v << self.n
        self.n += bits

    def bytes(self):
        return self.value.to_bytes((self.n + 7) // 8, "little")


def webp_lossless(path, width, height):
    """A lossless WebP (VP8L) of one opaque black colour: every prefix code has one symbol, so
    the pixels cost no bits at all and the file is a few dozen bytes whatever its size."""
    b = _Bits()
    b.put(width - 1, 14)
    b.put(height - 1, 14)
    b.put(0, 1)   # alpha_is_used
    b.put(0, 3)   # version
    b.put(0, 1)   # no transform
    b.put(0, 1)   # no colour cache
    b.put(0, 1)   # no meta prefix codes
    for symbol in (0, 0, 0, 255, 0):   # green, red, blue, alpha, distance
        b.put(1, 1)                    # a simple code
        b.put(0, 1)                    # of one symbol
        if symbol < 2:
            b.put(0, 1)                # in 1 bit
            b.put(symbol, 1)
        else:
            b.put(1, 1)                # in 8 bits
            b.put(symbol, 8)
    payload = b"\x2f" + b.bytes()
    if len(payload) % 2:
        payload += b"\0"
    body = b"WEBP" + b"VP8L" + struct.pack("<I", len(payload) - (len(payload) % 2)) + payload
    with open(path, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


def jpeg_progressive(path, width, height):
    """A progressive 4:4:4 JPEG of mid grey (Pillow's encoder holds it while encoding)."""
    from PIL import Image
    Image.new("RGB", (width, height), (128, 128, 128)).save(
        path, "JPEG", progressive=True, subsampling=0, quality=90)
    return path


# A fresh interpreter that runs the command as its own child: the peak RSS a child reports
# (ru_maxrss) starts from its parent's RSS at fork and survives exec, so the command must be
# forked from a small process, not from the test's Python with its images.
TRAMPOLINE = """
import os, sys
import signal
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
signal.signal(signal.SIGTERM, lambda *_: os.kill(pid, signal.SIGTERM))
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as f:
    f.write(str(usage.ru_maxrss * 1024))
sys.exit(os.waitstatus_to_exitcode(status) & 0xFF)
"""


def run_rss(cmd, timeout=300, env=None):
    """Run cmd: (exit status, stdout, stderr, its peak RSS in bytes). Killed after `timeout`
    seconds (TimeoutExpired)."""
    with tempfile.NamedTemporaryFile("r") as rss:
        p = subprocess.run([sys.executable, "-S", "-c", TRAMPOLINE, rss.name, *cmd],
                           capture_output=True, text=True, timeout=timeout, env=env)
        return p.returncode, p.stdout, p.stderr, int(rss.read() or 0)


class Server:
    """`faceup serve --port 0 ...` on loopback, run by the trampoline so that its peak RSS is
    known once it stops."""

    def __init__(self, faceup, tmp_path, *args):
        self.rss = tmp_path / "rss"
        self.log_path = tmp_path / "serve.log"
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-S", "-c", TRAMPOLINE, str(self.rss), faceup, "serve",
             "--port", "0", *args], stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.monotonic() + 60
        self.port = None
        while time.monotonic() < deadline and self.proc.poll() is None:
            m = re.search(rb"ready: .*max memory", self.log_path.read_bytes())
            p = re.search(rb"listening on http://127\.0\.0\.1:(\d+)", self.log_path.read_bytes())
            if m and p:
                self.port = int(p.group(1))
                return
            time.sleep(0.05)
        self.log.close()
        raise AssertionError("never ready:\n" + self.log_path.read_text())

    def post(self, path, body, timeout=120):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request("POST", path, body=body, headers={"Content-Type": "image/png"})
            r = c.getresponse()
            return r.status, dict(r.getheaders()), r.read()
        finally:
            c.close()

    def stop(self):
        """SIGTERM; the peak RSS in bytes."""
        self.proc.send_signal(signal.SIGTERM)  # the trampoline passes it on
        try:
            self.proc.wait(60)
        finally:
            self.log.close()
        return int(self.rss.read_text() or 0)
