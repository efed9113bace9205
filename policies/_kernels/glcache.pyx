"""GL-Cache (policies/glcache.py) in C: the log of segments, merges, snapshots and ranking; the model in Python.

(Over 450 lines: the segments' pools, the merge and the ranking share one state, as in the reference.)

Every per-request step is here: a hit's counters, a snapshotted segment's
label credits, the ghosts of evicted objects, the FIFO and ranked choice of
segments, the merge that keeps the best-scored objects, the cache state's
rates.  XGBoost stays behind the same Python object the reference uses
(policies/glcache_learner.py's SegmentModel), called where the reference
calls it: ``train`` every ``retrain_intvl`` seconds of trace time, ``predict``
once per ranking (every few evictions, on every segment at once).  Those
calls are few and batched, so their Python overhead is small beside the
model's own work; the rows they get are built here with the reference's
float32 arithmetic, one rounding per operation (x86-64's SSE floats), so the
model sees the same matrices and answers the same.

State: objects' entries and segments live in two pools of C structs, linked
by index (a segment's entries in log order, the log itself, each key's
ghosts).  A segment that leaves the log while the ranking may still point at
it waits in a graveyard until the next ranking, as the reference's live flag
keeps it readable; a snapshotted one waits for the next training, its unseen
objects ghosts.  Times are whole seconds, given before each lookup
(``advance``): the trace's timestamps in replay (``replay_timed``), the
simulated clock in a timed model.
"""

import numpy as np

from cpython.mem cimport PyMem_Free
from libc.stdint cimport int32_t, int64_t, uint8_t
from libc.stdlib cimport qsort

from policies._kernels.kernel cimport enlarge, Kernel
from workloads.native.memory cimport __builtin_prefetch, grow

cdef extern from "math.h":
    const double INFINITY

cdef enum:
    NONE = -1
    FEATURES = 6
    MAX_TRAINING_ROWS = 8192
    STATE_UPDATE_SECONDS = 10
    STATE_UPDATE_REQUESTS = 10000

cdef double INT32_HALF_MAX = (2**31 - 1) // 2
cdef double INT64_MAX_AS_DOUBLE = <double>(2**63 - 1)
cdef int64_t RANK_ANEW = 2**31 - 1


cdef struct Entry:
    int64_t size, freq, last_vtime
    int32_t slot, segment
    int32_t prev, next            # neighbours in the segment's entries (log order); next: the free list too
    int32_t next_ghost            # the key's next ghost, in the order they were made
    uint8_t in_cache, seen, active, ghost


cdef struct Segment:
    int64_t n_byte, n_hit, n_active, n_merge, n_util_skipped, train_vtime
    double req_rate, write_rate, miss_ratio, pred_utility, train_utility
    int32_t create_rtime, n_entries, head, tail
    int32_t prev, next, next_ranked   # next: the free list too
    int32_t rank, row
    uint8_t selected, live, training


cdef struct Ranked:
    double utility
    int32_t create_rtime, position, segment


cdef int by_utility(const void* a, const void* b) noexcept nogil:
    """(utility, creation time), then log order: Python's stable sort on the reference's key."""
    cdef const Ranked* x = <const Ranked*>a
    cdef const Ranked* y = <const Ranked*>b
    if x.utility != y.utility:
        return -1 if x.utility < y.utility else 1
    if x.create_rtime != y.create_rtime:
        return -1 if x.create_rtime < y.create_rtime else 1
    return -1 if x.position < y.position else (1 if x.position > y.position else 0)


cdef int ascending(const void* a, const void* b) noexcept nogil:
    cdef double x = (<const double*>a)[0], y = (<const double*>b)[0]
    return -1 if x < y else (1 if x > y else 0)


