"""3L-Cache (policies/threelcache.py) in C: the bookkeeping per request, the model from Python.

(Over 450 lines: one policy, checked line by line against its Python reference; the parts
share the kernel's state too closely to split.)

Every method names its twin in the reference and makes the same decisions in
the same order: the same generator (libstdc++'s minstd_rand0 drawn through
uniform_int_distribution<size_t>, ``draw64``), the same circular queue over
positions that an eviction fills with the last one, the same history of
evicted objects with its empty entries, the same max-heap of float32 reuse
times with std::pop_heap's ties, the same uint8, uint16 and wrapping uint64
integers.  A Meta of the reference is a slot's entries in the per-slot arrays.

LightGBM stays in Python, where the paper calls it: every ``batch_size``
training rows the kernel hands them (as the reference's sparse rows: float64
values, int32 indices and offsets, float64 labels) to ``fit``, which trains a
booster as the reference does and returns it with a function of dense rows to
predictions; at an eviction that needs a new batch of predictions the kernel
builds the candidates' dense rows (the reference's) and calls that function
once, then ``reuse_times`` (the reference's own) turns the scores into float32
reuse times.  Those two calls per batch of about 1% of the queue cost a few
microseconds each, against the batch's prediction itself, so they stay Python.

A slot the kernel still names anywhere (cached, in the history, in the list of
new objects or in the heap of predictions) is held: a caller that recycles
slots (policies/_kernels/slots.pyx) must not give it to another key, which the
reference, keyed by keys, would tell apart.
"""

import numpy as np

from cpython.mem cimport PyMem_Free
from libc.math cimport ceil, log1p
from libc.stdint cimport int32_t, int64_t, uint8_t, uint64_t, UINT64_MAX
from libc.string cimport memmove

from policies._kernels.kernel cimport enlarge, Kernel
from workloads.native.memory cimport __builtin_prefetch, grow

cdef enum:
    N_PAST_DISTANCES = 3
    N_FEATURES = 6
    SIZE_FEATURE = 4
    COUNT_FEATURE = 5
    EVICTION_RATE = 2
    MAX_HSW = 6
    FULL_SAMPLE_RATE = 1024
    HISTORY_COMPACTION = 4096

# what the kernel knows of a slot (the reference's key_map entry)
cdef enum:
    UNKNOWN = 0    # not in key_map
    CACHED = 1     # where: its queue position
    REMEMBERED = 2 # where: its index in the history of evicted objects

# minstd_rand0 and libstdc++'s uniform_int_distribution<size_t> (the reference's MinstdDraws.draw64)
cdef uint64_t MODULUS = 2147483647
cdef uint64_t SPAN = MODULUS - 2 + 1                   # the engine's outputs, 1 .. 2**31 - 2, less its minimum: 0 .. SPAN - 1
cdef uint64_t TOP_1 = UINT64_MAX // SPAN
cdef uint64_t TOP_2 = TOP_1 // SPAN
cdef uint64_t SCALING = (SPAN - 1) // (TOP_2 + 1)
cdef uint64_t PAST = (TOP_2 + 1) * SCALING


ctypedef struct Prediction:
    float reuse
    int32_t slot


cdef inline int32_t wrap32(int64_t value) noexcept:
    """The reference's _int32: the low 32 bits, as a signed number."""
    return <int32_t>(<uint64_t>value & 0xFFFFFFFF)


cdef inline int32_t log2_floor(int64_t count) noexcept:
    """int(math.log2(count)) for a count of 1 .. 65535 (exact there: no power of two is rounded to)."""
    cdef int32_t bits = 0
    while count > 1:
        count >>= 1
        bits += 1
    return bits


cdef inline int64_t batch_rate(int64_t queue_length) noexcept:
    """1% of the queue plus the eviction rate (1 for a queue of 2 objects or fewer)."""
    return <int64_t>(<double>queue_length * 0.01 + EVICTION_RATE) if queue_length > 2 else 1


