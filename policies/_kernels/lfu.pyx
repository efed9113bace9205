"""LFU (policies/lfu.py) in C, over an indexed heap of (frequency, when it was reached)."""

from libc.stdint cimport int32_t, int64_t

from policies._kernels.heap cimport CountingHeapKernel


cdef class LFUKernel(CountingHeapKernel):
    """Least frequently used; among equals, the one that reached its frequency first."""

    cdef int64_t stamp  # counts the times a slot reached a frequency: the tie-break

    def __init__(self, int64_t capacity):
        CountingHeapKernel.__init__(self, capacity)
        self.stamp = 0

    cdef bint lookup(self, int32_t slot) noexcept:
        if not self.heap.has(slot):
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

    EVICTS_TO = True

    cdef void evict_to(self, int64_t units) noexcept:
        """The least frequently used first (among equals, the one that reached its frequency first)."""
        while self.used_units_ > units:
            self.evict_top()
