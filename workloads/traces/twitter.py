"""The ``twitter`` format: Twitter's cache traces (github.com/twitter/cache-trace), one request a line.

Schema: no header line; seven comma-separated fields (the published files
are zstd-compressed, and read as they are):

    timestamp   when the cache received the request, in whole seconds
    key         the anonymised key, text (its namespaces kept: "nz:u:eeW511W3dcH3de3d15ec");
                it may itself hold commas, so the fields are counted from both ends
    key_size    the key's size in bytes
    value_size  the value's size in bytes
    client_id   the anonymised client that sent the request (not used)
    operation   get, gets, set, add, replace, cas, append, prepend, delete, incr or decr
    TTL         the time-to-live the client set, in seconds; 0 for none and for reads

Read as: time = timestamp (``seconds_per_unit`` 1); key = the key's id (an
integer key stays that integer, other text is hashed; ``key_type``); size =
key_size + value_size, what a memcached-style server stores and what
libCacheSim counts, or value_size alone with ``object_size="value"``; op =
READ for get and gets, WRITE for the other nine (a delete changes what the
cache holds as a write does, and the op column has READ and WRITE only); ttl
= TTL (``TraceBatch.ttl``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from workloads.stream import MAX_OBJECT_BYTES, READ, WRITE
from workloads.traces.base import (
    Trace,
    TraceBatch,
    TraceError,
    Where,
    check_key_type,
    line_blocks,
    nth_content_line,
    rechunk,
    text_keys,
)
from workloads.traces.compression import TracePath
from workloads.traces.fields import EXTRA, Dtypes, missing_fields, numbers, ops, parse_block

if TYPE_CHECKING:  # pandas loads where a block is parsed (fields.parse_block)
    import pandas as pd

NAMES = ("timestamp", "key", "key_size", "value_size", "client_id", "operation", "ttl")
_DTYPES: Dtypes = {"key": str, "client_id": "category", "operation": "category"}

#: Twitter's operations -> READ or WRITE
TWITTER_OPS = {
    **dict.fromkeys(("get", "gets"), READ),
    **dict.fromkeys(("set", "add", "replace", "cas", "append", "prepend", "delete", "incr", "decr"), WRITE),
}

#: what a request's size counts: the key and the value, or the value alone
OBJECT_SIZES = ("key+value", "value")


def check_object_size(object_size: str) -> None:
    if object_size not in OBJECT_SIZES:
        raise TraceError(f"object_size must be one of {', '.join(OBJECT_SIZES)}; got {object_size!r}")


def key_column(column: pd.Series, key_type: str, where: Where) -> np.ndarray:
    """A column of text keys as int64 ids; an empty one is an error naming its line."""
    missing = column.isna().to_numpy()
    if missing.any():
        raise TraceError(f"{where(int(np.argmax(missing)))}: empty key")
    return text_keys(column.to_numpy(dtype=object), key_type, where)


def object_sizes(
    key_sizes: npt.NDArray[np.int64], value_sizes: npt.NDArray[np.int64], object_size: str, name: str, where: Where
) -> np.ndarray:
    """Sizes in bytes: key + value, or value alone; at most MAX_OBJECT_BYTES."""
    sizes = value_sizes if object_size == "value" else key_sizes + value_sizes
    if (sizes > MAX_OBJECT_BYTES).any():
        i = int(np.argmax(sizes > MAX_OBJECT_BYTES))
        raise TraceError(f"{where(i)}: column {name!r}: an object of {sizes[i]} bytes; at most {MAX_OBJECT_BYTES}")
    return sizes


class TwitterTrace(Trace):
    """Twitter's cache trace (see the module docstring for its schema and how it is read).

    key_type: "auto", "int" or "str" (see workloads.traces for keys).
    object_size: "key+value" (default) or "value": what a request's size counts.
    """

    format = "twitter"
    has_time = has_size = has_op = has_ttl = True
    seconds_per_unit = 1.0

    def __init__(self, path: TracePath, key_type: str = "auto", object_size: str = "key+value"):
        check_key_type(key_type)
        check_object_size(object_size)
        super().__init__(path)
        self.key_type, self.object_size = key_type, object_size

    def _expected(self) -> str:
        return f"Twitter cache-trace lines: {','.join(NAMES)}"

    def where(self, index: int) -> str:
        return f"line {nth_content_line(self, index, header=False)}"

    def _chunks(self, chunk: int) -> Iterator[TraceBatch]:
        return rechunk(self._pieces(), chunk)

    def _pieces(self) -> Iterator[dict[str, np.ndarray]]:
        for first, block in line_blocks(self):
            frame, where = parse_block(self, block, first, NAMES, _DTYPES)
            if frame[EXTRA].notna().any():  # a key with commas in it: this block is split by hand
                frame, where = self._split_by_hand(block, first)
            if len(frame):
                missing_fields(frame, NAMES, len(NAMES), where)
                yield self._columns(frame, where)

    def _columns(self, frame: pd.DataFrame, where: Where) -> dict[str, np.ndarray]:
        key_sizes = numbers(frame["key_size"], "key size", "key_size", where, integer=True, high=MAX_OBJECT_BYTES)
        value_sizes = numbers(frame["value_size"], "value size", "value_size", where, True, MAX_OBJECT_BYTES)
        return {
            "keys": key_column(frame["key"], self.key_type, where),
            "times": numbers(frame["timestamp"], "time", "timestamp", where, integer=True),
            "sizes": object_sizes(key_sizes, value_sizes, self.object_size, "value_size", where),
            "ops": ops(frame["operation"], "operation", where, TWITTER_OPS),
            "ttls": numbers(frame["ttl"], "ttl", "ttl", where, integer=True),
        }

    def _split_by_hand(self, block: bytes, first: int) -> tuple[pd.DataFrame, Where]:
        """The block's rows split in Python: the first field, the last five, and the key between them."""
        rows, lines = [], []
        for offset, raw in enumerate(block.split(b"\n")):
            if not raw.strip():
                continue
            head, *tail = raw.rstrip(b"\r").rsplit(b",", 5)
            fields = [*head.split(b",", 1), *tail]
            if len(fields) < len(NAMES):
                raise TraceError(
                    f"{self.path}: line {first + offset}: expected {len(NAMES)} comma-separated fields "
                    f"({','.join(NAMES)}); found {len(fields)}"
                )
            try:
                rows.append([field.decode("utf-8-sig" if first + offset == 1 else "utf-8") for field in fields])
            except UnicodeDecodeError:
                raise TraceError(f"{self.path}: line {first + offset}: not UTF-8 text") from None
            lines.append(first + offset)
        import pandas as pd

        frame = pd.DataFrame(rows, columns=list(NAMES)).replace("", np.nan)
        return frame, lambda i: f"{self.path}: line {lines[i]}"
