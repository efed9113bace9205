"""MQ, the Multi-Queue algorithm: LRU queues by frequency, with lifetimes and a history.

Y. Zhou, J. Philbin, K. Li, "The Multi-Queue replacement algorithm for second
level buffer caches", USENIX ATC 2001.

A second-level cache (a storage server's, behind clients' own caches) sees
few re-references close together: the client cache absorbed them.  What
tells a valuable block there is how *often* it comes back, and for how long.
MQ keeps m LRU queues; an object requested f times lives in queue
min(floor(log2 f), m - 1), so each queue up holds objects twice as popular.
The victim is the least recently used object of the lowest non-empty queue.

Frequency alone would keep yesterday's favourites forever, so each object
gets a *lifetime*: an object that sat at the LRU end of its queue past its
expiry time, unrequested, is demoted one queue down (the paper's Adjust).
And frequency survives eviction for a while: *Qout*, a FIFO of evicted keys
(four times the cache, counted in the objects' sizes), remembers each one's
count, and a key requested again while there comes back with it plus one.

Semantics follow libCacheSim 0.3.5's MQ (cache/eviction/MQ.c):

* time is a counter ticked by Adjust, which runs once after every hit and
  every insert (a miss whose object is not cached does not tick); a hit or
  an insert sets the object's expiry to the time before that tick plus
  `lifetime`, and an object expires when its expiry is below the time;
* Adjust looks at queues 1 .. m-1 in order, at the LRU end of each, and
  demotes at most one object per queue (to the MRU end of the queue below,
  its count unchanged, its expiry renewed);
* a hit moves the object to the MRU end of the queue of its new count, even
  when that is its own queue; counts stop at 2**31 - 1;
* an object larger than Qout is not remembered there; an object larger than
  the cache is not cached (and the key's Qout entry, found by the lookup, is
  gone all the same).

No difference from libCacheSim's decisions is known.  Lookup and insert are
apart in a timed model, so a Qout hit seen by ``lookup`` is remembered per
key until that key's ``insert`` (libCacheSim remembers the last one only).
"""

from __future__ import annotations

from policies.base import Kernel, Key, Policy, register
from policies.limits import check_int
from policies.queues import SizedQueue

#: libCacheSim's bound on the number of queues
MAX_QUEUES = 64
#: the longest lifetime, in requests: the kernel adds it to its int64 clock
MAX_LIFETIME = 2**62
#: counts stop here (libCacheSim keeps them in an int32)
MAX_COUNT = 2**31 - 1


