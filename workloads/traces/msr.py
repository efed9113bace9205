"""The ``msr`` format: the MSR Cambridge block-I/O traces (Narayanan et al., FAST 2008), one I/O a line.

Schema: no header line (one that starts with "Timestamp" is skipped); seven
comma-separated fields; the published files are gzip-compressed, one volume
(host and disk) to a file, and read as they are:

    Timestamp     when the I/O was issued, as a Windows filetime: 100 ns ticks since 1601-01-01
    Hostname      the server (not used)
    DiskNumber    the volume's disk number (not used)
    Type          Read or Write
    Offset        where the I/O starts, in bytes from the start of the volume
    Size          how many bytes it transfers
    ResponseTime  how long it took, in 100 ns ticks (not used)

Read as (the choice of ``block_size``):

* requests (the default, ``block_size=None``): each I/O is one request for
  the object at its offset, of its size: key = Offset, size = Size.  This is
  how libCacheSim converts block traces, and how kvsim reads CloudPhysics:
  an object is an extent as the application asked for it, so two I/Os hit
  each other only when they start at the same byte.
* blocks (``block_size=4096``, say): each I/O is a request for every
  block it touches, one after the other: key = the block's number (offset //
  block_size), size = block_size.  A cache of pages sees this; an I/O of no
  bytes touches no block.

time = Timestamp (``seconds_per_unit`` 1e-7); op = READ or WRITE by Type.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from workloads.stream import MAX_OBJECT_BYTES, READ, WRITE
from workloads.traces.base import Trace, TraceBatch, TraceError, check_key_type, line_blocks, nth_content_line, rechunk
from workloads.traces.compression import TracePath
from workloads.traces.fields import Dtypes, expand, extra_fields, missing_fields, number_keys, numbers, ops, parse_block

NAMES = ("Timestamp", "Hostname", "DiskNumber", "Type", "Offset", "Size", "ResponseTime")
_DTYPES: Dtypes = {"Hostname": "category", "DiskNumber": "category", "Type": "category", "ResponseTime": str}
MSR_OPS = {"read": READ, "write": WRITE}


class MSRTrace(Trace):
    """An MSR Cambridge block trace (see the module docstring for its schema and how it is read).

    block_size: None (each I/O is one request, keyed by its offset) or a
    whole number of bytes (each I/O is a request for every block it touches).
    key_type: "auto" or "int" (the numbers), or "str" (their text, hashed).
    """

    format = "msr"
    has_time = has_size = has_op = True
    seconds_per_unit = 1e-7  # a Windows filetime tick

    def __init__(self, path: TracePath, block_size: int | None = None, key_type: str = "auto"):
        check_key_type(key_type)
        if block_size is not None and (
            isinstance(block_size, bool) or not isinstance(block_size, (int, np.integer)) or block_size < 1
        ):
            raise TraceError(f"block_size must be a positive whole number of bytes, or None; got {block_size!r}")
        super().__init__(path)
        self.block_size = None if block_size is None else int(block_size)
        self.key_type = key_type

    def _expected(self) -> str:
        return f"MSR Cambridge trace lines: {','.join(NAMES)}"

    def where(self, index: int) -> str:
        """A request's line (each I/O is one line and one request; with blocks, its number)."""
        if self.block_size is not None:
            return super().where(index)
        with self.open(parallel=False) as handle:
            header = handle.read(9).lower() == b"timestamp"
        return f"line {nth_content_line(self, index, header=header)}"

    def _chunks(self, chunk: int) -> Iterator[TraceBatch]:
        return rechunk(number_keys(self._pieces(chunk), self.key_type), chunk)

    def _pieces(self, chunk: int) -> Iterator[dict[str, np.ndarray]]:
        for first, block in line_blocks(self):
            if first == 1 and block[:9].lower() == b"timestamp":  # a header line some copies carry
                cut = block.find(b"\n") + 1
                block, first = (block[cut:], 2) if cut else (b"", 2)
            if not block.strip():
                continue
            frame, where = parse_block(self, block, first, NAMES, _DTYPES)
            if not len(frame):
                continue
            missing_fields(frame, NAMES, len(NAMES) - 1, where)  # the response time may be left out
            extra_fields(frame, NAMES, where)
            offsets = numbers(frame["Offset"], "offset", "Offset", where, integer=True)
            sizes = numbers(frame["Size"], "size", "Size", where, integer=True, high=MAX_OBJECT_BYTES)
            columns = {
                "keys": offsets,
                "times": numbers(frame["Timestamp"], "time", "Timestamp", where, integer=True),
                "sizes": sizes,
                "ops": ops(frame["Type"], "Type", where, MSR_OPS),
            }
            if self.block_size is None:
                yield columns
                continue
            # Blocks: the first block's number, and how many blocks the I/O touches.
            blocks = offsets // self.block_size
            last = (offsets + np.maximum(sizes, 1) - 1) // self.block_size
            counts = np.where(sizes > 0, last - blocks + 1, 0)
            columns["keys"] = blocks
            columns["sizes"] = np.full(len(blocks), self.block_size, dtype=np.int64)
            yield from expand(columns, counts, count_up=True, most=chunk)
