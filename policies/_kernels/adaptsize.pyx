"""AdaptSize admission (policies/adaptsize.py) in C: the statistics of every request and the coin.

The hot part, counting each request and vetting each insert, is here; the
model that tunes c once a window (a few dozen vectorised passes over the
objects) is the reference's own numpy function, ``best_c``, called on the
same rates and sizes in the same order, so both engines pick the same c to
the last bit and then draw the same coins (PythonRandom: the generator of
``random.Random(seed)``).
"""

import numpy as np

from libc.math cimport exp
from libc.stdint cimport int64_t, uint64_t

from policies._kernels.kernel cimport AdmissionKernel, PythonRandom, enlarge
from workloads.native.hashmap cimport Map, map_clear, map_free, map_get, map_init, map_set

from policies.adaptsize import EWMA_DECAY, FORGET_BELOW, INITIAL_C, LOOK_AGAIN, MIN_CAPACITIES, best_c


cdef class Stats:
    """Per-object (requests, size) rows in the order the keys came in, a hash map from key to row.

    As the reference's dicts: a new key is appended, a forgotten one leaves
    without reordering the rest.
    """

    cdef Map row_of
    cdef int64_t[::1] keys
    cdef double[::1] rates
    cdef int64_t[::1] sizes
    cdef Py_ssize_t n

    def __cinit__(self):
        map_init(&self.row_of)
        self.keys = np.zeros(64, dtype=np.int64)
        self.rates = np.zeros(64, dtype=np.float64)
        self.sizes = np.zeros(64, dtype=np.int64)
        self.n = 0

    def __dealloc__(self):
        map_free(&self.row_of)

    cdef inline Py_ssize_t find(self, int64_t key) noexcept:
        return map_get(&self.row_of, key)

    cdef Py_ssize_t add(self, int64_t key, double rate, int64_t size) except -1:
        cdef Py_ssize_t row = self.n
        if row == self.keys.shape[0]:
            self.keys = enlarge(self.keys, 2 * row, 0)
            self.rates = enlarge(self.rates, 2 * row, 0.0)
            self.sizes = enlarge(self.sizes, 2 * row, 0)
        map_set(&self.row_of, key, row)
        self.keys[row], self.rates[row], self.sizes[row] = key, rate, size
        self.n += 1
        return row

    cdef void clear(self) noexcept:
        map_clear(&self.row_of)
        self.n = 0

    cdef int64_t forget_below(self, double least) except -1:
        """Drop the rows whose rate is below `least`, keeping the others' order; the sizes dropped."""
        cdef Py_ssize_t row, kept = 0
        cdef int64_t dropped = 0
        map_clear(&self.row_of)
        for row in range(self.n):
            if self.rates[row] < least:
                dropped += self.sizes[row]
                continue
            self.keys[kept], self.rates[kept], self.sizes[kept] = self.keys[row], self.rates[row], self.sizes[row]
            map_set(&self.row_of, self.keys[kept], kept)
            kept += 1
        self.n = kept
        return dropped


cdef class AdaptSizeAdmissionKernel(AdmissionKernel):
    """exp(-size / c) admission; c re-tuned by ``best_c`` every reconf_interval requests."""

    cdef int64_t capacity, max_iteration, reconf_interval
    cdef readonly int64_t next_reconf, stat_size, reconfigurations
    cdef readonly double c
    cdef Stats window, longterm
    cdef Map size_of          # each key's size when last vetted: a hit's size
    cdef int64_t pending      # the last request's key, counted once its size is known
    cdef bint has_pending
    cdef PythonRandom rng

    def __cinit__(self):
        map_init(&self.size_of)

    def __dealloc__(self):
        map_free(&self.size_of)

    def __init__(self, int64_t capacity, int64_t max_iteration, int64_t reconf_interval, seed):
        self.capacity = capacity
        self.max_iteration = max_iteration
        self.reconf_interval = reconf_interval
        self.next_reconf = reconf_interval
        self.stat_size = 0
        self.reconfigurations = 0
        self.c = INITIAL_C
        self.window, self.longterm = Stats(), Stats()
        self.has_pending = False
        self.rng = PythonRandom(seed)

    # -- every request ------------------------------------------------------------
    def follow_capacity(self, int64_t capacity):
        """Admitted.resize: the model reads the new capacity at its next window."""
        self.capacity = capacity

    cdef void record(self, uint64_t key) noexcept:
        try:
            self.count_pending()
            self.next_reconf -= 1
            if self.next_reconf <= 0:
                self.reconfigure()
        except Exception as error:
            self.fail(error)
        self.pending, self.has_pending = <int64_t>key, True

    cdef bint admit(self, uint64_t key, int64_t size) noexcept:
        try:
            if self.has_pending and self.pending == <int64_t>key:
                self.has_pending = False
                self.count(<int64_t>key, size)
            map_set(&self.size_of, <int64_t>key, size)
        except Exception as error:
            self.fail(error)
        return self.rng.random() < exp(-size / self.c)

    cdef int count_pending(self) except -1:
        cdef int64_t size
        if self.has_pending:
            self.has_pending = False
            size = map_get(&self.size_of, self.pending)
            if size >= 0:
                self.count(self.pending, size)
        return 0

    cdef int count(self, int64_t key, int64_t size) except -1:
        cdef Py_ssize_t in_window = self.window.find(key), in_longterm = self.longterm.find(key)
        if in_window < 0 and in_longterm < 0:
            self.stat_size += size
        else:  # an object that changed size: the total follows (in each table that had it)
            if in_window >= 0 and self.window.sizes[in_window] != size:
                self.stat_size += size - self.window.sizes[in_window]
            if in_longterm >= 0 and self.longterm.sizes[in_longterm] != size:
                self.stat_size += size - self.longterm.sizes[in_longterm]
        if in_window < 0:
            in_window = self.window.add(key, 0.0, size)
        self.window.rates[in_window] += 1.0
        self.window.sizes[in_window] = size
        return 0

    # -- every window ---------------------------------------------------------------
    cdef int reconfigure(self) except -1:
        cdef Py_ssize_t row, found
        cdef double decay = EWMA_DECAY, keep = 1 - EWMA_DECAY
        cdef Stats window = self.window, longterm = self.longterm
        if self.stat_size <= MIN_CAPACITIES * self.capacity:
            self.next_reconf += LOOK_AGAIN
            return 0
        self.next_reconf = self.reconf_interval
        for row in range(longterm.n):
            longterm.rates[row] *= decay
        for row in range(window.n):
            found = longterm.find(window.keys[row])
            if found < 0:
                longterm.add(window.keys[row], window.rates[row], window.sizes[row])
            else:
                longterm.rates[found] += keep * window.rates[row]
                longterm.sizes[found] = window.sizes[row]
        window.clear()
        self.stat_size -= longterm.forget_below(FORGET_BELOW)
        rates = np.array(longterm.rates[: longterm.n], dtype=np.float64)
        sizes = np.array(longterm.sizes[: longterm.n], dtype=np.float64)
        self.c = best_c(rates, sizes, self.capacity, self.max_iteration, self.c)
        self.reconfigurations += 1
        return 0
