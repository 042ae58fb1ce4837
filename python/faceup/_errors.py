"""The exceptions faceup raises: one class per library status code, all under faceup.Error.

Each also derives from the built-in exception a Python programmer would catch for it
(ValueError for a bad image or parameter, MemoryError, TypeError for an input faceup cannot
take), so `except ValueError` works as well as `except faceup.Error`.
"""
from __future__ import annotations


class Error(Exception):
    """Anything faceup refuses or fails at. `message` is the library's own message,
    "function(): what went wrong"; `status` the library's status code (negative)."""

    status: int = -8

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status

    def __str__(self) -> str:
        return self.message


class ArgumentError(Error, ValueError):
    """FACEUP_ERR_ARGUMENT: a parameter out of range, or pixels of an impossible size."""
    status = -1


class OutOfMemoryError(Error, MemoryError):
    """FACEUP_ERR_NOMEM: an allocation failed."""
    status = -2


class FormatError(Error, ValueError):
    """FACEUP_ERR_FORMAT: not an image faceup reads (JPEG, PNG, WebP, HEIC, AVIF); empty input too."""
    status = -3


class DecodeError(Error, ValueError):
    """FACEUP_ERR_DECODE: a known format, but damaged or truncated."""
    status = -4


class TooManyPixelsError(Error, ValueError):
    """FACEUP_ERR_TOO_MANY_PIXELS: width x height over max_pixels (read from the header)."""
    status = -5


class TooManyBytesError(Error, ValueError):
    """FACEUP_ERR_TOO_MANY_BYTES: the encoded input is over max_bytes."""
    status = -6


class EncodeError(Error):
    """FACEUP_ERR_ENCODE: writing the output image failed."""
    status = -7


class InternalError(Error):
    """FACEUP_ERR_INTERNAL: a bug in faceup; please report it."""
    status = -8


class BusyError(Error, RuntimeError):
    """One Detector used by two threads at once. Use a Detector per thread (the module-level
    functions keep one per thread)."""
    status = -9


class InputError(Error, TypeError):
    """An object faceup does not take as an image: a type it does not know, an array that is
    not uint8, or of a shape that is not H x W, H x W x 1, 3 or 4."""
    status = -1


BY_STATUS: dict[int, type[Error]] = {
    c.status: c for c in (ArgumentError, OutOfMemoryError, FormatError, DecodeError,
                          TooManyPixelsError, TooManyBytesError, EncodeError, InternalError,
                          BusyError)
}
