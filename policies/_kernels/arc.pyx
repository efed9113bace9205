"""ARC (policies/arc.py) in C: T1, T2 and the ghost lists B1, B2 over one set of links.

The rules, down to the ties, are the Python policy's (libCacheSim's ARC).
"""

import numpy as np

from libc.stdint cimport int8_t, int32_t, int64_t

from policies._kernels.kernel cimport enlarge, QueueKernel
from policies._kernels.queues cimport clear, move_to_back, push_back, Queue, unlink

cdef enum:
    OUT, T1, T2, B1, B2  # where[slot]


cdef class ARCKernel(QueueKernel):
    cdef Queue t1, t2, b1, b2
    cdef double p             # the target size of T1
    cdef int8_t[::1] ghost_hit  # B1 or B2 when the slot's last lookup hit that ghost list, until its insert

    def __init__(self, int64_t capacity):
        QueueKernel.__init__(self, capacity)
        self.p = 0.0
        self.ghost_hit = np.zeros(0, dtype=np.int8)
        clear(&self.t1)
        clear(&self.t2)
        clear(&self.b1)
        clear(&self.b2)

    cdef int resize(self, int32_t n) except -1:
        QueueKernel.resize(self, n)
        self.ghost_hit = enlarge(self.ghost_hit, n, 0)
        return 0

    cdef Queue* queue(self, int where) noexcept:
        return &self.t1 if where == T1 else &self.t2 if where == T2 else &self.b1 if where == B1 else &self.b2

    cdef void move(self, int32_t slot, int to) noexcept:
        """Move a slot from its list to the back of list `to`."""
        cdef int64_t size = self.size_of[slot]
        unlink(&self.links, self.queue(self.where[slot]), slot, size)
        push_back(&self.links, self.queue(to), slot, size)
        self.where[slot] = to

    cdef void drop(self, int32_t slot) noexcept:
        unlink(&self.links, self.queue(self.where[slot]), slot, self.size_of[slot])
        self.where[slot] = OUT

    cdef bint lookup(self, int32_t slot) noexcept:
        cdef int where = self.where[slot]
        if where == T1:  # seen twice now
            self.move(slot, T2)
            return True
        if where == T2:
            move_to_back(&self.links, &self.t2, slot)
            return True
        if where == B1:  # T1 was too small: its target grows (with B1 as it is before the removal)
            self.p = min(self.p + max(<double>self.b2.used / <double>self.b1.used, 1.0), <double>self.capacity)
            self.drop(slot)
            self.ghost_hit[slot] = B1
        elif where == B2:
            self.p = max(self.p - max(<double>self.b1.used / <double>self.b2.used, 1.0), 0.0)
            self.drop(slot)
            self.ghost_hit[slot] = B2
        return False

    cdef void insert(self, int32_t slot, int64_t size) noexcept:
        cdef int ghost = self.ghost_hit[slot]
        self.remove(slot)
        if size > self.capacity:
            return
        while self.t1.used + self.t2.used + size > self.capacity:
            if ghost:
                self.replace(ghost == B2)
            else:
                self.evict_for_new(size)
        self.size_of[slot] = size
        self.where[slot] = T2 if ghost else T1
        push_back(&self.links, &self.t2 if ghost else &self.t1, slot, size)

    cdef void replace(self, bint hit_b2) noexcept:
        """REPLACE: T1's or T2's LRU object leaves the cache for its ghost list."""
        cdef int64_t t1_used = self.t1.used
        cdef int32_t victim
        if (t1_used > 0 and (t1_used > self.p or (t1_used == self.p and hit_b2))) or self.t2.used == 0:
            victim = self.t1.head
            self.move(victim, B1)
        else:
            victim = self.t2.head
            self.move(victim, B2)
        self.report(victim)

    cdef void evict_for_new(self, int64_t size) noexcept:
        """Make room for a key on no list (the paper's case IV), one object at a time."""
        cdef int32_t victim
        if self.t1.used + self.b1.used + size > self.capacity:
            if self.b1.used > 0:
                self.drop(self.b1.head)
                self.replace(False)
            else:
                victim = self.t1.head  # evicted without a ghost
                self.drop(victim)
                self.report(victim)
            return
        if self.b2.used > 0 and self.t1.used + self.b1.used + self.t2.used + self.b2.used >= 2 * self.capacity:
            self.drop(self.b2.head)
        self.replace(False)

    EVICTS_TO = True

    cdef void evict_to(self, int64_t units) noexcept:
        """REPLACE (T1's or T2's LRU object into its ghost list) until at most `units` are cached."""
        while self.t1.used + self.t2.used > units:
            self.replace(False)

    def reshape(self, reference):
        """ARC.resize: evicted down to the new capacity c, the target p kept within [0, c], the ghosts
        trimmed (oldest first) to |T1| + |B1| <= c and the four lists <= 2c."""
        QueueKernel.reshape(self, reference)
        cdef int64_t c = self.capacity
        self.p = min(self.p, <double>c)
        while self.b1.count and self.t1.used + self.b1.used > c:
            self.drop(self.b1.head)
        while ((self.b1.count or self.b2.count)
               and self.t1.used + self.t2.used + self.b1.used + self.b2.used > 2 * c):
            self.drop(self.b2.head if self.b2.count else self.b1.head)

    cdef bint remove(self, int32_t slot) noexcept:
        cdef int where = self.where[slot]
        self.ghost_hit[slot] = OUT
        if where == OUT:
            return False
        self.drop(slot)
        return where == T1 or where == T2

    cdef bint contains(self, int32_t slot) noexcept:
        return self.where[slot] == T1 or self.where[slot] == T2

    cdef bint holds(self, int32_t slot) noexcept:
        return self.where[slot] != OUT or self.ghost_hit[slot] != OUT

    cdef int64_t used(self) noexcept:
        return self.t1.used + self.t2.used

    cdef Py_ssize_t count(self) noexcept:
        return self.t1.count + self.t2.count

    def order(self):
        return self.walk(&self.t1) + self.walk(&self.t2)
