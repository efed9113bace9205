"""S3-FIFO (policies/s3fifo.py) in C: small, main and ghost FIFOs over one set of links.

The rules are the Python policy's (libCacheSim 0.3.5's S3FIFO): see there for
why each one is as it is.
"""

import numpy as np

from libc.stdint cimport int32_t, int64_t, uint8_t

from policies._kernels.kernel cimport __builtin_prefetch, enlarge, QueueKernel
from policies._kernels.queues cimport clear, move_to_back, push_back, Queue, unlink

cdef enum:
    OUT, SMALL, MAIN, GHOST  # where[slot]


cdef class S3FIFOKernel(QueueKernel):
    cdef Queue small, main, ghost
    cdef int64_t small_capacity, main_capacity, ghost_capacity, small_limit, threshold
    cdef int64_t[::1] freq       # hits of a cached slot (uncapped in small, read as min(., 3) in main)
    cdef uint8_t[::1] ghost_hit  # the slot's last lookup hit the ghost, until its insert
    cdef bint has_evicted

    def __init__(self, int64_t capacity, int64_t small_capacity, int64_t main_capacity,
                 int64_t ghost_capacity, int64_t small_limit, int64_t move_to_main_threshold):
        QueueKernel.__init__(self, capacity)
        self.small_capacity = small_capacity
        self.main_capacity = main_capacity
        self.ghost_capacity = ghost_capacity
        self.small_limit = small_limit
        self.threshold = move_to_main_threshold
        self.freq = np.zeros(0, dtype=np.int64)
        self.ghost_hit = np.zeros(0, dtype=np.uint8)
        self.has_evicted = False
        clear(&self.small)
        clear(&self.main)
        clear(&self.ghost)

    cdef int resize(self, int32_t n) except -1:
        QueueKernel.resize(self, n)
        self.freq = enlarge(self.freq, n, 0)
        self.ghost_hit = enlarge(self.ghost_hit, n, 0)
        return 0

    cdef void prefetch(self, int32_t slot) noexcept:
        QueueKernel.prefetch(self, slot)
        __builtin_prefetch(&self.freq[slot])

    cdef bint lookup(self, int32_t slot) noexcept:
        cdef int where = self.where[slot]
        if where == SMALL or where == MAIN:
            self.freq[slot] += 1
            return True
        if where == GHOST:
            unlink(&self.links, &self.ghost, slot, self.size_of[slot])
            self.where[slot] = OUT
            self.ghost_hit[slot] = 1
        return False

    cdef void insert(self, int32_t slot, int64_t size) noexcept:
        cdef bint from_ghost = self.ghost_hit[slot]
        self.remove(slot)
        if size > self.capacity or size > self.small_capacity:
            return
        while self.small.used + self.main.used + size > self.capacity:
            self.evict_one()
        if size >= self.small_limit:
            return  # room was made, but the object is not inserted (libCacheSim's guard)
        self.size_of[slot] = size
        self.freq[slot] = 0
        if from_ghost or (not self.has_evicted and self.small.used >= self.small_capacity):
            self.where[slot] = MAIN
            push_back(&self.links, &self.main, slot, size)
        else:
            self.where[slot] = SMALL
            push_back(&self.links, &self.small, slot, size)

    cdef void evict_one(self) noexcept:
        """Evict one object from main (when over its share, or small is empty) or from small."""
        self.has_evicted = True
        if self.main.used > self.main_capacity or self.small.count == 0:
            self.evict_main()
        else:
            self.evict_small()

    cdef void evict_small(self) noexcept:
        """Small's oldest leaves for the ghost, unless hit enough: then it moves to main."""
        cdef int32_t oldest
        while self.small.count:
            oldest = self.small.head
            unlink(&self.links, &self.small, oldest, self.size_of[oldest])
            if self.freq[oldest] >= self.threshold:
                self.freq[oldest] = 0
                self.where[oldest] = MAIN
                push_back(&self.links, &self.main, oldest, self.size_of[oldest])
                continue
            self.remember(&self.ghost, self.ghost_capacity, oldest, GHOST)
            self.report(oldest)
            return

    cdef void evict_main(self) noexcept:
        """Main is a CLOCK: its oldest, if hit since its last pass, goes round again one step colder."""
        cdef int32_t oldest
        while self.main.count:
            oldest = self.main.head
            if self.freq[oldest] >= 1:
                self.freq[oldest] = min(self.freq[oldest], 3) - 1
                move_to_back(&self.links, &self.main, oldest)
                continue
            unlink(&self.links, &self.main, oldest, self.size_of[oldest])
            self.where[oldest] = OUT
            self.report(oldest)
            return

    cdef bint remove(self, int32_t slot) noexcept:
        cdef int where = self.where[slot]
        self.ghost_hit[slot] = 0
        if where == OUT:
            return False
        unlink(&self.links, &self.small if where == SMALL else &self.main if where == MAIN else &self.ghost,
               slot, self.size_of[slot])
        self.where[slot] = OUT
        return where != GHOST

    cdef bint contains(self, int32_t slot) noexcept:
        return self.where[slot] == SMALL or self.where[slot] == MAIN

    cdef bint holds(self, int32_t slot) noexcept:
        return self.where[slot] != OUT or self.ghost_hit[slot]

    cdef int64_t used(self) noexcept:
        return self.small.used + self.main.used

    cdef Py_ssize_t count(self) noexcept:
        return self.small.count + self.main.count

    def order(self):
        return self.walk(&self.small) + self.walk(&self.main)
