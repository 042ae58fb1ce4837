"""What faceup answers: Result (with its Faces), FixResult and Upright.

A Result is built from the library's own JSON of the decision (faceup_result_json, the line
`faceup detect --json` prints), so its fields carry exactly the values the CLI shows, and
`to_dict()` is that line parsed.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

Orientation = Literal[0, 90, 180, 270]
Method = Literal["unchanged", "lossless", "reencoded_lossy"]
FixPath = Literal["unchanged", "lossless", "reencoded"]
Action = Literal["rotated", "exif_baked", "upright", "undecided", "needs_reencode"]
Format = Literal["jpeg", "png", "webp", "heic", "avif"]


@dataclass(frozen=True, slots=True)
class Face:
    """One face, in pixels of the image as displayed (EXIF applied, before any turn)."""

    box: tuple[float, float, float, float]
    """x, y of the top-left corner, width, height."""
    score: float
    """Detector score in [0, 1] in the face's best turn."""
    landmarks: tuple[tuple[float, float], ...]
    """(x, y) of the right eye, left eye, nose tip, right and left mouth corners (the person's
    right and left)."""
    orientation: Orientation | None
    """This face's own turn, or None when undecided."""
    confidence: float
    """This face's own confidence in [0, 1]."""
    roll: float
    """Residual roll of the eye line in degrees once the face is upright; clockwise positive."""
    turn_scores: tuple[float, float, float, float]
    """Detector score in the image turned back by 0, 90, 180, 270 degrees."""
    turn_probs: tuple[float, float, float, float]
    """Classifier probability that the face is turned 0, 90, 180, 270 degrees."""

    @classmethod
    def _from_json(cls, d: dict[str, Any]) -> Face:
        return cls(box=tuple(d["box"]), score=d["score"],
                   landmarks=tuple(tuple(p) for p in d["landmarks"]),
                   orientation=d["orientation"], confidence=d["confidence"], roll=d["roll"],
                   turn_scores=tuple(d["turn_scores"]), turn_probs=tuple(d["turn_probs"]))


@dataclass(frozen=True, slots=True)
class Result:
    """How an image is turned.

    `orientation` is the clockwise angle by which the upright picture was turned to give the
    image as displayed (after its EXIF Orientation, which is applied first and reported), or
    None: no face, or evidence too weak. Turning the image counter-clockwise by `orientation`
    makes it upright.
    """

    orientation: Orientation | None
    confidence: float
    """Probability in [0, 1] that `orientation` is right (capped at 0.999); 0 when undecided."""
    faces: tuple[Face, ...]
    """Most confident first."""
    exif_orientation: int | None
    """The EXIF Orientation tag found (1..8); None when absent (and always for pixels)."""
    faces_disagree: bool
    """True when decided faces point different ways (the weighted majority is kept)."""
    width: int
    height: int
    file: str | None = None
    """The path the image was read from, when it was given as a path."""
    _json: str = field(default="", repr=False, compare=False)

    @classmethod
    def _from_json(cls, text: str) -> Result:
        d = json.loads(text)
        return cls(orientation=d["orientation"], confidence=d["confidence"],
                   faces=tuple(Face._from_json(f) for f in d["faces"]),
                   exif_orientation=d["exif_orientation"], faces_disagree=d["faces_disagree"],
                   width=d["width"], height=d["height"], file=d.get("file"), _json=text)

    @property
    def decided(self) -> bool:
        """True when faceup decided an orientation."""
        return self.orientation is not None

    def to_dict(self) -> dict[str, Any]:
        """The object `faceup detect --json` prints for this image (a new dict each call).
        It has a "file" key only when the image was given as a path."""
        d: dict[str, Any] = json.loads(self._json)
        return d

    def to_json(self) -> str:
        """The line `faceup detect --json` prints for this image."""
        return self._json


@dataclass(frozen=True, slots=True)
class FixResult:
    """An image handed back upright by faceup.fix() (faceup_fix, as `faceup fix` does it)."""

    data: bytes
    """The upright encoded image; the input byte for byte when `method` is "unchanged"."""
    format: Format
    result: Result
    """The decision, as faceup.detect() gives it."""
    rotated_ccw: int
    """Counter-clockwise rotation applied to the displayed image: 0, 90, 180 or 270. An image
    of orientation N clockwise is rotated N counter-clockwise (`faceup fix --json` rotated_ccw)."""
    exif_baked: int | None
    """The EXIF Orientation (2..8) baked into the pixels by the same transform (the tag then
    set to 1), None if none."""
    method: Method
    """How: "unchanged", "lossless" (DCT-domain JPEG rotation, exact PNG/WebP rotation, or only
    the EXIF tag reset) or "reencoded_lossy" (decoded and encoded again)."""
    action: Action
    """What `faceup fix` reports: "rotated", "exif_baked" (only the EXIF Orientation baked
    in), "needs_reencode" (lossless_only refused the re-encode it needed), else "undecided"
    (no decision, or one under min_confidence) or "upright"."""
    reencode_refused: bool = False
    """True when the fix needed a re-encode and lossless_only refused it: `data` is then the
    input byte for byte, rotated_ccw 0, and `result` says what the rotation would have been."""
    dropped: tuple[str, ...] = ()
    """What the input carried and `data` does not (`faceup fix --json` dropped): "mpf" (the
    MPF index of a multi-picture JPEG), "trailing_data" (the data after its picture: the
    secondary images, such as an HDR gain map, which would not be rotated with it),
    "exif_thumbnail" (removed when the pixels were rotated: it would show unrotated)."""

    @property
    def changed(self) -> bool:
        """False when the input was handed back as it is (method "unchanged")."""
        return self.method != "unchanged"

    @property
    def rotated(self) -> int:
        """Deprecated (use rotated_ccw): the same rotation as a clockwise angle."""
        return (360 - self.rotated_ccw) % 360

    @property
    def exif_transform(self) -> int | None:
        """Deprecated (use exif_baked): the same."""
        return self.exif_baked

    @property
    def path(self) -> FixPath:
        """Deprecated (use method): the same, with "reencoded" for "reencoded_lossy"."""
        return "reencoded" if self.method == "reencoded_lossy" else self.method


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Upright(Generic[T]):
    """What faceup.upright() returns: the pixels upright, and the decision."""

    image: T
    """The upright pixels, of the input's type (a new C-contiguous array, or a new PIL image);
    the input object itself when nothing is turned."""
    rotated_ccw: int
    """Counter-clockwise rotation applied to the input: 0, 90, 180 or 270 (the orientation,
    when it was rotated; as FixResult.rotated_ccw)."""
    result: Result

    @property
    def rotated(self) -> int:
        """Deprecated (use rotated_ccw): the same rotation as a clockwise angle."""
        return (360 - self.rotated_ccw) % 360
