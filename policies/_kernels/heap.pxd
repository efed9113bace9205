from libc.stdint cimport int32_t, int64_t

from policies._kernels.kernel cimport Kernel
from workloads.native.heap cimport Heap


cdef class IndexedHeap:
    cdef Heap heap        # entries (primary, secondary, slot), indexed: heap.position[slot]
    cdef Py_ssize_t n_slots

    cdef int resize(self, int32_t n) except -1
    cdef bint has(self, int32_t slot) noexcept
    cdef double primary(self, int32_t slot) noexcept
    cdef int32_t top(self) noexcept
    cdef void set(self, int32_t slot, double primary, int64_t secondary) noexcept
    cdef void discard(self, int32_t slot) noexcept


cdef class HeapKernel(Kernel):
    cdef IndexedHeap heap
    cdef int64_t used_units_

    cdef void cache(self, int32_t slot, int64_t size, double primary, int64_t secondary) noexcept
    cdef void evict_top(self) noexcept


cdef class CountingHeapKernel(HeapKernel):
    cdef int64_t[::1] freq
