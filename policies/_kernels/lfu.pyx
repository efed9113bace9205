"""LFU and LFU-DA (policies/lfu.py, policies/lfuda.py) in C, over an indexed heap."""

import numpy as np

from libc.stdint cimport int32_t, int64_t

from policies._kernels.heap cimport HeapKernel
from policies._kernels.kernel cimport enlarge


cdef class LFUKernel(HeapKernel):
    """Least frequently used; among equals, the one that reached its frequency first."""

    cdef int64_t[::1] freq
    cdef int64_t stamp  # counts the times a slot reached a frequency: the tie-break

    def __init__(self, int64_t capacity):
        HeapKernel.__init__(self, capacity)
        self.freq = np.zeros(0, dtype=np.int64)
        self.stamp = 0

    cdef int resize(self, int32_t n) except -1:
        HeapKernel.resize(self, n)
        self.freq = enlarge(self.freq, n, 0)
        return 0

    cdef bint lookup(self, int32_t slot) noexcept:
        if self.heap.position[slot] < 0:
            return False
        self.freq[slot] += 1
        self.stamp += 1
        self.heap.set(slot, <double>self.freq[slot], self.stamp)
        return True

    cdef void insert(self, int32_t slot, int64_t size) noexcept:
        self.remove(slot)
        if size > self.capacity:
            return
        while self.used_units_ + size > self.capacity:
            self.evict_top()
        self.freq[slot] = 1
        self.stamp += 1
        self.cache(slot, size, 1.0, self.stamp)


cdef class LFUDAKernel(HeapKernel):
    """LFU with dynamic aging: a slot's priority is raised by the age L on each hit.

    The age is the smallest priority in the cache, as libCacheSim's min_freq:
    it rises to an evicted priority, and to the next one up when the bucket
    of its own priority empties.  (Priorities are exact in the heap's doubles
    up to 2**53.)
    """

    cdef int64_t[::1] priority
    cdef int64_t age
    cdef int64_t stamp

    def __init__(self, int64_t capacity):
        HeapKernel.__init__(self, capacity)
        self.priority = np.zeros(0, dtype=np.int64)
        self.age = 0
        self.stamp = 0

    cdef int resize(self, int32_t n) except -1:
        HeapKernel.resize(self, n)
        self.priority = enlarge(self.priority, n, 0)
        return 0

    cdef bint bucket_empty(self, int64_t priority) noexcept:
        """Whether no slot has `priority`, which must be the smallest (the age)."""
        return self.heap.size == 0 or self.priority[self.heap.heap[0]] != priority

    cdef void advance_age(self) noexcept:
        """The age's bucket emptied: the age moves up to the smallest priority (stays if none)."""
        if self.heap.size:
            self.age = self.priority[self.heap.heap[0]]

    cdef bint lookup(self, int32_t slot) noexcept:
        cdef int64_t old
        if self.heap.position[slot] < 0:
            return False
        old = self.priority[slot]
        self.heap.discard(slot)
        if old == self.age and self.bucket_empty(old):
            self.advance_age()  # before the slot lands in its new bucket, as libCacheSim
        self.priority[slot] = old + self.age
        self.stamp += 1
        self.heap.set(slot, <double>self.priority[slot], self.stamp)
        return True

    cdef void insert(self, int32_t slot, int64_t size) noexcept:
        cdef int64_t victim_priority
        self.remove(slot)
        if size > self.capacity:
            return
        while self.used_units_ + size > self.capacity:
            victim_priority = self.priority[self.heap.heap[0]]
            self.age = victim_priority
            self.evict_top()
            if self.bucket_empty(victim_priority):
                self.advance_age()
        self.priority[slot] = self.age + 1
        self.stamp += 1
        self.cache(slot, size, <double>self.priority[slot], self.stamp)

    cdef bint remove(self, int32_t slot) noexcept:
        cdef int64_t priority = self.priority[slot]
        if not HeapKernel.remove(self, slot):
            return False
        if priority == self.age and self.bucket_empty(priority):
            self.advance_age()
        return True
