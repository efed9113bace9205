"""LHD (policies/lhd.py) in C: sampled eviction of the least hit density, learned online.

The victims are the Python policy's, sample for sample: the same generator
(Lehmer's on 128 bits, from the same state), the same dense array of cached
slots (swap-with-last removal), and the same float32 arithmetic, one rounding
per operation as the reference's f32() and numpy's float32 arrays do (x86-64's
SSE floats; a build allowed to fuse multiply-adds, -march with FMA or another
processor, could round the running averages differently).  The histograms are
slot-free: 16 classes x MAX_AGE ages of floats.
"""

import numpy as np

from libc.stdint cimport int32_t, int64_t, uint8_t, uint64_t

from policies._kernels.kernel cimport enlarge, Kernel
from policies._kernels.lehmer cimport lehmer64
from workloads.native.memory cimport __builtin_prefetch

cdef extern from "float.h":
    const float FLT_MAX

cdef enum:
    MAX_AGE = 20000
    HIT_AGE_CLASSES = 16
    APP_CLASS_OFFSET = 16           # libCacheSim's class number of ours: application 1 of 16
    EARLY_CANDIDATES = 8
    FULL_SAMPLING_AFTER = 50
    EXPLORING_RECONFIGURATIONS = 50
    EXPLORE_ONE_IN = 32
    INITIAL_COARSENING_SHIFT = 10
    FIRST_REFIT = 5
    SECOND_REFIT = 25

cdef uint64_t LIBCACHESIM_START = 0xDEADBEEF
cdef float EWMA_DECAY = 0.9
cdef float EWMA_COMPLEMENT = 1 - EWMA_DECAY
cdef float EXPLORER_BUDGET_FRACTION = 0.01
cdef float AGE_COARSENING_ERROR_TOLERANCE = 0.01


cdef inline int32_t hit_age_class(uint64_t age) noexcept:
    cdef int32_t doublings = 0
    if age == 0:
        return HIT_AGE_CLASSES - 1
    while age < MAX_AGE and doublings < HIT_AGE_CLASSES - 1:
        age <<= 1
        doublings += 1
    return doublings


