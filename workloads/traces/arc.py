"""The ``arc`` format: the ARC paper's block traces (Megiddo and Modha, FAST 2003), and plain key lists.

Schema: one line a record, fields separated by spaces or tabs:

    start count ignored ignored    ARC's traces (P1.lis ... OLTP.lis): `count` blocks from block `start`
    key                            a plain trace (the LIRS paper's): one block

so a line ``100 3 0 0`` is the three requests 100, 101, 102, and a line
``7`` the one request 7.  ARC's third field is always 0 and its fourth a
running request number; neither is used.  Blocks are whole numbers; there
are no times (batch times are request numbers), no sizes (1: the ARC paper
counts its caches in 512-byte pages) and no ops (reads).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from workloads.traces.base import Trace, TraceBatch, TraceError, check_key_type, line_blocks, rechunk
from workloads.traces.compression import TracePath
from workloads.traces.fields import Dtypes, expand, extra_fields, number_keys, numbers, parse_block

NAMES = ("start", "count", "third", "fourth")
_DTYPES: Dtypes = {"third": str, "fourth": str}


class ArcTrace(Trace):
    """An ARC block trace or a plain list of block numbers (see the module docstring).

    key_type: "auto" or "int" (the block numbers), or "str" (their text, hashed).
    """

    format = "arc"

    def __init__(self, path: TracePath, key_type: str = "auto"):
        check_key_type(key_type)
        super().__init__(path)
        self.key_type = key_type

    def _expected(self) -> str:
        return "lines of 'start count ignored ignored' or of one block number"

    def _chunks(self, chunk: int) -> Iterator[TraceBatch]:
        return rechunk(number_keys(self._pieces(chunk), self.key_type), chunk)

    def _pieces(self, chunk: int) -> Iterator[dict[str, np.ndarray]]:
        for first, block in line_blocks(self):
            frame, where = parse_block(self, block, first, NAMES, _DTYPES, sep=r"\s+")
            if not len(frame):
                continue
            extra_fields(frame, NAMES, where, sep=" ")
            starts = numbers(frame["start"], "block", "start", where, integer=True)
            counts = numbers(frame["count"].fillna(1), "count", "count", where, integer=True)
            if (counts < 1).any():
                i = int(np.argmax(counts < 1))
                raise TraceError(f"{where(i)}: column 'count': a record is of at least 1 block; got {counts[i]}")
            yield from expand({"keys": starts}, counts, count_up=True, most=chunk)
