"""int64 key -> dense id, in C (workloads/ids.py's engine).

Two tables, one answer:

* keys that are small non-negative integers, as in traces whose ids are
  dense already (kvsim's own Zipf traces: a permutation of 0 .. N-1; block
  numbers), index a direct table of ids: one memory access, no hashing;
* any other key is in a hash map (workloads/native/hashmap.pxd, the one the
  compiled code shares: open addressing from the key's Fibonacci hash).

The direct table covers [0, 2**k) and widens while the keys stay dense
(a key below 8 x the keys seen + 2**20): its memory is then at most 32 bytes
per key seen, plus 4 MiB; keys hashed meanwhile that fall in the widened
range move over.  Lookups mostly miss every cache level, so the loop asks
for the memory of a key 16 requests ahead while it serves the current one.
"""

import numpy as np

from libc.stdint cimport int32_t, int64_t

from workloads.native.hashmap cimport Map, map_entry, map_free, map_get, map_init, map_prefetch, map_set
from workloads.native.memory cimport __builtin_prefetch, PREFETCH_DISTANCE

cdef enum:
    DIRECT_FLOOR = 1 << 20  # the direct table may always cover this many keys (4 MiB)
    DIRECT_SLACK = 8        # ... and this many per key seen


cdef class IdMap:
    """Dense ids 0, 1, 2, ... for int64 keys, in the order they are first seen."""

    cdef int32_t[::1] direct     # key -> id for keys in [0, len(direct)); -1: not seen yet
    cdef Py_ssize_t direct_size
    cdef Map hashed              # any other key -> its id
    cdef Py_ssize_t count
    cdef int64_t[::1] originals  # id -> key; the first `count` are in use

    def __init__(self):
        self.direct = np.zeros(0, dtype=np.int32)
        self.direct_size = 0
        map_init(&self.hashed, 1024)
        self.count = 0
        self.originals = np.zeros(1024, dtype=np.int64)

    def __dealloc__(self):
        map_free(&self.hashed)

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
            map_prefetch(&self.hashed, key)

    cdef int32_t id_of(self, int64_t key) except -1:
        cdef int64_t found
        if key >= self.direct_size and 0 <= key < DIRECT_SLACK * (self.count + 1) + DIRECT_FLOOR:
            self.widen(key)
        if 0 <= key < self.direct_size:
            if self.direct[key] < 0:
                self.direct[key] = self.number(key)
            return self.direct[key]
        found = map_get(&self.hashed, key)
        if found >= 0:
            return <int32_t>found
        found = self.number(key)
        map_set(&self.hashed, key, found)
        return <int32_t>found

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

    cdef int widen(self, int64_t key) except -1:
        """Widen the direct table to cover `key`; hashed keys now in range move over."""
        cdef Py_ssize_t size = max(DIRECT_FLOOR, 2 * self.direct_size)
        cdef Py_ssize_t bucket
        cdef int64_t hashed_key, id_
        cdef Map rest
        while size <= key:
            size *= 2
        self.direct = np.concatenate([self.direct, np.full(size - self.direct_size, -1, dtype=np.int32)])
        self.direct_size = size
        if not self.hashed.count:
            return 0
        map_init(&rest, self.hashed.mask + 1)  # the keys the direct table does not cover
        try:
            for bucket in range(<Py_ssize_t>self.hashed.mask + 1):
                if map_entry(&self.hashed, bucket, &hashed_key, &id_):
                    if 0 <= hashed_key < size:
                        self.direct[hashed_key] = <int32_t>id_
                    else:
                        map_set(&rest, hashed_key, id_)
        except MemoryError:
            map_free(&rest)  # the hashed keys are all still in the old map
            raise
        map_free(&self.hashed)
        self.hashed = rest
        return 0
