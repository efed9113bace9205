"""RANDOM: evict a uniformly random cached object.

Needs no metadata per hit; under the independent reference model it has the
same hit ratio as FIFO (Gelenbe, "A unified approach to the evaluation of a
class of replacement algorithms", IEEE Trans. Computers, 1973).  The generator
is the policy's own, seeded, so runs are reproducible.
"""

from __future__ import annotations

import random as _random

from policies.base import Policy, register


@register("random")
class Random(Policy):
    """Random eviction over a dense array of keys (swap-with-last removal)."""

    def __init__(self, capacity: int, seed: int = 0):
        super().__init__(capacity)
        self.seed = int(seed)
        self._rng = _random.Random(self.seed)
        self._sizes: dict = {}
        self._slot: dict = {}  # key -> index in self._keys
        self._keys: list = []

    def lookup(self, key):
        return key in self._sizes

    def insert(self, key, size=1):
        if key in self._sizes:
            self.remove(key)
        if size > self.capacity:
            return []
        evicted = []
        while self.used + size > self.capacity:
            victim = self._keys[self._rng.randrange(len(self._keys))]
            self.remove(victim)
            evicted.append(victim)
        self._sizes[key] = size
        self._slot[key] = len(self._keys)
        self._keys.append(key)
        self.used += size
        return evicted

    def remove(self, key):
        size = self._sizes.pop(key, None)
        if size is None:
            return False
        slot = self._slot.pop(key)
        last = self._keys.pop()
        if last != key:
            self._keys[slot] = last
            self._slot[last] = slot
        self.used -= size
        return True

    def __contains__(self, key):
        return key in self._sizes

    def __len__(self):
        return len(self._sizes)

    def keys(self):
        return list(self._keys)

    def params(self):
        return {"seed": self.seed}
