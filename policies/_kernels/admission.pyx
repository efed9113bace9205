"""The admission filters (policies/admission.py) in C: size, probabilistic, TinyLFU, bloomfilter.

Each sees every request (``record``) and vets every insert of a key that is
not cached (``admit``), as the Python filters do inside ``Admitted``.  The
hashes and the generator are the Python ones, so the decisions are too.
"""

import numpy as np

from libc.stdint cimport int64_t, uint8_t, uint64_t

from policies._kernels.kernel cimport AdmissionKernel, PythonRandom
from workloads.native.hashing cimport mix64
from workloads.native.hashmap cimport Map, map_free, map_get, map_init, map_set


cdef class SizeAdmissionKernel(AdmissionKernel):
    """Admit objects strictly smaller than the threshold."""

    cdef int64_t threshold

    def __init__(self, int64_t threshold):
        self.threshold = threshold

    cdef bint admit(self, uint64_t key, int64_t size) noexcept:
        return size < self.threshold


cdef class ProbabilisticAdmissionKernel(AdmissionKernel):
    """Admit with a probability: one draw of the filter's own (Python-identical) generator per vetting."""

    cdef double probability
    cdef PythonRandom rng

    def __init__(self, double probability, seed):
        self.probability = probability
        self.rng = PythonRandom(seed)

    cdef bint admit(self, uint64_t key, int64_t size) noexcept:
        return self.rng.random() < self.probability


cdef class TinyLFUAdmissionKernel(AdmissionKernel):
    """A Bloom-filter doorkeeper in front of a count-min sketch (sketch.py's BloomFilter and CountMinSketch).

    Both probe with h1 + i * h2, h1 and h2 the halves of the key's stable
    hash (h2 odd), modulo their number of cells.
    """

    cdef int64_t min_frequency, sample_size, recorded
    cdef uint8_t[::1] door      # one byte per bit, as the Python filter
    cdef uint64_t door_bits
    cdef int door_probes
    cdef uint8_t[::1] counts    # depth rows of width counters, saturating at max_count
    cdef uint64_t width
    cdef int depth
    cdef uint8_t max_count

    def __init__(self, int64_t min_frequency, int64_t sample_size, int64_t door_bits, int door_probes,
                 int64_t width, int depth, int max_count):
        self.min_frequency = min_frequency
        self.sample_size = sample_size
        self.recorded = 0
        self.door = np.zeros(door_bits, dtype=np.uint8)
        self.door_bits = door_bits
        self.door_probes = door_probes
        self.counts = np.zeros(width * depth, dtype=np.uint8)
        self.width = width
        self.depth = depth
        self.max_count = max_count

    cdef void record(self, uint64_t key) noexcept:
        cdef uint64_t h = mix64(key), h1 = h & 0xFFFFFFFFULL, h2 = (h >> 32) | 1
        cdef uint64_t cell
        cdef bint seen = True
        cdef Py_ssize_t i
        for i in range(self.door_probes):
            cell = (h1 + i * h2) % self.door_bits
            if not self.door[cell]:
                seen = False
                self.door[cell] = 1
        if seen:  # seen before: now it counts
            for i in range(self.depth):
                cell = i * self.width + (h1 + i * h2) % self.width
                if self.counts[cell] < self.max_count:
                    self.counts[cell] += 1
        self.recorded += 1
        if self.recorded >= self.sample_size:  # a new sample: the doorkeeper forgets, the counts halve
            self.recorded = 0
            self.door[:] = 0
            for i in range(self.counts.shape[0]):
                self.counts[i] >>= 1

    cdef bint admit(self, uint64_t key, int64_t size) noexcept:
        cdef uint64_t h = mix64(key), h1 = h & 0xFFFFFFFFULL, h2 = (h >> 32) | 1
        cdef int64_t estimate = self.max_count
        cdef bint known = True
        cdef int i
        for i in range(self.depth):
            estimate = min(estimate, self.counts[i * self.width + (h1 + i * h2) % self.width])
        for i in range(self.door_probes):
            known = known and self.door[(h1 + i * h2) % self.door_bits]
        return estimate + known >= self.min_frequency


cdef class BloomFilterAdmissionKernel(AdmissionKernel):
    """Refuse a key's first vetting, admit every later one: an exact set of the key ids vetted.

    The set is the C hash map (workloads/native/hashmap.pxd), its values
    unused.  Should the map fail to grow (memory refused), the error is kept
    (fail) and the key is refused unremembered; its kernel's check() raises it.
    """

    cdef Map seen

    def __cinit__(self):
        map_init(&self.seen)

    def __dealloc__(self):
        map_free(&self.seen)

    cdef bint admit(self, uint64_t key, int64_t size) noexcept:
        if map_get(&self.seen, <int64_t>key) >= 0:
            return True
        try:
            map_set(&self.seen, <int64_t>key, 0)
        except MemoryError as error:
            self.fail(error)
        return False

    @property
    def n_seen(self):
        """How many key ids the filter remembers."""
        return self.seen.count
