"""Cacheus (policies/cacheus.py) in C: SR, R and H on one set of links, two ghost FIFOs on another, CR-LFU a heap.

A slot is in at most one of SR, R and H, and in at most one ghost list, but
may be in H and a ghost list at once (a victim goes to both), hence two sets
of links.  CR-LFU's victim is the heap's minimum of (count, -stamp), where the
stamp counts the times any slot reached a count: of the keys with the fewest
requests, the last to reach that count, as the Python policy's buckets have
it.  A slot's count stays in ``freq`` while it is in H (the count it brings
back).  Draws are libCacheSim's next_rand (Lehmer's 128-bit generator), the
Python policy's, draw for draw; the weights and the learning rate follow the
same double arithmetic (libm's exp).
"""

import numpy as np

from libc.math cimport exp, fabs
from libc.stdint cimport int8_t, int32_t, int64_t, uint64_t

from policies._kernels.heap cimport CountingHeapKernel
from policies._kernels.kernel cimport enlarge
from policies._kernels.lehmer cimport lehmer64
from policies._kernels.queues cimport clear, Links, move_to_back, NIL, push_back, Queue, unlink

cdef enum:
    OUT, IN_SR, IN_R, IN_H  # where[slot]
cdef enum:
    NO_GHOST, LRU_GHOST, LFU_GHOST  # ghost[slot]
cdef enum:
    NEW = 1, DEMOTED = 2  # bits of marks[slot]

cdef enum:
    UNLEARN_LIMIT = 10
cdef double SMALLEST_RATE = 0.001
cdef double FLOOR_RATE = 0.0001


