"""Writers: requests written as a trace of any format, compressed as the file's name says.

    write_trace("t.twitter.zst", keys, sizes, times, ops, ttls=ttls)
    write_batches("t.oracleGeneral.gz", open_trace("t.csv").chunks())   # a conversion, streamed

The format comes from the name as for reading (``detect_format``: a format
suffix such as .twitter or .msr, else .csv, .txt or .bin) or is named with
``format=``; the compression from the name's last suffix (.zst, .gz, .xz,
.bz2; none otherwise), at ``level`` (compression.DEFAULT_LEVELS when None).
A file is written whole or not at all: into a temporary name, renamed when
done.  Read back with open_trace, a written trace gives the same requests,
for every column its format keeps (KEPT); the others read back as the
format's defaults (request numbers for times, 1 for sizes, READ, no TTL).

How each format is written (the readers' docstrings give the schemas):

csv            a header, then the columns given: time,key,size,op,ttl (op as read or write)
txt            one key a line
oraclegeneral  24-byte records; times and sizes must fit its 32-bit fields; the next-access
               field needs the whole key sequence, so this writer holds the keys in memory
twitter        timestamp,key,key_size,value_size,0,get|set,ttl: the key's text is its id in
               decimal, key_size that text's length (at most the size), value_size the rest
cachelib       the 2022 layout key,op,size,op_count,key_size[,ttl] without times, the 2024
               one op_time,key,key_size,op,op_count,size,cache_hits,ttl with: GET or SET, the
               size split as for twitter, identical requests in a row as one line's op_count
msr            filetime,kvsim,0,Read|Write,offset,size,0: keys are byte offsets (>= 0)
arc            'start count 0 n' lines: a run of consecutive keys (>= 0) as one line
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from pathlib import Path
from typing import IO

import numpy as np
import numpy.typing as npt

from workloads.stream import MAX_OBJECT_BYTES, READ, WRITE, RequestBatch
from workloads.traces.base import Trace, detect_format, trace_format
from workloads.traces.compression import TracePath, compression_in_name, open_compressed, replace_atomically
from workloads.traces.errors import TraceError
from workloads.traces.oracle_general import oracle_general_records

COLUMNS = ("key", "time", "size", "op", "ttl")

#: what write_batches writes: a RequestBatch (a TraceBatch, with its ttl), or a dict of arrays named as COLUMNS
Batch = RequestBatch | dict[str, npt.ArrayLike]
#: a batch's columns, by name
Arrays = dict[str, np.ndarray]

#: the columns each format keeps
KEPT = {
    "csv": COLUMNS,
    "txt": ("key",),
    "oraclegeneral": ("key", "time", "size"),
    "twitter": COLUMNS,
    "cachelib": COLUMNS,
    "msr": ("key", "time", "size", "op"),
    "arc": ("key",),
}

_UINT32 = (1 << 32) - 1


def write_trace(
    path: TracePath,
    keys: npt.ArrayLike,
    sizes: npt.ArrayLike | None = None,
    times: npt.ArrayLike | None = None,
    ops: npt.ArrayLike | None = None,
    ttls: npt.ArrayLike | None = None,
    *,
    format: str | None = None,
    level: int | None = None,
) -> Path:
    """Write requests as a trace file: its format and compression from the name, or `format`.

    keys: integer ids; sizes: bytes; times: the trace's own timestamps;
    ops: READ (0) or WRITE (1); ttls: whole seconds, 0 for none.  Every
    column but keys may be None (not written; read back as the format's
    default).  Returns the path.
    """
    given = {"key": keys, "time": times, "size": sizes, "op": ops, "ttl": ttls}
    batch: dict[str, npt.ArrayLike] = {name: np.asarray(column) for name, column in given.items() if column is not None}
    return write_batches(path, [batch], format=format, columns=tuple(batch), level=level)


def write_batches(
    path: TracePath,
    batches: Iterable[Batch],
    *,
    format: str | None = None,
    columns: Collection[str] | None = None,
    level: int | None = None,
) -> Path:
    """Write a stream of batches as a trace file, a batch at a time (oraclegeneral: at the end).

    batches: RequestBatch-es (TraceBatch-es, with their ttl) or dicts of
    arrays named as COLUMNS.  columns: which columns to write (default: what
    the first batch has; a TraceBatch's ttl when it is not None).  Use
    ``trace_columns(trace)`` to write what a trace read from a file has.
    """
    path = Path(path)
    fmt = trace_format(format) if format else detect_format(path)
    compression = compression_in_name(path)
    chosen = None if columns is None else _checked_columns(columns)

    def write(handle: IO[bytes]) -> None:
        nonlocal chosen
        with open_compressed(handle, compression, level) as sink:
            if fmt == "oraclegeneral":
                sink.write(_oracle_general(batches, chosen))
                return
            written = 0
            for batch in batches:
                arrays = _arrays(batch)
                if not len(arrays["key"]):
                    continue
                chosen = chosen or tuple(name for name in COLUMNS if name in arrays)
                arrays = _checked(arrays, chosen, written)
                if written == 0:
                    sink.write(_HEADERS[fmt](chosen).encode())
                sink.write(_LINES[fmt](arrays, written).encode())
                written += len(arrays["key"])
            if written == 0:
                raise TraceError(f"{path}: no requests to write")

    return replace_atomically(path, write)


def trace_columns(trace: Trace) -> tuple[str, ...]:
    """The columns a trace read from a file has (for write_batches' `columns`)."""
    flags = {"time": trace.has_time, "size": trace.has_size, "op": trace.has_op, "ttl": trace.has_ttl}
    return ("key", *(name for name, present in flags.items() if present))


# -- the columns, checked -----------------------------------------------------------------


def _checked_columns(columns: Collection[str]) -> tuple[str, ...]:
    unknown = [name for name in columns if name not in COLUMNS]
    if unknown or "key" not in columns:
        raise TraceError(f"columns must include key and be among {', '.join(COLUMNS)}; got {', '.join(columns)}")
    return tuple(name for name in COLUMNS if name in columns)


def _arrays(batch: Batch) -> Arrays:
    if isinstance(batch, dict):
        return {name: np.asarray(value) for name, value in batch.items() if value is not None}
    arrays = {"key": batch.key, "time": batch.time, "size": batch.size, "op": batch.op}
    ttl = getattr(batch, "ttl", None)  # a TraceBatch's, when its trace logs TTLs
    if ttl is not None:
        arrays["ttl"] = ttl
    return arrays


def _checked(arrays: Arrays, chosen: tuple[str, ...], before: int) -> dict[str, np.ndarray]:
    """The chosen columns, each checked to hold what a trace can say; errors name the request."""
    n = len(arrays["key"])
    out = {}
    for name in chosen:
        if name not in arrays:
            raise TraceError(f"request {before + 1}: the batch has no {name} column")
        column = np.asarray(arrays[name])
        if column.shape != (n,):
            raise TraceError(f"the {name} column holds {column.shape} values for {n} keys")
        integer = name != "time"
        if column.dtype.kind not in ("iu" if integer else "iuf"):
            raise TraceError(f"the {name} column must hold {'integers' if integer else 'numbers'}; got {column.dtype}")
        low, high = {"size": (0, MAX_OBJECT_BYTES), "op": (READ, WRITE), "ttl": (0, None), "time": (0, None)}.get(
            name, (None, None)
        )
        _within(column, name, low, high, before)
        out[name] = column
    return out


def _within(column: np.ndarray, name: str, low: float | None, high: float | None, before: int) -> None:
    bad = np.zeros(len(column), dtype=bool)
    if column.dtype.kind == "f":
        bad |= ~np.isfinite(column)
    if low is not None:
        bad |= column < low
    if high is not None:
        bad |= column > high
    if bad.any():
        i = int(np.argmax(bad))
        allowed = f"{low} or {high}" if name == "op" else f">= {low}" + (f" and <= {high}" if high else "")
        raise TraceError(f"request {before + i + 1}: {name} {column[i]} (a {name} must be {allowed})")


def _default(arrays: Arrays, name: str, before: int) -> np.ndarray:
    """A column the format writes whether or not it was given: times are request numbers, sizes 1, reads, no TTL."""
    if name in arrays:
        return arrays[name]
    n = len(arrays["key"])
    if name == "time":
        return np.arange(before, before + n, dtype=np.int64)
    return np.ones(n, dtype=np.int64) if name == "size" else np.zeros(n, dtype=np.int64)


def _whole(arrays: Arrays, name: str, what: str, before: int) -> np.ndarray:
    """A column (or its default) that the format writes as whole numbers >= 0; `what` says why."""
    column = _default(arrays, name, before)
    bad = column < 0
    if column.dtype.kind == "f":
        bad |= column != np.floor(column)
    if bad.any():
        i = int(np.argmax(bad))
        raise TraceError(f"request {before + i + 1}: {name} {column[i]}: {what}")
    return column.astype(np.int64)


# -- the formats ---------------------------------------------------------------------------


def _lines(columns: Mapping[str, object], sep: str = ",") -> str:
    """The rows of `columns` (equal-length arrays, or a scalar repeated) as lines of text, by pandas' C writer."""
    import pandas as pd  # here, not above: writing a binary trace, or reading one, goes without it

    return pd.DataFrame(columns).to_csv(None, header=False, index=False, sep=sep, lineterminator="\n")


def _csv_header(chosen: tuple[str, ...]) -> str:
    return ",".join(name for name in ("time", "key", "size", "op", "ttl") if name in chosen) + "\n"


def _csv_lines(arrays: Arrays, before: int) -> str:
    columns: dict[str, object] = {name: arrays[name] for name in ("time", "key", "size", "op", "ttl") if name in arrays}
    if "op" in columns:
        columns["op"] = np.where(arrays["op"] == WRITE, "write", "read")
    return _lines(columns)


def _txt_lines(arrays: Arrays, before: int) -> str:
    return _lines({"key": arrays["key"]})


def _split_sizes(keys: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A key's text, and the size split into the key's bytes (its text's length, at most the size) and the value's."""
    texts = keys.astype(str)
    key_sizes = np.minimum(np.char.str_len(texts), sizes)
    return texts, key_sizes, sizes - key_sizes


def _twitter_lines(arrays: Arrays, before: int) -> str:
    sizes = _default(arrays, "size", before)
    texts, key_sizes, value_sizes = _split_sizes(arrays["key"], sizes)
    ops = _default(arrays, "op", before)
    return _lines(
        {
            "timestamp": _whole(arrays, "time", "Twitter timestamps are whole seconds", before),
            "key": texts,
            "key_size": key_sizes,
            "value_size": value_sizes,
            "client_id": 0,
            "operation": np.where(ops == WRITE, "set", "get"),
            "ttl": _default(arrays, "ttl", before),
        }
    )


def _cachelib_header(chosen: tuple[str, ...]) -> str:
    if "time" in chosen:
        return "op_time,key,key_size,op,op_count,size,cache_hits,ttl\n"
    return "key,op,size,op_count,key_size" + (",ttl" if "ttl" in chosen else "") + "\n"


def _cachelib_lines(arrays: Arrays, before: int) -> str:
    columns = {name: _default(arrays, name, before) for name in ("key", "size", "op", "ttl")}
    if "time" in arrays:
        columns["time"] = arrays["time"]
    # Identical requests in a row become one line, its op_count how many.
    n = len(columns["key"])
    change = np.ones(n, dtype=bool)
    for column in columns.values():
        change[1:] |= column[1:] != column[:-1]
    starts = np.flatnonzero(change)
    counts = np.diff(np.append(starts, n))
    rows = {name: column[starts] for name, column in columns.items()}
    texts, key_sizes, value_sizes = _split_sizes(rows["key"], rows["size"])
    op = np.where(rows["op"] == WRITE, "SET", "GET")
    if "time" in rows:
        frame: dict[str, np.ndarray | int] = {
            "op_time": rows["time"],
            "key": texts,
            "key_size": key_sizes,
            "op": op,
            "op_count": counts,
        }
        frame |= {"size": value_sizes, "cache_hits": 0, "ttl": rows["ttl"]}
    else:
        frame = {"key": texts, "op": op, "size": value_sizes, "op_count": counts, "key_size": key_sizes}
        if "ttl" in arrays:
            frame["ttl"] = rows["ttl"]
    return _lines(frame)


def _msr_lines(arrays: Arrays, before: int) -> str:
    ops = _default(arrays, "op", before)
    return _lines(
        {
            "Timestamp": _whole(arrays, "time", "MSR timestamps are whole filetime ticks", before),
            "Hostname": "kvsim",
            "DiskNumber": 0,
            "Type": np.where(ops == WRITE, "Write", "Read"),
            "Offset": _whole(arrays, "key", "an MSR offset is a byte offset, >= 0", before),
            "Size": _default(arrays, "size", before),
            "ResponseTime": 0,
        }
    )


def _arc_lines(arrays: Arrays, before: int) -> str:
    keys = _whole(arrays, "key", "an ARC block number is >= 0", before)
    # A run of consecutive blocks (k, k+1, ...) is one line.
    starts = np.flatnonzero(np.append(True, np.diff(keys) != 1))
    counts = np.diff(np.append(starts, len(keys)))
    numbers = before + starts + 1
    return _lines({"start": keys[starts], "count": counts, "zero": 0, "n": numbers}, sep=" ")


_HEADERS: dict[str, Callable[[tuple[str, ...]], str]] = {
    "csv": _csv_header,
    "cachelib": _cachelib_header,
    **dict.fromkeys(("txt", "twitter", "msr", "arc"), lambda chosen: ""),
}
_LINES: dict[str, Callable[[Arrays, int], str]] = {
    "csv": _csv_lines,
    "txt": _txt_lines,
    "twitter": _twitter_lines,
    "cachelib": _cachelib_lines,
    "msr": _msr_lines,
    "arc": _arc_lines,
}


def _oracle_general(batches: Iterable[Batch], chosen: tuple[str, ...] | None) -> bytes:
    """The records of every batch (oracleGeneral's next access needs them all); times and sizes checked to fit."""
    parts: dict[str, list[np.ndarray]] = {name: [] for name in ("key", "time", "size")}
    before = 0
    for batch in batches:
        arrays = _arrays(batch)
        chosen = chosen or tuple(name for name in COLUMNS if name in arrays)
        arrays = _checked(arrays, chosen, before)
        for name in parts:
            if name in chosen:
                parts[name].append(arrays[name])
        before += len(arrays["key"])
    if before == 0:
        raise TraceError("no requests to write")
    keys = np.concatenate(parts["key"])
    columns = {name: np.concatenate(parts[name]) if parts[name] else None for name in ("time", "size")}
    for name, column in columns.items():
        if column is None:
            continue
        bad = column > _UINT32
        if column.dtype.kind == "f":
            bad |= column != np.floor(column)
        if bad.any():
            i = int(np.argmax(bad))
            raise TraceError(
                f"request {i + 1}: {name} {column[i]} does not fit oracleGeneral's 32-bit {name} field "
                f"(whole numbers from 0 to {_UINT32})"
            )
    return oracle_general_records(keys, columns["time"], columns["size"]).tobytes()
