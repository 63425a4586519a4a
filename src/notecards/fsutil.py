"""Files in the output folder: writing one atomically, and the lock that keeps two builds apart."""
from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from notecards.errors import OutputError

TEMP_PREFIX = ".notecards-tmp-"
"""Every temp file notecards writes starts so: a killed run's leftovers are known by name."""
LOCK_FILE = ".notecards.lock"


def atomic_write(path: Path, data: bytes | Iterable[bytes] | Callable[[BinaryIO], None],
                 durable: bool = True) -> None:
    """`data` (its pieces, or what `data(file)` writes) into a temp file beside `path`, then renamed over it: never a
    half-written file. `durable`: on disk (fsync) before the rename, so that a power cut can't
    lose it either; a file the ledger can tell is wrong, and remake, can do without (write.py).

    An error names `path`, never the temp file: a folder in the way is `IsADirectoryError(path)`.
    """
    path = Path(path)
    if path.is_dir():  # os.replace would name the temp file, and every later build fail alike
        raise IsADirectoryError(errno.EISDIR, "a folder is in the way", str(path))
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=TEMP_PREFIX, suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            if callable(data):
                data(fh)
            else:
                fh.writelines([data] if isinstance(data, bytes) else data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a deck is an ordinary file
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def resource_text(name: str) -> str:
    """A file shipped in the package's `resources/` folder (cue tables, card templates, style sheet)."""
    from importlib import resources

    return resources.files("notecards").joinpath("resources", name).read_text(encoding="utf-8")


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def prepare_folder(out: Path) -> None:
    """Create the output folder; OutputError when it can't be made or written."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the output folder: {exc.strerror or exc}", path=str(out)) from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise OutputError("the output folder is not writable", path=str(out))


@contextmanager
def output_lock(out: Path) -> Iterator[None]:
    """Hold `out/.notecards.lock` for a build: a second build into the same folder stops at once
    with an OutputError saying another build is running (it never waits, and never touches the
    first build's files). The lock is the kernel's (flock, or msvcrt on Windows), so a killed
    build leaves no stale lock; the file itself stays, empty."""
    prepare_folder(Path(out))
    try:
        fh = open(Path(out) / LOCK_FILE, "a+b")
    except OSError as exc:
        raise OutputError(f"cannot create the lock file: {exc.strerror or exc}", path=str(out)) from None
    try:
        if not _try_lock(fh):
            raise OutputError("another notecards build is writing to this folder; run again when it has "
                              "finished", path=str(out))
        yield
    finally:
        fh.close()  # closing the file releases the lock


def _try_lock(fh) -> bool:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
