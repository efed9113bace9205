"""LIRS: rank objects by reuse distance rather than by recency.

S. Jiang, X. Zhang, "LIRS: an efficient low inter-reference recency set
replacement policy to improve buffer cache performance", SIGMETRICS 2002.

Objects with a short *inter-reference recency* (they came back quickly last
time) are LIR and hold most of the cache (99% by default); the rest, a small
HIR share (1%, at least one unit), holds the *resident HIR* objects, the
candidates for eviction.  Two LRU structures keep the state:

* the stack S: LIR objects, and HIR objects (resident or not) recent enough
  that a hit would prove them LIR; its bottom is always an LIR object, which
  "pruning" restores by dropping HIR entries from the bottom;
* the queue Q: the resident HIR objects; eviction takes its LRU end, and a
  victim still in S stays there as a *non-resident* HIR entry.

A hit on a HIR object still in S makes it LIR, and the LIR object at the
bottom of S is demoted to Q to make room.  A miss on a non-resident entry
does the same (it was reused within the LIR set's horizon).  Non-resident
entries are limited: when S holds more than twice the capacity, the oldest
non-resident entries are dropped.

Semantics follow libCacheSim's LIRS, with its surprises:

* an object larger than the HIR share (1% of a byte capacity) is not admitted;
* a new object goes to the LIR set while it has room, else to Q;
* a hit on a resident HIR object that is only in Q (not in S) demotes LIR
  objects until the LIR set would have room for it, although it stays HIR.

One case we do not follow: when those demotions push the object itself out
of Q (Q is then down to about one object: an HIR share of one unit, or large
objects in a byte capacity), libCacheSim reads the size of the freed object
(so its next steps depend on the C allocator) and keeps an S entry marked
resident for an object it no longer stores, whose next request is then a
hit.  Here the object is simply evicted (the request still counts as a hit).
``self_evicting_hits`` counts these events; miss counts equal libCacheSim's
whenever it stays 0.  (Also, before demoting the bottom of S we prune it:
libCacheSim assumes the bottom is LIR, which fails only after the LIR set ran
empty, something removals or objects changing size can cause.)
"""

from __future__ import annotations

from collections import OrderedDict

from policies.base import Policy, register

# States of an entry in the stack S (libCacheSim's is_LIR / in_cache flags).
NONRESIDENT, RESIDENT_HIR, LIR = 0, 1, 2