@register("mq")
class MQ(Policy):
    """MQ with libCacheSim's defaults: 8 queues, lifetime 10,000 requests, Qout 4x the cache."""

    summary = "MQ: LRU queues by log2 of the request count; idle keys step down; evicted keys' counts are remembered."

    def __init__(self, capacity: int, n_queue: int = 8, lifetime: int = 10000, qout_size_ratio: float = 4.0):
        super().__init__(capacity)
        check_int("n_queue", n_queue, 1, MAX_QUEUES)
        check_int("lifetime", lifetime, 1, MAX_LIFETIME)  # time + lifetime stays within the kernel's int64
        if isinstance(qout_size_ratio, bool) or not 0 < qout_size_ratio <= 64:  # Qout within 2**56 units
            raise ValueError(f"qout_size_ratio must be in (0, 64], got {qout_size_ratio!r}")
        self.n_queue = int(n_queue)
        self.lifetime = int(lifetime)
        self.qout_size_ratio = qout_size_ratio
        self.qout_capacity = int(capacity * qout_size_ratio)
        self.queues = [SizedQueue() for _ in range(self.n_queue)]  # each LRU first, MRU last
        self.level: dict = {}  # cached key -> the index of its queue
        self.count: dict = {}  # cached key -> its request count
        self.expiry: dict = {}  # cached key -> the time after which it may be demoted
        self.vtime = 0
        self.qout = SizedQueue()  # evicted keys, oldest first
        self.qout_count: dict = {}  # key in Qout -> its count when evicted
        self._returning: dict = {}  # key whose last lookup found it in Qout -> its count, until its insert

    @property
    def used(self) -> int:  # type: ignore[override]  # the sum over its parts, read-only
        return sum(queue.used for queue in self.queues)

    def queue_of(self, count: int) -> int:
        """min(floor(log2 count), n_queue - 1)."""
        return min(count.bit_length() - 1, self.n_queue - 1)

    def lookup(self, key: Key) -> bool:
        level = self.level.get(key)
        if level is None:
            # A miss: a key found in Qout comes back with its count (and leaves Qout).
            if key in self.qout:
                self.qout.remove(key)
                self._returning[key] = self.qout_count.pop(key)
            else:
                self._returning.pop(key, None)
            return False
        count = min(self.count[key] + 1, MAX_COUNT)
        self._place(key, self.queues[level].remove(key), count)
        self._adjust()
        return True

    def insert(self, key: Key, size: int = 1) -> list[Key]:
        returning = self._returning.pop(key, None)
        self.remove(key)  # a cached key is replaced; a key being cached is no Qout entry
        if size > self.capacity:
            return []
        evicted = self.evict_to(self.capacity - size)
        self._place(key, size, 1 if returning is None else min(returning + 1, MAX_COUNT))
        self._adjust()
        return evicted

    def _place(self, key: Key, size: int, count: int) -> None:
        """Put the key at the MRU end of its count's queue, its lifetime starting now."""
        level = self.queue_of(count)
        self.queues[level].push(key, size)
        self.level[key] = level
        self.count[key] = count
        self.expiry[key] = self.vtime + self.lifetime

    def _adjust(self) -> None:
        """Tick; demote the LRU object of each queue above the first if it expired."""
        self.vtime += 1
        for level in range(1, self.n_queue):
            queue = self.queues[level]
            if queue:
                key = queue.oldest()
                if self.expiry[key] < self.vtime:
                    self.queues[level - 1].push(key, queue.remove(key))
                    self.level[key] = level - 1
                    self.expiry[key] = self.vtime + self.lifetime

    def _evict(self) -> Key:
        """The LRU object of the lowest non-empty queue leaves; Qout remembers its count."""
        queue = next(queue for queue in self.queues if queue)
        victim, size = queue.pop_oldest()
        count = self.count.pop(victim)
        del self.level[victim], self.expiry[victim]
        if size <= self.qout_capacity:
            while self.qout.used + size > self.qout_capacity:
                del self.qout_count[self.qout.pop_oldest()[0]]
            self.qout.push(victim, size)
            self.qout_count[victim] = count
        return victim

    def evict_to(self, units: int) -> list[Key]:
        """Evict as an insert makes room (the LRU object of the lowest non-empty queue, remembered in
        Qout) until at most `units` are cached; the clock does not tick (a resize is no request)."""
        evicted = []
        while self.used > units:
            evicted.append(self._evict())
        return evicted

    def resize(self, capacity: int) -> list[Key]:
        """A new capacity: Qout's share re-derived as the constructor derives it (forgetting its oldest
        keys to fit), then evicted down to it (the victims entering the smaller Qout)."""
        self.qout_capacity = MQ(capacity, self.n_queue, self.lifetime, self.qout_size_ratio).qout_capacity
        while self.qout.used > self.qout_capacity:
            del self.qout_count[self.qout.pop_oldest()[0]]
        return super().resize(capacity)

    def remove(self, key: Key) -> bool:
        self._returning.pop(key, None)
        if self.qout.discard(key) is not None:
            del self.qout_count[key]
        level = self.level.pop(key, None)
        if level is None:
            return False
        self.queues[level].remove(key)
        del self.count[key], self.expiry[key]
        return True

    def __contains__(self, key: Key) -> bool:
        return key in self.level

    def __len__(self) -> int:
        return len(self.level)

    def keys(self) -> list[Key]:
        """Next victim first: queue 0 LRU first, then queue 1, ..."""
        return [key for queue in self.queues for key in queue]

    def ghost_keys(self) -> list[Key]:
        """Qout, oldest first."""
        return list(self.qout)

    def params(self) -> dict[str, object]:
        return {"n_queue": self.n_queue, "lifetime": self.lifetime, "qout_size_ratio": self.qout_size_ratio}

    def make_kernel(self) -> Kernel:
        from policies._kernels.mq import MQKernel

        return MQKernel(self.capacity, self.n_queue, self.lifetime, self.qout_capacity)
