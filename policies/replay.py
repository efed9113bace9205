"""Trace replay without a clock: the fast path for miss ratios.

No SimPy, no time: each request is one ``policy.access``.  This is what
libCacheSim and the Caffeine simulator do, and what miss-ratio parity with
libCacheSim is measured on.

An offline policy (Belady) is given the whole key sequence first, unless it
was prepared already: to replay a long trace in parts (chunks, or a warm-up
then the measured part), call ``policy.prepare(all_keys)`` once and then
``replay`` each part in order.
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
    # Keys may be any hashables (ints, strings, tuples); a numpy array becomes Python ints.
    key_list = keys.tolist() if isinstance(keys, np.ndarray) else list(keys)
    sizes = np.ones(len(key_list), dtype=np.int64) if sizes is None else np.asarray(sizes, dtype=np.int64)
    if len(sizes) != len(key_list):
        raise ValueError(f"replay: {len(key_list)} keys but {len(sizes)} sizes")
    if policy.offline and not getattr(policy, "prepared", False):
        policy.prepare(keys if isinstance(keys, np.ndarray) else key_list)
    policy.expect(keys)
    # map() runs the loop in C; the per-request cost is then the policy's own.
    if count_bytes:
        flags = list(map(policy.access, key_list, sizes.tolist()))
    else:
        flags = list(map(policy.access, key_list))
    hits = np.array(flags, dtype=bool)
    return ReplayCounts(
        requests=len(key_list),
        hits=int(hits.sum()),
        bytes=int(sizes.sum()),
        hit_bytes=int(sizes[hits].sum()),
    )