@register("lirs")
class LIRS(Policy):
    """LIRS with libCacheSim's HIR share of 1% of the capacity (at least one unit)."""

    def __init__(self, capacity: int, hir_ratio: float = 0.01):
        super().__init__(capacity)
        if not 0 < hir_ratio < 1:
            raise ValueError(f"hir_ratio must be in (0, 1), got {hir_ratio!r}")
        self.hir_ratio = hir_ratio
        self.hir_capacity = max(1, int(hir_ratio * capacity))
        self.lir_capacity = capacity - self.hir_capacity
        self._stack: OrderedDict = OrderedDict()  # S: key -> state, bottom (LRU) first
        self._sizes: dict = {}  # size of every key in S or Q
        self._queue: OrderedDict = OrderedDict()  # Q: resident HIR key -> size, LRU first
        self._nonresident: OrderedDict = OrderedDict()  # non-resident keys of S, oldest first
        self._stack_used = 0  # sizes of every entry in S, resident or not
        self._lir_used = 0
        self._hir_used = 0
        self._evicted: list = []
        self.self_evicting_hits = 0  # hits whose own demotions evicted the object (see above)

    @property
    def used(self):
        return self._lir_used + self._hir_used

    # -- requests ---------------------------------------------------------
    def lookup(self, key):
        stack, queue = self._stack, self._queue
        state = stack.get(key)
        in_queue = key in queue
        if in_queue:
            queue.move_to_end(key)
        hit = False
        if state is not None:
            stack.move_to_end(key)  # libCacheSim moves the entry up even on a miss
            if state == LIR:
                self._prune()
                hit = True
            elif state == RESIDENT_HIR:
                self._hir_hit_in_stack(key)
                hit = True
        elif in_queue:
            self._hir_hit_in_queue(key)
            hit = True
        if self._stack_used > 2 * self.capacity:
            self._limit_stack()
        return hit

    def insert(self, key, size=1):
        if key in self:
            self.remove(key)
        self._evicted = evicted = []
        self._insert(key, size)
        self._evicted = []  # evictions by later hits are not this insert's
        self._limit_stack()
        return evicted

    def _insert(self, key, size) -> None:
        state = self._stack.get(key)
        if size > self.lir_capacity or size > self.hir_capacity:
            # Too large for the HIR share: refused (as libCacheSim refuses a new key; a
            # non-resident key coming back larger than it was is refused and forgotten).
            if state is not None:
                self.remove(key)
            return
        if state is None:  # a new key (not in S, not in Q)
            if self._lir_used + size > self.lir_capacity:
                while self._hir_used + size > self.hir_capacity:
                    self._evict_hir()
            self._sizes[key] = size
            self._stack[key] = LIR if self._lir_used + size <= self.lir_capacity else RESIDENT_HIR
            self._stack_used += size
            if self._stack[key] == LIR:
                self._lir_used += size
            else:
                self._queue[key] = size
                self._hir_used += size
        else:  # a non-resident HIR entry came back: it becomes LIR
            old_size = self._sizes[key]
            while self._lir_used + old_size > self.lir_capacity:
                self._evict_lir()
            self._nonresident.pop(key, None)
            while self._lir_used + self._hir_used + size > self.capacity:
                while self._hir_used >= self.hir_capacity:
                    self._evict_hir()
                self._evict_lir()
            if key in self._stack:
                self._stack_used += size - old_size
            else:  # pruned meanwhile (only when lookup and insert are apart): back on top
                self._stack_used += size
            self._stack[key] = LIR
            self._sizes[key] = size
            self._lir_used += size

    def _hir_hit_in_stack(self, key) -> None:
        """A resident HIR object hit while in S: it leaves Q and becomes LIR."""
        size = self._sizes[key]
        del self._queue[key]
        self._hir_used -= size
        while self._lir_used + size > self.lir_capacity:
            self._evict_lir()
        self._stack[key] = LIR
        self._lir_used += size

    def _hir_hit_in_queue(self, key) -> None:
        """A resident HIR object hit while only in Q: it re-enters S, still HIR."""
        size = self._sizes[key]
        while self._lir_used + size > self.lir_capacity:
            self._evict_lir()
        if key not in self._queue:  # the demotions pushed it out of Q (see the module notes)
            self.self_evicting_hits += 1
            return
        self._stack[key] = RESIDENT_HIR
        self._stack_used += size

    # -- the mechanics --------------------------------------------------------
    def _evict_lir(self) -> None:
        """Demote the LIR object at the bottom of S to Q (or out, if too big for Q)."""
        # The bottom of S is LIR, except after the LIR set ran empty and HIR entries sat
        # below new LIR ones (libCacheSim would then demote an HIR entry as if LIR).
        self._prune()
        key, _ = self._stack.popitem(last=False)
        size = self._sizes[key]
        self._stack_used -= size
        self._lir_used -= size
        if size <= self.hir_capacity:
            while self._hir_used + size > self.hir_capacity:
                self._evict_hir()
            self._queue[key] = size
            self._hir_used += size
        else:
            del self._sizes[key]
            self._evicted.append(key)
        self._prune()

    def _evict_hir(self) -> None:
        """Evict Q's LRU object; if it is in S, its entry stays there, non-resident."""
        key, size = self._queue.popitem(last=False)
        self._hir_used -= size
        self._evicted.append(key)
        if key in self._stack:
            self._stack[key] = NONRESIDENT
            self._nonresident[key] = size
        else:
            del self._sizes[key]

    def _prune(self) -> None:
        """Drop HIR entries from the bottom of S until an LIR entry (or one entry) is left."""
        stack = self._stack
        while len(stack) > 1:
            key, state = next(iter(stack.items()))
            if state == LIR:
                break
            del stack[key]
            self._stack_used -= self._sizes[key]
            if key not in self._queue:
                self._nonresident.pop(key, None)
                del self._sizes[key]

    def _limit_stack(self) -> None:
        """Bound S: drop the oldest non-resident entries while S exceeds twice the capacity."""
        limit = 2 * self.capacity
        while self._stack_used > limit and self._nonresident:
            key, size = self._nonresident.popitem(last=False)
            if self._stack.pop(key, None) is not None:
                self._stack_used -= size
            if key not in self._queue:
                self._sizes.pop(key, None)

    # -- the rest of the interface ---------------------------------------------
    def remove(self, key):
        """Forget `key` everywhere (S, Q, non-resident list)."""
        present = key in self
        state = self._stack.pop(key, None)
        size = self._sizes.pop(key, None)
        if state is not None:
            self._stack_used -= size
            if state == LIR:
                self._lir_used -= size
        if self._queue.pop(key, None) is not None:
            self._hir_used -= size
        self._nonresident.pop(key, None)
        if state == LIR:
            self._prune()
        return present

    def __contains__(self, key):
        return key in self._queue or self._stack.get(key) == LIR

    def __len__(self):
        return len(self._queue) + self._lir_count()

    def _lir_count(self) -> int:
        return sum(1 for state in self._stack.values() if state == LIR)

    def keys(self):
        """LIR keys (bottom of S first), then resident HIR keys (Q's LRU end first)."""
        return self.lir_keys() + list(self._queue)

    @property
    def max_object_size(self):
        return min(self.lir_capacity, self.hir_capacity)

    def lir_keys(self):
        return [key for key, state in self._stack.items() if state == LIR]

    def params(self):
        return {"hir_ratio": self.hir_ratio}
