"""LFU-DA (policies/lfuda.py) in C: buckets of slots by priority, and the age L.

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

from cpython.mem cimport PyMem_Free, PyMem_Realloc
from libc.stdint cimport int32_t, int64_t, uint64_t

from policies._kernels.kernel cimport __builtin_prefetch, enlarge, mix64, QueueKernel
from policies._kernels.queues cimport clear, push_back, Queue, unlink

cdef enum:
    OUT, CACHED  # where[slot]
    ABSENT = -1  # PriorityMap.get: no bucket


cdef class PriorityMap:
    """priority (int64) -> bucket number: open addressing, linear probing, backward-shift deletion."""

    cdef int64_t[::1] keys
    cdef int32_t[::1] values  # ABSENT marks an empty cell
    cdef uint64_t mask
    cdef Py_ssize_t count

    def __init__(self):
        self.keys = np.zeros(64, dtype=np.int64)
        self.values = np.full(64, ABSENT, dtype=np.int32)
        self.mask = 63
        self.count = 0

    cdef uint64_t cell(self, int64_t key) noexcept:
        """The cell holding `key`, or the empty cell where it belongs."""
        cdef uint64_t at = mix64(<uint64_t>key) & self.mask
        while self.values[at] != ABSENT and self.keys[at] != key:
            at = (at + 1) & self.mask
        return at

    cdef int32_t get(self, int64_t key) noexcept:
        return self.values[self.cell(key)]

    cdef int put(self, int64_t key, int32_t value) except -1:
        cdef uint64_t at
        if 2 * (self.count + 1) > <Py_ssize_t>self.mask:
            self.grow()
        at = self.cell(key)
        if self.values[at] == ABSENT:
            self.count += 1
        self.keys[at] = key
        self.values[at] = value
        return 0

    cdef void delete(self, int64_t key) noexcept:
        """Empty the key's cell, and pull later cells of its run back so that no lookup stops short."""
        cdef uint64_t hole = self.cell(key), at = hole, home
        if self.values[hole] == ABSENT:
            return
        self.count -= 1
        while True:
            self.values[hole] = ABSENT
            while True:
                at = (at + 1) & self.mask
                if self.values[at] == ABSENT:
                    return
                home = mix64(<uint64_t>self.keys[at]) & self.mask
                # The entry at `at` may fill the hole unless its home lies cyclically in (hole, at].
                if (at > hole and (home <= hole or home > at)) or (at < hole and home <= hole and home > at):
                    break
            self.keys[hole] = self.keys[at]
            self.values[hole] = self.values[at]
            hole = at

    cdef int grow(self) except -1:
        cdef int64_t[::1] old_keys = self.keys
        cdef int32_t[::1] old_values = self.values
        cdef Py_ssize_t i
        cdef uint64_t at
        self.keys = np.zeros(2 * old_keys.shape[0], dtype=np.int64)
        self.values = np.full(2 * old_keys.shape[0], ABSENT, dtype=np.int32)
        self.mask = 2 * self.mask + 1
        for i in range(old_keys.shape[0]):
            if old_values[i] != ABSENT:
                at = self.cell(old_keys[i])
                self.keys[at] = old_keys[i]
                self.values[at] = old_values[i]
        return 0


cdef class PriorityHeap:
    """A min-heap of int64 priorities, lazy as Python's heapq use: stale entries are skipped by the caller."""

    cdef int64_t* items
    cdef Py_ssize_t size, room

    def __init__(self):
        self.items = NULL
        self.size = self.room = 0

    def __dealloc__(self):
        PyMem_Free(self.items)

    cdef int push(self, int64_t item) except -1:
        if self.size == self.room:
            self.room = max(64, 2 * self.room)
            self.items = <int64_t*>PyMem_Realloc(self.items, self.room * sizeof(int64_t))
            if self.items == NULL:
                raise MemoryError()
        self.sift_in(item)
        return 0

    cdef void pop(self) noexcept:
        cdef int64_t last
        cdef Py_ssize_t i = 0, child
        self.size -= 1
        last = self.items[self.size]
        while True:
            child = 2 * i + 1
            if child >= self.size:
                break
            if child + 1 < self.size and self.items[child + 1] < self.items[child]:
                child += 1
            if last <= self.items[child]:
                break
            self.items[i] = self.items[child]
            i = child
        self.items[i] = last

    cdef void keep(self, PriorityMap live) noexcept:
        """Drop the entries that have no bucket now (the caller would skip them anyway)."""
        cdef Py_ssize_t i, kept = 0
        for i in range(self.size):
            if live.get(self.items[i]) != ABSENT:
                self.items[kept] = self.items[i]
                kept += 1
        self.size = 0
        for i in range(kept):  # re-heapify by pushing in place
            self.sift_in(self.items[i])

    cdef void sift_in(self, int64_t item) noexcept:
        """Add an item at position `size` (there is room) and sift it up."""
        cdef Py_ssize_t i = self.size, parent
        self.size += 1
        while i > 0:
            parent = (i - 1) >> 1
            if self.items[parent] <= item:
                break
            self.items[i] = self.items[parent]
            i = parent
        self.items[i] = item


