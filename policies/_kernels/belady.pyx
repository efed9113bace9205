"""Belady's MIN (policies/belady.py) in C: evict the cached slot requested furthest in the future.

``prepare`` computes every request's next use from the sequence of dense
ids, in one backward pass; the wrapper (policies/compiled.py) checks that
the requests replayed are the prepared ones.
"""

import numpy as np

from libc.math cimport INFINITY
from libc.stdint cimport int32_t, int64_t

from policies._kernels.heap cimport HeapKernel


cdef class BeladyKernel(HeapKernel):
    cdef int64_t[::1] next_use   # per prepared request: the index of the next request to its key, -1 for never
    cdef Py_ssize_t t            # requests served so far
    cdef int32_t current         # the slot of the latest request, whose next use an insert needs
    cdef int64_t current_next

    def __init__(self, int64_t capacity):
        HeapKernel.__init__(self, capacity)
        self.next_use = np.zeros(0, dtype=np.int64)
        self.t = 0
        self.current = -1
        self.current_next = -1

    def prepare(self, const int32_t[::1] ids, Py_ssize_t n_ids):
        """The next use of each request of a sequence of dense ids 0 .. n_ids - 1."""
        cdef int64_t[::1] last = np.full(n_ids, -1, dtype=np.int64)  # the next request of each id seen so far
        cdef int64_t[::1] next_use = np.empty(ids.shape[0], dtype=np.int64)
        cdef Py_ssize_t i
        for i in range(ids.shape[0] - 1, -1, -1):
            next_use[i] = last[ids[i]]
            last[ids[i]] = i
        self.next_use = next_use
        self.t = 0

    def is_current(self, int32_t slot):
        return slot >= 0 and slot == self.current

    cdef double rank(self, int64_t next_use) noexcept:
        """The heap's primary key: furthest next use first (never: first of all).

        Ties (only among the never-again) go to the earlier request, the secondary key.
        """
        return -INFINITY if next_use < 0 else -<double>next_use

    cdef bint lookup(self, int32_t slot) noexcept:
        if self.t >= self.next_use.shape[0]:
            return False  # past the prepared sequence (the wrapper refuses that first)
        self.current = slot
        self.current_next = self.next_use[self.t]
        self.t += 1
        if not self.heap.has(slot):
            return False
        self.heap.set(slot, self.rank(self.current_next), self.t)
        return True

    cdef void insert(self, int32_t slot, int64_t size) noexcept:
        if slot != self.current:
            return  # only the latest request's key has a known next use (the wrapper refuses others)
        self.remove(slot)
        if size > self.capacity:
            return
        while self.used_units_ + size > self.capacity:
            self.evict_top()
        self.cache(slot, size, self.rank(self.current_next), self.t)

    cdef bint holds(self, int32_t slot) noexcept:
        return self.heap.has(slot) or slot == self.current
