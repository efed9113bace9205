"""LFU-DA: least frequently used with dynamic aging.

M. Arlitt, L. Cherkasova, J. Dilley, R. Friedrich, T. Jin, "Evaluating
content management techniques for web proxy caches", ACM SIGMETRICS
Performance Evaluation Review 27(4), 2000.

Plain LFU never forgets: an object popular long ago keeps its high count and
its place.  LFU-DA keys every object by ``K = F + L``, its reference count
``F`` plus the cache age ``L``, which rises to the key of each evicted object;
new and newly hit objects are keyed relative to the current age, so stale
counts lose to recent ones.  The smallest key is evicted; objects with the
same key leave in the order they got it.  Two agings (parameter ``aging``):

* ``"paper"`` (the default): the paper's rule.  A new object gets
  ``F = 1, K = L + 1``; a hit counts ``F + 1`` and re-keys the object to
  ``K = L + F`` with the current age; an eviction takes the smallest key and
  sets ``L`` to it.  A key is a sum of reference counts of distinct requests
  (the age is an evicted key, itself such a sum), so no key exceeds the
  number of requests served: it never overflows a 64-bit integer.
* ``"libcachesim"``: libCacheSim 0.3.5's LFUDA, which this matches request for
  request on our traces (the parity tests use it).  The age ``L`` is the
  smallest key in the cache, updated when an eviction or a hit empties that
  key's bucket; a new object gets ``L + 1``, and a hit *adds* ``L`` to the
  object's key (rather than re-keying it to ``L + F``).  Before the first
  eviction ``L`` is 0, so hits do not raise keys and the cache behaves as
  LRU; after it, keys roughly double under repeated hits (past 2**794 after
  200,000 requests at capacity 10), which libCacheSim's int64 wraps.  Here a
  key that would pass 2**63 - 1 stops the run with a PolicyError, in both
  engines alike.

Keys are integers, so buckets are found with a heap of non-empty keys.
"""

from __future__ import annotations

import heapq
from collections import OrderedDict

from policies.base import Kernel, Key, PolicyError, SizedPolicy, register
from policies.limits import INT64_MAX

#: the two rules for a hit's new key (see the module's docstring)
AGINGS = ("paper", "libcachesim")


