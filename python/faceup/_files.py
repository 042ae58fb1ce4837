"""The CLI's rules for files, for `faceup-ray`: which files a folder holds, how a file is read,
where its output goes, and how that output is written. Each function mirrors one in
cli/fix.c or cli/read_file.c, messages included, so `faceup-ray` reports what `faceup` reports.

The rule the writes serve (cli/fix.c): a user's file is never damaged. An output is written
to a temporary file beside it (".NAME.faceup-XXXXXX"), fsync'ed, given the input's
permissions and renamed over the target: the path holds the old bytes or the new ones, never
half of either. An output that would land on its own input is refused.
"""
from __future__ import annotations

import os
import stat
import tempfile
from dataclasses import dataclass

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".jpe", ".png", ".webp", ".heic", ".heif", ".hif", ".avif")
MAX_DEPTH = 64
PATH_MAX = 4096
Path = bytes  # paths travel as bytes (os.fsencode): any name a file system holds


@dataclass
class Item:
    """One input: its path as given or found, where its output goes under OUTDIR (None for an
    error found while listing), and that error."""
    path: Path
    rel: Path | None
    error: str | None = None


def _strerror(e: OSError) -> str:
    return os.strerror(e.errno) if e.errno else str(e)


def _is_image_name(name: Path) -> bool:
    dot = name.rfind(b".")
    return dot >= 0 and name[dot:].decode("latin-1").lower() in IMAGE_EXTENSIONS


def _join(a: Path, b: Path) -> Path:
    return a + b"/" + b if a and not a.endswith(b"/") else a + b


def walk(out: list[Item], folder: Path, rel: Path, skip: tuple[int, int] | None,
         depth: int = 0) -> None:
    """The images under `folder` in byte order of their names, walking into folders as they
    come; symbolic links, hidden entries and the folder `skip` (OUTDIR: dev, ino) are left out.
    (cli/fix.c walk())"""
    try:
        names = sorted(e for e in os.listdir(folder) if not e.startswith(b"."))
    except OSError as e:
        out.append(Item(folder, None, _strerror(e)))
        return
    for name in names:
        path, sub = _join(folder, name), (_join(rel, name) if rel else name)
        try:
            st = os.lstat(path)
        except OSError:
            continue
        if stat.S_ISDIR(st.st_mode):
            if skip is None or (st.st_dev, st.st_ino) != skip:
                if depth >= MAX_DEPTH:
                    out.append(Item(path, None, "folders nested too deep"))
                else:
                    walk(out, path, sub, skip, depth + 1)
        elif stat.S_ISREG(st.st_mode) and _is_image_name(name):
            out.append(Item(path, sub))


def list_inputs(args: list[Path], recursive: bool, skip: tuple[int, int] | None,
                folders_are_errors: bool) -> list[Item]:
    """The inputs named on the command line, folders walked with -r. `faceup fix` refuses a
    folder without -r and a path it cannot stat; `faceup detect` leaves both to the read,
    which says why (folders_are_errors=False)."""
    out: list[Item] = []
    for arg in args:
        try:
            st = os.stat(arg)
        except OSError as e:
            out.append(Item(arg, None, _strerror(e)) if folders_are_errors else Item(arg, b""))
            continue
        if stat.S_ISDIR(st.st_mode) and recursive:
            walk(out, arg, b"", skip)
        elif stat.S_ISDIR(st.st_mode) and folders_are_errors:
            out.append(Item(arg, None, "is a folder (use -r to walk it)"))
        else:
            out.append(Item(arg, os.path.basename(arg)))
    return out


def refuse_collisions(items: list[Item]) -> None:
    """Two inputs with the same output path: the later ones become errors rather than
    overwrite the first one's output. (cli/fix.c refuse_collisions())"""
    seen: set[Path] = set()
    for it in items:
        if it.rel is None:
            continue
        if it.rel in seen and it.error is None:
            it.error = "another input has the same output path"
        seen.add(it.rel)


def read_file(path: Path, max_bytes: int) -> tuple[bytes | None, str | None]:
    """(data, None), or (None, why): the whole file, refused over max_bytes before anything is
    read. (cli/read_file.c cli_read_file())"""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as e:
        return None, f"cannot open: {_strerror(e)}"
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None, "is a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        if st.st_size > max_bytes:
            return None, f"file is {st.st_size} bytes, over the limit of {max_bytes}"
        chunks, got = [], 0
        while got < st.st_size:
            try:
                b = os.read(fd, st.st_size - got)
            except InterruptedError:
                continue
            except OSError as e:
                return None, f"read failed: {_strerror(e)}"
            if not b:
                return None, "read failed: file shrank"
            chunks.append(b)
            got += len(b)
        return b"".join(chunks), None
    finally:
        os.close(fd)


def mkdirs(path: Path) -> None:
    """The folders above `path`, like mkdir -p (cli/fix.c mkdirs())."""
    i = path.find(b"/", 1)
    while i >= 0:
        try:
            os.mkdir(path[:i], 0o777)
        except FileExistsError:
            pass
        i = path.find(b"/", i + 1)


def destination(outdir: Path, it: Item, st: os.stat_result) -> Path:
    """Where the output of `it` goes; ValueError when that is the input itself."""
    dest = outdir + b"/" + (it.rel or b"")
    if len(dest) >= PATH_MAX:
        raise ValueError("output path too long")
    try:
        ost = os.stat(dest)
    except OSError:
        return dest
    if (ost.st_dev, ost.st_ino) == (st.st_dev, st.st_ino):
        raise ValueError("the output would replace the input (use --in-place for that)")
    return dest


def write_atomic(path: Path, data: bytes, like: os.stat_result) -> str | None:
    """Replace `path` by `data` atomically, with the permissions of `like`: None, or why it
    failed (the temporary file then removed, `path` untouched). (cli/fix.c write_atomic())"""
    folder, base = os.path.split(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=b"." + base + b".faceup-", dir=folder or b".")
    except OSError as e:
        return f"cannot create a temporary file: {_strerror(e)}"
    step = "write"
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            step = "fsync"
            os.fsync(fd)
            step = "chmod"
            os.fchmod(fd, stat.S_IMODE(like.st_mode))
        except OSError:
            try:
                os.close(fd)
            except OSError:
                pass
            raise
        step = "close"
        os.close(fd)
        step = "rename"
        os.rename(tmp, path)
        return None
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return f"{step} failed: {_strerror(e)} (original untouched)"
