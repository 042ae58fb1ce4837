"""Memory is budgeted by decoded pixels, not bytes: decompression bombs on the CLI.

The bombs (tests/bombs.py) are made here: a few hundred bytes to a megabyte that decode to
10^7..10^8 pixels. Peak RSS is the child's own (wait4), with margins wide enough that the
detector's networks (~50 MB) and the allocator cannot make it flake: each bound is well under
what the same command took before the change (in the comments)."""
import concurrent.futures
import os
import struct

import pytest

import bombs

BUILD = os.environ.get("FACEUP_BUILD", "build")
FACEUP = os.path.join(BUILD, "faceup")
MB = 1 << 20


def faceup(*args):
    return bombs.run_rss([FACEUP, *args], timeout=120)


@pytest.mark.parametrize("kind", ["rgba16", "rgb8"])
def test_detect_reads_png_bombs_row_by_row(tmp_path, kind):
    # 6900x6900 RGBA 16-bit (was 253 MB) and 10000x10000 RGB (was 369 MB): reduced while read
    if kind == "rgba16":
        path = bombs.png(str(tmp_path / "b.png"), 6900, 6900, depth=16, colour=6)
    else:
        path = bombs.png(str(tmp_path / "b.png"), 10000, 10000)
    rc, out, err, rss = faceup("detect", "--json", path)
    assert rc == 0, err
    assert '"orientation":null' in out.replace(" ", "")
    assert rss < 150 * MB, f"peak RSS {rss / MB:.0f} MB"


def test_lossless_webp_bomb_is_refused_over_the_budget_before_decoding(tmp_path):
    # 30 bytes, 10000x10000: libwebp holds it whole as ARGB (400 MB) whatever the output size
    path = bombs.webp_lossless(str(tmp_path / "b.webp"), 10000, 10000)
    assert os.path.getsize(path) < 64
    rc, out, err, rss = faceup("detect", "--max-memory", str(256 * MB), path)
    assert rc == 1
    assert "10000x10000 image needs about" in err   # the table's errors go to stderr
    assert "over the memory limit of 268435456 bytes (max_memory)" in err
    assert rss < 150 * MB, f"peak RSS {rss / MB:.0f} MB"


def test_progressive_jpeg_counts_its_coefficients(tmp_path):
    # 4000x4000 4:4:4: libjpeg holds 500x500 blocks x 3 components x 128 bytes = 96 MB
    path = bombs.jpeg_progressive(str(tmp_path / "p.jpg"), 4000, 4000)
    rc, out, err, rss = faceup("detect", "--max-memory", str(64 * MB), path)
    assert rc == 1
    assert "over the memory limit of 67108864 bytes" in err
    assert rss < 100 * MB
    rc, out, err, rss = faceup("detect", "--max-memory", str(160 * MB), path)
    assert rc == 0, out + err
    assert rss > 96 * MB  # the estimate is not pessimistic for nothing


def png_ihdr(path):
    with open(path, "rb") as f:
        head = f.read(29)
    return struct.unpack(">IIBB", head[16:26])


def test_fix_turns_a_16_bit_png_from_one_copy(tmp_path):
    # 4000x3000 RGBA 16-bit: one copy is 96 MB; the turn used to hold two (and more)
    src = bombs.png(str(tmp_path / "b.png"), 4000, 3000, depth=16, colour=6)
    before = open(src, "rb").read()
    out = tmp_path / "out"
    out.mkdir()
    rc, so, err, rss = faceup("fix", "--orientation", "90", "-o", str(out), src)
    assert rc == 0, so + err
    assert png_ihdr(out / "b.png") == (3000, 4000, 16, 6)  # turned, never widened
    one_copy = 4000 * 3000 * 8  # told the turn: no detector, no networks
    assert rss <= 1.2 * one_copy + 32 * MB, f"peak RSS {rss / MB:.0f} MB"  # was 189 MB
    # and over a budget it is refused, nothing written, the input untouched
    (out / "b.png").unlink()
    rc, so, err, rss = faceup("fix", "--orientation", "90", "--max-memory", str(64 * MB),
                              "-o", str(out), src)
    assert rc == 1
    assert "over the memory limit of 67108864 bytes (max_memory)" in so + err
    assert list(out.iterdir()) == []
    assert open(src, "rb").read() == before


def test_max_memory_wants_a_number_of_bytes():
    for cmd in ("detect", "fix"):
        rc, out, err, _ = faceup(cmd, "--max-memory", "1000", "x.png")
        assert rc == 2
        assert "--max-memory wants a number of bytes, at least 1048576" in err


# ---- faceup serve: one memory budget for every request ------------------------------------------

def test_serve_reserves_each_image_from_one_budget(tmp_path):
    # 4000x4000 RGBA 16-bit, turned: each fix holds ~130 MB; a budget of 320 MB takes two
    src = bombs.png(str(tmp_path / "b.png"), 4000, 4000, depth=16, colour=6)
    body = open(src, "rb").read()
    srv = bombs.Server(FACEUP, tmp_path, "--threads", "4", "--max-memory", str(320 * MB), "--queue", "16")
    try:
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda _: srv.post("/v1/fix?orientation=90", body), range(4)))
        statuses = sorted(a[0] for a in answers)
        assert set(statuses) <= {200, 503}, statuses
        assert statuses.count(200) >= 1 and statuses.count(503) >= 1, statuses
        for status, headers, payload in answers:
            if status == 503:
                assert headers.get("Retry-After") == "1"
                assert b"memory budget" in payload
            else:
                assert png_ihdr_bytes(payload) == (4000, 4000, 16, 6)
        # once they are done the budget is whole again: one at a time all pass
        assert srv.post("/v1/fix?orientation=90", body)[0] == 200
        # and an image over the whole budget can never fit: 422, not 503
        big = open(bombs.png(str(tmp_path / "big.png"), 7000, 7000, depth=16, colour=6),
                   "rb").read()
        status, _, payload = srv.post("/v1/fix?orientation=90", big)
        assert status == 422 and b"max_memory" in payload
    finally:
        rss = srv.stop()
    # two fixes at once, the four workers' networks, the bodies: nowhere near four fixes
    assert rss < 320 * MB + 200 * MB, f"peak RSS {rss / MB:.0f} MB"


def png_ihdr_bytes(data):
    return struct.unpack(">IIBB", data[16:26])
