from libc.stdint cimport int32_t, int64_t

from policies._kernels.kernel cimport Kernel


cdef struct Entry:
    double primary
    int64_t secondary
    int32_t slot


cdef class IndexedHeap:
    cdef Entry* entries
    cdef Py_ssize_t size
    cdef int32_t[::1] position

    cdef int resize(self, int32_t n) except -1
    cdef bint has(self, int32_t slot) noexcept
    cdef double primary(self, int32_t slot) noexcept
    cdef int32_t top(self) noexcept
    cdef void place(self, Py_ssize_t i, Entry entry) noexcept
    cdef void sift_up(self, Py_ssize_t i) noexcept
    cdef void sift_down(self, Py_ssize_t i) noexcept
    cdef void set(self, int32_t slot, double primary, int64_t secondary) noexcept
    cdef void discard(self, int32_t slot) noexcept


cdef class HeapKernel(Kernel):
    cdef IndexedHeap heap
    cdef int64_t used_units_

    cdef void cache(self, int32_t slot, int64_t size, double primary, int64_t secondary) noexcept
    cdef void evict_top(self) noexcept


cdef class CountingHeapKernel(HeapKernel):
    cdef int64_t[::1] freq
