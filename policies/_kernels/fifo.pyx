"""FIFO and LRU (policies/fifo.py, policies/lru.py) in C: one queue of the cached slots."""

from libc.stdint cimport int32_t, int64_t

from policies._kernels.kernel cimport QueueKernel
from policies._kernels.queues cimport after, clear, move_to_back, NIL, push_back, unlink
from workloads.native.memory cimport __builtin_prefetch


cdef class FIFOKernel(QueueKernel):
    """First in, first out: the queue's front is the next victim; hits change nothing.

    Also the base of the other one-queue kernels (LRU, CLOCK, SIEVE), which share
    its removal and bookkeeping and change what a hit and an eviction do.
    """

    def __init__(self, int64_t capacity):
        QueueKernel.__init__(self, capacity)
        clear(&self.queue)

    cdef bint lookup(self, int32_t slot) noexcept:
        return self.where[slot] == CACHED

    cdef void insert(self, int32_t slot, int64_t size) noexcept:
        self.remove(slot)  # a cached key is replaced
        if size > self.capacity:
            return
        while self.queue.used + size > self.capacity:
            self.evict(self.queue.head)
        self.admit(slot, size)

    EVICTS_TO = True

    #: removals only unlink their slots: any order of them ends in the same state (read from this class
    #: alone: a subclass whose removal moves a hand says so, or not, itself)
    REMOVALS_COMMUTE = True

    cdef void evict_to(self, int64_t units) noexcept:
        """The oldest insertions (LRU: the least recently used) go first."""
        while self.queue.used > units:
            self.evict(self.queue.head)

    cdef void admit(self, int32_t slot, int64_t size) noexcept:
        """Put a new object at the back of the queue."""
        self.size_of[slot] = size
        self.where[slot] = CACHED
        push_back(&self.links, &self.queue, slot, size)

    cdef void evict(self, int32_t slot) noexcept:
        unlink(&self.links, &self.queue, slot, self.size_of[slot])
        self.where[slot] = OUT
        self.report(slot)
        # The front is the next victim (or the hand's next stop): its state is long out of cache.
        if self.queue.head != NIL:
            self.prefetch(self.queue.head)
            __builtin_prefetch(&self.size_of[self.queue.head])

    cdef bint remove(self, int32_t slot) noexcept:
        if self.where[slot] != CACHED:
            return False
        unlink(&self.links, &self.queue, slot, self.size_of[slot])
        self.where[slot] = OUT
        return True

    cdef bint contains(self, int32_t slot) noexcept:
        return self.where[slot] == CACHED

    cdef int64_t used(self) noexcept:
        return self.queue.used

    cdef Py_ssize_t count(self) noexcept:
        return self.queue.count

    def order(self):
        return self.walk(&self.queue)


cdef class LRUKernel(FIFOKernel):
    """Least recently used: FIFO where a hit moves the slot to the back."""

    REMOVALS_COMMUTE = True
    HIT_MOVES_LINKS = True  # a hit rewrites its neighbours' links: the timed loop asks for them ahead

    cdef bint lookup(self, int32_t slot) noexcept:
        if self.where[slot] == CACHED:
            move_to_back(&self.links, &self.queue, slot)
            return True
        return False

    cdef int32_t upcoming_victim(self, int32_t ahead) noexcept:
        """The queue's front and the slot behind it: the next two victims unless hits move them."""
        cdef int32_t slot = self.queue.head
        while ahead > 0 and slot != NIL:
            slot = after(&self.links, slot)
            ahead -= 1
        return slot
