# An int64 -> int64 hash map in C: a node's key -> slot, the versions' key -> writes landed,
# a node's key -> fetch in flight.
#
# Open addressing with linear probing from the key's Fibonacci hash (its top bits after a
# multiplication by 2**64 / golden ratio), as workloads/_idmap.pyx; a bucket is two words
# side by side (the key, its value + 1; 0 marks an empty bucket), so a probe reads one cache
# line.  The table doubles before it is half full.  Deletion shifts the entries after the hole
# back (Knuth's algorithm R), so no tombstones pile up: a map whose keys come and go (slots
# recycled, fetches done) stays as fast as a fresh one.  Values are >= 0; -1 means "absent".
# Everything is inline: the request loop's hottest lookups compile into it.

from libc.stdint cimport int64_t, uint64_t
from libc.stdlib cimport calloc, free
from libc.string cimport memset

cdef extern from *:
    void __builtin_prefetch(const void* address) noexcept nogil  # GCC's and Clang's: a hint, no effect on results

cdef enum:
    MAP_FIRST_BUCKETS = 64


cdef struct Map:
    int64_t* table   # 2 words per bucket: the key, its value + 1 (0: empty)
    uint64_t mask    # buckets - 1 (a power of two)
    int shift        # 64 - log2(buckets): a hash's top bits are its bucket
    Py_ssize_t count


cdef inline int map_init(Map* m, Py_ssize_t buckets=MAP_FIRST_BUCKETS) except -1:
    """An empty map of `buckets` buckets (a power of two)."""
    m.table = <int64_t*>calloc(2 * buckets, sizeof(int64_t))
    if m.table == NULL:
        raise MemoryError()
    m.mask = buckets - 1
    m.shift = 64
    while (<uint64_t>1 << (64 - m.shift)) < <uint64_t>buckets:
        m.shift -= 1
    m.count = 0
    return 0


cdef inline void map_free(Map* m) noexcept:
    free(m.table)
    m.table = NULL


cdef inline void map_clear(Map* m) noexcept:
    memset(m.table, 0, 2 * (m.mask + 1) * sizeof(int64_t))
    m.count = 0


cdef inline uint64_t map_home(const Map* m, int64_t key) noexcept nogil:
    return (<uint64_t>key * 0x9E3779B97F4A7C15ULL) >> m.shift


cdef inline void map_prefetch(const Map* m, int64_t key) noexcept nogil:
    __builtin_prefetch(&m.table[2 * map_home(m, key)])


cdef inline int64_t map_get(const Map* m, int64_t key) noexcept nogil:
    """The key's value, or -1."""
    cdef int64_t* table = m.table
    cdef uint64_t at = map_home(m, key)
    while table[2 * at + 1]:
        if table[2 * at] == key:
            return table[2 * at + 1] - 1
        at = (at + 1) & m.mask
    return -1


cdef inline int map_grow(Map* m) except -1:
    """Twice the buckets, every entry rehashed."""
    cdef int64_t* old = m.table
    cdef Py_ssize_t i, buckets = m.mask + 1
    cdef uint64_t at
    map_init(m, 2 * buckets)
    for i in range(buckets):
        if old[2 * i + 1]:
            at = map_home(m, old[2 * i])
            while m.table[2 * at + 1]:
                at = (at + 1) & m.mask
            m.table[2 * at] = old[2 * i]
            m.table[2 * at + 1] = old[2 * i + 1]
            m.count += 1
    free(old)
    return 0


cdef inline int map_set(Map* m, int64_t key, int64_t value) except -1:
    """Give `key` the value `value` (>= 0), adding the key if it is new."""
    cdef uint64_t at
    if 2 * (m.count + 1) > <Py_ssize_t>m.mask:
        map_grow(m)
    at = map_home(m, key)
    while m.table[2 * at + 1]:
        if m.table[2 * at] == key:
            m.table[2 * at + 1] = value + 1
            return 0
        at = (at + 1) & m.mask
    m.table[2 * at] = key
    m.table[2 * at + 1] = value + 1
    m.count += 1
    return 0


cdef inline void map_delete(Map* m, int64_t key) noexcept:
    """Remove `key` if it is there; the entries after it move back over the hole."""
    cdef int64_t* table = m.table
    cdef uint64_t hole = map_home(m, key), at, home
    while table[2 * hole + 1] and table[2 * hole] != key:
        hole = (hole + 1) & m.mask
    if not table[2 * hole + 1]:
        return
    at = (hole + 1) & m.mask
    while table[2 * at + 1]:
        home = map_home(m, table[2 * at])
        # The entry at `at` may fill the hole when the hole lies on its probe path from home.
        if ((at - home) & m.mask) >= ((at - hole) & m.mask):
            table[2 * hole] = table[2 * at]
            table[2 * hole + 1] = table[2 * at + 1]
            hole = at
        at = (at + 1) & m.mask
    table[2 * hole] = 0
    table[2 * hole + 1] = 0
    m.count -= 1
