"""The ``cachelib`` format: Meta's key-value cache traces, as CacheLib's cachebench replays them.

Schema: comma-separated, a header line naming the columns (CacheLib's
KVReplayGenerator finds them by name).  The published traces come in two
layouts, both read:

    key,op,size,op_count,key_size[,ttl]                     kvcache 202206, 202312
    op_time,key,key_size,op,op_count,size,cache_hits,ttl[,usecase,sub_usecase]
                                                            kvcache 202210, 202401

    key         the key: an integer (2022) or hex text (2024)
    op          GET, GET_LEASE, SET, SET_LEASE or DELETE
    size        the value's size in bytes (0 for a GET that missed)
    op_count    how many times in a row this request was made (at least 1)
    key_size    the key's size in bytes
    op_time     when, in the trace's own unit (the 202206 and 202312 traces have no time)
    ttl         seconds the value may live, 0 for none
    cache_hits, usecase, sub_usecase   not used

A file without a header line is read as the first layout, its ttl
optional on each line.  The columns key, op, size, op_count and key_size are
needed; a header without one of them is an error.  Fields after the last
column are ignored, as CacheLib's replayer ignores them.

Read as: each line is op_count requests, one after the other; key = the
key's id (``key_type``); size = key_size + size, or size alone with
``object_size="value"``; op = READ for GET and GET_LEASE, WRITE for SET,
SET_LEASE and DELETE (a delete changes what the cache holds, as a write
does); time = op_time when there is one (else request numbers); ttl = ttl
when there is one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from workloads.stream import MAX_OBJECT_BYTES, READ, WRITE
from workloads.traces.base import MAX_LINE, Trace, TraceBatch, TraceError, Where, check_key_type, line_blocks, rechunk
from workloads.traces.compression import StreamError, TracePath
from workloads.traces.fields import Dtypes, expand, missing_fields, numbers, ops, parse_block
from workloads.traces.twitter import check_object_size, key_column, object_sizes

if TYPE_CHECKING:
    import pandas as pd

#: the first layout's columns, in order (a headerless file's)
V1_COLUMNS = ("key", "op", "size", "op_count", "key_size", "ttl")
#: the columns a cachelib trace must have
NEEDED = ("key", "op", "size", "op_count", "key_size")

#: CacheLib's operations -> READ or WRITE
CACHELIB_OPS = {
    **dict.fromkeys(("get", "get_lease"), READ),
    **dict.fromkeys(("set", "set_lease", "delete"), WRITE),
}


class CacheLibTrace(Trace):
    """Meta's key-value trace in CacheLib's CSV (see the module docstring for its schema and how it is read).

    key_type: "auto", "int" or "str" (see workloads.traces for keys).
    object_size: "key+value" (default) or "value": what a request's size counts.
    """

    format = "cachelib"
    has_size = has_op = True

    def __init__(self, path: TracePath, key_type: str = "auto", object_size: str = "key+value"):
        check_key_type(key_type)
        check_object_size(object_size)
        super().__init__(path)
        self.key_type, self.object_size = key_type, object_size
        self.names, self.header = self._layout()
        missing = [name for name in NEEDED if name not in self.names]
        if missing:
            raise TraceError(
                f"{self.path}: line 1: no column {', '.join(map(repr, missing))}, which the cachelib format "
                f"needs ({','.join(NEEDED)}); columns: {','.join(self.names)}"
            )
        self.has_time = "op_time" in self.names
        self.has_ttl = "ttl" in self.names

    def _expected(self) -> str:
        return f"CacheLib key-value trace lines ({','.join(NEEDED)}, ...)"

    def _layout(self) -> tuple[tuple[str, ...], bool]:
        """The columns, and whether line 1 is the header naming them (else the first layout's, in order)."""
        try:
            with self.open(parallel=False) as handle:
                raw = handle.readline(MAX_LINE + 1)
        except StreamError as error:
            raise TraceError(f"{self.path}: line 1: {error.reason}") from None
        try:
            fields = [field.strip() for field in raw.decode("utf-8-sig").rstrip("\r\n").split(",")]
        except UnicodeDecodeError:
            raise TraceError(f"{self.path}: line 1: not UTF-8 text (expected {self._expected()})") from None
        if "key" in fields and "op" in fields:
            while fields and not fields[-1]:  # a trailing comma
                fields.pop()
            if len(set(fields)) != len(fields):
                raise TraceError(f"{self.path}: line 1: the header repeats a column: {','.join(fields)}")
            return tuple(fields), True
        if len(fields) in (5, 6):
            return V1_COLUMNS, False
        raise TraceError(
            f"{self.path}: line 1: neither a header naming the columns nor a line of 5 or 6 fields "
            f"({','.join(V1_COLUMNS)}); expected {self._expected()}"
        )

    def _chunks(self, chunk: int) -> Iterator[TraceBatch]:
        return rechunk(self._pieces(chunk), chunk)

    def _pieces(self, chunk: int) -> Iterator[dict[str, np.ndarray]]:
        dtypes: Dtypes = {"key": str, "op": "category"}
        for first, block in line_blocks(self):
            if self.header and first == 1:  # the header is not a request
                cut = block.find(b"\n") + 1
                block, first = (block[cut:], 2) if cut else (b"", 2)
            if not block.strip():
                continue
            frame, where = parse_block(self, block, first, self.names, dtypes)
            if not len(frame):
                continue
            missing_fields(frame, self.names, self._needed_width(), where)
            counts = numbers(frame["op_count"], "op count", "op_count", where, integer=True)
            if (counts < 1).any():
                i = int(np.argmax(counts < 1))
                raise TraceError(f"{where(i)}: column 'op_count': a request is made at least once; got {counts[i]}")
            yield from expand(self._columns(frame, where), counts, count_up=False, most=chunk)

    def _needed_width(self) -> int:
        """How many leading fields a row must have: up to the last needed column."""
        return max(self.names.index(name) for name in NEEDED) + 1

    def _columns(self, frame: pd.DataFrame, where: Where) -> dict[str, np.ndarray]:
        key_sizes = numbers(frame["key_size"], "key size", "key_size", where, integer=True, high=MAX_OBJECT_BYTES)
        value_sizes = numbers(frame["size"], "size", "size", where, integer=True, high=MAX_OBJECT_BYTES)
        columns = {
            "keys": key_column(frame["key"], self.key_type, where),
            "sizes": object_sizes(key_sizes, value_sizes, self.object_size, "size", where),
            "ops": ops(frame["op"], "op", where, CACHELIB_OPS),
        }
        if self.has_time:
            columns["times"] = numbers(frame["op_time"], "time", "op_time", where, integer=False)
        if self.has_ttl:
            ttl = frame["ttl"].fillna(0)  # a first-layout line may leave the TTL out
            columns["ttls"] = numbers(ttl, "ttl", "ttl", where, integer=True)
        return columns
