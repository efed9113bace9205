from libc.stdint cimport int32_t, int64_t

from policies._kernels.kernel cimport Kernel
from policies._kernels.queues cimport Links, Queue


cdef class SegmentedLRU:
    cdef Kernel owner
    cdef int32_t[::1] pairs
    cdef int32_t[::1] segment
    cdef Links links
    cdef Queue* segs
    cdef int64_t[::1] seg_capacity
    cdef int n_seg
    cdef int64_t capacity
    cdef int64_t used

    cdef int resize(self, int32_t n) except -1
    cdef void relink(self, int32_t slot, int to) noexcept
    cdef bint hit(self, int32_t slot) noexcept
    cdef void cool(self, int seg) noexcept
    cdef int32_t victim(self) noexcept
    cdef void evict(self) noexcept
    cdef void evict_to(self, int64_t units) noexcept
    cdef void reshape(self, seg_capacities, int64_t capacity)
    cdef void put(self, int32_t slot, int64_t size) noexcept
    cdef bint remove(self, int32_t slot) noexcept
    cdef Py_ssize_t count(self) noexcept
    cdef list walk(self)
