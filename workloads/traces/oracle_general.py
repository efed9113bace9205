"""The ``oraclegeneral`` format: libCacheSim's binary trace, read and written.

24-byte little-endian records <uint32 time, uint64 id, uint32 size, int64
next access>, where next access is the 1-based number of the next request to
the same object, or -1.  Ids are stored as int64 with the same 64 bits (ids
above 2**63 - 1 wrap to negative numbers; equality, which is all a cache
needs, holds).  The writer hands a synthetic workload to libCacheSim, or
keeps one as a file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt

from workloads.traces.base import Trace, TraceBatch, TraceError, request_batch
from workloads.traces.compression import StreamError, TracePath

_RECORD = np.dtype([("time", "<u4"), ("id", "<u8"), ("size", "<u4"), ("next", "<i8")])
_RECORD_BYTES = _RECORD.itemsize  # 24


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

    def __init__(self, path: TracePath):
        super().__init__(path)
        try:
            with self.open(parallel=False) as handle:
                head = handle.read(_RECORD_BYTES)
        except StreamError as error:
            raise TraceError(f"{self.path}: record 1: {error.reason}") from None
        # The commonest mistake first: a text trace read as binary.
        if head and all(32 <= byte < 127 or byte in b"\t\r\n" for byte in head):
            raise TraceError(
                f"{self.path}: record 1: looks like text, not oracleGeneral binary "
                f"(use format=csv or format=txt for a text trace)"
            )
        self.records: int | None = None  # unknown until read, when the file is compressed
        if self.compression is None:
            whole, extra = divmod(self.file_size, _RECORD_BYTES)
            if extra:
                raise _truncated(self.path, whole, extra, None)
            self.records = whole

    def _expected(self) -> str:
        return f"{_RECORD_BYTES}-byte oracleGeneral records"

    def where(self, index: int) -> str:
        return f"record {index + 1}"

    def where_offset(self, offset: int) -> str:
        return f"record {offset // _RECORD_BYTES + 1}"

    def _chunks(self, chunk: int) -> Iterator[TraceBatch]:
        start = 0
        for records in self._record_blocks(chunk):
            n = len(records)
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
            yield request_batch(
                start,
                records["id"].view(np.int64).copy(),
                records["time"].astype(np.int64),
                records["size"].astype(np.int64),
            )
            start += n

    def _record_blocks(self, chunk: int) -> Iterator[np.ndarray]:
        """Arrays of at most `chunk` records, in order: read from the file, or out of its decompressed stream."""
        with self.open() as handle:
            if self.compression is None:  # numpy reads the file straight into the array
                start = 0
                # (records is known when the file is not compressed: __init__ counts them)
                while start < self.records:  # type: ignore[operator]
                    records = np.fromfile(handle, dtype=_RECORD, count=min(chunk, self.records - start))  # type: ignore[operator]
                    if len(records) == 0:
                        raise TraceError(
                            f"{self.path}: record {start + 1}: file ended early (it shrank while being read?)"
                        )
                    yield records
                    start += len(records)
                return
            start = 0
            while True:
                buffer = np.empty(chunk, dtype=_RECORD)
                try:
                    # an ndarray is a buffer, though numpy's stubs do not say so of a structured one
                    got = handle.readinto(memoryview(buffer).cast("B"))  # type: ignore[arg-type]
                except StreamError as error:
                    raise TraceError(f"{self.path}: {self.where_offset(error.offset)}: {error.reason}") from None
                whole, extra = divmod(got, _RECORD_BYTES)
                if whole:
                    yield buffer[:whole]
                    start += whole
                if extra:
                    raise _truncated(self.path, start, extra, self.compression)
                if got < len(buffer) * _RECORD_BYTES:
                    return


def _truncated(path: TracePath, whole: int, extra: int, compression: str | None) -> TraceError:
    """The error for a trace of `whole` records and `extra` bytes more (in its `compression`'s stream)."""
    size = whole * _RECORD_BYTES + extra
    holds = f"the {compression} stream holds {size} bytes," if compression else f"{size} bytes is"
    return TraceError(
        f"{path}: {holds} not a whole number of {_RECORD_BYTES}-byte records: "
        f"record {whole + 1} is truncated ({extra} of {_RECORD_BYTES} bytes)"
    )


def next_access(keys: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """For each request, the 1-based number of the next request to the same key, or -1.

    This is oracleGeneral's fourth field; computed with one stable sort.
    """
    keys = np.asarray(keys)
    order = np.argsort(keys, kind="stable")
    following = np.full(len(keys), -1, dtype=np.int64)
    same = keys[order[1:]] == keys[order[:-1]]
    following[order[:-1][same]] = order[1:][same] + 1
    return following


def oracle_general_records(
    keys: npt.ArrayLike, times: npt.ArrayLike | None = None, sizes: npt.ArrayLike | None = None
) -> np.ndarray:
    """Requests as oracleGeneral records; times default to the request number, sizes to 1."""
    keys = np.asarray(keys, dtype=np.int64)
    records = np.zeros(len(keys), dtype=_RECORD)
    records["time"] = np.arange(len(keys)) if times is None else times
    records["id"] = keys.view(np.uint64)
    records["size"] = 1 if sizes is None else sizes
    records["next"] = next_access(keys)
    return records


def write_oracle_general(
    path: TracePath, keys: npt.ArrayLike, times: npt.ArrayLike | None = None, sizes: npt.ArrayLike | None = None
) -> Path:
    """Write requests as a libCacheSim oracleGeneral trace (24-byte records).

    Useful to hand a synthetic workload to libCacheSim, or to keep one as a file.
    """
    oracle_general_records(keys, times, sizes).tofile(path)
    return Path(path)
