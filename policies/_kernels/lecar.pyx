"""LeCaR (policies/lecar.py) in C: an LRU queue, an LFU heap, two ghost FIFOs and two weights.

The LFU expert's choice is the heap's minimum of (count, stamp), where the
stamp counts the times any slot reached a count: the Python policy's buckets
list keys in that order.  The coin is the Python policy's, draw for draw
(kernel.PythonRandom, started from the same seed), drawn only when the
experts disagree; the weights follow the same arithmetic (libm's exp and pow).
"""

import numpy as np

from libc.math cimport exp, pow
from libc.stdint cimport int8_t, int32_t, int64_t

from policies._kernels.heap cimport CountingHeapKernel
from policies._kernels.kernel cimport enlarge, PythonRandom
from policies._kernels.queues cimport clear, Links, move_to_back, NIL, push_back, Queue, unlink

cdef enum:
    OUT, CACHED, LRU_GHOST, LFU_GHOST  # where[slot]

cdef double LEARNING_RATE = 0.45


cdef class LeCaRKernel(CountingHeapKernel):
    cdef int32_t[::1] pairs
    cdef int8_t[::1] where
    cdef int8_t[::1] pending  # its lookup hit a ghost (and counted the request): until its insert
    cdef int64_t[::1] evicted_at
    cdef Links links
    cdef Queue recency, lru_ghosts, lfu_ghosts
    cdef int64_t ghost_capacity, requests, stamp
    cdef double discount
    cdef readonly double w_lru, w_lfu
    cdef bint update_weight
    cdef PythonRandom rng

    def __init__(self, int64_t capacity, int64_t ghost_capacity, double discount, double w_lru, double w_lfu,
                 bint update_weight, seed):
        CountingHeapKernel.__init__(self, capacity)
        self.pairs = np.zeros(0, dtype=np.int32)
        self.where = np.zeros(0, dtype=np.int8)
        self.pending = np.zeros(0, dtype=np.int8)
        self.evicted_at = np.zeros(0, dtype=np.int64)
        clear(&self.recency)
        clear(&self.lru_ghosts)
        clear(&self.lfu_ghosts)
        self.ghost_capacity = ghost_capacity
        self.discount = discount
        self.w_lru = w_lru
        self.w_lfu = w_lfu
        self.update_weight = update_weight
        self.requests = 0
        self.stamp = 0
        self.rng = PythonRandom(seed)

    cdef int resize(self, int32_t n) except -1:
        CountingHeapKernel.resize(self, n)
        self.pairs = enlarge(self.pairs, 2 * n, NIL)
        self.where = enlarge(self.where, n, OUT)
        self.pending = enlarge(self.pending, n, 0)
        self.evicted_at = enlarge(self.evicted_at, n, 0)
        self.links.pairs = &self.pairs[0]
        return 0

    cdef bint lookup(self, int32_t slot) noexcept:
        if self.where[slot] == CACHED:
            self.requests += 1
            move_to_back(&self.links, &self.recency, slot)
            self.freq[slot] += 1
            self.stamp += 1
            self.heap.set(slot, <double>self.freq[slot], self.stamp)
            return True
        if self.where[slot] == LRU_GHOST:
            self.requests += 1
            self.regret(slot, &self.lru_ghosts, True)
            self.pending[slot] = 1
        elif self.where[slot] == LFU_GHOST:
            self.requests += 1
            self.regret(slot, &self.lfu_ghosts, False)
            self.pending[slot] = 1
        elif self.pending[slot]:
            self.requests += 1
        return False

    cdef void regret(self, int32_t slot, Queue* ghosts, bint lru_was_wrong) noexcept:
        cdef int64_t age = self.requests - self.evicted_at[slot]
        cdef double wrong, right, total
        unlink(&self.links, ghosts, slot, self.size_of[slot])
        self.where[slot] = OUT
        if not self.update_weight:
            return
        wrong = self.w_lru if lru_was_wrong else self.w_lfu
        right = self.w_lfu if lru_was_wrong else self.w_lru
        wrong = wrong * exp(-LEARNING_RATE * pow(self.discount, <double>age)) + 1e-10
        total = wrong + right + 2e-10
        wrong = wrong / total
        right = (right + 1e-10) / total
        if lru_was_wrong:
            self.w_lru, self.w_lfu = wrong, right
        else:
            self.w_lfu, self.w_lru = wrong, right

    cdef void insert(self, int32_t slot, int64_t size) noexcept:
        if not self.pending[slot]:
            self.requests += 1  # a miss's request, unless its lookup counted it
        self.remove(slot)  # forgets a ghost (and the pending mark) too
        if size > self.capacity:
            return
        while self.used_units_ + size > self.capacity:
            self.evict_one()
        self.where[slot] = CACHED
        push_back(&self.links, &self.recency, slot, size)
        self.freq[slot] = 1
        self.stamp += 1
        self.cache(slot, size, 1.0, self.stamp)

    EVICTS_TO = True

    cdef void evict_to(self, int64_t units) noexcept:
        """Evict as an insert makes room (the experts' choices, the coin, the ghosts) down to `units`;
        the clock does not tick."""
        while self.used_units_ > units:
            self.evict_one()

    def reshape(self, reference):
        """LeCaR.resize: the discount and the ghost share re-derived (each ghost list forgetting its oldest
        to fit), the weights kept; then evicted down to the capacity."""
        self.discount, self.ghost_capacity = reference.discount, reference.ghost_capacity
        self.trim(&self.lru_ghosts)
        self.trim(&self.lfu_ghosts)
        CountingHeapKernel.reshape(self, reference)

    cdef void trim(self, Queue* ghosts) noexcept:
        """A ghost list forgets its oldest keys until it fits the ghost share."""
        cdef int32_t oldest
        while ghosts.used > self.ghost_capacity:
            oldest = ghosts.head
            unlink(&self.links, ghosts, oldest, self.size_of[oldest])
            self.where[oldest] = OUT

    cdef void evict_one(self) noexcept:
        cdef int32_t by_lru = self.recency.head, by_lfu = self.heap.top(), victim
        cdef Queue* ghosts = NULL
        if by_lru == by_lfu:
            victim = by_lru
        elif <double>(<int64_t>(self.rng.random() * 100)) / 100.0 < self.w_lru:
            victim = by_lru
            ghosts = &self.lru_ghosts
        else:
            victim = by_lfu
            ghosts = &self.lfu_ghosts
        self.remove(victim)
        self.report(victim)
        if ghosts != NULL:
            self.remember(victim, ghosts, LRU_GHOST if ghosts == &self.lru_ghosts else LFU_GHOST)

    cdef void remember(self, int32_t slot, Queue* ghosts, int8_t kind) noexcept:
        """Add a ghost, then drop the oldest while the list is over half the capacity."""
        push_back(&self.links, ghosts, slot, self.size_of[slot])
        self.where[slot] = kind
        self.evicted_at[slot] = self.requests
        self.trim(ghosts)

    cdef bint remove(self, int32_t slot) noexcept:
        cdef int8_t where = self.where[slot]
        self.pending[slot] = 0
        if where == LRU_GHOST:
            unlink(&self.links, &self.lru_ghosts, slot, self.size_of[slot])
        elif where == LFU_GHOST:
            unlink(&self.links, &self.lfu_ghosts, slot, self.size_of[slot])
        if where != CACHED:
            self.where[slot] = OUT
            return False
        unlink(&self.links, &self.recency, slot, self.size_of[slot])
        self.where[slot] = OUT
        self.heap.discard(slot)
        self.used_units_ -= self.size_of[slot]
        return True

    cdef bint contains(self, int32_t slot) noexcept:
        return self.where[slot] == CACHED

    cdef bint holds(self, int32_t slot) noexcept:
        return self.where[slot] != OUT or self.pending[slot]

    def order(self):
        cdef list slots = []
        cdef int32_t slot = self.recency.head
        while slot != NIL:
            slots.append(slot)
            slot = self.pairs[2 * slot + 1]
        return slots
