from libc.stdint cimport int32_t, int64_t, uint8_t

from policies._kernels.kernel cimport QueueKernel
from policies._kernels.queues cimport Queue

cdef enum:
    OUT, PROBATION, MAIN, GHOST  # where[slot]


cdef class ProbationKernel(QueueKernel):
    cdef Queue probation, main, ghost
    cdef int64_t ghost_capacity
    cdef uint8_t[::1] ghost_hit

    cdef bint miss(self, int32_t slot) noexcept
    cdef void to_ghost(self, int32_t slot) noexcept
    cdef void trim_ghost(self) noexcept
    cdef void place(self, int32_t slot, int64_t size, int to) noexcept
