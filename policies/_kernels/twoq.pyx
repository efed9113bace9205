"""2Q (policies/twoq.py) in C: Ain (FIFO), Am (LRU) and the Aout ghost FIFO over one set of links."""

import numpy as np

from libc.stdint cimport int32_t, int64_t, uint8_t

from policies._kernels.kernel cimport enlarge, QueueKernel
from policies._kernels.queues cimport clear, move_to_back, push_back, Queue, unlink

cdef enum:
    OUT, AIN, AM, AOUT  # where[slot]


cdef class TwoQKernel(QueueKernel):
    cdef Queue ain, am, aout
    cdef int64_t ain_capacity, am_capacity, aout_capacity
    cdef uint8_t[::1] ghost_hit  # the slot's last lookup hit Aout, until its insert

    def __init__(self, int64_t capacity, int64_t ain_capacity, int64_t am_capacity, int64_t aout_capacity):
        QueueKernel.__init__(self, capacity)
        self.ain_capacity = ain_capacity
        self.am_capacity = am_capacity
        self.aout_capacity = aout_capacity
        self.ghost_hit = np.zeros(0, dtype=np.uint8)
        clear(&self.ain)
        clear(&self.am)
        clear(&self.aout)

    cdef int resize(self, int32_t n) except -1:
        QueueKernel.resize(self, n)
        self.ghost_hit = enlarge(self.ghost_hit, n, 0)
        return 0

    cdef bint lookup(self, int32_t slot) noexcept:
        cdef int where = self.where[slot]
        if where == AIN:
            return True  # a hit in probation changes nothing
        if where == AM:
            move_to_back(&self.links, &self.am, slot)
            return True
        if where == AOUT:
            unlink(&self.links, &self.aout, slot, self.size_of[slot])
            self.where[slot] = OUT
            self.ghost_hit[slot] = 1
        return False

    cdef void insert(self, int32_t slot, int64_t size) noexcept:
        cdef bint from_ghost = self.ghost_hit[slot]
        self.remove(slot)
        if size > self.capacity or size > self.ain_capacity:
            return
        while self.ain.used + self.am.used + size > self.capacity:
            self.evict_one()
        self.size_of[slot] = size
        if not from_ghost:
            self.where[slot] = AIN
            push_back(&self.links, &self.ain, slot, size)
        elif size <= self.am_capacity:
            # Into Am through its own capacity check, as libCacheSim's Am->get does.
            while self.am.used + size > self.am_capacity:
                self.evict_from(&self.am, self.am.head)
            self.where[slot] = AM
            push_back(&self.links, &self.am, slot, size)

    cdef void evict_one(self) noexcept:
        cdef int32_t oldest
        if self.ain.used > self.ain_capacity or self.am.count == 0:
            oldest = self.ain.head
            unlink(&self.links, &self.ain, oldest, self.size_of[oldest])
            self.remember(&self.aout, self.aout_capacity, oldest, AOUT)
            self.report(oldest)
        else:
            self.evict_from(&self.am, self.am.head)

    cdef void evict_from(self, Queue* queue, int32_t slot) noexcept:
        unlink(&self.links, queue, slot, self.size_of[slot])
        self.where[slot] = OUT
        self.report(slot)

    cdef bint remove(self, int32_t slot) noexcept:
        cdef int where = self.where[slot]
        self.ghost_hit[slot] = 0
        if where == OUT:
            return False
        unlink(&self.links, &self.ain if where == AIN else &self.am if where == AM else &self.aout,
               slot, self.size_of[slot])
        self.where[slot] = OUT
        return where != AOUT

    cdef bint contains(self, int32_t slot) noexcept:
        return self.where[slot] == AIN or self.where[slot] == AM

    cdef bint holds(self, int32_t slot) noexcept:
        return self.where[slot] != OUT or self.ghost_hit[slot]

    cdef int64_t used(self) noexcept:
        return self.ain.used + self.am.used

    cdef Py_ssize_t count(self) noexcept:
        return self.ain.count + self.am.count

    def order(self):
        return self.walk(&self.ain) + self.walk(&self.am)
