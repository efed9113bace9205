"""LFU: evict the least frequently used object.

Frequency buckets give O(1) operations (K. Shah, A. Mitra, D. Matani, "An O(1)
algorithm for implementing the LFU cache eviction scheme", 2010).  A new key
starts at frequency 1; among keys of the lowest frequency, the one that
reached that frequency first is evicted, as in libCacheSim's LFU.  Under the
independent reference model a perfect LFU holds the most popular keys, so its
hit ratio tends to the sum of the C largest probabilities.
"""

from __future__ import annotations

from collections import OrderedDict

from policies.base import Kernel, Key, SizedPolicy, register


@register("lfu")
class LFU(SizedPolicy):
    """Least frequently used, ties broken by age within the frequency."""

    summary = "Least frequently used: evicts the key with the fewest hits (the oldest among equals)."

    def __init__(self, capacity: int):
        super().__init__(capacity)
        self._freq: dict = {}  # key -> request count since insertion
        self._buckets: dict[int, OrderedDict] = {}  # count -> keys in the order they got there
        self._min_freq = 0

    def lookup(self, key: Key) -> bool:
        freq = self._freq.get(key)
        if freq is None:
            return False
        bucket = self._buckets[freq]
        del bucket[key]
        if not bucket:
            del self._buckets[freq]
            if self._min_freq == freq:
                self._min_freq = freq + 1
        self._freq[key] = freq + 1
        self._buckets.setdefault(freq + 1, OrderedDict())[key] = None
        return True

    def insert(self, key: Key, size: int = 1) -> list:
        if not self._replaces(key, size):
            return []
        evicted = self.evict_to(self.capacity - size)
        self.sizes[key] = size
        self._freq[key] = 1
        self._buckets.setdefault(1, OrderedDict())[key] = None
        self._min_freq = 1
        self.used += size
        return evicted

    def evict_to(self, units: int) -> list[Key]:
        """Evict the least frequently used keys (the oldest among equals) until at most `units` are used."""
        evicted = []
        while self.used > units:
            bucket = self._buckets[self._min_freq]
            victim, _ = bucket.popitem(last=False)
            if not bucket:
                del self._buckets[self._min_freq]
                self._min_freq = min(self._buckets, default=0)
            del self._freq[victim]
            self.used -= self.sizes.pop(victim)
            evicted.append(victim)
        return evicted

    def remove(self, key: Key) -> bool:
        if self._drop(key) is None:
            return False
        freq = self._freq.pop(key)
        bucket = self._buckets[freq]
        del bucket[key]
        if not bucket:
            del self._buckets[freq]
            if self._min_freq == freq:
                self._min_freq = min(self._buckets, default=0)
        return True

    def keys(self) -> list:
        """Next victim first: by frequency, then by time of reaching it."""
        return [key for freq in sorted(self._buckets) for key in self._buckets[freq]]

    def make_kernel(self) -> Kernel:
        from policies._kernels.lfu import LFUKernel

        return LFUKernel(self.capacity)
