"""The ``csv`` format: a header line names the columns, then one request per line.

The key column and the optional time, size and op columns are chosen by
name (``key="lbn"``), or detected from common names (CSV_COLUMN_NAMES):
libCacheSim's ``version,time,op,size,lbn`` works as is (lbn is the object
id).  A headerless file needs ``names=[...]``.  Fields may be quoted but may
not contain line breaks.  pandas' C parser reads the rows, a chunk at a time.
"""

from __future__ import annotations

import csv
import difflib
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from workloads.stream import MAX_OBJECT_BYTES, READ, WRITE
from workloads.traces.base import (
    CONTROL_CHARACTERS,
    INT64_MAX,
    MAX_LINE,
    Trace,
    TraceError,
    check_key_type,
    nth_content_line,
    request_batch,
    text_keys,
)

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


class CSVTrace(Trace):
    """A CSV trace: a header line, then one request per line.

    key, time, size, op: the header name of each column; None (default)
    detects it from common names (CSV_COLUMN_NAMES), False ignores it.  Only
    the key column is required.
    names: column names of a headerless file (then the first line is data).
    delimiter: the field separator.
    key_type: "auto", "int" or "str" (see workloads.traces for keys).
    """

    format = "csv"

    def __init__(
        self, path, key=None, time=None, size=None, op=None, names=None, delimiter: str = ",", key_type: str = "auto"
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
            raw = handle.readline(MAX_LINE + 1)
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
        return f"line {nth_content_line(self.path, index, header=self.header)}"

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
            first_line = nth_content_line(self.path, skip_rows, header=self.header)
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
                sizes = _numbers(
                    frame[self.columns["size"]],
                    "size",
                    self.columns["size"],
                    where,
                    integer=True,
                    high=MAX_OBJECT_BYTES,
                )
            if "op" in self.columns:
                ops = _ops(frame[self.columns["op"]], self.columns["op"], where)
            batch = request_batch(start, keys, times, sizes, ops)
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
        return text_keys(texts, self.key_type, where)


def _numbers(column: pd.Series, role: str, name: str, where, integer: bool, high: int = INT64_MAX) -> np.ndarray:
    """A numeric column as int64 (or float64 for times with fractions); errors name the line.

    Integers must be non-negative and at most `high` (and fit int64): a size
    of 1e30 or -3 is a mistake in the trace, not a number to cast.
    """
    expected = "a non-negative integer" if integer else "a number"
    kind = column.dtype.kind
    if kind in "iu":
        values = column.to_numpy()
        if kind == "u":
            if (values > INT64_MAX).any():
                i = int(np.argmax(values > INT64_MAX))
                raise TraceError(f"{where(i)}: column {name!r}: {values[i]} is too large for the {role}")
            values = values.astype(np.int64)
        if integer and (values < 0).any():
            i = int(np.argmax(values < 0))
            raise TraceError(f"{where(i)}: column {name!r}: expected {expected} ({role}), got {values[i]}")
        _at_most(values, high, role, name, where)
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
        if integer:
            _at_most(values, min(high, 2.0**63 - 1024), role, name, where)  # what float64 holds below 2**63
        return values.astype(np.int64) if integer else values
    # Text in a numeric column: find the first field that is not a number.
    numeric = pd.to_numeric(column, errors="coerce")
    bad = pd.isna(numeric).to_numpy()
    if not bad.any():  # numbers after all (pandas kept them as text)
        return _numbers(numeric, role, name, where, integer, high)
    i = int(np.argmax(bad))
    value = column.iloc[i]
    got = "an empty field" if pd.isna(value) else repr(value)
    raise TraceError(f"{where(i)}: column {name!r}: expected {expected} ({role}), got {got}")


def _at_most(values: np.ndarray, high, role: str, name: str, where) -> None:
    if (values > high).any():
        i = int(np.argmax(values > high))
        raise TraceError(f"{where(i)}: column {name!r}: the {role} must be at most {int(high)}; got {values[i]:g}")


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
