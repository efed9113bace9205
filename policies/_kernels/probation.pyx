"""What S3-FIFO and 2Q share: a probation queue, a main queue, and a ghost FIFO.

New objects enter probation (S3-FIFO's small FIFO, 2Q's Ain); the proven
ones live in main; the keys of objects evicted from probation are remembered
in the ghost FIFO (keys and sizes, no objects), and a miss that hits the
ghost is remembered per slot until that slot's insert (lookup and insert are
apart in a timed model), when the object goes straight to main.
"""

import numpy as np

from libc.stdint cimport int32_t, int64_t

from policies._kernels.kernel cimport enlarge, QueueKernel
from policies._kernels.queues cimport clear, push_back, unlink
from workloads.native.memory cimport __builtin_prefetch


cdef class ProbationKernel(QueueKernel):

    def __init__(self, int64_t capacity, int64_t ghost_capacity):
        QueueKernel.__init__(self, capacity)
        self.ghost_capacity = ghost_capacity
        self.ghost_hit = np.zeros(0, dtype=np.uint8)
        clear(&self.probation)
        clear(&self.main)
        clear(&self.ghost)

    cdef int resize(self, int32_t n) except -1:
        QueueKernel.resize(self, n)
        self.ghost_hit = enlarge(self.ghost_hit, n, 0)
        return 0

    cdef void prefetch(self, int32_t slot) noexcept:
        QueueKernel.prefetch(self, slot)
        __builtin_prefetch(&self.ghost_hit[slot])

    cdef bint miss(self, int32_t slot) noexcept:
        """A lookup that is not a hit: a ghost hit is remembered until the slot's insert."""
        if self.where[slot] == GHOST:
            unlink(&self.links, &self.ghost, slot, self.size_of[slot])
            self.where[slot] = OUT
            self.ghost_hit[slot] = 1
        return False

    cdef void to_ghost(self, int32_t slot) noexcept:
        """Evict probation's oldest object (`slot`), its key remembered in the ghost."""
        unlink(&self.links, &self.probation, slot, self.size_of[slot])
        self.remember(&self.ghost, self.ghost_capacity, slot, GHOST)
        self.report(slot)

    cdef void trim_ghost(self) noexcept:
        """The ghost forgets its oldest keys until it fits its capacity (a resize's)."""
        cdef int32_t oldest
        while self.ghost.used > self.ghost_capacity:
            oldest = self.ghost.head
            unlink(&self.links, &self.ghost, oldest, self.size_of[oldest])
            self.where[oldest] = OUT

    cdef void place(self, int32_t slot, int64_t size, int to) noexcept:
        """Put a new object at the back of probation or main."""
        self.size_of[slot] = size
        self.where[slot] = to
        push_back(&self.links, &self.probation if to == PROBATION else &self.main, slot, size)

    cdef bint remove(self, int32_t slot) noexcept:
        """Forget the slot: cached, a ghost, or a pending ghost hit."""
        cdef int where = self.where[slot]
        self.ghost_hit[slot] = 0
        if where == OUT:
            return False
        unlink(&self.links, &self.probation if where == PROBATION else &self.main if where == MAIN else &self.ghost,
               slot, self.size_of[slot])
        self.where[slot] = OUT
        return where != GHOST

    cdef bint contains(self, int32_t slot) noexcept:
        return self.where[slot] == PROBATION or self.where[slot] == MAIN

    cdef bint holds(self, int32_t slot) noexcept:
        return self.where[slot] != OUT or self.ghost_hit[slot]

    cdef int64_t used(self) noexcept:
        return self.probation.used + self.main.used

    cdef Py_ssize_t count(self) noexcept:
        return self.probation.count + self.main.count

    def order(self):
        """Probation then main, each from its front."""
        return self.walk(&self.probation) + self.walk(&self.main)
