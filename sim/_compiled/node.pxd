from libc.stdint cimport int32_t, int64_t, uint8_t

from policies._kernels.kernel cimport Kernel
from sim._compiled.hashmap cimport Map

cdef enum:
    MISS = -1     # Node.lookup: not cached
    EXPIRED = -2  # Node.lookup: cached, but its TTL had run out (dropped: a miss)


cdef class Node:
    cdef Kernel kernel
    cdef Map slots            # key -> slot
    cdef bint up
    cdef bint count_bytes     # capacity in bytes: a value counts its size, else 1
    cdef bint refresh_on_hit
    cdef bint ttls            # entries may expire (expires_at, ttl_of are kept)
    cdef bint stamps          # versions are tracked (stamp_writes, stamp_bulk are kept)
    cdef int64_t* key_of      # slot -> key (where mapped)
    cdef uint8_t* mapped      # slot -> 1 if a key has it
    cdef double* expires_at   # slot -> expiry time; INFINITY: none
    cdef double* ttl_of       # slot -> its TTL, restarted by a hit (refresh_on_hit)
    cdef int64_t* stamp_writes  # slot -> version of the cached value: writes landed,
    cdef int64_t* stamp_bulk    # and bulk updates of its class
    cdef int32_t* free_slots
    cdef Py_ssize_t n_free, next_slot, room, sweep_at

    cdef int32_t slot_of(self, int64_t key) noexcept
    cdef int32_t new_slot(self, int64_t key) except -1
    cdef int grow(self, Py_ssize_t room) except -1
    cdef void sweep(self) noexcept
    cdef void release(self, int32_t slot) noexcept
    cdef void forget(self, int32_t slot) noexcept
    cdef void evicted(self) noexcept
    cdef int32_t lookup(self, int64_t key, double now) noexcept
    cdef int fill(self, int64_t key, int64_t size, double now, double ttl, int64_t writes, int64_t bulk) except -1
    cdef bint remove(self, int64_t key) noexcept
    cdef bint contains(self, int64_t key) noexcept
    cdef double expiry(self, int64_t key) noexcept
    cdef void prefetch(self, int64_t key) noexcept
