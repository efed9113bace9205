"""2Q: a FIFO probation queue, a ghost of it, and an LRU for proven objects.

T. Johnson, D. Shasha, "2Q: a low overhead high performance buffer management
replacement algorithm", VLDB 1994 (the "full version" with A1in, A1out, Am).

A new object enters *Ain*, a FIFO (25% of the capacity by default); hits
there change nothing, so a burst of requests to a new object does not make
it look popular.  When Ain is over its share, its oldest object leaves the
cache and its key is remembered in *Aout*, a ghost FIFO holding keys only
(sized to 50% of the capacity, counted in the objects' sizes).  A miss whose
key is found in Aout was re-requested after probation: it goes straight into
*Am*, an LRU holding the rest of the capacity.  Otherwise the eviction comes
from Am's LRU end.

Semantics follow libCacheSim's TwoQ exactly: Ain may grow past its share
while Am has room; only when the whole cache is full is the choice made (Ain
if over its share, else Am).  A ghost hit inserts into Am through Am's own
capacity check, so Am may evict to make room for it even when the cache as a
whole had room.  An object larger than Ain's share is not admitted.  Where
the shares round down to 0 (a tiny cache) they get one unit; libCacheSim
would cache nothing there.

Lookup and insert are apart in a timed model, so a ghost hit seen by
``lookup`` is remembered per key until that key's ``insert``.
"""

from __future__ import annotations

from policies.base import Kernel, Key, Policy, register
from policies.queues import GhostList, SizedQueue


@register("twoq")
class TwoQ(Policy):
    """2Q with libCacheSim's defaults: Ain 25% of the capacity, Aout 50%."""

    summary = "2Q: new keys wait in a FIFO; keys requested again (remembered in a ghost list) go to an LRU."

    def __init__(self, capacity: int, ain_size_ratio: float = 0.25, aout_size_ratio: float = 0.5):
        super().__init__(capacity)
        if not 0 < ain_size_ratio < 1:
            raise ValueError(f"ain_size_ratio must be in (0, 1), got {ain_size_ratio!r}")
        if not 0 <= aout_size_ratio <= 1:  # a ghost of up to the capacity: its units stay within int64
            raise ValueError(f"aout_size_ratio must be in [0, 1], got {aout_size_ratio!r}")
        self.ain_size_ratio = ain_size_ratio
        self.aout_size_ratio = aout_size_ratio
        self.ain_capacity = max(int(capacity * ain_size_ratio), 1)
        self.am_capacity = capacity - self.ain_capacity
        self.ain = SizedQueue()  # probation FIFO, oldest first
        self.am = SizedQueue()  # LRU of proven objects, least recently used first
        self.aout = GhostList(int(capacity * aout_size_ratio))  # keys evicted from Ain, oldest first
        self._ghost_hits: set = set()  # keys whose last lookup hit Aout, until their insert

    @property
    def used(self) -> int:  # type: ignore[override]  # the sum over its parts, read-only
        return self.ain.used + self.am.used

    @property
    def aout_capacity(self) -> int:
        return self.aout.capacity

    def lookup(self, key: Key) -> bool:
        if key in self.ain:
            return True  # a hit in probation changes nothing
        am = self.am
        if key in am:
            am.move_to_end(key)
            return True
        if key in self.aout:
            self.aout.remove(key)
            self._ghost_hits.add(key)
        return False

    def insert(self, key: Key, size: int = 1) -> list[Key]:
        from_ghost = key in self._ghost_hits
        # A key being cached is no longer a ghost: when lookup and insert are apart, it may
        # have been cached (and evicted into Aout) by an earlier insert meanwhile.
        self.remove(key)
        if size > self.capacity or size > self.ain_capacity:
            return []
        evicted = []
        ain, am = self.ain, self.am
        while ain.used + am.used + size > self.capacity:
            evicted.append(self._evict())
        if not from_ghost:
            ain.push(key, size)
        elif size <= self.am_capacity:
            # Into Am through its own capacity check, as libCacheSim's Am->get does.
            while am.used + size > self.am_capacity:
                evicted.append(am.pop_oldest()[0])
            am.push(key, size)
        return evicted

    def _evict(self) -> Key:
        """Evict Ain's oldest object into Aout if Ain is over its share, else Am's LRU object."""
        if self.ain.used > self.ain_capacity or not self.am:  # (Am is empty only in tiny caches)
            victim, size = self.ain.pop_oldest()
            self.aout.remember(victim, size)
        else:
            victim, _ = self.am.pop_oldest()
        return victim

    def evict_to(self, units: int) -> list[Key]:
        """Evict as 2Q makes room (Ain's oldest into Aout while Ain is over its share, else Am's LRU
        object) until at most `units` are cached."""
        evicted = []
        while self.ain.used + self.am.used > units:
            evicted.append(self._evict())
        return evicted

    def resize(self, capacity: int) -> list[Key]:
        """A new capacity: Ain's, Am's and Aout's shares re-derived as the constructor derives them (Aout
        forgets its oldest keys to fit), then evicted down to it."""
        shares = TwoQ(capacity, self.ain_size_ratio, self.aout_size_ratio)
        self.ain_capacity, self.am_capacity = shares.ain_capacity, shares.am_capacity
        self.aout.capacity = shares.aout.capacity
        while self.aout.used > self.aout.capacity:
            self.aout.pop_oldest()
        return super().resize(capacity)

    def remove(self, key: Key) -> bool:
        self._ghost_hits.discard(key)
        # A key is on one queue at most.
        if key in self.ain:
            self.ain.remove(key)
        elif key in self.am:
            self.am.remove(key)
        else:
            if key in self.aout:
                self.aout.remove(key)
            return False
        return True

    def __contains__(self, key: Key) -> bool:
        return key in self.ain or key in self.am

    def __len__(self) -> int:
        return len(self.ain) + len(self.am)

    def keys(self) -> list[Key]:
        """Ain oldest first, then Am least recently used first."""
        return list(self.ain) + list(self.am)

    @property
    def max_object_size(self) -> int:
        return min(self.capacity, self.ain_capacity)

    def ghost_keys(self) -> list[Key]:
        """Aout, oldest first."""
        return list(self.aout)

    def params(self) -> dict[str, object]:
        return {"ain_size_ratio": self.ain_size_ratio, "aout_size_ratio": self.aout_size_ratio}

    def make_kernel(self) -> Kernel:
        from policies._kernels.twoq import TwoQKernel

        return TwoQKernel(self.capacity, self.ain_capacity, self.am_capacity, self.aout_capacity)
