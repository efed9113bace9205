"""SIEVE (policies/sieve.py) in C: one queue, a visited bit per slot, and a hand.

The Python policy splits its queue at the hand into two dicts; here the queue
is whole (oldest at the front) and the hand is the slot it points at.  The
hand moves towards the back; past the back it wraps around to the front.
"""

import numpy as np

from libc.stdint cimport int32_t, int64_t, uint8_t

from policies._kernels.fifo cimport CACHED, FIFOKernel
from policies._kernels.kernel cimport enlarge
from policies._kernels.queues cimport after, NIL
from workloads.native.memory cimport __builtin_prefetch


cdef class SieveKernel(FIFOKernel):
    """A hit sets the visited bit; the hand spares a visited slot (clearing it) and evicts the first unvisited."""

    cdef uint8_t[::1] visited
    cdef int32_t hand  # the next slot the hand examines; NIL only while the cache is empty

    def __init__(self, int64_t capacity):
        FIFOKernel.__init__(self, capacity)
        self.visited = np.zeros(0, dtype=np.uint8)
        self.hand = NIL

    cdef int resize(self, int32_t n) except -1:
        FIFOKernel.resize(self, n)
        self.visited = enlarge(self.visited, n, 0)
        return 0

    cdef void prefetch(self, int32_t slot) noexcept:
        FIFOKernel.prefetch(self, slot)
        __builtin_prefetch(&self.visited[slot])

    cdef bint lookup(self, int32_t slot) noexcept:
        if self.where[slot] == CACHED:
            self.visited[slot] = 1
            return True
        return False

    cdef void insert(self, int32_t slot, int64_t size) noexcept:
        cdef int32_t examined, later
        self.remove(slot)
        if size > self.capacity:
            return
        while self.queue.used + size > self.capacity:
            examined = self.hand
            later = after(&self.links, examined)
            if self.visited[examined]:  # spared: the bit is cleared, it keeps its place
                self.visited[examined] = 0
            else:
                self.evict(examined)
            # The hand moves on; past the back it wraps around to the front.
            self.hand = later if later != NIL else self.queue.head
        self.visited[slot] = 0
        self.admit(slot, size)
        if self.hand == NIL:
            self.hand = slot

    cdef void evict_to(self, int64_t units) noexcept:
        """The hand moves as an insert's does: visited slots are spared (their bit cleared)."""
        cdef int32_t examined, later
        while self.queue.used > units:
            examined = self.hand
            later = after(&self.links, examined)
            if self.visited[examined]:
                self.visited[examined] = 0
            else:
                self.evict(examined)
            self.hand = later if later != NIL else self.queue.head

    cdef bint remove(self, int32_t slot) noexcept:
        cdef int32_t later
        if self.where[slot] != CACHED:
            return False
        later = after(&self.links, slot)
        FIFOKernel.remove(self, slot)
        if slot == self.hand:
            self.hand = later if later != NIL else self.queue.head
        return True
