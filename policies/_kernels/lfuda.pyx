"""LFU-DA (policies/lfuda.py) in C: buckets of slots by priority, and the age L.

Both agings of the Python policy.  The paper's keys a slot by its reference
count plus the age, evicts the smallest priority (the `every` heap below) and
sets the age to it; its priorities never exceed the requests served.
libCacheSim's adds the age to a hit slot's priority, which can pass 2**63 - 1:
the kernel then refuses the hit, as the Python policy does, and records the
error for its caller (``Kernel.fail``), since a lookup cannot raise.

The Python policy's structures, one for one: a bucket (a FIFO of slots) per
priority in use, found through a hash map; a lazy min-heap of priorities
(the Python ``_heap``) from which the age moves up to the next priority; and
the true smallest priority when the bucket at the age is missing.  The age
is *not* always the smallest priority (a hit that empties the age's bucket
moves the age past the hit object's own new priority), and an eviction takes
the bucket at the age when there is one: so the minimum of a heap of slots
would not do.
"""

import numpy as np

from policies.base import PolicyError

from cpython.mem cimport PyMem_Free
from libc.stdint cimport int32_t, int64_t

from policies._kernels.kernel cimport enlarge, INT64_MAX, QueueKernel
from policies._kernels.queues cimport clear, push_back, Queue, unlink
from workloads.native.hashmap cimport Map, map_delete, map_entry, map_free, map_get, map_init, map_set
from workloads.native.heap cimport Heap, HeapEntry, heap_free, heap_pop, heap_push, sift_up
from workloads.native.memory cimport __builtin_prefetch, grow

cdef enum:
    OUT, CACHED  # where[slot]
    ABSENT = -1  # map_get: no bucket


# The Python policy's _heap (lazy, as its heapq use: stale priorities are skipped by the
# caller) is the one heap of workloads/native with the priority as the secondary key.

cdef inline int64_t lowest(const Heap* h) noexcept:
    """The smallest priority in a lazy heap of priorities (it is not empty)."""
    return h.at[0].secondary


cdef inline int push_priority(Heap* h, int64_t priority) except -1:
    return heap_push(h, HeapEntry(0.0, priority, 0))


cdef void keep_live(Heap* h, const Map* live) noexcept:
    """Drop the priorities that have no bucket now (the caller would skip them anyway)."""
    cdef Py_ssize_t i, kept = 0
    for i in range(h.size):
        if map_get(live, h.at[i].secondary) != ABSENT:
            h.at[kept] = h.at[i]
            kept += 1
    h.size = 0
    for i in range(kept):  # re-heapify by pushing in place
        h.size += 1
        sift_up(h.at, h.position, h.size - 1, h.at[h.size - 1])


