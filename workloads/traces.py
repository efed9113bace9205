"""Real request traces: readers for CSV, plain text and libCacheSim's oracleGeneral.

A trace is read in chunks of at most `chunk` requests, each a RequestBatch of
numpy arrays, so memory stays flat however long the trace is: nothing here
holds more than one chunk (plus one block of raw bytes) at a time.

    >>> trace = open_trace("cloudPhysicsIO.oracleGeneral.bin")      # doctest: +SKIP
    >>> for batch in trace.chunks(65536):                            # doctest: +SKIP
    ...     batch.key, batch.size, batch.time                        # numpy arrays

Formats (chosen from the file's extension, or named with ``format=``):

``csv`` (.csv)
    A header line names the columns; the key column and the optional time,
    size and op columns are chosen by name (``key="lbn"``), or detected from
    common names: libCacheSim's ``version,time,op,size,lbn`` works as is (lbn
    is the object id).  A headerless file needs ``names=[...]``.  Fields may
    be quoted but may not contain line breaks.
``txt`` (.txt)
    One key per line, nothing else (libCacheSim's and the LIRS traces).
``oraclegeneral`` (.bin, .oraclegeneral)
    libCacheSim's binary format: 24-byte little-endian records
    <uint32 time, uint64 id, uint32 size, int64 next access>, where next
    access is the 1-based number of the next request to the same object, or
    -1.  Ids are stored as int64 with the same 64 bits (ids above 2**63 - 1
    wrap to negative numbers; equality, which is all a cache needs, holds).

Keys.  A cache only compares keys, so every key becomes an int64 id.  With
``key_type="auto"`` (the default) a key that reads as an integer is that
integer and any other text is hashed (``key_id``: the first 8 bytes of its
blake2b digest, the same in every process and on every machine, never
Python's salted ``hash()``); ``"int"`` requires integers; ``"str"`` hashes
every key as text, so "007" and "7" differ.

Columns of a batch.  ``key`` int64; ``size`` int64 bytes (1 when the trace
has none); ``op`` int8 READ or WRITE (READ when the trace has none);
``time`` the trace's own timestamps, unscaled (int64 when it stores integers,
float64 otherwise), or the request's 0-based number when the trace has no
timestamps (libCacheSim's "virtual time").  ``Trace.has_time``,
``has_size`` and ``has_op`` say which columns came from the file.
TraceWorkload turns timestamps into seconds for the simulator.

Errors.  A malformed trace raises TraceError (a ValueError) whose message
names the file, the line (text) or record (binary), and what was expected:
an empty file, a truncated record, a non-numeric field where a number is
required, a column the header lacks, bytes that are not text.  A missing
file raises FileNotFoundError.  Errors in the middle of a file surface when
the reader gets there: the chunks before it have been yielded already.
"""

from __future__ import annotations

import csv
import difflib
import io
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from workloads.arrivals import Poisson
from workloads.hashing import key_id, key_ids  # noqa: F401 (key_id: a text key's id, part of this module's interface)
from workloads.rng import rng_for
from workloads.stream import DEFAULT_CHUNK, READ, WRITE, RequestBatch

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

#: column names recognised when the caller does not name a column (compared in lower case)
CSV_COLUMN_NAMES = {
    "key": ("key", "obj_id", "object_id", "objid", "id", "lbn", "lba", "block", "obj", "object"),
    "time": ("time", "timestamp", "ts", "clock_time", "real_time"),
    "size": ("size", "obj_size", "object_size", "bytes", "req_size"),
    "op": ("op", "operation", "opcode", "cmd", "command", "type"),
}

#: op values (compared in lower case) -> READ or WRITE.  The hexadecimal SCSI
#: opcodes are what block traces such as libCacheSim's cloudPhysicsIO.csv log
#: ("28" is READ(10), "2a" WRITE(10)); deletes change the store, so they count
#: as writes.
OP_VALUES = {
    **dict.fromkeys(("0", "r", "read", "get", "gets", "08", "28", "88", "a8"), READ),
    **dict.fromkeys(
        (
            "1",
            "w",
            "write",
            "set",
            "add",
            "replace",
            "cas",
            "append",
            "prepend",
            "put",
            "incr",
            "decr",
            "delete",
            "del",
            "remove",
            "0a",
            "2a",
            "8a",
            "aa",
        ),
        WRITE,
    ),
}

