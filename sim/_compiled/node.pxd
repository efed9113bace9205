cimport cython
from libc.stdint cimport int32_t, int64_t

from policies._kernels.kernel cimport Kernel
from policies._kernels.slots cimport SlotMap
from workloads.native.hashmap cimport Map

cdef enum:
    MISS = -1     # Node.lookup: not cached
    EXPIRED = -2  # Node.lookup: cached, but its TTL had run out (dropped: a miss)


# What a node keeps of a cached value beside its kernel, in one record per slot: a request reads
# it all, and 32 bytes take one cache line where four arrays took four.
cdef struct Entry:
    double expires_at   # expiry time; INFINITY: none (with TTLs)
    double ttl          # its TTL, restarted by a hit (refresh_on_hit)
    int64_t writes      # the cached value's version: writes landed (with versions),
    int64_t bulk        # and bulk updates of its class


@cython.final  # no subclass: its methods are called directly, and the compiler may inline them
cdef class Node:
    cdef Kernel kernel
    cdef SlotMap slots        # key -> slot (policies/_kernels/slots.pyx)
    cdef Map* map             # &slots.map, read by every request without a detour through `slots`
    cdef readonly bint up     # (readable from Python: the driver counts the members up)
    cdef bint count_bytes     # capacity in bytes: a value counts its size, else 1
    cdef bint refresh_on_hit
    cdef bint ttls            # entries may expire (their expires_at, ttl are kept)
    cdef bint stamps          # versions are tracked (their writes, bulk are kept)
    cdef Entry* entries       # slot -> its expiry, TTL and stamp (kept with TTLs or versions)
    cdef Py_ssize_t room      # slots `entries` covers
    cdef readonly double max_ttl  # a gutter node keeps no entry longer (0: no limit)
    cdef bint hit_moves_links # a hit relinks its slot's neighbours (HIT_MOVES_LINKS: LRU's): prefetch_links
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
    cdef void prefetch_entry(self, int64_t key) noexcept
    cdef void prefetch_links(self, int64_t key) noexcept
    cdef void prefetch_victims(self) noexcept
    cdef void drop_slot(self, int32_t slot) noexcept
