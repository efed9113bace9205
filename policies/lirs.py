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

from policies.base import Kernel, Key, Policy, register
from policies.queues import SizedQueue


@register("lirs")
class LIRS(Policy):
    """LIRS with libCacheSim's HIR share of 1% of the capacity (at least one unit).

    An entry of S is LIR when its key is in ``lir``, a resident HIR one when
    its key is in Q, and a non-resident HIR one otherwise.
    """

    summary = "LIRS: ranks keys by their reuse distance; a small share of the cache holds keys seen once."

    def __init__(self, capacity: int, hir_ratio: float = 0.01):
        super().__init__(capacity)
        if not 0 < hir_ratio < 1:
            raise ValueError(f"hir_ratio must be in (0, 1), got {hir_ratio!r}")
        self.hir_ratio = hir_ratio
        self.hir_capacity = max(1, int(hir_ratio * capacity))
        self.lir_capacity = capacity - self.hir_capacity
        self.stack = SizedQueue()  # S: every entry with its size, bottom (least recent) first
        self.lir = SizedQueue()  # the LIR set (all in S; the order here is not used)
        self.queue = SizedQueue()  # Q: the resident HIR objects, LRU first
        self.nonresident: OrderedDict = OrderedDict()  # keys of S's non-resident entries, oldest first
        self._evicted: list = []
        self.self_evicting_hits = 0  # hits whose own demotions evicted the object (see above)

    @property
    def used(self) -> int:  # type: ignore[override]  # the sum over its parts, read-only
        return self.lir.used + self.queue.used

    # -- requests ---------------------------------------------------------
    def lookup(self, key: Key) -> bool:
        stack, queue = self.stack, self.queue
        in_queue = key in queue
        if in_queue:
            queue.move_to_end(key)
        hit = False
        if key in stack:
            stack.move_to_end(key)  # libCacheSim moves the entry up even on a miss
            if key in self.lir:
                self._prune()
                hit = True
            elif in_queue:
                self._hir_hit_in_stack(key)
                hit = True
        elif in_queue:
            self._hir_hit_in_queue(key)
            hit = True
        if stack.used > 2 * self.capacity:
            self._limit_stack()
        return hit

    def insert(self, key: Key, size: int = 1) -> list[Key]:
        if key in self:
            self.remove(key)
        evicted: list[Key] = []
        self._evicted = evicted
        self._insert(key, size)
        self._evicted = []  # evictions by later hits are not this insert's
        self._limit_stack()
        return evicted

    def _insert(self, key: Key, size: int) -> None:
        returning = key in self.stack  # what is left of a cached key in S is a non-resident entry
        if size > self.lir_capacity or size > self.hir_capacity:
            # Too large for the HIR share: refused (as libCacheSim refuses a new key; a
            # non-resident key coming back larger than it was is refused and forgotten).
            if returning:
                self.remove(key)
            return
        if returning:
            self._return_as_lir(key, size)
            return
        if self.lir.used + size <= self.lir_capacity:  # a new key: LIR while the LIR set has room
            self.lir.push(key, size)
        else:
            while self.queue.used + size > self.hir_capacity:
                self._evict_hir()
            self.queue.push(key, size)
        self.stack.push(key, size)

    def _return_as_lir(self, key: Key, size: int) -> None:
        """A non-resident entry of S came back: it was reused within the LIR set's horizon."""
        stack, lir, queue = self.stack, self.lir, self.queue
        old_size = stack[key]
        while lir.used + old_size > self.lir_capacity and lir:  # (lir empties first only after a shrink)
            self._evict_lir()
        self.nonresident.pop(key, None)
        while lir.used + queue.used + size > self.capacity and lir:
            while queue.used >= self.hir_capacity:
                self._evict_hir()
            self._evict_lir()
        if key in stack:
            stack.resize(key, size)
        else:  # pruned meanwhile (only when lookup and insert are apart): back on top
            stack.push(key, size)
        lir.push(key, size)

    def _hir_hit_in_stack(self, key: Key) -> None:
        """A resident HIR object hit while in S: it leaves Q and becomes LIR."""
        size = self.queue.remove(key)
        # Only after a shrink can the LIR set empty first (an object larger than the new LIR share):
        # it becomes LIR all the same, alone over the share, and is the next to be demoted.
        while self.lir.used + size > self.lir_capacity and self.lir:
            self._evict_lir()
        self.lir.push(key, size)

    def _hir_hit_in_queue(self, key: Key) -> None:
        """A resident HIR object hit while only in Q: it re-enters S, still HIR."""
        size = self.queue[key]
        while self.lir.used + size > self.lir_capacity and self.lir:  # (lir empties first only after a shrink)
            self._evict_lir()
        if key not in self.queue:  # the demotions pushed it out of Q (see the module notes)
            self.self_evicting_hits += 1
            return
        self.stack.push(key, size)

    # -- the mechanics --------------------------------------------------------
    def _evict_lir(self) -> None:
        """Demote the LIR object at the bottom of S to Q (or out, if too big for Q)."""
        # The bottom of S is LIR, except after the LIR set ran empty and HIR entries sat
        # below new LIR ones (libCacheSim would then demote an HIR entry as if LIR).
        self._prune()
        key, size = self.stack.pop_oldest()
        self.lir.remove(key)
        if size <= self.hir_capacity:
            while self.queue.used + size > self.hir_capacity:
                self._evict_hir()
            self.queue.push(key, size)
        else:
            self._evicted.append(key)
        self._prune()

    def _evict_hir(self) -> None:
        """Evict Q's LRU object; if it is in S, its entry stays there, non-resident."""
        key, _ = self.queue.pop_oldest()
        self._evicted.append(key)
        if key in self.stack:
            self.nonresident[key] = None

    def _prune(self) -> None:
        """Drop HIR entries from the bottom of S until an LIR entry (or one entry) is left."""
        stack, lir = self.stack, self.lir
        while len(stack) > 1:
            key = stack.oldest()
            if key in lir:
                break
            stack.remove(key)
            if key not in self.queue:
                self.nonresident.pop(key, None)

    def _limit_stack(self) -> None:
        """Bound S: drop the oldest non-resident entries while S exceeds twice the capacity."""
        limit = 2 * self.capacity
        while self.stack.used > limit and self.nonresident:
            key, _ = self.nonresident.popitem(last=False)
            self.stack.discard(key)

    # -- resizing ---------------------------------------------------------------
    def evict_to(self, units: int) -> list[Key]:
        """Evict resident HIR objects (Q's LRU end) until at most `units` are cached; with Q empty, the LIR
        object at the bottom of S is demoted first (to be the next victim)."""
        evicted: list[Key] = []
        self._evicted = evicted
        self._evict_down_to(units)
        self._evicted = []
        return evicted

    def _evict_down_to(self, units: int) -> None:
        while self.lir.used + self.queue.used > units:
            if self.queue:
                self._evict_hir()
            else:
                self._evict_lir()

    def resize(self, capacity: int) -> list[Key]:
        """A new capacity: the LIR and HIR shares re-derived as the constructor derives them; LIR objects
        over the new LIR share are demoted (bottom of S first), Q evicted to its share, then the cache to
        the capacity, and S's non-resident entries bounded by twice it."""
        shares = LIRS(capacity, self.hir_ratio)
        self.capacity = shares.capacity
        self.hir_capacity, self.lir_capacity = shares.hir_capacity, shares.lir_capacity
        evicted: list[Key] = []
        self._evicted = evicted
        while self.lir.used > self.lir_capacity:
            self._evict_lir()
        while self.queue.used > self.hir_capacity:
            self._evict_hir()
        self._evict_down_to(capacity)
        self._evicted = []
        self._limit_stack()
        return evicted

    # -- the rest of the interface ---------------------------------------------
    def remove(self, key: Key) -> bool:
        """Forget `key` everywhere (S, the LIR set, Q, the non-resident list)."""
        present = key in self
        self.stack.discard(key)
        was_lir = self.lir.discard(key) is not None
        self.queue.discard(key)
        self.nonresident.pop(key, None)
        if was_lir:
            self._prune()
        return present

    def __contains__(self, key: Key) -> bool:
        return key in self.queue or key in self.lir

    def __len__(self) -> int:
        return len(self.queue) + len(self.lir)

    def keys(self) -> list[Key]:
        """LIR keys (bottom of S first), then resident HIR keys (Q's LRU end first)."""
        return self.lir_keys() + list(self.queue)

    @property
    def max_object_size(self) -> int:
        return min(self.lir_capacity, self.hir_capacity)

    def lir_keys(self) -> list[Key]:
        lir = self.lir
        return [key for key in self.stack if key in lir]

    def params(self) -> dict[str, object]:
        return {"hir_ratio": self.hir_ratio}

    def make_kernel(self) -> Kernel:
        from policies._kernels.lirs import LIRSKernel

        return LIRSKernel(self.capacity, self.lir_capacity, self.hir_capacity)
