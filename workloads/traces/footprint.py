"""A trace's footprint in one streaming pass: how many requests, distinct objects and distinct bytes.

    >>> footprint("cluster52.twitter.zst")                  # doctest: +SKIP
    Footprint(requests=..., objects=..., bytes=...)

What a cache size is measured against: a cache of ``bytes`` bytes (or
``objects`` objects, sizes aside) holds the whole trace and misses only the
first request to each object.

An object's bytes are its size at its first request, counted once.  Why
the first: it is known at the moment the object is first seen, so the pass
keeps no size per object (memory is the id map's alone), and it is how
libCacheSim's working-set pass (cal_working_set_size, which sizes a cache
as a fraction of the working set; it samples one object in 11 or 101 on
files over 1 or 5 GiB, where this pass stays exact) and kvsim's bench count.  Objects whose size changes (rewritten
values, Twitter's get misses logged with an empty value) count as first
seen; a trace with constant sizes, as libCacheSim's oracleGeneral traces
have, gives the same under any rule.

Memory is bounded by the distinct objects, not the requests: the keys are
numbered as they stream by workloads.ids' compiled map (about 16 to 32
bytes an object), each chunk then dropped.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from workloads.ids import DenseIds
from workloads.stream import DEFAULT_CHUNK
from workloads.traces.base import Trace, open_trace


@dataclass(frozen=True)
class Footprint:
    """requests: the trace's length; objects: its distinct keys; bytes: the sum of each object's first size."""

    requests: int
    objects: int
    bytes: int

    @property
    def mean_object_bytes(self) -> float:
        return self.bytes / self.objects if self.objects else 0.0


def footprint(
    trace: Trace | str | os.PathLike, chunk: int = DEFAULT_CHUNK, format: str | None = None, **options: object
) -> Footprint:
    """The Footprint of a trace (a Trace, or a path opened with `format` and reader `options`)."""
    if not isinstance(trace, Trace):
        trace = open_trace(trace, format, **options)
    dense = DenseIds()
    requests = total_bytes = 0
    for batch in trace.chunks(chunk):
        known = len(dense)
        ids = dense(batch.key)
        # Ids are numbered in order of first sight, so a request sees a new object
        # exactly when its id exceeds every id before it (and the `known` ones).
        before = np.maximum.accumulate(np.concatenate(([known - 1], ids[:-1])))
        first_sight = ids > before
        total_bytes += int(batch.size[first_sight].sum())
        requests += len(batch)
    return Footprint(requests, len(dense), total_bytes)
