"""W-TinyLFU (policies/wtinylfu.py) in C: an LRU window, a segmented-LRU main cache, a sketch.

The sketch is policies/sketch.py's CountingBloomFilter, libCacheSim's: the
probes of a key are XXH64 of its 8-byte id with two seeds, double-hashed
over the counters.  The ids are the keys' own (``Kernel.ids``), never the
slots, so the counters, and the duels, are the Python policy's.
"""

import numpy as np

from libc.stdint cimport int32_t, int64_t, uint32_t, uint64_t

from policies._kernels.kernel cimport INT64_MAX, QueueKernel
from policies._kernels.queues cimport clear, move_to_back, push_back, Queue, unlink
from policies._kernels.slru cimport SegmentedLRU
from workloads.native.memory cimport __builtin_prefetch

cdef enum:
    OUT, WINDOW  # where[slot]; the main cache keeps its own
    MAX_PROBES = 32

# XXH64's primes, and libCacheSim's two seeds (HASH_SEED0, HASH_SEED1).
cdef uint64_t P1 = 0x9E3779B185EBCA87ULL, P2 = 0xC2B2AE3D27D4EB4FULL, P3 = 0x165667B19E3779F9ULL
cdef uint64_t P4 = 0x85EBCA77C2B2AE63ULL, P5 = 0x27D4EB2F165667C5ULL
cdef uint64_t SEED0 = 0x12345678, SEED1 = 0x12344321


cdef inline uint64_t rotl(uint64_t x, int r) noexcept:
    return (x << r) | (x >> (64 - r))


cdef inline uint64_t xxh64_finish(uint64_t lane, uint64_t seed) noexcept:
    """XXH64 of one 8-byte input, from its round (`lane`) on: sketch.py's _xxh64_finish."""
    cdef uint64_t h = (seed + P5 + 8) ^ lane
    h = rotl(h, 27) * P1 + P4
    h ^= h >> 33
    h *= P2
    h ^= h >> 29
    h *= P3
    return h ^ (h >> 32)


