"""GDSF (policies/gdsf.py) in C, over an indexed heap of priorities L + frequency * 1e6 / size."""

from libc.stdint cimport int32_t, int64_t

from policies._kernels.heap cimport CountingHeapKernel


cdef class GDSFKernel(CountingHeapKernel):
    """Greedy-Dual-Size-Frequency: the new object goes in first, then the lowest priorities leave."""

    cdef double inflation  # L: the priority of the last evicted object
    cdef int64_t pushes    # ties go to the earlier priority (the Python policy's push order)

    def __init__(self, int64_t capacity):
        CountingHeapKernel.__init__(self, capacity)
        self.inflation = 0.0
        self.pushes = 0

    cdef bint lookup(self, int32_t slot) noexcept:
        if not self.heap.has(slot):
            return False
        self.freq[slot] += 1
        self.pushes += 1
        # The Python expression, operation for operation: L + (freq * 1e6) / size.
        self.heap.set(slot, self.inflation + <double>self.freq[slot] * 1.0e6 / <double>self.size_of[slot], self.pushes)
        return True

    cdef void insert(self, int32_t slot, int64_t size) noexcept:
        self.remove(slot)
        if size > self.capacity:
            return
        self.freq[slot] = 1
        self.pushes += 1
        self.cache(slot, size, self.inflation + 1.0e6 / <double>size, self.pushes)
        self.evict_to(self.capacity)

    EVICTS_TO = True

    cdef void evict_to(self, int64_t units) noexcept:
        """The lowest priorities leave, each raising the inflation L to its own."""
        while self.used_units_ > units:
            self.inflation = self.heap.heap.at[0].primary  # the top's priority
            self.evict_top()
