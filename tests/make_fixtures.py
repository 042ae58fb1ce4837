#!/usr/bin/env python3
"""Write the small images tests/test_image.c reads, and the fuzz seed corpus.

Every fixture is generated here from a formula; nothing comes from outside. Run from anywhere:

    .venv/bin/python tests/make_fixtures.py

For each NAME.(png|webp|jpg) whose pixels the C test compares, NAME.rgb holds the expected
8-bit RGB decode (width*height*3 bytes; the size comes from the image header):
  - PNG: computed here from the samples written, by the rules fu_image_decode promises
    (16 -> 8 bits keeps the high byte, alpha composited over black as (c*a + 127) // 255);
    cross-checked against Pillow where Pillow decodes the same way;
  - lossy formats: Pillow's decode (the C test allows a small difference).

orient_N.{jpg,png,webp} hold the upright pattern of pattern() stored turned so that a viewer
applying EXIF Orientation N shows it upright; this script checks that with Pillow's
ImageOps.exif_transpose, so the C test comparing its fu_image_apply_exif output with the same
pattern agrees with Pillow.
"""
import io
import os
import struct
import zlib

from PIL import Image, ImageOps

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "fixtures")
CORPUS = os.path.join(HERE, "..", "fuzz", "corpus")


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


# ---- the orientation pattern (test_image.c has the same formula) ---------------------------
PW, PH = 48, 32


def pattern_px(x, y):
    bx, by = x // 8, y // 8
    return (20 + 40 * bx, 30 + 60 * by, 10 * (bx + 6 * by) + 5)


def pattern():
    im = Image.new("RGB", (PW, PH))
    im.putdata([pattern_px(x, y) for y in range(PH) for x in range(PW)])
    return im


# What a viewer does for each orientation (Pillow's exif_transpose table), and its inverse,
# which turns the upright pattern into the stored image.
INVERSE = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,   # stored = upright turned 90 CCW; the viewer turns it back CW
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def max_diff(a, b):
    assert a.size == b.size, (a.size, b.size)
    return max(abs(p - q) for p, q in zip(a.tobytes(), b.tobytes()))


def make_orientation_fixtures():
    up = pattern()
    for o, t in INVERSE.items():
        stored = up if t is None else up.transpose(t)
        exif = Image.Exif()
        exif[0x0112] = o
        for ext, kw, tol in (("jpg", dict(quality=100, subsampling=0), 8),
                             ("png", {}, 0),
                             ("webp", dict(lossless=True, exact=True), 0)):
            buf = io.BytesIO()
            stored.save(buf, format={"jpg": "JPEG"}.get(ext, ext.upper()), exif=exif.tobytes(), **kw)
            data = buf.getvalue()
            shown = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
            assert max_diff(shown, up) <= tol, (o, ext)
            write(os.path.join(FIX, f"orient_{o}.{ext}"), data)


# ---- PNG written by hand: every colour type, depth and interlacing -------------------------
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
         (0, 1, 1, 2)]
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def pack_row(samples, depth):
    if depth == 16:
        return b"".join(struct.pack(">H", s) for s in samples)
    if depth == 8:
        return bytes(samples)
    out, acc, bits = bytearray(), 0, 0
    for s in samples:
        acc = acc << depth | s
        bits += depth
        if bits == 8:
            out.append(acc)
            acc, bits = 0, 0
    if bits:
        out.append(acc << (8 - bits))
    return bytes(out)


def png(w, h, ctype, depth, px, palette=None, trns=None, interlace=False):
    """px[y][x] is a tuple of samples (CHANNELS[ctype] of them)."""
    raw = bytearray()
    for x0, y0, dx, dy in (ADAM7 if interlace else [(0, 0, 1, 1)]):
        xs = range(x0, w, dx)
        if not xs:
            continue
        for y in range(y0, h, dy):
            raw.append(0)  # filter: none
            raw += pack_row([s for x in xs for s in px[y][x]], depth)
    out = b"\x89PNG\r\n\x1a\n"
    out += chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, int(interlace)))
    if palette:
        out += chunk(b"PLTE", b"".join(bytes(c) for c in palette))
    if trns is not None:
        out += chunk(b"tRNS", trns)
    out += chunk(b"IDAT", zlib.compress(bytes(raw), 9))
    out += chunk(b"IEND", b"")
    return out


