"""The parts composite policies are built of: a sized queue, a bounded ghost list, count buckets.

ARC, S3-FIFO, 2Q, SLRU, LIRS and W-TinyLFU each keep several ordered lists
of keys, and each list must know how much capacity its keys take, in the
units of the cache (1 per object, or bytes).  libCacheSim builds its
composite policies out of whole caches; here the unit is smaller and
cheaper, a queue:

    queue = SizedQueue()
    queue.push("a", 3)        # at the back (newest / most recently used end)
    queue.push("b", 2)
    queue.move_to_end("a")    # back to the back: an LRU hit
    queue.pop_oldest()        # ("b", 2): from the front
    queue.used, len(queue), "a" in queue    # 3, 1, True
    queue.move_oldest_to(other)             # "a": to the back of another queue

A *ghost list* remembers keys that left the cache, with the sizes they had,
so that a quick return can be told apart from a first request (S3-FIFO's
ghost FIFO, 2Q's A1out).  It holds no objects; its capacity bounds the sizes
it remembers, the oldest forgotten first.

*Count buckets* rank keys by how often they were requested, each count's
keys in the order they reached it, so that the least requested key is found
at once (the constant-time LFU of Shah, Mitra and Matani, 2010): LeCaR's and
Cacheus's LFU experts.

The queues are dicts, so membership, ``len`` and ``move_to_end`` are the C methods
of ``OrderedDict``; only the methods that also keep ``used`` in step are
written here, each a line or two: these sit on every policy's hot path.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, cast

from policies.base import Key


class SizedQueue(OrderedDict[Key, int]):
    """Keys in order, front (oldest) to back (newest), each with its size; ``used`` is their sum.

    Add and take keys with the methods below, never by item assignment or
    ``pop``, which would leave ``used`` behind.
    """

    __slots__ = ("used",)  # a slot: read on every request, and faster than the instance dict

    def __init__(self) -> None:
        super().__init__()
        self.used = 0

    def push(self, key: Key, size: int) -> None:
        """Put a key that is not queued at the back."""
        self[key] = size
        self.used += size

    def pop_oldest(self) -> tuple[Key, int]:
        """Take the front key away: (key, size).  KeyError when empty."""
        key, size = self.popitem(last=False)
        self.used -= size
        return key, size

    def move_oldest_to(self, other: SizedQueue) -> Key:
        """Move the front key to the back of `other` (an eviction into a ghost list, a demotion); the key."""
        key, size = self.popitem(last=False)
        self.used -= size
        other[key] = size
        other.used += size
        return key

    def oldest(self) -> Key:
        """The front key, left in place.  StopIteration when empty."""
        return next(iter(self))

    def remove(self, key: Key) -> int:
        """Take a queued key away, wherever it is; its size.  KeyError if it is not queued."""
        size = self.pop(key)
        self.used -= size
        return size

    def discard(self, key: Key) -> int | None:
        """Take a key away if it is queued; its size, or None."""
        size = self.pop(key, None)
        if size is not None:
            self.used -= size
        return size

    def resize(self, key: Key, size: int) -> None:
        """Give a queued key a new size, leaving it where it is."""
        self.used += size - self[key]
        self[key] = size


class GhostList(SizedQueue):
    """Keys that left the cache, with their sizes, bounded by `capacity` units.

    ``remember`` adds a key at the back and forgets the oldest keys until the
    sizes fit; a key larger than the whole capacity is not remembered.
    """

    __slots__ = ("capacity",)

    def __init__(self, capacity: int):
        super().__init__()
        self.capacity = capacity

    def __reduce__(
        self,
    ) -> tuple[Any, ...]:  # pickle and copy: rebuild with the capacity (OrderedDict's passes no arguments)
        # OrderedDict's __reduce__ is a 5-tuple, never the string the general signature allows
        cls, _, state, items, pairs = cast("tuple[Any, ...]", super().__reduce__())
        return cls, (self.capacity,), state, items, pairs

    def remember(self, key: Key, size: int) -> None:
        capacity = self.capacity
        if size > capacity:
            return
        used = self.used + size
        while used > capacity:  # (pop_oldest and push, inlined: one call per eviction is enough)
            used -= self.popitem(last=False)[1]
        self[key] = size
        self.used = used


class CountBuckets:
    """Keys by request count: ``count[key]``, and per count its keys in the order they reached it.

    counts = CountBuckets()
    counts.add("a"); counts.add("b"); counts.count_up("a")
    counts.least_first(), counts.least_last()   # "b", "b": the only key counted once
    counts.remove("b")                          # 1, its count
    """

    def __init__(self) -> None:
        self.count: dict[Key, int] = {}
        self._buckets: dict[int, OrderedDict] = {}  # count -> keys in the order they reached it
        self._least = 0  # the smallest count held (0 when empty)

    def __len__(self) -> int:
        return len(self.count)

    def __getitem__(self, key: Key) -> int:
        return self.count[key]

    def add(self, key: Key, count: int = 1) -> None:
        """Count a key that is not counted yet, at `count`."""
        self.count[key] = count
        self._buckets.setdefault(count, OrderedDict())[key] = None
        if len(self.count) == 1 or count < self._least:
            self._least = count

    def count_up(self, key: Key) -> None:
        """One more request of a counted key: to the back of the next count's keys."""
        count = self.count[key]
        self._take(key, count)
        if self._least == count and count not in self._buckets:
            self._least = count + 1
        self.count[key] = count + 1
        self._buckets.setdefault(count + 1, OrderedDict())[key] = None

    def remove(self, key: Key) -> int:
        """Forget a key; its count."""
        count = self.count.pop(key)
        self._take(key, count)
        if self._least == count and count not in self._buckets:
            self._least = min(self._buckets, default=0)
        return count

    def least_first(self) -> Key:
        """Of the keys with the smallest count, the first to reach it."""
        return next(iter(self._buckets[self._least]))

    def least_last(self) -> Key:
        """Of the keys with the smallest count, the last to reach it."""
        return next(reversed(self._buckets[self._least]))

    def _take(self, key: Key, count: int) -> None:
        bucket = self._buckets[count]
        del bucket[key]
        if not bucket:
            del self._buckets[count]
