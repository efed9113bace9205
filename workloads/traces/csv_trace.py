"""The ``csv`` format: a header line names the columns, then one request per line.

The key column and the optional time, size, op and ttl columns are chosen
by name (``key="lbn"``), or detected from common names (CSV_COLUMN_NAMES):
libCacheSim's ``version,time,op,size,lbn`` works as is (lbn is the object
id).  A headerless file needs ``names=[...]``.  Fields may be quoted but may
not contain line breaks.  pandas' C parser reads the rows, a chunk at a time,
from the file's bytes (decompressed, when it is compressed).

Schema.  key: an integer or text (see workloads.traces for keys); time: a
number in the trace's own unit; size: a whole number of bytes; op: a value
of OP_VALUES (reads: 0, r, read, get ...; writes: 1, w, write, set, delete
...; SCSI opcodes); ttl: whole seconds, 0 for none.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

import numpy as np

from workloads.stream import MAX_OBJECT_BYTES, READ, WRITE
from workloads.traces.base import (
    CONTROL_CHARACTERS,
    MAX_LINE,
    Trace,
    TraceBatch,
    TraceError,
    Where,
    check_key_type,
    line_at,
    nth_content_line,
    request_batch,
    text_keys,
)
from workloads.traces.compression import StreamError, TracePath
from workloads.traces.fields import Dtypes, numbers
from workloads.traces.fields import ops as ops_of

if TYPE_CHECKING:  # pandas loads where a CSV is parsed: kvsim's start-up and binary traces go without it
    import pandas as pd
    from pandas.io.parsers import TextFileReader

#: column names recognised when the caller does not name a column (compared in lower case)
CSV_COLUMN_NAMES = {
    "key": ("key", "obj_id", "object_id", "objid", "id", "lbn", "lba", "block", "obj", "object"),
    "time": ("time", "timestamp", "ts", "clock_time", "real_time"),
    "size": ("size", "obj_size", "object_size", "bytes", "req_size"),
    "op": ("op", "operation", "opcode", "cmd", "command", "type"),
    "ttl": ("ttl",),
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


class CSVTrace(Trace):
    """A CSV trace: a header line, then one request per line.

    key, time, size, op, ttl: the header name of each column; None (default)
    detects it from common names (CSV_COLUMN_NAMES), False ignores it.  Only
    the key column is required.
    names: column names of a headerless file (then the first line is data).
    delimiter: the field separator.
    key_type: "auto", "int" or "str" (see workloads.traces for keys).
    """

    format = "csv"

    def __init__(
        self,
        path: TracePath,
        key: str | bool | None = None,
        time: str | bool | None = None,
        size: str | bool | None = None,
        op: str | bool | None = None,
        ttl: str | bool | None = None,
        names: Iterable[object] | None = None,
        delimiter: str = ",",
        key_type: str = "auto",
    ):
        check_key_type(key_type)
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
        for role, given in (("key", key), ("time", time), ("size", size), ("op", op), ("ttl", ttl)):
            column = self._column(role, given)
            if column is not None:
                self.columns[role] = column
        self.has_time = "time" in self.columns
        self.has_size = "size" in self.columns
        self.has_op = "op" in self.columns
        self.has_ttl = "ttl" in self.columns

    def _expected(self) -> str:
        key = getattr(self, "columns", {}).get("key")
        what = f" with a {key!r} column" if key else ""
        return f"CSV: a header line, then one request per line{what}"

    def _read_header(self) -> list[str]:
        try:
            with self.open(parallel=False) as handle:
                raw = handle.readline(MAX_LINE + 1)
        except StreamError as error:
            raise TraceError(f"{self.path}: line 1: {error.reason}") from None
        if len(raw) > MAX_LINE:
            raise TraceError(f"{self.path}: line 1: longer than {MAX_LINE} bytes (expected a CSV header line)")
        try:
            line = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise TraceError(
                f"{self.path}: line 1: not UTF-8 text (expected a CSV header line; "
                f"for a binary trace use format=oraclegeneral)"
            ) from None
        if CONTROL_CHARACTERS.search(line):
            raise TraceError(
                f"{self.path}: line 1: control characters (expected a CSV header line; is this a binary trace?)"
            )
        names = [name.strip() for name in next(csv.reader([line], delimiter=self.delimiter), [])]
        if not any(names):
            raise TraceError(f"{self.path}: line 1: empty (expected a CSV header line naming the columns)")
        return names

    def _column(self, role: str, given: str | bool | None) -> str | None:
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
        return f"line {nth_content_line(self, index, header=self.header)}"

    def _reader(self, handle: io.BufferedIOBase, chunk: int, skip_rows: int, key_as_text: bool) -> TextFileReader:
        import pandas as pd

        dtype: Dtypes = {}
        if key_as_text:
            dtype[self.columns["key"]] = str
        if "op" in self.columns:
            dtype[self.columns["op"]] = "category"
        # The header (when there is one) is skipped rather than parsed by pandas,
        # so that columns carry the names as this reader stripped them.
        first_line = 2 if self.header else 1
        if skip_rows:
            # Restarting after `skip_rows` data rows: find their physical line (rare).
            first_line = nth_content_line(self, skip_rows, header=self.header)
        return pd.read_csv(
            handle,
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
        import pandas as pd

        row = 0
        key_as_text = self.key_type == "str"
        while True:
            switched = False
            try:
                with self.open() as handle, self._reader(handle, chunk, row, key_as_text) as reader:
                    for frame in reader:
                        key_kind = frame[self.columns["key"]].dtype.kind
                        if key_kind == "f" and self.key_type == "auto" and not key_as_text:
                            # Keys like "1.5" (or empty ones) were read as floats,
                            # which loses their text: re-read from here as text.
                            key_as_text = switched = True
                            break
                        yield row, frame
                        row += len(frame)
            except StreamError as error:
                raise TraceError(f"{self.path}: line {line_at(self, error.offset)}: {error.reason}") from None
            except UnicodeDecodeError:
                line = _first_undecodable_line(self)
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

    def _chunks(self, chunk: int) -> Iterator[TraceBatch]:
        start = 0
        for row, frame in self._frames(chunk):
            n = len(frame)
            if n == 0:
                continue
            where = lambda i, row=row: f"{self.path}: {self.where(row + i)}"  # noqa: E731
            keys = self._key_column(frame[self.columns["key"]], where)
            times = sizes = ops = ttls = None
            if "time" in self.columns:
                times = numbers(frame[self.columns["time"]], "time", self.columns["time"], where, integer=False)
            if "size" in self.columns:
                sizes = numbers(
                    frame[self.columns["size"]],
                    "size",
                    self.columns["size"],
                    where,
                    integer=True,
                    high=MAX_OBJECT_BYTES,
                )
            if "op" in self.columns:
                ops = ops_of(frame[self.columns["op"]], self.columns["op"], where, OP_VALUES)
            if "ttl" in self.columns:
                ttls = numbers(frame[self.columns["ttl"]], "ttl", self.columns["ttl"], where, integer=True)
            batch = request_batch(start, keys, times, sizes, ops, ttls)
            yield batch
            start += n

    def _key_column(self, column: pd.Series, where: Where) -> np.ndarray:
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
        missing = column.isna().to_numpy()
        if missing.any():
            raise TraceError(f"{where(int(np.argmax(missing)))}: column {name!r}: empty key")
        texts = [str(text).strip() for text in values]
        return text_keys(texts, self.key_type, where)


def _parser_message(error: Exception) -> str:
    """pandas' tokenizer message, reworded: 'line N: expected 5 fields, found 6'."""
    text = str(error)
    match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text)
    if match:
        expected, line, saw = match.groups()
        return f"line {line}: expected {expected} fields (as many as the header names), found {saw}"
    return f"cannot read as CSV: {text.strip()}"


def _first_undecodable_line(trace: Trace) -> int:
    with trace.open(parallel=False) as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return 1
