"""What every trace reader shares: the Trace base class, format names, keys, batches, lines of text.

A reader is a subclass of Trace with a ``format`` name; defining it is what
registers it with ``open_trace`` (see ``Trace.__init_subclass__``).  The
readers live one format to a module beside this one, and the package's
``__init__`` imports them all.  A reader reads the trace's bytes through
``Trace.open()``, which decompresses them when the file is compressed
(compression.py), so no reader knows or cares.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from workloads.hashing import key_ids
from workloads.stream import DEFAULT_CHUNK, READ, RequestBatch
from workloads.traces.compression import (
    StreamError,
    TracePath,
    compression_in_name,
    detect_compression,
    open_decompressed,
    strip_compression,
)
from workloads.traces.errors import TraceError

#: names the i-th request (of a batch, a block) for an error message: 'line 12', 'record 5'
Where = Callable[[int], str]

FORMATS = ("csv", "txt", "oraclegeneral", "twitter", "cachelib", "msr", "arc")

#: a suffix that names a format; found anywhere among a name's suffixes ('hm_0.msr.csv.gz' is msr)
_FORMAT_SUFFIXES = {
    ".oraclegeneral": "oraclegeneral",
    ".twitter": "twitter",
    ".cachelib": "cachelib",
    ".msr": "msr",
    ".arc": "arc",
    ".lis": "arc",  # the ARC paper's traces are named P1.lis, OLTP.lis ...
}
#: a generic extension, read when the name has no format suffix
_EXTENSIONS = {".csv": "csv", ".txt": "txt", ".bin": "oraclegeneral"}
_FORMAT_NAMES = {
    **{name: name for name in FORMATS},
    "text": "txt",
    "oracle": "oraclegeneral",
    "bin": "oraclegeneral",
    "meta": "cachelib",
    "kvcache": "cachelib",
    "lis": "arc",
}

KEY_TYPES = ("auto", "int", "str")

MAX_LINE = 1 << 20  # a "line" longer than this means the file is not a text trace
LINE_BLOCK = 1 << 18  # bytes of whole lines parsed at a time by the line-based readers
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1

#: format name -> the Trace subclass that reads it (filled as the subclasses are defined)
READERS: dict[str, type[Trace]] = {}


@dataclass(frozen=True)
class TraceBatch(RequestBatch):
    """A RequestBatch read from a trace, with the trace's TTLs when it logs them.

    ttl: int64 seconds each write gives its object, 0 for none (and for
    reads); None when the trace has no TTL column (``Trace.has_ttl``).
    """

    ttl: np.ndarray | None = None


# -- keys ---------------------------------------------------------------------


def _integer_key(text: str) -> int | None:
    """The integer a key's text denotes, as an int64 id; None when it is not one.

    Python's int() syntax (what numpy's fast path uses too, so both paths
    agree); values in [2**63, 2**64) wrap as a uint64 id would.
    """
    try:
        value = int(text)
    except ValueError:
        return None
    if INT64_MIN <= value <= INT64_MAX:
        return value
    if INT64_MAX < value < (1 << 64):
        return value - (1 << 64)
    return None


def check_key_type(key_type: str) -> None:
    if key_type not in KEY_TYPES:
        raise TraceError(f"key_type must be one of {', '.join(KEY_TYPES)}; got {key_type!r}")


def text_keys(texts: npt.ArrayLike, key_type: str, where: Where) -> npt.NDArray[np.int64]:
    """int64 ids of text keys (stripped here); `where(i)` names the i-th for errors."""
    import pandas as pd  # here, not above: a binary trace's reader never needs it (start-up time)

    codes, uniques = pd.factorize(np.asarray(texts, dtype=object))
    uniques = np.array([str(text).strip() for text in uniques], dtype=object)
    if key_type != "str":
        try:  # every key an integer in int64's range: numpy calls int() on each, in C
            return uniques.astype(np.int64)[codes]
        except (ValueError, OverflowError):
            pass  # some are text (or out of range): key by key, below
    ids = np.empty(len(uniques), dtype=np.int64)
    hashed: list[int] = []
    for index, text in enumerate(uniques):
        # int() accepts only a text that opens with a sign or a digit: the others skip its exception.
        maybe_integer = key_type != "str" and (text[:1].isdigit() or text[:1] in ("+", "-"))
        value = _integer_key(text) if maybe_integer else None
        if value is None:
            if key_type == "int":
                first = int(np.flatnonzero(codes == index)[0])
                raise TraceError(f"{where(first)}: expected an integer key, got {text!r}")
            hashed.append(index)
        else:
            ids[index] = value
    if hashed:
        ids[hashed] = key_ids(uniques[hashed])
    return ids[codes]


# -- formats --------------------------------------------------------------------------


def trace_format(name: str) -> str:
    """The canonical format name for `name` (case-insensitive; 'oracleGeneral', 'bin', 'text', 'meta' ...)."""
    canonical = _FORMAT_NAMES.get(str(name).lower())
    if canonical is None:
        raise TraceError(f"unknown trace format {name!r}; valid: {', '.join(FORMATS)}")
    return canonical


def detect_format(path: TracePath) -> str:
    """The format of a trace file from its name, a compression suffix aside.

    A format's own suffix anywhere in the name wins ('x.oracleGeneral.zst',
    'hm_0.msr.csv.gz', 'P1.lis'); else the last suffix: .csv, .txt or .bin.
    """
    path = Path(path)
    compression_in_name(path)  # a compression kvsim does not read (.lz4, .zip) is said first
    inner = strip_compression(path)
    suffixes = [suffix.lower() for suffix in inner.suffixes]
    for suffix in reversed(suffixes):
        if suffix in _FORMAT_SUFFIXES:
            return _FORMAT_SUFFIXES[suffix]
    last = suffixes[-1] if suffixes else ""
    if last in _EXTENSIONS:
        return _EXTENSIONS[last]
    compressed = f" (inside the {path.suffix} compression)" if inner != path else ""
    known = ", ".join([*_EXTENSIONS, *_FORMAT_SUFFIXES])
    raise TraceError(
        f"{path}: cannot tell the trace format from the extension {last or '(none)'!r}{compressed} "
        f"({known}); name it: format = {' | '.join(FORMATS)}"
    )


def open_trace(path: TracePath, format: str | None = None, **options: Any) -> Trace:  # Any: each reader's own
    """A reader for the trace at `path`; `format` overrides the name.

    `options` go to the format's reader (see each reader's docstring): for
    csv ``key``, ``time``, ``size``, ``op``, ``ttl``, ``names``,
    ``delimiter``, ``key_type``; for txt, twitter, cachelib, msr and arc
    ``key_type``; for twitter and cachelib ``object_size``; for msr
    ``block_size`` (``reader_options(format)`` lists them).
    Opening checks what can be checked at once (the file exists and is not
    empty, its compression, a CSV header has the columns its format needs);
    the rest is checked while reading.
    """
    fmt = trace_format(format) if format else detect_format(path)
    try:
        return READERS[fmt](path, **options)
    except TypeError as error:
        raise TraceError(f"{path}: {fmt} reader: {error}") from None


def reader_options(format: str) -> tuple[str, ...]:
    """The options a format's reader takes (open_trace's keyword arguments), such as ('key_type',)."""
    import inspect

    parameters = inspect.signature(READERS[trace_format(format)].__init__).parameters
    return tuple(name for name in parameters if name not in ("self", "path"))


def read_trace(
    path: TracePath, format: str | None = None, chunk: int = DEFAULT_CHUNK, **options: Any
) -> Generator[TraceBatch, None, None]:
    """The requests of a trace in batches of at most `chunk`: ``open_trace(...).chunks(chunk)``."""
    return open_trace(path, format, **options).chunks(chunk)


# -- the Trace base class ----------------------------------------------------------------


class Trace:
    """A trace file and how to read it.  Subclasses implement ``_chunks``.

    has_time, has_size, has_op, has_ttl: which columns come from the file.
    seconds_per_unit: the unit of the trace's timestamps when its format
    fixes one (Twitter's seconds, MSR's 100 ns ticks), else None: the user
    says (TraceWorkload's time_unit).
    compression: "zstd", "gzip", "xz", "bz2" or None, told from the file's
    first bytes.
    """

    format = ""
    has_time = False
    has_size = False
    has_op = False
    has_ttl = False
    seconds_per_unit: float | None = None

    def __init_subclass__(cls, **kwargs: object) -> None:
        """A subclass that names a format becomes that format's reader in open_trace."""
        super().__init_subclass__(**kwargs)
        if cls.format:
            READERS[cls.format] = cls

    def __init__(self, path: TracePath):
        self.path = Path(path)
        if not self.path.exists():
            raise FileNotFoundError(f"{self.path}: no such trace file")
        if self.path.is_dir():
            raise TraceError(f"{self.path}: is a directory, not a trace file")
        self.file_size = self.path.stat().st_size
        if self.file_size == 0:
            raise TraceError(f"{self.path}: empty file (expected {self._expected()})")
        self.compression = detect_compression(self.path)

    def _expected(self) -> str:
        return "requests"

    def open(self, parallel: bool = True) -> io.BufferedIOBase:
        """The trace's bytes, decompressed when the file is compressed: a binary file object.

        parallel=False for a glance at a few lines: no child process is started.
        """
        return open_decompressed(self.path, self.compression, parallel)

    def chunks(self, chunk: int = DEFAULT_CHUNK) -> Generator[TraceBatch, None, None]:
        """The requests in order, in TraceBatch-es of at most `chunk` requests.

        A generator: the file is read as the batches are consumed, and closed
        when the generator is exhausted or closed.  ``batch.start`` is the
        number of requests before the batch.
        """
        if isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or chunk < 1:
            raise ValueError(f"chunk must be a positive integer; got {chunk!r}")
        total = 0
        try:
            for batch in self._chunks(int(chunk)):
                if len(batch):
                    total += len(batch)
                    yield batch
        except StreamError as error:  # a reader that did not place the break itself
            raise TraceError(f"{self.path}: {self.where_offset(error.offset)}: {error.reason}") from None
        if total == 0:
            what = " after decompression" if self.compression else ""
            raise TraceError(f"{self.path}: no requests in the file{what} (expected {self._expected()})")

    def __iter__(self) -> Iterator[TraceBatch]:
        return self.chunks()

    def keys(self) -> npt.NDArray[np.int64]:
        """Every key of the trace in order, as one int64 array (memory grows with the trace).

        For what needs the whole future at once, such as Belady's policy.
        """
        parts = [batch.key for batch in self.chunks()]
        return np.concatenate(parts)

    def count(self) -> int:
        """The number of requests (reads the whole trace)."""
        return sum(len(batch) for batch in self.chunks())

    def where(self, index: int) -> str:
        """Where request `index` (0-based) is in the file, e.g. 'line 12' or 'record 5'."""
        return f"request {index + 1}"

    def where_offset(self, offset: int) -> str:
        """Where the byte at `offset` of the (decompressed) trace is: its line, for a text trace."""
        return f"line {line_at(self, offset)}"

    def _chunks(self, chunk: int) -> Iterator[TraceBatch]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"


def request_batch(
    start: int,
    keys: npt.NDArray[np.int64],
    times: np.ndarray | None = None,
    sizes: npt.NDArray[np.int64] | None = None,
    ops: npt.NDArray[np.int8] | None = None,
    ttls: npt.NDArray[np.int64] | None = None,
) -> TraceBatch:
    """A batch from the columns a trace has; the missing ones as documented (request numbers, 1, READ)."""
    n = len(keys)
    return TraceBatch(
        time=np.arange(start, start + n, dtype=np.int64) if times is None else times,
        key=keys,
        size=np.ones(n, dtype=np.int64) if sizes is None else sizes,
        op=np.full(n, READ, dtype=np.int8) if ops is None else ops,
        start=start,
        ttl=ttls,
    )


def rechunk(pieces: Iterator[dict[str, np.ndarray]], chunk: int) -> Iterator[TraceBatch]:
    """Batches of exactly `chunk` requests (the last one shorter) from pieces of any length.

    A piece is a dict of equally long columns: "keys" and any of "times",
    "sizes", "ops", "ttls" (request_batch's arguments), the same in every piece.
    """
    pending: list[dict[str, np.ndarray]] = []
    waiting = start = 0
    for piece in pieces:
        pending.append(piece)
        waiting += len(piece["keys"])
        if waiting < chunk:
            continue
        columns = {name: np.concatenate([p[name] for p in pending]) for name in pending[0]}
        whole = waiting - waiting % chunk
        for low in range(0, whole, chunk):
            yield request_batch(start, **{name: column[low : low + chunk] for name, column in columns.items()})
            start += chunk
        pending = [{name: column[whole:] for name, column in columns.items()}]
        waiting -= whole
    if waiting:
        yield request_batch(start, **{name: np.concatenate([p[name] for p in pending]) for name in pending[0]})


# -- lines of text ---------------------------------------------------------------------------


def line_blocks(trace: Trace, block: int = LINE_BLOCK) -> Iterator[tuple[int, bytes]]:
    """(1-based number of the first line, whole lines) of a text trace, in blocks of about `block` bytes.

    The last line needs no line break.  A line longer than MAX_LINE means the
    file is not text; a compressed stream that breaks off is a TraceError
    naming the line it breaks in.
    """
    line, carry = 1, b""
    with trace.open() as handle:
        while True:
            try:
                data = handle.read(block)
            except StreamError as error:  # the break is in the line `carry` began
                raise TraceError(f"{trace.path}: line {line}: {error.reason}") from None
            if not data:
                if carry:
                    yield line, carry
                return
            data = carry + data
            cut = data.rfind(b"\n") + 1
            whole, carry = data[:cut], data[cut:]
            if len(carry) > MAX_LINE:
                long_line = line + whole.count(b"\n")
                raise TraceError(
                    f"{trace.path}: line {long_line}: longer than {MAX_LINE} bytes "
                    f"(expected {trace._expected()}; is this a binary trace?)"
                )
            if whole:
                yield line, whole
                line += whole.count(b"\n")


def content_lines(block: bytes, first: int) -> list[int]:
    """The line numbers of the non-blank lines of a block whose first line is `first` (for error messages)."""
    return [first + offset for offset, raw in enumerate(block.split(b"\n")) if raw.strip()]


def nth_content_line(trace: Trace, index: int, header: bool) -> int:
    """The 1-based line number of the `index`-th (0-based) non-blank data line.

    Only for error messages: it reads the trace again.
    """
    seen = -1
    number = 0
    with trace.open(parallel=False) as handle:
        for number, raw in enumerate(handle, start=1):
            if header and number == 1:
                continue
            if raw.strip():
                seen += 1
                if seen == index:
                    return number
    return number + 1 if seen >= 0 else 1


def line_at(trace: Trace, offset: int) -> int:
    """The 1-based number of the line holding byte `offset` of the trace (reads it again up to there)."""
    newlines, left = 0, offset
    with trace.open(parallel=False) as handle:
        while left > 0:
            data = handle.read(min(left, LINE_BLOCK))
            if not data:
                break
            newlines += data.count(b"\n")
            left -= len(data)
    return newlines + 1