KEY_TYPES = ("auto", "int", "str")

_RECORD = np.dtype([("time", "<u4"), ("id", "<u8"), ("size", "<u4"), ("next", "<i8")])
_RECORD_BYTES = _RECORD.itemsize  # 24
_TEXT_BLOCK = 1 << 18  # bytes read at a time from a text trace
_MAX_LINE = 1 << 20  # a "line" longer than this means the file is not a text trace
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1


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
    if _INT64_MIN <= value <= _INT64_MAX:
        return value
    if _INT64_MAX < value < (1 << 64):
        return value - (1 << 64)
    return None


def _text_keys(texts, key_type: str, where) -> np.ndarray:
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
    cls = {"csv": CSVTrace, "txt": TextTrace, "oraclegeneral": OracleGeneralTrace}[fmt]
    try:
        return cls(path, **options)
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


def _batch(start: int, keys, times=None, sizes=None, ops=None) -> RequestBatch:
    n = len(keys)
    return RequestBatch(
        time=np.arange(start, start + n, dtype=np.int64) if times is None else times,
        key=keys,
        size=np.ones(n, dtype=np.int64) if sizes is None else sizes,
        op=np.full(n, READ, dtype=np.int8) if ops is None else ops,
        start=start,
    )


# -- plain text -----------------------------------------------------------------


class TextTrace(Trace):
    """One key per line (integers or text; see the module docstring for keys).

    Blank lines are skipped.  No timestamps and no sizes: batch times are
    request numbers and sizes are 1.
    """

    format = "txt"

    def __init__(self, path, key_type: str = "auto"):
        if key_type not in KEY_TYPES:
            raise TraceError(f"key_type must be one of {', '.join(KEY_TYPES)}; got {key_type!r}")
        super().__init__(path)
        self.key_type = key_type

    def _expected(self) -> str:
        return "one key per line"

    def where(self, index: int) -> str:
        return f"line {_nth_content_line(self.path, index, header=False)}"

    def _blocks(self) -> Iterator[tuple[int, bytes]]:
        """(1-based number of the first line, whole lines) in blocks of about _TEXT_BLOCK bytes."""
        line = 1
        carry = b""
        with open(self.path, "rb") as handle:
            while True:
                data = handle.read(_TEXT_BLOCK)
                if not data:
                    if carry:
                        yield line, carry
                    return
                data = carry + data
                cut = data.rfind(b"\n") + 1
                block, carry = data[:cut], data[cut:]
                if len(carry) > _MAX_LINE:
                    long_line = line + block.count(b"\n")
                    raise TraceError(
                        f"{self.path}: line {long_line}: longer than {_MAX_LINE} "
                        f"bytes (expected one key per line; is this a binary trace?)"
                    )
                if block:
                    yield line, block
                    line += block.count(b"\n")

    def _chunks(self, chunk):
        # Blocks of the file rarely hold a whole number of chunks: keys wait
        # in `pending` until a full chunk (or the end of the file) is there.
        pending: list = []
        waiting = 0
        start = 0
        for first, block in self._blocks():
            keys = self._keys(block, first)
            pending.append(keys)
            waiting += len(keys)
            if waiting < chunk:
                continue
            keys = np.concatenate(pending)
            whole = len(keys) - len(keys) % chunk
            for low in range(0, whole, chunk):
                yield _batch(start, keys[low : low + chunk])
                start += chunk
            pending, waiting = [keys[whole:]], len(keys) - whole
        if waiting:
            yield _batch(start, np.concatenate(pending))

    def _keys(self, block: bytes, first: int) -> np.ndarray:
        """The keys of a block of whole lines whose first is line `first`."""
        if self.key_type != "str":
            # Fast path for integer keys: pandas' C parser, no Python object per
            # line.  Anything unusual (text keys, blank-only or quoted lines,
            # huge ids, bytes that are not UTF-8) falls through to the exact
            # line-by-line reading below, which also finds the line of an error.
            try:
                frame = pd.read_csv(
                    io.BytesIO(block),
                    header=None,
                    quoting=csv.QUOTE_NONE,
                    engine="c",
                    keep_default_na=False,
                    na_values=[],
                    encoding="utf-8",
                )
            except (ValueError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError):
                frame = None
            if frame is not None and frame.shape[1] == 1 and frame[0].dtype.kind == "i":
                return frame[0].to_numpy(dtype=np.int64)
        texts, numbers = [], []
        for offset, raw in enumerate(block.split(b"\n")):
            try:
                # A byte-order mark may open the file; it is not part of the key.
                text = raw.decode("utf-8-sig" if first + offset == 1 else "utf-8").strip()
            except UnicodeDecodeError:
                raise TraceError(
                    f"{self.path}: line {first + offset}: not UTF-8 text "
                    f"(expected one key per line; for a binary trace use format=oraclegeneral)"
                ) from None
            if not text:
                continue
            if _CONTROL.search(text):
                raise TraceError(
                    f"{self.path}: line {first + offset}: control characters in a key "
                    f"(expected one key per line; is this a binary trace?)"
                )
            texts.append(text)
            numbers.append(first + offset)
        if not texts:
            return np.empty(0, dtype=np.int64)
        return _text_keys(texts, self.key_type, lambda i: f"{self.path}: line {numbers[i]}")