cdef class ThreeLCacheKernel(Kernel):
    # per slot: the reference's Meta
    cdef uint8_t[::1] state
    cdef int64_t[::1] where           # queue position (CACHED) or history index (REMEMBERED)
    cdef int64_t[::1] last
    cdef int64_t[::1] sampled
    cdef int32_t[::1] counts          # requests, to 65,535
    cdef int32_t[::1] distances       # three per slot, a ring
    cdef uint8_t[::1] has_distances
    cdef uint8_t[::1] next_distance
    cdef float[::1] prediction        # pred_map's value, where `predicted`
    cdef uint8_t[::1] predicted
    cdef int32_t[::1] references      # entries in the new-object list and the heap
    # per queue position: the circular list
    cdef int32_t[::1] queue_slot
    cdef int32_t[::1] prev
    cdef int32_t[::1] next
    cdef int64_t n_queue
    cdef int32_t head, tail
    # growing blocks: the history, the new objects, the heap, the training rows, the candidates
    cdef int32_t* history             # slots, -1 for an empty entry; [history_start, n_history) live
    cdef Py_ssize_t n_history, history_start, history_room
    cdef int64_t history_front
    cdef int32_t* new_slots
    cdef int64_t* new_sizes
    cdef Py_ssize_t n_new, new_start, new_room
    cdef Prediction* heap
    cdef Py_ssize_t n_heap, heap_room, n_predicted
    cdef double* values
    cdef int32_t* indices
    cdef Py_ssize_t n_values, values_room
    cdef int32_t* indptr
    cdef double* labels
    cdef Py_ssize_t n_labels, labels_room
    cdef int32_t* candidates
    cdef Py_ssize_t n_candidates, candidates_room
    # the model
    cdef object fit, reuse_times, predict
    cdef readonly object booster      # the last model (the predictions' function holds only its handle)
    cdef readonly int64_t trainings
    cdef bint trained, object_objective
    cdef int64_t batch_size
    cdef uint64_t random_state
    # the reference's scalars
    cdef int64_t used_units_, now, evict_budget, sample_rate, scan_length, queue_length, pointer_time
    cdef int64_t time_base, n_req, n_hit, n_window_hit
    cdef uint64_t new_bytes
    cdef int32_t scan_pointer, sample_boundary, hsw
    cdef uint8_t sampling_lru, reserved_space
    cdef bint sampling, window_full
    cdef int64_t eviction_counts[4]   # (C arrays of a cdef class start zeroed)
    cdef int64_t evicted_by_count[16]
    cdef int64_t boundary[2]

    def __init__(self, int64_t capacity, bint object_objective, int64_t batch_size, uint64_t random_state,
                 fit, reuse_times):
        Kernel.__init__(self, capacity)
        self.sees_new_keys = True  # every lookup ticks the clock, samples and trims the history
        self.state = np.zeros(0, dtype=np.uint8)
        self.where = np.zeros(0, dtype=np.int64)
        self.last = np.zeros(0, dtype=np.int64)
        self.sampled = np.zeros(0, dtype=np.int64)
        self.counts = np.zeros(0, dtype=np.int32)
        self.distances = np.zeros(0, dtype=np.int32)
        self.has_distances = np.zeros(0, dtype=np.uint8)
        self.next_distance = np.zeros(0, dtype=np.uint8)
        self.prediction = np.zeros(0, dtype=np.float32)
        self.predicted = np.zeros(0, dtype=np.uint8)
        self.references = np.zeros(0, dtype=np.int32)
        self.queue_slot = np.zeros(0, dtype=np.int32)
        self.prev = np.zeros(0, dtype=np.int32)
        self.next = np.zeros(0, dtype=np.int32)
        self.n_queue = 0
        self.head = self.tail = -1
        self.fit, self.reuse_times, self.predict, self.booster = fit, reuse_times, None, None
        self.trainings = 0
        self.trained = False
        self.object_objective = object_objective
        self.batch_size = batch_size
        self.random_state = random_state
        self.used_units_ = 0
        self.now = -1
        self.evict_budget = 0
        self.sampling = False
        self.sample_rate = FULL_SAMPLE_RATE
        self.sample_boundary = 65535 if object_objective else 1
        self.sampling_lru = 1
        self.reserved_space = 2
        self.scan_pointer = 0
        self.scan_length = self.queue_length = self.pointer_time = 0
        self.new_bytes = 0
        self.time_base = 0
        self.hsw = 2
        self.window_full = False
        self.n_req = self.n_hit = self.n_window_hit = 0
        self.room_for_row()  # indptr[0] = 0, as the reference's [0]

    def __dealloc__(self):
        PyMem_Free(self.history)
        PyMem_Free(self.new_slots)
        PyMem_Free(self.new_sizes)
        PyMem_Free(self.heap)
        PyMem_Free(self.values)
        PyMem_Free(self.indices)
        PyMem_Free(self.indptr)
        PyMem_Free(self.labels)
        PyMem_Free(self.candidates)

    cdef int resize(self, int32_t n) except -1:
        Kernel.resize(self, n)
        self.state = enlarge(self.state, n, UNKNOWN)
        self.where = enlarge(self.where, n, 0)
        self.last = enlarge(self.last, n, 0)
        self.sampled = enlarge(self.sampled, n, 0)
        self.counts = enlarge(self.counts, n, 0)
        self.distances = enlarge(self.distances, N_PAST_DISTANCES * n, 0)
        self.has_distances = enlarge(self.has_distances, n, 0)
        self.next_distance = enlarge(self.next_distance, n, 1)
        self.prediction = enlarge(self.prediction, n, 0)
        self.predicted = enlarge(self.predicted, n, 0)
        self.references = enlarge(self.references, n, 0)
        # a position per cached object: at most one per slot
        self.queue_slot = enlarge(self.queue_slot, n, 0)
        self.prev = enlarge(self.prev, n, 0)
        self.next = enlarge(self.next, n, 0)
        return 0

    cdef void prefetch(self, int32_t slot) noexcept:
        __builtin_prefetch(&self.state[slot])
        __builtin_prefetch(&self.last[slot])

    cdef uint64_t output(self) noexcept:
        self.random_state = self.random_state * 16807 % MODULUS
        return self.random_state - 1

    cdef uint64_t draw(self) noexcept:
        """MinstdDraws.draw64: 0 .. 4 scaled down from one output, then twice scaled up."""
        cdef uint64_t value, high, middle
        while True:
            while True:
                while True:
                    value = self.output()
                    if value < PAST:
                        break
                high = SPAN * (value // SCALING)
                middle = high + self.output()
                if middle <= TOP_1 and middle >= high:
                    break
            high = SPAN * middle
            value = high + self.output()  # wraps as the reference's & MASK64
            if value >= high:
                return value

    # -- the interface ---------------------------------------------------------------------------------

    cdef bint lookup(self, int32_t slot) noexcept:
        cdef bint hit = False
        cdef int32_t position
        self.now += 1
        if self.window_full:
            self.n_req += 1
        if self.state[slot] != UNKNOWN:
            hit = self.state[slot] == CACHED
            if self.window_full:
                self.n_hit += hit
                self.n_window_hit += 1
            if self.sampled[slot]:
                if self.draw() % 4 == 0 or not self.trained:
                    self.learn(slot, self.sampled[slot], wrap32(self.now - self.sampled[slot]))
            self.sampled[slot] = 0
            self.touch(slot)
            if hit:
                position = <int32_t>self.where[slot]
                if self.scan_pointer == position:
                    self.scan_pointer = self.next[position]
                self.forget_prediction(slot)
                self.requeue(position)
        if self.sampling:
            self.sample()
        self.trim_history()
        return hit

    cdef void insert(self, int32_t slot, int64_t size) noexcept:
        if self.state[slot] == CACHED:
            self.remove(slot)
        if size > self.capacity:
            return
        self.evict_to(self.capacity - size)
        self.admit(slot, size)

    EVICTS_TO = True

    cdef void evict_to(self, int64_t units) noexcept:
        cdef int32_t position, slot
        while self.used_units_ > units and self.n_queue:  # (an empty queue: the reference's evict_to raises)
            position = self.choose_victim()
            slot = self.queue_slot[position]
            self.evict(slot, position)
            self.report(slot)

    cdef bint remove(self, int32_t slot) noexcept:
        """Forget the slot, cached or in the history; whether it was cached."""
        cdef uint8_t state = self.state[slot]
        if state == UNKNOWN:
            return False
        self.state[slot] = UNKNOWN
        if state == REMEMBERED:
            self.history[self.history_position(slot)] = -1
            return False
        self.used_units_ -= self.size_of[slot]
        self.forget_prediction(slot)
        if self.scan_pointer == self.where[slot]:
            self.scan_pointer = self.next[self.where[slot]]
        self.unlink(<int32_t>self.where[slot])
        return True

    cdef bint contains(self, int32_t slot) noexcept:
        return self.state[slot] == CACHED

    cdef bint holds(self, int32_t slot) noexcept:
        return self.state[slot] != UNKNOWN or self.references[slot] > 0

    cdef int64_t used(self) noexcept:
        return self.used_units_

    cdef Py_ssize_t count(self) noexcept:
        return self.n_queue

    def order(self):
        """The cached slots from the queue's head, as the reference's keys()."""
        cdef list slots = []
        cdef int32_t position = self.head
        for _ in range(self.n_queue):
            slots.append(self.queue_slot[position])
            position = self.next[position]
        return slots

    @property
    def trained_model(self):
        """Whether a model was trained (the reference's ``booster is not None``)."""
        return self.trained

    # -- an object's features: Meta.touch and Meta.row ---------------------------------------------------

    cdef void touch(self, int32_t slot) noexcept:
        cdef int32_t distance = wrap32(self.now - self.last[slot])
        cdef uint8_t next_distance = self.next_distance[slot]
        if not self.has_distances[slot]:
            self.distances[N_PAST_DISTANCES * slot] = distance
            self.has_distances[slot] = 1
        else:
            self.distances[N_PAST_DISTANCES * slot + next_distance % N_PAST_DISTANCES] = distance
            next_distance += 1
            if next_distance >= 2 * N_PAST_DISTANCES:
                next_distance -= N_PAST_DISTANCES
            self.next_distance[slot] = next_distance
        self.last[slot] = self.now
        if self.counts[slot] < 65535:
            self.counts[slot] += 1

    cdef inline int32_t n_distances(self, int32_t slot) noexcept:
        if not self.has_distances[slot]:
            return 0
        return min(self.next_distance[slot], N_PAST_DISTANCES)

    cdef inline int32_t distance(self, int32_t slot, int32_t j) noexcept:
        """The j-th most recent distance."""
        return self.distances[N_PAST_DISTANCES * slot + (self.next_distance[slot] - 1 - j) % N_PAST_DISTANCES]

    # -- the queue: _enqueue, _requeue, _unlink ----------------------------------------------------------

    cdef void enqueue(self, int32_t position) noexcept:
        if self.head == -1:
            self.head = self.tail = position
            self.prev[position] = self.next[position] = position
        else:
            self.next[self.tail] = position
            self.prev[self.head] = position
            self.prev[position] = self.tail
            self.next[position] = self.head
            self.tail = position

    cdef void requeue(self, int32_t position) noexcept:
        cdef int32_t after, before
        if position == self.head:
            self.tail = self.head
            self.head = self.next[self.head]
        elif position != self.tail:
            after, before = self.next[position], self.prev[position]
            self.next[before] = after
            self.prev[after] = before
            self.next[position] = self.head
            self.prev[self.head] = position
            self.prev[position] = self.tail
            self.next[self.tail] = position
            self.tail = position

    cdef void unlink(self, int32_t position) noexcept:
        """Take a position out of the circle; the object at the last position moves into it."""
        cdef int32_t after = self.next[position], before = self.prev[position], moved
        cdef int32_t last = <int32_t>(self.n_queue - 1)
        if position == self.head:
            self.head = after
        elif position == self.tail:
            self.tail = before
        self.next[before] = after
        self.prev[after] = before
        if position != last:
            if self.scan_pointer == last:
                self.scan_pointer = position
            if self.next[last] == last:
                self.prev[last] = self.next[last] = position
            else:
                self.next[self.prev[last]] = position
                self.prev[self.next[last]] = position
            moved = self.queue_slot[last]
            self.where[moved] = position
            self.queue_slot[position] = moved
            self.prev[position] = self.prev[last]
            self.next[position] = self.next[last]
            if self.tail == last:
                self.tail = position
            if self.head == last:
                self.head = position
        self.n_queue -= 1

    cdef void admit(self, int32_t slot, int64_t size) noexcept:
        cdef int32_t position = <int32_t>self.n_queue
        if self.trained and not self.remember_new(slot, size):
            return
        if self.state[slot] == UNKNOWN:  # a new Meta
            self.last[slot] = self.now
            self.counts[slot] = 1
            self.has_distances[slot] = 0
            self.next_distance[slot] = 1
            self.sampled[slot] = 0
        else:  # back from the history: its entry there stays, empty
            self.history[self.history_position(slot)] = -1
        self.size_of[slot] = size
        self.state[slot] = CACHED
        self.where[slot] = position
        self.queue_slot[position] = slot
        self.n_queue += 1
        self.enqueue(position)
        self.used_units_ += size

    cdef bint remember_new(self, int32_t slot, int64_t size) noexcept:
        """Append to the new objects (the reference's new_keys, new_sizes, new_bytes); False if no memory."""
        try:
            if self.n_new == self.new_room:
                grow(<void**>&self.new_slots, self.new_room, max(64, 2 * self.new_room), sizeof(int32_t))
                grow(<void**>&self.new_sizes, self.new_room, max(64, 2 * self.new_room), sizeof(int64_t))
                self.new_room = max(64, 2 * self.new_room)
        except MemoryError as error:
            self.fail(error)
            return False
        self.new_slots[self.n_new] = slot
        self.new_sizes[self.n_new] = size
        self.n_new += 1
        self.references[slot] += 1
        self.new_bytes += <uint64_t>size
        return True

    # -- training samples: _sample, _trim_history, _learn, _train, _adapt_history ------------------------

    cdef inline Py_ssize_t history_position(self, int32_t slot) noexcept:
        return <Py_ssize_t>(self.where[slot] - self.history_front) + self.history_start

    cdef void sample(self) noexcept:
        """Mark one random object, cached or in the history, with the time (if not marked already)."""
        cdef uint64_t cached = <uint64_t>self.n_queue
        cdef uint64_t total = cached + <uint64_t>(self.n_history - self.history_start)
        cdef uint64_t position
        cdef int32_t slot
        if total == 0:
            return
        position = self.draw() % total
        if position < cached:
            slot = self.queue_slot[position]
        else:
            slot = self.history[self.history_start + <Py_ssize_t>(position - cached)]
        if slot >= 0 and self.sampled[slot] == 0:
            self.sampled[slot] = self.now

    cdef void trim_history(self) noexcept:
        """Drop the history's oldest entry when it holds (hsw - 1) times the cached objects (plus 2)."""
        cdef int32_t slot
        cdef int64_t waited
        if self.n_history - self.history_start < self.n_queue * (self.hsw - 1) + 2:
            return
        self.window_full = True
        slot = self.history[self.history_start]
        if slot >= 0 and self.size_of[slot] != 0:
            if self.sampled[slot] and (self.draw() % 4 == 0 or not self.trained):
                waited = self.now - self.last[slot]
                self.boundary[1] = max(self.boundary[1], waited)
                self.learn(slot, self.sampled[slot], wrap32(self.boundary[0] + waited))
            self.state[slot] = UNKNOWN
        self.history_start += 1
        self.history_front += 1
        if self.history_start > HISTORY_COMPACTION and 2 * self.history_start > self.n_history:
            memmove(self.history, self.history + self.history_start,
                    (self.n_history - self.history_start) * sizeof(int32_t))
            self.n_history -= self.history_start
            self.history_start = 0

    cdef int room_for_row(self) except -1:
        """Room for one more training row (at most N_FEATURES values) and its offset."""
        cdef Py_ssize_t room
        if self.n_values + N_FEATURES > self.values_room:
            room = max(1024, 2 * self.values_room)
            grow(<void**>&self.values, self.values_room, room, sizeof(double))
            grow(<void**>&self.indices, self.values_room, room, sizeof(int32_t))
            self.values_room = room
        if self.n_labels + 2 > self.labels_room:
            room = max(256, 2 * self.labels_room)
            grow(<void**>&self.labels, self.labels_room, room, sizeof(double))
            grow(<void**>&self.indptr, self.labels_room, room, sizeof(int32_t))
            self.labels_room = room
        return 0

    cdef inline void add_value(self, int32_t index, double value) noexcept:
        self.indices[self.n_values] = index
        self.values[self.n_values] = value
        self.n_values += 1

    cdef void learn(self, int32_t slot, int64_t sampled_at, int32_t distance) noexcept:
        """One training row: the features the object had when it was sampled, log1p(distance) as label."""
        cdef int32_t j
        try:
            self.room_for_row()
        except MemoryError as error:
            self.fail(error)
            return
        self.add_value(0, <double>(<uint64_t>(sampled_at - self.last[slot])))
        for j in range(self.n_distances(slot)):
            self.add_value(j + 1, <double>self.distance(slot, j))
        self.add_value(SIZE_FEATURE, <double>self.size_of[slot])
        self.add_value(COUNT_FEATURE, <double>self.counts[slot])
        self.n_labels += 1
        self.indptr[self.n_labels] = <int32_t>self.n_values
        self.labels[self.n_labels - 1] = log1p(<double>distance)
        if self.n_labels >= self.batch_size and self.evict_budget <= 0:
            self.train()

    cdef void train(self) noexcept:
        try:
            self.booster, self.predict = self.fit(
                np.array(<double[:self.n_values]>self.values),
                np.array(<int32_t[:self.n_values]>self.indices),
                np.array(<int32_t[:self.n_labels + 1]>self.indptr),
                np.array(<double[:self.n_labels]>self.labels),
            )
        except BaseException as error:  # the model library's failure, or no memory: the caller raises it
            self.fail(error)
            return
        self.trained = True
        self.trainings += 1
        self.n_labels = self.n_values = 0
        self.clear_predictions()
        self.boundary[0] = self.boundary[1]
        self.time_base = self.now
        self.adapt_history()

    cdef void adapt_history(self) noexcept:
        """After a million requests with a full history: grow it while it adds more than 1% to the hits."""
        cdef int64_t extra, denominator
        cdef double gain
        if not (self.n_req > 1000000 and self.window_full):
            return
        extra = self.n_window_hit - self.n_hit
        denominator = self.n_hit * (self.hsw - 1)
        if denominator:
            gain = <double>extra / <double>denominator
        else:
            gain = float("inf") if extra else float("nan")
        if gain > 0.01:
            if self.hsw - 1 < (self.n_req - self.n_hit) // extra:
                self.hsw += 1
                self.window_full = False
            self.hsw = min(self.hsw, MAX_HSW)
        self.n_hit = self.n_window_hit = self.n_req = 0

    # -- eviction: _choose_victim, _evict ----------------------------------------------------------------

    cdef int32_t choose_victim(self) noexcept:
        """The position to evict: the queue's head before any training, else the prediction heap's top."""
        cdef Prediction top
        cdef int32_t slot
        if self.trained:
            if self.evict_budget <= 0 or self.n_predicted == 0:
                self.evict_budget = self.rank() // EVICTION_RATE
            while self.n_heap:
                top = self.heap_pop()
                self.references[top.slot] -= 1
                if self.predicted[top.slot] and self.prediction[top.slot] == top.reuse:  # not stale
                    slot = top.slot
                    self.evicted_by_count[log2_floor(self.counts[slot])] += 1
                    if self.last[slot] <= self.pointer_time:
                        self.eviction_counts[0] += 1
                    return <int32_t>self.where[slot]
        return self.head

    cdef void evict(self, int32_t slot, int32_t position) noexcept:
        """Move the object at `position` from the cache to the history's end."""
        self.sampling = True
        self.evict_budget -= 1
        self.used_units_ -= self.size_of[slot]
        self.forget_prediction(slot)
        if self.scan_pointer == position:
            self.scan_pointer = self.next[position]
        try:
            if self.n_history == self.history_room:
                grow(<void**>&self.history, self.history_room, max(256, 2 * self.history_room), sizeof(int32_t))
                self.history_room = max(256, 2 * self.history_room)
        except MemoryError as error:  # the object leaves without a history entry
            self.fail(error)
            self.state[slot] = UNKNOWN
            self.unlink(position)
            return
        self.state[slot] = REMEMBERED
        self.where[slot] = (self.n_history - self.history_start) + self.history_front
        self.history[self.n_history] = slot
        self.n_history += 1
        self.unlink(position)

    # -- a batch of predictions: _rank, _quick_demotion, _scan, _end_pass, _fit_boundary, _predict ---------

    cdef int64_t rank(self) noexcept:
        """Predict for a batch of candidates (new objects first, then the scan); how many were predicted."""
        if self.queue_length == 0:
            self.queue_length = self.n_queue
        if <double>self.sample_rate >= <double>self.queue_length * 0.01 + EVICTION_RATE:
            self.sample_rate = batch_rate(self.queue_length)
        self.n_candidates = 0
        self.quick_demotion()
        if self.new_bytes < <uint64_t>(self.used_units_ * self.reserved_space // 10):
            self.scan()
            if self.n_candidates:
                self.pointer_time = self.last[self.queue_slot[self.candidates[self.n_candidates - 1]]]
            self.eviction_counts[1] += self.sample_rate
        self.predict_candidates()
        return self.n_candidates

    cdef bint add_candidate(self, int32_t position) noexcept:
        try:
            if self.n_candidates == self.candidates_room:
                grow(<void**>&self.candidates, self.candidates_room, max(256, 2 * self.candidates_room),
                     sizeof(int32_t))
                self.candidates_room = max(256, 2 * self.candidates_room)
        except MemoryError as error:
            self.fail(error)
            return False
        self.candidates[self.n_candidates] = position
        self.n_candidates += 1
        return True

    cdef void quick_demotion(self) noexcept:
        """The new objects' positions, while new objects take more than reserved_space per cent."""
        cdef int64_t taken = 0, limit = <int64_t>(<double>self.sample_rate * 1.5)
        cdef Py_ssize_t looked = 0, i
        cdef int32_t slot
        cdef int64_t size
        while (
            self.new_bytes > <uint64_t>(self.used_units_ * self.reserved_space // 100)
            and taken < limit
            and looked < self.n_new - self.new_start
        ):
            slot = self.new_slots[self.new_start + looked]
            size = self.new_sizes[self.new_start + looked] if self.state[slot] == UNKNOWN else self.size_of[slot]
            self.new_bytes -= <uint64_t>size
            if self.state[slot] == CACHED:
                if not self.add_candidate(<int32_t>self.where[slot]):
                    return
                taken += 1
            looked += 1
        for i in range(self.new_start, self.new_start + looked):
            self.references[self.new_slots[i]] -= 1
        self.new_start += looked
        if self.new_start == self.n_new:
            self.new_bytes = 0
            self.new_start = self.n_new = 0
        elif self.new_start > HISTORY_COMPACTION and 2 * self.new_start > self.n_new:
            memmove(self.new_slots, self.new_slots + self.new_start, (self.n_new - self.new_start) * sizeof(int32_t))
            memmove(self.new_sizes, self.new_sizes + self.new_start, (self.n_new - self.new_start) * sizeof(int64_t))
            self.n_new -= self.new_start
            self.new_start = 0

    cdef void scan(self) noexcept:
        """Walk the queue from the scan pointer, taking the first sampling_lru% and the rarely requested."""
        cdef int64_t taken = 0, lru_share
        cdef bint below_boundary
        cdef int64_t* counts = self.eviction_counts
        while taken < self.sample_rate and self.n_candidates < self.queue_length:
            lru_share = self.queue_length * self.sampling_lru // 100
            if counts[3] == 0 and self.scan_length > lru_share:
                counts[2], counts[3], counts[1], counts[0] = counts[0], counts[1], 0, 0
            below_boundary = ((self.counts[self.queue_slot[self.scan_pointer]] - 1) & 0xFFFF) < self.sample_boundary
            if below_boundary or self.scan_length <= lru_share + EVICTION_RATE:
                if not self.add_candidate(self.scan_pointer):
                    return
                taken += 1
            self.scan_length += 1
            if self.scan_length >= self.queue_length:
                self.end_pass()
                taken = 0
                continue
            self.scan_pointer = self.next[self.scan_pointer]

    cdef void end_pass(self) noexcept:
        """A whole pass over the queue: restart at the head, re-fit the boundary and the shares."""
        cdef int64_t* counts = self.eviction_counts
        cdef int i
        self.queue_length = self.n_queue
        self.sample_rate = FULL_SAMPLE_RATE
        if self.sample_rate >= <int64_t>(<double>self.queue_length * 0.01 + EVICTION_RATE):
            self.sample_rate = batch_rate(self.queue_length)
        self.scan_pointer = self.head
        self.scan_length = 0
        self.clear_predictions()
        if self.object_objective:
            return
        self.fit_boundary()
        if counts[2] * counts[1] > counts[0] * counts[3]:  # old objects were evicted more than before
            self.sampling_lru = <uint8_t>(self.sampling_lru + 1)
        elif self.sampling_lru > 1:
            self.sampling_lru -= 1
        if counts[0] + counts[2] > self.n_new - self.new_start:
            self.reserved_space = <uint8_t>(self.reserved_space + 1)
        elif self.reserved_space > 1:
            self.reserved_space //= 2
        for i in range(4):
            counts[i] = 0
        for i in range(16):
            self.evicted_by_count[i] = 0

    cdef void fit_boundary(self) noexcept:
        """sample_boundary: the request count below which 99% of the pass's evicted objects were."""
        cdef int64_t total = 0, below = 0
        cdef double step
        cdef int i
        for i in range(16):
            total += self.evicted_by_count[i]
        for i in range(16):
            below += self.evicted_by_count[i]
            if <double>below >= 0.99 * <double>total:
                if i == 0:
                    self.sample_boundary = 1
                else:
                    step = <double>((1 << i) - (1 << (i - 1))) * (
                        (0.99 * <double>total + <double>self.evicted_by_count[i] - <double>below)
                        / <double>self.evicted_by_count[i]
                    )
                    self.sample_boundary = <int32_t>(((1 << (i - 1)) + <int64_t>ceil(step)) & 0xFFFF)
                return

    cdef void predict_candidates(self) noexcept:
        """_predict: the candidates' dense rows to the model, their float32 reuse times into the heap."""
        cdef Py_ssize_t i, n = self.n_candidates
        cdef int32_t slot, j
        cdef double[:, ::1] rows
        cdef float[::1] reuse
        if n == 0:
            return
        try:
            dense = np.zeros((n, N_FEATURES), dtype=np.float64)
            rows = dense
            for i in range(n):
                slot = self.queue_slot[self.candidates[i]]
                rows[i, 0] = <double>(self.now - self.last[slot])
                for j in range(self.n_distances(slot)):
                    rows[i, j + 1] = <double>self.distance(slot, j)
                rows[i, SIZE_FEATURE] = <double>self.size_of[slot]
                rows[i, COUNT_FEATURE] = <double>self.counts[slot]
            reuse = self.reuse_times(self.predict(dense), dense, self.now - self.time_base)
            if self.n_heap + n > self.heap_room:
                grow(<void**>&self.heap, self.heap_room, max(256, 2 * (self.n_heap + n)), sizeof(Prediction))
                self.heap_room = max(256, 2 * (self.n_heap + n))
        except BaseException as error:
            self.fail(error)
            return
        for i in range(n):
            slot = self.queue_slot[self.candidates[i]]
            self.heap_push(reuse[i], slot)
            if not self.predicted[slot]:
                self.predicted[slot] = 1
                self.n_predicted += 1
            self.prediction[slot] = reuse[i]

    cdef inline void forget_prediction(self, int32_t slot) noexcept:
        """pred_map.pop(key): its entries in the heap become stale."""
        if self.predicted[slot]:
            self.predicted[slot] = 0
            self.n_predicted -= 1

    cdef void clear_predictions(self) noexcept:
        """pred_map.clear() and pred_heap.clear(): every predicted slot has an entry in the heap."""
        cdef Py_ssize_t i
        for i in range(self.n_heap):
            self.predicted[self.heap[i].slot] = 0
            self.references[self.heap[i].slot] -= 1
        self.n_heap = 0
        self.n_predicted = 0

    # -- libstdc++'s push_heap and pop_heap: the reference's heap_push and heap_pop ------------------------

    cdef void sift_up(self, Py_ssize_t hole, Prediction item) noexcept:
        cdef Py_ssize_t parent = (hole - 1) // 2
        while hole > 0 and self.heap[parent].reuse < item.reuse:
            self.heap[hole] = self.heap[parent]
            hole = parent
            parent = (hole - 1) // 2
        self.heap[hole] = item

    cdef void heap_push(self, float reuse, int32_t slot) noexcept:
        cdef Prediction item
        item.reuse = reuse
        item.slot = slot
        self.references[slot] += 1
        self.n_heap += 1
        self.sift_up(self.n_heap - 1, item)

    cdef Prediction heap_pop(self) noexcept:
        """The top; as std::pop_heap, the hole walks down to a leaf, the last item is sifted up from it."""
        cdef Prediction top = self.heap[0], last = self.heap[self.n_heap - 1]
        cdef Py_ssize_t length, hole = 0, child = 0
        self.n_heap -= 1
        length = self.n_heap
        if length == 0:
            return top
        while child < (length - 1) // 2:
            child = 2 * (child + 1)
            if self.heap[child].reuse < self.heap[child - 1].reuse:
                child -= 1
            self.heap[hole] = self.heap[child]
            hole = child
        if length % 2 == 0 and child == (length - 2) // 2:
            child = 2 * (child + 1)
            self.heap[hole] = self.heap[child - 1]
            hole = child - 1
        self.sift_up(hole, last)
        return top
