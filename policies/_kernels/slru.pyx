"""SLRU (policies/slru.py) in C, and its segmented LRU, also W-TinyLFU's main cache.

libCacheSim's rules, as the Python SegmentedLRU: a hit climbs one segment, a
segment over its capacity cools its LRU object down one segment (out of the
cache from segment 0), a new object goes to the lowest segment with room.
"""

import numpy as np

from cpython.mem cimport PyMem_Free
from libc.stdint cimport int32_t, int64_t

from policies._kernels.kernel cimport enlarge, Kernel
from policies._kernels.queues cimport after, clear, move_to_back, NIL, push_back, unlink
from workloads.native.memory cimport __builtin_prefetch, grow


cdef class SegmentedLRU:
    """LRU segments over slots; sizes and eviction reports are the owner kernel's."""

    def __init__(self, Kernel owner, seg_capacities, int64_t capacity):
        self.owner = owner
        self.n_seg = len(seg_capacities)
        self.seg_capacity = np.array(seg_capacities, dtype=np.int64)
        self.capacity = capacity
        self.used = 0
        self.pairs = np.zeros(0, dtype=np.int32)
        self.segment = np.zeros(0, dtype=np.int32)
        grow(<void**>&self.segs, 0, self.n_seg, sizeof(Queue))  # the one way to allocate (memory.pxd)
        for seg in range(self.n_seg):
            clear(&self.segs[seg])

    def __dealloc__(self):
        PyMem_Free(self.segs)

    cdef int resize(self, int32_t n) except -1:
        self.pairs = enlarge(self.pairs, 2 * n, NIL)
        self.segment = enlarge(self.segment, n, -1)  # -1: not in this cache
        self.links.pairs = &self.pairs[0]
        return 0

    cdef void relink(self, int32_t slot, int to) noexcept:
        """Move a slot from its segment to the MRU end of segment `to`."""
        cdef int64_t size = self.owner.size_of[slot]
        unlink(&self.links, &self.segs[self.segment[slot]], slot, size)
        push_back(&self.links, &self.segs[to], slot, size)
        self.segment[slot] = to

    cdef bint hit(self, int32_t slot) noexcept:
        """Promote a cached slot one segment (cooling the one it enters); False if not cached."""
        cdef int seg = self.segment[slot]
        if seg < 0:
            return False
        if seg == self.n_seg - 1:
            move_to_back(&self.links, &self.segs[seg], slot)
            return True
        self.relink(slot, seg + 1)
        while self.segs[seg + 1].used > self.seg_capacity[seg + 1]:
            self.cool(seg + 1)
        return True

    cdef void cool(self, int seg) noexcept:
        """Move segment `seg`'s LRU object down a segment (out of the cache from 0)."""
        if seg == 0:
            self.evict()
            return
        self.relink(self.segs[seg].head, seg - 1)
        while self.segs[seg - 1].used > self.seg_capacity[seg - 1]:
            self.cool(seg - 1)

    cdef int32_t victim(self) noexcept:
        """The slot the next eviction takes: the LRU of the lowest non-empty segment."""
        cdef int seg
        for seg in range(self.n_seg):
            if self.segs[seg].count:
                return self.segs[seg].head
        return NIL

    cdef void evict(self) noexcept:
        cdef int32_t slot
        cdef int seg
        for seg in range(self.n_seg):
            if self.segs[seg].used > 0:
                slot = self.segs[seg].head
                self.remove(slot)
                self.owner.report(slot)
                return

    cdef void evict_to(self, int64_t units) noexcept:
        """Evict (the LRU of the lowest non-empty segment) until at most `units` are cached."""
        while self.used > units:
            self.evict()

    cdef void reshape(self, seg_capacities, int64_t capacity):
        """SegmentedLRU.resize: new segment capacities and limit; each segment over its new capacity
        cools from the top down, then the cache evicts to the limit."""
        cdef int seg
        self.seg_capacity = np.array(seg_capacities, dtype=np.int64)
        self.capacity = capacity
        for seg in reversed(range(self.n_seg)):
            while self.segs[seg].used > self.seg_capacity[seg]:
                self.cool(seg)
        self.evict_to(capacity)

    cdef void put(self, int32_t slot, int64_t size) noexcept:
        """A new slot goes to the lowest segment with room; else room is made in segment 0."""
        cdef int seg
        for seg in range(self.n_seg):
            if self.segs[seg].used + size <= self.seg_capacity[seg]:
                break
        else:
            seg = 0
            while self.used + size > self.capacity:
                self.evict()
        self.owner.size_of[slot] = size
        self.segment[slot] = seg
        push_back(&self.links, &self.segs[seg], slot, size)
        self.used += size

    cdef bint remove(self, int32_t slot) noexcept:
        cdef int seg = self.segment[slot]
        if seg < 0:
            return False
        unlink(&self.links, &self.segs[seg], slot, self.owner.size_of[slot])
        self.segment[slot] = -1
        self.used -= self.owner.size_of[slot]
        return True

    cdef Py_ssize_t count(self) noexcept:
        cdef Py_ssize_t total = 0
        cdef int seg
        for seg in range(self.n_seg):
            total += self.segs[seg].count
        return total

    cdef list walk(self):
        """Segment 0 (LRU first) up to the top segment."""
        cdef list slots = []
        cdef int32_t slot
        cdef int seg
        for seg in range(self.n_seg):
            slot = self.segs[seg].head
            while slot != NIL:
                slots.append(slot)
                slot = after(&self.links, slot)
        return slots


cdef class SLRUKernel(Kernel):
    cdef SegmentedLRU slru
    cdef int64_t max_size

    def __init__(self, int64_t capacity, seg_capacities):
        Kernel.__init__(self, capacity)
        # The cache, not the sum of the rounded segments, is the limit (as the Python SLRU).
        self.slru = SegmentedLRU(self, seg_capacities, capacity)
        self.max_size = min(capacity, seg_capacities[0])

    cdef int resize(self, int32_t n) except -1:
        Kernel.resize(self, n)
        self.slru.resize(n)
        return 0

    cdef void prefetch(self, int32_t slot) noexcept:
        __builtin_prefetch(&self.slru.segment[slot])
        __builtin_prefetch(&self.slru.pairs[2 * slot])

    cdef bint lookup(self, int32_t slot) noexcept:
        return self.slru.hit(slot)

    cdef void insert(self, int32_t slot, int64_t size) noexcept:
        self.slru.remove(slot)
        if size > self.max_size:
            return
        while self.slru.used + size > self.capacity:
            self.slru.evict()
        self.slru.put(slot, size)

    EVICTS_TO = True

    cdef void evict_to(self, int64_t units) noexcept:
        self.slru.evict_to(units)

    def reshape(self, reference):
        """SLRU.resize: the segments re-derived; over-full ones cool from the top, then evict to the capacity."""
        seg_capacities = reference._slru.seg_capacity
        self.capacity = reference.capacity
        self.max_size = min(self.capacity, seg_capacities[0])
        self.slru.reshape(seg_capacities, self.capacity)

    cdef bint remove(self, int32_t slot) noexcept:
        return self.slru.remove(slot)

    cdef bint contains(self, int32_t slot) noexcept:
        return self.slru.segment[slot] >= 0

    cdef int64_t used(self) noexcept:
        return self.slru.used

    cdef Py_ssize_t count(self) noexcept:
        return self.slru.count()

    def order(self):
        return self.slru.walk()
