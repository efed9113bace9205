"""LRU-K: evict the object whose K-th most recent request is the oldest.

E. J. O'Neil, P. E. O'Neil, G. Weikum, "The LRU-K page replacement algorithm
for database disk buffering", SIGMOD 1993.

LRU looks at one request per object, the last.  LRU-K looks at the K-th last:
the *backward K-distance* of an object is how long ago its K-th most recent
request was, and the object with the largest one is evicted.  An object
requested once, long ago or just now, has no K-th request: its distance is
infinite, so objects seen fewer than K times go first, oldest first.  With
K = 2 a scan (every key requested once) can never push out an object that
was requested twice; with K = 1 it is LRU.

Semantics follow libCacheSim 0.3.5's LRU_K (cache/eviction/cpp/LRU_K.cpp):

* an object with fewer than K requests (since it entered the cache) waits in
  a FIFO in order of insertion, hits not moving it; the K-th request moves it
  to a priority queue ordered by the time of its K-th most recent request;
* the FIFO is evicted first, while it holds anything; then the queue's
  minimum;
* an object keeps the times of its last K requests only while cached: an
  evicted object's history is forgotten (the paper's "retained information
  period" is zero), so a returning object starts again at one request.

Time is a counter of events (lookups and inserts, each one tick): only the
order of times matters, and it is libCacheSim's order of requests.  The two
engines never tie (each time belongs to one object).  No difference from
libCacheSim's decisions is known; the kernel keeps K times per key, so K is
at most 64 here (libCacheSim sets no bound).
"""

from __future__ import annotations

import heapq
from collections import OrderedDict, deque

from policies.base import Kernel, Key, SizedPolicy, register
from policies.limits import check_int

#: the largest K: the kernel keeps K request times per key
MAX_K = 64


@register("lruk")
class LRUK(SizedPolicy):
    """LRU-K with libCacheSim's default K = 2."""

    summary = "LRU-K: evicts the key whose K-th last request is oldest; keys seen fewer than K times go first (FIFO)."

    def __init__(self, capacity: int, k: int = 2):
        super().__init__(capacity)
        self.k = check_int("k", k, 1, MAX_K)
        self.clock = 0  # one tick per lookup and per insert
        self.history: dict[Key, deque[int]] = {}  # cached key -> deque of its last k request times, oldest first
        self.young: OrderedDict[Key, None] = OrderedDict()  # keys with fewer than k requests, in order of insertion
        self.kth_time: dict[Key, int] = {}  # keys with k requests -> the time of the k-th most recent one
        self._heap: list[tuple[int, Key]] = []  # (k-th time, key) of kth_time, stale entries skipped when popped

    def lookup(self, key: Key) -> bool:
        self.clock += 1
        history = self.history.get(key)
        if history is None:
            return False
        history.append(self.clock)  # the deque keeps the last k
        if key in self.young:
            if len(history) < self.k:
                return True  # still young: hits do not move it in the FIFO
            del self.young[key]
        self._rank(key, history[0])
        return True

    def insert(self, key: Key, size: int = 1) -> list[Key]:
        self.clock += 1
        if not self._replaces(key, size):
            return []
        evicted = self.evict_to(self.capacity - size)
        self.sizes[key] = size
        self.used += size
        self.history[key] = deque([self.clock], maxlen=self.k)
        if self.k == 1:
            self._rank(key, self.clock)
        else:
            self.young[key] = None
        return evicted

    def evict_to(self, units: int) -> list[Key]:
        """Evict as an insert makes room (the FIFO's oldest, then the oldest k-th request) down to `units`."""
        evicted = []
        while self.used > units:
            evicted.append(self._evict())
        return evicted

    def _rank(self, key: Key, kth_time: int) -> None:
        """Put the key in the priority queue at the time of its k-th most recent request."""
        self.kth_time[key] = kth_time
        heapq.heappush(self._heap, (kth_time, key))
        if len(self._heap) > 2 * len(self.kth_time) + 64:  # drop the stale entries now and then
            self._heap = [(time, key) for key, time in self.kth_time.items()]
            heapq.heapify(self._heap)

    def _evict(self) -> Key:
        """The FIFO's oldest key if any (infinite K-distance), else the oldest k-th request's."""
        if self.young:
            victim = next(iter(self.young))
        else:
            while True:
                time, victim = heapq.heappop(self._heap)
                if self.kth_time.get(victim) == time:
                    break
        self.remove(victim)
        return victim

    def remove(self, key: Key) -> bool:
        if self._drop(key) is None:
            return False
        del self.history[key]
        if self.young.pop(key, False) is False:
            del self.kth_time[key]  # its heap entry turns stale
        return True

    def keys(self) -> list[Key]:
        """Next victim first: the FIFO oldest first, then by k-th request time."""
        return list(self.young) + sorted(self.kth_time, key=self.kth_time.__getitem__)

    def params(self) -> dict[str, object]:
        return {"k": self.k}

    def make_kernel(self) -> Kernel:
        from policies._kernels.lruk import LRUKKernel

        return LRUKKernel(self.capacity, self.k)
