"""faceup: decide from the pixels how a face photo is turned (0/90/180/270), and hand it back
upright without loss.

    import faceup

    r = faceup.detect("photo.jpg")        # or bytes, a numpy array, a PIL image
    r.orientation, r.confidence           # 90, 0.999   (None: undecided)
    r.to_dict()                           # the line `faceup detect --json` prints

    fixed = faceup.fix(open("photo.jpg", "rb").read(), min_confidence=0.9)
    fixed.data, fixed.rotated_ccw, fixed.method  # upright bytes, 90, "lossless"
    faceup.fix(data, lossless_only=True).reencode_refused  # True: it needed a re-encode
    faceup.fix_orientation(data, 90)      # you know the answer: no detection

    up = faceup.upright(array)            # pixels in, pixels out
    up.image, up.rotated_ccw, up.result

`orientation` is the clockwise angle by which the upright picture was turned to give the
image as displayed (EXIF Orientation applied first); turning it counter-clockwise by that
angle makes it upright: an image of orientation 90 (clockwise) is fixed by a rotation of 90
counter-clockwise, `rotated_ccw`, the words of `faceup fix`. The work is done by libfaceup, linked into this package with its
weights embedded: no network, no model files. The GIL is released while it works.

The module functions keep one Detector per thread. For other options, or to hold a handle
yourself, make a faceup.Detector (one per thread). Ray Data: faceup.ray and `faceup-ray`.
"""
from __future__ import annotations

import threading

from . import _faceup
from ._detector import AnyImage, Detector, Encoded, P, PathLike, Pixels
from ._errors import (ArgumentError, BusyError, DecodeError, EncodeError, Error, FormatError,
                      InputError, InternalError, OutOfMemoryError, TooManyBytesError,
                      TooManyPixelsError)
from ._result import Face, FixResult, Result, Upright

__version__: str = _faceup.LIBRARY_VERSION
LIBRARY_VERSION: str = _faceup.LIBRARY_VERSION
"""libfaceup's version, "MAJOR.MINOR.PATCH" (the package has the same)."""
MODEL_NAME: str = _faceup.MODEL_NAME
"""The embedded face detector, "face_detection_yunet_2023mar.onnx"."""
MODEL_SHA256: str = _faceup.MODEL_SHA256
"""SHA-256 of the ONNX file the embedded weights were converted from."""

__all__ = [
    "detect", "fix", "fix_orientation", "upright", "Detector", "Result", "Face", "FixResult",
    "Upright",
    "Error", "ArgumentError", "OutOfMemoryError", "FormatError", "DecodeError",
    "TooManyPixelsError", "TooManyBytesError", "EncodeError", "InternalError", "BusyError",
    "InputError", "AnyImage", "Encoded", "PathLike", "Pixels",
    "LIBRARY_VERSION", "MODEL_NAME", "MODEL_SHA256",
]

_local = threading.local()


def _detector() -> Detector:
    """This thread's own Detector, made on first use."""
    d = getattr(_local, "detector", None)
    if d is None:
        d = _local.detector = Detector()
    return d


def detect(image: AnyImage) -> Result:
    """How `image` is turned: bytes/bytearray/memoryview of an encoded JPEG, PNG, WebP, HEIC or AVIF; a
    path; a uint8 numpy array (H x W gray, H x W x 3 RGB, H x W x 4 RGBA, any strides); or a
    PIL image. Raises a faceup.Error subclass for what it cannot read (see Detector.detect)."""
    return _detector().detect(image)


def fix(data: Encoded | PathLike, *, min_confidence: float = 0.5, keep_metadata: bool = True,
        output_format: str | None = None, bake_exif: bool = False,
        lossless_only: bool = False) -> FixResult:
    """The encoded image `data` (bytes-like, or a path) handed back upright, as `faceup fix`
    does it: rotated only when decided with confidence >= min_confidence, losslessly where the
    format allows, EXIF Orientation baked in and reset to 1, metadata kept unless
    keep_metadata=False, in the input's format unless output_format ("jpeg", "png", "webp",
    "heic", "avif").
    An image upright as displayed keeps its EXIF Orientation unless bake_exif=True. With
    lossless_only=True nothing is re-encoded: what needs it comes back unchanged, with
    reencode_refused set."""
    d = _detector()
    d._set(min_confidence=min_confidence, keep_metadata=keep_metadata,
           output_format=output_format, bake_exif=bake_exif, lossless_only=lossless_only)
    return d.fix(data)


def fix_orientation(data: Encoded | PathLike, orientation: int, *, keep_metadata: bool = True,
                    output_format: str | None = None, bake_exif: bool = False,
                    lossless_only: bool = False) -> FixResult:
    """fix() when you know the answer: `data` as displayed is of `orientation` (0, 90, 180 or
    270) clockwise, and is rotated back counter-clockwise by it without running the detector
    (faceup_fix_orientation, `faceup fix --orientation`)."""
    d = _detector()
    d._set(keep_metadata=keep_metadata, output_format=output_format, bake_exif=bake_exif,
           lossless_only=lossless_only)
    return d.fix_orientation(data, orientation)


def upright(image: P, *, min_confidence: float = 0.5) -> Upright[P]:
    """Pixels in, pixels out: a numpy array or PIL image turned upright when faceup decided
    with confidence >= min_confidence (else the same object), with the decision."""
    d = _detector()
    d._set(min_confidence=min_confidence)
    return d.upright(image)
