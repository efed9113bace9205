"""Compressed traces: which compression a file has, and streams that decompress or compress it.

The public trace collections ship compressed (libCacheSim's oracleGeneral
traces and Twitter's as zstd, MSR Cambridge's as gzip), and decompressed they
are terabytes, so a trace is read through a decompressing stream, never
decompressed to disk.  Four compressions are read and written:

    zstd   .zst .zstd   the ``zstandard`` package
    gzip   .gz          the standard library (zlib)
    xz     .xz          the standard library (lzma)
    bz2    .bz2         the standard library

A file's compression is told by its first bytes (each format's magic
number), so a zstd trace named ``trace.bin`` reads as well as
``trace.bin.zst``; a name that promises a compression the bytes do not have
is an error, as is a compression kvsim cannot read (lz4, zip).  The format
inside is told by the name without the compression suffix (base.py).

A long trace is decompressed by a child process (decoders.py run as a
program) and read through a pipe: the child works on a core of its own
whatever the reader does meanwhile, so a replay or a simulation of a
compressed trace costs its own process about what the plain trace costs, the
decompression done beside it on another core (a thread would not do: it
waits for the GIL while a compiled replay holds it).  A short file, or a
glance at a file's head, is decompressed in this process as it is read.
Memory is bounded either way: the pipe holds at most PIPE_BYTES, and no step
of a decoder makes more than about a megabyte, however well its input
compresses.

A stream that ends early (a truncated download) or does not decode (a
corrupt one) raises StreamError, a TraceError that says which and after how
many decompressed bytes; the readers turn that into the record or line where
the trace breaks off.  No codec's own exception (zstd's, zlib's, lzma's,
EOFError) reaches the caller.
"""

from __future__ import annotations

import bz2
import contextlib
import io
import lzma
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, cast

from workloads.traces import decoders as decoders_module
from workloads.traces.decoders import CODEC_ERRORS, DECODERS, EXIT_CORRUPT, EXIT_TRUNCATED, Corrupt, Truncated, said
from workloads.traces.errors import TraceError

if TYPE_CHECKING:  # imported where it is used: only a zstd trace needs it
    import zstandard

try:
    import fcntl
except ImportError:  # not on Windows: the pipe keeps its default size
    fcntl = None  # type: ignore[assignment]  # (its use below then raises AttributeError, suppressed)

COMPRESSIONS = ("zstd", "gzip", "xz", "bz2")

#: a file's path, as a caller gives it
TracePath = str | os.PathLike[str]

#: a name's last suffix -> the compression it promises
SUFFIXES = {".zst": "zstd", ".zstd": "zstd", ".gz": "gzip", ".xz": "xz", ".bz2": "bz2"}
#: compressions recognised (by name or first bytes) only to say that kvsim does not read them
UNSUPPORTED = {".lz4": "lz4", ".zip": "zip", ".7z": "7z"}

PARALLEL_FROM = 1 << 22  # compressed bytes from which a child process decompresses (its start-up: ~30 ms)
PIPE_BYTES = 1 << 20  # how far ahead of the reader the child may get
_HEAD = 16  # bytes read to tell the compression


class StreamError(TraceError):
    """A compressed stream that ends early or does not decode.

    ``offset`` is the number of decompressed bytes read whole before the
    break, from which a reader names the record or line; ``reason`` says what
    is wrong, without the file's name.
    """

    def __init__(self, path: TracePath, reason: str, offset: int):
        super().__init__(f"{path}: {reason} (after {offset:,} bytes of decompressed trace)")
        self.path, self.reason, self.offset = path, reason, offset


# -- telling the compression --------------------------------------------------------


def compression_in_name(path: TracePath) -> str | None:
    """The compression a file's name promises by its last suffix (None: none).

    A suffix of a compression kvsim does not read (.lz4, .zip) is an error.
    """
    suffix = Path(path).suffix.lower()
    if suffix in UNSUPPORTED:
        raise TraceError(_unsupported(path, UNSUPPORTED[suffix]))
    return SUFFIXES.get(suffix)


def strip_compression(path: TracePath) -> Path:
    """The name without its compression suffix: 'x.oracleGeneral.zst' -> 'x.oracleGeneral'."""
    path = Path(path)
    return path.with_suffix("") if path.suffix.lower() in SUFFIXES else path


