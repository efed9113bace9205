"""CLOCK-2Q+ (policies/clock2qplus.py) in C: the small FIFO is the probation queue, main a one-bit CLOCK.

The rules are the Python policy's (libCacheSim 0.3.5's Clock2QPlus): see there.
"""

import numpy as np

from libc.stdint cimport int32_t, int64_t

from policies._kernels.kernel cimport enlarge
from policies._kernels.probation cimport MAIN, OUT, PROBATION, ProbationKernel
from policies._kernels.queues cimport move_to_back, push_back, unlink
from workloads.native.memory cimport __builtin_prefetch


cdef class Clock2QPlusKernel(ProbationKernel):
    cdef int64_t small_capacity, main_capacity, small_limit, threshold
    cdef double corr_window    # admissions to the small queue after which its hits count
    cdef int64_t admitted      # admissions to the small queue so far
    cdef int64_t[::1] freq     # hits of a cached slot (that count)
    cdef int64_t[::1] admitted_at
    cdef bint has_evicted

    def __init__(self, int64_t capacity, int64_t small_capacity, int64_t main_capacity, int64_t ghost_capacity,
                 int64_t small_limit, int64_t move_to_main_threshold, double corr_window):
        ProbationKernel.__init__(self, capacity, ghost_capacity)
        self.small_capacity = small_capacity
        self.main_capacity = main_capacity
        self.small_limit = small_limit
        self.threshold = move_to_main_threshold
        self.corr_window = corr_window
        self.admitted = 0
        self.freq = np.zeros(0, dtype=np.int64)
        self.admitted_at = np.zeros(0, dtype=np.int64)
        self.has_evicted = False

    cdef int resize(self, int32_t n) except -1:
        ProbationKernel.resize(self, n)
        self.freq = enlarge(self.freq, n, 0)
        self.admitted_at = enlarge(self.admitted_at, n, 0)
        return 0

    cdef void prefetch(self, int32_t slot) noexcept:
        ProbationKernel.prefetch(self, slot)
        __builtin_prefetch(&self.freq[slot])

    cdef bint lookup(self, int32_t slot) noexcept:
        if self.where[slot] == MAIN:
            self.freq[slot] += 1
            return True
        if self.where[slot] == PROBATION:
            if self.admitted - self.admitted_at[slot] >= self.corr_window:  # past the correlation window
                self.freq[slot] += 1
            return True
        return self.miss(slot)

    cdef void insert(self, int32_t slot, int64_t size) noexcept:
        cdef bint from_ghost = self.ghost_hit[slot]
        self.remove(slot)
        if size > self.capacity or size > self.small_capacity:
            return
        while self.probation.used + self.main.used + size > self.capacity:
            self.evict_one()
        if size >= self.small_limit:
            return  # room was made, but the object is not inserted (libCacheSim's guard)
        self.freq[slot] = 0
        if from_ghost or (not self.has_evicted and self.probation.used >= self.small_capacity):
            self.place(slot, size, MAIN)  # from the ghost, or warming up with a full small queue
        else:
            self.admitted += 1
            self.admitted_at[slot] = self.admitted
            self.place(slot, size, PROBATION)

    EVICTS_TO = True

    cdef void evict_to(self, int64_t units) noexcept:
        """S3FIFO.evict_to: evict as an insert makes room down to `units`."""
        while self.probation.used + self.main.used > units:
            self.evict_one()

    def reshape(self, reference):
        """S3FIFO.resize (which Clock2QPlus inherits): the shares re-derived, the ghost trimmed, then evicted
        down to the capacity; the correlation window stays as built."""
        self.small_capacity, self.main_capacity = reference.small_capacity, reference.main_capacity
        self.small_limit = reference._small_limit
        self.ghost_capacity = reference.ghost.capacity
        self.trim_ghost()
        ProbationKernel.reshape(self, reference)

    cdef void evict_one(self) noexcept:
        """Evict one object from main (when over its share, or small is empty) or from small."""
        self.has_evicted = True
        if self.main.used > self.main_capacity or self.probation.count == 0:
            self.evict_main()
        else:
            self.evict_small()

    cdef void evict_small(self) noexcept:
        """Small's oldest leaves for the ghost, unless hit enough: then it moves to main, its bit clear."""
        cdef int32_t oldest
        while self.probation.count:
            oldest = self.probation.head
            if self.freq[oldest] < self.threshold:
                self.to_ghost(oldest)
                return
            unlink(&self.links, &self.probation, oldest, self.size_of[oldest])
            self.freq[oldest] = 0
            self.where[oldest] = MAIN
            push_back(&self.links, &self.main, oldest, self.size_of[oldest])

    cdef void evict_main(self) noexcept:
        """Main is a one-bit CLOCK: its oldest, if hit since its last pass, goes round again, the bit cleared."""
        cdef int32_t oldest
        while self.main.count:
            oldest = self.main.head
            if self.freq[oldest] >= 1:
                self.freq[oldest] = 0
                move_to_back(&self.links, &self.main, oldest)
                continue
            unlink(&self.links, &self.main, oldest, self.size_of[oldest])
            self.where[oldest] = OUT
            self.report(oldest)
            return
