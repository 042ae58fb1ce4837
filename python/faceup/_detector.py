"""faceup.Detector: one library handle, its parameters, and the images it takes.

Inputs, and what the library gets:
  bytes, bytearray, memoryview   an encoded file (JPEG, PNG, WebP, HEIC, AVIF): faceup_detect
  str, os.PathLike               a file, read whole: faceup_detect, "file" set in the JSON
  numpy.ndarray (uint8)          H x W or H x W x 1 gray, H x W x 3 RGB, H x W x 4 RGBA, any
                                 strides: faceup_detect_pixels (rows passed in place when
                                 their pixels are packed, else copied in C)
  PIL.Image.Image                its pixels (modes RGB, L, RGBA as they are, others converted
                                 to RGB): faceup_detect_pixels. EXIF is not applied: use
                                 PIL.ImageOps.exif_transpose first, or pass the file.
numpy and Pillow are never imported here: an input is recognised as theirs only when the
caller has imported them already.
"""
from __future__ import annotations

import operator
import os
import stat
import sys
from numbers import Real
from typing import TYPE_CHECKING, Any, TypeVar, Union

from . import _faceup
from ._errors import BY_STATUS, ArgumentError, InputError, TooManyBytesError
from ._result import Action, FixResult, Format, Method, Result, Upright

if TYPE_CHECKING:
    import numpy
    import PIL.Image

_faceup._register_errors(BY_STATUS)

Encoded = Union[bytes, bytearray, memoryview]
PathLike = Union[str, "os.PathLike[str]"]
AnyImage = Union[Encoded, PathLike, "numpy.ndarray", "PIL.Image.Image"]
Pixels = Union["numpy.ndarray", "PIL.Image.Image"]
P = TypeVar("P", "numpy.ndarray", "PIL.Image.Image")

# faceup_pixel_format, faceup_format, faceup_fix_path (include/faceup.h)
_RGB, _RGBA, _GRAY = 0, 2, 4
_FORMATS = {"jpeg": 1, "png": 2, "webp": 3, "heic": 4, "avif": 5}
_FORMAT_NAMES: dict[int, Format] = {1: "jpeg", 2: "png", 3: "webp", 4: "heic", 5: "avif"}
_METHODS: tuple[Method, ...] = ("unchanged", "lossless", "reencoded_lossy")
# faceup_dropped: (flag, faceup_dropped_str)
_DROPPED = ((1, "mpf"), (2, "trailing_data"), (4, "exif_thumbnail"))
# keyword -> (faceup_param, kind); kinds are checked here, ranges by faceup_set_param
_PARAMS: dict[str, tuple[int, str]] = {
    "threads": (0, "int"), "max_pixels": (1, "int"), "max_bytes": (2, "int"),
    "min_confidence": (3, "real"), "keep_metadata": (4, "bool"), "output_format": (5, "format"),
    "face_threshold": (6, "real"), "detail": (7, "int"), "lossless_only": (8, "bool"),
    "max_memory": (9, "int"), "bake_exif": (10, "bool"),
}


def _param_value(name: str, kind: str, value: Any) -> float:
    try:
        if kind == "bool":
            if not isinstance(value, bool):
                raise TypeError
            return float(value)
        if kind == "format":
            if value is None:
                return 0.0
            return float(_FORMATS[value])
        if kind == "int":
            if isinstance(value, bool):
                raise TypeError
            return float(operator.index(value))
        if isinstance(value, bool) or not isinstance(value, Real):
            raise TypeError
        return float(value)
    except (TypeError, KeyError):
        want = {"bool": "True or False", "format": 'None, "jpeg", "png", "webp", "heic" or "avif"',
                "int": "an int", "real": "a number"}[kind]
        raise ArgumentError(f"faceup.Detector(): {name} wants {want}, not {value!r}") from None


