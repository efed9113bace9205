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

from collections import OrderedDict

from policies.base import Policy, register


@register("arc")
class ARC(Policy):
    """Adaptive Replacement Cache (no parameters, as in libCacheSim)."""

    def __init__(self, capacity: int):
        super().__init__(capacity)
        self.p = 0.0  # target size of T1
        self._t1: OrderedDict = OrderedDict()  # key -> size, LRU first
        self._t2: OrderedDict = OrderedDict()
        self._b1: OrderedDict = OrderedDict()  # ghosts: key -> size, oldest first
        self._b2: OrderedDict = OrderedDict()
        self._t1_used = self._t2_used = self._b1_used = self._b2_used = 0
        self._ghost_hits: dict = {}  # key -> 1 (hit B1) or 2 (hit B2), until its insert

    @property
    def used(self):
        return self._t1_used + self._t2_used

    def lookup(self, key):
        size = self._t1.pop(key, None)
        if size is not None:  # seen twice now: T1 -> T2
            self._t1_used -= size
            self._t2[key] = size
            self._t2_used += size
            return True
        t2 = self._t2
        if key in t2:
            t2.move_to_end(key)
            return True
        if key in self._b1:
            # T1 was too small: grow its target (with B1 as it is before the removal).
            self.p = min(self.p + max(self._b2_used / self._b1_used, 1), self.capacity)
            self._b1_used -= self._b1.pop(key)
            self._ghost_hits[key] = 1
        elif key in self._b2:
            self.p = max(self.p - max(self._b1_used / self._b2_used, 1), 0)
            self._b2_used -= self._b2.pop(key)
            self._ghost_hits[key] = 2
        return False

    def insert(self, key, size=1):
        ghost = self._ghost_hits.pop(key, 0)
        # A key being cached is no longer a ghost: when lookup and insert are apart, it may
        # have been cached (and evicted into a ghost list) by an earlier insert meanwhile.
        self.remove(key)
        if size > self.capacity:
            return []
        evicted = []
        capacity = self.capacity
        while self._t1_used + self._t2_used + size > capacity:
            if ghost:
                evicted.append(self._replace(hit_b2=ghost == 2))
            else:
                evicted.append(self._evict_for_new(size))
        if ghost:
            self._t2[key] = size
            self._t2_used += size
        else:
            self._t1[key] = size
            self._t1_used += size
        return evicted

    def _replace(self, hit_b2: bool):
        """REPLACE: evict T1's or T2's LRU object into its ghost list; return its key."""
        t1_used = self._t1_used
        if (t1_used > 0 and (t1_used > self.p or (t1_used == self.p and hit_b2))) or self._t2_used == 0:
            key, size = self._t1.popitem(last=False)
            self._t1_used -= size
            self._b1[key] = size
            self._b1_used += size
        else:
            key, size = self._t2.popitem(last=False)
            self._t2_used -= size
            self._b2[key] = size
            self._b2_used += size
        return key

    def _evict_for_new(self, size: int):
        """Make room for a key on no list (the paper's case IV), one object at a time."""
        if self._t1_used + self._b1_used + size > self.capacity:
            if self._b1_used > 0:
                self._b1_used -= self._b1.popitem(last=False)[1]
                return self._replace(hit_b2=False)
            key, victim_size = self._t1.popitem(last=False)  # no ghost for this one
            self._t1_used -= victim_size
            return key
        if self._b2_used > 0 and self._t1_used + self._b1_used + self._t2_used + self._b2_used >= 2 * self.capacity:
            self._b2_used -= self._b2.popitem(last=False)[1]
        return self._replace(hit_b2=False)

    def remove(self, key):
        self._ghost_hits.pop(key, None)
        for ghosts in (self._b1, self._b2):
            size = ghosts.pop(key, None)
            if size is not None:
                if ghosts is self._b1:
                    self._b1_used -= size
                else:
                    self._b2_used -= size
        size = self._t1.pop(key, None)
        if size is not None:
            self._t1_used -= size
            return True
        size = self._t2.pop(key, None)
        if size is not None:
            self._t2_used -= size
            return True
        return False

    def __contains__(self, key):
        return key in self._t1 or key in self._t2

    def __len__(self):
        return len(self._t1) + len(self._t2)

    def keys(self):
        """T1 then T2, each least recently used first."""
        return list(self._t1) + list(self._t2)

    def ghost_keys(self):
        """B1 then B2, each oldest first."""
        return list(self._b1) + list(self._b2)
