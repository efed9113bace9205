from libc.stdint cimport int32_t, int64_t

from policies._kernels.kernel cimport QueueKernel
from policies._kernels.queues cimport Queue

cdef enum:
    OUT, CACHED  # where[slot] of the kernels made of one queue


cdef class FIFOKernel(QueueKernel):
    cdef Queue queue

    cdef void admit(self, int32_t slot, int64_t size) noexcept
    cdef void evict(self, int32_t slot) noexcept
