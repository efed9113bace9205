# An int64 -> int64 hash map in C, the one the compiled code uses: a node's key -> slot,
# the versions' key -> writes landed, a node's key -> fetch in flight, LFU-DA's priority ->
# bucket, the dense-id map's sparse keys.
#
# Open addressing with linear probing from the key's Fibonacci hash (hashing.pxd); a
# bucket is two words side by side (the key, its value + 1; 0 marks an empty bucket), so a
# probe reads one cache line.  The table doubles before it is half full.  Deletion shifts
# the entries after the hole back (Knuth's algorithm R), so no tombstones pile up: a map
# whose keys come and go (slots recycled, fetches done) stays as fast as a fresh one.
# Values are >= 0; -1 means "absent".  A Map starts zeroed (a struct member of a cdef
# class is) and becomes usable with map_init; map_free on a zeroed or freed Map is safe.

from libc.stdint cimport int64_t, uint64_t, uintptr_t
from libc.stdlib cimport free
from libc.string cimport memset

from workloads.native.hashing cimport fibonacci
from workloads.native.memory cimport __builtin_prefetch, grow_aligned

cdef enum:
    MAP_FIRST_BUCKETS = 64


cdef struct Map:
    int64_t* table   # 2 words per bucket: the key, its value + 1 (0: empty)
    uint64_t mask    # buckets - 1 (a power of two)
    int shift        # 64 - log2(buckets): a hash's top bits are its bucket
    Py_ssize_t count


cdef inline int map_init(Map* m, Py_ssize_t buckets=MAP_FIRST_BUCKETS) except -1:
    """Make a zeroed Map an empty map of `buckets` buckets (a power of two)."""
    cdef int64_t* table = <int64_t*>grow_aligned(NULL, 0, 2 * buckets, sizeof(int64_t))  # (2 MiB pages if large)
    m.table = table
    m.mask = buckets - 1
    m.shift = 64
    while (<uint64_t>1 << (64 - m.shift)) < <uint64_t>buckets:
        m.shift -= 1
    m.count = 0
    return 0


cdef inline void map_free(Map* m) noexcept:
    free(m.table)
    m.table = NULL
    m.mask = 0
    m.count = 0


cdef inline void map_clear(Map* m) noexcept:
    memset(m.table, 0, 2 * (m.mask + 1) * sizeof(int64_t))
    m.count = 0


cdef inline uint64_t map_home(const Map* m, int64_t key) noexcept nogil:
    return fibonacci(<uint64_t>key, m.shift)


cdef inline void map_prefetch(const Map* m, int64_t key) noexcept nogil:
    __builtin_prefetch(&m.table[2 * map_home(m, key)])


cdef inline void map_prefetch_deletion(const Map* m, int64_t key) noexcept nogil:
    """Ask for what deleting `key` reads: its bucket, and the next line too when the bucket ends a line
    (the backward shift reads on until an empty bucket, most often the next one, then on the next line;
    tables are line-aligned, four 16-byte buckets a line)."""
    cdef int64_t* bucket = &m.table[2 * map_home(m, key)]
    __builtin_prefetch(bucket)
    if (<uintptr_t>bucket & 63) == 48:  # the last of its line's four buckets
        __builtin_prefetch(bucket + 2)


cdef inline int64_t map_get(const Map* m, int64_t key) noexcept nogil:
    """The key's value, or -1."""
    cdef int64_t* table = m.table
    cdef uint64_t at = map_home(m, key)
    while table[2 * at + 1]:
        if table[2 * at] == key:
            return table[2 * at + 1] - 1
        at = (at + 1) & m.mask
    return -1


cdef inline void map_place(Map* m, int64_t key, int64_t stored) noexcept nogil:
    """Put a key known to be absent (its value + 1 in `stored`) in its first empty bucket; there is one."""
    cdef uint64_t at = map_home(m, key)
    while m.table[2 * at + 1]:
        at = (at + 1) & m.mask
    m.table[2 * at] = key
    m.table[2 * at + 1] = stored
    m.count += 1


cdef inline int map_grow(Map* m) except -1:
    """Twice the buckets, every entry rehashed; without the memory, the map stays as it was."""
    cdef Map bigger
    cdef Py_ssize_t i, buckets = m.mask + 1
    map_init(&bigger, 2 * buckets)
    for i in range(buckets):
        if m.table[2 * i + 1]:
            map_place(&bigger, m.table[2 * i], m.table[2 * i + 1])
    free(m.table)
    m[0] = bigger
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


cdef inline void map_delete(Map* m, int64_t key) noexcept nogil:
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


cdef inline bint map_entry(const Map* m, Py_ssize_t bucket, int64_t* key, int64_t* value) noexcept nogil:
    """Bucket `bucket` (0 .. mask): False if empty, else True with its key and value (to walk the map)."""
    if not m.table[2 * bucket + 1]:
        return False
    key[0] = m.table[2 * bucket]
    value[0] = m.table[2 * bucket + 1] - 1
    return True
