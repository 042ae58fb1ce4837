#!/usr/bin/env python3
"""Write the seed corpus of fuzz_metadata: small images of each format carrying EXIF (with an
Orientation and pixel dimensions), ICC, XMP and comments, and bare EXIF blocks in both byte
orders. Each seed starts with the byte fuzz_metadata.c reads as its plan.

Usage: .venv/bin/python fuzz/make_metadata_corpus.py  (writes fuzz/corpus/fuzz_metadata/)
"""
import io
from pathlib import Path

from PIL import Image, ImageCms, PngImagePlugin

OUT = Path(__file__).resolve().parent / "corpus" / "fuzz_metadata"
ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"/>'


def exif(orientation, w, h):
    ex = Image.Exif()
    ex[0x0112] = orientation
    ex[0x010F] = "seed"
    sub = ex.get_ifd(0x8769)
    sub[0xA002] = w
    sub[0xA003] = h
    return ex


def image(fmt, **kw):
    im = Image.new("RGB", (24, 16))
    for x in range(24):
        for y in range(16):
            im.putpixel((x, y), (x * 10, y * 15, (x * y) % 256))
    b = io.BytesIO()
    im.save(b, fmt, exif=exif(6, 24, 16), icc_profile=ICC, **kw)
    return b.getvalue()


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    info.add_text("Comment", "seed")
    seeds = {
        "jpeg": image("JPEG", quality=50, xmp=XMP, comment=b"seed"),
        "png": image("PNG", pnginfo=info),
        "webp_lossless": image("WEBP", lossless=True, xmp=XMP),
        "webp_lossy": image("WEBP", quality=50, xmp=XMP),
        "exif_le": exif(8, 24, 16).tobytes(),
        "exif_be": b"Exif\0\0MM\0*\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x03\0\0\0\0\0\0",
    }
    # plans: a quarter turn with the tag reset (9 = rot 1, reset), a transpose kept (5), stripping
    for name, data in seeds.items():
        for plan in (0x09 | 0x60, 0x0F | 0x60, 0x80 | 0x0A):
            (OUT / f"{name}_{plan:02x}").write_bytes(bytes([plan]) + data)


if __name__ == "__main__":
    main()
