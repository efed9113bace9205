from libc.stdint cimport int32_t, int64_t

from policies._kernels.kernel cimport Kernel


cdef class IndexedHeap:
    cdef int32_t[::1] heap
    cdef int32_t[::1] position
    cdef double[::1] primary
    cdef int64_t[::1] secondary
    cdef Py_ssize_t size

    cdef int resize(self, int32_t n) except -1
    cdef bint before(self, int32_t a, int32_t b) noexcept
    cdef void place(self, Py_ssize_t i, int32_t slot) noexcept
    cdef void sift_up(self, Py_ssize_t i) noexcept
    cdef void sift_down(self, Py_ssize_t i) noexcept
    cdef void set(self, int32_t slot, double primary, int64_t secondary) noexcept
    cdef void discard(self, int32_t slot) noexcept


cdef class HeapKernel(Kernel):
    cdef IndexedHeap heap
    cdef int64_t used_units_

    cdef void cache(self, int32_t slot, int64_t size, double primary, int64_t secondary) noexcept
    cdef void evict_top(self) noexcept