def _nth_content_line(path: Path, index: int, header: bool) -> int:
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


# -- CSV -------------------------------------------------------------------------


class CSVTrace(Trace):
    """A CSV trace: a header line, then one request per line.

    key, time, size, op: the header name of each column; None (default)
    detects it from common names (CSV_COLUMN_NAMES), False ignores it.  Only
    the key column is required.
    names: column names of a headerless file (then the first line is data).
    delimiter: the field separator.
    key_type: "auto", "int" or "str" (see the module docstring).
    """

    format = "csv"

    def __init__(
        self, path, key=None, time=None, size=None, op=None, names=None, delimiter: str = ",", key_type: str = "auto"
    ):
        if key_type not in KEY_TYPES:
            raise TraceError(f"key_type must be one of {', '.join(KEY_TYPES)}; got {key_type!r}")
        if not isinstance(delimiter, str) or len(delimiter) != 1:
            raise TraceError(f"delimiter must be one character; got {delimiter!r}")
        super().__init__(path)
        self.key_type = key_type
        self.delimiter = delimiter
        self.header = names is None
        self.names = self._read_header() if names is None else [str(n) for n in names]
        if len(set(self.names)) != len(self.names):
            repeated = sorted({n for n in self.names if self.names.count(n) > 1})
            raise TraceError(f"{self.path}: line 1: the header repeats column {repeated[0]!r}")
        self.columns = {}
        for role, given in (("key", key), ("time", time), ("size", size), ("op", op)):
            column = self._column(role, given)
            if column is not None:
                self.columns[role] = column
        self.has_time = "time" in self.columns
        self.has_size = "size" in self.columns
        self.has_op = "op" in self.columns

    def _expected(self) -> str:
        key = getattr(self, "columns", {}).get("key")
        what = f" with a {key!r} column" if key else ""
        return f"CSV: a header line, then one request per line{what}"

    def _read_header(self) -> list[str]:
        with open(self.path, "rb") as handle:
            raw = handle.readline(_MAX_LINE + 1)
        if len(raw) > _MAX_LINE:
            raise TraceError(f"{self.path}: line 1: longer than {_MAX_LINE} bytes (expected a CSV header line)")
        try:
            line = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise TraceError(
                f"{self.path}: line 1: not UTF-8 text (expected a CSV header line; "
                f"for a binary trace use format=oraclegeneral)"
            ) from None
        if _CONTROL.search(line):
            raise TraceError(
                f"{self.path}: line 1: control characters (expected a CSV header line; is this a binary trace?)"
            )
        names = [name.strip() for name in next(csv.reader([line], delimiter=self.delimiter), [])]
        if not any(names):
            raise TraceError(f"{self.path}: line 1: empty (expected a CSV header line naming the columns)")
        return names

    def _column(self, role: str, given) -> str | None:
        listed = ", ".join(self.names)
        if given is False:
            if role == "key":
                raise TraceError(f"{self.path}: a trace needs a key column")
            return None
        if given is not None:
            given = str(given)
            if given in self.names:
                return given
            close = difflib.get_close_matches(given, self.names, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            where = "the header" if self.header else "names"
            raise TraceError(f"{self.path}: no column {given!r} for the {role} in {where}{hint}; columns: {listed}")
        for name in self.names:
            if name.lower() in CSV_COLUMN_NAMES[role]:
                return name
        if role == "key":
            raise TraceError(
                f"{self.path}: cannot tell which column holds the key (columns: {listed}); "
                f"name it: key=COLUMN (the first line must be the header; for a headerless "
                f"file give names=[...])"
            )
        return None

    def where(self, index: int) -> str:
        return f"line {_nth_content_line(self.path, index, header=self.header)}"

    def _reader(self, chunk: int, skip_rows: int, key_as_text: bool):
        dtype = {}
        if key_as_text:
            dtype[self.columns["key"]] = str
        if "op" in self.columns:
            dtype[self.columns["op"]] = "category"
        # The header (when there is one) is skipped rather than parsed by pandas,
        # so that columns carry the names as this reader stripped them.
        first_line = 2 if self.header else 1
        if skip_rows:
            # Restarting after `skip_rows` data rows: find their physical line (rare).
            first_line = _nth_content_line(self.path, skip_rows, header=self.header)
        return pd.read_csv(
            self.path,
            sep=self.delimiter,
            header=None,
            names=self.names,
            skiprows=first_line - 1,
            # Every column is parsed, not only the used ones, so that a line with
            # too many fields is an error rather than silently shifted.
            dtype=dtype,
            chunksize=chunk,
            encoding="utf-8-sig",
            keep_default_na=False,
            na_values=[""],
            skipinitialspace=True,
            engine="c",
        )

    def _frames(self, chunk: int) -> Iterator[tuple[int, pd.DataFrame]]:
        """(rows before the frame, frame) for every chunk of rows."""
        row = 0
        key_as_text = self.key_type == "str"
        while True:
            switched = False
            try:
                with self._reader(chunk, row, key_as_text) as reader:
                    for frame in reader:
                        key_kind = frame[self.columns["key"]].dtype.kind
                        if key_kind == "f" and self.key_type == "auto" and not key_as_text:
                            # Keys like "1.5" (or empty ones) were read as floats,
                            # which loses their text: re-read from here as text.
                            key_as_text = switched = True
                            break
                        yield row, frame
                        row += len(frame)
            except UnicodeDecodeError:
                line = _first_undecodable_line(self.path)
                raise TraceError(
                    f"{self.path}: line {line}: not UTF-8 text (expected CSV; "
                    f"for a binary trace use format=oraclegeneral)"
                ) from None
            except pd.errors.ParserError as error:
                raise TraceError(f"{self.path}: {_parser_message(error)}") from None
            except ValueError as error:
                raise TraceError(f"{self.path}: cannot read as CSV: {error}") from None
            if not switched:
                return

    def _chunks(self, chunk):
        start = 0
        for row, frame in self._frames(chunk):
            n = len(frame)
            if n == 0:
                continue
            where = lambda i, row=row: f"{self.path}: {self.where(row + i)}"  # noqa: E731
            keys = self._key_column(frame[self.columns["key"]], where)
            times = sizes = ops = None
            if "time" in self.columns:
                times = _numbers(frame[self.columns["time"]], "time", self.columns["time"], where, integer=False)
            if "size" in self.columns:
                sizes = _numbers(frame[self.columns["size"]], "size", self.columns["size"], where, integer=True)
            if "op" in self.columns:
                ops = _ops(frame[self.columns["op"]], self.columns["op"], where)
            batch = _batch(start, keys, times, sizes, ops)
            yield batch
            start += n

    def _key_column(self, column: pd.Series, where) -> np.ndarray:
        name = self.columns["key"]
        kind = column.dtype.kind
        if kind == "i":
            return column.to_numpy(dtype=np.int64)
        if kind == "u":
            return column.to_numpy(dtype=np.uint64).view(np.int64)
        if kind == "f":  # only when key_type == "int"
            values = column.to_numpy()
            bad = ~np.isfinite(values) | (values != np.round(values))
            if bad.any():
                i = int(np.argmax(bad))
                got = "an empty field" if np.isnan(values[i]) else repr(values[i])
                raise TraceError(f"{where(i)}: column {name!r}: expected an integer key, got {got}")
            return values.astype(np.int64)
        values = column.to_numpy(dtype=object)
        missing = pd.isna(column).to_numpy()
        if missing.any():
            raise TraceError(f"{where(int(np.argmax(missing)))}: column {name!r}: empty key")
        texts = [str(text).strip() for text in values]
        return _text_keys(texts, self.key_type, where)


def _numbers(column: pd.Series, role: str, name: str, where, integer: bool) -> np.ndarray:
    """A numeric column as int64 (or float64 for times with fractions); errors name the line."""
    expected = "a non-negative integer" if integer else "a number"
    kind = column.dtype.kind
    if kind in "iu":
        values = column.to_numpy()
        if kind == "u":
            if (values > _INT64_MAX).any():
                i = int(np.argmax(values > _INT64_MAX))
                raise TraceError(f"{where(i)}: column {name!r}: {values[i]} is too large for the {role}")
            values = values.astype(np.int64)
        if integer and (values < 0).any():
            i = int(np.argmax(values < 0))
            raise TraceError(f"{where(i)}: column {name!r}: expected {expected} ({role}), got {values[i]}")
        return values.astype(np.int64, copy=False)
    if kind == "f":
        values = column.to_numpy()
        bad = ~np.isfinite(values)
        if integer:
            bad |= (values < 0) | (values != np.floor(values))
        if bad.any():
            i = int(np.argmax(bad))
            got = "an empty field" if np.isnan(values[i]) else repr(float(values[i]))
            raise TraceError(f"{where(i)}: column {name!r}: expected {expected} ({role}), got {got}")
        return values.astype(np.int64) if integer else values
    # Text in a numeric column: find the first field that is not a number.
    numeric = pd.to_numeric(column, errors="coerce")
    bad = pd.isna(numeric).to_numpy()
    if not bad.any():  # numbers after all (pandas kept them as text)
        return _numbers(numeric, role, name, where, integer)
    i = int(np.argmax(bad))
    value = column.iloc[i]
    got = "an empty field" if pd.isna(value) else repr(value)
    raise TraceError(f"{where(i)}: column {name!r}: expected {expected} ({role}), got {got}")


def _ops(column: pd.Series, name: str, where) -> np.ndarray:
    """An op column (read as a category) as READ/WRITE int8."""
    categories = column.cat.categories
    codes = column.cat.codes.to_numpy()
    if (codes < 0).any():
        raise TraceError(f"{where(int(np.argmax(codes < 0)))}: column {name!r}: empty op (expected read or write)")
    table = np.empty(len(categories), dtype=np.int8)
    for index, value in enumerate(categories):
        op = OP_VALUES.get(str(value).strip().lower())
        if op is None:
            first = int(np.argmax(codes == index))
            valid = ", ".join(sorted(OP_VALUES))
            raise TraceError(f"{where(first)}: column {name!r}: unknown op {value!r} (expected one of {valid})")
        table[index] = op
    return table[codes]


def _parser_message(error: Exception) -> str:
    """pandas' tokenizer message, reworded: 'line N: expected 5 fields, found 6'."""
    text = str(error)
    match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text)
    if match:
        expected, line, saw = match.groups()
        return f"line {line}: expected {expected} fields (as many as the header names), found {saw}"
    return f"cannot read as CSV: {text.strip()}"


