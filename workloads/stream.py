"""The request stream: columnar batches of (time, key, size, op).

A simulation never holds the whole stream: it walks batches of a few tens of
thousands of requests, each drawn with numpy in one go.  That keeps memory
flat and moves all per-request randomness out of the Python loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from workloads.distributions import Constant, Distribution
from workloads.popularity import Uniform, Zipf, rank_to_key
from workloads.rng import rng_for

READ = 0
WRITE = 1

DEFAULT_CHUNK = 1 << 16


@dataclass(frozen=True)
class RequestBatch:
    """A slice of the request stream, one numpy array per column.

    time:  arrival time in seconds (float64, non-decreasing)
    key:   integer key id (int64)
    size:  object size in bytes (int64)
    op:    READ or WRITE (int8)
    start: index of the first request of the batch in the whole stream
    """

    time: np.ndarray
    key: np.ndarray
    size: np.ndarray
    op: np.ndarray
    start: int = 0

    def __len__(self) -> int:
        return len(self.key)


@dataclass(frozen=True)
class Workload:
    """Synthetic traffic: who asks for what, when, and how big the answer is.

    popularity: Zipf or Uniform over the catalogue
    arrivals:   e.g. Poisson(rate)
    object_size: distribution of object sizes in bytes; each key gets one
                 size, drawn once, so the same object always has the same size
    """

    popularity: Zipf | Uniform
    arrivals: object
    object_size: Distribution = Constant(1)

    @property
    def keys(self) -> int:
        return self.popularity.keys

    def key_sizes(self, seed: int) -> np.ndarray:
        """The size in bytes of every key of the catalogue (int64, at least 1)."""
        if isinstance(self.object_size, Constant):
            return np.full(self.keys, max(1, round(self.object_size.value)), dtype=np.int64)
        sizes = self.object_size.sample(rng_for(seed, "workload.sizes"), self.keys)
        return np.maximum(1, np.rint(sizes)).astype(np.int64)

    def batches(self, seed: int, total: int, chunk: int = DEFAULT_CHUNK) -> Iterator[RequestBatch]:
        """The first `total` requests of the stream of `seed`, in batches of `chunk`."""
        arrival_rng = rng_for(seed, "workload.arrivals")
        key_rng = rng_for(seed, "workload.keys")
        if self.popularity.scramble:
            key_of_rank = rank_to_key(self.keys, rng_for(seed, "workload.scramble"))
        else:
            key_of_rank = None
        sizes = self.key_sizes(seed)
        clock = 0.0
        for start in range(0, total, chunk):
            n = min(chunk, total - start)
            times = clock + np.cumsum(self.arrivals.gaps(arrival_rng, n))
            clock = float(times[-1])
            ranks = self.popularity.ranks(key_rng, n)
            keys = key_of_rank[ranks] if key_of_rank is not None else ranks.astype(np.int64)
            yield RequestBatch(times, keys, sizes[keys], np.zeros(n, dtype=np.int8), start)
