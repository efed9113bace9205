"""MQ (policies/mq.py) in C: up to 64 LRU queues and the Qout FIFO, on one set of links.

``where[slot]`` is OUT, QOUT, or FIRST_QUEUE + the index of the slot's queue
(a slot is in one queue at a time, cached or in Qout).  A key in Qout keeps
its count in ``counts[slot]``; a key whose lookup found it there has that
count in ``returning[slot]`` (0: none) until its insert.
"""

import numpy as np

from libc.stdint cimport int8_t, int32_t, int64_t

from policies._kernels.kernel cimport enlarge, QueueKernel
from policies._kernels.queues cimport clear, push_back, Queue, unlink

cdef enum:
    OUT, QOUT, FIRST_QUEUE
    MAX_QUEUES = 64
    MAX_COUNT = 2147483647


cdef class MQKernel(QueueKernel):
    cdef Queue queues[MAX_QUEUES]  # each least recently used first
    cdef Queue qout
    cdef int32_t n_queue
    cdef int64_t lifetime, qout_capacity, vtime, used_units_, n_cached
    cdef int32_t[::1] counts
    cdef int32_t[::1] returning
    cdef int64_t[::1] expiry

    def __init__(self, int64_t capacity, int32_t n_queue, int64_t lifetime, int64_t qout_capacity):
        QueueKernel.__init__(self, capacity)
        cdef int level
        for level in range(MAX_QUEUES):
            clear(&self.queues[level])
        clear(&self.qout)
        self.n_queue = n_queue
        self.lifetime = lifetime
        self.qout_capacity = qout_capacity
        self.vtime = 0
        self.used_units_ = 0
        self.n_cached = 0
        self.counts = np.zeros(0, dtype=np.int32)
        self.returning = np.zeros(0, dtype=np.int32)
        self.expiry = np.zeros(0, dtype=np.int64)

    cdef int resize(self, int32_t n) except -1:
        QueueKernel.resize(self, n)
        self.counts = enlarge(self.counts, n, 0)
        self.returning = enlarge(self.returning, n, 0)
        self.expiry = enlarge(self.expiry, n, 0)
        return 0

    cdef inline int32_t queue_of(self, int32_t count) noexcept:
        """min(floor(log2 count), n_queue - 1)."""
        cdef int32_t level = 0
        while count > 1 and level < self.n_queue - 1:
            count >>= 1
            level += 1
        return level

    cdef bint lookup(self, int32_t slot) noexcept:
        cdef int8_t where = self.where[slot]
        cdef int64_t size
        if where < FIRST_QUEUE:
            if where == QOUT:  # comes back with its count
                unlink(&self.links, &self.qout, slot, self.size_of[slot])
                self.where[slot] = OUT
                self.returning[slot] = self.counts[slot]
            else:
                self.returning[slot] = 0
            return False
        size = self.size_of[slot]
        unlink(&self.links, &self.queues[where - FIRST_QUEUE], slot, size)
        self.used_units_ -= size
        self.n_cached -= 1
        self.place(slot, size, self.counts[slot] + 1 if self.counts[slot] < MAX_COUNT else MAX_COUNT)
        self.adjust()
        return True

    cdef void insert(self, int32_t slot, int64_t size) noexcept:
        cdef int32_t returning = self.returning[slot]
        self.remove(slot)
        if size > self.capacity:
            return
        while self.used_units_ + size > self.capacity:
            self.evict_one()
        if returning == 0:
            self.place(slot, size, 1)
        else:
            self.place(slot, size, returning + 1 if returning < MAX_COUNT else MAX_COUNT)
        self.adjust()

    cdef void place(self, int32_t slot, int64_t size, int32_t count) noexcept:
        """At the MRU end of its count's queue, its lifetime starting now."""
        cdef int32_t level = self.queue_of(count)
        self.size_of[slot] = size
        self.counts[slot] = count
        self.expiry[slot] = self.vtime + self.lifetime
        self.where[slot] = <int8_t>(FIRST_QUEUE + level)
        push_back(&self.links, &self.queues[level], slot, size)
        self.used_units_ += size
        self.n_cached += 1

    cdef void adjust(self) noexcept:
        """Tick; demote the LRU slot of each queue above the first if it expired."""
        cdef int32_t level, oldest
        self.vtime += 1
        for level in range(1, self.n_queue):
            oldest = self.queues[level].head
            if oldest >= 0 and self.expiry[oldest] < self.vtime:
                unlink(&self.links, &self.queues[level], oldest, self.size_of[oldest])
                push_back(&self.links, &self.queues[level - 1], oldest, self.size_of[oldest])
                self.where[oldest] = <int8_t>(FIRST_QUEUE + level - 1)
                self.expiry[oldest] = self.vtime + self.lifetime

    EVICTS_TO = True

    cdef void evict_to(self, int64_t units) noexcept:
        """Evict as an insert makes room (into Qout) until at most `units` are cached; no tick."""
        while self.used_units_ > units:
            self.evict_one()

    def reshape(self, reference):
        """MQ.resize: Qout's share re-derived (forgetting its oldest keys to fit), then evicted down to the
        capacity (the victims entering the smaller Qout)."""
        cdef int32_t oldest
        self.qout_capacity = reference.qout_capacity
        while self.qout.used > self.qout_capacity:
            oldest = self.qout.head
            unlink(&self.links, &self.qout, oldest, self.size_of[oldest])
            self.where[oldest] = OUT
        QueueKernel.reshape(self, reference)

    cdef void evict_one(self) noexcept:
        """The LRU slot of the lowest non-empty queue leaves; Qout remembers it (and its count)."""
        cdef int32_t level = 0, victim
        while self.queues[level].count == 0:
            level += 1
        victim = self.queues[level].head
        unlink(&self.links, &self.queues[level], victim, self.size_of[victim])
        self.used_units_ -= self.size_of[victim]
        self.n_cached -= 1
        self.remember(&self.qout, self.qout_capacity, victim, QOUT)
        self.report(victim)

    cdef bint remove(self, int32_t slot) noexcept:
        cdef int8_t where = self.where[slot]
        self.returning[slot] = 0
        if where == OUT:
            return False
        if where == QOUT:
            unlink(&self.links, &self.qout, slot, self.size_of[slot])
            self.where[slot] = OUT
            return False
        unlink(&self.links, &self.queues[where - FIRST_QUEUE], slot, self.size_of[slot])
        self.used_units_ -= self.size_of[slot]
        self.n_cached -= 1
        self.where[slot] = OUT
        return True

    cdef bint contains(self, int32_t slot) noexcept:
        return self.where[slot] >= FIRST_QUEUE

    cdef bint holds(self, int32_t slot) noexcept:
        return self.where[slot] != OUT or self.returning[slot] != 0

    cdef int64_t used(self) noexcept:
        return self.used_units_

    cdef Py_ssize_t count(self) noexcept:
        return self.n_cached

    def order(self):
        cdef int32_t level
        slots = []
        for level in range(self.n_queue):
            slots += self.walk(&self.queues[level])
        return slots
