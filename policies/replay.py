"""Trace replay without a clock: the fast path for miss ratios.

No SimPy, no time: each request is one ``policy.access``.  This is what
libCacheSim and the Caffeine simulator do, and what miss-ratio parity with
libCacheSim is measured on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from policies.base import Policy


@dataclass
class ReplayCounts:
    """Counts of one replay; misses and ratios are derived."""

    requests: int = 0
    hits: int = 0
    bytes: int = 0
    hit_bytes: int = 0

    @property
    def misses(self) -> int:
        return self.requests - self.hits

    @property
    def miss_ratio(self) -> float:
        return self.misses / self.requests if self.requests else 0.0

    @property
    def byte_miss_ratio(self) -> float:
        return (self.bytes - self.hit_bytes) / self.bytes if self.bytes else 0.0

    def add(self, other: "ReplayCounts") -> None:
        self.requests += other.requests
        self.hits += other.hits
        self.bytes += other.bytes
        self.hit_bytes += other.hit_bytes


def replay(policy: Policy, keys, sizes=None, count_bytes: bool = False) -> ReplayCounts:
    """Feed `keys` (with object `sizes`) through `policy`; count hits.

    When `count_bytes` is false the policy sees every object as size 1 (its
    capacity counts objects), but byte counts still use the real sizes.
    """
    keys = np.asarray(keys)
    sizes = np.ones(len(keys), dtype=np.int64) if sizes is None else np.asarray(sizes)
    access = policy.access
    hit_flags = bytearray(len(keys))
    if count_bytes:
        for i, (key, size) in enumerate(zip(keys.tolist(), sizes.tolist())):
            if access(key, size):
                hit_flags[i] = 1
    else:
        for i, key in enumerate(keys.tolist()):
            if access(key, 1):
                hit_flags[i] = 1
    hits = np.frombuffer(bytes(hit_flags), dtype=np.uint8).astype(bool)
    return ReplayCounts(
        requests=len(keys),
        hits=int(hits.sum()),
        bytes=int(sizes.sum()),
        hit_bytes=int(sizes[hits].sum()),
    )
