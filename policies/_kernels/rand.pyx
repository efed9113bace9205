"""RANDOM (policies/rand.py) in C: a dense array of the cached slots, swap-with-last removal.

The victims are the Python policy's, draw for draw: the same generator
(kernel.PythonRandom, Python's Mersenne Twister started from the same seed)
and the same array order.
"""

import numpy as np

from libc.stdint cimport int32_t, int64_t

from policies._kernels.kernel cimport enlarge, Kernel, PythonRandom
from workloads.native.memory cimport __builtin_prefetch


cdef class RandomKernel(Kernel):
    """Evict a uniformly random cached object."""

    cdef int32_t[::1] cached    # the cached slots, cached[0 .. n_cached - 1]
    cdef int32_t[::1] position  # slot -> its index in `cached`, -1 when not cached
    cdef Py_ssize_t n_cached
    cdef int64_t used_units_
    cdef PythonRandom rng

    def __init__(self, int64_t capacity, seed):
        Kernel.__init__(self, capacity)
        self.cached = np.zeros(0, dtype=np.int32)
        self.position = np.zeros(0, dtype=np.int32)
        self.n_cached = 0
        self.used_units_ = 0
        self.rng = PythonRandom(seed)

    cdef int resize(self, int32_t n) except -1:
        Kernel.resize(self, n)
        self.cached = enlarge(self.cached, n, 0)
        self.position = enlarge(self.position, n, -1)
        return 0

    cdef void prefetch(self, int32_t slot) noexcept:
        __builtin_prefetch(&self.position[slot])

    cdef bint lookup(self, int32_t slot) noexcept:
        return self.position[slot] >= 0

    cdef void insert(self, int32_t slot, int64_t size) noexcept:
        self.remove(slot)
        if size > self.capacity:
            return
        self.evict_to(self.capacity - size)
        self.position[slot] = self.n_cached
        self.cached[self.n_cached] = slot
        self.n_cached += 1
        self.size_of[slot] = size
        self.used_units_ += size

    EVICTS_TO = True

    cdef void evict_to(self, int64_t units) noexcept:
        """Uniformly random victims, the generator's draws in the Python policy's order."""
        cdef int32_t victim
        while self.used_units_ > units:
            # int(random() * n), as the Python policy: uniform over the cached slots.
            victim = self.cached[<Py_ssize_t>(self.rng.random() * self.n_cached)]
            self.remove(victim)
            self.report(victim)

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
