"""faceup on Ray Data: callable classes for Dataset.map_batches that keep one faceup.Detector per
actor (so the model's workspace is sized once per worker, not per batch).

    import ray, faceup.ray

    ds = ray.data.read_binary_files("photos/", include_paths=True)      # column "bytes"
    ds = ds.map_batches(faceup.ray.Detect, batch_size=16,
                        compute=ray.data.ActorPoolStrategy(size=8))
    ds.select_columns(["path", "orientation", "confidence"]).write_parquet("decisions/")

    ds = ray.data.read_images("photos/", mode="RGB")                     # column "image"
    ds = ds.map_batches(faceup.ray.Detect, batch_size=16, compute=...)

    fixed = ray.data.read_binary_files("photos/", include_paths=True).map_batches(
        faceup.ray.Fix, fn_constructor_kwargs={"min_confidence": 0.9}, batch_size=16,
        compute=ray.data.ActorPoolStrategy(size=8))                      # column "upright"

The image is taken from the first of these columns the batch has (or the one named by
`column=`): "bytes" (encoded files: read_binary_files), "image" (uint8 pixel arrays:
read_images, from_numpy), "path" (files read by the worker, which must see them).

Both return the batch with its columns kept and these added, one value per row:
  orientation       int16: 0, 90, 180, 270, or -1 when undecided
  confidence        float64: the decision's confidence (0 when undecided)
  faces             int16: the number of faces found
  exif_orientation  int16: the EXIF Orientation tag (1..8), 0 when absent
  faces_disagree    bool
  result            str: the row's `faceup detect --json` object (every face, box, landmark;
                    for a row that failed, the object with its "error")
  error             str: why the row failed ("" when it did not); a row that fails does not
                    fail the batch: it gets orientation -1 and its error
and Fix also
  upright           bytes: the upright encoded image (faceup.fix(); the input when unchanged)
  rotated           int16: the clockwise turn applied (0/90/180/270)
  fix               str: "unchanged", "lossless" or "reencoded" ("" on error)

Keyword arguments of the classes (through fn_constructor_kwargs) are faceup.Detector's.
"""
from __future__ import annotations

import os
from typing import Any

import numpy as np

from ._detector import Detector
from ._faceup import error_json
from ._errors import Error
from ._files import read_file

COLUMNS = ("bytes", "image", "path")


class Detect:
    """map_batches callable: faceup.detect() on each row of a batch (see the module docstring
    for the columns in and out)."""

    def __init__(self, column: str | None = None, **params: Any) -> None:
        self.column = column
        self.detector = Detector(**params)
        self.max_bytes = self.detector.params["max_bytes"]

    def _column(self, batch: dict[str, Any]) -> str:
        if self.column is not None:
            return self.column
        for c in COLUMNS:
            if c in batch:
                return c
        raise KeyError(f"faceup.ray: a batch with none of the columns {COLUMNS}: "
                       f"{sorted(batch)} (name one with column=)")

    def _input(self, column: str, value: Any) -> Any:
        """The row's image as faceup takes it, or raises Error / OSError."""
        if column == "path":
            path = value if isinstance(value, bytes) else os.fsencode(str(value))
            data, err = read_file(path, self.max_bytes)
            if err is not None:
                raise Error(err)
            return data
        if column == "bytes" and isinstance(value, np.ndarray):  # binary column as uint8
            return value.tobytes()
        return value

    def _one(self, column: str, value: Any) -> tuple[Any, str]:
        """(Result or FixResult, "") or (None, error)."""
        try:
            return self._work(self._input(column, value)), ""
        except Error as e:
            return None, e.message

    def _work(self, image: Any) -> Any:
        return self.detector.detect(image)

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        column = self._column(batch)
        answers = [self._one(column, v) for v in batch[column]]
        out = dict(batch)
        out.update(_decision_columns([a[0] for a in answers], [a[1] for a in answers]))
        return out


class Fix(Detect):
    """map_batches callable: faceup.fix() on each row (encoded "bytes" or "path" rows), adding
    the upright bytes to the decision columns (see the module docstring)."""

    def _work(self, image: Any) -> Any:
        return self.detector.fix(image)

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        column = self._column(batch)
        answers = [self._one(column, v) for v in batch[column]]
        fixed = [a[0] for a in answers]
        out = dict(batch)
        out.update(_decision_columns([f.result if f else None for f in fixed],
                                     [a[1] for a in answers]))
        out["upright"] = _objects([f.data if f else b"" for f in fixed])
        out["rotated"] = np.array([f.rotated if f else 0 for f in fixed], dtype=np.int16)
        out["fix"] = _objects([f.path if f else "" for f in fixed])
        return out


def _objects(values: list[Any]) -> np.ndarray:
    a = np.empty(len(values), dtype=object)
    a[:] = values
    return a


def _decision_columns(results: list[Any], errors: list[str]) -> dict[str, np.ndarray]:
    def col(f: Any, dtype: Any, missing: Any) -> np.ndarray:
        return np.array([f(r) if r is not None else missing for r in results], dtype=dtype)

    return {
        "orientation": col(lambda r: -1 if r.orientation is None else r.orientation,
                           np.int16, -1),
        "confidence": col(lambda r: r.confidence, np.float64, 0.0),
        "faces": col(lambda r: len(r.faces), np.int16, 0),
        "exif_orientation": col(lambda r: r.exif_orientation or 0, np.int16, 0),
        "faces_disagree": col(lambda r: r.faces_disagree, bool, False),
        "result": _objects([r.to_json() if r is not None else
                            error_json(None, e.encode("utf-8", "surrogateescape"))
                            for r, e in zip(results, errors)]),
        "error": _objects(errors),
    }