cdef class CacheusKernel(CountingHeapKernel):
    cdef int32_t[::1] pairs, ghost_pairs
    cdef int8_t[::1] where, ghost, marks
    cdef Links links, ghost_links
    cdef Queue sr, r, history, lru_ghosts, lfu_ghosts
    cdef int64_t half, sr_size, r_size, demoted_count, new_count, stamp
    cdef int64_t requests, interval_hits, unlearn_count
    cdef readonly double w_lru, w_lfu, learning_rate
    cdef double previous_rate, previous_hit_rate
    cdef uint64_t state_high, state_low

    def __init__(self, int64_t capacity, uint64_t state_high, uint64_t state_low, double learning_rate):
        CountingHeapKernel.__init__(self, capacity)
        self.pairs = np.zeros(0, dtype=np.int32)
        self.ghost_pairs = np.zeros(0, dtype=np.int32)
        self.where = np.zeros(0, dtype=np.int8)
        self.ghost = np.zeros(0, dtype=np.int8)
        self.marks = np.zeros(0, dtype=np.int8)
        clear(&self.sr)
        clear(&self.r)
        clear(&self.history)
        clear(&self.lru_ghosts)
        clear(&self.lfu_ghosts)
        self.half = self.sr_size = self.r_size = capacity // 2
        self.demoted_count = self.new_count = self.stamp = 0
        self.requests = self.interval_hits = self.unlearn_count = 0
        self.w_lru = self.w_lfu = 0.5
        self.learning_rate = learning_rate  # drawn by the Python policy, the generator's first draw
        self.previous_rate = self.previous_hit_rate = 0.0
        self.state_high, self.state_low = state_high, state_low

    cdef int resize(self, int32_t n) except -1:
        CountingHeapKernel.resize(self, n)
        self.pairs = enlarge(self.pairs, 2 * n, NIL)
        self.ghost_pairs = enlarge(self.ghost_pairs, 2 * n, NIL)
        self.where = enlarge(self.where, n, OUT)
        self.ghost = enlarge(self.ghost, n, NO_GHOST)
        self.marks = enlarge(self.marks, n, 0)
        self.links.pairs = &self.pairs[0]
        self.ghost_links.pairs = &self.ghost_pairs[0]
        return 0

    cdef inline uint64_t draw(self) noexcept:
        return lehmer64(&self.state_high, &self.state_low)

    # -- requests ---------------------------------------------------------------------------------

    cdef bint lookup(self, int32_t slot) noexcept:
        cdef int8_t where = self.where[slot]
        if where != IN_SR and where != IN_R:
            return False
        self.requests += 1
        self.interval_hits += 1
        if where == IN_R:
            move_to_back(&self.links, &self.r, slot)
        else:  # to R, its marks lost on the way, uncounted
            unlink(&self.links, &self.sr, slot, self.size_of[slot])
            push_back(&self.links, &self.r, slot, self.size_of[slot])
            self.where[slot] = IN_R
            self.marks[slot] = 0
            self.demote_while_over(0)
        self.freq[slot] += 1
        self.stamp += 1
        self.heap.set(slot, <double>self.freq[slot], -self.stamp)
        self.end_request()
        return True

    cdef void insert(self, int32_t slot, int64_t size) noexcept:
        cdef int64_t share
        if self.where[slot] == IN_SR or self.where[slot] == IN_R:
            self.remove(slot)
        self.requests += 1
        self.blame(slot)
        if size <= self.capacity:
            self.evict_to(self.capacity - size)
            share = self.r_size if self.where[slot] == IN_H else self.sr_size
            if size <= share:
                self.admit(slot, size)
        self.end_request()

    EVICTS_TO = True

    cdef void evict_to(self, int64_t units) noexcept:
        """Evict as an insert makes room (a coin per eviction, victims to H and the ghosts) down to `units`;
        the clock does not tick."""
        while self.used_units_ > units:
            self.evict_one()

    def reshape(self, reference):
        """Cacheus.resize: SR and R back to half the new capacity each (R's excess demoted, SR's let go to
        H), the ghosts trimmed to the new half; then evicted down to the capacity."""
        self.capacity = reference.capacity
        self.half = self.sr_size = self.r_size = reference.half
        self.demote_while_over(0)
        self.trim_sr()
        self.trim_ghosts(&self.lru_ghosts)
        self.trim_ghosts(&self.lfu_ghosts)
        CountingHeapKernel.reshape(self, reference)

    cdef bint remove(self, int32_t slot) noexcept:
        """Forget a key entirely: its ghost, its history and its marks too."""
        cdef int8_t where = self.where[slot]
        self.forget_ghost(slot)
        if self.marks[slot] & DEMOTED:
            self.demoted_count -= 1
        self.marks[slot] = 0
        if where == IN_H:
            unlink(&self.links, &self.history, slot, self.size_of[slot])
        elif where == IN_SR or where == IN_R:
            unlink(&self.links, &self.sr if where == IN_SR else &self.r, slot, self.size_of[slot])
            self.heap.discard(slot)
            self.used_units_ -= self.size_of[slot]
        self.where[slot] = OUT
        return where == IN_SR or where == IN_R

    cdef bint contains(self, int32_t slot) noexcept:
        return self.where[slot] == IN_SR or self.where[slot] == IN_R

    cdef bint holds(self, int32_t slot) noexcept:
        return self.where[slot] != OUT or self.ghost[slot] != NO_GHOST

    def order(self):
        """SR, then R, each least recent first (the Python policy's keys())."""
        cdef list slots = []
        cdef int32_t slot = self.sr.head
        while slot != NIL:
            slots.append(slot)
            slot = self.pairs[2 * slot + 1]
        slot = self.r.head
        while slot != NIL:
            slots.append(slot)
            slot = self.pairs[2 * slot + 1]
        return slots

    @property
    def weights(self):
        return self.w_lru, self.w_lfu

    # -- the learning ------------------------------------------------------------------------------

    cdef void blame(self, int32_t slot) noexcept:
        if self.ghost[slot] == LRU_GHOST:
            self.w_lru = self.w_lru * exp(-self.learning_rate)
        elif self.ghost[slot] == LFU_GHOST:
            self.w_lfu = self.w_lfu * exp(-self.learning_rate)
        self.w_lru = self.w_lru / (self.w_lru + self.w_lfu)
        self.w_lfu = 1 - self.w_lru
        self.forget_ghost(slot)

    cdef void end_request(self) noexcept:
        if self.requests % self.capacity == 0:
            self.adapt_rate()

    cdef void adapt_rate(self) noexcept:
        cdef double hit_rate = <double>(self.interval_hits // self.capacity)
        cdef double hit_rate_change = hit_rate - self.previous_hit_rate
        cdef double rate_change = self.learning_rate - self.previous_rate
        cdef double stepped
        cdef int sign
        self.previous_rate, self.previous_hit_rate = self.learning_rate, hit_rate
        if rate_change != 0:
            sign = 1 if hit_rate_change / rate_change > 0 else -1
            stepped = self.learning_rate + sign * fabs(self.learning_rate * rate_change)
            self.learning_rate = stepped if stepped > SMALLEST_RATE else FLOOR_RATE
            self.unlearn_count = 0
        elif hit_rate == 0 or hit_rate_change <= 0:
            self.unlearn_count += 1
        elif self.unlearn_count >= UNLEARN_LIMIT:
            self.unlearn_count = 0
            self.learning_rate = 0.001 + <double>(self.draw() % 1000) / 1000.0
        self.interval_hits = 0

    # -- eviction ---------------------------------------------------------------------------------

    cdef void evict_one(self) noexcept:
        cdef int32_t by_lru = self.sr.head if self.sr.count else self.r.head
        cdef int32_t by_lfu = self.heap.top()
        cdef bint follow_lru = <double>(self.draw() % 100) / 100.0 < self.w_lru  # drawn even when they agree
        cdef int32_t victim = by_lru if follow_lru else by_lfu
        self.let_go(victim)
        self.trim_history()
        self.report(victim)
        if by_lru != by_lfu:
            self.remember(victim, &self.lru_ghosts if follow_lru else &self.lfu_ghosts,
                          LRU_GHOST if follow_lru else LFU_GHOST)

    cdef void let_go(self, int32_t slot) noexcept:
        """A cached slot leaves for H with its count (in freq); H is trimmed by the caller."""
        cdef int64_t size = self.size_of[slot]
        unlink(&self.links, &self.sr if self.where[slot] == IN_SR else &self.r, slot, size)
        push_back(&self.links, &self.history, slot, size)
        self.where[slot] = IN_H
        self.heap.discard(slot)
        self.used_units_ -= size
        if self.marks[slot] & NEW:  # stays marked in H
            self.new_count += 1
        if self.marks[slot] & DEMOTED:
            self.demoted_count -= 1
            self.marks[slot] &= ~DEMOTED

    cdef void trim_history(self) noexcept:
        cdef int32_t oldest
        while self.history.count and self.history.used >= self.capacity:
            oldest = self.history.head
            unlink(&self.links, &self.history, oldest, self.size_of[oldest])
            self.where[oldest] = OUT
            self.marks[oldest] = 0

    cdef void remember(self, int32_t slot, Queue* ghosts, int8_t kind) noexcept:
        """A ghost list adds a key, first forgetting its oldest until the key fits (none larger than it)."""
        cdef int64_t size = self.size_of[slot]
        if size > self.half:
            return
        while ghosts.used + size > self.half:
            self.forget_ghost(ghosts.head)
        push_back(&self.ghost_links, ghosts, slot, size)
        self.ghost[slot] = kind

    cdef void trim_ghosts(self, Queue* ghosts) noexcept:
        while ghosts.used > self.half:
            self.forget_ghost(ghosts.head)

    cdef void forget_ghost(self, int32_t slot) noexcept:
        cdef int8_t kind = self.ghost[slot]
        if kind != NO_GHOST:
            unlink(&self.ghost_links, &self.lru_ghosts if kind == LRU_GHOST else &self.lfu_ghosts, slot,
                   self.size_of[slot])
            self.ghost[slot] = NO_GHOST

    # -- SR-LRU ------------------------------------------------------------------------------------

    cdef void admit(self, int32_t slot, int64_t size) noexcept:
        cdef int64_t count = 1
        cdef bint returning = self.where[slot] == IN_H
        if returning:
            unlink(&self.links, &self.history, slot, self.size_of[slot])
            count = self.freq[slot] + 1
        self.size_of[slot] = size
        self.used_units_ += size
        self.freq[slot] = count
        self.stamp += 1
        self.heap.set(slot, <double>count, -self.stamp)
        if not returning:
            push_back(&self.links, &self.sr, slot, size)
            self.where[slot] = IN_SR
            self.marks[slot] = NEW
        else:
            self.demote_while_over(size)
            push_back(&self.links, &self.r, slot, size)
            self.where[slot] = IN_R
            if self.marks[slot] & NEW:  # it left SR too soon: SR grows
                self.marks[slot] = 0
                self.grow_sr()
        self.trim_sr()

    cdef void grow_sr(self) noexcept:
        cdef int64_t ratio = self.demoted_count // self.new_count
        cdef double delta = 1.0 if ratio == 0 else <double>ratio + 0.5
        cdef double grown = <double>self.sr_size + delta
        self.sr_size = self.used_units_ - 1 if grown > <double>(self.used_units_ - 1) else <int64_t>grown
        self.r_size = self.capacity - self.sr_size

    cdef void trim_sr(self) noexcept:
        cdef int32_t oldest
        while self.sr.used > self.sr_size:
            oldest = self.sr.head
            self.let_go(oldest)
            self.report(oldest)
        self.trim_history()

    cdef void demote_while_over(self, int64_t room) noexcept:
        cdef int32_t oldest
        while self.r.count and self.r.used + room > self.r_size:
            oldest = self.r.head
            unlink(&self.links, &self.r, oldest, self.size_of[oldest])
            push_back(&self.links, &self.sr, oldest, self.size_of[oldest])
            self.where[oldest] = IN_SR
            self.marks[oldest] |= DEMOTED
            self.demoted_count += 1
