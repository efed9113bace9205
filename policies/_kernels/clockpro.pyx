"""CLOCK-Pro (policies/clockpro.py) in C: one circular list of slots and three hands.

The list is a Queue read as a circle: its head is the oldest entry, its tail
the newest (the paper's list head, where entries are placed), and a hand that
walks past the tail wraps to the head.  ``where[slot]`` is OUT, HOT, COLD or
GHOST (a non-resident key in its test period); ``ref`` and ``in_test`` are a
resident slot's reference bit and whether a cold one is in its test period.
A hand holds the slot it examines next, or NIL for the oldest.
"""

import numpy as np

from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t

from policies._kernels.kernel cimport enlarge, QueueKernel
from policies._kernels.queues cimport after, clear, NIL, push_back, Queue, unlink

cdef enum:
    OUT, HOT, COLD, GHOST


cdef class ClockProKernel(QueueKernel):
    cdef Queue clock
    cdef uint8_t[::1] ref
    cdef uint8_t[::1] in_test
    cdef int32_t hand_hot, hand_cold, hand_test
    cdef int64_t hot_used, cold_used, ghost_used, n_resident
    cdef readonly int64_t cold_target, min_cold, max_cold
    cdef bint has_evicted

    def __init__(self, int64_t capacity, int64_t min_cold, int64_t max_cold):
        QueueKernel.__init__(self, capacity)
        clear(&self.clock)
        self.ref = np.zeros(0, dtype=np.uint8)
        self.in_test = np.zeros(0, dtype=np.uint8)
        self.hand_hot = self.hand_cold = self.hand_test = NIL
        self.hot_used = self.cold_used = self.ghost_used = self.n_resident = 0
        self.min_cold, self.max_cold = min_cold, max_cold
        self.cold_target = min_cold
        self.has_evicted = False

    cdef int resize(self, int32_t n) except -1:
        QueueKernel.resize(self, n)
        self.ref = enlarge(self.ref, n, 0)
        self.in_test = enlarge(self.in_test, n, 0)
        return 0

    # -- requests ---------------------------------------------------------------------------------

    cdef bint lookup(self, int32_t slot) noexcept:
        cdef int8_t where = self.where[slot]
        if where == HOT or where == COLD:
            self.ref[slot] = 1
            return True
        return False

    cdef void insert(self, int32_t slot, int64_t size) noexcept:
        cdef int8_t where = self.where[slot]
        if where == HOT or where == COLD:
            self.forget(slot)  # a cached slot is replaced
        if size > self.capacity:
            self.forget(slot)
            return
        self.evict_to(self.capacity - size)
        if self.where[slot] == GHOST:  # requested in its test period: back as a hot object
            self.forget(slot)
            self.adapt(size)
            self.push(slot, size, HOT)
            self.balance_hot()
        elif not self.has_evicted and self.hot_used + size <= self.capacity - self.cold_target:
            self.push(slot, size, HOT)
        else:
            self.push(slot, size, COLD)
            self.in_test[slot] = 1

    EVICTS_TO = True

    def reshape(self, reference):
        """ClockPro.resize: m_c's bounds re-derived (m_c kept within them); HAND_cold evicts down to the
        capacity, HAND_test ends test periods until the non-resident keys fit it, HAND_hot demotes until
        the hot objects fit their share."""
        self.capacity, self.min_cold, self.max_cold = reference.capacity, reference.min_cold, reference.max_cold
        self.adapt(0)
        self.evict_to(self.capacity)
        while self.ghost_used > self.capacity:
            self.run_test()
        self.balance_hot()

    cdef void evict_to(self, int64_t units) noexcept:
        """Run HAND_cold (HAND_hot first when every resident object is hot) until at most `units` are cached."""
        cdef int32_t victim
        while self.hot_used + self.cold_used > units:
            self.has_evicted = True
            if self.cold_used == 0:
                self.run_hot()
            victim = self.run_cold()
            if victim != NIL:
                self.report(victim)

    cdef bint remove(self, int32_t slot) noexcept:
        cdef int8_t where = self.where[slot]
        if where == OUT:
            return False
        self.forget(slot)
        return where != GHOST

    # -- the three hands ----------------------------------------------------------------------------

    cdef int32_t run_cold(self) noexcept:
        """HAND_cold examines one entry; the evicted slot or NIL."""
        cdef int32_t slot = self.clock.head if self.hand_cold == NIL else self.hand_cold
        cdef int64_t size = self.size_of[slot]
        self.hand_cold = self.following(slot)
        if self.where[slot] != COLD:
            return NIL
        if self.ref[slot]:
            if self.in_test[slot]:  # requested in its test period: hot
                self.in_test[slot] = 0
                self.adapt(size)
                self.move_to_head(slot)
                self.set_status(slot, HOT)
                self.balance_hot()
            else:  # a new test period, still cold
                self.move_to_head(slot)
                self.in_test[slot] = 1
            return NIL
        if self.in_test[slot]:  # evicted; its test period runs on as a non-resident key
            self.set_status(slot, GHOST)
            self.in_test[slot] = 0
            while self.ghost_used > self.capacity:
                self.run_test()
        else:
            self.forget(slot)
        return slot

    cdef void balance_hot(self) noexcept:
        while self.hot_used > self.capacity - self.cold_target:
            self.run_hot()

    cdef void run_hot(self) noexcept:
        """HAND_hot walks until it demotes one hot slot, ending the test periods it passes."""
        cdef int32_t slot
        while True:
            slot = self.clock.head if self.hand_hot == NIL else self.hand_hot
            self.hand_hot = self.following(slot)
            if self.where[slot] != HOT:
                self.end_test(slot)
            elif self.ref[slot]:
                self.ref[slot] = 0
            else:
                self.set_status(slot, COLD)
                return

    cdef void run_test(self) noexcept:
        cdef int32_t slot = self.clock.head if self.hand_test == NIL else self.hand_test
        self.hand_test = self.following(slot)
        self.end_test(slot)

    cdef void end_test(self, int32_t slot) noexcept:
        cdef int8_t where = self.where[slot]
        cdef int64_t size = self.size_of[slot]
        if where == GHOST:
            self.adapt(-size)
            self.forget(slot)
        elif where == COLD and self.in_test[slot]:
            self.in_test[slot] = 0
            self.adapt(size if self.ref[slot] else -size)

    cdef inline void adapt(self, int64_t change) noexcept:
        cdef int64_t target = self.cold_target + change
        self.cold_target = self.min_cold if target < self.min_cold else (self.max_cold if target > self.max_cold else target)

    # -- the circular list --------------------------------------------------------------------------

    cdef inline int32_t following(self, int32_t slot) noexcept:
        """The slot after `slot`, wrapping from the newest to the oldest (NIL: `slot` is alone)."""
        cdef int32_t next_slot = after(&self.links, slot)
        if next_slot == NIL:
            next_slot = self.clock.head
        return NIL if next_slot == slot else next_slot

    cdef void push(self, int32_t slot, int64_t size, int8_t status) noexcept:
        self.size_of[slot] = size
        push_back(&self.links, &self.clock, slot, 0)
        self.where[slot] = status
        self.ref[slot] = 0
        self.count_units(status, size, 1)

    cdef void unlink_slot(self, int32_t slot) noexcept:
        cdef int32_t next_slot = self.following(slot)
        if self.hand_hot == slot:
            self.hand_hot = next_slot
        if self.hand_cold == slot:
            self.hand_cold = next_slot
        if self.hand_test == slot:
            self.hand_test = next_slot
        unlink(&self.links, &self.clock, slot, 0)

    cdef void move_to_head(self, int32_t slot) noexcept:
        cdef int8_t status = self.where[slot]
        cdef int64_t size = self.size_of[slot]
        self.unlink_slot(slot)
        self.count_units(status, -size, -1)
        self.push(slot, size, status)

    cdef void set_status(self, int32_t slot, int8_t status) noexcept:
        cdef int64_t size = self.size_of[slot]
        self.count_units(self.where[slot], -size, -1)
        self.count_units(status, size, 1)
        self.where[slot] = status
        if status == GHOST:
            self.ref[slot] = 0

    cdef inline void count_units(self, int8_t status, int64_t size, int64_t entries) noexcept:
        """Add `size` units and `entries` entries (either may be negative) to the counts of `status`."""
        if status == HOT:
            self.hot_used += size
            self.n_resident += entries
        elif status == COLD:
            self.cold_used += size
            self.n_resident += entries
        else:
            self.ghost_used += size

    cdef void forget(self, int32_t slot) noexcept:
        cdef int8_t where = self.where[slot]
        if where == OUT:
            return
        self.unlink_slot(slot)
        self.count_units(where, -self.size_of[slot], -1)
        self.where[slot] = OUT
        self.ref[slot] = 0
        self.in_test[slot] = 0

    # -- the rest of the interface ------------------------------------------------------------------

    cdef bint contains(self, int32_t slot) noexcept:
        return self.where[slot] == HOT or self.where[slot] == COLD

    cdef bint holds(self, int32_t slot) noexcept:
        return self.where[slot] != OUT

    cdef int64_t used(self) noexcept:
        return self.hot_used + self.cold_used

    cdef Py_ssize_t count(self) noexcept:
        return self.n_resident

    def order(self):
        return [slot for slot in self.walk(&self.clock) if self.where[slot] == HOT or self.where[slot] == COLD]
