"""What every trace reader shares: the Trace base class, TraceError, format names, key ids, batches.

A reader is a subclass of Trace with a ``format`` name; defining it is what
registers it with ``open_trace`` (see ``Trace.__init_subclass__``).  The
readers live one format to a module beside this one (csv_trace, text_trace,
oracle_general), and the package's ``__init__`` imports them all.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from workloads.hashing import key_ids
from workloads.stream import DEFAULT_CHUNK, READ, RequestBatch

FORMATS = ("csv", "txt", "oraclegeneral")

_EXTENSIONS = {".csv": "csv", ".txt": "txt", ".bin": "oraclegeneral", ".oraclegeneral": "oraclegeneral"}
_FORMAT_NAMES = {
    "csv": "csv",
    "txt": "txt",
    "text": "txt",
    "oraclegeneral": "oraclegeneral",
    "oracle": "oraclegeneral",
    "bin": "oraclegeneral",
}
_COMPRESSED = {".gz", ".zst", ".xz", ".bz2", ".zip", ".lz4"}

KEY_TYPES = ("auto", "int", "str")

MAX_LINE = 1 << 20  # a "line" longer than this means the file is not a text trace
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1

#: format name -> the Trace subclass that reads it (filled as the subclasses are defined)
READERS: dict[str, type[Trace]] = {}


class TraceError(ValueError):
    """A malformed trace, or a reader option that does not fit it.

    The message names the file, the line or record, and what was expected.
    """


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


def text_keys(texts, key_type: str, where) -> np.ndarray:
    """int64 ids of text keys (already stripped); `where(i)` names the i-th for errors."""
    codes, uniques = pd.factorize(np.asarray(texts, dtype=object))
    ids = np.empty(len(uniques), dtype=np.int64)
    hashed = []
    for index, text in enumerate(uniques):
        value = None if key_type == "str" else _integer_key(text)
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


# -- formats and the Trace base class -------------------------------------------


def trace_format(name: str) -> str:
    """The canonical format name for `name` (case-insensitive; 'oracleGeneral', 'bin', 'text' ...)."""
    canonical = _FORMAT_NAMES.get(str(name).lower())
    if canonical is None:
        raise TraceError(f"unknown trace format {name!r}; valid: {', '.join(FORMATS)}")
    return canonical


def detect_format(path) -> str:
    """The format of a trace file from its extension: .csv, .txt, .bin or .oraclegeneral."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in _EXTENSIONS:
        return _EXTENSIONS[suffix]
    if suffix in _COMPRESSED:
        raise TraceError(f"{path}: compressed traces are not read directly; decompress it first")
    raise TraceError(
        f"{path}: cannot tell the trace format from the extension {suffix or '(none)'!r} "
        f"(.csv, .txt, .bin, .oraclegeneral); name it: format = {' | '.join(FORMATS)}"
    )


def open_trace(path, format: str | None = None, **options) -> Trace:
    """A reader for the trace at `path`; `format` overrides the extension.

    `options` go to the format's reader: for csv ``key``, ``time``, ``size``,
    ``op``, ``names``, ``delimiter``, ``key_type``; for txt ``key_type``.
    Opening checks what can be checked at once (the file exists and is not
    empty, a CSV header has the named columns, a binary file is whole
    records); the rest is checked while reading.
    """
    fmt = trace_format(format) if format else detect_format(path)
    try:
        return READERS[fmt](path, **options)
    except TypeError as error:
        raise TraceError(f"{path}: {fmt} reader: {error}") from None


def read_trace(path, format: str | None = None, chunk: int = DEFAULT_CHUNK, **options) -> Iterator[RequestBatch]:
    """The requests of a trace in batches of at most `chunk`: ``open_trace(...).chunks(chunk)``."""
    return open_trace(path, format, **options).chunks(chunk)


class Trace:
    """A trace file and how to read it.  Subclasses implement ``_chunks``."""

    format = ""
    has_time = False
    has_size = False
    has_op = False

    def __init_subclass__(cls, **kwargs):
        """A subclass that names a format becomes that format's reader in open_trace."""
        super().__init_subclass__(**kwargs)
        if cls.format:
            READERS[cls.format] = cls

    def __init__(self, path):
        self.path = Path(path)
        if not self.path.exists():
            raise FileNotFoundError(f"{self.path}: no such trace file")
        if self.path.is_dir():
            raise TraceError(f"{self.path}: is a directory, not a trace file")
        self.file_size = self.path.stat().st_size
        if self.file_size == 0:
            raise TraceError(f"{self.path}: empty file (expected {self._expected()})")

    def _expected(self) -> str:
        return "requests"

    def chunks(self, chunk: int = DEFAULT_CHUNK) -> Iterator[RequestBatch]:
        """The requests in order, in RequestBatch-es of at most `chunk` requests.

        A generator: the file is read as the batches are consumed, and closed
        when the generator is exhausted or closed.  ``batch.start`` is the
        number of requests before the batch.
        """
        if isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or chunk < 1:
            raise ValueError(f"chunk must be a positive integer; got {chunk!r}")
        total = 0
        for batch in self._chunks(int(chunk)):
            if len(batch):
                total += len(batch)
                yield batch
        if total == 0:
            raise TraceError(f"{self.path}: no requests in the file (expected {self._expected()})")

    def __iter__(self) -> Iterator[RequestBatch]:
        return self.chunks()

    def keys(self) -> np.ndarray:
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

    def _chunks(self, chunk: int) -> Iterator[RequestBatch]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"


def request_batch(start: int, keys, times=None, sizes=None, ops=None) -> RequestBatch:
    """A batch from the columns a trace has; the missing ones as documented (request numbers, 1, READ)."""
    n = len(keys)
    return RequestBatch(
        time=np.arange(start, start + n, dtype=np.int64) if times is None else times,
        key=keys,
        size=np.ones(n, dtype=np.int64) if sizes is None else sizes,
        op=np.full(n, READ, dtype=np.int8) if ops is None else ops,
        start=start,
    )


def nth_content_line(path: Path, index: int, header: bool) -> int:
    """The 1-based line number of the `index`-th (0-based) non-blank data line.

    Only for error messages: it rescans the file.
    """
    seen = -1
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if header and number == 1:
                continue
            if raw.strip():
                seen += 1
                if seen == index:
                    return number
    return number + 1 if seen >= 0 else 1