def sniff(head: bytes) -> str | None:
    """The compression whose magic number opens `head`, or None.

    Each check takes more than the bare magic where the format allows, so
    that an uncompressed trace is not mistaken for a compressed one: gzip's
    method byte (deflate) and reserved flag bits, bz2's block or end-of-stream
    signature after the level digit.  zstd files may open with a skippable
    frame (pzstd writes one).
    """
    if head[:4] == b"\x28\xb5\x2f\xfd" or (len(head) >= 4 and head[0] & 0xF0 == 0x50 and head[1:4] == b"\x2a\x4d\x18"):
        return "zstd"
    if head[:3] == b"\x1f\x8b\x08" and len(head) > 3 and head[3] & 0xE0 == 0:
        return "gzip"
    if head[:6] == b"\xfd7zXZ\x00":
        return "xz"
    if (
        head[:3] == b"BZh"
        and head[3:4].isdigit()
        and head[4:10] in (b"\x31\x41\x59\x26\x53\x59", b"\x17\x72\x45\x38\x50\x90")
    ):
        return "bz2"
    if head[:4] == b"\x04\x22\x4d\x18":
        return "lz4"
    if head[:4] == b"PK\x03\x04":
        return "zip"
    return None


def detect_compression(path: TracePath) -> str | None:
    """The compression of the file at `path` (None: none), from its first bytes, checked against its name."""
    named = compression_in_name(path)
    with open(path, "rb") as handle:
        head = handle.read(_HEAD)
    found = sniff(head)
    if found in ("lz4", "zip"):
        raise TraceError(_unsupported(path, found))
    if named and found != named:
        raise TraceError(
            f"{path}: the name says {named}, but the file does not start as a {named} stream does "
            f"(its first bytes: {head[:6].hex(' ')}): a corrupt file, or a misleading name"
        )
    return found


def _unsupported(path: TracePath, kind: str) -> str:
    readable = ", ".join(f"{name} ({suffix})" for suffix, name in SUFFIXES.items() if suffix != ".zstd")
    return f"{path}: {kind}-compressed traces are not read; decompress it, or recompress it as one of {readable}"


# -- the reading streams ------------------------------------------------------------------


class _Decompressed(io.RawIOBase):
    """What both reading streams share: the count of bytes delivered, and StreamError for a broken stream."""

    def __init__(self, path: Path, compression: str):
        super().__init__()
        self.path, self.compression = path, compression
        self.delivered = 0  # decompressed bytes handed to the reader so far

    def readable(self) -> bool:
        return True

    def _broken(self, truncated: bool, how: str = "") -> StreamError:
        if truncated:
            reason = f"the {self.compression} stream ends early: the file is truncated"
        else:
            reason = f"the {self.compression} stream is corrupt ({how})"
        return StreamError(self.path, reason, self.delivered)


class _InProcess(_Decompressed):
    """Decompressed here, step by step, as the reader asks: for short files and a glance at a file's head."""

    def __init__(self, path: Path, compression: str):
        super().__init__(path, compression)
        self._file = open(path, "rb")
        self._blocks = DECODERS[compression](self._file.read)
        self._block, self._at = memoryview(b""), 0

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]  # io.BufferedReader passes a memoryview
        while self._at == len(self._block):
            try:
                self._block, self._at = memoryview(next(self._blocks)), 0
            except StopIteration:
                return 0
            except Truncated:
                raise self._broken(True) from None
            except (Corrupt, *CODEC_ERRORS) as error:
                raise self._broken(False, said(error)) from None
        n = min(len(buffer), len(self._block) - self._at)
        buffer[:n] = self._block[self._at : self._at + n]
        self._at += n
        self.delivered += n
        return n

    def close(self) -> None:
        if not self.closed:
            self._blocks.close()
            self._file.close()
        super().close()


