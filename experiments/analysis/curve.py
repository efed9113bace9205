"""What a miss-ratio curve is, and what one is computed from.

``MissRatioCurve`` holds the misses at each capacity, whichever method
counted them (experiments/analysis/mrc.py); ``capacity_list`` checks the
capacities asked for; ``source_parts`` reads a request source, in any of the
forms the curves accept (an array of keys, a (keys, sizes) pair, chunks or
batches, or a callable giving one of these), as int64 chunks.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from experiments.analysis.stack_depths import int64_keys


@dataclass
class MissRatioCurve:
    """Misses at each capacity.

    capacities: int64, ascending, in objects or (count_bytes) bytes.
    requests, bytes: the measured requests (after warm-up) and their bytes.
    misses, missed_bytes: per capacity; integers when exact, estimates
        (floats) when sampled.
    method: "stack" (one-pass LRU), "replay" (one replay per capacity),
        "shards" (sampled stack depths), "mini" (sampled replays at capacity
        R x C), or a combination such as "stack+replay".
    rate: the sampling rate in effect at the end (1.0 without sampling).
    """

    capacities: np.ndarray
    count_bytes: bool
    requests: int
    bytes: int
    misses: np.ndarray
    missed_bytes: np.ndarray
    method: str = "stack"
    rate: float = 1.0
    notes: list = field(default_factory=list)
    max_size: int = 0  # the largest request size seen (bytes curves are exact from there up)

    @property
    def exact(self) -> bool:
        return self.rate == 1.0

    @property
    def miss_ratio(self) -> np.ndarray:
        return self.misses / self.requests if self.requests else np.zeros(len(self.capacities))

    @property
    def byte_miss_ratio(self) -> np.ndarray:
        return self.missed_bytes / self.bytes if self.bytes else np.zeros(len(self.capacities))

    def rows(self) -> list[dict]:
        """One dict per capacity: capacity, miss_ratio, byte_miss_ratio."""
        return [
            {"capacity": int(c), "miss_ratio": float(m), "byte_miss_ratio": float(b)}
            for c, m, b in zip(self.capacities, self.miss_ratio, self.byte_miss_ratio)
        ]


def capacity_list(capacities) -> np.ndarray:
    """Capacities as a sorted int64 array of distinct positive integers."""
    values = np.unique(np.asarray(capacities, dtype=np.int64))
    if len(values) == 0 or values[0] < 1:
        raise ValueError(f"capacities must be positive integers; got {list(capacities)!r}")
    return values


def source_chunks(source) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(keys int64, sizes int64) chunks of a source (see ``source_parts``)."""
    for keys, sizes, _, _ in source_parts(source):
        yield keys, sizes


def source_parts(source) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]]:
    """(keys int64, sizes int64, times in seconds or None, dense ids or None) chunks of a source.

    A source is: an array or list of keys; a (keys, sizes) pair of arrays; an
    iterable of chunks, each a (keys, sizes) pair or a batch with ``key`` and
    ``size`` arrays (workloads.RequestBatch, as a trace reader yields; with
    an ``ids`` array too, workloads.ids.DenseBatch, the keys' dense ids,
    which compiled policies index by); or a callable returning one of these,
    which can then be read more than once.  Only batches carry times (their
    ``time`` array), for a timed policy.
    """
    if callable(source):
        source = source()
    if _is_pair(source):
        yield int64_keys(np.asarray(source[0])), np.asarray(source[1], dtype=np.int64), None, None
        return
    if isinstance(source, np.ndarray) or (isinstance(source, list) and not any(map(_is_chunk, source[:1]))):
        keys = int64_keys(np.asarray(source))
        yield keys, np.ones(len(keys), dtype=np.int64), None, None
        return
    for chunk in source:
        ids = None
        if hasattr(chunk, "key"):
            keys, sizes, ids = np.asarray(chunk.key), chunk.size, getattr(chunk, "ids", None)
        elif _is_pair(chunk):
            keys, sizes = np.asarray(chunk[0]), chunk[1]
        else:
            raise TypeError(f"a chunk must be a batch with key and size arrays or a (keys, sizes) pair; got {chunk!r}")
        if keys.dtype.kind not in "iu":
            raise TypeError(f"chunked keys must be integers (trace readers give int64 ids); got {keys.dtype}")
        yield int64_keys(keys), np.asarray(sizes, dtype=np.int64), getattr(chunk, "time", None), ids


def _is_pair(value) -> bool:
    return isinstance(value, tuple) and len(value) == 2 and all(np.ndim(part) == 1 for part in value)


def _is_chunk(value) -> bool:
    return hasattr(value, "key") or _is_pair(value)