@register("lfuda")
class LFUDA(SizedPolicy):
    """LFU with dynamic aging: the paper's (``aging="paper"``) or libCacheSim's (``aging="libcachesim"``)."""

    summary = "LFU with dynamic aging: frequency plus an age that rises with each eviction, so old favourites fade."

    def __init__(self, capacity: int, aging: str = "paper"):
        super().__init__(capacity)
        if aging not in AGINGS:
            raise ValueError(f"aging must be one of {', '.join(map(repr, AGINGS))}, got {aging!r}")
        self.aging = aging
        self.age = 0  # L: the last evicted key (paper), or libCacheSim's min_freq
        self._key_of: dict = {}  # cached key -> its LFU-DA key (priority)
        self._count: dict = {}  # cached key -> its reference count F (the paper's aging)
        self._buckets: dict[int, OrderedDict] = {}  # priority -> keys in the order they got it
        self._heap: list = []  # priorities that may have a bucket (lazy)

    def lookup(self, key: Key) -> bool:
        old = self._key_of.get(key)
        if old is None:
            return False
        if self.aging == "paper":
            self._count[key] += 1
            new = self.age + self._count[key]
            self._take_out(key, old)
        else:
            new = old + self.age
            if new > INT64_MAX:
                raise PolicyError(
                    "lfuda (aging = 'libcachesim'): a key passed 2**63 - 1 (libCacheSim adds the age on every "
                    "hit, so keys double); use aging = 'paper'"
                )
            if self._take_out(key, old) and old == self.age:
                self._advance_age()  # before the key lands in its new bucket, as libCacheSim
        self._key_of[key] = new
        self._bucket(new)[key] = None
        return True

    def _take_out(self, key: Key, priority: int) -> bool:
        """Take a key out of its bucket; True if that emptied (and dropped) the bucket."""
        bucket = self._buckets[priority]
        del bucket[key]
        if bucket:
            return False
        del self._buckets[priority]
        return True

    def insert(self, key: Key, size: int = 1) -> list:
        if not self._replaces(key, size):
            return []
        evicted = self.evict_to(self.capacity - size)
        priority = self.age + 1
        self.sizes[key] = size
        self._key_of[key] = priority
        self._count[key] = 1
        self._bucket(priority)[key] = None
        self.used += size
        return evicted

    def evict_to(self, units: int) -> list[Key]:
        """Evict the lowest LFU-DA keys (raising the age) until at most `units` are used."""
        evicted = []
        while self.used > units:
            evicted.append(self._evict())
        return evicted

    def _bucket(self, priority: int) -> OrderedDict:
        bucket = self._buckets.get(priority)
        if bucket is None:
            bucket = self._buckets[priority] = OrderedDict()
            heapq.heappush(self._heap, priority)
            if len(self._heap) > 2 * len(self._buckets) + 1024:  # emptied priorities pile up: keep the live ones
                self._heap = [p for p in self._buckets if p >= self.age]
                heapq.heapify(self._heap)
        return bucket

    def _evict(self) -> Key:
        if self.aging == "paper":
            return self._evict_smallest()
        priority = max(self.age, 1)  # libCacheSim's min_freq 0 and 1 both mean the key-1 bucket
        bucket = self._buckets.get(priority)
        if bucket is None:  # the age lost track (libCacheSim would fail here): take the true minimum
            priority = min(self._buckets)
            bucket = self._buckets[priority]
        victim = bucket.popitem(last=False)[0]
        self.age = priority
        if not bucket:
            del self._buckets[priority]
            self._advance_age()
        del self._key_of[victim]
        del self._count[victim]
        self.used -= self.sizes.pop(victim)
        return victim

    def _evict_smallest(self) -> Key:
        """The paper's eviction: the first key of the smallest priority goes, and the age becomes that priority."""
        # Called on a cache that holds a key, so a bucket exists and its priority is not None.
        priority: int = self._smallest_above(-1)  # type: ignore[assignment]
        bucket = self._buckets[priority]
        victim = bucket.popitem(last=False)[0]
        self.age = priority
        if not bucket:
            del self._buckets[priority]
        del self._key_of[victim]
        del self._count[victim]
        self.used -= self.sizes.pop(victim)
        return victim

    def _smallest_above(self, floor: int) -> int | None:
        """The smallest priority above `floor` that has a bucket, or None.

        The age never decreases, so heap entries at or below it are dropped for good
        (the paper's aging asks for the smallest above -1: every priority is positive).
        """
        heap, buckets = self._heap, self._buckets
        while heap and (heap[0] <= floor or heap[0] not in buckets):
            heapq.heappop(heap)
        return heap[0] if heap else None

    def _advance_age(self) -> None:
        """The age moves up to the next non-empty key (it stays if there is none)."""
        nxt = self._smallest_above(self.age)
        if nxt is not None:
            self.age = nxt

    def remove(self, key: Key) -> bool:
        if self._drop(key) is None:
            return False
        priority = self._key_of.pop(key)
        del self._count[key]
        if self._take_out(key, priority) and priority == self.age and self.aging == "libcachesim":
            self._advance_age()
        return True

    def keys(self) -> list:
        """By LFU-DA key, then by the time of getting it (next victim first)."""
        return [key for priority in sorted(self._buckets) for key in self._buckets[priority]]

    def priority(self, key: Key) -> int | None:
        return self._key_of.get(key)

    def params(self) -> dict[str, object]:
        return {"aging": self.aging}

    def make_kernel(self) -> Kernel:
        from policies._kernels.lfuda import LFUDAKernel

        return LFUDAKernel(self.capacity, self.aging == "libcachesim")
