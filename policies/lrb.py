"""LRB, Learning Relaxed Belady: evict the sampled object a learned model expects back last.

Z. Song, D. S. Berger, K. Li, W. Lloyd, "Learning Relaxed Belady for
Content Distribution Network Caching", USENIX NSDI 2020.

Belady evicts the object requested furthest in the future; LRB relaxes it to
"any object not requested within the *memory window*" and learns to find one.
It remembers every object seen in the last ``memory_window`` requests, cached
or not, and keeps for each its features: the time since its last request, up
to 31 past inter-request distances (most recent first), its size, how many of
those distances fall within the window, and ten exponentially decayed counts
(EDCs, half-lives of 2**10 .. 2**19 requests).  After the cache first fills,
each request samples one remembered object; when that object is requested
again (or forgotten, or evicted beyond the window) the sample becomes a
training row labelled ``log1p(distance to its next request)``.  Every
``batch_size`` rows, LightGBM trains a fresh regression model.  To evict, LRB
samples ``sample_rate`` cached objects, predicts their log distances and evicts
the one predicted furthest.  Before the first model, and whenever the least
recently used object has not been requested for a whole window, it evicts
that LRU object.

libCacheSim 0.3.5's ``LRB`` (cache/eviction/LRB/lrb.cpp, lrb.h, the authors'
webcachesim code), which this module follows: its features, memory window
(2**26), batch size (2**17), sampling, labels, and LightGBM parameters (32
trees of 32 leaves, learning rate 0.1, feature and bagging fractions 0.8,
bagging every 5 iterations); its ``objective`` is "byte-miss-ratio" (the
scores are not scaled) or "object-miss-ratio" (scores times the size).

Differences from libCacheSim's C++ code:

* the draws (the object sampled per request, the eviction candidates) come
  from the policy's own ``random.Random(seed)``; libCacheSim's from a
  ``std::default_random_engine`` shared by the cache.  With LightGBM trained
  on other samples, the models differ too: parity is of the miss ratio,
  within 0.01 (policies/README.md; before the first model the two equal LRU
  to the miss);
* LightGBM runs with ``deterministic=True``, one thread and a seed derived
  from ``seed``, so the same seed gives the same misses; its input is a dense
  matrix whose absent features are 0, as libCacheSim's sparse rows read;
* the EDCs are kept in doubles (libCacheSim stores them in floats), and sizes
  and times are Python ints (uint32 in libCacheSim, which wrap past 4 GiB);
* of 64 equal scores the first sampled is evicted (libCacheSim's std::sort
  leaves the order of equals unspecified);
* the clock counts requests as Hyperbolic's does (policies/hyperbolic.py): a
  lookup ticks it, and an insert ticks it unless it follows that key's
  lookup; a key replaced by an insert, or removed, is forgotten with its
  pending samples (libCacheSim's LRB supports neither).

Where it runs: this module is the reference.  Its kernel
(policies/_kernels/lrb.pyx) does the per-request bookkeeping in C, for
replay and the timed model's compiled loop, with the same draws and the same
arithmetic; both train through ``fit`` and predict with LightGBM's own C
function (LGBM_BoosterPredictForMat, one call per eviction), so the two make
the same decisions request for request.  A lookup of a key never seen is a
request here (it ticks the clock and may sample), so the kernel asks its
callers to show it those lookups too (``sees_new_keys``).
"""

from __future__ import annotations

import math
import random as _random
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from policies.base import Kernel, Key, PolicyError, SizedPolicy, register
from policies.learned import PREDICT_OPTIONS, c_predictor, lightgbm, predictor
from policies.limits import MAX_SEED, check_int

#: how many past inter-request distances an object keeps (libCacheSim's max_n_past_distances)
N_DISTANCES = 31
#: the EDCs: half-lives 2**10 .. 2**19 requests (base_edc_window, n_edc_feature)
EDC_WINDOWS = tuple(2 ** (10 + i) for i in range(10))
#: the features of a row: the time since the last request, 31 distances, the size, how many of the
#: distances lie within the window, 10 EDCs (libCacheSim's n_feature, with its feature 32 the size)
N_FEATURES = 1 + N_DISTANCES + 1 + 1 + len(EDC_WINDOWS)
SIZE, FIRST_EDC = N_DISTANCES + 1, N_DISTANCES + 3  # the columns of the size and of the first EDC
OBJECTIVES = ("byte-miss-ratio", "object-miss-ratio")
#: libCacheSim's limit on draws of distinct eviction candidates before it accepts a repeat
MAX_DISTINCT_TRIALS = 200


