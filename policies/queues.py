"""The parts composite policies are built of: a sized queue and a bounded ghost list.

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

Both are dicts, so membership, ``len`` and ``move_to_end`` are the C methods
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
