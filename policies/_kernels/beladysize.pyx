"""BeladySize (policies/beladysize.py) in C: evict the heaviest, size x distance to next use, of a sample.

The cached slots sit in a dense array (swap-with-last removal, as RANDOM's
kernel); each eviction draws ``n_samples`` indices from the same generator
as the Python policy (kernel.PythonRandom, started from the same seed), so
the victims are the Python policy's, draw for draw.  ``prepare`` computes
every request's next use from the dense ids in one backward pass, as
Belady's kernel does; the wrapper (policies/compiled.py, CompiledOffline)
checks that the requests replayed are the prepared ones.
"""

import numpy as np

from libc.stdint cimport int32_t, int64_t

from policies._kernels.kernel cimport enlarge, Kernel, PythonRandom
from workloads.native.memory cimport __builtin_prefetch


cdef class BeladySizeKernel(Kernel):
    cdef int32_t[::1] cached     # the cached slots, cached[0 .. n_cached - 1]
    cdef int32_t[::1] position   # slot -> its index in `cached`, -1 when not cached
    cdef int64_t[::1] next_of    # slot -> the request index of its next use (cached slots only)
    cdef int64_t[::1] next_use   # per prepared request: the index of the next request to its key, -1 for never
    cdef Py_ssize_t n_cached
    cdef int64_t used_units_
    cdef int32_t n_samples
    cdef PythonRandom rng
    cdef Py_ssize_t t            # requests served so far
    cdef int32_t current         # the slot of the latest request, whose next use an insert needs
    cdef int64_t current_next

    def __init__(self, int64_t capacity, int32_t n_samples, seed):
        Kernel.__init__(self, capacity)
        self.cached = np.zeros(0, dtype=np.int32)
        self.position = np.zeros(0, dtype=np.int32)
        self.next_of = np.zeros(0, dtype=np.int64)
        self.next_use = np.zeros(0, dtype=np.int64)
        self.n_cached = 0
        self.used_units_ = 0
        self.n_samples = n_samples
        self.rng = PythonRandom(seed)
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

    cdef int resize(self, int32_t n) except -1:
        Kernel.resize(self, n)
        self.cached = enlarge(self.cached, n, 0)
        self.position = enlarge(self.position, n, -1)
        self.next_of = enlarge(self.next_of, n, 0)
        return 0

    cdef void prefetch(self, int32_t slot) noexcept:
        __builtin_prefetch(&self.position[slot])

    cdef bint lookup(self, int32_t slot) noexcept:
        if self.t >= self.next_use.shape[0]:
            return False  # past the prepared sequence (the wrapper refuses that first)
        self.current = slot
        self.current_next = self.next_use[self.t]
        self.t += 1
        if self.position[slot] < 0:
            return False
        if self.current_next < 0:
            self.remove(slot)  # its last request: its room is freed at once, as libCacheSim does
        else:
            self.next_of[slot] = self.current_next
        return True

    cdef int32_t heaviest_of_sample(self) noexcept:
        """Of n_samples draws (with replacement), the first slot of the largest size x distance."""
        cdef int64_t now = self.t - 1, weight, best_weight = -1
        cdef int32_t candidate, best = -1
        cdef int32_t i
        for i in range(self.n_samples):
            # int(random() * n), as the Python policy: uniform over the cached slots.
            candidate = self.cached[<Py_ssize_t>(self.rng.random() * self.n_cached)]
            weight = self.size_of[candidate] * (self.next_of[candidate] - now)
            if weight > best_weight:
                best, best_weight = candidate, weight
        return best

    cdef void insert(self, int32_t slot, int64_t size) noexcept:
        cdef int32_t victim
        if slot != self.current:
            return  # only the latest request's key has a known next use (the wrapper refuses others)
        self.remove(slot)
        if size > self.capacity or self.current_next < 0:
            return  # too large, or never requested again: not cached
        while self.used_units_ + size > self.capacity:
            victim = self.heaviest_of_sample()
            self.remove(victim)
            self.report(victim)
        self.position[slot] = self.n_cached
        self.cached[self.n_cached] = slot
        self.n_cached += 1
        self.size_of[slot] = size
        self.next_of[slot] = self.current_next
        self.used_units_ += size

    cdef bint remove(self, int32_t slot) noexcept:
        """The last cached slot fills the removed one's place."""
        cdef Py_ssize_t index = self.position[slot]
        cdef int32_t last
        if index < 0:
            return False
        self.n_cached -= 1
        last = self.cached[self.n_cached]
        self.cached[index] = last
        self.position[last] = index
        self.position[slot] = -1
        self.used_units_ -= self.size_of[slot]
        return True

    cdef bint contains(self, int32_t slot) noexcept:
        return self.position[slot] >= 0

    cdef bint holds(self, int32_t slot) noexcept:
        return self.position[slot] >= 0 or slot == self.current

    cdef int64_t used(self) noexcept:
        return self.used_units_

    cdef Py_ssize_t count(self) noexcept:
        return self.n_cached

    def order(self):
        return [self.cached[i] for i in range(self.n_cached)]