cdef class GLCacheKernel(Kernel):
    cdef Entry* entries
    cdef Segment* segs
    cdef Py_ssize_t n_entry_room, n_seg_room
    cdef int32_t free_entry, free_seg
    cdef int32_t[::1] entry_of        # slot -> its cached entry, NONE when not cached
    cdef int32_t[::1] ghost_head, ghost_tail
    cdef int32_t first, last, next_to_evict
    cdef int64_t n_segs, used_units_, n_cached
    cdef int32_t segment_size, n_merge, n_retain_per_seg
    cdef double rank_intvl
    cdef bint consecutive
    cdef int64_t retrain_intvl
    cdef object model
    cdef list training_segs, graveyard
    cdef int32_t[::1] ranked
    cdef Py_ssize_t n_ranked
    cdef int64_t ranked_capacity, ranked_pos
    cdef int64_t rtime, vtime, now, last_train_rtime, n_train
    cdef bint has_pending, pending_hit
    cdef int64_t pending_time
    cdef float[:, ::1] rows_x
    cdef float[::1] rows_y
    cdef Py_ssize_t n_rows
    cdef double state_req_rate, state_write_rate, state_miss_ratio
    cdef int64_t state_misses, state_rtime, state_vtime
    cdef double[::1] scores, sorted_scores
    cdef Ranked* order_buf            # a ranking's rows, sorted in place
    cdef Py_ssize_t n_order_room

    def __init__(self, int64_t capacity, int32_t segment_size, int32_t n_merge, double rank_intvl,
                 bint consecutive, int64_t retrain_intvl, object model):
        Kernel.__init__(self, capacity)
        self.sees_new_keys = True  # every request ticks its clock, a key never seen's too
        self.entries, self.segs, self.order_buf = NULL, NULL, NULL
        self.n_order_room = 0
        self.n_entry_room = self.n_seg_room = 0
        self.free_entry = self.free_seg = NONE
        self.entry_of = np.zeros(0, dtype=np.int32)
        self.ghost_head = np.zeros(0, dtype=np.int32)
        self.ghost_tail = np.zeros(0, dtype=np.int32)
        self.first = self.last = self.next_to_evict = NONE
        self.n_segs = self.used_units_ = self.n_cached = 0
        self.segment_size, self.n_merge = segment_size, n_merge
        self.n_retain_per_seg = segment_size // n_merge
        self.rank_intvl, self.consecutive, self.retrain_intvl = rank_intvl, consecutive, retrain_intvl
        self.model = model
        self.training_segs, self.graveyard = [], []
        self.ranked = np.zeros(0, dtype=np.int32)
        self.n_ranked = 0
        self.ranked_capacity, self.ranked_pos = -1, 0
        self.rtime = self.vtime = self.now = 0
        self.last_train_rtime, self.n_train = 0, -1
        self.has_pending = self.pending_hit = False
        self.pending_time = 0
        self.rows_x = np.zeros((MAX_TRAINING_ROWS, FEATURES), dtype=np.float32)
        self.rows_y = np.zeros(MAX_TRAINING_ROWS, dtype=np.float32)
        self.n_rows = 0
        self.state_req_rate, self.state_write_rate, self.state_miss_ratio = 1.0, 1.0, 0.5
        self.state_misses = self.state_rtime = self.state_vtime = 0
        self.scores = np.zeros(0)
        self.sorted_scores = np.zeros(0)

    def __dealloc__(self):
        PyMem_Free(self.entries)
        PyMem_Free(self.segs)
        PyMem_Free(self.order_buf)

    cdef int resize(self, int32_t n) except -1:
        Kernel.resize(self, n)
        self.entry_of = enlarge(self.entry_of, n, NONE)
        self.ghost_head = enlarge(self.ghost_head, n, NONE)
        self.ghost_tail = enlarge(self.ghost_tail, n, NONE)
        return 0

    cdef void prefetch(self, int32_t slot) noexcept:
        __builtin_prefetch(&self.entry_of[slot])
        __builtin_prefetch(&self.ghost_head[slot])

    # -- the pools ------------------------------------------------------------------------------------

    cdef int32_t new_entry(self, int32_t slot, int64_t size, int64_t vtime, int32_t segment) except -2:
        cdef int32_t e
        cdef Py_ssize_t room
        if self.free_entry == NONE:
            room = max(64, 2 * self.n_entry_room)
            if room > 2**31 - 1:
                raise MemoryError("GL-Cache: more than 2**31 - 1 entries")
            grow(<void**>&self.entries, self.n_entry_room, room, sizeof(Entry))
            for e in range(<int32_t>self.n_entry_room, <int32_t>room):
                self.entries[e].next = e + 1 if e + 1 < room else NONE
            self.free_entry = <int32_t>self.n_entry_room
            self.n_entry_room = room
        e = self.free_entry
        self.free_entry = self.entries[e].next
        self.entries[e].size, self.entries[e].freq, self.entries[e].last_vtime = size, 0, vtime
        self.entries[e].slot, self.entries[e].segment = slot, segment
        self.entries[e].prev = self.entries[e].next = self.entries[e].next_ghost = NONE
        self.entries[e].in_cache, self.entries[e].seen = 1, 0
        self.entries[e].active, self.entries[e].ghost = 0, 0
        return e

    cdef void free_entry_(self, int32_t e) noexcept:
        self.entries[e].next = self.free_entry
        self.free_entry = e

    cdef int32_t new_segment(self) except -2:
        """A segment created now (the reference's Segment(rtime)), not yet in the log."""
        cdef int32_t s
        cdef Py_ssize_t room
        if self.free_seg == NONE:
            room = max(16, 2 * self.n_seg_room)
            if room > 2**31 - 1:
                raise MemoryError("GL-Cache: more than 2**31 - 1 segments")
            grow(<void**>&self.segs, self.n_seg_room, room, sizeof(Segment))
            for s in range(<int32_t>self.n_seg_room, <int32_t>room):
                self.segs[s].next = s + 1 if s + 1 < room else NONE
            self.free_seg = <int32_t>self.n_seg_room
            self.n_seg_room = room
        s = self.free_seg
        self.free_seg = self.segs[s].next
        self.segs[s].n_byte = self.segs[s].n_hit = self.segs[s].n_active = self.segs[s].n_merge = 0
        self.segs[s].n_util_skipped = self.segs[s].train_vtime = 0
        self.segs[s].req_rate = self.segs[s].write_rate = self.segs[s].miss_ratio = 0.0
        self.segs[s].pred_utility, self.segs[s].train_utility = INT64_MAX_AS_DOUBLE, 0.0
        self.segs[s].create_rtime = <int32_t>self.rtime  # an int32_t field, as libCacheSim's
        self.segs[s].n_entries = 0
        self.segs[s].head = self.segs[s].tail = NONE
        self.segs[s].prev = self.segs[s].next = self.segs[s].next_ranked = NONE
        self.segs[s].rank = self.segs[s].row = NONE
        self.segs[s].selected = self.segs[s].training = 0
        self.segs[s].live = 1
        return s

    cdef void bury(self, int32_t s) noexcept:
        """A segment out of the log and out of training: free now, or after the next ranking if one may point at it."""
        cdef int32_t e = self.segs[s].head, after
        while e != NONE:  # what is left in it is no longer anyone's
            after = self.entries[e].next
            self.free_entry_(e)
            e = after
        self.segs[s].head = self.segs[s].tail = NONE
        self.segs[s].n_entries = 0
        if self.n_ranked == 0:
            self.free_segment(s)
        else:
            self.graveyard.append(s)

    cdef void free_segment(self, int32_t s) noexcept:
        self.segs[s].next = self.free_seg
        self.free_seg = s

    cdef void push_entry(self, int32_t s, int32_t e) noexcept:
        """Append entry `e` to segment `s`'s entries."""
        self.entries[e].segment = s
        self.entries[e].prev, self.entries[e].next = self.segs[s].tail, NONE
        if self.segs[s].tail == NONE:
            self.segs[s].head = e
        else:
            self.entries[self.segs[s].tail].next = e
        self.segs[s].tail = e
        self.segs[s].n_entries += 1

    cdef void drop_entry(self, int32_t s, int32_t e) noexcept:
        """Take entry `e` out of segment `s`'s entries (the others keep their order)."""
        cdef int32_t before = self.entries[e].prev, after = self.entries[e].next
        if before == NONE:
            self.segs[s].head = after
        else:
            self.entries[before].next = after
        if after == NONE:
            self.segs[s].tail = before
        else:
            self.entries[after].prev = before
        self.segs[s].n_entries -= 1

    # -- the clock -----------------------------------------------------------------------------------

    READS_CLOCK = True

    cdef void advance(self, int64_t now) noexcept:
        self.now = now

    # -- the interface -------------------------------------------------------------------------------

    cdef bint lookup(self, int32_t slot) noexcept:
        """Finish the last request (training, cache state), credit the key's ghosts, then find it."""
        cdef int32_t e, after
        if self.has_pending:
            self.finish_request(self.pending_time, self.pending_hit)
        e = self.ghost_head[slot]
        while e != NONE:  # seen once, a ghost has told its segment all it can
            after = self.entries[e].next_ghost
            self.entries[e].seen, self.entries[e].ghost = 1, 0
            self.credit(e)
            e = after
        self.ghost_head[slot] = self.ghost_tail[slot] = NONE
        e = self.entry_of[slot]
        if e != NONE:
            self.hit(e)
        self.has_pending, self.pending_time, self.pending_hit = True, self.now, e != NONE
        return e != NONE

    cdef void insert(self, int32_t slot, int64_t size) noexcept:
        if self.entry_of[slot] != NONE:
            self.remove(slot)
        if size > self.capacity:
            return
        try:
            while self.used_units_ + size > self.capacity:
                self.evict()
            self.append(slot, size)
        except Exception as error:
            self.fail(error)

    cdef bint remove(self, int32_t slot) noexcept:
        cdef int32_t e = self.ghost_head[slot], s
        while e != NONE:
            self.entries[e].ghost = 0
            e = self.entries[e].next_ghost
        self.ghost_head[slot] = self.ghost_tail[slot] = NONE
        e = self.entry_of[slot]
        if e == NONE:
            return False
        self.entry_of[slot] = NONE
        s = self.entries[e].segment
        self.drop_entry(s, e)
        self.segs[s].n_byte -= self.entries[e].size
        self.used_units_ -= self.entries[e].size
        self.n_cached -= 1
        self.free_entry_(e)
        return True

    EVICTS_TO = True

    cdef void evict_to(self, int64_t units) noexcept:
        try:
            while self.used_units_ > units:
                self.evict()
        except Exception as error:
            self.fail(error)

    # -- a request's bookkeeping ---------------------------------------------------------------------

    cdef void hit(self, int32_t e) noexcept:
        cdef int32_t s = self.entries[e].segment
        self.segs[s].n_hit += 1
        if not self.entries[e].active:
            self.entries[e].active = 1
            self.segs[s].n_active += 1
        self.entries[e].last_vtime = self.vtime
        self.entries[e].freq += 1
        if self.segs[s].selected:
            self.entries[e].seen = 1
            self.credit(e)

    cdef void credit(self, int32_t e) noexcept:
        """A snapshotted segment's label gains a request (after the first n_retain_per_seg)."""
        cdef int32_t s = self.entries[e].segment, row
        cdef double age
        self.segs[s].n_util_skipped += 1
        if self.segs[s].n_util_skipped > self.n_retain_per_seg:
            age = <double>(self.vtime - self.segs[s].train_vtime) + 1
            self.segs[s].train_utility += 1.0e6 / age / <double>self.entries[e].size
            row = self.segs[s].row
            self.rows_y[row if row >= 0 else MAX_TRAINING_ROWS + row] = <float>self.segs[s].train_utility

    cdef void finish_request(self, int64_t time, bint hit) noexcept:
        cdef int64_t seconds, requests
        if self.last_train_rtime > 0 and self.rtime - self.last_train_rtime >= self.retrain_intvl + 1:
            try:
                self.train()
                self.snapshot()
            except Exception as error:
                self.fail(error)
        self.rtime = time
        self.vtime += 1
        self.state_misses += not hit
        seconds, requests = self.rtime - self.state_rtime, self.vtime - self.state_vtime
        if seconds > STATE_UPDATE_SECONDS and requests > STATE_UPDATE_REQUESTS:
            self.state_write_rate = <double>self.state_misses / <double>seconds
            self.state_req_rate = <double>requests / <double>seconds
            self.state_miss_ratio = <double>self.state_misses / <double>requests
            self.state_misses, self.state_rtime, self.state_vtime = 0, self.rtime, self.vtime

    # -- the log -------------------------------------------------------------------------------------

    cdef int append(self, int32_t slot, int64_t size) except -1:
        cdef int32_t s = self.last, e
        if s == NONE or self.segs[s].n_entries == self.segment_size:
            if s != NONE:  # a full segment keeps the cache state it was written in
                self.segs[s].req_rate, self.segs[s].write_rate = self.state_req_rate, self.state_write_rate
                self.segs[s].miss_ratio = self.state_miss_ratio
            s = self.new_segment()
            self.link_last(s)
        e = self.new_entry(slot, size, self.vtime, s)
        self.push_entry(s, e)
        self.segs[s].n_byte += size
        self.entry_of[slot] = e
        self.size_of[slot] = size
        self.used_units_ += size
        self.n_cached += 1
        return 0

    cdef void link_last(self, int32_t s) noexcept:
        if self.last == NONE:
            self.first = self.next_to_evict = s
        else:
            self.segs[self.last].next = s
        self.segs[s].prev, self.segs[s].next = self.last, NONE
        self.last = s
        self.n_segs += 1

    cdef void link_before(self, int32_t old, int32_t s) noexcept:
        cdef int32_t before = self.segs[old].prev
        if before == NONE:
            self.first = s
        else:
            self.segs[before].next = s
        self.segs[s].prev, self.segs[s].next = before, old
        self.segs[old].prev = s
        self.n_segs += 1

    cdef void unlink(self, int32_t s) noexcept:
        cdef int32_t before = self.segs[s].prev, after = self.segs[s].next
        if self.first == s:
            self.first = after
        if self.last == s:
            self.last = before
        if before != NONE:
            self.segs[before].next = after
        if after != NONE:
            self.segs[after].prev = before
        self.n_segs -= 1
        self.segs[s].live = 0

    cdef bint evictable(self, int32_t s, bint consecutive) noexcept:
        """Whether `s` starts n_merge segments to merge, each followed by another in the log."""
        cdef int32_t found = 0
        while s != NONE and self.segs[s].live and self.segs[s].next != NONE:
            found += 1
            if found >= self.n_merge:
                return True
            s = self.segs[s].next if consecutive else self.segs[s].next_ranked
        return False

    # -- eviction ------------------------------------------------------------------------------------

    cdef int evict(self) except -1:
        cdef list chosen
        if self.n_train == -1:  # the first eviction starts the first training interval
            self.snapshot()
            self.last_train_rtime, self.n_train = self.rtime, 0
        chosen = self.select_fifo() if self.n_train <= 0 else self.select_ranked()
        if chosen is None:
            return 0
        if len(chosen) == 1:
            self.evict_whole(chosen[0])
        else:
            self.merge(chosen)
        return 0

    cdef list select_fifo(self):
        cdef int32_t s = self.next_to_evict
        cdef list chosen = []
        if not self.evictable(s, True):
            s = self.next_to_evict = self.first
            if not self.evictable(s, True):
                self.next_to_evict = NONE
                return [self.first]
        while len(chosen) < self.n_merge and s != NONE:
            chosen.append(s)
            s = self.segs[s].next
        self.next_to_evict = s if self.n_segs > self.n_merge + 1 else NONE
        return chosen

    cdef int merge(self, list chosen) except -1:
        """Merge the chosen segments into a new one in the first one's place: keep the segment_size best objects."""
        cdef int32_t merged = self.new_segment(), s, e, after, kept
        cdef Py_ssize_t n = 0, position = 0, i
        cdef double req_rate = 0, write_rate = 0, miss_ratio = 0, cutoff = -INFINITY, age
        cdef int64_t most_merges = 0
        for s in chosen:
            req_rate += self.segs[s].req_rate
            write_rate += self.segs[s].write_rate
            miss_ratio += self.segs[s].miss_ratio
            most_merges = max(most_merges, self.segs[s].n_merge)
            n += self.segs[s].n_entries
        self.segs[merged].req_rate = req_rate / self.n_merge
        self.segs[merged].write_rate = write_rate / self.n_merge
        self.segs[merged].miss_ratio = miss_ratio / self.n_merge
        self.segs[merged].n_merge = most_merges + 1
        self.link_before(chosen[0], merged)
        if self.scores.shape[0] < n:
            self.scores = np.zeros(2 * n)
            self.sorted_scores = np.zeros(2 * n)
        for s in chosen:  # the score: 1e8 / size / requests since the last access (infinite at 0)
            e = self.segs[s].head
            while e != NONE:
                age = <double>(self.vtime - self.entries[e].last_vtime)
                self.scores[position] = 1.0e8 / <double>self.entries[e].size / age if age != 0 else INFINITY
                self.sorted_scores[position] = self.scores[position]
                position += 1
                e = self.entries[e].next
        if n > self.segment_size:
            qsort(&self.sorted_scores[0], n, sizeof(double), ascending)
            cutoff = self.sorted_scores[n - self.segment_size]
        position = 0
        for s in chosen:
            e = self.segs[s].head
            while e != NONE:
                after = self.entries[e].next
                if self.segs[merged].n_entries < self.segment_size and self.scores[position] >= cutoff:
                    if self.segs[s].selected:  # the old entry stays behind as the segment's ghost: keep a copy
                        kept = self.new_entry(self.entries[e].slot, self.entries[e].size,
                                              self.entries[e].last_vtime, merged)
                        self.entries[e].in_cache = 0
                        self.entry_of[self.entries[e].slot] = kept
                    else:  # the old segment is dropped: its entry moves
                        kept = e
                        self.drop_entry(s, e)
                        self.entries[e].active = self.entries[e].seen = 0
                    self.entries[kept].freq = (self.entries[e].freq + 1) // 2
                    self.push_entry(merged, kept)
                    self.segs[merged].n_byte += self.entries[e].size
                else:
                    self.evict_entry(s, e)
                position += 1
                e = after
            self.retire(s)
        return 0

    cdef void evict_entry(self, int32_t s, int32_t e) noexcept:
        """An object leaves the cache; its entry stays in a snapshotted segment (a ghost to be), else goes."""
        cdef int32_t slot = self.entries[e].slot
        self.entry_of[slot] = NONE
        self.used_units_ -= self.entries[e].size
        self.n_cached -= 1
        self.report(slot)
        self.entries[e].in_cache = 0
        if not self.segs[s].selected:
            self.drop_entry(s, e)
            self.free_entry_(e)

    cdef int evict_whole(self, int32_t s) except -1:
        """Evict every object of `s`, keeping none (too few segments to merge)."""
        cdef int32_t e = self.segs[s].head, after
        while e != NONE:
            after = self.entries[e].next
            if self.entries[e].in_cache:
                self.evict_entry(s, e)
            e = after
        self.retire(s)
        return 0

    cdef void retire(self, int32_t s) noexcept:
        """A segment leaves the log: a snapshotted one stays for training, its unseen objects as ghosts."""
        cdef int32_t e, slot
        self.unlink(s)
        if not self.segs[s].selected:
            self.bury(s)
            return
        self.segs[s].train_vtime, self.segs[s].train_utility = self.vtime, 0.0
        e = self.segs[s].head
        while e != NONE:
            if not self.entries[e].seen:
                self.entries[e].ghost = 1
                slot = self.entries[e].slot
                self.entries[e].next_ghost = NONE
                if self.ghost_tail[slot] == NONE:
                    self.ghost_head[slot] = e
                else:
                    self.entries[self.ghost_tail[slot]].next_ghost = e
                self.ghost_tail[slot] = e
            e = self.entries[e].next
        self.segs[s].training = 1
        self.training_segs.append(s)

    # -- learning ------------------------------------------------------------------------------------

    cdef void snapshot_row(self, int32_t s, Py_ssize_t row) noexcept:
        """The reference's _features: one rounding per float32 operation, as its f32() does."""
        cdef int32_t n_obj = self.segs[s].n_entries
        self.rows_x[row, 0] = <float><double>self.rtime - <float>self.segs[s].create_rtime
        self.rows_x[row, 1] = <float>(<double><float>self.segs[s].n_byte / <double>n_obj) if n_obj else 0
        self.rows_x[row, 2] = <float>self.segs[s].n_hit
        self.rows_x[row, 3] = <float>self.segs[s].n_active
        self.rows_x[row, 4] = <float>self.segs[s].req_rate
        self.rows_x[row, 5] = <float>self.segs[s].miss_ratio

    cdef int snapshot(self) except -1:
        """Every segment but the last becomes a training row: its features now, its label from now on."""
        cdef double ratio = max(<double>self.n_segs / MAX_TRAINING_ROWS, 1.0), credit = 0.0
        cdef int32_t s = self.first
        cdef int64_t i
        for i in range(self.n_segs - 1):
            credit += 1
            if credit >= ratio and self.segs[s].next != NONE:
                credit -= ratio
                self.segs[s].selected = 1
                if self.n_rows < MAX_TRAINING_ROWS:
                    self.segs[s].row = <int32_t>self.n_rows
                    self.segs[s].train_vtime, self.segs[s].train_utility = self.vtime, 0.0
                    self.snapshot_row(s, self.n_rows)
                    self.rows_y[self.n_rows] = 0
                    self.n_rows += 1
            else:
                self.segs[s].selected, self.segs[s].train_utility = 0, 0.0
            s = self.segs[s].next
        return 0

    cdef int train(self) except -1:
        cdef int32_t s, e, slot
        self.model.train(np.array(self.rows_x[: self.n_rows]), np.array(self.rows_y[: self.n_rows]))
        for s in self.training_segs:  # their ghosts are forgotten (every ghost is one of theirs)
            e = self.segs[s].head
            while e != NONE:
                if self.entries[e].ghost:
                    self.entries[e].ghost = 0
                    slot = self.entries[e].slot
                    self.ghost_head[slot] = self.ghost_tail[slot] = NONE
                e = self.entries[e].next
            self.segs[s].training = 0
            self.bury(s)
        self.training_segs = []
        self.n_train += 1
        self.last_train_rtime = self.rtime
        self.n_rows = 0
        return 0

    cdef int rank(self) except -1:
        """Predict every segment's utility and rank the log by it, least useful first."""
        cdef Py_ssize_t n = self.n_segs, i
        cdef int32_t s
        cdef float[:, ::1] x = np.zeros((n, FEATURES), dtype=np.float32)
        cdef double[::1] predicted
        cdef double value
        cdef bint few = self.n_segs < self.n_merge + 1
        cdef Ranked* order
        for s in self.graveyard:  # nothing points at them once the ranking is new
            self.free_segment(s)
        self.graveyard = []
        s, i = self.first, 0
        while s != NONE:  # the reference's _feature_matrix: numpy's float32 operations
            x[i, 0] = <float><double>self.rtime - <float>self.segs[s].create_rtime
            x[i, 1] = <float>self.segs[s].n_byte / <float>self.segs[s].n_entries if self.segs[s].n_entries else 0
            x[i, 2] = <float>self.segs[s].n_hit
            x[i, 3] = <float>self.segs[s].n_active
            x[i, 4] = <float>self.segs[s].req_rate
            x[i, 5] = <float>self.segs[s].miss_ratio
            s, i = self.segs[s].next, i + 1
        predicted = np.asarray(self.model.predict(np.asarray(x)), dtype=np.float64)
        if self.n_order_room < n:
            grow(<void**>&self.order_buf, self.n_order_room, 2 * n, sizeof(Ranked))
            self.n_order_room = 2 * n
        order = self.order_buf
        s, i = self.first, 0
        while s != NONE:
            value = predicted[i]
            if value > 0:
                self.segs[s].pred_utility = value * 1e6 / <double>self.segs[s].n_byte
            elif value < 0:
                self.segs[s].pred_utility = value * <double>self.segs[s].n_byte
            if few:
                self.segs[s].pred_utility += INT32_HALF_MAX
            order[i].utility, order[i].create_rtime = self.segs[s].pred_utility, self.segs[s].create_rtime
            order[i].position, order[i].segment = <int32_t>i, s
            s, i = self.segs[s].next, i + 1
        if n:
            qsort(order, n, sizeof(Ranked), by_utility)
        if self.ranked.shape[0] < n:
            self.ranked = np.zeros(2 * n, dtype=np.int32)
        for i in range(n):
            s = order[i].segment
            self.segs[s].rank = <int32_t>i
            self.segs[s].next_ranked = order[i + 1].segment if i + 1 < n else NONE
            self.ranked[i] = s
        self.n_ranked = n
        self.ranked_pos = 0
        return 0

    cdef inline int32_t ranked_at(self, int64_t position) noexcept:
        return self.ranked[position] if position < self.n_ranked else NONE

    cdef inline int32_t take_ranked(self, int64_t position) noexcept:
        cdef int32_t s = self.ranked_at(position)
        if position < self.n_ranked:
            self.ranked[position] = NONE
        return s

    cdef list select_ranked(self):
        """n_merge segments from the least useful one (adjacent in the log or in rank); one if none merge."""
        cdef bint resized = self.ranked_capacity < self.n_segs
        cdef int32_t first, s, after
        cdef list chosen
        cdef int32_t k
        if resized:
            self.ranked_capacity = self.n_segs * 2
        if <double>self.ranked_pos >= <double>self.n_ranked * self.rank_intvl or resized:
            self.rank()
        while self.ranked_at(self.ranked_pos) == NONE and self.ranked_pos < self.ranked_capacity:
            self.ranked_pos += 1
        first = s = self.take_ranked(self.ranked_pos)
        while not self.evictable(s, self.consecutive):
            if <double>self.ranked_pos > <double>self.n_ranked * 0.8:
                self.ranked_pos = RANK_ANEW  # rank anew at the next eviction
                return None if first == NONE else [first]
            self.ranked_pos += 1
            s = self.take_ranked(self.ranked_pos)
        self.ranked_pos += 1
        chosen = [s]
        for k in range(self.n_merge - 1):
            after = self.segs[s].next if self.consecutive else self.segs[s].next_ranked
            if self.segs[after].rank != NONE and self.segs[after].rank < self.n_ranked:
                self.ranked[self.segs[after].rank] = NONE
            chosen.append(after)
            s = after
        return chosen

    # -- answers -------------------------------------------------------------------------------------

    cdef bint contains(self, int32_t slot) noexcept:
        return self.entry_of[slot] != NONE

    cdef bint holds(self, int32_t slot) noexcept:
        """Cached, or a ghost some snapshotted segment waits to hear of."""
        return self.entry_of[slot] != NONE or self.ghost_head[slot] != NONE

    cdef int64_t used(self) noexcept:
        return self.used_units_

    cdef Py_ssize_t count(self) noexcept:
        return self.n_cached

    def order(self):
        """The cached slots in log order (the reference's keys())."""
        cdef list slots = []
        cdef int32_t s = self.first, e
        while s != NONE:
            e = self.segs[s].head
            while e != NONE:
                slots.append(self.entries[e].slot)
                e = self.entries[e].next
            s = self.segs[s].next
        return slots

    @property
    def n_trainings(self):
        """How many times the model was trained (the reference's n_train, -1 before the first eviction)."""
        return self.n_train
