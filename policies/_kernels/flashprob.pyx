"""FlashProb (policies/flashprob.py) in C: a RAM LRU and a flash FIFO over one set of links.

The decisions are the Python policy's, eviction for eviction: one draw per
RAM victim from the same generator (kernel.PythonRandom, started from the
same seed), compared with the same probability.
"""

from libc.stdint cimport int32_t, int64_t

from policies._kernels.kernel cimport PythonRandom, QueueKernel
from policies._kernels.queues cimport clear, move_to_back, push_back, Queue, unlink

cdef enum:
    OUT, RAM, FLASH  # where[slot]


cdef class FlashProbKernel(QueueKernel):
    cdef Queue ram, flash
    cdef int64_t flash_capacity
    cdef double admit_probability
    cdef PythonRandom rng
    cdef readonly int64_t flash_writes

    def __init__(self, int64_t capacity, int64_t flash_capacity, double admit_probability, seed):
        QueueKernel.__init__(self, capacity)
        clear(&self.ram)
        clear(&self.flash)
        self.flash_capacity = flash_capacity
        self.admit_probability = admit_probability
        self.rng = PythonRandom(seed)
        self.flash_writes = 0

    cdef bint lookup(self, int32_t slot) noexcept:
        if self.where[slot] == RAM:
            move_to_back(&self.links, &self.ram, slot)
            return True
        return self.where[slot] == FLASH

    cdef void insert(self, int32_t slot, int64_t size) noexcept:
        self.remove(slot)
        if size > self.capacity:
            return
        while self.ram.used + self.flash.used + size > self.capacity:
            self.evict_one()
        self.size_of[slot] = size
        self.where[slot] = RAM
        push_back(&self.links, &self.ram, slot, size)

    EVICTS_TO = True

    cdef void evict_to(self, int64_t units) noexcept:
        """Make room as an insert does (RAM victims to flash by the coin, or out) down to `units`."""
        while self.ram.used + self.flash.used > units:
            self.evict_one()

    def reshape(self, reference):
        """FlashProb.resize: the flash share re-derived, flash dropping its oldest to fit (evicted first),
        then evicted down to the capacity."""
        self.flash_capacity = reference.disk_capacity
        while self.flash.used > self.flash_capacity:
            self.leave(&self.flash, self.flash.head)
        QueueKernel.reshape(self, reference)

    cdef void evict_one(self) noexcept:
        """The RAM's LRU slot goes to flash (with the coin) or out; flash's oldest once the RAM is empty."""
        cdef int32_t victim
        cdef int64_t size
        if self.ram.count == 0:
            self.leave(&self.flash, self.flash.head)
            return
        victim = self.ram.head
        size = self.size_of[victim]
        if self.rng.random() >= self.admit_probability or size > self.flash_capacity:
            self.leave(&self.ram, victim)
            return
        self.flash_writes += 1
        unlink(&self.links, &self.ram, victim, size)
        while self.flash.used + size > self.flash_capacity:
            self.leave(&self.flash, self.flash.head)
        self.where[victim] = FLASH
        push_back(&self.links, &self.flash, victim, size)

    cdef void leave(self, Queue* queue, int32_t slot) noexcept:
        unlink(&self.links, queue, slot, self.size_of[slot])
        self.where[slot] = OUT
        self.report(slot)

    cdef bint remove(self, int32_t slot) noexcept:
        if self.where[slot] == RAM:
            unlink(&self.links, &self.ram, slot, self.size_of[slot])
        elif self.where[slot] == FLASH:
            unlink(&self.links, &self.flash, slot, self.size_of[slot])
        else:
            return False
        self.where[slot] = OUT
        return True

    cdef bint contains(self, int32_t slot) noexcept:
        return self.where[slot] != OUT

    cdef int64_t used(self) noexcept:
        return self.ram.used + self.flash.used

    cdef Py_ssize_t count(self) noexcept:
        return self.ram.count + self.flash.count

    def order(self):
        return self.walk(&self.flash) + self.walk(&self.ram)
