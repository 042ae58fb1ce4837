"""faceup-ray: `faceup detect --json` and `faceup fix -o` on a Ray cluster.

    faceup-ray detect [--address ADDR] [-r] PATH...
    faceup-ray fix -o OUTDIR [--address ADDR] [-r] [--min-confidence X] PATH...

The driver lists the inputs by the CLI's rules (faceup/_files.py); a pool of Ray actors, one
faceup.Detector each, reads, decides and (for fix) writes each file; the driver prints one
JSON line per input in input order as results stream back: `detect` the lines of
`faceup detect --json`, `fix` those of `faceup fix --json -o OUTDIR` (the report), with the
outputs at the same paths, written the same atomic way. Workers read the inputs and write the
outputs themselves, so every node must see the same paths (a shared file system); the driver
never holds the images. Ray shows progress on stderr; a summary line follows it.

Without --address a Ray is started on this machine (every CPU, loopback only) and stopped at
the end; RAY_ADDRESS works as for any Ray program. Exit status: 0 every input was handled,
1 some failed, 2 usage.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from typing import Any

import numpy as np

from . import _files
from ._detector import Detector
from ._errors import Error
from ._faceup import error_json

UPRIGHT, ROTATED, UNDECIDED, FAILED, EXIF_BAKED = 0, 1, 2, 3, 4
ACTION = ("upright", "rotated", "undecided", "error", "exif_baked")
METHOD = ("unchanged", "lossless", "reencoded_lossy")
OLD_PATH = ("unchanged", "lossless", "reencoded")  # the deprecated "path" key
DROPPED = ((1, b"mpf"), (2, b"trailing_data"), (4, b"exif_thumbnail"))  # faceup_dropped
FUNCTION = re.compile(r"^\w+\(\): ")
MAX_BYTES = 256 << 20  # the CLI's --max-bytes default


def _bytes(s: str) -> bytes:
    return s.encode("utf-8", "surrogateescape")


def _cli_message(message: str) -> str:
    """A library message as the CLI prints it: without "function(): " (cli/words.c)."""
    return FUNCTION.sub("", message, count=1)


def _json_path(p: bytes) -> bytes:
    """A path as `faceup fix --json` writes "output": '"' and '\\' escaped, control bytes as '?'."""
    out = bytearray(b'"')
    for c in p:
        if c in (0x22, 0x5C):
            out.append(0x5C)
        out.append(0x3F if c < 0x20 else c)
    return bytes(out + b'"')


class _Job:
    """One actor: one Detector, the inputs of a batch in, one JSON line each out."""

    def __init__(self, command: str, outdir: bytes | None, min_confidence: float,
                 keep_metadata: bool, bake_exif: bool = False) -> None:
        import ray
        self.command, self.outdir, self.min_confidence = command, outdir, min_confidence
        self.detector = (Detector(min_confidence=min_confidence, keep_metadata=keep_metadata,
                                  bake_exif=bake_exif)
                         if command == "fix" else Detector())
        self.node = ray.get_runtime_context().get_node_id()

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        one = self._detect if self.command == "detect" else self._fix
        done = [one(_files.Item(p, r if r or not e else None, _str(e) or None))
                for p, r, e in zip(batch["path"], batch["rel"], batch["error"])]
        lines = np.empty(len(done), dtype=object)
        lines[:] = [d[0] for d in done]
        return {"line": lines, "outcome": np.array([d[1] for d in done], dtype=np.int8),
                "node": np.array([self.node] * len(done), dtype=object)}

    def _detect(self, it: _files.Item) -> tuple[bytes, int]:
        """cli/detect.c answer()"""
        data, err = _files.read_file(it.path, MAX_BYTES)
        if err is None:
            try:
                return _bytes(self.detector._h.detect(data, it.path)[0]), UPRIGHT
            except Error as e:
                err = _cli_message(e.message)
        return _bytes(error_json(it.path, _bytes(err))), FAILED

    def _fix(self, it: _files.Item) -> tuple[bytes, int]:
        """cli/fix.c fix_one() with -o OUTDIR --json"""
        assert self.outdir is not None
        err, fixed, outcome, dest = it.error, None, FAILED, None
        if err is None:
            try:
                st = os.stat(it.path)
            except OSError as e:
                err = os.strerror(e.errno or 0)
        if err is None:
            data, err = _files.read_file(it.path, MAX_BYTES)
        if err is None:
            try:
                fixed = self.detector._h.fix(data, it.path)
            except Error as e:
                err = _cli_message(e.message)
        if fixed is not None:
            out, _, text, rotated, exif, path, confidence, dropped, _ = fixed
            undecided = json.loads(text)["orientation"] is None or confidence < self.min_confidence
            outcome = (ROTATED if path != 0 and rotated else EXIF_BAKED if path != 0 and exif > 1
                       else UNDECIDED if undecided else UPRIGHT)
            try:
                target = _files.destination(self.outdir, it, st)
            except ValueError:
                outcome = FAILED
            else:
                try:
                    _files.mkdirs(target)
                except OSError:
                    outcome = FAILED
                else:
                    outcome = FAILED if _files.write_atomic(target, out, st) else outcome
                    dest = target if outcome != FAILED else None
        if fixed is None:
            base, rotated, exif, path, dropped = (_bytes(error_json(it.path, _bytes(err or ""))),
                                                  0, 0, 0, 0)
        else:
            base = _bytes(text)  # with a decision the line's "error" stays null, as in the CLI
        names = b",".join(b'"%s"' % n for f, n in DROPPED if dropped & f)
        line = (base[:-1] + b',"action":"%s","rotated_ccw":%d,"exif_baked":%s,"method":"%s",'
                b'"dropped":[%s],"dry_run":false,"output":'
                % (ACTION[outcome].encode(), (360 - rotated) % 360,
                   b"%d" % exif if exif > 1 else b"null", METHOD[path].encode(), names)
                + (_json_path(dest) if dest is not None else b"null")
                + b',"rotated":%d,"path":"%s"}' % (rotated, OLD_PATH[path].encode()))
        return line, outcome


def _str(v: Any) -> str:
    return v.decode("utf-8", "surrogateescape") if isinstance(v, bytes) else str(v or "")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="faceup-ray", description="faceup detect / faceup fix on a Ray cluster.",
        epilog="Every node must see the input paths and OUTDIR at the same place. Exit status: "
               "0 every input was handled, 1 some failed, 2 usage.")
    sub = p.add_subparsers(dest="command", required=True, metavar="detect|fix")
    for name, text in (("detect", "print `faceup detect --json` lines, in input order"),
                       ("fix", "write upright images like `faceup fix -o OUTDIR`, and print "
                               "its --json report")):
        s = sub.add_parser(name, help=text, description=text)
        s.add_argument("paths", nargs="+", metavar="PATH", help="image files, or folders with -r")
        s.add_argument("--address", help="Ray cluster to join (default: $RAY_ADDRESS, else "
                                         "start one on this machine)")
        s.add_argument("-r", "--recursive", action="store_true",
                       help="walk folders (.jpg .jpeg .jpe .png .webp .heic .heif .hif .avif; hidden entries and "
                            "symbolic links skipped)")
        s.add_argument("--workers", type=int, metavar="N",
                       help="Ray actors, one CPU and one faceup handle each (default: every "
                            "CPU of the cluster)")
        s.add_argument("--batch-size", type=int, default=16, metavar="N",
                       help="images per batch handed to an actor (default 16)")
        if name == "fix":
            s.add_argument("-o", "--output", required=True, metavar="OUTDIR",
                           help="write the images under OUTDIR: a FILE as OUTDIR/its name, the "
                                "images of a folder at their paths relative to it")
            s.add_argument("--min-confidence", type=float, default=0.5, metavar="X",
                           help="turn only when the decision's confidence is at least X "
                                "(default 0.5)")
            s.add_argument("--strip-metadata", action="store_true",
                           help="drop EXIF, ICC profiles, XMP, comments and text")
            s.add_argument("--exif", choices=("keep", "bake"), default="keep",
                           help="an image upright as displayed thanks to its EXIF Orientation: "
                                "keep it as it is (default), or bake the tag into the pixels")
    return p


def _start_ray(address: str | None) -> None:
    import ray
    if address is None and not os.environ.get("RAY_ADDRESS"):
        # A Ray of our own on this machine: nobody else joins it, so it need not be reachable
        # from the network. Without this Ray binds its nodes to the machine's routable address
        # even for a single local node.
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        ray.init(include_dashboard=False)
    else:
        ray.init(address=address)


def main(argv: list[str] | None = None) -> int:
    a = _parser().parse_args(argv)
    if a.workers is not None and a.workers < 1 or a.batch_size < 1:
        print("faceup-ray: --workers and --batch-size want a positive number", file=sys.stderr)
        return 2
    if a.command == "fix" and not 0 <= a.min_confidence <= 1:
        print("faceup-ray: --min-confidence wants a number in [0, 1]", file=sys.stderr)
        return 2
    args = [os.fsencode(p) for p in a.paths]
    outdir, skip = None, None
    if a.command == "fix":
        outdir = os.fsencode(a.output)
        try:
            _files.mkdirs(outdir + b"/x")
            st = os.stat(outdir)
            skip = (st.st_dev, st.st_ino)
        except OSError as e:
            print(f"faceup-ray: cannot create {a.output}: {os.strerror(e.errno or 0)}",
                  file=sys.stderr)
            return 1
    items = _files.list_inputs(args, a.recursive, skip, folders_are_errors=a.command == "fix")
    if a.command == "fix":
        _files.refuse_collisions(items)

    t0 = t1 = t2 = t3 = time.monotonic()   # start; Ray joined; first results; last results
    first = 0                               # how many came with the first results
    counts = [0] * len(ACTION)
    nodes: set[str] = set()
    workers = 0
    if items:
        import ray
        _start_ray(a.address)
        t1 = time.monotonic()
        try:
            workers = a.workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
            ctx = ray.data.DataContext.get_current()
            ctx.execution_options.preserve_order = True
            rows = [{"path": it.path, "rel": it.rel or b"", "error": _bytes(it.error or "")}
                    for it in items]
            ds = ray.data.from_items(rows).map_batches(
                _Job, batch_size=a.batch_size, num_cpus=1,
                compute=ray.data.ActorPoolStrategy(size=min(workers, len(items))),
                fn_constructor_kwargs={
                    "command": a.command, "outdir": outdir,
                    "min_confidence": getattr(a, "min_confidence", 0.5),
                    "keep_metadata": not getattr(a, "strip_metadata", False),
                    "bake_exif": getattr(a, "exif", "keep") == "bake"})
            out = sys.stdout.buffer
            for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
                for line, outcome, node in zip(batch["line"], batch["outcome"], batch["node"]):
                    out.write(line + b"\n")
                    counts[outcome] += 1
                    nodes.add(node)
                out.flush()
                if not first:
                    first, t2 = len(batch["line"]), time.monotonic()
            t3 = time.monotonic()
        finally:
            ray.shutdown()
    n = len(items)
    # Joining Ray and starting the workers (a Python process each, importing Ray) cost the same
    # for ten images or ten million: the rate is the one after the first results.
    rate = f"{(n - first) / (t3 - t2):.1f} images/s" if n > first and t3 > t2 else "-"
    run = (f", {time.monotonic() - t0:.1f} s: Ray {t1 - t0:.1f} s, first results after "
           f"{t2 - t1:.1f} s, then {rate} on {workers} workers, {len(nodes)} nodes"
           if nodes else "")
    baked = f"{counts[EXIF_BAKED]} with the EXIF Orientation baked in, " if counts[EXIF_BAKED] else ""
    what = (f"{counts[ROTATED]} rotated, {baked}{counts[UPRIGHT]} already upright, "
            f"{counts[UNDECIDED]} undecided, {counts[FAILED]} errors" if a.command == "fix"
            else f"{counts[FAILED]} errors")
    print(f"faceup-ray {a.command}: {what} ({n} files{run})", file=sys.stderr)
    return 1 if counts[FAILED] else 0


if __name__ == "__main__":
    sys.exit(main())
