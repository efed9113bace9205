from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t, uint64_t

from policies._kernels.queues cimport Links, Queue
from workloads.native.memory cimport __builtin_prefetch, PREFETCH_DISTANCE


cdef object enlarge(object array, Py_ssize_t n, object fill)

cdef extern from *:
    const int64_t INT64_MAX  # <stdint.h>'s


cdef class AdmissionKernel:
    cdef public object failure        # the first error a call that cannot raise met (None: none)

    cdef void fail(self, object error) noexcept
    cdef void record(self, uint64_t key) noexcept
    cdef bint admit(self, uint64_t key, int64_t size) noexcept


cdef class Kernel:
    cdef readonly int64_t capacity
    cdef readonly int32_t n_slots
    cdef uint64_t[::1] ids
    cdef int64_t[::1] size_of
    cdef int32_t[::1] evicted
    cdef Py_ssize_t n_evicted
    cdef public AdmissionKernel admission
    cdef object failure               # the first error a call that cannot raise met (None: none)
    cdef readonly bint sees_new_keys  # its lookup of a key without a slot changes its state: give it one

    cdef void fail(self, object error) noexcept
    cdef int check(self) except -1
    cdef int resize(self, int32_t n) except -1
    cdef int grow(self, Py_ssize_t n_slots) except -1
    cdef void report(self, int32_t slot) noexcept
    cdef void prefetch(self, int32_t slot) noexcept
    cdef bint lookup(self, int32_t slot) noexcept
    cdef void insert(self, int32_t slot, int64_t size) noexcept
    cdef bint remove(self, int32_t slot) noexcept
    cdef bint contains(self, int32_t slot) noexcept
    cdef bint holds(self, int32_t slot) noexcept
    cdef int64_t used(self) noexcept
    cdef Py_ssize_t count(self) noexcept
    cdef bint access(self, int32_t slot, uint64_t key, int64_t size) noexcept
    cdef void evict_to(self, int64_t units) noexcept
    cdef void advance(self, int64_t now) noexcept
    cdef int32_t upcoming_victim(self, int32_t ahead) noexcept


cdef class QueueKernel(Kernel):
    cdef int32_t[::1] pairs
    cdef int8_t[::1] where
    cdef Links links

    cdef list walk(self, Queue* queue)
    cdef void remember(self, Queue* ghosts, int64_t limit, int32_t slot, int8_t ghost) noexcept


cdef extern from "numpy/random/bitgen.h":
    ctypedef struct bitgen_t:
        void* state
        double (*next_double)(void* state) noexcept nogil


cdef class PythonRandom:
    cdef object generator
    cdef bitgen_t* bitgen

    cdef inline double random(self) noexcept:
        return self.bitgen.next_double(self.bitgen.state)


cdef inline bint failed(Kernel kernel) noexcept:
    """Whether the kernel or its admission filter met an error it could not raise (check() raises it)."""
    return kernel.failure is not None or (kernel.admission is not None and kernel.admission.failure is not None)