def _first_undecodable_line(path: Path) -> int:
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return 1


# -- oracleGeneral ---------------------------------------------------------------


class OracleGeneralTrace(Trace):
    """libCacheSim's oracleGeneral binary trace: 24-byte records, read as numpy structured arrays.

    Each record's next-access field is checked: it must be -1 or the 1-based
    number of a later request.  Arbitrary bytes pass that check with
    probability about 1/2 per record, so a file that is not a trace fails
    within its first few records; so does a text file read as binary.
    """

    format = "oraclegeneral"
    has_time = True
    has_size = True

    def __init__(self, path):
        super().__init__(path)
        with open(self.path, "rb") as handle:
            head = handle.read(_RECORD_BYTES)
        # The commonest mistake first: a text trace read as binary.
        if all(32 <= byte < 127 or byte in b"\t\r\n" for byte in head):
            raise TraceError(
                f"{self.path}: record 1: looks like text, not oracleGeneral binary "
                f"(use format=csv or format=txt for a text trace)"
            )
        whole, extra = divmod(self.file_size, _RECORD_BYTES)
        if extra:
            raise TraceError(
                f"{self.path}: {self.file_size} bytes is not a whole number of "
                f"{_RECORD_BYTES}-byte records: record {whole + 1} is truncated "
                f"({extra} of {_RECORD_BYTES} bytes)"
            )
        self.records = whole

    def _expected(self) -> str:
        return f"{_RECORD_BYTES}-byte oracleGeneral records"

    def where(self, index: int) -> str:
        return f"record {index + 1}"

    def _chunks(self, chunk):
        start = 0
        with open(self.path, "rb") as handle:
            while start < self.records:
                records = np.fromfile(handle, dtype=_RECORD, count=min(chunk, self.records - start))
                n = len(records)
                if n == 0:
                    raise TraceError(f"{self.path}: record {start + 1}: file ended early (it shrank while being read?)")
                position = np.arange(start + 1, start + n + 1)
                following = records["next"]
                bad = (following != -1) & (following <= position)
                if bad.any():
                    i = int(np.argmax(bad))
                    raise TraceError(
                        f"{self.path}: record {start + i + 1}: next access {following[i]} is neither -1 "
                        f"nor a later request number (expected oracleGeneral records; is this a "
                        f"different format?)"
                    )
                yield _batch(
                    start,
                    records["id"].view(np.int64).copy(),
                    records["time"].astype(np.int64),
                    records["size"].astype(np.int64),
                )
                start += n