cdef class LHDKernel(Kernel):
    cdef int32_t[::1] cached          # the cached slots, cached[0 .. n_cached - 1]
    cdef int32_t[::1] position        # slot -> its index in `cached`, -1 when not cached
    cdef int64_t[::1] stamp           # the clock at the slot's last update
    cdef int64_t[::1] last_hit_age
    cdef int64_t[::1] earlier_hit_age
    cdef uint8_t[::1] explorer
    cdef int32_t[::1] recently_admitted  # a ring of slots, -1 empty
    cdef float[:, ::1] hits
    cdef float[:, ::1] evictions
    cdef float[:, ::1] densities
    cdef Py_ssize_t n_cached
    cdef int64_t used_units_, clock, until_reconfiguration, reconfiguration_interval, explorer_budget
    cdef int64_t reconfigurations
    cdef int32_t associativity, admissions, next_admitted, shift
    cdef float mean_objects, mean_objects_mass, mean_victim_rank
    cdef uint64_t state_high, state_low

    def __init__(self, int64_t capacity, int32_t associativity, int32_t admissions,
                 int64_t reconfiguration_interval, uint64_t seed):
        cdef int32_t c, a
        cdef object start
        Kernel.__init__(self, capacity)
        self.cached = np.zeros(0, dtype=np.int32)
        self.position = np.zeros(0, dtype=np.int32)
        self.stamp = np.zeros(0, dtype=np.int64)
        self.last_hit_age = np.zeros(0, dtype=np.int64)
        self.earlier_hit_age = np.zeros(0, dtype=np.int64)
        self.explorer = np.zeros(0, dtype=np.uint8)
        self.recently_admitted = np.full(admissions, -1, dtype=np.int32)
        self.hits = np.zeros((HIT_AGE_CLASSES, MAX_AGE), dtype=np.float32)
        self.evictions = np.zeros((HIT_AGE_CLASSES, MAX_AGE), dtype=np.float32)
        self.densities = np.zeros((HIT_AGE_CLASSES, MAX_AGE), dtype=np.float32)
        for c in range(HIT_AGE_CLASSES):  # GDSF-like until the first reconfiguration
            for a in range(MAX_AGE):
                self.densities[c, a] = <float>((<double>(APP_CLASS_OFFSET + c + 1)) / <double>(a + 1))
        self.n_cached = 0
        self.used_units_ = 0
        self.clock = 0
        self.reconfiguration_interval = reconfiguration_interval
        self.until_reconfiguration = reconfiguration_interval
        self.reconfigurations = 0
        self.associativity = associativity
        self.admissions = admissions
        self.next_admitted = 0
        self.shift = INITIAL_COARSENING_SHIFT
        self.mean_objects = 0
        self.mean_objects_mass = 0
        self.mean_victim_rank = 0
        self.explorer_budget = <int64_t>(<float>capacity * EXPLORER_BUDGET_FRACTION)
        start = <object>LIBCACHESIM_START + <object>seed  # below 2**65: two words
        self.state_high = start >> 64
        self.state_low = start & 0xFFFFFFFFFFFFFFFF

    cdef int resize(self, int32_t n) except -1:
        Kernel.resize(self, n)
        self.cached = enlarge(self.cached, n, 0)
        self.position = enlarge(self.position, n, -1)
        self.stamp = enlarge(self.stamp, n, 0)
        self.last_hit_age = enlarge(self.last_hit_age, n, 0)
        self.earlier_hit_age = enlarge(self.earlier_hit_age, n, 0)
        self.explorer = enlarge(self.explorer, n, 0)
        return 0

    cdef void prefetch(self, int32_t slot) noexcept:
        __builtin_prefetch(&self.position[slot])
        __builtin_prefetch(&self.stamp[slot])

    cdef inline uint64_t draw(self) noexcept:
        return lehmer64(&self.state_high, &self.state_low)

    # -- ranks ---------------------------------------------------------------------------------------

    cdef inline int64_t age(self, int32_t slot) noexcept:
        cdef int64_t age = (self.clock - self.stamp[slot]) >> self.shift
        return age if age < MAX_AGE - 1 else MAX_AGE - 1

    cdef inline int32_t hit_class(self, int32_t slot) noexcept:
        return hit_age_class(<uint64_t>(self.last_hit_age[slot] + self.earlier_hit_age[slot]))

    cdef inline float rank(self, int32_t slot) noexcept:
        cdef int64_t age = self.age(slot)
        cdef float density
        if age == MAX_AGE - 1:
            return -FLT_MAX
        density = self.densities[self.hit_class(slot), age] / <float>self.size_of[slot]
        if self.explorer[slot]:
            density = density + <float>1
        return density

    cdef int32_t victim(self) noexcept:
        cdef int32_t i, slot, best = -1
        cdef int32_t samples = self.associativity if self.reconfigurations > FULL_SAMPLING_AFTER else EARLY_CANDIDATES
        cdef float r, best_rank = FLT_MAX
        for i in range(samples):
            slot = self.cached[<Py_ssize_t>(self.draw() % <uint64_t>self.n_cached)]
            r = self.rank(slot)
            if r < best_rank or best < 0:
                best = slot
                best_rank = r
        for i in range(self.admissions):
            slot = self.recently_admitted[i]
            if slot >= 0 and self.position[slot] >= 0:
                r = self.rank(slot)
                if r < best_rank:
                    best = slot
                    best_rank = r
        self.mean_victim_rank = EWMA_DECAY * self.mean_victim_rank + EWMA_COMPLEMENT * best_rank
        return best

    # -- requests ------------------------------------------------------------------------------------

    cdef bint lookup(self, int32_t slot) noexcept:
        if self.position[slot] >= 0:
            self.update(slot, False)
            return True
        return False

    cdef void insert(self, int32_t slot, int64_t size) noexcept:
        self.remove(slot)
        if size > self.capacity:
            return
        self.evict_to(self.capacity - size)
        self.position[slot] = self.n_cached
        self.cached[self.n_cached] = slot
        self.n_cached += 1
        self.size_of[slot] = size
        self.used_units_ += size
        self.last_hit_age[slot] = 0
        self.earlier_hit_age[slot] = MAX_AGE
        self.update(slot, True)

    EVICTS_TO = True

    cdef void evict_to(self, int64_t units) noexcept:
        """LHD.evict_to: ranked victims go, each counted at its age, until at most `units` are used."""
        cdef int32_t victim
        while self.used_units_ > units:
            victim = self.victim()
            self.evictions[self.hit_class(victim), self.age(victim)] += 1
            self.remove(victim)
            self.report(victim)

    cdef inline int64_t spend(self, int64_t size) noexcept:
        """The explorer budget less `size`, in float32 and truncated, as C's int64 -= float."""
        return <int64_t>(<float>self.explorer_budget - <float>size)

    cdef void update(self, int32_t slot, bint inserted) noexcept:
        cdef int64_t age
        cdef bint explore
        if not inserted:
            age = self.age(slot)
            self.hits[self.hit_class(slot), age] += 1
            if self.explorer[slot]:
                self.explorer_budget = self.spend(-self.size_of[slot])
            self.earlier_hit_age[slot] = self.last_hit_age[slot]
            self.last_hit_age[slot] = age
        self.stamp[slot] = self.clock
        explore = self.draw() % EXPLORE_ONE_IN == 0
        self.explorer[slot] = 0
        if explore and self.explorer_budget > 0 and self.reconfigurations < EXPLORING_RECONFIGURATIONS:
            self.explorer[slot] = 1
            self.explorer_budget = self.spend(self.size_of[slot])
        if inserted and not explore and self.rank(slot) < self.mean_victim_rank:
            self.recently_admitted[self.next_admitted] = slot
            self.next_admitted = (self.next_admitted + 1) % self.admissions
        self.clock += 1
        self.until_reconfiguration -= 1
        if self.until_reconfiguration == 0:
            self.reconfigure()
            self.until_reconfiguration = self.reconfiguration_interval
            self.reconfigurations += 1

    cdef bint remove(self, int32_t slot) noexcept:
        """The last cached slot fills the removed one's place; an explorer's budget comes back."""
        cdef Py_ssize_t index = self.position[slot]
        cdef int32_t last
        if index < 0:
            return False
        if self.explorer[slot]:
            self.explorer[slot] = 0
            self.explorer_budget = self.spend(-self.size_of[slot])
        self.n_cached -= 1
        last = self.cached[self.n_cached]
        self.cached[index] = last
        self.position[last] = index
        self.position[slot] = -1
        self.used_units_ -= self.size_of[slot]
        return True

    # -- learning ------------------------------------------------------------------------------------

    cdef void reconfigure(self) noexcept:
        cdef int32_t c, a
        for c in range(HIT_AGE_CLASSES):
            for a in range(MAX_AGE):
                self.hits[c, a] = self.hits[c, a] * EWMA_DECAY
                self.evictions[c, a] = self.evictions[c, a] * EWMA_DECAY
        self.refit_coarsening()
        for c in range(HIT_AGE_CLASSES):
            self.model_hit_density(c)

    cdef void model_hit_density(self, int32_t c) noexcept:
        cdef float total_hits = self.hits[c, MAX_AGE - 1]
        cdef float total_events = self.hits[c, MAX_AGE - 1] + self.evictions[c, MAX_AGE - 1]
        cdef float lifetime = total_events
        cdef int32_t a
        for a in range(MAX_AGE - 2, -1, -1):
            total_hits = total_hits + self.hits[c, a]
            total_events = total_events + (self.hits[c, a] + self.evictions[c, a])
            lifetime = lifetime + total_events
            if <double>total_events > 1e-5:
                self.densities[c, a] = total_hits / lifetime
            else:
                self.densities[c, a] = 0

    cdef void refit_coarsening(self) noexcept:
        cdef float objects, best_coarsening
        cdef int32_t c, shift, delta
        self.mean_objects = EWMA_DECAY * self.mean_objects
        self.mean_objects = self.mean_objects + <float>self.n_cached
        self.mean_objects_mass = EWMA_DECAY * self.mean_objects_mass
        self.mean_objects_mass = <float>(<double>self.mean_objects_mass + 1.0)
        objects = self.mean_objects / self.mean_objects_mass
        best_coarsening = <float>(<double>objects / <double>(AGE_COARSENING_ERROR_TOLERANCE * <float>MAX_AGE))
        if self.reconfigurations != FIRST_REFIT and self.reconfigurations != SECOND_REFIT:
            return
        shift = 1
        while <float>(1 << shift) < best_coarsening:
            shift += 1
        delta = shift - self.shift
        self.shift = shift
        self.mean_objects = self.mean_objects * <float>8
        self.mean_objects_mass = self.mean_objects_mass * <float>8
        for c in range(HIT_AGE_CLASSES):
            rescale(&self.hits[c, 0], delta)
            rescale(&self.evictions[c, 0], delta)

    # -- answers -------------------------------------------------------------------------------------

    cdef bint contains(self, int32_t slot) noexcept:
        return self.position[slot] >= 0

    cdef bint holds(self, int32_t slot) noexcept:
        """Cached, or in the ring of recent admissions: a recycled slot would be a different key there."""
        cdef int32_t i
        if self.position[slot] >= 0:
            return True
        for i in range(self.admissions):
            if self.recently_admitted[i] == slot:
                return True
        return False

    cdef int64_t used(self) noexcept:
        return self.used_units_

    cdef Py_ssize_t count(self) noexcept:
        return self.n_cached

    def order(self):
        return [self.cached[i] for i in range(self.n_cached)]


cdef void rescale(float* counts, int32_t delta) noexcept:
    """policies/lhd.py's rescale: the histogram on an age scale `delta` doublings coarser or finer."""
    cdef int32_t a, i, kept, step
    cdef int32_t last = MAX_AGE - 1
    if delta > 0:
        kept = MAX_AGE >> delta if delta < 31 else 0
        step = 1 << delta if delta < 31 else 0
        for a in range(kept):
            counts[a] = counts[a << delta]
            for i in range(1, step):
                counts[a] = counts[a] + counts[(a << delta) + i]
        for a in range(kept, last):
            counts[a] = 0
    elif delta < 0:
        step = 1 << -delta
        for a in range(MAX_AGE >> -delta, last):
            counts[last] = counts[last] + counts[a]
        for a in range(last - 1, -1, -1):
            counts[a] = counts[a >> -delta] / <float>step
