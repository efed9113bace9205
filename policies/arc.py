"""ARC: adaptive replacement between recency and frequency.

N. Megiddo, D. S. Modha, "ARC: A self-tuning, low overhead replacement
cache", FAST 2003.

Two LRU lists hold the cached objects: T1 those seen once recently, T2 those
seen at least twice.  Two ghost lists, B1 and B2, remember the keys recently
evicted from T1 and T2.  A target size p for T1 moves with the workload: a
miss that hits B1 means T1 was too small (p grows by max(|B2|/|B1|, 1)), a
miss that hits B2 means T2 was too small (p shrinks by max(|B1|/|B2|, 1)).
REPLACE evicts from T1 when it is larger than p, else from T2, the victim's
key moving to the matching ghost list.  Sizes are counted in capacity units,
so with a byte capacity every list length is a byte count.

Semantics follow libCacheSim's ARC exactly (its miss counts are matched
request for request), in particular:

* a ghost hit inserts the object at the MRU end of T2, making room by
  REPLACE only (the ghost lists are not trimmed then);
* a miss on every list trims the ghosts first: if T1 + B1 + the new object
  exceed the capacity, B1's oldest key goes (or, with B1 empty, T1's LRU
  object is evicted without leaving a ghost); otherwise, when all four lists
  together reach twice the capacity, B2's oldest key goes;
* the tie ``|T1| == p`` evicts from T1 only when the request hit B2.

libCacheSim keeps "this request hit a ghost" in flags that live until the
next request; with lookup and insert apart (a timed model), the ghost hit
seen by ``lookup`` is remembered per key until that key's ``insert``.
"""

from __future__ import annotations

from policies.base import Kernel, Key, Policy, register
from policies.queues import SizedQueue


@register("arc")
class ARC(Policy):
    """Adaptive Replacement Cache (no parameters, as in libCacheSim)."""

    summary = "Adaptive replacement: two LRU lists (seen once, seen twice) whose split follows the workload."

    def __init__(self, capacity: int):
        super().__init__(capacity)
        self.p = 0.0  # target size of T1
        self.t1 = SizedQueue()  # cached, seen once recently: LRU first
        self.t2 = SizedQueue()  # cached, seen at least twice: LRU first
        self.b1 = SizedQueue()  # ghosts of T1's evictions: oldest first
        self.b2 = SizedQueue()  # ghosts of T2's evictions: oldest first
        self._ghost_hits: dict = {}  # key -> 1 (hit B1) or 2 (hit B2), until its insert

    @property
    def used(self) -> int:  # type: ignore[override]  # the sum over its parts, read-only
        return self.t1.used + self.t2.used

    def lookup(self, key: Key) -> bool:
        t1, t2, b1, b2 = self.t1, self.t2, self.b1, self.b2
        if key in t1:  # seen twice now: T1 -> T2
            t2.push(key, t1.remove(key))
            return True
        if key in t2:
            t2.move_to_end(key)
            return True
        if key in b1:
            # T1 was too small: grow its target (with B1 as it is before the removal).
            self.p = min(self.p + max(b2.used / b1.used, 1), self.capacity)
            b1.remove(key)
            self._ghost_hits[key] = 1
        elif key in b2:
            self.p = max(self.p - max(b1.used / b2.used, 1), 0)
            b2.remove(key)
            self._ghost_hits[key] = 2
        return False

    def insert(self, key: Key, size: int = 1) -> list[Key]:
        ghost = self._ghost_hits.pop(key, 0)
        # A key being cached is no longer a ghost: when lookup and insert are apart, it may
        # have been cached (and evicted into a ghost list) by an earlier insert meanwhile.
        self.remove(key)
        if size > self.capacity:
            return []
        evicted = []
        t1, t2 = self.t1, self.t2
        while t1.used + t2.used + size > self.capacity:
            if ghost:
                evicted.append(self._replace(hit_b2=ghost == 2))
            else:
                evicted.append(self._evict_for_new(size))
        if ghost:
            t2.push(key, size)
        else:
            t1.push(key, size)
        return evicted

    def _replace(self, hit_b2: bool) -> Key:
        """REPLACE: evict T1's or T2's LRU object into its ghost list; return its key."""
        t1 = self.t1
        if (t1.used > 0 and (t1.used > self.p or (t1.used == self.p and hit_b2))) or self.t2.used == 0:
            return t1.move_oldest_to(self.b1)
        return self.t2.move_oldest_to(self.b2)

    def _evict_for_new(self, size: int) -> Key:
        """Make room for a key on no list (the paper's case IV), one object at a time."""
        t1, t2, b1, b2 = self.t1, self.t2, self.b1, self.b2
        if t1.used + b1.used + size > self.capacity:
            if b1.used > 0:
                b1.pop_oldest()
                return self._replace(hit_b2=False)
            return t1.pop_oldest()[0]  # no ghost for this one
        if b2.used > 0 and t1.used + b1.used + t2.used + b2.used >= 2 * self.capacity:
            b2.pop_oldest()
        return self._replace(hit_b2=False)

    def evict_to(self, units: int) -> list[Key]:
        """REPLACE (T1's or T2's LRU object into its ghost list) until at most `units` are cached."""
        evicted = []
        while self.t1.used + self.t2.used > units:
            evicted.append(self._replace(hit_b2=False))
        return evicted

    def resize(self, capacity: int) -> list[Key]:
        """A new capacity c: the target p is kept within [0, c], the cache evicted by REPLACE down to c,
        and the ghosts trimmed (oldest first) to the paper's bounds |T1| + |B1| <= c, the four lists <= 2c."""
        evicted = super().resize(capacity)
        self.p = min(self.p, self.capacity)
        t1, t2, b1, b2 = self.t1, self.t2, self.b1, self.b2
        while b1 and t1.used + b1.used > self.capacity:
            b1.pop_oldest()
        while (b1 or b2) and t1.used + t2.used + b1.used + b2.used > 2 * self.capacity:
            (b2 if b2 else b1).pop_oldest()
        return evicted

    def remove(self, key: Key) -> bool:
        self._ghost_hits.pop(key, None)
        # A key is on one list at most.
        if key in self.t1:
            self.t1.remove(key)
        elif key in self.t2:
            self.t2.remove(key)
        else:
            if key in self.b1:
                self.b1.remove(key)
            elif key in self.b2:
                self.b2.remove(key)
            return False
        return True

    def __contains__(self, key: Key) -> bool:
        return key in self.t1 or key in self.t2

    def __len__(self) -> int:
        return len(self.t1) + len(self.t2)

    def keys(self) -> list[Key]:
        """T1 then T2, each least recently used first."""
        return list(self.t1) + list(self.t2)

    def ghost_keys(self) -> list[Key]:
        """B1 then B2, each oldest first."""
        return list(self.b1) + list(self.b2)

    def make_kernel(self) -> Kernel:
        from policies._kernels.arc import ARCKernel

        return ARCKernel(self.capacity)
