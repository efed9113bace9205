"""LRU: evict the least recently used object.

The classic recency policy; under the independent reference model its hit
ratio is given by Che's approximation (H. Che, Y. Tung, Z. Wang, "Hierarchical
Web caching systems: modeling, design and experimental results", IEEE JSAC
20(7), 2002), which the tests use as an oracle.
"""

from __future__ import annotations

from policies.base import Kernel, Key, register
from policies.fifo import FIFO


@register("lru")
class LRU(FIFO):
    """Least recently used: a FIFO queue in which a hit moves the key to the back (``keys()``: LRU first)."""

    summary = "Least recently used: evicts the key requested longest ago."

    def lookup(self, key: Key) -> bool:
        if key in self.sizes:
            self.sizes.move_to_end(key)
            return True
        return False

    def access(self, key: Key, size: int = 1) -> bool:
        if key in self.sizes:
            self.sizes.move_to_end(key)
            return True
        self.insert(key, size)
        return False

    def make_kernel(self) -> Kernel:
        from policies._kernels.fifo import LRUKernel

        return LRUKernel(self.capacity)
