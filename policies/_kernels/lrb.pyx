"""LRB (policies/lrb.py) in C: Learning Relaxed Belady's per-request bookkeeping, the model kept in LightGBM.

(Over 450 lines: the policy's one state, its requests, samples, training and eviction read best in one class.)

Everything the Python policy does per request is here, on slot arrays: the
clock, the memory window's forgetting (a map from a last request's time,
modulo the window, to the uncached slot to forget then), each remembered
object's history (its last 31 inter-request distances, most recent first,
and its ten EDCs), the LRU queue, the dense lists of cached and remembered
slots that sampling draws from (swap-with-last removal, as the Python
lists), each object's pending samples (a linked list per slot over one pool)
and the training rows, gathered in one float64 matrix.

The model stays in LightGBM, called where the Python policy calls it:

* training, every ``batch_size`` labelled rows, goes through the Python
  policy's own ``fit`` (lgb.Dataset and lgb.train on the same float64
  matrix and labels: the same booster);
* prediction, at each eviction past the first model, calls LightGBM's C
  function LGBM_BoosterPredictForMat through its address in the library
  Python already loaded (policies/learned.py's ``c_predictor``), as the
  Python policy's ``predictor`` calls it through ctypes: the same function,
  the same rows, the same options, so the same scores; from C it costs no
  Python call and no array made per eviction.

The victims are the Python policy's, draw for draw: the same generator
(kernel.PythonRandom from the same seed), two draws per sampled request and
one per candidate drawn, in the same order; the same double arithmetic
(libm's pow for the EDC decays and log1p for the labels, one rounding per
operation; a build allowed to fuse multiply-adds could round the EDCs
differently, as lhd.pyx says of its floats).
"""

import numpy as np

from libc.math cimport log1p, pow
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t
from libc.string cimport memmove

from policies._kernels.kernel cimport enlarge, Kernel, PythonRandom
from policies._kernels.queues cimport after, clear, Links, move_to_back, NIL, push_back, Queue, unlink
from workloads.native.hashmap cimport Map, map_delete, map_free, map_get, map_init, map_set
from workloads.native.memory cimport __builtin_prefetch

cdef enum:
    N_DISTANCES = 31
    N_EDCS = 10
    N_FEATURES = 1 + N_DISTANCES + 1 + 1 + N_EDCS  # policies/lrb.py's row: age, distances, size, within, EDCs
    SIZE_COLUMN = N_DISTANCES + 1
    WITHIN_COLUMN = N_DISTANCES + 2
    FIRST_EDC = N_DISTANCES + 3
    FIRST_EDC_WINDOW = 1024  # EDC i halves every 2**(10 + i) requests
    MAX_DISTINCT_TRIALS = 200

cdef enum:
    N_HALVINGS = 1100  # 0.5 ** 1075 and beyond round to 0
cdef double HALVINGS[N_HALVINGS]  # HALVINGS[k] = pow(0.5, k)
for _k in range(N_HALVINGS):
    HALVINGS[_k] = pow(0.5, <double>_k)

cdef enum Label:  # what a matured sample's label measures (policies/lrb.py's _mature callers)
    NEXT_REQUEST  # the distance from the sample to the object's next request
    FORGOTTEN     # twice the window: the object was not requested again within it
    EVICTED_OLD   # evicted a window or more after its last request: that age plus the window

# LightGBM's C API (c_api.h): the booster's predictions of `nrow` rows of `ncol` features.
ctypedef int (*PredictForMat)(void* handle, const void* data, int data_type, int32_t nrow, int32_t ncol,
                              int is_row_major, int predict_type, int start_iteration, int num_iteration,
                              const char* parameter, int64_t* out_len, double* out_result) noexcept nogil
cdef enum:
    FLOAT64 = 1  # C_API_DTYPE_FLOAT64
    PREDICT_NORMAL = 0  # C_API_PREDICT_NORMAL


