"""Hyperbolic caching: evict the sampled object with the fewest hits per unit of time in the cache.

A. Blankstein, S. Sen, M. J. Freedman, "Hyperbolic caching: flexible
caching for web applications", USENIX ATC 2017.

Each object's priority is its request rate since it entered the cache,
``hits / time in cache``: an LFU that forgets, since an old object must keep
being requested to keep its rate, and a newcomer is judged on its short life
so far.  Priorities change with time, so no heap can keep them in order;
instead, to evict, the policy draws a few cached objects at random and
evicts the one of lowest priority (random sampling, as Redis does for LRU).

libCacheSim 0.3.5's ``Hyperbolic`` (cache/eviction/Hyperbolic.c), which this
module follows:

* time is the request count; an object enters with count 1 and its entry
  time, and every hit adds one;
* an eviction samples ``n_sample`` (64) cached objects, with replacement, and
  evicts the one of least ``1e8 * count / (now - entry)``, the first
  sampled among equals.

Differences from libCacheSim's C code:

* the samples are uniform over the cached objects, drawn from the policy's
  own ``random.Random(seed)`` (one draw per sample); libCacheSim picks a
  random non-empty bucket of its hash table and then an object of that
  bucket, from a process-wide generator (nearly uniform: objects sharing a
  bucket are drawn a little less often).  The two agree in miss ratio, within
  0.005 over five seeds (tests/policies/test_libcachesim_parity.py);
* the clock counts the requests the policy sees, a hit when it is looked
  up and a miss when it is inserted: in a replay, every request once, as
  libCacheSim's ``n_req``; a compiled loop does not show the policy a lookup
  of a key it has never seen, so the miss is counted at its insert.  A miss
  that an admission filter refuses is not counted (libCacheSim counts it);
* an object inserted at the current request (a timed model's insert with
  no lookup since) has age 0 and the priority +inf; if every sample has it,
  the first sample is evicted (libCacheSim's request always ages objects, and
  would evict nothing there).
"""

from __future__ import annotations

import random as _random

from policies.base import Kernel, Key, SizedPolicy, register
from policies.limits import MAX_SEED, check_int

#: libCacheSim's starting "best" priority: a sample is chosen only if below it
NO_CANDIDATE = 1.0e16


@register("hyperbolic")
class Hyperbolic(SizedPolicy):
    """Sampled eviction of the lowest hits / age (``keys()``: in the order of the sampling array)."""

    summary = "Hyperbolic: evicts, of 64 sampled keys, the one with the fewest hits per request since it entered."

    def __init__(self, capacity: int, n_sample: int = 64, seed: int = 0):
        super().__init__(capacity)
        self.n_sample = check_int("n_sample", n_sample, 1, 2**31 - 1)  # an int32 in the kernel
        self.seed = check_int("seed", seed, 0, MAX_SEED)
        self._random = _random.Random(self.seed).random  # the policy's own generator
        self.requests = 0  # hits and inserts so far: the clock of ages
        self.count: dict = {}  # cached key -> 1 + its hits
        self.entered: dict = {}  # cached key -> the request count when it entered
        self._keys: list = []  # the cached keys, densely, for sampling
        self._index: dict = {}  # cached key -> its index in _keys

    def lookup(self, key: Key) -> bool:
        if key in self.sizes:
            self.requests += 1
            self.count[key] += 1
            return True
        return False

    def insert(self, key: Key, size: int = 1) -> list[Key]:
        self.requests += 1  # a miss's request is counted by its insert (see the module docstring)
        if not self._replaces(key, size):
            return []
        evicted = self.evict_to(self.capacity - size)
        self.sizes[key] = size
        self.used += size
        self.count[key] = 1
        self.entered[key] = self.requests
        self._index[key] = len(self._keys)
        self._keys.append(key)
        return evicted

    def evict_to(self, units: int) -> list[Key]:
        """Evict sampled victims, as an insert makes room, until at most `units` are used (the clock
        does not tick: a resize is no request)."""
        evicted = []
        while self.used > units:
            victim = self.victim()
            self.remove(victim)
            evicted.append(victim)
        return evicted

    def priority(self, key: Key) -> float:
        """Hits per request since the key entered (scaled by 1e8, as libCacheSim's); +inf at age 0."""
        age = self.requests - self.entered[key]
        return 1.0e8 * self.count[key] / age if age > 0 else float("inf")

    def victim(self) -> Key:
        """Of n_sample keys drawn with replacement, the first of least priority."""
        keys, draw = self._keys, self._random
        best, best_priority, first = None, NO_CANDIDATE, None
        for _ in range(self.n_sample):
            key = keys[int(draw() * len(keys))]
            if first is None:
                first = key
            priority = self.priority(key)
            if priority < best_priority:
                best, best_priority = key, priority
        return first if best is None else best

    def remove(self, key: Key) -> bool:
        if self._drop(key) is None:
            return False
        del self.count[key], self.entered[key]
        index = self._index.pop(key)
        last = self._keys.pop()  # the last key fills the removed one's place
        if last != key:
            self._keys[index] = last
            self._index[last] = index
        return True

    def keys(self) -> list[Key]:
        return list(self._keys)

    def params(self) -> dict[str, object]:
        return {"n_sample": self.n_sample, "seed": self.seed}

    def make_kernel(self) -> Kernel:
        from policies._kernels.hyperbolic import HyperbolicKernel

        # The same generator, started from the same seed: the same samples, eviction for eviction.
        return HyperbolicKernel(self.capacity, self.n_sample, self.seed)
