"""An indexed binary heap of slots, and the kernels that evict its minimum.

The Python LFU, LFU-DA, GDSF and Belady keep lazy heaps or ordered buckets;
here one heap entry per cached slot, ordered by (primary, secondary) and
updated in place.  `secondary` is unique (a stamp of when the slot got its
priority), so the order is total and the minimum is the very object the
Python policy evicts: LFU's and LFU-DA's buckets list keys in the order they
got there, GDSF breaks ties by push order, Belady by request order.
"""

import numpy as np

from libc.stdint cimport int32_t, int64_t

from policies._kernels.kernel cimport enlarge, Kernel


cdef class IndexedHeap:
    """A min-heap of slots whose keys can change: each slot knows its position in the heap."""

    def __init__(self):
        self.heap = np.zeros(0, dtype=np.int32)
        self.position = np.zeros(0, dtype=np.int32)
        self.primary = np.zeros(0, dtype=np.float64)
        self.secondary = np.zeros(0, dtype=np.int64)
        self.size = 0

    cdef int resize(self, int32_t n) except -1:
        self.heap = enlarge(self.heap, n, 0)
        self.position = enlarge(self.position, n, -1)  # -1: not in the heap
        self.primary = enlarge(self.primary, n, 0.0)
        self.secondary = enlarge(self.secondary, n, 0)
        return 0

    cdef bint before(self, int32_t a, int32_t b) noexcept:
        if self.primary[a] != self.primary[b]:
            return self.primary[a] < self.primary[b]
        return self.secondary[a] < self.secondary[b]

    cdef void place(self, Py_ssize_t i, int32_t slot) noexcept:
        self.heap[i] = slot
        self.position[slot] = i

    cdef void sift_up(self, Py_ssize_t i) noexcept:
        cdef int32_t slot = self.heap[i]
        cdef Py_ssize_t parent
        while i > 0:
            parent = (i - 1) >> 1
            if not self.before(slot, self.heap[parent]):
                break
            self.place(i, self.heap[parent])
            i = parent
        self.place(i, slot)

    cdef void sift_down(self, Py_ssize_t i) noexcept:
        cdef int32_t slot = self.heap[i]
        cdef Py_ssize_t child
        while True:
            child = 2 * i + 1
            if child >= self.size:
                break
            if child + 1 < self.size and self.before(self.heap[child + 1], self.heap[child]):
                child += 1
            if not self.before(self.heap[child], slot):
                break
            self.place(i, self.heap[child])
            i = child
        self.place(i, slot)

    cdef void set(self, int32_t slot, double primary, int64_t secondary) noexcept:
        """Add a slot, or give it a new key."""
        cdef Py_ssize_t i = self.position[slot]
        self.primary[slot] = primary
        self.secondary[slot] = secondary
        if i < 0:
            i = self.size
            self.size += 1
            self.place(i, slot)
        self.sift_up(i)
        self.sift_down(self.position[slot])

    cdef void discard(self, int32_t slot) noexcept:
        cdef Py_ssize_t i = self.position[slot]
        cdef int32_t last
        if i < 0:
            return
        self.position[slot] = -1
        self.size -= 1
        if i < self.size:  # the last entry fills the hole, and finds its place
            last = self.heap[self.size]
            self.place(i, last)
            self.sift_up(i)
            self.sift_down(self.position[last])

    def ordered(self):
        """The slots from the minimum up."""
        slots = np.asarray(self.heap)[: self.size]
        order = np.lexsort((np.asarray(self.secondary)[slots], np.asarray(self.primary)[slots]))
        return slots[order].tolist()


cdef class HeapKernel(Kernel):
    """A kernel whose cached slots are exactly its heap's, the minimum evicted first."""

    def __init__(self, int64_t capacity):
        Kernel.__init__(self, capacity)
        self.heap = IndexedHeap()
        self.used_units_ = 0

    cdef int resize(self, int32_t n) except -1:
        Kernel.resize(self, n)
        self.heap.resize(n)
        return 0

    cdef void cache(self, int32_t slot, int64_t size, double primary, int64_t secondary) noexcept:
        self.size_of[slot] = size
        self.used_units_ += size
        self.heap.set(slot, primary, secondary)

    cdef void evict_top(self) noexcept:
        cdef int32_t victim = self.heap.heap[0]
        HeapKernel.remove(self, victim)  # this removal only, whatever a subclass adds to remove()
        self.report(victim)

    cdef bint remove(self, int32_t slot) noexcept:
        if self.heap.position[slot] < 0:
            return False
        self.heap.discard(slot)
        self.used_units_ -= self.size_of[slot]
        return True

    cdef bint contains(self, int32_t slot) noexcept:
        return self.heap.position[slot] >= 0

    cdef int64_t used(self) noexcept:
        return self.used_units_

    cdef Py_ssize_t count(self) noexcept:
        return self.heap.size

    def order(self):
        return self.heap.ordered()