cdef class WTinyLFUKernel(QueueKernel):
    cdef Queue window
    cdef SegmentedLRU main
    cdef int64_t max_size
    cdef int64_t[::1] counts  # the counting Bloom filter
    cdef uint32_t n_counters
    cdef int n_probes
    cdef int64_t main_hits, sample  # main hits since the last halving, and between two

    def __init__(self, int64_t capacity, int64_t window_capacity, int64_t main_capacity, main_segments,
                 int64_t max_size, int64_t n_counters, int n_probes, int64_t sample):
        QueueKernel.__init__(self, capacity)
        if n_probes > MAX_PROBES or n_counters >= 2**32:
            raise ValueError(f"a sketch of {n_counters} counters and {n_probes} probes is beyond this kernel")
        self.main = SegmentedLRU(self, main_segments, main_capacity)
        self.max_size = max_size
        self.counts = np.zeros(n_counters, dtype=np.int64)
        self.n_counters = <uint32_t>n_counters
        self.n_probes = n_probes
        self.main_hits = 0
        self.sample = sample
        clear(&self.window)

    cdef int resize(self, int32_t n) except -1:
        QueueKernel.resize(self, n)
        self.main.resize(n)
        return 0

    cdef void prefetch(self, int32_t slot) noexcept:
        QueueKernel.prefetch(self, slot)
        __builtin_prefetch(&self.main.segment[slot])

    # -- the sketch ------------------------------------------------------------------
    cdef void probes(self, int32_t slot, uint32_t* out) noexcept:
        """Probe i of a key: (a + i * b) mod 2**32 mod n, a and b the low halves of XXH64 with two seeds."""
        cdef uint64_t lane = rotl(self.ids[slot] * P2, 31) * P1
        cdef uint32_t a = <uint32_t>xxh64_finish(lane, SEED0), b = <uint32_t>xxh64_finish(lane, SEED1)
        cdef int i
        for i in range(self.n_probes):
            out[i] = a % self.n_counters
            a += b  # wraps at 2**32, as the Python's & 0xFFFFFFFF
        return

    cdef int64_t estimate(self, int32_t slot) noexcept:
        cdef uint32_t probe[MAX_PROBES]
        cdef int64_t smallest
        cdef int i
        self.probes(slot, probe)
        smallest = self.counts[probe[0]]
        for i in range(1, self.n_probes):
            smallest = min(smallest, self.counts[probe[i]])
        return smallest

    cdef void add(self, int32_t slot) noexcept:
        cdef uint32_t probe[MAX_PROBES]
        cdef int i
        self.probes(slot, probe)
        for i in range(self.n_probes):
            self.counts[probe[i]] += 1

    cdef void halve(self) noexcept:
        cdef Py_ssize_t i
        for i in range(self.counts.shape[0]):
            self.counts[i] >>= 1

    # -- requests ---------------------------------------------------------------------
    cdef bint lookup(self, int32_t slot) noexcept:
        if self.where[slot] == WINDOW:
            move_to_back(&self.links, &self.window, slot)
            return True
        if not self.main.hit(slot):  # a hit may cool main's segments, even out of the cache
            return False
        self.add(slot)
        self.main_hits += 1
        if self.main_hits >= self.sample:
            self.main_hits = 0
            self.halve()
        return True

    cdef void insert(self, int32_t slot, int64_t size) noexcept:
        self.remove(slot)
        if size > self.max_size:  # larger than the window (or than main's probation)
            return
        while self.window.used + self.main.used + size > self.capacity:
            self.evict_one()
        self.size_of[slot] = size
        self.where[slot] = WINDOW
        push_back(&self.links, &self.window, slot, size)
        self.add(slot)

    cdef void evict_one(self) noexcept:
        """Move window victims into main until one loses its duel and leaves the cache."""
        cdef int32_t candidate
        cdef int64_t size
        while self.window.count:
            candidate = self.window.head
            size = self.size_of[candidate]
            unlink(&self.links, &self.window, candidate, size)
            self.where[candidate] = OUT
            if self.main.used + size <= self.main.capacity:  # main has room: the candidate moves in
                self.main.put(candidate, size)
                self.add(candidate)
                continue
            if size > self.main.capacity:  # (only after a shrink) larger than all of main: it leaves
                self.report(candidate)
                self.add(candidate)
                return
            # A duel with main's victim: the higher estimate stays, ties go to the victim.
            if self.estimate(candidate) > self.estimate(self.main.victim()):
                self.main.evict()
                self.main.put(candidate, size)
            else:
                self.report(candidate)
            self.add(candidate)
            return
        self.main.evict()

    EVICTS_TO = True
    READS_IDS = True  # the sketch hashes a slot's id (probes)

    cdef void evict_to(self, int64_t units) noexcept:
        """Evict as an insert makes room (window candidates duel main's victim) to `units`."""
        while self.window.used + self.main.used > units:
            self.evict_one()

    def reshape(self, reference):
        """WTinyLFU.resize: main and its segments re-derived (over-full segments cool from the top), the
        largest object and the halving period too; the sketch keeps its width and counts; then evicted
        down to the capacity."""
        self.capacity = reference.capacity
        self.max_size = reference._max_size
        self.sample = min(reference._sample, INT64_MAX)
        self.main.reshape(reference._main.seg_capacity, reference.main_capacity)
        self.evict_to(self.capacity)

    cdef bint remove(self, int32_t slot) noexcept:
        if self.where[slot] == WINDOW:
            unlink(&self.links, &self.window, slot, self.size_of[slot])
            self.where[slot] = OUT
            return True
        return self.main.remove(slot)

    cdef bint contains(self, int32_t slot) noexcept:
        return self.where[slot] == WINDOW or self.main.segment[slot] >= 0

    cdef int64_t used(self) noexcept:
        return self.window.used + self.main.used

    cdef Py_ssize_t count(self) noexcept:
        return self.window.count + self.main.count()

    def order(self):
        """The window (LRU first), then main's segments from probation up."""
        return self.walk(&self.window) + self.main.walk()
