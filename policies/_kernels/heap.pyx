"""An indexed binary heap of slots, and the kernels that evict its minimum.

The Python LFU, LFU-DA, GDSF and Belady keep lazy heaps or ordered buckets;
here one heap entry per cached slot, ordered by (primary, secondary) and
updated in place.  `secondary` is unique (a stamp of when the slot got its
priority), so the order is total and the minimum is the very object the
Python policy evicts: LFU's and LFU-DA's buckets list keys in the order they
got there, GDSF breaks ties by push order, Belady by request order.
"""

import numpy as np

from cpython.mem cimport PyMem_Free, PyMem_Realloc
from libc.stdint cimport int32_t, int64_t

from policies._kernels.kernel cimport __builtin_prefetch, enlarge, Kernel


cdef inline bint before(Entry* a, Entry* b) noexcept:
    return a.primary < b.primary or (a.primary == b.primary and a.secondary < b.secondary)


cdef class IndexedHeap:
    """A min-heap of slots whose keys can change: each slot knows its position in the heap.

    The keys live in the entries themselves, so a sift reads consecutive
    memory rather than per-slot arrays scattered over the key space.
    """

    def __init__(self):
        self.entries = NULL
        self.size = 0
        self.position = np.zeros(0, dtype=np.int32)

    def __dealloc__(self):
        PyMem_Free(self.entries)

    cdef int resize(self, int32_t n) except -1:
        """Room for n slots (a heap holds each slot at most once)."""
        cdef Entry* entries = <Entry*>PyMem_Realloc(self.entries, n * sizeof(Entry))
        if entries == NULL:
            raise MemoryError()
        self.entries = entries
        self.position = enlarge(self.position, n, -1)  # -1: not in the heap
        return 0

    cdef bint has(self, int32_t slot) noexcept:
        return self.position[slot] >= 0

    cdef double primary(self, int32_t slot) noexcept:
        return self.entries[self.position[slot]].primary

    cdef int32_t top(self) noexcept:
        return self.entries[0].slot

    cdef void place(self, Py_ssize_t i, Entry entry) noexcept:
        self.entries[i] = entry
        self.position[entry.slot] = i

    cdef void sift_up(self, Py_ssize_t i) noexcept:
        cdef Entry entry = self.entries[i]
        cdef Py_ssize_t parent
        while i > 0:
            parent = (i - 1) >> 1
            if not before(&entry, &self.entries[parent]):
                break
            self.place(i, self.entries[parent])
            i = parent
        self.place(i, entry)

    cdef void sift_down(self, Py_ssize_t i) noexcept:
        cdef Entry entry = self.entries[i]
        cdef Py_ssize_t child
        while True:
            child = 2 * i + 1
            if child >= self.size:
                break
            if child + 1 < self.size and before(&self.entries[child + 1], &self.entries[child]):
                child += 1
            if not before(&self.entries[child], &entry):
                break
            self.place(i, self.entries[child])
            i = child
        self.place(i, entry)

    cdef void set(self, int32_t slot, double primary, int64_t secondary) noexcept:
        """Add a slot, or give it a new key."""
        cdef Py_ssize_t i = self.position[slot]
        if i < 0:
            i = self.size
            self.size += 1
        self.entries[i] = Entry(primary, secondary, slot)
        self.sift_up(i)
        self.sift_down(self.position[slot])

    cdef void discard(self, int32_t slot) noexcept:
        cdef Py_ssize_t i = self.position[slot]
        cdef Entry last
        if i < 0:
            return
        self.position[slot] = -1
        self.size -= 1
        if i < self.size:  # the last entry fills the hole, and finds its place
            last = self.entries[self.size]
            self.place(i, last)
            self.sift_up(i)
            self.sift_down(self.position[last.slot])

    def ordered(self):
        """The slots from the minimum up."""
        entries = sorted((self.entries[i].primary, self.entries[i].secondary, self.entries[i].slot) for i in range(self.size))
        return [slot for _, _, slot in entries]


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

    cdef void prefetch(self, int32_t slot) noexcept:
        __builtin_prefetch(&self.heap.position[slot])

    cdef void cache(self, int32_t slot, int64_t size, double primary, int64_t secondary) noexcept:
        self.size_of[slot] = size
        self.used_units_ += size
        self.heap.set(slot, primary, secondary)

    cdef void evict_top(self) noexcept:
        cdef int32_t victim = self.heap.top()
        HeapKernel.remove(self, victim)  # this removal only, whatever a subclass adds to remove()
        self.report(victim)

    cdef bint remove(self, int32_t slot) noexcept:
        if not self.heap.has(slot):
            return False
        self.heap.discard(slot)
        self.used_units_ -= self.size_of[slot]
        return True

    cdef bint contains(self, int32_t slot) noexcept:
        return self.heap.has(slot)

    cdef int64_t used(self) noexcept:
        return self.used_units_

    cdef Py_ssize_t count(self) noexcept:
        return self.heap.size

    def order(self):
        return self.heap.ordered()


cdef class CountingHeapKernel(HeapKernel):
    """A heap kernel that counts each cached slot's requests (LFU, GDSF)."""

    def __init__(self, int64_t capacity):
        HeapKernel.__init__(self, capacity)
        self.freq = np.zeros(0, dtype=np.int64)

    cdef int resize(self, int32_t n) except -1:
        HeapKernel.resize(self, n)
        self.freq = enlarge(self.freq, n, 0)
        return 0
