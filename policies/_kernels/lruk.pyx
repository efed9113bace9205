"""LRU-K (policies/lruk.py) in C: a FIFO of the young slots, an indexed heap of the ranked ones.

Each slot keeps the times of its last K requests in a ring of K int64 (slot *
K onwards) and how many requests it had since it was cached: the ring's next
place to write is then its oldest time, the K-th most recent.
"""

import numpy as np

from libc.stdint cimport int8_t, int32_t, int64_t

from policies._kernels.heap cimport IndexedHeap
from policies._kernels.kernel cimport enlarge, QueueKernel
from policies._kernels.queues cimport clear, push_back, Queue, unlink

cdef enum:
    OUT, YOUNG, RANKED  # where[slot]: not cached, fewer than K requests, K or more


cdef class LRUKKernel(QueueKernel):
    cdef int32_t k
    cdef int64_t clock          # one tick per lookup and per insert, as the Python policy's
    cdef Queue young            # fewer than K requests, in order of insertion
    cdef IndexedHeap ranked     # K or more requests, by the time of the K-th most recent
    cdef int64_t ranked_used
    cdef int64_t[::1] times     # times[slot * k + i]: a ring of the slot's last K request times
    cdef int64_t[::1] requests  # requests since the slot was cached

    def __init__(self, int64_t capacity, int32_t k):
        QueueKernel.__init__(self, capacity)
        self.k = k
        self.clock = 0
        clear(&self.young)
        self.ranked = IndexedHeap()
        self.ranked_used = 0
        self.times = np.zeros(0, dtype=np.int64)
        self.requests = np.zeros(0, dtype=np.int64)

    cdef int resize(self, int32_t n) except -1:
        QueueKernel.resize(self, n)
        self.ranked.resize(n)
        self.times = enlarge(self.times, <Py_ssize_t>n * self.k, 0)
        self.requests = enlarge(self.requests, n, 0)
        return 0

    cdef inline void note_request(self, int32_t slot) noexcept:
        """Write the current time over the ring's oldest entry."""
        cdef int64_t seen = self.requests[slot]
        self.times[<Py_ssize_t>slot * self.k + seen % self.k] = self.clock
        self.requests[slot] = seen + 1

    cdef inline void rank(self, int32_t slot) noexcept:
        """(Re)place a slot with K requests in the heap, at its K-th most recent request's time."""
        cdef int64_t kth = self.times[<Py_ssize_t>slot * self.k + self.requests[slot] % self.k]
        self.ranked.set(slot, <double>kth, kth)

    cdef bint lookup(self, int32_t slot) noexcept:
        self.clock += 1
        cdef int8_t where = self.where[slot]
        if where == OUT:
            return False
        self.note_request(slot)
        if where == YOUNG:
            if self.requests[slot] < self.k:
                return True  # still young: hits do not move it in the FIFO
            unlink(&self.links, &self.young, slot, self.size_of[slot])
            self.where[slot] = RANKED
            self.ranked_used += self.size_of[slot]
        self.rank(slot)
        return True

    EVICTS_TO = True

    cdef void evict_to(self, int64_t units) noexcept:
        """Evict as an insert makes room (the young FIFO's oldest, then the oldest k-th request) to `units`;
        the clock does not tick (a resize is no request)."""
        while self.young.used + self.ranked_used > units:
            self.evict_one()

    cdef void insert(self, int32_t slot, int64_t size) noexcept:
        self.clock += 1
        self.remove(slot)  # a cached key is replaced
        if size > self.capacity:
            return
        while self.young.used + self.ranked_used + size > self.capacity:
            self.evict_one()
        self.size_of[slot] = size
        self.requests[slot] = 0
        self.note_request(slot)
        if self.k == 1:
            self.where[slot] = RANKED
            self.ranked_used += size
            self.rank(slot)
        else:
            self.where[slot] = YOUNG
            push_back(&self.links, &self.young, slot, size)

    cdef void evict_one(self) noexcept:
        """The FIFO's oldest slot while there is one (infinite K-distance), else the heap's minimum."""
        cdef int32_t victim = self.young.head if self.young.count > 0 else self.ranked.top()
        self.remove(victim)
        self.report(victim)

    cdef bint remove(self, int32_t slot) noexcept:
        cdef int8_t where = self.where[slot]
        if where == OUT:
            return False
        if where == YOUNG:
            unlink(&self.links, &self.young, slot, self.size_of[slot])
        else:
            self.ranked.discard(slot)
            self.ranked_used -= self.size_of[slot]
        self.where[slot] = OUT
        return True

    cdef bint contains(self, int32_t slot) noexcept:
        return self.where[slot] != OUT

    cdef int64_t used(self) noexcept:
        return self.young.used + self.ranked_used

    cdef Py_ssize_t count(self) noexcept:
        return self.young.count + self.ranked.heap.size

    def order(self):
        return self.walk(&self.young) + self.ranked.ordered()