class Detector:
    """One faceup handle: the options below, a workspace sized once and reused.

    A Detector is used by one thread at a time (a second thread calling it meanwhile gets
    faceup.BusyError); make one per thread. The library releases the GIL while it works, so
    threads with a Detector each run in parallel. The module functions faceup.detect(),
    faceup.fix() and faceup.upright() keep one Detector per thread for you.

    Keyword arguments (None: the library's default; each is validated by the library):
      threads         threads inside one call (default 1; answers never depend on it)
      max_pixels      largest width x height accepted, read from the header (100,000,000)
      max_bytes       largest encoded input in bytes (268,435,456)
      min_confidence  fix/upright turn only when confidence >= this (0.5)
      keep_metadata   fix keeps EXIF/ICC/XMP/comments (True)
      output_format   fix writes "jpeg", "png", "webp", "heic" or "avif"; None keeps the input's format
      face_threshold  lowest detector score listed as a face (0.5)
      detail          longest side in pixels of the finest face search, 192..16384 (640)
      lossless_only   fix never re-encodes: what needs it is handed back unchanged, with
                      reencode_refused set (`faceup fix --lossless-only`) (False)
      max_memory      most bytes one call may hold for an image's pixels, estimated from the
                      header before decoding; over it is TooManyPixelsError (1 GiB)
      bake_exif       fix bakes the EXIF Orientation of an image upright as displayed into
                      its pixels (`faceup fix --exif bake`); False keeps it as it is (False)

    Raises faceup.ArgumentError for a value of the wrong type or out of range.
    """

    __slots__ = ("_h",)

    def __init__(self, *, threads: int | None = None, max_pixels: int | None = None,
                 max_bytes: int | None = None, min_confidence: float | None = None,
                 keep_metadata: bool | None = None, output_format: str | None = None,
                 face_threshold: float | None = None, detail: int | None = None,
                 lossless_only: bool | None = None, max_memory: int | None = None,
                 bake_exif: bool | None = None) -> None:
        self._h = _faceup.Handle()
        given = {"threads": threads, "max_pixels": max_pixels, "max_bytes": max_bytes,
                 "min_confidence": min_confidence, "keep_metadata": keep_metadata,
                 "face_threshold": face_threshold, "detail": detail,
                 "lossless_only": lossless_only, "max_memory": max_memory,
                 "bake_exif": bake_exif}
        self._set(**{k: v for k, v in given.items() if v is not None})
        if output_format is not None:
            self._set(output_format=output_format)

    def _set(self, **params: Any) -> None:
        for name, value in params.items():
            param, kind = _PARAMS[name]
            v = _param_value(name, kind, value)
            try:
                self._h.set_param(param, v)
            except ArgumentError as e:
                raise ArgumentError(f"faceup.Detector(): {name}={value!r}: {e.message}") from None

    @property
    def params(self) -> dict[str, Any]:
        """The handle's options as the library holds them."""
        out: dict[str, Any] = {}
        for name, (param, kind) in _PARAMS.items():
            v = self._h.get_param(param)
            out[name] = (bool(v) if kind == "bool" else _FORMAT_NAMES.get(int(v))
                         if kind == "format" else int(v) if kind == "int" else v)
        return out

    def __repr__(self) -> str:
        return "faceup.Detector(" + ", ".join(f"{k}={v!r}" for k, v in self.params.items()) + ")"

    # ---- the three calls -----------------------------------------------------------------

    def detect(self, image: AnyImage) -> Result:
        """Decide how `image` is turned (see the module docstring for the inputs taken).

        Raises faceup.FormatError / DecodeError for what is not a readable image (empty or
        truncated bytes among them), TooManyPixelsError / TooManyBytesError over the limits,
        InputError for an object that is not an image faceup takes, OSError when a path
        cannot be read.
        """
        return Result._from_json(self._detect(image)[0])

    def fix(self, data: Encoded | PathLike) -> FixResult:
        """Hand an encoded image back upright, as `faceup fix` does (faceup_fix): one lossless
        transform when the format allows, EXIF Orientation folded in and reset, metadata kept
        (keep_metadata), nothing turned when undecided or under min_confidence.
        `data` is bytes-like, or a path. Raises as detect()."""
        return self._fix(data, -1)

    def fix_orientation(self, data: Encoded | PathLike, orientation: int) -> FixResult:
        """fix() when you know the answer (faceup_fix_orientation, `faceup fix --orientation`):
        the displayed image is of `orientation` (0, 90, 180 or 270) clockwise and is rotated
        back counter-clockwise by it, by the same path and options as fix() (min_confidence
        aside); the detector is not run, and `result` reports that orientation with
        confidence 1 and no faces. Raises faceup.ArgumentError for another orientation."""
        if isinstance(orientation, bool) or not isinstance(orientation, int) or \
                orientation not in (0, 90, 180, 270):
            raise ArgumentError("faceup.fix_orientation(): orientation must be 0, 90, 180 or "
                                f"270, not {orientation!r}")
        return self._fix(data, orientation)

    def _fix(self, data: Encoded | PathLike, orientation: int) -> FixResult:
        buf, file = self._encoded(data)
        if buf is None:
            raise InputError("faceup.fix(): takes an encoded image (bytes-like) or a path, "
                             f"not {type(data).__name__}")
        out, fmt, text, rotated, exif, path, confidence, dropped, refused = \
            self._h.fix(buf, file, orientation)
        result = Result._from_json(text)
        min_conf = self._h.get_param(_PARAMS["min_confidence"][0])
        # as `faceup fix` says it: a change of format or of metadata alone is no rotation
        changed = path != 0
        action: Action = ("needs_reencode" if refused else "rotated" if changed and rotated
                          else "exif_baked"
                          if changed and exif > 1 else "undecided"
                          if result.orientation is None or confidence < min_conf else "upright")
        return FixResult(data=out, format=_FORMAT_NAMES[fmt], result=result,
                         rotated_ccw=(360 - rotated) % 360,
                         exif_baked=exif if exif > 1 else None, method=_METHODS[path],
                         action=action, reencode_refused=bool(refused),
                         dropped=tuple(name for flag, name in _DROPPED if dropped & flag))

    def upright(self, image: P) -> Upright[P]:
        """Pixels in, pixels out: `image` (a numpy array or a PIL image, as detect() takes
        them) turned upright when faceup decided with confidence >= min_confidence, else the
        same object back. For encoded files use fix(), which turns them without loss."""
        text, confidence = self._detect(image, pixels_only=True)
        result = Result._from_json(text)
        min_conf = self._h.get_param(_PARAMS["min_confidence"][0])
        turn = result.orientation if result.orientation and confidence >= min_conf else 0
        if not turn:
            return Upright(image=image, rotated_ccw=0, result=result)
        np = sys.modules.get("numpy")
        if np is not None and isinstance(image, np.ndarray):
            # counter-clockwise by `turn` on the first two axes: upright
            out: Any = np.ascontiguousarray(np.rot90(image, k=turn // 90))
        else:
            pil = sys.modules["PIL.Image"]
            out = image.transpose({90: pil.Transpose.ROTATE_90, 180: pil.Transpose.ROTATE_180,
                                   270: pil.Transpose.ROTATE_270}[turn])
        return Upright(image=out, rotated_ccw=turn, result=result)

    # ---- inputs --------------------------------------------------------------------------

    def _encoded(self, image: Any) -> tuple[Any, bytes | None]:
        """(buffer, file) for bytes-like or path inputs; (None, None) for anything else."""
        if isinstance(image, (bytes, bytearray, memoryview)):
            if isinstance(image, memoryview) and not image.contiguous:
                raise InputError("faceup: an encoded image must be a contiguous buffer")
            return image, None
        if isinstance(image, (str, os.PathLike)):
            path = os.fspath(image)
            return self._read(path), os.fsencode(path)
        return None, None

    def _read(self, path: str | bytes) -> bytes:
        limit = int(self._h.get_param(_PARAMS["max_bytes"][0]))
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            if stat.S_ISREG(st.st_mode) and st.st_size > limit:
                raise TooManyBytesError(f"{os.fsdecode(path)}: file is {st.st_size} bytes, over "
                                        f"the limit of {limit}")
            return f.read(limit + 1)

    def _detect(self, image: Any, pixels_only: bool = False) -> tuple[str, float]:
        np = sys.modules.get("numpy")
        if np is not None and isinstance(image, np.ndarray):
            return self._h.detect_pixels(image, _array_format(image))
        pil = sys.modules.get("PIL.Image")
        if pil is not None and isinstance(image, pil.Image):
            return self._h.detect_pixels(*_pil_pixels(image))
        if not pixels_only:
            buf, file = self._encoded(image)
            if buf is not None:
                return self._h.detect(buf, file)
        want = ("a numpy array or a PIL image" if pixels_only else
                "bytes, bytearray, memoryview, a path, a numpy array or a PIL image")
        raise InputError(f"faceup: takes {want}, not {type(image).__name__}")


def _array_format(a: numpy.ndarray) -> int:
    if a.dtype.kind != "u" or a.dtype.itemsize != 1:
        raise InputError(f"faceup: pixels must be uint8, not {a.dtype}")
    if a.ndim == 2 or (a.ndim == 3 and a.shape[2] == 1):
        return _GRAY
    if a.ndim == 3 and a.shape[2] in (3, 4):
        return _RGB if a.shape[2] == 3 else _RGBA
    raise InputError(f"faceup: pixels of shape {a.shape}: want H x W, or H x W x 1, 3 or 4 "
                     "(RGB, RGBA)")


def _pil_pixels(im: PIL.Image.Image) -> tuple[memoryview, int]:
    if im.mode not in ("RGB", "L", "RGBA"):
        im = im.convert("RGB")
    fmt, ch = {"RGB": (_RGB, 3), "L": (_GRAY, 1), "RGBA": (_RGBA, 4)}[im.mode]
    w, h = im.size
    if w == 0 or h == 0:
        raise ArgumentError(f"faceup: a {w} x {h} image has no pixels")
    shape = (h, w) if ch == 1 else (h, w, ch)
    return memoryview(im.tobytes()).cast("B", shape), fmt