@dataclass(slots=True)
class Meta:
    """What LRB remembers of an object requested within the memory window."""

    size: int
    last: int  # the time (request number) of its last request
    distances: deque = field(default_factory=lambda: deque(maxlen=N_DISTANCES))  # most recent first
    edc: list[float] | None = None  # the decayed counts, from its second request on
    samples: list[int] = field(default_factory=list)  # the times it was sampled since its last request


@register("lrb")
class LRB(SizedPolicy):
    """Learning Relaxed Belady (``keys()``: least recently used first)."""

    summary = (
        "LRB: evicts, of 64 sampled keys, the one a LightGBM model predicts is requested last (needs kvsim[learned])."
    )

    def __init__(
        self,
        capacity: int,
        objective: str = "byte-miss-ratio",
        memory_window: int = 2**26,
        sample_rate: int = 64,
        batch_size: int = 2**17,
        num_iterations: int = 32,
        num_leaves: int = 32,
        learning_rate: float = 0.1,
        seed: int = 0,
    ):
        super().__init__(capacity)
        if objective not in OBJECTIVES:
            raise PolicyError(f"objective must be one of {', '.join(OBJECTIVES)}; got {objective!r}")
        self.objective = objective
        self.memory_window = check_int("memory_window", memory_window, EDC_WINDOWS[0], 2**32 - 1)
        self.sample_rate = check_int("sample_rate", sample_rate, 1, 4096)
        self.batch_size = check_int("batch_size", batch_size, 1, 2**31 - 1)
        self.num_iterations = check_int("num_iterations", num_iterations, 1, 10_000)
        self.num_leaves = check_int("num_leaves", num_leaves, 2, 131_072)
        if not (isinstance(learning_rate, (int, float)) and 0 < learning_rate <= 1):
            raise PolicyError(f"learning_rate must be in (0, 1]; got {learning_rate!r}")
        self.learning_rate = float(learning_rate)
        self.seed = check_int("seed", seed, 0, MAX_SEED)
        self._lgb = lightgbm("lrb")  # here, not at import: see policies/learned.py
        self._random = _random.Random(self.seed).random
        self.max_edc_index = self.memory_window // EDC_WINDOWS[0] - 1
        self.now = -1  # the number of the current request (libCacheSim's current_seq)
        self.metas: dict[Key, Meta] = {}  # every object requested within the window, cached or not
        self.lru: OrderedDict[Key, None] = OrderedDict()  # the cached keys, least recently used first
        self._cached: list[Key] = []  # the cached keys, densely, for sampling (and _cached_at, their places)
        self._cached_at: dict[Key, int] = {}
        # The cached objects' feature rows, by their place in _cached, with the time of the last request
        # where the age goes and undecayed EDCs: the candidates' rows are read from it all at once.
        self._rows = np.zeros((64, N_FEATURES))
        self._gone: list[Key] = []  # the remembered keys not cached, densely (and _gone_at)
        self._gone_at: dict[Key, int] = {}
        self._forget_at: dict[int, Key] = {}  # last request time % window -> the uncached key to forget then
        self._awaiting: dict[Key, int] = {}  # key looked up and missed -> that request's time (its insert's)
        self.sampling = False  # from the first eviction on, each request samples an object
        self.rows: list[list[float]] = []  # the training rows gathered since the last model
        self.labels: list[float] = []
        self.model: Any = None  # the current LightGBM booster (Any: lightgbm is optional), None before the first
        self._predict: Callable[[np.ndarray], np.ndarray] | None = None  # its predictions (learned.predictor)
        self.trainings = 0

    # -- requests ------------------------------------------------------------
    def lookup(self, key: Key) -> bool:
        self._request(key)
        if key in self.sizes:
            self._awaiting.pop(key, None)
            return True
        self._awaiting[key] = self.now
        return False

    def insert(self, key: Key, size: int = 1) -> list[Key]:
        requested = self._awaiting.pop(key, None)
        if requested is None:
            self._request(key)  # an insert without a lookup is a request of its own
            requested = self.now
        if not self._replaces(key, size):
            return []
        evicted = self.evict_to(self.capacity - size)
        self._admit(key, size, requested)
        return evicted

    def _request(self, key: Key) -> None:
        """A request's bookkeeping, hit or miss: the clock, forgetting, the key's history, a sample."""
        self.now += 1
        self._forget()
        meta = self.metas.get(key)
        if meta is not None:
            if meta.samples:
                self._mature(meta, lambda sampled: self.now - sampled)
            self._record(meta, self.now - meta.last)
            if key in self.sizes:
                meta.last = self.now
                self.lru.move_to_end(key)
                self._rows[self._cached_at[key]] = self.static_row(meta)
            else:
                del self._forget_at[meta.last % self.memory_window]
                self._forget_at[self.now % self.memory_window] = key
                meta.last = self.now
        if self.sampling:
            self._sample()

    def _record(self, meta: Meta, distance: int) -> None:
        """Add an inter-request distance to the object's history and decay its EDCs."""
        meta.distances.appendleft(distance)
        decays = [self._decay(distance, window) for window in EDC_WINDOWS]
        if meta.edc is None:
            meta.edc = [decay + 1.0 for decay in decays]
        else:
            meta.edc = [count * decay + 1.0 for count, decay in zip(meta.edc, decays, strict=True)]

    def _decay(self, age: int, window: int) -> float:
        """2**-(age // window), the age capped at the window's end (libCacheSim's hash_edc table)."""
        return 0.5 ** min(age // window, self.max_edc_index)

    def _forget(self) -> None:
        """Forget the uncached object last requested exactly a window ago; its samples label "far"."""
        key = self._forget_at.pop(self.now % self.memory_window, None)
        if key is not None:
            meta = self.metas.pop(key)
            self._unlist(key, self._gone, self._gone_at)
            if meta.samples:
                self._mature(meta, lambda sampled: 2 * self.memory_window)

    def _sample(self) -> None:
        """Sample one remembered object, cached or not, as a future training row."""
        n_in, n_out = len(self._cached), len(self._gone)
        if n_in + n_out == 0:  # everything removed (libCacheSim's LRB cannot remove)
            return
        from_cache = self._random() * (n_in + n_out) < n_in
        keys = self._cached if from_cache else self._gone
        self.metas[keys[int(self._random() * len(keys))]].samples.append(self.now)

    def _admit(self, key: Key, size: int, requested: int) -> None:
        """Cache `key`, requested at time `requested` (now, or earlier for a timed model's late insert)."""
        meta = self.metas.get(key)
        if meta is None:  # each time is one request's, and one key's: the times to forget at differ
            self.metas[key] = Meta(size, requested)
        else:  # remembered: it comes back into the cache
            meta.size = size
            del self._forget_at[meta.last % self.memory_window]
            self._unlist(key, self._gone, self._gone_at)
        self.sizes[key] = size
        self.used += size
        self.lru[key] = None
        self._list(key, self._cached, self._cached_at)
        if len(self._cached) > len(self._rows):
            self._rows = np.concatenate([self._rows, np.zeros_like(self._rows)])
        self._rows[self._cached_at[key]] = self.static_row(self.metas[key])

    # -- training ------------------------------------------------------------
    def features(self, meta: Meta, at: int) -> list[float]:
        """The object's feature row as of time `at` (a sample's time, or now).

        The time since its last request; its past distances, most recent first (0 where it has
        fewer than 31); its size; how many of them lie within the window, counted back from the
        latest; each EDC decayed by that time since the last request (for an object requested
        once, only the decay).
        """
        row = self.static_row(meta)
        age = at - meta.last
        row[0] = age
        for i, window in enumerate(EDC_WINDOWS, start=FIRST_EDC):
            row[i] *= self._decay(age, window)
        return row

    def static_row(self, meta: Meta) -> list[float]:
        """The part of the object's row that only its requests change: the features with the time of
        its last request in place of the age, and its EDCs (or 1s) not yet decayed by that age."""
        distances = list(meta.distances)
        within, total = 0, 0
        for distance in distances:
            total += distance
            within += total < self.memory_window
        padding = [0.0] * (N_DISTANCES - len(distances))
        counts = meta.edc if meta.edc is not None else [1.0] * len(EDC_WINDOWS)
        return [meta.last, *distances, *padding, meta.size, within, *counts]

    def candidate_rows(self, candidates: list[Key]) -> np.ndarray:
        """``features(meta, now)`` of each candidate, computed for all at once from their static rows."""
        rows = self._rows[[self._cached_at[key] for key in candidates]]
        rows[:, 0] = self.now - rows[:, 0]
        steps = np.minimum(rows[:, :1] // np.array(EDC_WINDOWS, dtype=np.float64), self.max_edc_index)
        rows[:, FIRST_EDC:] *= 0.5**steps
        return rows

    def _mature(self, meta: Meta, distance_after: Callable[[int], int]) -> None:
        """Turn the object's samples into training rows; train when a batch is complete."""
        for sampled in meta.samples:
            self.rows.append(self.features(meta, sampled))
            self.labels.append(math.log1p(distance_after(sampled)))
        meta.samples = []
        if len(self.labels) >= self.batch_size:
            self.train()

    def train(self) -> None:
        """Train a fresh model on the rows gathered, then start a new batch."""
        self.model = self.fit(np.array(self.rows, dtype=np.float64), np.array(self.labels))
        self._predict = predictor(self.model)
        self.trainings += 1
        self.rows, self.labels = [], []

    def fit(self, rows: np.ndarray, labels: np.ndarray) -> Any:
        """A LightGBM booster trained on `rows` (float64, one per sample) and their labels, with
        libCacheSim's parameters (the kernel trains through this too: the same model)."""
        params = {
            "objective": "regression",
            "num_leaves": self.num_leaves,
            "learning_rate": self.learning_rate,
            "feature_fraction": 0.8,
            "bagging_freq": 5,
            "bagging_fraction": 0.8,
            "num_threads": 1,
            "force_row_wise": True,
            "deterministic": True,
            "seed": self.seed % 2**31,
            "verbosity": -1,
        }
        data = self._lgb.Dataset(rows, label=labels, params=params)
        return self._lgb.train(params, data, num_boost_round=self.num_iterations)

    # -- eviction ------------------------------------------------------------
    def evict_to(self, units: int) -> list[Key]:
        """Evict, as an insert makes room, until at most `units` are used (a resize is no request)."""
        evicted = []
        while self.used > units:
            victim = self.victim()
            self._evict(victim)
            evicted.append(victim)
        return evicted

    def victim(self) -> Key:
        """The LRU key before the first model or past the window; else the sampled key predicted furthest."""
        oldest = next(iter(self.lru))
        if self._predict is None or self.now - self.metas[oldest].last >= self.memory_window:
            return oldest
        candidates = self._candidates()
        rows = self.candidate_rows(candidates)
        scores = self._predict(rows)
        if self.objective == "object-miss-ratio":
            scores = scores * rows[:, SIZE]
        return candidates[int(np.argmax(scores))]

    def _candidates(self) -> list[Key]:
        """`sample_rate` cached keys drawn at random, distinct unless 200 draws could not find them."""
        keys, chosen, seen = self._cached, [], set()  # type: list[Key], list[Key], set[Key]
        trials = 0
        while len(chosen) < self.sample_rate:
            trials += 1
            key = keys[int(self._random() * len(keys))]
            if key in seen and trials < MAX_DISTINCT_TRIALS:
                continue
            seen.add(key)
            chosen.append(key)
        return chosen

    def _evict(self, key: Key) -> None:
        """Evict a cached key: remembered as uncached, or forgotten if its last request is a window old."""
        self.sampling = True
        meta = self.metas[key]
        self._drop(key)
        del self.lru[key]
        self._unlist(key, self._cached, self._cached_at)
        if self.now - meta.last >= self.memory_window:
            del self.metas[key]
            if meta.samples:
                self._mature(meta, lambda sampled: self.now - meta.last + self.memory_window)
        else:
            self._forget_at[meta.last % self.memory_window] = key
            self._list(key, self._gone, self._gone_at)

    # -- the dense lists that sampling draws from ----------------------------
    @staticmethod
    def _list(key: Key, keys: list[Key], index: dict[Key, int]) -> None:
        index[key] = len(keys)
        keys.append(key)

    def _unlist(self, key: Key, keys: list[Key], index: dict[Key, int]) -> None:
        place = index.pop(key)
        last = keys.pop()  # the last key fills the removed one's place (and its feature row, if cached)
        if last != key:
            keys[place] = last
            index[last] = place
            if keys is self._cached:
                self._rows[place] = self._rows[len(keys)]

    # -- the rest of the interface -------------------------------------------
    def remove(self, key: Key) -> bool:
        """Forget `key` entirely, cached or remembered, with its samples."""
        self._awaiting.pop(key, None)
        meta = self.metas.pop(key, None)
        if meta is None:
            return False
        if self._drop(key) is None:
            del self._forget_at[meta.last % self.memory_window]
            self._unlist(key, self._gone, self._gone_at)
            return False
        del self.lru[key]
        self._unlist(key, self._cached, self._cached_at)
        return True

    def keys(self) -> list[Key]:
        return list(self.lru)

    def make_kernel(self) -> Kernel:
        from policies._kernels.lrb import LRBKernel

        # The same generator from the same seed, the same arithmetic, the same fit and LightGBM's own
        # prediction function: the same victims.
        return LRBKernel(
            self.capacity,
            self.memory_window,
            self.sample_rate,
            self.batch_size,
            self.objective == "object-miss-ratio",
            self.seed,
            self.fit,
            c_predictor(),
            PREDICT_OPTIONS,
        )

    def params(self) -> dict[str, object]:
        return {
            "objective": self.objective,
            "memory_window": self.memory_window,
            "sample_rate": self.sample_rate,
            "batch_size": self.batch_size,
            "num_iterations": self.num_iterations,
            "num_leaves": self.num_leaves,
            "learning_rate": self.learning_rate,
            "seed": self.seed,
        }
