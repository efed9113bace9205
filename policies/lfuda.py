"""LFU-DA: least frequently used with dynamic aging.

M. Arlitt, L. Cherkasova, J. Dilley, R. Friedrich, T. Jin, "Evaluating
content management techniques for web proxy caches", ACM SIGMETRICS
Performance Evaluation Review 27(4), 2000.

Plain LFU never forgets: an object popular long ago keeps its high count and
its place.  LFU-DA keys every object by ``L + frequency``, where the cache age
``L`` rises to the key of each evicted object; new and newly hit objects are
keyed relative to the current age, so stale counts lose to recent ones.
Objects with the same key leave in the order they got it.

As libCacheSim's LFUDA (which this matches request for request on our
traces, though it is listed as approximate): the age ``L`` is the smallest key
in the cache, updated when an eviction or a hit empties that key's bucket; a
new object gets ``L + 1``, and a hit *adds* ``L`` to the object's key (rather
than re-keying it to ``L + frequency``).  Before the first eviction ``L`` is
0, so hits do not raise keys and the cache behaves as LRU.  Keys are
integers, so buckets are found with a heap of non-empty keys.
"""

from __future__ import annotations

import heapq
from collections import OrderedDict

from policies.base import Kernel, Key, SizedPolicy, register


@register("lfuda")
class LFUDA(SizedPolicy):
    """LFU with dynamic aging (no parameters, as in libCacheSim)."""

    summary = "LFU with dynamic aging: frequency plus an age that rises with each eviction, so old favourites fade."

    def __init__(self, capacity: int):
        super().__init__(capacity)
        self.age = 0  # L: the minimum key, libCacheSim's min_freq
        self._key_of: dict = {}  # cached key -> its LFU-DA key (priority)
        self._buckets: dict[int, OrderedDict] = {}  # priority -> keys in the order they got it
        self._heap: list = []  # priorities that may have a bucket (lazy)

    def lookup(self, key: Key) -> bool:
        old = self._key_of.get(key)
        if old is None:
            return False
        new = old + self.age
        bucket = self._buckets[old]
        del bucket[key]
        if not bucket:
            del self._buckets[old]
            if old == self.age:
                self._advance_age()  # before the key lands in its new bucket, as libCacheSim
        self._key_of[key] = new
        self._bucket(new)[key] = None
        return True

    def insert(self, key: Key, size: int = 1) -> list:
        if not self._replaces(key, size):
            return []
        evicted = []
        while self.used + size > self.capacity:
            evicted.append(self._evict())
        priority = self.age + 1
        self.sizes[key] = size
        self._key_of[key] = priority
        self._bucket(priority)[key] = None
        self.used += size
        return evicted

    def _bucket(self, priority: int) -> OrderedDict:
        bucket = self._buckets.get(priority)
        if bucket is None:
            bucket = self._buckets[priority] = OrderedDict()
            heapq.heappush(self._heap, priority)
        return bucket

    def _evict(self) -> Key:
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
        self.used -= self.sizes.pop(victim)
        return victim

    def _smallest_above(self, floor: int) -> int | None:
        """The smallest priority above `floor` that has a bucket, or None.

        The age never decreases, so heap entries at or below it are dropped for good.
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
        bucket = self._buckets[priority]
        del bucket[key]
        if not bucket:
            del self._buckets[priority]
            if priority == self.age:
                self._advance_age()
        return True

    def keys(self) -> list:
        """By LFU-DA key, then by the time of getting it (next victim first)."""
        return [key for priority in sorted(self._buckets) for key in self._buckets[priority]]

    def priority(self, key: Key) -> int | None:
        return self._key_of.get(key)

    def make_kernel(self) -> Kernel:
        from policies._kernels.lfuda import LFUDAKernel

        return LFUDAKernel(self.capacity)