# -- a trace as the simulator's workload --------------------------------------------

#: seconds per unit of a trace's timestamps
TIME_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}


@dataclass(frozen=True)
class TraceWorkload:
    """A trace as the request stream of the SimPy model (``sim.run``).

    Same interface as workloads.Workload: ``batches(seed, total, chunk)``
    yields RequestBatch-es whose times are seconds from the first request.

    path, format, options: the trace and its reader options (see open_trace),
        such as {"key": "lbn"}; kept as a sorted tuple of pairs, so that the
        workload stays hashable like the rest of a Scenario.
    time_unit: the unit of the trace's timestamps: "s", "ms", "us", "ns" or
        seconds per unit as a number.  Arrival i is at
        (t_i - t_0) * time_unit seconds.
    rate: requests per second.  When given, arrivals are a Poisson process of
        that rate drawn from the run's seed (as in Workload), and the trace's
        timestamps are ignored; it is required for a trace without timestamps.
    disorder: what to do when a timestamp is earlier than the one before it:
        "error" (a TraceError naming the line) or "clamp" (the request arrives
        with the previous one; real traces logged by several threads are often
        a little out of order).

    Sizes come from the trace (1 when it has none), ops from its op column.
    The trace is the same for every seed: only Poisson arrivals use the seed.
    When `total` exceeds the trace's length, the stream stops at the end of
    the trace, so a run measures fewer requests than asked (RunResult.requests
    says how many).
    """

    path: str | Path
    format: str | None = None
    time_unit: float | str = "s"
    rate: float | None = None
    options: tuple = ()
    disorder: str = "error"

    def __post_init__(self):
        options = self.options.items() if isinstance(self.options, dict) else self.options
        object.__setattr__(self, "options", tuple(sorted((str(k), v) for k, v in options)))
        unit = self.time_unit
        if isinstance(unit, str):
            if unit not in TIME_UNITS:
                raise TraceError(f"time_unit must be one of {', '.join(TIME_UNITS)} or seconds per unit; got {unit!r}")
        elif isinstance(unit, bool) or not isinstance(unit, (int, float)) or not (math.isfinite(unit) and unit > 0):
            raise TraceError(
                f"time_unit must be a positive number of seconds or one of {', '.join(TIME_UNITS)}; got {unit!r}"
            )
        if self.rate is not None and (isinstance(self.rate, bool) or not self.rate > 0):
            raise TraceError(f"rate must be > 0 requests per second; got {self.rate!r}")
        if self.disorder not in ("error", "clamp"):
            raise TraceError(f"disorder must be 'error' or 'clamp'; got {self.disorder!r}")
        trace = self.trace()  # fails now, not in the middle of a run, on a bad path or header
        if not trace.has_time and self.rate is None:
            raise TraceError(f"{trace.path}: the trace has no timestamps; give a request rate (rate=...)")

    @property
    def seconds_per_unit(self) -> float:
        return TIME_UNITS[self.time_unit] if isinstance(self.time_unit, str) else float(self.time_unit)

    def trace(self) -> Trace:
        return open_trace(self.path, self.format, **dict(self.options))

    def batches(self, seed: int, total: int, chunk: int = DEFAULT_CHUNK) -> Iterator[RequestBatch]:
        """The first `total` requests of the trace (fewer if it is shorter), times in seconds."""
        trace = self.trace()
        scale = self.seconds_per_unit
        arrivals = Poisson(self.rate) if self.rate is not None else None
        arrival_rng = rng_for(seed, "workload.arrivals") if arrivals else None
        clock = 0.0
        origin = None
        previous = 0.0
        batches = trace.chunks(chunk)
        try:
            for batch in batches:
                n = min(len(batch), total - batch.start)
                if n <= 0:
                    break
                if arrivals is not None:
                    times = clock + np.cumsum(arrivals.gaps(arrival_rng, n))
                    clock = float(times[-1])
                else:
                    raw = batch.time[:n]
                    if origin is None:
                        origin = raw[0]
                    # Subtract in the trace's own type first: int64 nanosecond
                    # stamps stay exact where float64 would round them.
                    times = (raw - origin).astype(np.float64) * scale
                    times, previous = self._ordered(times, previous, batch.start, trace)
                yield RequestBatch(times, batch.key[:n], batch.size[:n], batch.op[:n], batch.start)
                if batch.start + n >= total:
                    break
        finally:
            batches.close()

    def _ordered(self, times: np.ndarray, previous: float, start: int, trace: Trace):
        """Times checked (or clamped) to be non-decreasing from `previous`; and the new previous."""
        steps = np.diff(times, prepend=previous)
        if (steps < 0).any():
            if self.disorder == "error":
                i = int(np.argmax(steps < 0))
                raise TraceError(
                    f"{trace.path}: {trace.where(start + i)}: timestamp goes back in time "
                    f"({steps[i] / self.seconds_per_unit:g} units before the previous request); "
                    f'use disorder="clamp" to let it arrive with the previous one'
                )
            times = np.maximum.accumulate(np.maximum(times, previous))
        return times, float(times[-1])


def next_access(keys) -> np.ndarray:
    """For each request, the 1-based number of the next request to the same key, or -1.

    This is oracleGeneral's fourth field; computed with one stable sort.
    """
    keys = np.asarray(keys)
    order = np.argsort(keys, kind="stable")
    following = np.full(len(keys), -1, dtype=np.int64)
    same = keys[order[1:]] == keys[order[:-1]]
    following[order[:-1][same]] = order[1:][same] + 1
    return following


def oracle_general_records(keys, times=None, sizes=None) -> np.ndarray:
    """Requests as oracleGeneral records; times default to the request number, sizes to 1."""
    keys = np.asarray(keys, dtype=np.int64)
    records = np.zeros(len(keys), dtype=_RECORD)
    records["time"] = np.arange(len(keys)) if times is None else times
    records["id"] = keys.view(np.uint64)
    records["size"] = 1 if sizes is None else sizes
    records["next"] = next_access(keys)
    return records


def write_oracle_general(path, keys, times=None, sizes=None) -> Path:
    """Write requests as a libCacheSim oracleGeneral trace (24-byte records).

    Useful to hand a synthetic workload to libCacheSim, or to keep one as a file.
    """
    oracle_general_records(keys, times, sizes).tofile(path)
    return Path(path)
