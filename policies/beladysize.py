"""BeladySize: Belady's rule weighed by size, on a random sample of the cache.

With objects of one size, evicting the object requested furthest in the
future is optimal (Belady, "A study of replacement algorithms for a
virtual-storage computer", IBM Systems Journal, 1966).  With varied sizes a
large object costs room for longer, so the rule weighs each candidate by
``size * distance to its next request`` and evicts the heaviest.  Scanning
every cached object per eviction is too slow, so, as libCacheSim's
BeladySize does, each eviction draws ``n_samples`` cached objects uniformly
(with replacement) and evicts the heaviest of the sample; the first of equal
weights wins.  (Sampled eviction for approximating an offline or costly
rule: Psounis and Prabhakar, "A randomized web-cache replacement scheme",
INFOCOM 2001.)  Comparing ``size * distance`` is the same as comparing
``log(size) + log(distance)``; the integer product is exact in both engines.

It is offline, like Belady (policies/belady.py): ``prepare(keys)`` gives it
the whole request sequence, from which each request's next use is computed
(``Foresight``); ``replay`` does it, and a timed model refuses it.

What libCacheSim's BeladySize also does, and so does this one: an object
never requested again is not cached at all (a miss on it inserts nothing),
and a hit on an object's last request removes it.  ``insert`` then returns
no evictions and the key is not cached, as with an object too large.

Differences from libCacheSim 0.3.5's C code:

* The sample is drawn from the policy's own generator, seeded by ``seed``
  (Python's Mersenne Twister, the same draws in the compiled kernel), over a
  dense array of the cached keys; libCacheSim draws random hash-table
  buckets from a generator shared by all its caches.  The answers agree as
  distributions, not request for request: parity is the miss ratio within
  0.005, over five seeds (tests/policies/test_beladysize.py).
* Parameter names: ``n_samples`` (libcachesim's Python name; the C
  parameter is ``n-sample``), at most 2**31 - 1; ``seed`` is ours.
"""

from __future__ import annotations

import random as _random
from collections.abc import Iterable

from policies.base import Kernel, Key, PolicyError, SizedPolicy, register
from policies.belady import NEVER, Foresight

MAX_SAMPLES = 2**31 - 1  # the kernel keeps n_samples in an int32


@register("beladysize")
class BeladySize(Foresight, SizedPolicy):
    """Evict the heaviest (size x distance to next request) of a random sample of cached keys."""

    summary = "BeladySize: of 128 sampled keys evicts the largest size x distance to next request (replay only)."

    def __init__(self, capacity: int, n_samples: int = 128, seed: int = 0, future: Iterable[Key] | None = None):
        super().__init__(capacity)
        if not 1 <= int(n_samples) <= MAX_SAMPLES:
            raise PolicyError(f"beladysize: n_samples must be an integer from 1 to {MAX_SAMPLES}, got {n_samples!r}")
        self.n_samples, self.seed = int(n_samples), int(seed)
        self._random = _random.Random(self.seed).random  # the policy's own generator
        self._keys: list[Key] = []  # the cached keys, in the order the sampler indexes them
        self._index: dict[Key, int] = {}  # key -> its index in self._keys
        self._next: dict[Key, float] = {}  # key -> the request index of its next use
        self._now = -1  # index of the latest request
        self._current: tuple[Key, float] | None = None  # (key, next use) of the latest request, for its insert
        if future is not None:
            self.prepare(future)

    # -- the interface --------------------------------------------------------
    def lookup(self, key: Key) -> bool:
        next_use = self._advance(key)
        self._now = self._t - 1
        self._current = (key, next_use)
        if key not in self.sizes:
            return False
        if next_use == NEVER:
            self.remove(key)  # its last request: libCacheSim frees its room at once
        else:
            self._next[key] = next_use
        return True

    def insert(self, key: Key, size: int = 1) -> list[Key]:
        if self._current is None or self._current[0] != key:
            raise PolicyError(f"{self.name} inserts only the key of the latest request (its next use is known)")
        if key in self.sizes:
            self.remove(key)
        return self._insert_new(key, size, self._current[1])

    def access(self, key: Key, size: int = 1) -> bool:
        if self.lookup(key):
            return True
        self._insert_new(key, size, self._current[1])  # type: ignore[index]  # lookup() has just set it
        return False

    def _insert_new(self, key: Key, size: int, next_use: float) -> list[Key]:
        if size > self.capacity or next_use == NEVER:
            return []  # too large, or never requested again: not cached
        evicted = self.evict_to(self.capacity - size)
        self.sizes[key] = size
        self.used += size
        self._next[key] = next_use
        self._index[key] = len(self._keys)
        self._keys.append(key)
        return evicted

    def evict_to(self, units: int) -> list[Key]:
        """Evict the heaviest of a fresh sample, as an insert makes room, until at most `units` are used
        (distances counted from the latest request)."""
        evicted = []
        while self.used > units:
            victim = self._heaviest_of_sample()
            self.remove(victim)
            evicted.append(victim)
        return evicted

    def _heaviest_of_sample(self) -> Key:
        """Draw n_samples cached keys (with replacement); the first of the largest size x distance."""
        keys, sizes, next_of, now, draw = self._keys, self.sizes, self._next, self._now, self._random
        n = len(keys)
        best: Key = None  # (never returned: every weight beats -1)
        best_weight: float = -1
        for _ in range(self.n_samples):
            candidate = keys[int(draw() * n)]
            weight = sizes[candidate] * (next_of[candidate] - now)
            if weight > best_weight:
                best, best_weight = candidate, weight
        return best

    def remove(self, key: Key) -> bool:
        if self._drop(key) is None:
            return False
        del self._next[key]
        index = self._index.pop(key)
        last = self._keys.pop()  # the last key fills the removed one's place
        if last != key:
            self._keys[index] = last
            self._index[last] = index
        return True

    def keys(self) -> list[Key]:
        """The cached keys in the sampler's order."""
        return list(self._keys)

    def next_use(self, key: Key) -> float | None:
        """The request index at which a cached key is next requested."""
        return self._next.get(key)

    def params(self) -> dict[str, object]:
        return {"n_samples": self.n_samples, "seed": self.seed}

    def make_kernel(self) -> Kernel:
        from policies._kernels.beladysize import BeladySizeKernel

        # Its future comes later, through the wrapper's prepare(); the same generator and seed.
        return BeladySizeKernel(self.capacity, self.n_samples, self.seed)
