"""LRU-Prob (policies/lruprob.py) in C: LRU whose hits promote with probability 1 / promote_every.

The promotions are the Python policy's, hit for hit: one draw per hit from
the same generator (kernel.PythonRandom, started from the same seed),
compared with the same probability.
"""

from libc.stdint cimport int32_t, int64_t

from policies._kernels.fifo cimport CACHED, FIFOKernel
from policies._kernels.kernel cimport PythonRandom
from policies._kernels.queues cimport move_to_back


cdef class LRUProbKernel(FIFOKernel):
    """FIFO's queue and evictions; a hit moves the slot to the back when the draw says so."""

    cdef double promote_probability
    cdef PythonRandom rng

    def __init__(self, int64_t capacity, double promote_probability, seed):
        FIFOKernel.__init__(self, capacity)
        self.promote_probability = promote_probability
        self.rng = PythonRandom(seed)

    cdef bint lookup(self, int32_t slot) noexcept:
        if self.where[slot] != CACHED:
            return False
        if self.rng.random() < self.promote_probability:
            move_to_back(&self.links, &self.queue, slot)
        return True