cdef class LFUDAKernel(QueueKernel):
    """LFU with dynamic aging, the Python policy's buckets and age, step for step."""

    cdef int64_t age
    cdef bint additive                # libCacheSim's aging: a hit adds the age (else the paper's: L + F)
    cdef int64_t[::1] priority
    cdef int64_t[::1] references      # F, the paper's reference count of a cached slot
    cdef Map bucket_of                # priority -> index in `buckets`
    cdef Queue* buckets               # FIFOs of slots, over the kernel's links
    cdef int32_t* free                # bucket indices to reuse, free[:n_free]
    cdef Py_ssize_t n_buckets, n_free, room
    cdef Heap heap                    # the Python policy's _heap: a lazy heap of priorities
    cdef Heap every                   # every bucket's priority: the true minimum, when the age's bucket is missing
    cdef int64_t used_units_
    cdef Py_ssize_t n_cached

    def __init__(self, int64_t capacity, bint additive):
        QueueKernel.__init__(self, capacity)
        self.age = 0
        self.additive = additive
        self.priority = np.zeros(0, dtype=np.int64)
        self.references = np.zeros(0, dtype=np.int64)
        map_init(&self.bucket_of)
        self.n_buckets = self.n_free = self.room = 0
        self.used_units_ = 0
        self.n_cached = 0

    def __dealloc__(self):
        map_free(&self.bucket_of)
        PyMem_Free(self.buckets)
        PyMem_Free(self.free)
        heap_free(&self.heap)
        heap_free(&self.every)

    cdef int resize(self, int32_t n) except -1:
        QueueKernel.resize(self, n)
        self.priority = enlarge(self.priority, n, 0)
        self.references = enlarge(self.references, n, 0)
        return 0

    cdef void prefetch(self, int32_t slot) noexcept:
        QueueKernel.prefetch(self, slot)
        __builtin_prefetch(&self.priority[slot])

    # -- buckets -----------------------------------------------------------------
    cdef int append(self, int64_t priority, int32_t slot) except -1:
        """Put a slot at the back of its priority's bucket, opening the bucket if need be."""
        cdef int32_t index = <int32_t>map_get(&self.bucket_of, priority)
        if index == ABSENT:
            index = self.open_bucket()
            map_set(&self.bucket_of, priority, index)
            push_priority(&self.heap, priority)
            push_priority(&self.every, priority)
            if self.every.size > 2 * self.bucket_of.count + 1024:  # stale entries pile up: drop them
                keep_live(&self.every, &self.bucket_of)
                keep_live(&self.heap, &self.bucket_of)
        self.priority[slot] = priority
        push_back(&self.links, &self.buckets[index], slot, 0)
        return 0

    cdef int32_t open_bucket(self) except -1:
        cdef int32_t index
        cdef Py_ssize_t room
        if self.n_free:
            self.n_free -= 1
            index = self.free[self.n_free]
        else:
            if self.n_buckets == self.room:
                room = max(64, 2 * self.room)
                grow(<void**>&self.buckets, self.room, room, sizeof(Queue))
                grow(<void**>&self.free, self.room, room, sizeof(int32_t))
                self.room = room
            index = <int32_t>self.n_buckets
            self.n_buckets += 1
        clear(&self.buckets[index])
        return index

    cdef bint take_out(self, int32_t slot) noexcept:
        """Remove a slot from its bucket; True if that emptied (and closed) the bucket."""
        cdef int64_t priority = self.priority[slot]
        cdef int32_t index = <int32_t>map_get(&self.bucket_of, priority)
        unlink(&self.links, &self.buckets[index], slot, 0)
        if self.buckets[index].count:
            return False
        map_delete(&self.bucket_of, priority)
        self.free[self.n_free] = index
        self.n_free += 1
        return True

    cdef void advance_age(self) noexcept:
        """The age moves up to the next priority with a bucket (it stays if there is none)."""
        while self.heap.size and (
            lowest(&self.heap) <= self.age or map_get(&self.bucket_of, lowest(&self.heap)) == ABSENT
        ):
            heap_pop(&self.heap)  # the age never comes back down to these: dropped for good, as the Python's
        if self.heap.size:
            self.age = lowest(&self.heap)

    cdef int64_t smallest(self) noexcept:
        """The smallest priority with a bucket (there is one)."""
        while map_get(&self.bucket_of, lowest(&self.every)) == ABSENT:
            heap_pop(&self.every)
        return lowest(&self.every)

    # -- requests --------------------------------------------------------------------
    cdef bint lookup(self, int32_t slot) noexcept:
        cdef int64_t old, new
        if self.where[slot] != CACHED:
            return False
        old = self.priority[slot]
        if not self.additive:
            self.references[slot] += 1
            new = self.age + self.references[slot]
            self.take_out(slot)
        else:
            if old > INT64_MAX - self.age:
                self.fail(PolicyError(
                    "lfuda (aging = 'libcachesim'): a key passed 2**63 - 1 (libCacheSim adds the age on every "
                    "hit, so keys double); use aging = 'paper'"
                ))
                return True
            new = old + self.age
            if self.take_out(slot) and old == self.age:
                self.advance_age()  # before the slot lands in its new bucket, as libCacheSim
        self.put(new, slot)
        return True

    cdef void put(self, int64_t priority, int32_t slot) noexcept:
        """append() where nothing can raise: a failure (no memory) is recorded for the caller."""
        try:
            self.append(priority, slot)
        except MemoryError as error:
            self.fail(error)

    cdef void insert(self, int32_t slot, int64_t size) noexcept:
        self.remove(slot)
        if size > self.capacity:
            return
        while self.used_units_ + size > self.capacity:
            self.evict()
        self.where[slot] = CACHED
        self.size_of[slot] = size
        self.used_units_ += size
        self.n_cached += 1
        self.references[slot] = 1
        self.put(self.age + 1, slot)

    EVICTS_TO = True

    cdef void evict_to(self, int64_t units) noexcept:
        """Evict the lowest LFU-DA priorities (raising the age) until at most `units` are used."""
        while self.used_units_ > units:
            self.evict()

    cdef void evict(self) noexcept:
        # The paper's: the smallest priority; libCacheSim's: the age's (its min_freq 0 and 1 both mean key 1).
        cdef int64_t priority = self.smallest() if not self.additive else max(self.age, 1)
        cdef int32_t index = <int32_t>map_get(&self.bucket_of, priority), victim
        if index == ABSENT:  # the age lost track (libCacheSim would fail here): the true minimum
            priority = self.smallest()
            index = <int32_t>map_get(&self.bucket_of, priority)
        victim = self.buckets[index].head
        self.age = priority
        if self.take_out(victim) and self.additive:
            self.advance_age()
        self.drop(victim)
        self.report(victim)

    cdef void drop(self, int32_t slot) noexcept:
        self.where[slot] = OUT
        self.used_units_ -= self.size_of[slot]
        self.n_cached -= 1

    cdef bint remove(self, int32_t slot) noexcept:
        if self.where[slot] != CACHED:
            return False
        if self.take_out(slot) and self.priority[slot] == self.age and self.additive:
            self.advance_age()
        self.drop(slot)
        return True

    cdef bint contains(self, int32_t slot) noexcept:
        return self.where[slot] == CACHED

    cdef int64_t used(self) noexcept:
        return self.used_units_

    cdef Py_ssize_t count(self) noexcept:
        return self.n_cached

    def order(self):
        """By priority, then by the time of getting it (next victim first)."""
        cdef int64_t priority, index
        slots = []
        for i in range(self.bucket_of.mask + 1):
            if map_entry(&self.bucket_of, i, &priority, &index):
                slots.append((priority, self.walk(&self.buckets[index])))
        return [slot for _, bucket in sorted(slots) for slot in bucket]
