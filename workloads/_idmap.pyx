"""int64 key -> dense id, in C (workloads/ids.py's engine).

Two tables, one answer:

* keys that are small non-negative integers, as in traces whose ids are
  dense already (kvsim's own Zipf traces: a permutation of 0 .. N-1; block
  numbers), index a direct table of ids: one memory access, no hashing;
* any other key is hashed: open addressing, buckets of two int64 words
  (key, id + 1; 0 marks an empty bucket), linear probing from the key's
  Fibonacci hash (its top bits after a multiplication by 2**64 / golden
  ratio), the table doubled before it is half full.

The direct table covers [0, 2**k) and widens while the keys stay dense
(a key below 8 x the keys seen + 2**20): its memory is then at most 32 bytes
per key seen, plus 4 MiB; keys hashed meanwhile that fall in the widened
range move over.  Lookups mostly miss every cache level, so the loop asks
for the memory of a key 16 requests ahead while it serves the current one.
"""

import numpy as np

from libc.stdint cimport int32_t, int64_t, uint64_t


cdef extern from *:
    void __builtin_prefetch(const void* address) nogil  # GCC's and Clang's: a hint, no effect on results

cdef enum:
    PREFETCH_DISTANCE = 16  # requests
    DIRECT_FLOOR = 1 << 20  # the direct table may always cover this many keys (4 MiB)
    DIRECT_SLACK = 8        # ... and this many per key seen


cdef class IdMap:
    """Dense ids 0, 1, 2, ... for int64 keys, in the order they are first seen."""

    cdef int32_t[::1] direct     # key -> id for keys in [0, len(direct)); -1: not seen yet
    cdef Py_ssize_t direct_size
    cdef int64_t[::1] table      # 2 words per bucket: the key, its id + 1 (0: empty)
    cdef uint64_t mask           # buckets - 1 (a power of two)
    cdef int shift               # 64 - log2(buckets): a hash's top bits are its bucket
    cdef Py_ssize_t hashed       # keys in the hash table
    cdef Py_ssize_t count
    cdef int64_t[::1] originals  # id -> key; the first `count` are in use

    def __init__(self):
        self.direct = np.zeros(0, dtype=np.int32)
        self.direct_size = 0
        self.table = np.zeros(2 * 1024, dtype=np.int64)
        self.mask = 1023
        self.shift = 64 - 10
        self.hashed = 0
        self.count = 0
        self.originals = np.zeros(1024, dtype=np.int64)

    def __len__(self):
        return self.count

    def keys(self):
        """The keys, by id."""
        return np.asarray(self.originals)[: self.count].copy()

    def ids(self, const int64_t[::1] keys, int32_t[::1] out):
        """out[i] = the id of keys[i], new keys numbered on."""
        cdef Py_ssize_t i, n = keys.shape[0]
        for i in range(n):
            if i + PREFETCH_DISTANCE < n:
                self.prefetch(keys[i + PREFETCH_DISTANCE])
            out[i] = self.id_of(keys[i])

    cdef inline void prefetch(self, int64_t key) noexcept:
        if 0 <= key < self.direct_size:
            __builtin_prefetch(&self.direct[key])
        else:
            __builtin_prefetch(&self.table[2 * self.home(key)])

    cdef int32_t id_of(self, int64_t key) except -1:
        cdef int64_t found
        cdef uint64_t bucket
        if key >= self.direct_size and 0 <= key < DIRECT_SLACK * (self.count + 1) + DIRECT_FLOOR:
            self.widen(key)
        if 0 <= key < self.direct_size:
            if self.direct[key] < 0:
                self.direct[key] = self.number(key)
            return self.direct[key]
        found = self.find(key, &bucket)
        if found >= 0:
            return <int32_t>found
        if 2 * (self.hashed + 1) > <Py_ssize_t>self.mask:  # half full: double, and find its bucket anew
            self.rehash(2 * (self.mask + 1))
            self.find(key, &bucket)
        self.table[2 * bucket] = key
        self.table[2 * bucket + 1] = self.count + 1
        self.hashed += 1
        return self.number(key)

    cdef int32_t number(self, int64_t key) except -1:
        """The next id, for a key never seen."""
        if self.count >= 2**31 - 1:
            raise OverflowError("more than 2**31 - 1 distinct keys")
        if self.count == self.originals.shape[0]:
            bigger = np.zeros(2 * self.count, dtype=np.int64)
            bigger[: self.count] = self.originals
            self.originals = bigger
        self.originals[self.count] = key
        self.count += 1
        return <int32_t>(self.count - 1)

    cdef inline uint64_t home(self, int64_t key) noexcept:
        """The key's first bucket: Fibonacci hashing."""
        return (<uint64_t>key * 0x9E3779B97F4A7C15ULL) >> self.shift

    cdef inline int64_t find(self, int64_t key, uint64_t* bucket) noexcept:
        """The key's id in the hash table; or -1, with *bucket the empty bucket where it belongs."""
        cdef uint64_t at = self.home(key)
        cdef int64_t* table = &self.table[0]
        while table[2 * at + 1]:
            if table[2 * at] == key:
                return table[2 * at + 1] - 1
            at = (at + 1) & self.mask
        bucket[0] = at
        return -1

    cdef int widen(self, int64_t key) except -1:
        """Widen the direct table to cover `key`; hashed keys now in range move over."""
        cdef Py_ssize_t size = max(DIRECT_FLOOR, 2 * self.direct_size)
        while size <= key:
            size *= 2
        self.direct = np.concatenate([self.direct, np.full(size - self.direct_size, -1, dtype=np.int32)])
        self.direct_size = size
        if self.hashed:
            self.rehash(self.mask + 1)
        return 0

    cdef int rehash(self, Py_ssize_t buckets) except -1:
        """A fresh hash table of `buckets` buckets; keys the direct table now covers go there instead."""
        cdef int64_t[::1] old = self.table
        cdef uint64_t bucket
        cdef int64_t key
        cdef Py_ssize_t i
        self.table = np.zeros(2 * buckets, dtype=np.int64)
        self.mask = buckets - 1
        self.shift = 64
        while (<uint64_t>1 << (64 - self.shift)) < <uint64_t>buckets:
            self.shift -= 1
        self.hashed = 0
        for i in range(0, old.shape[0], 2):
            if old[i + 1]:
                key = old[i]
                if 0 <= key < self.direct_size:
                    self.direct[key] = <int32_t>(old[i + 1] - 1)
                    continue
                self.find(key, &bucket)
                self.table[2 * bucket] = key
                self.table[2 * bucket + 1] = old[i + 1]
                self.hashed += 1
        return 0
