"""CLOCK with a k-bit counter (policies/clock.py) in C: a queue whose front is the hand."""

import numpy as np

from libc.stdint cimport int32_t, int64_t

from policies._kernels.fifo cimport CACHED, FIFOKernel
from policies._kernels.kernel cimport enlarge
from policies._kernels.queues cimport move_to_back
from workloads.native.memory cimport __builtin_prefetch


cdef class ClockKernel(FIFOKernel):
    """A hit counts up to 2**bits - 1; the hand spares (and decrements) a non-zero count."""

    cdef int64_t[::1] counter
    cdef int64_t max_count, init_freq

    def __init__(self, int64_t capacity, int bits, int64_t init_freq):
        FIFOKernel.__init__(self, capacity)
        self.counter = np.zeros(0, dtype=np.int64)
        self.max_count = (<int64_t>1 << bits) - 1
        self.init_freq = init_freq

    cdef int resize(self, int32_t n) except -1:
        FIFOKernel.resize(self, n)
        self.counter = enlarge(self.counter, n, 0)
        return 0

    cdef void prefetch(self, int32_t slot) noexcept:
        FIFOKernel.prefetch(self, slot)
        __builtin_prefetch(&self.counter[slot])

    cdef bint lookup(self, int32_t slot) noexcept:
        if self.where[slot] != CACHED:
            return False
        if self.counter[slot] < self.max_count:
            self.counter[slot] += 1
        return True

    cdef void insert(self, int32_t slot, int64_t size) noexcept:
        cdef int32_t hand
        self.remove(slot)
        if size > self.capacity:
            return
        while self.queue.used + size > self.capacity:
            hand = self.queue.head
            if self.counter[hand]:  # a second chance: one count less, to the back
                self.counter[hand] -= 1
                move_to_back(&self.links, &self.queue, hand)
            else:
                self.evict(hand)
        self.counter[slot] = self.init_freq
        self.admit(slot, size)

    cdef void evict_to(self, int64_t units) noexcept:
        """The hand turns as an insert's does: counted slots are decremented and spared."""
        cdef int32_t hand
        while self.queue.used > units:
            hand = self.queue.head
            if self.counter[hand]:
                self.counter[hand] -= 1
                move_to_back(&self.links, &self.queue, hand)
            else:
                self.evict(hand)
