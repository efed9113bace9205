"""3L-Cache: a learned eviction policy that predicts reuse distances with few, well-chosen samples.

(Over 450 lines: the policy, its generator and its heap are one unit, written to be checked line by line
against libCacheSim's C++; the module docstring lists every difference.)

Zhou, Wang, Lin, Liu, Wang, Zhang, Zhou and Jiang, "3L-Cache: Low Overhead and
Precise Learning-based Eviction Policy for Caches", USENIX FAST 2025.

A gradient-boosted tree model (LightGBM) learns, from the cache's own past,
how long an object will wait before its next request, from six features:
its age (requests since its last one), its last three reuse distances, its
size and its request count.  Evictions then go to the objects predicted to
wait longest.  What makes it cheap is *which* objects it predicts for:

* quick demotion: objects inserted since the last scan are looked at first,
  while they take more than ``reserved_space`` per cent of the cache;
* a scan of the queue from its least recently used end, taking the first
  ``sampling_lru`` per cent of the queue and, past that, only objects seen
  fewer than ``sample_boundary`` times (a boundary re-fitted after each
  pass to the 99th percentile of the evicted objects' counts);
* one batch of about ``sample_rate`` (1% of the queue) predictions serves
  ``sample_rate / 2`` evictions, taken from a max-heap of predictions.

Training samples come from the objects: each request marks one random object
(cached or recently evicted) with the time; its label is the log of the
distance to its next request, or, if it leaves the history of evicted
objects first, the distance to that moment plus the longest such distance of
the last window.  Every ``batch_size`` samples the model is trained again.
The history of evicted objects holds ``hsw - 1`` times the cached objects;
after each million requests it grows (to 5 times at most) while the history
would have added more than 1% to the hits.

Before the first training the policy is LRU (it evicts the head of its
queue), so on short traces it misses exactly as LRU does.

libCacheSim 0.3.5's ``ThreeLCache`` (cache/eviction/3LCache/ThreeLCache.cpp,
.hpp, the authors' code), which this module follows step by step: its
generator (``std::default_random_engine``, libstdc++'s minstd_rand0 from
seed 1, drawn through ``uniform_int_distribution<size_t>``, reproduced in
``MinstdDraws``), its queue as a circular list over positions that an
eviction fills with the tail's object, its heap (libstdc++'s push_heap and
pop_heap, ties broken as they break them), its float32 predictions and
labels, its integer widths where they matter (uint8 ``reserved_space`` and
``sampling_lru``, uint16 counts and boundary, wrapping uint64 new-object
bytes), and LightGBM's parameters (gbdt, regression, 16 iterations, 32
leaves, learning rate 0.1, feature and bagging fraction 0.8 every 5
iterations, one thread), the data handed over as the same sparse rows.

The compiled engine runs its kernel (policies/_kernels/threelcache.pyx, ``make_kernel``): this
module's steps in C, with LightGBM called from there through ``train_booster`` and ``reuse_times``
below, the same rows in and the same float32 reuse times out (tests/policies/test_compiled.py).

Differences from libCacheSim's C++ code:

* LightGBM is the Python package's (``kvsim[learned]``), with
  ``deterministic=True``; libcachesim 0.3.5 links its own build of 4.7.0.
  With LightGBM 4.7.0 the two train the same trees from the same rows, and
  the misses are libcachesim's to the miss, trained or not
  (tests/policies/test_libcachesim_parity.py); another LightGBM may grow
  other trees, and then the miss ratio is within 0.01;
* where libCacheSim reads memory it does not own, we choose: a new object
  that has left the history of evicted objects before quick demotion looks
  at it (libCacheSim dereferences a missing hash-map entry) counts with the
  size it was inserted with; an eviction that finds no valid prediction in
  the heap (libCacheSim returns position -1) evicts the queue's head; when
  an eviction leaves one object in the queue, its links point to itself
  (libCacheSim's keep the freed last position: no decision reads them, the
  next insert relinks them);
* predictions are asked for with dense rows (libCacheSim: sparse rows, no
  entry for a missing past distance); a tree reads an absent feature as 0.0,
  so the answers are the same;
* sizes are Python integers (libCacheSim's ``_size`` is an int32: objects
  of 2 GiB and more wrap there);
* ``remove`` forgets a key, cached or in the history (libCacheSim's remove
  aborts: "do not support remove");
* the clock (libCacheSim's ``current_seq``) ticks at each ``lookup``, as
  each request's lookup does in libCacheSim; an ``insert`` without a lookup
  is not a request;
* ``batch_size`` (libCacheSim's fixed 65,536), ``num_iterations``,
  ``num_leaves``, ``learning_rate`` and ``seed`` (of the generator; the
  engine's default is 1) are parameters here; ``evict_to`` and ``resize``
  (which libCacheSim does not have) evict as inserts do.
"""

