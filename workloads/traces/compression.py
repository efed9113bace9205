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

Decompression runs in a thread of its own, a few blocks ahead of the reader
(the codecs release the GIL while they work): on two cores, a replay or a
simulation reading a compressed trace spends the time of the uncompressed
one, the decompression hidden behind the work on the requests.  Memory is
bounded: at most READ_AHEAD blocks of about BLOCK bytes wait in the queue, and
no single step of a decoder makes more than a few blocks' worth of output,
however well the input compresses.

A stream that ends early (a truncated download) or does not decode (a
corrupt one) raises StreamError, a TraceError that says which and after how
many decompressed bytes; the readers turn that into the record or line where
the trace breaks off.  No codec's own exception (zstd's, zlib's, lzma's,
EOFError) reaches the caller.
"""

from __future__ import annotations

import bz2
import io
import lzma
import os
import queue
import threading
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

from workloads.traces.errors import TraceError

COMPRESSIONS = ("zstd", "gzip", "xz", "bz2")

#: a name's last suffix -> the compression it promises
SUFFIXES = {".zst": "zstd", ".zstd": "zstd", ".gz": "gzip", ".xz": "xz", ".bz2": "bz2"}
#: compressions recognised (by name or first bytes) only to say that kvsim does not read them
UNSUPPORTED = {".lz4": "lz4", ".zip": "zip", ".7z": "7z"}

BLOCK = 1 << 20  # decompressed bytes handed over at a time
READ_AHEAD = 4  # blocks the decompressing thread may be ahead of the reader
_INPUT_STEP = 1 << 18  # compressed bytes fed to a decoder at a time (zstd adapts it)
_HEAD = 16  # bytes read to tell the compression


class StreamError(TraceError):
    """A compressed stream that ends early or does not decode.

    ``offset`` is the number of decompressed bytes read whole before the
    break, from which a reader names the record or line; ``reason`` says what
    is wrong, without the file's name.
    """

    def __init__(self, path, reason: str, offset: int):
        super().__init__(f"{path}: {reason} (after {offset:,} bytes of decompressed trace)")
        self.path, self.reason, self.offset = path, reason, offset


# -- telling the compression --------------------------------------------------------


def compression_in_name(path) -> str | None:
    """The compression a file's name promises by its last suffix (None: none).

    A suffix of a compression kvsim does not read (.lz4, .zip) is an error.
    """
    suffix = Path(path).suffix.lower()
    if suffix in UNSUPPORTED:
        raise TraceError(_unsupported(path, UNSUPPORTED[suffix]))
    return SUFFIXES.get(suffix)


def strip_compression(path) -> Path:
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


def detect_compression(path) -> str | None:
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


def _unsupported(path, kind: str) -> str:
    readable = ", ".join(f"{name} ({suffix})" for suffix, name in SUFFIXES.items() if suffix != ".zstd")
    return f"{path}: {kind}-compressed traces are not read; decompress it, or recompress it as one of {readable}"


# -- decoders: compressed bytes in, decompressed bytes out ------------------------------


def _zstd_frames(read: Callable[[int], bytes]) -> Iterator[bytes]:
    """The decompressed bytes of the zstd frames read with `read`, one frame after the other."""
    import zstandard

    # Frames made with `zstd --long=31` need a 2 GiB window; the default limit is 128 MiB.
    maker = zstandard.ZstdDecompressor(max_window_size=1 << 31)
    decoder, inside, data, step = maker.decompressobj(), False, b"", _INPUT_STEP
    while True:
        if not data:
            data = read(step)
            if not data:
                if inside:  # the input ended inside a frame
                    raise _Truncated
                return
        inside = True
        try:
            out = decoder.decompress(data)
        except zstandard.ZstdError as error:
            raise _Corrupt(str(error).removeprefix("zstd decompressor error: ")) from None
        data = b""
        if out:
            yield out
            # One call's output has no bound: feed less input while it compresses well.
            step = max(1024, min(_INPUT_STEP, step * BLOCK // len(out)))
        if decoder.eof:
            data, decoder, inside = decoder.unused_data, maker.decompressobj(), False


def _bounded_frames(make: Callable[[], object], read: Callable[[int], bytes], padding: bool) -> Iterator[bytes]:
    """The decompressed bytes of a zlib-, lzma- or bz2-style decoder (`make` builds one per stream).

    These take a max_length, so one step's output is at most BLOCK bytes.
    Concatenated streams (gzip members, pbzip2's streams) are read one after
    the other; with `padding`, zero bytes between or after them are skipped
    (xz's stream padding).
    """
    decoder, inside, data = make(), False, b""
    while True:
        if not data and _hungry(decoder):
            data = read(_INPUT_STEP)
            if not data:
                if inside:
                    out = decoder.flush() if hasattr(decoder, "flush") else b""  # zlib's last output
                    if out:
                        yield out
                    if not decoder.eof:
                        raise _Truncated
                return
        if not inside:
            data = data.lstrip(b"\0") if padding else data
            if not data:
                continue
            inside = True
        out = decoder.decompress(data, BLOCK)
        data = getattr(decoder, "unconsumed_tail", b"")  # zlib hands back what it did not take; the others keep it
        if out:
            yield out
        if decoder.eof:
            data, decoder, inside = decoder.unused_data, make(), False


def _hungry(decoder) -> bool:
    """Whether the decoder wants more input (lzma and bz2 may still have output from the last)."""
    return getattr(decoder, "needs_input", True)


_DECODERS = {
    "zstd": _zstd_frames,
    "gzip": lambda read: _bounded_frames(lambda: zlib.decompressobj(wbits=31), read, padding=True),
    "xz": lambda read: _bounded_frames(lzma.LZMADecompressor, read, padding=True),
    "bz2": lambda read: _bounded_frames(bz2.BZ2Decompressor, read, padding=False),
}

# the codecs' own exceptions for data that does not decode (and a failing read of the file)
_CODEC_ERRORS = (zlib.error, lzma.LZMAError, OSError, EOFError)


class _Truncated(Exception):
    """The input ended inside a frame or stream."""


class _Corrupt(Exception):
    """The input does not decode; the argument says how."""


# -- the reading stream ----------------------------------------------------------------


class _Decompressing(io.RawIOBase):
    """A decompressed file as a raw stream, decoded by a thread of its own up to READ_AHEAD blocks ahead.

    The thread puts blocks of bytes in a bounded queue, then b"" at the end,
    or the exception that stopped it; the reader raises that exception, a
    codec's as a StreamError that knows how many bytes were read whole.
    """

    def __init__(self, path: Path, compression: str):
        super().__init__()
        self.path, self.compression = path, compression
        self.delivered = 0  # decompressed bytes handed to the reader so far
        self._file = open(path, "rb")
        self._queue: queue.Queue = queue.Queue(maxsize=READ_AHEAD)
        self._stop = threading.Event()
        self._block, self._at, self._ended = memoryview(b""), 0, False
        self._thread = threading.Thread(target=self._produce, name=f"decompress {path.name}", daemon=True)
        self._thread.start()

    def readable(self) -> bool:
        return True

    def _produce(self) -> None:
        try:
            for block in _DECODERS[self.compression](self._file.read):
                view = memoryview(block)
                for low in range(0, len(view), BLOCK):  # pieces of at most BLOCK: the queue bounds memory
                    if not self._put(view[low : low + BLOCK]):
                        return
            self._put(b"")
        except BaseException as error:  # handed to the reader, which raises it
            self._put(error)

    def _put(self, item) -> bool:
        """Queue `item`, unless the reader closes the stream meanwhile (then False)."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _next_block(self):
        while True:
            try:
                return self._queue.get(timeout=1.0)
            except queue.Empty:
                if not self._thread.is_alive() and self._queue.empty():
                    raise TraceError(f"{self.path}: the decompressing thread stopped without a word") from None

    def readinto(self, buffer) -> int:
        if self._at == len(self._block):
            if self._ended:
                return 0
            item = self._next_block()
            if isinstance(item, BaseException):
                self._ended = True
                raise self._stream_error(item) from None
            if not len(item):
                self._ended = True
                return 0
            self._block, self._at = item, 0
        n = min(len(buffer), len(self._block) - self._at)
        buffer[:n] = self._block[self._at : self._at + n]
        self._at += n
        self.delivered += n
        return n

    def _stream_error(self, error: BaseException) -> BaseException:
        if isinstance(error, _Truncated):
            reason = f"the {self.compression} stream ends early: the file is truncated"
        elif isinstance(error, (_Corrupt, *_CODEC_ERRORS)):
            reason = f"the {self.compression} stream is corrupt ({_said(error)})"
        else:
            return error  # not the data's fault: raised as it is
        return StreamError(self.path, reason, self.delivered)

    def close(self) -> None:
        if not self.closed:
            self._stop.set()
            self._thread.join()
            self._file.close()
        super().close()


def _said(error: BaseException) -> str:
    """A codec's message as part of a sentence: 'Invalid data stream' -> 'invalid data stream'."""
    text = str(error).strip() or type(error).__name__
    return text[0].lower() + text[1:]


def open_decompressed(path, compression: str | None) -> io.BufferedIOBase:
    """The decompressed bytes of the file at `path` as a binary file object (a plain file for None)."""
    if compression is None:
        return open(path, "rb")
    if compression not in COMPRESSIONS:
        raise TraceError(f"unknown compression {compression!r}; valid: {', '.join(COMPRESSIONS)}")
    # A small buffer: reads of a block or a chunk of records go straight to the stream.
    return io.BufferedReader(_Decompressing(Path(path), compression), buffer_size=1 << 16)


# -- writing ---------------------------------------------------------------------------

#: each compression's default level: zstd's and xz's own defaults, gzip's and bz2's best speed-size balance
DEFAULT_LEVELS = {"zstd": 3, "gzip": 6, "xz": 6, "bz2": 9}


def open_compressed(handle, compression: str | None, level: int | None = None):
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

        return gzip.GzipFile(fileobj=handle, mode="wb", compresslevel=level, mtime=0)  # mtime 0: same bytes every time
    if compression == "xz":
        return lzma.LZMAFile(handle, "wb", preset=level)
    if compression == "bz2":
        return bz2.BZ2File(handle, "wb", compresslevel=level)
    raise TraceError(f"unknown compression {compression!r}; valid: {', '.join(COMPRESSIONS)}")


class _Unclosing(io.RawIOBase):
    """`handle` itself, except that closing it leaves the handle open (as the compressors do)."""

    def __init__(self, handle):
        super().__init__()
        self._handle = handle

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        return self._handle.write(data)


def replace_atomically(path: Path, write: Callable[[io.BufferedIOBase], None]) -> Path:
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
