"""int64 key -> dense id, in C: an open-addressing hash table (workloads/ids.py's engine).

Buckets are pairs of int64 words (key, id + 1; 0 marks an empty bucket),
found by linear probing from a SplitMix64 hash of the key; the table doubles
before it is half full.  One bucket is one cache line's quarter, so a lookup
costs about one memory access, and the ids index the policies' arrays
directly afterwards.
"""

import numpy as np

from libc.stdint cimport int32_t, int64_t, uint64_t


cdef extern from *:
    void __builtin_prefetch(const void* address) nogil  # GCC's and Clang's

cdef enum:
    PREFETCH_DISTANCE = 16  # requests


cdef inline uint64_t mix64(uint64_t x) noexcept:
    x += 0x9E3779B97F4A7C15ULL
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL
    return x ^ (x >> 31)


cdef class IdMap:
    """Dense ids 0, 1, 2, ... for int64 keys, in the order they are first seen."""

    cdef int64_t[::1] table     # 2 words per bucket: the key, its id + 1 (0: empty)
    cdef uint64_t mask          # buckets - 1 (a power of two)
    cdef Py_ssize_t count
    cdef int64_t[::1] originals  # id -> key; the first `count` are in use

    def __init__(self):
        self.table = np.zeros(2 * 1024, dtype=np.int64)
        self.mask = 1023
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
        cdef int64_t found
        cdef uint64_t bucket
        for i in range(n):
            # Most lookups miss every cache level: ask for the bucket of a key a few
            # requests ahead, so that several memory accesses are under way at once.
            if i + PREFETCH_DISTANCE < n:
                __builtin_prefetch(&self.table[2 * (mix64(<uint64_t>keys[i + PREFETCH_DISTANCE]) & self.mask)])
            found = self.find(keys[i], &bucket)
            out[i] = <int32_t>found if found >= 0 else self.add(keys[i], bucket)

    cdef inline int64_t find(self, int64_t key, uint64_t* bucket) noexcept:
        """The key's id; or -1, with *bucket the empty bucket where it belongs."""
        cdef uint64_t at = mix64(<uint64_t>key) & self.mask
        cdef int64_t* table = &self.table[0]
        while table[2 * at + 1]:
            if table[2 * at] == key:
                return table[2 * at + 1] - 1
            at = (at + 1) & self.mask
        bucket[0] = at
        return -1

    cdef int32_t add(self, int64_t key, uint64_t bucket) except -1:
        """Number a new key (it belongs in the empty `bucket`)."""
        if 2 * (self.count + 1) > <Py_ssize_t>self.mask:  # half full: double, and find its bucket anew
            self.rehash()
            self.find(key, &bucket)
        if self.count >= 2**31 - 1:
            raise OverflowError("more than 2**31 - 1 distinct keys")
        self.table[2 * bucket] = key
        self.table[2 * bucket + 1] = self.count + 1
        if self.count == self.originals.shape[0]:
            bigger = np.zeros(2 * self.count, dtype=np.int64)
            bigger[: self.count] = self.originals
            self.originals = bigger
        self.originals[self.count] = key
        self.count += 1
        return <int32_t>(self.count - 1)

    cdef int rehash(self) except -1:
        """Twice the buckets: every key moves to its bucket in the larger table."""
        cdef int64_t[::1] old = self.table
        cdef uint64_t bucket
        cdef Py_ssize_t i
        self.table = np.zeros(2 * old.shape[0], dtype=np.int64)
        self.mask = 2 * self.mask + 1
        for i in range(0, old.shape[0], 2):
            if old[i + 1]:
                bucket = mix64(<uint64_t>old[i]) & self.mask
                while self.table[2 * bucket + 1]:
                    bucket = (bucket + 1) & self.mask
                self.table[2 * bucket] = old[i]
                self.table[2 * bucket + 1] = old[i + 1]
        return 0
