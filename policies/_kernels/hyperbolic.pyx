"""Hyperbolic caching (policies/hyperbolic.py) in C: sampled eviction of the lowest hits / age.

The victims are the Python policy's, sample for sample: the same generator
(kernel.PythonRandom, started from the same seed), the same dense array of
cached slots (swap-with-last removal) and the same priority arithmetic.
"""

import numpy as np

from libc.math cimport INFINITY
from libc.stdint cimport int32_t, int64_t

from policies._kernels.kernel cimport enlarge, Kernel, PythonRandom
from workloads.native.memory cimport __builtin_prefetch

cdef double NO_CANDIDATE = 1.0e16


cdef class HyperbolicKernel(Kernel):
    cdef int32_t[::1] cached    # the cached slots, cached[0 .. n_cached - 1]
    cdef int32_t[::1] position  # slot -> its index in `cached`, -1 when not cached
    cdef int64_t[::1] hit_count # 1 + the hits of a cached slot
    cdef int64_t[::1] entered   # the request count when it entered
    cdef Py_ssize_t n_cached
    cdef int64_t used_units_, requests
    cdef int32_t n_sample
    cdef PythonRandom rng

    def __init__(self, int64_t capacity, int32_t n_sample, seed):
        Kernel.__init__(self, capacity)
        self.cached = np.zeros(0, dtype=np.int32)
        self.position = np.zeros(0, dtype=np.int32)
        self.hit_count = np.zeros(0, dtype=np.int64)
        self.entered = np.zeros(0, dtype=np.int64)
        self.n_cached = 0
        self.used_units_ = 0
        self.requests = 0
        self.n_sample = n_sample
        self.rng = PythonRandom(seed)

    cdef int resize(self, int32_t n) except -1:
        Kernel.resize(self, n)
        self.cached = enlarge(self.cached, n, 0)
        self.position = enlarge(self.position, n, -1)
        self.hit_count = enlarge(self.hit_count, n, 0)
        self.entered = enlarge(self.entered, n, 0)
        return 0

    cdef void prefetch(self, int32_t slot) noexcept:
        __builtin_prefetch(&self.position[slot])
        __builtin_prefetch(&self.hit_count[slot])

    cdef bint lookup(self, int32_t slot) noexcept:
        if self.position[slot] >= 0:
            self.requests += 1
            self.hit_count[slot] += 1
            return True
        return False

    cdef inline double priority(self, int32_t slot) noexcept:
        cdef int64_t age = self.requests - self.entered[slot]
        if age <= 0:
            return INFINITY
        return 1.0e8 * <double>self.hit_count[slot] / <double>age

    cdef int32_t victim(self) noexcept:
        cdef int32_t i, slot, best = -1, first = -1
        cdef double p, best_priority = NO_CANDIDATE
        for i in range(self.n_sample):
            slot = self.cached[<Py_ssize_t>(self.rng.random() * self.n_cached)]
            if first < 0:
                first = slot
            p = self.priority(slot)
            if p < best_priority:
                best = slot
                best_priority = p
        return first if best < 0 else best

    EVICTS_TO = True

    cdef void evict_to(self, int64_t units) noexcept:
        """Evict sampled victims, as an insert makes room, down to `units` (the clock does not tick)."""
        cdef int32_t victim
        while self.used_units_ > units:
            victim = self.victim()
            self.remove(victim)
            self.report(victim)

    cdef void insert(self, int32_t slot, int64_t size) noexcept:
        cdef int32_t victim
        self.requests += 1  # a miss's request is counted by its insert
        self.remove(slot)
        if size > self.capacity:
            return
        while self.used_units_ + size > self.capacity:
            victim = self.victim()
            self.remove(victim)
            self.report(victim)
        self.position[slot] = self.n_cached
        self.cached[self.n_cached] = slot
        self.n_cached += 1
        self.size_of[slot] = size
        self.hit_count[slot] = 1
        self.entered[slot] = self.requests
        self.used_units_ += size

    cdef bint remove(self, int32_t slot) noexcept:
        """The last cached slot fills the removed one's place."""
        cdef Py_ssize_t index = self.position[slot]
        cdef int32_t last
        if index < 0:
            return False
        self.n_cached -= 1
        last = self.cached[self.n_cached]
        self.cached[index] = last
        self.position[last] = index
        self.position[slot] = -1
        self.used_units_ -= self.size_of[slot]
        return True

    cdef bint contains(self, int32_t slot) noexcept:
        return self.position[slot] >= 0

    cdef int64_t used(self) noexcept:
        return self.used_units_

    cdef Py_ssize_t count(self) noexcept:
        return self.n_cached

    def order(self):
        return [self.cached[i] for i in range(self.n_cached)]
