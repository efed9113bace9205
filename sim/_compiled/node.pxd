cimport cython
from libc.stdint cimport int32_t, int64_t

from policies._kernels.kernel cimport Kernel
from policies._kernels.slots cimport SlotMap
from workloads.native.hashmap cimport Map

cdef enum:
    MISS = -1     # Node.lookup: not cached
    EXPIRED = -2  # Node.lookup: cached, but its TTL had run out (dropped: a miss)


@cython.final  # no subclass: its methods are called directly, and the compiler may inline them
cdef class Node:
    cdef Kernel kernel
    cdef SlotMap slots        # key -> slot (policies/_kernels/slots.pyx)
    cdef Map* map             # &slots.map, read by every request without a detour through `slots`
    cdef readonly bint up     # (readable from Python: the driver counts the members up)
    cdef bint count_bytes     # capacity in bytes: a value counts its size, else 1
    cdef bint refresh_on_hit
    cdef bint ttls            # entries may expire (expires_at, ttl_of are kept)
    cdef bint stamps          # versions are tracked (stamp_writes, stamp_bulk are kept)
    cdef double* expires_at   # slot -> expiry time; INFINITY: none
    cdef double* ttl_of       # slot -> its TTL, restarted by a hit (refresh_on_hit)
    cdef int64_t* stamp_writes  # slot -> version of the cached value: writes landed,
    cdef int64_t* stamp_bulk    # and bulk updates of its class
    cdef Py_ssize_t room      # slots the arrays above cover
    cdef readonly double max_ttl  # a gutter node keeps no entry longer (0: no limit)
    cdef bint batches         # batch eviction: past the high mark (a fraction of the capacity), down to the low
    cdef double high_mark, low_mark
    cdef int64_t burst        # entries the batch evictions since the last store took (Model._stored charges them)
    cdef bint timed           # the kernel reads the clock (Kernel.READS_CLOCK): told `now`, hears every read

    cdef int32_t new_slot(self, int64_t key) except -1
    cdef void forget(self, int32_t slot) noexcept
    cdef void evicted(self) noexcept
    cdef int evict_batch(self) except -1
    cdef int32_t lookup(self, int64_t key, double now) noexcept
    cdef int32_t insert(self, int64_t key, int64_t size) except -2
    cdef int fill(self, int64_t key, int64_t size, double now, double ttl, int64_t writes, int64_t bulk) except -1
    cdef int fill_copy(self, Node owner, int64_t key, int64_t size) except -1
    cdef bint live(self, int64_t key, double now) noexcept
    cdef bint remove(self, int64_t key) noexcept
    cdef bint contains(self, int64_t key) noexcept
    cdef double expiry(self, int64_t key) noexcept
    cdef void prefetch(self, int64_t key) noexcept
