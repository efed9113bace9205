"""LIRS (policies/lirs.py) in C: the stack S, the queue Q and the non-resident list.

A step-by-step translation of the Python policy, down to what an OrderedDict
does: assigning to a key already in S (or Q, or the non-resident list) keeps
its place, assigning to one not in it appends it at the top; the counters
(stack_used, lir_used, hir_used) move exactly where the Python ones do.  So
the rare paths the Python policy documents (self-evicting hits, a bottom of S
that is not LIR) come out the same too.  Where Python would raise (popping an
empty list), the loops here stop instead.
"""

import numpy as np

from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t

from policies._kernels.kernel cimport enlarge, Kernel
from policies._kernels.queues cimport after, clear, Links, move_to_back, NIL, push_back, Queue, unlink
from workloads.native.memory cimport __builtin_prefetch

cdef enum:
    NOT_IN_S = -1
    NONRESIDENT = 0  # the states of an entry in S, as policies/lirs.py
    RESIDENT_HIR = 1
    LIR = 2


cdef class LIRSKernel(Kernel):
    cdef int64_t lir_capacity, hir_capacity
    cdef int8_t[::1] state          # the slot's entry in S, or NOT_IN_S
    cdef uint8_t[::1] queued        # in Q: a resident HIR object
    cdef uint8_t[::1] listed        # in the non-resident list
    cdef int64_t[::1] listed_size   # its size there (the Python list keeps its own copy)
    cdef int32_t[::1] s_pairs, q_pairs, n_pairs
    cdef Links s_links, q_links, n_links
    cdef Queue stack, queue, nonresident  # bottom / LRU end / oldest first; their `used` is not kept
    cdef int64_t stack_used, lir_used, hir_used
    cdef readonly int64_t self_evicting_hits

    def __init__(self, int64_t capacity, int64_t lir_capacity, int64_t hir_capacity):
        Kernel.__init__(self, capacity)
        self.lir_capacity = lir_capacity
        self.hir_capacity = hir_capacity
        self.state = np.zeros(0, dtype=np.int8)
        self.queued = np.zeros(0, dtype=np.uint8)
        self.listed = np.zeros(0, dtype=np.uint8)
        self.listed_size = np.zeros(0, dtype=np.int64)
        self.s_pairs = self.q_pairs = self.n_pairs = np.zeros(0, dtype=np.int32)
        clear(&self.stack)
        clear(&self.queue)
        clear(&self.nonresident)
        self.stack_used = self.lir_used = self.hir_used = 0
        self.self_evicting_hits = 0

    cdef int resize(self, int32_t n) except -1:
        Kernel.resize(self, n)
        self.state = enlarge(self.state, n, NOT_IN_S)
        self.queued = enlarge(self.queued, n, 0)
        self.listed = enlarge(self.listed, n, 0)
        self.listed_size = enlarge(self.listed_size, n, 0)
        self.s_pairs = enlarge(self.s_pairs, 2 * n, NIL)
        self.q_pairs = enlarge(self.q_pairs, 2 * n, NIL)
        self.n_pairs = enlarge(self.n_pairs, 2 * n, NIL)
        self.s_links.pairs = &self.s_pairs[0]
        self.q_links.pairs = &self.q_pairs[0]
        self.n_links.pairs = &self.n_pairs[0]
        return 0

    cdef void prefetch(self, int32_t slot) noexcept:
        __builtin_prefetch(&self.state[slot])
        __builtin_prefetch(&self.queued[slot])
        __builtin_prefetch(&self.s_pairs[2 * slot])

    # -- the three OrderedDicts ------------------------------------------------------
    cdef void set_state(self, int32_t slot, int8_t state) noexcept:
        """``stack[key] = state``: in place if in S, else pushed on top."""
        if self.state[slot] == NOT_IN_S:
            push_back(&self.s_links, &self.stack, slot, 0)
        self.state[slot] = state

    cdef void leave_stack(self, int32_t slot) noexcept:
        unlink(&self.s_links, &self.stack, slot, 0)
        self.state[slot] = NOT_IN_S

    cdef void enqueue(self, int32_t slot) noexcept:
        """``queue[key] = size``: in place if in Q, else at its MRU end."""
        if not self.queued[slot]:
            push_back(&self.q_links, &self.queue, slot, 0)
            self.queued[slot] = 1

    cdef void dequeue(self, int32_t slot) noexcept:
        unlink(&self.q_links, &self.queue, slot, 0)
        self.queued[slot] = 0

    cdef void list_nonresident(self, int32_t slot, int64_t size) noexcept:
        if not self.listed[slot]:
            push_back(&self.n_links, &self.nonresident, slot, 0)
            self.listed[slot] = 1
        self.listed_size[slot] = size

    cdef void unlist(self, int32_t slot) noexcept:
        """``nonresident.pop(key, None)``."""
        if self.listed[slot]:
            unlink(&self.n_links, &self.nonresident, slot, 0)
            self.listed[slot] = 0

    # -- requests ------------------------------------------------------------------------
    cdef bint lookup(self, int32_t slot) noexcept:
        cdef int8_t state = self.state[slot]
        cdef bint in_queue = self.queued[slot], hit = False
        if in_queue:
            move_to_back(&self.q_links, &self.queue, slot)
        if state != NOT_IN_S:
            move_to_back(&self.s_links, &self.stack, slot)  # moved up even on a miss, as libCacheSim
            if state == LIR:
                self.prune()
                hit = True
            elif state == RESIDENT_HIR:
                self.hir_hit_in_stack(slot)
                hit = True
        elif in_queue:
            self.hir_hit_in_queue(slot)
            hit = True
        if self.stack_used > 2 * self.capacity:
            self.limit_stack()
        return hit

    cdef void insert(self, int32_t slot, int64_t size) noexcept:
        if self.contains(slot):
            self.remove(slot)
        self.place(slot, size)
        self.limit_stack()

    cdef void place(self, int32_t slot, int64_t size) noexcept:
        """The Python policy's _insert: a new key, or a non-resident entry coming back as LIR."""
        cdef int8_t state = self.state[slot]
        cdef int64_t old_size
        if size > self.lir_capacity or size > self.hir_capacity:
            if state != NOT_IN_S:
                self.remove(slot)
            return
        if state == NOT_IN_S:  # a new key
            if self.lir_used + size > self.lir_capacity:
                while self.hir_used + size > self.hir_capacity and self.queue.count:
                    self.evict_hir()
            self.size_of[slot] = size
            self.set_state(slot, LIR if self.lir_used + size <= self.lir_capacity else RESIDENT_HIR)
            self.stack_used += size
            if self.state[slot] == LIR:
                self.lir_used += size
            else:
                self.enqueue(slot)
                self.hir_used += size
            return
        old_size = self.size_of[slot]
        while self.lir_used + old_size > self.lir_capacity and self.lir_used > 0:
            self.evict_lir()
        self.unlist(slot)
        while self.lir_used + self.hir_used + size > self.capacity and self.lir_used > 0:
            while self.hir_used >= self.hir_capacity and self.queue.count:
                self.evict_hir()
            self.evict_lir()
        if self.state[slot] != NOT_IN_S:
            self.stack_used += size - old_size
        else:  # pruned meanwhile: back on top
            self.stack_used += size
        self.set_state(slot, LIR)
        self.size_of[slot] = size
        self.lir_used += size

    cdef void hir_hit_in_stack(self, int32_t slot) noexcept:
        """A resident HIR object hit while in S: it leaves Q and becomes LIR."""
        cdef int64_t size = self.size_of[slot]
        if self.queued[slot]:
            self.dequeue(slot)
        self.hir_used -= size
        while self.lir_used + size > self.lir_capacity and self.lir_used > 0:
            self.evict_lir()
        self.set_state(slot, LIR)
        self.lir_used += size

    cdef void hir_hit_in_queue(self, int32_t slot) noexcept:
        """A resident HIR object hit while only in Q: it re-enters S, still HIR."""
        cdef int64_t size = self.size_of[slot]
        while self.lir_used + size > self.lir_capacity and self.lir_used > 0:
            self.evict_lir()
        if not self.queued[slot]:  # the demotions pushed it out of Q
            self.self_evicting_hits += 1
            return
        self.set_state(slot, RESIDENT_HIR)
        self.stack_used += size

    # -- the mechanics ---------------------------------------------------------------------
    cdef void evict_lir(self) noexcept:
        """Demote the (LIR) object at the bottom of S to Q (or out, if too big for Q)."""
        cdef int32_t bottom
        cdef int64_t size
        self.prune()
        bottom = self.stack.head
        self.leave_stack(bottom)
        size = self.size_of[bottom]
        self.stack_used -= size
        self.lir_used -= size
        if size <= self.hir_capacity:
            while self.hir_used + size > self.hir_capacity and self.queue.count:
                self.evict_hir()
            self.enqueue(bottom)
            self.hir_used += size
        else:
            self.report(bottom)
        self.prune()

    cdef void evict_hir(self) noexcept:
        """Evict Q's LRU object; if it is in S, its entry stays there, non-resident."""
        cdef int32_t oldest = self.queue.head
        self.dequeue(oldest)
        self.hir_used -= self.size_of[oldest]
        self.report(oldest)
        if self.state[oldest] != NOT_IN_S:
            self.state[oldest] = NONRESIDENT
            self.list_nonresident(oldest, self.size_of[oldest])

    cdef void prune(self) noexcept:
        """Drop HIR entries from the bottom of S until an LIR entry (or one entry) is left."""
        cdef int32_t bottom
        while self.stack.count > 1:
            bottom = self.stack.head
            if self.state[bottom] == LIR:
                break
            self.leave_stack(bottom)
            self.stack_used -= self.size_of[bottom]
            if not self.queued[bottom]:
                self.unlist(bottom)

    cdef void limit_stack(self) noexcept:
        """Bound S: drop the oldest non-resident entries while S exceeds twice the capacity."""
        cdef int32_t oldest
        while self.stack_used > 2 * self.capacity and self.nonresident.count:
            oldest = self.nonresident.head
            self.unlist(oldest)
            if self.state[oldest] != NOT_IN_S:
                self.leave_stack(oldest)
                self.stack_used -= self.listed_size[oldest]

    # -- resizing ----------------------------------------------------------------------------
    EVICTS_TO = True

    cdef void evict_to(self, int64_t units) noexcept:
        """Evict resident HIR objects (Q's LRU end) down to `units`; with Q empty, demote the LIR object
        at the bottom of S first (to be the next victim)."""
        while self.lir_used + self.hir_used > units:
            if self.queue.count:
                self.evict_hir()
            elif self.stack.count:
                self.evict_lir()
            else:
                break

    def reshape(self, reference):
        """LIRS.resize: the LIR and HIR shares re-derived; LIR objects over the new LIR share demoted
        (bottom of S first), Q evicted to its share, then the cache to the capacity, S bounded by twice it."""
        self.capacity = reference.capacity
        self.hir_capacity, self.lir_capacity = reference.hir_capacity, reference.lir_capacity
        while self.lir_used > self.lir_capacity and self.stack.count:
            self.evict_lir()
        while self.hir_used > self.hir_capacity and self.queue.count:
            self.evict_hir()
        self.evict_to(self.capacity)
        self.limit_stack()

    # -- the rest of the interface -------------------------------------------------------------
    cdef bint remove(self, int32_t slot) noexcept:
        """Forget the slot everywhere (S, Q, the non-resident list)."""
        cdef bint present = self.contains(slot)
        cdef int8_t state = self.state[slot]
        cdef int64_t size = self.size_of[slot]
        if state != NOT_IN_S:
            self.leave_stack(slot)
            self.stack_used -= size
            if state == LIR:
                self.lir_used -= size
        if self.queued[slot]:
            self.dequeue(slot)
            self.hir_used -= size
        self.unlist(slot)
        if state == LIR:
            self.prune()
        return present

    cdef bint contains(self, int32_t slot) noexcept:
        return self.queued[slot] or self.state[slot] == LIR

    cdef bint holds(self, int32_t slot) noexcept:
        return self.state[slot] != NOT_IN_S or self.queued[slot] or self.listed[slot]

    cdef int64_t used(self) noexcept:
        return self.lir_used + self.hir_used

    cdef Py_ssize_t count(self) noexcept:
        return self.queue.count + len(self.lir_slots())

    cdef list lir_slots(self):
        cdef list slots = []
        cdef int32_t slot = self.stack.head
        while slot != NIL:
            if self.state[slot] == LIR:
                slots.append(slot)
            slot = after(&self.s_links, slot)
        return slots

    def order(self):
        """LIR slots (bottom of S first), then Q's (LRU end first)."""
        cdef list slots = self.lir_slots()
        cdef int32_t slot = self.queue.head
        while slot != NIL:
            slots.append(slot)
            slot = after(&self.q_links, slot)
        return slots
