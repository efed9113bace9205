"""SLRU: segmented LRU, a ladder of LRU segments climbed one rung per hit.

R. Karedla, J. S. Love, B. G. Wherry, "Caching strategies to improve disk
system performance", IEEE Computer 27(3), 1994.

The cache is split into `n_seg` LRU segments of equal capacity (libCacheSim's
default: 4 segments of capacity // 4).  A hit moves an object up one segment
(or to the MRU end of the top one); a segment pushed over its capacity
*cools*: its LRU object drops to the MRU end of the segment below, and
segment 0 drops its LRU object out of the cache.  Objects that are hit often
climb away from the bottom, where one-time objects are evicted first.

Semantics follow libCacheSim's SLRU exactly, including two that surprise:

* a new object goes into the *lowest segment that still has room*, so while
  the cache warms up new objects fill the upper segments too; only when no
  segment has room is it put in segment 0 (after evicting to make room);
* eviction takes the LRU object of the lowest non-empty segment, and a hit
  can evict: promoting into a full segment cools it, which may cascade down
  to segment 0 and out of the cache.

An object larger than one segment is not admitted (libCacheSim's
SLRU_can_insert).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from policies.base import Kernel, Key, Policy, register
from policies.limits import check_int
from policies.queues import SizedQueue

#: the most segments an SLRU takes (each is a queue; a policy of thousands would only be slow)
MAX_SEGMENTS = 64


class SegmentedLRU:
    """LRU segments with libCacheSim's SLRU rules, counting in capacity units.

    Also the main cache of W-TinyLFU.  ``segments[i]`` is a SizedQueue, LRU
    first, of fixed capacity ``seg_capacity[i]``; `capacity` bounds the whole
    (by default the sum of the segments).  ``where`` maps each cached key to
    its segment, ``used`` is the size of the whole, and every key that leaves
    the cache is appended to ``evicted`` (the owner swaps in a fresh list).
    """

    def __init__(self, segment_capacities: Iterable[int], capacity: int | None = None):
        self.seg_capacity = list(segment_capacities)
        self.capacity = sum(self.seg_capacity) if capacity is None else capacity
        self.segments = [SizedQueue() for _ in self.seg_capacity]
        self.where: dict[Key, int] = {}  # key -> index of its segment
        self.used = 0
        self.evicted: list[Key] = []

    def can_insert(self, size: int) -> bool:
        return size <= self.seg_capacity[0] and size <= self.capacity

    def hit(self, key: Key) -> bool:
        """Promote a cached key one segment up (or to the top's MRU end); False if it is not cached."""
        seg = self.where.get(key)
        if seg is None:
            return False
        segments = self.segments
        if seg == len(segments) - 1:
            segments[seg].move_to_end(key)
            return True
        self._move(key, seg + 1, segments[seg].remove(key))
        return True

    def _cool(self, seg: int) -> None:
        """Move segment `seg`'s LRU object down a segment (out of the cache from 0)."""
        if seg == 0:
            self.evict()
            return
        key, size = self.segments[seg].pop_oldest()
        self._move(key, seg - 1, size)

    def _move(self, key: Key, target: int, size: int) -> None:
        """Put a key just taken from its segment at the MRU end of segment `target`, cooling it if over."""
        self.segments[target].push(key, size)
        self.where[key] = target
        while self.segments[target].used > self.seg_capacity[target]:
            self._cool(target)

    def victim(self) -> Key:
        """The key the next eviction would take: LRU of the lowest non-empty segment."""
        for segment in self.segments:
            if segment:
                return segment.oldest()
        return None

    def evict(self) -> Key:
        for segment in self.segments:
            if segment.used > 0:
                key, size = segment.pop_oldest()
                del self.where[key]
                self.used -= size
                self.evicted.append(key)
                return key
        raise RuntimeError("evict from an empty SLRU")

    def evict_to(self, units: int) -> None:
        """Evict (LRU of the lowest non-empty segment) until at most `units` are cached."""
        while self.used > units:
            self.evict()

    def resize(self, segment_capacities: Iterable[int], capacity: int) -> None:
        """New segment capacities and limit: each segment over its new capacity cools, from the top
        down (its LRU objects drop a segment, out of the cache from segment 0), then evict to the limit."""
        self.seg_capacity = list(segment_capacities)
        self.capacity = capacity
        for seg in reversed(range(len(self.segments))):
            while self.segments[seg].used > self.seg_capacity[seg]:
                self._cool(seg)
        self.evict_to(capacity)

    def insert(self, key: Key, size: int) -> None:
        """Put a new key in the lowest segment with room, else make room and use segment 0."""
        for seg, segment in enumerate(self.segments):
            if segment.used + size <= self.seg_capacity[seg]:
                break
        else:
            seg = 0
            while self.used + size > self.capacity:
                self.evict()
        self.segments[seg].push(key, size)
        self.where[key] = seg
        self.used += size

    def remove(self, key: Key) -> int | None:
        seg = self.where.pop(key, None)
        if seg is None:
            return None
        size = self.segments[seg].remove(key)
        self.used -= size
        return size

    def keys(self) -> list[Key]:
        return [key for segment in self.segments for key in segment]


def split_capacity(capacity: int, parts: Sequence[float]) -> list[int]:
    """libCacheSim's seg-size rule: part i gets int(parts[i] / sum(parts) * capacity)."""
    total = sum(parts)
    return [int(part / total * capacity) for part in parts]


@register("slru")
class SLRU(Policy):
    """Segmented LRU with `n_seg` equal segments (libCacheSim's default 4).

    `segments` (e.g. ``(1, 4)``) gives unequal relative sizes instead, as
    libCacheSim's ``seg-size=1:4``.  A segment of capacity 0 (a tiny cache) is
    given one unit, where libCacheSim would refuse to build the cache.
    """

    summary = "Segmented LRU: keys start in the lowest segment and climb one segment per hit."

    def __init__(self, capacity: int, n_seg: int = 4, segments: tuple | None = None):
        super().__init__(capacity)
        if segments is not None:
            parts = [float(p) for p in segments]
            if not 0 < len(parts) <= MAX_SEGMENTS or not all(0 < p < math.inf for p in parts):
                raise ValueError(
                    f"segments must be 1 to {MAX_SEGMENTS} positive finite relative sizes, got {segments!r}"
                )
            seg_capacity = split_capacity(capacity, parts)
        else:
            seg_capacity = [capacity // check_int("n_seg", n_seg, 1, MAX_SEGMENTS)] * int(n_seg)
        self.n_seg = len(seg_capacity)
        self.segments = tuple(segments) if segments is not None else None
        self.seg_capacities = [max(c, 1) for c in seg_capacity]  # a segment of capacity 0 gets one unit
        # The cache, not the sum of the rounded segments, is the limit.
        self._slru = SegmentedLRU(self.seg_capacities, capacity)

    @property
    def used(self) -> int:  # type: ignore[override]  # the sum over its parts, read-only
        return self._slru.used

    def lookup(self, key: Key) -> bool:
        return self._slru.hit(key)

    def insert(self, key: Key, size: int = 1) -> list[Key]:
        slru = self._slru
        if key in slru.where:
            slru.remove(key)
        if size > self.capacity or not slru.can_insert(size):
            return []
        evicted: list[Key] = []
        slru.evicted = evicted
        slru.evict_to(self.capacity - size)
        slru.insert(key, size)
        slru.evicted = []  # evictions by later hits are not this insert's
        return evicted

    def access(self, key: Key, size: int = 1) -> bool:
        if self._slru.hit(key):
            return True
        self.insert(key, size)
        return False

    def evict_to(self, units: int) -> list[Key]:
        """Evict the LRU objects of the lowest non-empty segments until at most `units` are cached."""
        slru = self._slru
        evicted: list[Key] = []
        slru.evicted = evicted
        slru.evict_to(units)
        slru.evicted = []
        return evicted

    def resize(self, capacity: int) -> list[Key]:
        """A new capacity: the segments re-derived as the constructor derives them; a segment over its
        new size cools into the one below (from the top), then the cache evicts down to the capacity."""
        shares = SLRU(capacity, self.n_seg, self.segments)
        self.capacity = shares.capacity
        slru = self._slru
        evicted: list[Key] = []
        slru.evicted = evicted
        slru.resize(shares._slru.seg_capacity, shares.capacity)
        slru.evicted = []
        return evicted

    def remove(self, key: Key) -> bool:
        return self._slru.remove(key) is not None

    def __contains__(self, key: Key) -> bool:
        return key in self._slru.where

    def __len__(self) -> int:
        return len(self._slru.where)

    def keys(self) -> list[Key]:
        """Segment 0 (LRU first) up to the top segment."""
        return self._slru.keys()

    @property
    def max_object_size(self) -> int:
        return min(self.capacity, self._slru.seg_capacity[0])

    def segment_of(self, key: Key) -> int | None:
        """The segment index of a cached key (0 is the bottom), or None."""
        return self._slru.where.get(key)

    def params(self) -> dict[str, object]:
        if self.segments is not None:
            return {"segments": ":".join(str(s) for s in self.segments)}
        return {"n_seg": self.n_seg}

    def make_kernel(self) -> Kernel:
        from policies._kernels.slru import SLRUKernel

        return SLRUKernel(self.capacity, self.seg_capacities)
