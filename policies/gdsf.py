"""GDSF: Greedy-Dual-Size-Frequency, a size-aware frequency policy.

L. Cherkasova, "Improving WWW proxies performance with Greedy-Dual-Size-
Frequency caching policy", HP Labs report HPL-98-69R1, 1998.

Each object has a priority ``L + frequency / size``; the lowest priority is
evicted, and ``L`` (the "inflation" value) becomes the evicted priority, so
objects that stop being requested age out without touching every other
priority.  Small, frequently requested objects are kept: the policy
maximises the object hit ratio, at the expense of the byte hit ratio.

As libCacheSim's GDSF (matched request for request): the priority is
``L + frequency * 1e6 / size``, a hit recomputes it with the current ``L``,
ties go to the object whose priority was set first, and a new object goes in
*before* the lowest priorities are evicted until the cache fits, so a large
new object may be the one evicted (it is then in ``insert``'s returned list).
With a capacity counting objects every size is 1: LFU with aging.
"""

from __future__ import annotations

import heapq

from policies.base import Kernel, Key, SizedPolicy, register

#: a heap entry: (priority, request, push count, key)
_Entry = tuple[float, int, int, Key]


@register("gdsf")
class GDSF(SizedPolicy):
    """Greedy-Dual-Size-Frequency (no parameters, as in libCacheSim)."""

    summary = "Greedy-Dual-Size-Frequency: keeps small, frequently requested objects; ages the rest out."

    def __init__(self, capacity: int):
        super().__init__(capacity)
        self.inflation = 0.0  # L: the priority of the last evicted object
        self._freq: dict[Key, int] = {}
        self._entry: dict[Key, _Entry] = {}  # cached key -> its live heap entry (priority, request, push, key)
        self._heap: list[_Entry] = []
        self._clock = 0  # request counter: the tie-break stamp
        self._pushes = 0

    def lookup(self, key: Key) -> bool:
        self._clock += 1
        freq = self._freq.get(key)
        if freq is None:
            return False
        freq += 1
        self._freq[key] = freq
        self._push(key, self.inflation + freq * 1.0e6 / self.sizes[key])
        return True

    def insert(self, key: Key, size: int = 1) -> list[Key]:
        if not self._replaces(key, size):
            return []
        # Insert first, then evict while over capacity (libCacheSim's GDSF_get): the
        # new object competes too, and goes straight back out if its priority is lowest.
        self.sizes[key] = size
        self._freq[key] = 1
        self.used += size
        self._push(key, self.inflation + 1.0e6 / size)
        return self.evict_to(self.capacity)

    def evict_to(self, units: int) -> list[Key]:
        """Evict the lowest priorities (each raising the inflation L) until at most `units` are used."""
        evicted: list[Key] = []
        heap, entry_of = self._heap, self._entry
        while self.used > units:
            entry = heapq.heappop(heap)
            victim = entry[3]
            if entry_of.get(victim) is not entry:
                continue  # stale: re-prioritised or removed since
            del entry_of[victim]
            del self._freq[victim]
            self.used -= self.sizes.pop(victim)
            self.inflation = entry[0]
            evicted.append(victim)
        return evicted

    def _push(self, key: Key, priority: float) -> None:
        # Ties on priority go to the earlier request (libCacheSim's order); the push count
        # separates entries of the same request, so keys themselves are never compared.
        self._pushes += 1
        entry = (priority, self._clock, self._pushes, key)
        self._entry[key] = entry
        heapq.heappush(self._heap, entry)
        if len(self._heap) > 4 * len(self._entry) + 1024:  # drop stale entries now and then
            self._heap = [e for e in self._heap if self._entry.get(e[3]) is e]
            heapq.heapify(self._heap)

    def remove(self, key: Key) -> bool:
        if self._drop(key) is None:
            return False
        del self._entry[key]
        del self._freq[key]
        return True

    def keys(self) -> list[Key]:
        """Next victim first: lowest priority first."""
        return [entry[3] for entry in sorted(self._entry.values())]

    def priority(self, key: Key) -> float | None:
        entry = self._entry.get(key)
        return None if entry is None else entry[0]

    def make_kernel(self) -> Kernel:
        from policies._kernels.gdsf import GDSFKernel

        return GDSFKernel(self.capacity)