def over_black(c, a):
    return (c * a + 127) // 255


def expected_rgb(w, h, ctype, depth, px, palette=None, trns_alpha=None, trns_key=None):
    out = bytearray()
    for y in range(h):
        for x in range(w):
            s = px[y][x]
            to8 = (lambda v: v >> 8) if depth == 16 else (lambda v: v * 255 // ((1 << depth) - 1))
            if ctype == 3:
                rgb, a = palette[s[0]], (trns_alpha[s[0]] if trns_alpha and s[0] < len(trns_alpha) else 255)
            elif ctype in (0, 4):
                g = to8(s[0])
                rgb, a = (g, g, g), (to8(s[1]) if ctype == 4 else 255)
                if trns_key is not None and s[0] == trns_key:
                    a = 0
            else:
                rgb = tuple(to8(v) for v in s[:3])
                a = to8(s[3]) if ctype == 6 else 255
                if trns_key is not None and tuple(s[:3]) == trns_key:
                    a = 0
            out += bytes(over_black(c, a) for c in rgb)
    return bytes(out)


def make_png_fixtures():
    w, h = 13, 11

    def grid(f):
        return [[f(x, y) for x in range(w)] for y in range(h)]

    rgb8 = grid(lambda x, y: ((x * 19 + y * 7) & 255, (x * 5 + y * 23) & 255, (x * y * 3) & 255))
    rgb16 = grid(lambda x, y: tuple((v << 8) | ((x * 31 + y) & 255) for v in rgb8[y][x]))
    rgba8 = grid(lambda x, y: rgb8[y][x] + (((x + y) * 20) & 255,))
    rgba16 = grid(lambda x, y: rgb16[y][x] + ((((x + y) * 20) & 255) << 8 | 0x7f,))
    gray8 = grid(lambda x, y: ((x * 17 + y * 11) & 255,))
    gray16 = grid(lambda x, y: ((x * 4000 + y * 1000) & 0xffff,))
    gray1 = grid(lambda x, y: ((x ^ y) & 1,))
    gray4 = grid(lambda x, y: ((x + y) & 15,))
    graya8 = grid(lambda x, y: gray8[y][x] + ((y * 25) & 255,))
    palette = [((i * 37) & 255, (i * 91) & 255, (255 - i * 13) & 255) for i in range(16)]
    pal8 = grid(lambda x, y: ((x + 2 * y) % 16,))
    pal_alpha = [(i * 17) & 255 for i in range(10)]  # shorter than the palette: the rest opaque

    cases = [
        ("rgb8", 2, 8, rgb8, {}, {}),
        ("rgb16", 2, 16, rgb16, {}, {}),
        ("rgba8", 6, 8, rgba8, {}, {}),
        ("rgba16", 6, 16, rgba16, {}, {}),
        ("gray8", 0, 8, gray8, {}, {}),
        ("gray16", 0, 16, gray16, {}, {}),
        ("gray1", 0, 1, gray1, {}, {}),
        ("gray4", 0, 4, gray4, {}, {}),
        ("graya8", 4, 8, graya8, {}, {}),
        ("pal8", 3, 8, pal8, dict(palette=palette), dict(palette=palette)),
        ("pal4_trns", 3, 4, pal8, dict(palette=palette, trns=bytes(pal_alpha)),
         dict(palette=palette, trns_alpha=pal_alpha)),
        ("rgb8_trns", 2, 8, rgb8, dict(trns=struct.pack(">HHH", *rgb8[3][4])),
         dict(trns_key=rgb8[3][4])),
        ("rgb8_adam7", 2, 8, rgb8, dict(interlace=True), {}),
        ("rgba16_adam7", 6, 16, rgba16, dict(interlace=True), {}),
        ("pal4_trns_adam7", 3, 4, pal8, dict(palette=palette, trns=bytes(pal_alpha), interlace=True),
         dict(palette=palette, trns_alpha=pal_alpha)),
    ]
    for name, ctype, depth, px, enc, dec in cases:
        data = png(w, h, ctype, depth, px, **enc)
        want = expected_rgb(w, h, ctype, depth, px, **dec)
        # Pillow decodes these the same way (16-bit grey it keeps as 16-bit, alpha it does not
        # composite): check it agrees where it should.
        if ctype in (0, 2, 3) and depth != 16 and "trns" not in name:
            assert Image.open(io.BytesIO(data)).convert("RGB").tobytes() == want, name
        write(os.path.join(FIX, name + ".png"), data)
        write(os.path.join(FIX, name + ".rgb"), want)

    # Wider than libpng's default user limit (1,000,000): only our pixel cap may refuse it.
    ww = 1000001
    data = png(ww, 1, 0, 8, [[(x & 255,) for x in range(ww)]])
    write(os.path.join(FIX, "wide.png"), data)


# ---- WebP and JPEG -----------------------------------------------------------------------
def photo_like(w, h, mode="RGB"):
    """Smooth gradients and a few edges: what lossy codecs are made for."""
    im = Image.new("RGB", (w, h))
    im.putdata([((x * 255) // (w - 1), (y * 255) // (h - 1),
                 128 + (60 if (x // 10 + y // 10) % 2 else -60)) for y in range(h) for x in range(w)])
    return im.convert(mode)


def save(im, fmt, name, **kw):
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    data = buf.getvalue()
    write(os.path.join(FIX, name), data)
    return data


def save_with_expected(im, fmt, name, **kw):
    data = save(im, fmt, name, **kw)
    dec = Image.open(io.BytesIO(data))
    if dec.mode == "RGBA":
        raw = dec.tobytes()
        want = bytes(over_black(raw[i + c], raw[i + 3]) for i in range(0, len(raw), 4) for c in range(3))
    else:
        want = dec.convert("RGB").tobytes()
    write(os.path.join(FIX, os.path.splitext(name)[0] + ".rgb"), want)


def make_lossy_fixtures():
    im = photo_like(40, 30)
    save_with_expected(im, "WEBP", "webp_lossy.webp", quality=80)
    save_with_expected(pattern(), "WEBP", "webp_lossless.webp", lossless=True)
    rgba = pattern().convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize((PW, PH)))
    save_with_expected(rgba, "WEBP", "webp_alpha.webp", lossless=True, exact=True)
    save_with_expected(im, "JPEG", "rgb420.jpg", quality=90)
    save_with_expected(im, "JPEG", "progressive.jpg", quality=90, progressive=True)
    save_with_expected(photo_like(40, 30, "L"), "JPEG", "gray.jpg", quality=90)
    save_with_expected(photo_like(40, 30, "CMYK"), "JPEG", "cmyk.jpg", quality=95)
    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 0, 255))]
    buf = io.BytesIO()
    frames[0].save(buf, format="WEBP", save_all=True, append_images=frames[1:], lossless=True)
    write(os.path.join(FIX, "animated.webp"), buf.getvalue())


# ---- fuzz seeds ---------------------------------------------------------------------------
def make_corpus():
    for name in ("orient_6.jpg", "orient_5.png", "orient_8.webp", "pal4_trns_adam7.png",
                 "rgba16.png", "gray.jpg", "cmyk.jpg", "progressive.jpg", "webp_lossy.webp",
                 "webp_alpha.webp"):
        with open(os.path.join(FIX, name), "rb") as f:
            write(os.path.join(CORPUS, "fuzz_image", name), f.read())
    for o in (1, 6, 8):
        exif = Image.Exif()
        exif[0x0112] = o
        exif[0x010F] = "faceup"  # Make: an ASCII entry beside the SHORT
        block = exif.tobytes()
        write(os.path.join(CORPUS, "fuzz_exif", f"exif_header_{o}.bin"), block)
        write(os.path.join(CORPUS, "fuzz_exif", f"tiff_bare_{o}.bin"), block[6:])


if __name__ == "__main__":
    make_orientation_fixtures()
    make_png_fixtures()
    make_lossy_fixtures()
    make_corpus()
