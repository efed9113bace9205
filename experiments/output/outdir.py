"""An output directory: checked before anything is written, and one writer at a time.

`kvsim run`, `kvsim mrc` and `kvsim plan` write into a directory (--out).
Before any simulation, ``check_out`` refuses a path that cannot be one (an
empty path, a regular file, a device such as /dev/null, a path under a
regular file) with one line naming it.  ``claim`` then creates the directory
and takes an operating-system lock on it (``flock`` on DIR/.kvsim.lock), so
that a second command writing to the same directory stops at once, naming
the first one's process id, instead of mixing two experiments' files.  The
lock goes with the process, however it ends (even kill -9): a stale lock
file never blocks anybody.  A directory that ``claim`` created and that holds
no result when the command fails is removed again: a mistake leaves no
trace behind.  Every file in it is written whole or not at all
(``atomic_write``: a temporary sibling, then a rename).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_NAME = ".kvsim.lock"


class OutputError(ValueError):
    """An output directory that cannot be used: reported in one line, exit status 2."""


def check_out(out: Path, flag: str = "--out") -> Path:
    """`out` as a usable directory path, or OutputError saying why not (nothing is created)."""
    if str(out).strip() == "":
        raise OutputError(f"{flag}: must name a directory; got an empty path")
    out = Path(out)
    if out.exists() or out.is_symlink():
        mode = os.stat(out).st_mode if out.exists() else 0
        if not stat.S_ISDIR(mode):
            kind = "a regular file" if stat.S_ISREG(mode) else "not a directory"
            raise OutputError(f"{flag} {out}: is {kind}; name a directory (it is created if missing)")
        return out
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise OutputError(f"{flag} {out}: cannot be created under {parent}, which is a file")
            break
    return out


def _describe(error: OSError) -> str:
    return error.strerror or str(error)


@contextmanager
def claim(out: Path, flag: str = "--out") -> Iterator[Path]:
    """Create `out` if needed and hold its writer lock for the body of the `with`.

    A second holder gets OutputError naming the first one's pid.  If the body
    fails and `out` was created here and holds no result yet (no run saved),
    it goes: a refused command leaves nothing behind.
    """
    out = check_out(out, flag)
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
        handle = open(out / LOCK_NAME, "a+")  # noqa: SIM115 - held open for the whole body
    except OSError as error:
        raise OutputError(f"{flag} {out}: cannot write there ({_describe(error)})") from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno not in (errno.EWOULDBLOCK, errno.EACCES):
                raise OutputError(f"{flag} {out}: cannot lock it ({_describe(error)})") from None
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise OutputError(
                f"{flag} {out}: another kvsim command (pid {holder}) is writing there; wait for it to finish "
                "or choose another directory"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield out
    except BaseException:
        handle.close()
        if created and _holds_no_result(out):
            shutil.rmtree(out, ignore_errors=True)
        raise
    handle.close()


def _holds_no_result(out: Path) -> bool:
    """Whether a directory this command created holds nothing worth keeping: no run was saved."""
    try:
        return not any((out / "runs").glob("*.json")) and not any(out.glob("*.csv"))
    except OSError:
        return False


def read_manifest(path: Path, marker: str, kind: type) -> dict | None:
    """A folder's JSON manifest at `path`: None when there is none, {} when it is damaged.

    Damaged: unreadable, not JSON, or without its `marker` key of type `kind`
    (what tells a kvsim manifest from any other JSON file).
    """
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError):  # not JSON, or an integer of more than 4300 digits
        return {}
    return manifest if isinstance(manifest, dict) and isinstance(manifest.get(marker), kind) else {}


def atomic_write(path: Path, text: str | bytes) -> None:
    """Write a whole file or nothing: a temporary sibling, then a rename.

    A file system that refuses (full, read-only, permissions) is an
    OutputError naming the file, and leaves no temporary behind.
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    mode = "wb" if isinstance(text, bytes) else "w"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(temporary, mode) as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise OutputError(f"cannot write {path} ({error.strerror or error})") from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