from __future__ import annotations

import functools
import math
from typing import Any

from policies.base import Kernel, Key, Policy, PolicyError, register
from policies.learned import lightgbm, predictor
from policies.limits import MAX_SEED, check_int

MASK64 = (1 << 64) - 1
#: libCacheSim's fixed values: past distances kept, features, evictions per prediction, batch
N_PAST_DISTANCES = 3
SIZE_FEATURE, COUNT_FEATURE = 4, 5  # 0: age, 1..3: past distances (most recent first)
N_FEATURES = 6
EVICTION_RATE = 2
BATCH_SIZE = 65536
MAX_HSW = 6
#: minstd_rand0's modulus (the range of std::default_random_engine in libstdc++)
MINSTD_MODULUS = 2**31 - 1


class MinstdDraws:
    """libstdc++'s ``uniform_int_distribution<size_t>()(default_random_engine)``, draw for draw.

    minstd_rand0 yields 1 .. 2**31 - 2; a 64-bit draw stacks three of them
    (libstdc++'s "upscaling": a draw of the range divided by the engine's
    range, times that range, plus one more output, rejected on overflow).
    """

    ENGINE_RANGE = (MINSTD_MODULUS - 1) - 1  # max - min of its outputs (1 .. 2**31 - 2)

    def __init__(self, seed: int):
        self.state = seed % MINSTD_MODULUS or 1  # as the engine's seed(s): 1 where s is a multiple of m

    def _output(self) -> int:
        self.state = self.state * 16807 % MINSTD_MODULUS
        return self.state - 1  # minus the engine's minimum

    def draw(self, top: int = MASK64) -> int:
        """A uniform integer in 0 .. top: the recursion as libstdc++ writes it (see ``draw64``)."""
        engine = self.ENGINE_RANGE
        if engine > top:  # downscaling: reject the outputs past the last whole bucket
            buckets = top + 1
            scaling = engine // buckets
            while True:
                value = self._output()
                if value < buckets * scaling:
                    return value // scaling
        if engine == top:
            return self._output()
        while True:  # upscaling, with 64-bit wrap-around as in C
            high = (engine + 1) * self.draw(top // (engine + 1))
            value = (high + self._output()) & MASK64
            if value <= top and value >= high:
                return value

    # draw(MASK64) unrolled, its hot path: 0 .. MASK64 // 2**31-2 // 2**31-2 (= 4) scaled down, then twice up
    _SPAN = ENGINE_RANGE + 1
    _TOP_1 = MASK64 // _SPAN
    _TOP_2 = _TOP_1 // _SPAN
    _SCALING = ENGINE_RANGE // (_TOP_2 + 1)
    _PAST = (_TOP_2 + 1) * _SCALING

    def draw64(self) -> int:
        """``draw(MASK64)``, the same numbers from the same outputs, without the recursion."""
        state, span, top_1 = self.state, self._SPAN, self._TOP_1
        while True:
            while True:
                while True:
                    state = state * 16807 % MINSTD_MODULUS
                    if state - 1 < self._PAST:
                        break
                high = span * ((state - 1) // self._SCALING)
                state = state * 16807 % MINSTD_MODULUS
                middle = high + state - 1
                if middle <= top_1 and middle >= high:
                    break
            high = span * middle
            state = state * 16807 % MINSTD_MODULUS
            value = (high + state - 1) & MASK64
            if value >= high:
                self.state = state
                return value


# -- libstdc++'s heap algorithms on a list of (reuse time, key), the largest reuse time on top ----------
def _sift_up(heap: list, hole: int, top: int, item: tuple) -> None:
    parent = (hole - 1) // 2
    while hole > top and heap[parent][0] < item[0]:
        heap[hole] = heap[parent]
        hole = parent
        parent = (hole - 1) // 2
    heap[hole] = item


def heap_push(heap: list, item: tuple) -> None:
    heap.append(item)
    _sift_up(heap, len(heap) - 1, 0, item)


def heap_pop(heap: list) -> tuple:
    """The top item; as std::pop_heap: the hole walks down to a leaf, the last item is sifted up from it."""
    top_item = heap[0]
    last = heap.pop()
    length = len(heap)
    if length == 0:
        return top_item
    hole = child = 0
    while child < (length - 1) // 2:
        child = 2 * (child + 1)
        if heap[child][0] < heap[child - 1][0]:
            child -= 1
        heap[hole] = heap[child]
        hole = child
    if length % 2 == 0 and child == (length - 2) // 2:
        child = 2 * (child + 1)
        heap[hole] = heap[child - 1]
        hole = child - 1
    _sift_up(heap, hole, 0, last)
    return top_item


def _int32(value: int) -> int:
    return (value + 2**31) % 2**32 - 2**31


class Meta:
    """What 3L-Cache knows of one object: its size, last request, count, last distances, sample mark."""

    __slots__ = ("key", "size", "last", "count", "distances", "next_distance", "sampled", "cached", "slot")

    def __init__(self, key: Key, size: int, now: int):
        self.key, self.size, self.last, self.count = key, size, now, 1
        self.distances: list[int] | None = None  # a ring of the last three distances, once there is one
        self.next_distance = 1  # where the next distance goes (libCacheSim's uint8 index, kept in 1 .. 5)
        self.sampled = 0  # the request at which it was sampled for training, or 0
        self.cached = False  # in the cache (slot: its queue position) or in the history (slot: its index)
        self.slot = 0

    def touch(self, now: int) -> None:
        """A request: remember the distance since the last one, count it (to 65,535)."""
        distance = _int32(now - self.last)
        if self.distances is None:
            self.distances = [distance]
        else:
            if len(self.distances) < N_PAST_DISTANCES:
                self.distances.append(distance)
            else:
                self.distances[self.next_distance % N_PAST_DISTANCES] = distance
            self.next_distance += 1
            if self.next_distance >= 2 * N_PAST_DISTANCES:
                self.next_distance -= N_PAST_DISTANCES
        self.last = now
        if self.count < 65535:
            self.count += 1

    def row(self, age: float, indices: list, data: list) -> None:
        """Append this object's sparse feature row (age, past distances newest first, size, count)."""
        indices.append(0)
        data.append(age)
        if self.distances is not None:
            for j in range(min(self.next_distance, N_PAST_DISTANCES)):
                indices.append(j + 1)
                data.append(float(self.distances[(self.next_distance - 1 - j) % N_PAST_DISTANCES]))
        indices.extend((SIZE_FEATURE, COUNT_FEATURE))
        data.extend((float(self.size), float(self.count)))


@register("threelcache")
class ThreeLCache(Policy):
    """3L-Cache: LightGBM predicts reuse distances for a few sampled objects; the longest goes."""

    summary = "3L-Cache (FAST 2025): LightGBM predicts reuse distances of a few sampled objects; evicts the furthest."

    def __init__(
        self,
        capacity: int,
        objective: str = "byte-miss-ratio",
        batch_size: int = BATCH_SIZE,
        num_iterations: int = 16,
        num_leaves: int = 32,
        learning_rate: float = 0.1,
        seed: int = 1,
    ):
        super().__init__(capacity)
        if objective not in ("byte-miss-ratio", "object-miss-ratio"):
            raise PolicyError(f"objective must be 'byte-miss-ratio' or 'object-miss-ratio', got {objective!r}")
        self.objective = objective
        self.batch_size = check_int("batch_size", batch_size, 1, 2**31 - 1)
        self.num_iterations = check_int("num_iterations", num_iterations, 1, 10_000)
        self.num_leaves = check_int("num_leaves", num_leaves, 2, 131_072)
        if isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float)) or not 0 < learning_rate:
            raise PolicyError(f"learning_rate must be a number above 0, got {learning_rate!r}")
        self.learning_rate = float(learning_rate)
        self.seed = check_int("seed", seed, 0, MAX_SEED)
        self._lgb = lightgbm("threelcache")
        self._random = MinstdDraws(self.seed)
        self.lgb_params = {
            "boosting": "gbdt", "objective": "regression", "num_iterations": self.num_iterations,
            "num_leaves": self.num_leaves, "num_threads": 1, "feature_fraction": 0.8, "bagging_freq": 5,
            "bagging_fraction": 0.8, "learning_rate": self.learning_rate, "verbosity": -1,
            "deterministic": True,
        }  # fmt: skip
        self.booster: Any = None  # a lightgbm.Booster after the first training
        self.trainings = 0
        self.now = -1  # libCacheSim's current_seq: the requests seen, less one
        self.key_map: dict = {}  # key -> Meta, cached or in the history
        # the cache: objects by position, and a circular list over positions (head: least recently used)
        self.metas: list[Meta] = []
        self.prev: list[int] = []
        self.next: list[int] = []
        self.head = self.tail = -1
        # the history of evicted objects, oldest first: history[i - history_base] has index i
        self.history: list[Meta] = []
        self.history_start = 0  # history[:history_start] are popped
        self.history_front = 0  # the index of the oldest entry (libCacheSim's front_index)
        # training samples, as LightGBM's sparse rows
        self.labels: list = []
        self.indptr = [0]
        self.indices: list = []
        self.data: list = []
        # predictions: a max-heap of (reuse time, key) and each key's latest one
        self.pred_heap: list = []
        self.pred_map: dict = {}
        self.evict_budget = 0  # libCacheSim's evict_nums: evictions left from the last batch of predictions
        self.sampling = False  # sampling starts at the first eviction
        self.sample_rate = 1024
        self.sample_boundary = 1 if objective == "byte-miss-ratio" else 65535
        self.sampling_lru = 1  # per cent of the queue scanned without the boundary
        self.reserved_space = 2  # per cent of the cache new objects may take before quick demotion
        self.scan_pointer = 0
        self.scan_length = 0
        self.queue_length = 0  # libCacheSim's initial_queue_length: the queue's length at the pass's start
        self.pointer_time = 0  # the last request of the object the scan reached last (spointer_timestamp)
        self.eviction_counts = [0] * 4  # [old evicted, scanned, and both of the previous pass]
        self.evicted_by_count = [0] * 16  # evictions by log2 of the object's count
        self.new_keys: list = []  # objects inserted since the first training, not yet demoted
        self.new_sizes: list = []
        self.new_bytes = 0
        self.time_base = 0  # the request of the last training (origin_current_seq)
        self.boundary = [0, 0]  # the longest distance to a leaving of the history: last window's, this one's
        self.hsw = 2
        self.window_full = False
        self.n_req = self.n_hit = self.n_window_hit = 0

    # -- the interface ---------------------------------------------------------------------------------
    def lookup(self, key: Key) -> bool:
        self.now += 1
        if self.window_full:
            self.n_req += 1
        meta = self.key_map.get(key)
        hit = False
        if meta is not None:
            hit = meta.cached
            if self.window_full:
                self.n_hit += hit
                self.n_window_hit += 1
            if meta.sampled and (self._random.draw64() % 4 == 0 or self.booster is None):
                self._learn(meta, meta.sampled, _int32(self.now - meta.sampled))
            meta.sampled = 0
            meta.touch(self.now)
            if hit:
                if self.scan_pointer == meta.slot:
                    self.scan_pointer = self.next[meta.slot]
                self.pred_map.pop(key, None)
                self._requeue(meta.slot)
        if self.sampling:
            self._sample()
        self._trim_history()
        return hit

    def insert(self, key: Key, size: int = 1) -> list[Key]:
        meta = self.key_map.get(key)
        if meta is not None and meta.cached:
            self.remove(key)
        if size > self.capacity:
            return []
        evicted = self.evict_to(self.capacity - size)
        self._admit(key, size)
        return evicted

    def evict_to(self, units: int) -> list[Key]:
        evicted = []
        while self.used > units:
            key, position = self._choose_victim()
            self._evict(key, position)
            evicted.append(key)
        return evicted

    def remove(self, key: Key) -> bool:
        """Forget `key`, cached or in the history; whether it was cached (libCacheSim cannot remove)."""
        meta = self.key_map.pop(key, None)
        if meta is None:
            return False
        if not meta.cached:
            self.history[meta.slot - self.history_front + self.history_start] = Meta(None, 0, 0)
            return False
        self.used -= meta.size
        self.pred_map.pop(key, None)
        if self.scan_pointer == meta.slot:
            self.scan_pointer = self.next[meta.slot]
        self._unlink(meta.slot)
        return True

    def __contains__(self, key: Key) -> bool:
        meta = self.key_map.get(key)
        return meta is not None and meta.cached

    def __len__(self) -> int:
        return len(self.metas)

    def keys(self) -> list[Key]:
        """The cached keys in queue order, from the head (least recently requested)."""
        order, position = [], self.head
        for _ in self.metas:
            order.append(self.metas[position].key)
            position = self.next[position]
        return order

    def params(self) -> dict[str, object]:
        return {"objective": self.objective, "batch_size": self.batch_size, "trainings": self.trainings}

    # -- the queue: positions in a circular list, as libCacheSim's CacheUpdateQueue ----------------------
    def _enqueue(self, position: int) -> None:
        """Link a new position at the tail (most recently used)."""
        if self.head == -1:
            self.head = self.tail = position
            self.prev[position] = self.next[position] = position
        else:
            self.next[self.tail] = position
            self.prev[self.head] = position
            self.prev[position] = self.tail
            self.next[position] = self.head
            self.tail = position

    def _requeue(self, position: int) -> None:
        """A hit moves its object to the tail (at the head, the circle just turns one step)."""
        if position == self.head:
            self.tail = self.head
            self.head = self.next[self.head]
        elif position != self.tail:
            after, before = self.next[position], self.prev[position]
            self.next[before], self.prev[after] = after, before
            self.next[position], self.prev[self.head] = self.head, position
            self.prev[position], self.next[self.tail] = self.tail, position
            self.tail = position

    def _unlink(self, position: int) -> None:
        """Take a position out of the circle; the object at the last position moves into it."""
        after, before = self.next[position], self.prev[position]
        if position == self.head:
            self.head = after
        elif position == self.tail:
            self.tail = before
        self.next[before], self.prev[after] = after, before
        last = len(self.metas) - 1
        if position != last:
            if self.scan_pointer == last:
                self.scan_pointer = position
            if self.next[last] == last:  # alone in the circle (libCacheSim leaves its prev at `last`, gone)
                self.prev[last] = self.next[last] = position
            else:
                self.next[self.prev[last]] = position
                self.prev[self.next[last]] = position
            moved = self.metas[last]
            moved.slot = position
            self.metas[position] = moved
            self.prev[position], self.next[position] = self.prev[last], self.next[last]
            if self.tail == last:
                self.tail = position
            if self.head == last:
                self.head = position
        self.metas.pop()
        self.prev.pop()
        self.next.pop()

    def _admit(self, key: Key, size: int) -> None:
        meta = self.key_map.get(key)
        if meta is None:
            meta = self.key_map[key] = Meta(key, size, self.now)
        else:  # back from the history: its entry there stays, empty
            self.history[meta.slot - self.history_front + self.history_start] = Meta(None, 0, 0)
            meta.size = size
        position = len(self.metas)
        meta.cached, meta.slot = True, position
        self.metas.append(meta)
        self.prev.append(0)
        self.next.append(0)
        self._enqueue(position)
        self.used += size
        if self.booster is not None:
            self.new_bytes = (self.new_bytes + size) & MASK64  # libCacheSim's uint64
            self.new_keys.append(key)
            self.new_sizes.append(size)

    # -- training samples ------------------------------------------------------------------------------
    def _history_length(self) -> int:
        return len(self.history) - self.history_start

    def _sample(self) -> None:
        """Mark one random object, cached or in the history, with the time (if not marked already)."""
        cached = len(self.metas)
        position = self._random.draw64() % (cached + len(self.history) - self.history_start)
        if position < cached:
            meta = self.metas[position]
        else:
            meta = self.history[self.history_start + position - cached]
        if meta.sampled == 0:
            meta.sampled = self.now

    def _trim_history(self) -> None:
        """Drop the history's oldest entry when it holds (hsw - 1) times the cached objects (plus 2)."""
        if len(self.history) - self.history_start < len(self.metas) * (self.hsw - 1) + 2:
            return
        self.window_full = True
        meta = self.history[self.history_start]
        if meta.size != 0:
            if meta.sampled and (self._random.draw64() % 4 == 0 or self.booster is None):
                waited = self.now - meta.last
                self.boundary[1] = max(self.boundary[1], waited)
                self._learn(meta, meta.sampled, _int32(self.boundary[0] + waited))
            del self.key_map[meta.key]
        self.history_start += 1
        self.history_front += 1
        if self.history_start > 4096 and 2 * self.history_start > len(self.history):
            del self.history[: self.history_start]
            self.history_start = 0

    def _learn(self, meta: Meta, sampled_at: int, distance: int) -> None:
        """One training row: the features the object had when it was sampled, log1p(distance) as label."""
        meta.row(float((sampled_at - meta.last) & MASK64), self.indices, self.data)
        self.indptr.append(len(self.indices))
        self.labels.append(math.log1p(distance))
        if len(self.labels) >= self.batch_size and self.evict_budget <= 0:
            self._train()

    def _train(self) -> None:
        import numpy as np

        self.booster = train_booster(
            self._lgb, self.lgb_params, self.num_iterations,
            np.array(self.data), np.array(self.indices, dtype=np.int32), np.array(self.indptr, dtype=np.int32),
            np.array(self.labels),
        )  # fmt: skip
        self.trainings += 1
        self.labels, self.indptr, self.indices, self.data = [], [0], [], []
        self.pred_map.clear()
        self.pred_heap.clear()
        self.boundary[0] = self.boundary[1]
        self.time_base = self.now
        self._adapt_history()

    def _adapt_history(self) -> None:
        """After a million requests with a full history: grow it while it adds more than 1% to the hits."""
        if not (self.n_req > 10**6 and self.window_full):
            return
        extra = self.n_window_hit - self.n_hit
        denominator = self.n_hit * (self.hsw - 1)
        gain = extra / denominator if denominator else (math.inf if extra else math.nan)
        if gain > 0.01:
            if self.hsw - 1 < (self.n_req - self.n_hit) // extra:
                self.hsw += 1
                self.window_full = False
            self.hsw = min(self.hsw, MAX_HSW)
        self.n_hit = self.n_window_hit = self.n_req = 0

    # -- eviction ----------------------------------------------------------------------------------------
    def _choose_victim(self) -> tuple[Key, int]:
        """The key and position to evict: the queue's head before any training, else the prediction heap's top."""
        if self.booster is not None:
            if self.evict_budget <= 0 or not self.pred_map:
                self.evict_budget = self._rank() // EVICTION_RATE
            while self.pred_heap:
                reuse, key = heap_pop(self.pred_heap)
                if self.pred_map.get(key) == reuse:  # not a stale prediction
                    meta = self.key_map[key]
                    self.evicted_by_count[int(math.log2(meta.count))] += 1
                    if meta.last <= self.pointer_time:
                        self.eviction_counts[0] += 1
                    return key, meta.slot
        return self.metas[self.head].key, self.head  # (libCacheSim: position -1 when the heap runs dry)

    def _evict(self, key: Key, position: int) -> None:
        """Move the object at `position` from the cache to the history's end."""
        self.sampling = True
        self.evict_budget -= 1
        meta = self.metas[position]
        self.used -= meta.size
        self.pred_map.pop(key, None)
        if self.scan_pointer == position:
            self.scan_pointer = self.next[position]
        meta.cached, meta.slot = False, self._history_length() + self.history_front
        self.history.append(meta)
        self._unlink(position)

    def _rank(self) -> int:
        """Predict for a batch of candidates (new objects first, then the scan); how many were predicted."""
        if self.queue_length == 0:
            self.queue_length = len(self.metas)
        if self.sample_rate >= self.queue_length * 0.01 + EVICTION_RATE:
            self.sample_rate = self._batch_rate(self.queue_length)
        candidates = self._quick_demotion()
        if self.new_bytes < self.used * self.reserved_space // 10:
            self._scan(candidates)
            self.pointer_time = self.metas[candidates[-1]].last
            self.eviction_counts[1] += self.sample_rate
        self._predict(candidates)
        return len(candidates)

    @staticmethod
    def _batch_rate(queue_length: int) -> int:
        """1% of the queue plus the eviction rate (1 for a queue of 2 objects or fewer)."""
        return int(queue_length * 0.01 + EVICTION_RATE) if queue_length > 2 else 1

    def _quick_demotion(self) -> list[int]:
        """Positions of the new objects to predict for while new objects take more than reserved_space%."""
        candidates: list[int] = []
        taken = looked = 0
        while (
            self.new_bytes > self.used * self.reserved_space // 100
            and taken < int(self.sample_rate * 1.5)
            and looked < len(self.new_keys)
        ):
            meta = self.key_map.get(self.new_keys[looked])
            size = self.new_sizes[looked] if meta is None else meta.size  # (libCacheSim: undefined if gone)
            self.new_bytes = (self.new_bytes - size) & MASK64
            if meta is not None and meta.cached:
                candidates.append(meta.slot)
                taken += 1
            looked += 1
        del self.new_keys[:looked], self.new_sizes[:looked]
        if not self.new_keys:
            self.new_bytes = 0
        return candidates

    def _scan(self, candidates: list[int]) -> None:
        """Walk the queue from the scan pointer, taking the first sampling_lru% and the rarely requested."""
        taken = 0
        while taken < self.sample_rate and len(candidates) < self.queue_length:
            lru_share = self.queue_length * self.sampling_lru // 100
            if self.eviction_counts[3] == 0 and self.scan_length > lru_share:
                counts = self.eviction_counts
                counts[2], counts[3], counts[1], counts[0] = counts[0], counts[1], 0, 0
            below_boundary = (self.metas[self.scan_pointer].count - 1) & 0xFFFF < self.sample_boundary
            if below_boundary or self.scan_length <= lru_share + EVICTION_RATE:
                candidates.append(self.scan_pointer)
                taken += 1
            self.scan_length += 1
            if self.scan_length >= self.queue_length:
                self._end_pass()
                taken = 0
                continue
            self.scan_pointer = self.next[self.scan_pointer]

    def _end_pass(self) -> None:
        """A whole pass over the queue: restart at the head, re-fit the boundary and the shares."""
        self.queue_length = len(self.metas)
        self.sample_rate = 1024
        if self.sample_rate >= int(self.queue_length * 0.01 + EVICTION_RATE):
            self.sample_rate = self._batch_rate(self.queue_length)
        self.scan_pointer = self.head
        self.scan_length = 0
        self.pred_map.clear()
        self.pred_heap.clear()
        if self.objective == "object-miss-ratio":
            return
        self._fit_boundary()
        counts = self.eviction_counts
        if counts[2] * counts[1] > counts[0] * counts[3]:  # old objects were evicted more than before
            self.sampling_lru = (self.sampling_lru + 1) & 0xFF
        elif self.sampling_lru > 1:
            self.sampling_lru -= 1
        if counts[0] + counts[2] > len(self.new_keys):
            self.reserved_space = (self.reserved_space + 1) & 0xFF
        elif self.reserved_space > 1:
            self.reserved_space //= 2
        self.eviction_counts = [0] * 4
        self.evicted_by_count = [0] * 16

    def _fit_boundary(self) -> None:
        """sample_boundary: the request count below which 99% of the pass's evicted objects were."""
        by_count = self.evicted_by_count
        total = sum(by_count)
        below = 0
        for i in range(16):
            below += by_count[i]
            if below >= 0.99 * total:
                if i == 0:
                    self.sample_boundary = 1
                else:
                    step = (2**i - 2 ** (i - 1)) * ((0.99 * total + by_count[i] - below) / by_count[i])
                    self.sample_boundary = int(2 ** (i - 1) + math.ceil(step)) & 0xFFFF
                return

    def _predict(self, positions: list[int]) -> None:
        """Predict the candidates' reuse times (float32, as libCacheSim keeps them) into the heap.

        libCacheSim hands LightGBM sparse rows; a dense row with zeros where a
        sparse one has no entry is the same input to a tree (an absent feature
        reads as 0.0), and costs less to build.
        """
        import numpy as np

        metas = [self.metas[position] for position in positions]
        rows = []
        for meta in metas:
            row = [self.now - meta.last, 0, 0, 0, meta.size, meta.count]  # age, 3 distances, size, count
            if meta.distances is not None:
                for j in range(min(meta.next_distance, N_PAST_DISTANCES)):
                    row[j + 1] = meta.distances[(meta.next_distance - 1 - j) % N_PAST_DISTANCES]
            rows.append(row)
        dense = np.array(rows, dtype=np.float64).reshape(len(rows), N_FEATURES)
        scores = self.booster.predict(dense, num_threads=1) if metas else np.zeros(0)
        for meta, time in zip(metas, reuse_times(self.objective, scores, dense, self.now - self.time_base).tolist()):
            heap_push(self.pred_heap, (time, meta.key))
            self.pred_map[meta.key] = time

    # -- the compiled engine --------------------------------------------------------------------------
    def make_kernel(self) -> Kernel:
        """The kernel (policies/_kernels/threelcache.pyx): the bookkeeping in C, the model through fit and
        reuse_times, the reference's own steps; it predicts through LightGBM's C function (learned.predictor),
        the call booster.predict makes, without its set-up."""
        from policies._kernels.threelcache import ThreeLCacheKernel

        def fit(data: Any, indices: Any, indptr: Any, labels: Any) -> tuple[Any, Any]:  # numpy arrays
            booster = train_booster(self._lgb, self.lgb_params, self.num_iterations, data, indices, indptr, labels)
            return booster, predictor(booster)

        return ThreeLCacheKernel(
            self.capacity, self.objective == "object-miss-ratio", self.batch_size, MinstdDraws(self.seed).state,
            fit, functools.partial(reuse_times, self.objective),
        )  # fmt: skip


