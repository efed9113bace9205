"""RANDOM: evict a uniformly random cached object.

Needs no metadata per hit; under the independent reference model it has the
same hit ratio as FIFO (Gelenbe, "A unified approach to the evaluation of a
class of replacement algorithms", IEEE Trans. Computers, 1973).  The generator
is the policy's own, seeded, so runs are reproducible.
"""

from __future__ import annotations

import random as _random

from policies.base import Kernel, Key, SizedPolicy, register


@register("random")
class Random(SizedPolicy):
    """Random eviction over a dense array of keys (swap-with-last removal)."""

    summary = "Random: evicts a key chosen uniformly at random."

    def __init__(self, capacity: int, seed: int = 0):
        super().__init__(capacity)
        self.seed = int(seed)
        self._random = _random.Random(self.seed).random  # the policy's own generator
        self._slot: dict = {}  # key -> index in self._keys
        self._keys: list = []

    def lookup(self, key: Key) -> bool:
        return key in self.sizes

    def insert(self, key: Key, size: int = 1) -> list:
        if key in self.sizes:
            self.remove(key)
        return self._insert_new(key, size)

    def access(self, key: Key, size: int = 1) -> bool:
        if key in self.sizes:
            return True
        self._insert_new(key, size)
        return False

    def _insert_new(self, key: Key, size: int) -> list:
        if size > self.capacity:
            return []
        evicted = self.evict_to(self.capacity - size)
        keys, slot, sizes = self._keys, self._slot, self.sizes
        sizes[key] = size
        slot[key] = len(keys)
        keys.append(key)
        self.used += size
        return evicted

    def evict_to(self, units: int) -> list[Key]:
        """Evict uniformly random keys (the policy's own generator) until at most `units` are used."""
        evicted = []
        keys, slot, sizes = self._keys, self._slot, self.sizes
        while self.used > units:
            index = int(self._random() * len(keys))  # uniform over the cached keys
            victim = keys[index]
            last = keys.pop()  # the last key fills the victim's slot
            if index < len(keys):
                keys[index] = last
                slot[last] = index
            del slot[victim]
            self.used -= sizes.pop(victim)
            evicted.append(victim)
        return evicted

    def remove(self, key: Key) -> bool:
        if self._drop(key) is None:
            return False
        slot = self._slot.pop(key)
        last = self._keys.pop()
        if last != key:
            self._keys[slot] = last
            self._slot[last] = slot
        return True

    def keys(self) -> list:
        return list(self._keys)

    def params(self) -> dict[str, object]:
        return {"seed": self.seed}

    def make_kernel(self) -> Kernel:
        from policies._kernels.rand import RandomKernel

        # A generator of its own, started from the seed: the same draws as this policy's.
        return RandomKernel(self.capacity, self.seed)
