"""An indexed binary heap of slots, and the kernels that evict its minimum.

The Python LFU, LFU-DA, GDSF and Belady keep lazy heaps or ordered buckets;
here one heap entry per cached slot, ordered by (primary, secondary) and
updated in place.  `secondary` is unique (a stamp of when the slot got its
priority), so the order is total and the minimum is the very object the
Python policy evicts: LFU's and LFU-DA's buckets list keys in the order they
got there, GDSF breaks ties by push order, Belady by request order.
"""

import numpy as np

from cpython.mem cimport PyMem_Free
from libc.stdint cimport int32_t, int64_t

from policies._kernels.kernel cimport enlarge, Kernel
from workloads.native.heap cimport HeapEntry, heap_discard, heap_free, heap_reserve, heap_set
from workloads.native.memory cimport __builtin_prefetch, grow


cdef class IndexedHeap:
    """A min-heap of slots whose keys can change: the one heap (workloads/native/heap.pxd), indexed by slot.

    The keys live in the entries themselves, so a sift reads consecutive
    memory rather than per-slot arrays scattered over the key space.
    """

    def __dealloc__(self):
        heap_free(&self.heap)
        PyMem_Free(self.heap.position)

    cdef int resize(self, int32_t n) except -1:
        """Room for slots 0 .. n-1 (a heap holds each slot at most once)."""
        cdef Py_ssize_t slot
        heap_reserve(&self.heap, n)
        grow(<void**>&self.heap.position, self.n_slots, n, sizeof(int32_t))
        for slot in range(self.n_slots, n):
            self.heap.position[slot] = -1  # not in the heap
        self.n_slots = n
        return 0

    cdef bint has(self, int32_t slot) noexcept:
        return self.heap.position[slot] >= 0

    cdef double primary(self, int32_t slot) noexcept:
        return self.heap.at[self.heap.position[slot]].primary

    cdef int32_t top(self) noexcept:
        return <int32_t>self.heap.at[0].value

    cdef void set(self, int32_t slot, double primary, int64_t secondary) noexcept:
        """Add a slot, or give it a new key."""
        heap_set(&self.heap, HeapEntry(primary, secondary, slot))

    cdef void discard(self, int32_t slot) noexcept:
        heap_discard(&self.heap, slot)

    @property
    def size(self):
        return self.heap.size

    def ordered(self):
        """The slots from the minimum up."""
        cdef HeapEntry* at = self.heap.at
        entries = sorted((at[i].primary, at[i].secondary, at[i].value) for i in range(self.heap.size))
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
        __builtin_prefetch(&self.heap.heap.position[slot])

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
        return self.heap.heap.size

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