def train_booster(
    lgb: Any, params: dict, num_iterations: int, data: Any, indices: Any, indptr: Any, labels: Any
) -> Any:
    """A booster trained on the sparse rows (float64 values, int32 indices and row offsets) and their labels.

    The labels are handed over as float32, as libCacheSim keeps them.
    """
    import numpy as np
    from scipy.sparse import csr_matrix

    rows = csr_matrix((data, indices, indptr), shape=(len(labels), N_FEATURES))
    dataset = lgb.Dataset(rows, label=np.asarray(labels, dtype=np.float32), params=params, free_raw_data=True)
    booster = lgb.Booster(params=params, train_set=dataset)
    for _ in range(num_iterations):
        if booster.update():
            break
    return booster


def reuse_times(objective: str, scores: Any, rows: Any, elapsed: int) -> Any:
    """The predicted reuse times (float32, as libCacheSim keeps them) of the dense rows' objects.

    The model predicts log1p of the distance to the next request; for the
    byte miss ratio the reuse time counts from the last training (`elapsed`
    requests ago), for the object miss ratio it is weighed by the size.
    """
    import numpy as np

    if objective == "byte-miss-ratio":
        reuse = np.exp(scores) + float(elapsed)
    else:
        reuse = rows[:, SIZE_FEATURE] * np.exp(scores)
    return reuse.astype(np.float32)