cdef class LRBKernel(Kernel):
    # per slot
    cdef int32_t[::1] position       # its index in `cached`, -1 when not cached
    cdef int32_t[::1] gone_position  # its index in `gone` (remembered, not cached), -1 when not
    cdef uint8_t[::1] known          # remembered (cached or not): policies/lrb.py's metas
    cdef int64_t[::1] last           # the time of its last request
    cdef int64_t[::1] awaiting       # a lookup's time that missed, for its insert; -1: none
    cdef uint8_t[::1] n_distances
    cdef int64_t[::1] distances      # N_DISTANCES per slot, most recent first
    cdef uint8_t[::1] has_edc        # 0 until its second request (the EDCs read 1 until then)
    cdef double[::1] edc             # N_EDCS per slot
    cdef int32_t[::1] first_sample, last_sample  # its pending samples, a list in the pool; -1: none
    cdef uint32_t[::1] drawn_in      # the eviction whose candidates last included it
    cdef int32_t[::1] pairs
    cdef Links links
    cdef Queue lru
    # the dense lists sampling draws from
    cdef int32_t[::1] cached, gone
    cdef Py_ssize_t n_cached, n_gone
    cdef Map forget_at               # a last request's time % window -> the uncached slot to forget then
    # the pool of pending samples: a time and the next of the same slot's
    cdef int64_t[::1] sample_time
    cdef int32_t[::1] sample_next
    cdef int32_t free_sample
    # the training rows since the last model, and their labels
    cdef double[::1] rows
    cdef double[::1] labels
    cdef Py_ssize_t n_rows
    # eviction's candidates
    cdef int32_t[::1] candidates
    cdef double[::1] candidate_rows
    cdef double[::1] scores
    cdef uint32_t evictions
    # the model
    cdef object fit                  # the Python policy's fit(rows, labels) -> booster
    cdef object booster              # the current one, kept alive while its handle is used
    cdef void* handle
    cdef PredictForMat predict_for_mat
    cdef bytes options
    cdef readonly int64_t trainings
    # parameters and state
    cdef int64_t window, max_edc_index, batch_size, now, used_units_
    cdef int32_t sample_rate
    cdef bint by_objects, sampling
    cdef PythonRandom rng

    def __init__(self, int64_t capacity, int64_t memory_window, int32_t sample_rate, int64_t batch_size,
                 bint by_objects, seed, fit, size_t predict_for_mat, bytes options):
        Kernel.__init__(self, capacity)
        self.sees_new_keys = True  # a lookup of a key never seen ticks the clock and samples
        self.window, self.sample_rate, self.batch_size, self.by_objects = memory_window, sample_rate, batch_size, by_objects
        self.max_edc_index = memory_window // FIRST_EDC_WINDOW - 1
        self.fit, self.booster, self.handle, self.options = fit, None, NULL, options
        self.predict_for_mat = <PredictForMat>predict_for_mat
        self.rng = PythonRandom(seed)
        self.now, self.used_units_, self.trainings, self.sampling = -1, 0, 0, False
        # Every per-slot array starts empty: callers grow() the kernel before they use a slot.
        self.position = self.gone_position = self.first_sample = self.last_sample = np.zeros(0, dtype=np.int32)
        self.pairs = self.cached = self.gone = self.sample_next = np.zeros(0, dtype=np.int32)
        self.last = self.awaiting = self.distances = self.sample_time = np.zeros(0, dtype=np.int64)
        self.known = self.n_distances = self.has_edc = np.zeros(0, dtype=np.uint8)
        self.edc = self.rows = self.labels = np.zeros(0)
        self.drawn_in = np.zeros(0, dtype=np.uint32)
        self.candidates = np.zeros(sample_rate, dtype=np.int32)
        self.candidate_rows = np.zeros(sample_rate * N_FEATURES)
        self.scores = np.zeros(sample_rate)
        self.n_cached = self.n_gone = self.n_rows = 0
        self.free_sample = -1
        self.evictions = 0
        clear(&self.lru)
        map_init(&self.forget_at)

    def __dealloc__(self):
        map_free(&self.forget_at)

    cdef int resize(self, int32_t n) except -1:
        Kernel.resize(self, n)
        self.position = enlarge(self.position, n, -1)
        self.gone_position = enlarge(self.gone_position, n, -1)
        self.known = enlarge(self.known, n, 0)
        self.last = enlarge(self.last, n, 0)
        self.awaiting = enlarge(self.awaiting, n, -1)
        self.n_distances = enlarge(self.n_distances, n, 0)
        self.distances = enlarge(self.distances, n * N_DISTANCES, 0)
        self.has_edc = enlarge(self.has_edc, n, 0)
        self.edc = enlarge(self.edc, n * N_EDCS, 0.0)
        self.first_sample = enlarge(self.first_sample, n, -1)
        self.last_sample = enlarge(self.last_sample, n, -1)
        self.drawn_in = enlarge(self.drawn_in, n, 0)
        self.pairs = enlarge(self.pairs, 2 * n, NIL)
        self.links.pairs = &self.pairs[0]
        self.cached = enlarge(self.cached, n, 0)
        self.gone = enlarge(self.gone, n, 0)
        return 0

    cdef void prefetch(self, int32_t slot) noexcept:
        __builtin_prefetch(&self.known[slot])
        __builtin_prefetch(&self.last[slot])

    # -- requests (policies/lrb.py's lookup, insert, _request) ------------------------------------------

    cdef bint lookup(self, int32_t slot) noexcept:
        self.request(slot)
        if self.position[slot] >= 0:
            self.awaiting[slot] = -1
            return True
        self.awaiting[slot] = self.now
        return False

    cdef void insert(self, int32_t slot, int64_t size) noexcept:
        cdef int64_t requested = self.awaiting[slot]
        if requested >= 0:
            self.awaiting[slot] = -1
        else:
            self.request(slot)  # an insert without a lookup is a request of its own
            requested = self.now
        if self.position[slot] >= 0:
            self.remove(slot)
        if size > self.capacity:
            return
        self.evict_to(self.capacity - size)
        self.admit(slot, size, requested)

    cdef void request(self, int32_t slot) noexcept:
        """A request's bookkeeping, hit or miss: the clock, forgetting, the slot's history, a sample."""
        self.now += 1
        self.forget()
        if self.known[slot]:
            if self.first_sample[slot] >= 0:
                self.mature(slot, NEXT_REQUEST)
            self.record(slot, self.now - self.last[slot])
            if self.position[slot] >= 0:
                move_to_back(&self.links, &self.lru, slot)
            else:
                map_delete(&self.forget_at, self.last[slot] % self.window)
                self.forget_slot_at(self.now, slot)
            self.last[slot] = self.now
        if self.sampling:
            self.sample()

    cdef void record(self, int32_t slot, int64_t distance) noexcept:
        """Add an inter-request distance to the slot's history and decay its EDCs."""
        cdef int64_t* distances = &self.distances[slot * N_DISTANCES]
        cdef double* edc = &self.edc[slot * N_EDCS]
        cdef int32_t n = self.n_distances[slot], i
        memmove(distances + 1, distances, (n if n < N_DISTANCES else N_DISTANCES - 1) * sizeof(int64_t))
        distances[0] = distance
        if n < N_DISTANCES:
            self.n_distances[slot] = n + 1
        for i in range(N_EDCS):
            if self.has_edc[slot]:
                edc[i] = edc[i] * self.decay(distance, i) + 1.0
            else:
                edc[i] = self.decay(distance, i) + 1.0
        self.has_edc[slot] = 1

    cdef inline double decay(self, int64_t age, int32_t i) noexcept:
        """2**-(age // window), the age capped at the window's end, as libm's pow computes it (as Python's).

        Ten per feature row, 64 rows per eviction: the common ones come from a table of pow's own values.
        """
        cdef int64_t steps = age // (<int64_t>FIRST_EDC_WINDOW << i)
        if steps > self.max_edc_index:
            steps = self.max_edc_index
        return HALVINGS[steps] if steps < N_HALVINGS else pow(0.5, <double>steps)

    cdef void forget(self) noexcept:
        """Forget the uncached slot last requested exactly a window ago; its samples label "far"."""
        cdef int64_t at = self.now % self.window
        cdef int32_t slot = <int32_t>map_get(&self.forget_at, at)
        if slot < 0:
            return
        map_delete(&self.forget_at, at)
        self.known[slot] = 0
        self.unlist_gone(slot)
        if self.first_sample[slot] >= 0:
            self.mature(slot, FORGOTTEN)

    cdef void forget_slot_at(self, int64_t last, int32_t slot) noexcept:
        try:
            map_set(&self.forget_at, last % self.window, slot)
        except MemoryError as error:
            self.fail(error)

    cdef void sample(self) noexcept:
        """Sample one remembered slot, cached or not, as a future training row."""
        cdef Py_ssize_t n_in = self.n_cached, n_out = self.n_gone
        cdef int32_t slot
        if n_in + n_out == 0:
            return
        if self.rng.random() * <double>(n_in + n_out) < <double>n_in:
            slot = self.cached[<Py_ssize_t>(self.rng.random() * <double>n_in)]
        else:
            slot = self.gone[<Py_ssize_t>(self.rng.random() * <double>n_out)]
        self.add_sample(slot, self.now)

    cdef void admit(self, int32_t slot, int64_t size, int64_t requested) noexcept:
        """Cache the slot, requested at time `requested` (now, or a timed model's earlier lookup)."""
        if not self.known[slot]:
            self.known[slot] = 1
            self.last[slot] = requested
            self.n_distances[slot] = 0
            self.has_edc[slot] = 0
        else:  # remembered: it comes back into the cache
            map_delete(&self.forget_at, self.last[slot] % self.window)
            self.unlist_gone(slot)
        self.size_of[slot] = size
        self.used_units_ += size
        push_back(&self.links, &self.lru, slot, size)
        self.position[slot] = self.n_cached
        self.cached[self.n_cached] = slot
        self.n_cached += 1

    # -- samples and training -------------------------------------------------------------------------

    cdef void add_sample(self, int32_t slot, int64_t time) noexcept:
        cdef int32_t sample = self.free_sample
        if sample < 0:
            try:
                sample = self.more_samples()
            except MemoryError as error:
                self.fail(error)
                return
        self.free_sample = self.sample_next[sample]
        self.sample_time[sample] = time
        self.sample_next[sample] = -1
        if self.first_sample[slot] < 0:
            self.first_sample[slot] = sample
        else:
            self.sample_next[self.last_sample[slot]] = sample
        self.last_sample[slot] = sample

    cdef int32_t more_samples(self) except -1:
        """Double the pool (it is empty of free samples); the first new one."""
        cdef Py_ssize_t n = self.sample_time.shape[0], bigger = max(2 * n, 1024), i
        if bigger > 2**31 - 1:
            raise MemoryError("more than 2**31 - 1 pending samples")
        self.sample_time = enlarge(self.sample_time, bigger, 0)
        self.sample_next = enlarge(self.sample_next, bigger, -1)
        for i in range(n, bigger - 1):
            self.sample_next[i] = <int32_t>(i + 1)
        self.free_sample = <int32_t>n
        return <int32_t>n

    cdef void drop_samples(self, int32_t slot) noexcept:
        """Give the slot's samples back to the pool."""
        cdef int32_t first = self.first_sample[slot]
        if first >= 0:
            self.sample_next[self.last_sample[slot]] = self.free_sample
            self.free_sample = first
            self.first_sample[slot] = self.last_sample[slot] = -1

    cdef void mature(self, int32_t slot, Label label) noexcept:
        """Turn the slot's samples into training rows; train when a batch is complete."""
        cdef int32_t sample = self.first_sample[slot]
        cdef int64_t distance
        while sample >= 0:
            if self.n_rows == self.labels.shape[0]:
                try:
                    self.more_rows()
                except MemoryError as error:
                    self.fail(error)
                    return
            self.features(slot, self.sample_time[sample], &self.rows[self.n_rows * N_FEATURES])
            if label == NEXT_REQUEST:
                distance = self.now - self.sample_time[sample]
            elif label == FORGOTTEN:
                distance = 2 * self.window
            else:
                distance = self.now - self.last[slot] + self.window
            self.labels[self.n_rows] = log1p(<double>distance)
            self.n_rows += 1
            sample = self.sample_next[sample]
        self.drop_samples(slot)
        if self.n_rows >= self.batch_size:
            self.train()

    cdef int more_rows(self) except -1:
        cdef Py_ssize_t bigger = max(2 * self.labels.shape[0], 1024)
        self.rows = enlarge(self.rows, bigger * N_FEATURES, 0.0)
        self.labels = enlarge(self.labels, bigger, 0.0)
        return 0

    cdef void features(self, int32_t slot, int64_t at, double* row) noexcept:
        """policies/lrb.py's features(meta, at): the slot's row as of time `at`."""
        cdef int64_t age = at - self.last[slot], total = 0
        cdef int64_t* distances = &self.distances[slot * N_DISTANCES]
        cdef double* edc = &self.edc[slot * N_EDCS]
        cdef int32_t n = self.n_distances[slot], i, within = 0
        row[0] = <double>age
        for i in range(N_DISTANCES):
            if i < n:
                row[1 + i] = <double>distances[i]
                total += distances[i]
                within += total < self.window
            else:
                row[1 + i] = 0.0
        row[SIZE_COLUMN] = <double>self.size_of[slot]
        row[WITHIN_COLUMN] = <double>within
        for i in range(N_EDCS):
            row[FIRST_EDC + i] = (edc[i] if self.has_edc[slot] else 1.0) * self.decay(age, i)

    cdef void train(self) noexcept:
        """A fresh model from the rows gathered (the Python policy's fit), then a new batch."""
        cdef object rows = np.asarray(self.rows)[: self.n_rows * N_FEATURES].reshape(self.n_rows, N_FEATURES)
        cdef object labels = np.asarray(self.labels)[: self.n_rows]
        try:
            booster = self.fit(rows, labels)
            self.handle = <void*><size_t>booster._handle.value
        except Exception as error:
            self.fail(error)
            return
        self.booster = booster
        self.trainings += 1
        self.n_rows = 0

    # -- eviction ---------------------------------------------------------------------------------------

    EVICTS_TO = True

    cdef void evict_to(self, int64_t units) noexcept:
        """Evict, as an insert makes room, until at most `units` are used (a resize is no request)."""
        cdef int32_t victim
        while self.used_units_ > units:
            victim = self.victim()
            if victim < 0:  # the model failed (recorded)
                return
            self.evict(victim)
            self.report(victim)

    cdef int32_t victim(self) noexcept:
        """The LRU slot before the first model or past the window; else the candidate predicted furthest."""
        cdef int32_t oldest = self.lru.head, i, best = 0
        cdef int64_t length = 0
        cdef double* scores = &self.scores[0]
        if self.handle == NULL or self.now - self.last[oldest] >= self.window:
            return oldest
        self.draw_candidates()
        for i in range(self.sample_rate):
            self.features(self.candidates[i], self.now, &self.candidate_rows[i * N_FEATURES])
        if self.predict_for_mat(self.handle, &self.candidate_rows[0], FLOAT64, self.sample_rate, N_FEATURES, 1,
                                PREDICT_NORMAL, 0, -1, self.options, &length, scores) or length != self.sample_rate:
            self.fail(RuntimeError("LightGBM's prediction failed"))
            return -1
        for i in range(self.sample_rate):
            if self.by_objects:
                scores[i] = scores[i] * self.candidate_rows[i * N_FEATURES + SIZE_COLUMN]
            if scores[i] > scores[best]:
                best = i
        return self.candidates[best]

    cdef void draw_candidates(self) noexcept:
        """`sample_rate` cached slots drawn at random, distinct unless 200 draws could not find them."""
        cdef int32_t chosen = 0, trials = 0, slot
        self.evictions += 1
        if self.evictions == 0:  # the marks wrapped: none counts
            self.drawn_in[:] = 0
            self.evictions = 1
        while chosen < self.sample_rate:
            trials += 1
            slot = self.cached[<Py_ssize_t>(self.rng.random() * <double>self.n_cached)]
            if self.drawn_in[slot] == self.evictions and trials < MAX_DISTINCT_TRIALS:
                continue
            self.drawn_in[slot] = self.evictions
            self.candidates[chosen] = slot
            chosen += 1
            # Its history is rarely in the processor's cache: ask for it now, all the candidates' at once.
            __builtin_prefetch(&self.distances[slot * N_DISTANCES])
            __builtin_prefetch(&self.distances[slot * N_DISTANCES + 8])
            __builtin_prefetch(&self.distances[slot * N_DISTANCES + 16])
            __builtin_prefetch(&self.distances[slot * N_DISTANCES + 24])
            __builtin_prefetch(&self.edc[slot * N_EDCS])
            __builtin_prefetch(&self.edc[slot * N_EDCS + 8])
            __builtin_prefetch(&self.last[slot])
            __builtin_prefetch(&self.size_of[slot])

    cdef void evict(self, int32_t slot) noexcept:
        """Evict: remembered as uncached, or forgotten if its last request is a window old."""
        self.sampling = True
        self.uncache(slot)
        if self.now - self.last[slot] >= self.window:
            self.known[slot] = 0
            if self.first_sample[slot] >= 0:
                self.mature(slot, EVICTED_OLD)
        else:
            self.forget_slot_at(self.last[slot], slot)
            self.gone_position[slot] = self.n_gone
            self.gone[self.n_gone] = slot
            self.n_gone += 1

    cdef void uncache(self, int32_t slot) noexcept:
        """Out of the LRU queue and the dense list of cached slots (the last one fills its place)."""
        cdef Py_ssize_t index = self.position[slot]
        cdef int32_t moved
        self.used_units_ -= self.size_of[slot]
        unlink(&self.links, &self.lru, slot, self.size_of[slot])
        self.n_cached -= 1
        moved = self.cached[self.n_cached]
        self.cached[index] = moved
        self.position[moved] = index
        self.position[slot] = -1

    cdef void unlist_gone(self, int32_t slot) noexcept:
        cdef Py_ssize_t index = self.gone_position[slot]
        cdef int32_t moved
        self.n_gone -= 1
        moved = self.gone[self.n_gone]
        self.gone[index] = moved
        self.gone_position[moved] = index
        self.gone_position[slot] = -1

    # -- the rest of the interface ------------------------------------------------------------------------

    cdef bint remove(self, int32_t slot) noexcept:
        """Forget the slot entirely, cached or remembered, with its samples."""
        self.awaiting[slot] = -1
        if not self.known[slot]:
            return False
        self.known[slot] = 0
        self.drop_samples(slot)
        if self.position[slot] < 0:
            map_delete(&self.forget_at, self.last[slot] % self.window)
            self.unlist_gone(slot)
            return False
        self.uncache(slot)
        return True

    cdef bint contains(self, int32_t slot) noexcept:
        return self.position[slot] >= 0

    cdef bint holds(self, int32_t slot) noexcept:
        """Remembered (cached or not), or looked up and awaiting its insert."""
        return self.known[slot] or self.awaiting[slot] >= 0

    cdef int64_t used(self) noexcept:
        return self.used_units_

    cdef Py_ssize_t count(self) noexcept:
        return self.n_cached

    def order(self):
        """The cached slots, least recently used first (the Python policy's keys())."""
        cdef list slots = []
        cdef int32_t slot = self.lru.head
        while slot != NIL:
            slots.append(slot)
            slot = after(&self.links, slot)
        return slots
