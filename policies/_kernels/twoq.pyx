"""2Q (policies/twoq.py) in C: Ain is the probation FIFO, Am the main LRU, Aout the ghost FIFO."""

from libc.stdint cimport int32_t, int64_t

from policies._kernels.probation cimport MAIN, OUT, PROBATION, ProbationKernel
from policies._kernels.queues cimport move_to_back, Queue, unlink


cdef class TwoQKernel(ProbationKernel):
    cdef int64_t ain_capacity, am_capacity

    def __init__(self, int64_t capacity, int64_t ain_capacity, int64_t am_capacity, int64_t aout_capacity):
        ProbationKernel.__init__(self, capacity, aout_capacity)
        self.ain_capacity = ain_capacity
        self.am_capacity = am_capacity

    cdef bint lookup(self, int32_t slot) noexcept:
        if self.where[slot] == PROBATION:
            return True  # a hit in probation changes nothing
        if self.where[slot] == MAIN:
            move_to_back(&self.links, &self.main, slot)
            return True
        return self.miss(slot)

    cdef void insert(self, int32_t slot, int64_t size) noexcept:
        cdef bint from_ghost = self.ghost_hit[slot]
        self.remove(slot)
        if size > self.capacity or size > self.ain_capacity:
            return
        while self.probation.used + self.main.used + size > self.capacity:
            self.evict_one()
        if not from_ghost:
            self.place(slot, size, PROBATION)
        elif size <= self.am_capacity:
            # Into Am through its own capacity check, as libCacheSim's Am->get does.
            while self.main.used + size > self.am_capacity:
                self.evict_from(&self.main)
            self.place(slot, size, MAIN)

    EVICTS_TO = True

    cdef void evict_to(self, int64_t units) noexcept:
        """Evict as an insert makes room (Ain into Aout while over its share, else Am's LRU) to `units`."""
        while self.probation.used + self.main.used > units:
            self.evict_one()

    def reshape(self, reference):
        """TwoQ.resize: Ain's, Am's and Aout's shares re-derived (Aout forgets its oldest to fit), then
        evicted down to the capacity."""
        self.ain_capacity, self.am_capacity = reference.ain_capacity, reference.am_capacity
        self.ghost_capacity = reference.aout.capacity
        self.trim_ghost()
        ProbationKernel.reshape(self, reference)

    cdef void evict_one(self) noexcept:
        """From Ain (into Aout) when it is over its share (or Am is empty), else Am's LRU object."""
        if self.probation.used > self.ain_capacity or self.main.count == 0:
            self.to_ghost(self.probation.head)
        else:
            self.evict_from(&self.main)

    cdef void evict_from(self, Queue* queue) noexcept:
        cdef int32_t oldest = queue.head
        unlink(&self.links, queue, oldest, self.size_of[oldest])
        self.where[oldest] = OUT
        self.report(oldest)
