"""SIEVE: a FIFO queue, a visited bit per object, and a hand that sweeps it.

Y. Zhang, J. Yang, Y. Yue, Y. Vigfusson, K. V. Rashmi, "SIEVE is simpler
than LRU: an efficient turn-key eviction algorithm for web caches", NSDI 2024.

New objects enter at the head of the queue, unvisited; a hit only sets the
visited bit.  To evict, the hand moves from where it last stopped towards the
head: a visited object is spared (its bit is cleared, and unlike CLOCK it is
*not* moved), the first unvisited one is evicted and the hand stays there.
Past the head the hand wraps around to the tail.  Because survivors keep
their place, new objects sit near the head where the hand comes last, and
popular old objects stay behind the hand: lazy promotion, quick demotion.

The queue is stored as two insertion-ordered dicts split at the hand:
``_behind`` holds the objects the hand has already swept (oldest first) and
``_ahead`` the ones it has still to reach, ending at the head.  The full
queue, tail to head, is ``_behind`` then ``_ahead``; a new object is
appended to ``_ahead``.  As soon as the hand passes the head, ``_ahead`` is
empty and the hand wraps around to the tail: ``_behind`` becomes ``_ahead``
(so ``_ahead`` is never empty while the cache is not).  Every step is O(1).
"""

from __future__ import annotations

from collections import OrderedDict

from policies.base import Kernel, Key, SizedPolicy, register


@register("sieve")
class Sieve(SizedPolicy):
    """SIEVE eviction; the same decisions as libCacheSim's Sieve."""

    summary = "SIEVE: a FIFO whose hand evicts the first entry not hit since it last passed."

    def __init__(self, capacity: int):
        super().__init__(capacity)
        self._visited: set = set()
        self._ahead: OrderedDict = OrderedDict()  # from the hand to the head, oldest first
        self._behind: OrderedDict = OrderedDict()  # from the tail to the hand, oldest first

    def lookup(self, key: Key) -> bool:
        if key in self.sizes:
            self._visited.add(key)
            return True
        return False

    def insert(self, key: Key, size: int = 1) -> list:
        if not self._replaces(key, size):
            return []
        evicted = self.evict_to(self.capacity - size) if self.used + size > self.capacity else []
        self.sizes[key] = size
        self._ahead[key] = None
        self.used += size
        return evicted

    def evict_to(self, units: int) -> list[Key]:
        """Move the hand until at most `units` are used: visited keys are spared (their bit cleared)."""
        evicted = []
        visited, ahead, behind = self._visited, self._ahead, self._behind
        while self.used > units:
            victim = ahead.popitem(last=False)[0]
            if victim in visited:  # spared: clear the bit, the hand moves on
                visited.discard(victim)
                behind[victim] = None
            else:
                self.used -= self.sizes.pop(victim)
                evicted.append(victim)
            if not ahead:  # the hand passed the head: it wraps around to the tail
                ahead, behind = behind, ahead
                self._ahead, self._behind = ahead, behind
        return evicted

    def access(self, key: Key, size: int = 1) -> bool:
        if key in self.sizes:
            self._visited.add(key)
            return True
        self.insert(key, size)
        return False

    def remove(self, key: Key) -> bool:
        if self._drop(key) is None:
            return False
        self._visited.discard(key)
        if self._ahead.pop(key, False) is False:
            del self._behind[key]
        elif not self._ahead:  # it was the last key before the head: the hand wraps
            self._ahead, self._behind = self._behind, self._ahead
        return True

    def keys(self) -> list:
        """From the tail to the head of the queue."""
        return list(self._behind) + list(self._ahead)

    def hand(self) -> Key | None:
        """The key the hand points at (the next one it will examine), or None."""
        return next(iter(self._ahead), None)

    def make_kernel(self) -> Kernel:
        from policies._kernels.sieve import SieveKernel

        return SieveKernel(self.capacity)