cdef class LFUDAKernel(QueueKernel):
    """LFU with dynamic aging, the Python policy's buckets and age, step for step."""

    cdef int64_t age
    cdef int64_t[::1] priority
    cdef PriorityMap bucket_of        # priority -> index in `buckets`
    cdef Queue* buckets               # FIFOs of slots, over the kernel's links
    cdef int32_t[::1] free            # bucket indices to reuse, free[:n_free]
    cdef Py_ssize_t n_buckets, n_free, room
    cdef PriorityHeap heap            # the Python policy's _heap
    cdef PriorityHeap every           # every bucket's priority: the true minimum, when the age's bucket is missing
    cdef int64_t used_units_
    cdef Py_ssize_t n_cached

    def __init__(self, int64_t capacity):
        QueueKernel.__init__(self, capacity)
        self.age = 0
        self.priority = np.zeros(0, dtype=np.int64)
        self.bucket_of = PriorityMap()
        self.buckets = NULL
        self.free = np.zeros(0, dtype=np.int32)
        self.n_buckets = self.n_free = self.room = 0
        self.heap = PriorityHeap()
        self.every = PriorityHeap()
        self.used_units_ = 0
        self.n_cached = 0

    def __dealloc__(self):
        PyMem_Free(self.buckets)

    cdef int resize(self, int32_t n) except -1:
        QueueKernel.resize(self, n)
        self.priority = enlarge(self.priority, n, 0)
        return 0

    cdef void prefetch(self, int32_t slot) noexcept:
        QueueKernel.prefetch(self, slot)
        __builtin_prefetch(&self.priority[slot])

    # -- buckets -----------------------------------------------------------------
    cdef int append(self, int64_t priority, int32_t slot) except -1:
        """Put a slot at the back of its priority's bucket, opening the bucket if need be."""
        cdef int32_t index = self.bucket_of.get(priority)
        if index == ABSENT:
            index = self.open_bucket()
            self.bucket_of.put(priority, index)
            self.heap.push(priority)
            self.every.push(priority)
            if self.every.size > 2 * self.bucket_of.count + 1024:  # stale entries pile up: drop them
                self.every.keep(self.bucket_of)
                self.heap.keep(self.bucket_of)
        self.priority[slot] = priority
        push_back(&self.links, &self.buckets[index], slot, 0)
        return 0

    cdef int32_t open_bucket(self) except -1:
        cdef int32_t index
        if self.n_free:
            self.n_free -= 1
            index = self.free[self.n_free]
        else:
            if self.n_buckets == self.room:
                self.room = max(64, 2 * self.room)
                self.buckets = <Queue*>PyMem_Realloc(self.buckets, self.room * sizeof(Queue))
                if self.buckets == NULL:
                    raise MemoryError()
                self.free = enlarge(self.free, self.room, 0)
            index = <int32_t>self.n_buckets
            self.n_buckets += 1
        clear(&self.buckets[index])
        return index

    cdef bint take_out(self, int32_t slot) noexcept:
        """Remove a slot from its bucket; True if that emptied (and closed) the bucket."""
        cdef int64_t priority = self.priority[slot]
        cdef int32_t index = self.bucket_of.get(priority)
        unlink(&self.links, &self.buckets[index], slot, 0)
        if self.buckets[index].count:
            return False
        self.bucket_of.delete(priority)
        self.free[self.n_free] = index
        self.n_free += 1
        return True

    cdef void advance_age(self) noexcept:
        """The age moves up to the next priority with a bucket (it stays if there is none)."""
        while self.heap.size and (self.heap.items[0] <= self.age or self.bucket_of.get(self.heap.items[0]) == ABSENT):
            self.heap.pop()  # the age never comes back down to these: dropped for good, as the Python's
        if self.heap.size:
            self.age = self.heap.items[0]

    cdef int64_t smallest(self) noexcept:
        """The smallest priority with a bucket (there is one)."""
        while self.bucket_of.get(self.every.items[0]) == ABSENT:
            self.every.pop()
        return self.every.items[0]

    # -- requests --------------------------------------------------------------------
    cdef bint lookup(self, int32_t slot) noexcept:
        cdef int64_t old, new
        if self.where[slot] != CACHED:
            return False
        old = self.priority[slot]
        new = old + self.age
        if self.take_out(slot) and old == self.age:
            self.advance_age()  # before the slot lands in its new bucket, as libCacheSim
        self.append(new, slot)
        return True

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
        self.append(self.age + 1, slot)

    cdef void evict(self) noexcept:
        cdef int64_t priority = max(self.age, 1)  # libCacheSim's min_freq 0 and 1 both mean the key-1 bucket
        cdef int32_t index = self.bucket_of.get(priority), victim
        if index == ABSENT:  # the age lost track (libCacheSim would fail here): the true minimum
            priority = self.smallest()
            index = self.bucket_of.get(priority)
        victim = self.buckets[index].head
        self.age = priority
        if self.take_out(victim):
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
        if self.take_out(slot) and self.priority[slot] == self.age:
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
        slots = []
        for i in range(self.bucket_of.keys.shape[0]):
            if self.bucket_of.values[i] != ABSENT:
                slots.append((self.bucket_of.keys[i], self.walk(&self.buckets[self.bucket_of.values[i]])))
        return [slot for _, bucket in sorted(slots) for slot in bucket]