class _ChildProcess(_Decompressed):
    """Decompressed by a child process (decoders.py run as a program), through a pipe.

    The child runs on a core of its own however busy the reader keeps the
    GIL, and the pipe bounds how far ahead it gets (PIPE_BYTES).
    """

    def __init__(self, path: Path, compression: str):
        super().__init__(path, compression)
        command = [sys.executable, "-P", str(Path(decoders_module.__file__)), compression, str(path)]
        self._child = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL
        )
        # Both are pipes (PIPE above), never None; buffered (Popen's default), so stdout has readinto.
        self._stdout = cast(io.BufferedReader, self._child.stdout)
        self._stderr = cast(IO[bytes], self._child.stderr)
        with contextlib.suppress(AttributeError, OSError):  # Linux: a wider pipe, fewer switches
            fcntl.fcntl(self._stdout.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]  # io.BufferedReader passes a memoryview
        n = self._stdout.readinto(buffer)
        if n:
            self.delivered += n
            return n
        status = self._child.wait()
        if status == EXIT_TRUNCATED:
            raise self._broken(True)
        if status != 0:
            said_by_child = self._stderr.read().decode(errors="replace").strip()
            if status == EXIT_CORRUPT:
                raise self._broken(False, said_by_child)
            last = said_by_child.splitlines()[-1] if said_by_child else f"exit status {status}"
            raise TraceError(f"{self.path}: the decompressing process failed: {last}")
        return 0

    def close(self) -> None:
        if not self.closed:
            if self._child.poll() is None:  # stopped early: the child has more to say, and need not
                self._child.kill()
            self._child.wait()
            self._stdout.close()
            self._stderr.close()
        super().close()


def open_decompressed(path: TracePath, compression: str | None, parallel: bool = True) -> io.BufferedIOBase:
    """The decompressed bytes of the file at `path` as a binary file object (a plain file for None).

    parallel: decompress in a child process when the file is long enough
    (PARALLEL_FROM bytes) for its start-up to pay; else here, as read.
    """
    if compression is None:
        return open(path, "rb")
    if compression not in COMPRESSIONS:
        raise TraceError(f"unknown compression {compression!r}; valid: {', '.join(COMPRESSIONS)}")
    path = Path(path)
    stream: _Decompressed | None = None
    if parallel and sys.executable and path.stat().st_size >= PARALLEL_FROM:
        with contextlib.suppress(OSError):  # no process to be had: decompress here
            stream = _ChildProcess(path, compression)
    stream = stream or _InProcess(path, compression)
    # A small buffer: reads of a block of lines or a chunk of records go straight to the stream.
    return io.BufferedReader(stream, buffer_size=1 << 16)


# -- writing ---------------------------------------------------------------------------

#: each compression's default level: zstd's and xz's own defaults, gzip's and bz2's best speed-size balance
DEFAULT_LEVELS = {"zstd": 3, "gzip": 6, "xz": 6, "bz2": 9}


def open_compressed(
    handle: IO[bytes], compression: str | None, level: int | None = None
) -> io.BufferedIOBase | io.RawIOBase | zstandard.ZstdCompressionWriter:
    """A binary file object that compresses what is written into `handle` (which it does not close)."""
    if compression is None:
        return _Unclosing(handle)
    level = DEFAULT_LEVELS[compression] if level is None else level
    if compression == "zstd":
        import zstandard

        # A checksum in every frame, as the zstd command writes one: corruption is then detected.
        compressor = zstandard.ZstdCompressor(level=level, write_checksum=True)
        return compressor.stream_writer(handle, closefd=False)
    if compression == "gzip":
        import gzip

        # No name and no time in the header: the same requests make the same bytes, in any process.
        return gzip.GzipFile(filename="", fileobj=handle, mode="wb", compresslevel=level, mtime=0)
    if compression == "xz":
        return lzma.LZMAFile(handle, "wb", preset=level)
    if compression == "bz2":
        return bz2.BZ2File(handle, "wb", compresslevel=level)
    raise TraceError(f"unknown compression {compression!r}; valid: {', '.join(COMPRESSIONS)}")


class _Unclosing(io.RawIOBase):
    """`handle` itself, except that closing it leaves the handle open (as the compressors do)."""

    def __init__(self, handle: IO[bytes]):
        super().__init__()
        self._handle = handle

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]  # bytes only, as written here
        return self._handle.write(data)


def replace_atomically(path: Path, write: Callable[[IO[bytes]], None]) -> Path:
    """Write a file through `write(handle)` into a temporary name beside `path`, then rename it to `path`.

    A write that fails leaves nothing behind: no half-written trace under the real name.
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        with open(temporary, "wb") as handle:
            write(handle)
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()
    return path
