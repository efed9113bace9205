"""FIFO: evict the object that was inserted first; hits change nothing.

Under the independent reference model FIFO and RANDOM share one hit-ratio
formula (Gelenbe 1973; the characteristic-time form in Fricker, Robert and
Roberts, "A versatile and accurate approximation for LRU cache performance",
ITC 2012), used by the tests as an oracle.
"""

from __future__ import annotations

from collections import OrderedDict

from policies.base import Kernel, Key, SizedPolicy, register


@register("fifo")
class FIFO(SizedPolicy):
    """First in, first out: ``sizes`` is an OrderedDict in insertion order, so ``keys()`` is oldest first."""

    summary = "First in, first out: evicts the oldest insertion, whatever its hits."

    def __init__(self, capacity: int):
        super().__init__(capacity)
        self.sizes: OrderedDict = OrderedDict()

    def lookup(self, key: Key) -> bool:
        return key in self.sizes

    def insert(self, key: Key, size: int = 1) -> list:
        if not self._replaces(key, size):
            return []
        evicted = self.evict_to(self.capacity - size)
        self.sizes[key] = size
        self.used += size
        return evicted

    def evict_to(self, units: int) -> list[Key]:
        """Evict the oldest insertions (LRU: the least recently used) until at most `units` are used."""
        evicted = []
        while self.used > units:
            victim, victim_size = self.sizes.popitem(last=False)
            self.used -= victim_size
            evicted.append(victim)
        return evicted

    def access(self, key: Key, size: int = 1) -> bool:
        if key in self.sizes:
            return True
        self.insert(key, size)
        return False

    def make_kernel(self) -> Kernel:
        from policies._kernels.fifo import FIFOKernel

        return FIFOKernel(self.capacity)
