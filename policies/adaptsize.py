"""AdaptSize: admit an object with a probability that falls with its size, tuned by a model.

D. S. Berger, R. K. Sitaraman and M. Harchol-Balter, "AdaptSize: Orchestrating
the Hot Object Memory Cache in a Content Delivery Network", NSDI 2017.

A small, hot cache gains most from many small objects: one large object takes
the room of hundreds that would each be hit.  AdaptSize admits a missed object
of size s with probability ``exp(-s / c)``.  The parameter c is tuned every
`reconf_interval` requests: the request rate of each object is estimated
(an exponentially weighted moving average over the windows, weight 0.3 for the
past), and a Markov model of an LRU cache behind the filter (the paper's
section 4: each object's hit probability from its rate, its admission
probability and the cache's characteristic time T, T solved by a fixed
point) predicts the object hit ratio for a given c.  A coarse scan of log2(c)
and a golden-section search pick the c with the best prediction.

    >>> from policies import make_policy
    >>> cache = make_policy("lru", 1000, admission="adaptsize")
    >>> cache.admission.c
    32768.0

This follows libCacheSim's ``AdaptSize`` admissioner
(libCacheSim/cache/admission/adaptsize/), with its defaults: c starts at
2**15, `max_iteration` 15 golden-section steps, a window of `reconf_interval`
30,000 requests, and no tuning while the objects seen weigh less than three
times the capacity (then it looks again 1,000 requests later).  Every request
counts in the statistics (the filter's ``record``), every insert of an object
not cached is vetted (``admit``).  Differences from libCacheSim's C code:

* The coin is the filter's own seeded generator (``seed``), a float in [0, 1);
  libCacheSim draws ``next_rand() % 10**7 / 10**7`` from one generator shared
  by the process.  So parity is statistical: the mean miss ratio of five
  seeds within 0.005 of libcachesim's mean of five runs.
* The model's sums run in numpy (pairwise, vectorised) over the objects in
  the order they first entered the long-term statistics; libCacheSim sums
  one by one in its hash table's order.  The two differ in the last bits of a
  prediction, so a near tie between two values of c may go either way.
* ``record`` learns no size (a lookup has none), so a request is counted with
  its size when its miss is vetted, and a hit with the size its object had
  when it was last vetted (libCacheSim: the request's size, the same for an
  object that keeps one size, as in every trace we replay).  A miss that is
  never vetted (a timed model's fill that does not come, a key cached
  meanwhile) counts with the last vetted size, or not at all for a key never
  vetted.
* libCacheSim keeps its statistics' total (`stat_size`) unsigned, so it wraps
  if an object changes size in both of its tables at once; ours is an integer
  that cannot wrap.
* ``reconf_interval`` is at least 1 (libCacheSim's 0 wraps its countdown and
  never tunes) and at most 2**62; ``max_iteration`` 0..2**31-1.
"""

from __future__ import annotations

import math
import random

import numpy as np

from policies.admission import Admission, register_admission
from policies.base import Kernel, Key
from policies.limits import check_int

#: weight of the past in the request rates' moving average
EWMA_DECAY = 0.3
#: the golden section's ratios, and the search's relative tolerance (the paper's constants)
GOLDEN_RATIO = 0.61803399
GOLDEN_REST = 1 - GOLDEN_RATIO
TOLERANCE = 3.0e-8
#: objects whose decayed rate falls below this are forgotten
FORGET_BELOW = 0.1
#: while the statistics weigh at most this many capacities, no tuning, and another look this many requests on
MIN_CAPACITIES, LOOK_AGAIN = 3, 1000
INITIAL_C = float(1 << 15)


def predicted_hit_ratio(log2_c: float, rates: np.ndarray, sizes: np.ndarray, capacity: int) -> float:
    """The model's request-weighted hit count of an LRU cache of `capacity` behind exp(-size / 2**log2_c).

    `rates` are the objects' requests per window, `sizes` their sizes.  The
    characteristic time T (how long an object stays after its last request)
    solves sum(size x P(object cached | T)) = capacity by 20 fixed-point steps
    from capacity / sum(rate x admission x size); each object's hit
    probability then follows from the paper's closed form in T, rate and
    admission probability.
    """
    admission = np.exp(-sizes / 2.0**log2_c)
    total = float(np.sum(rates * admission * sizes))
    if total <= 0:
        return 0.0
    with np.errstate(all="ignore"):
        t = capacity / total
        for _ in range(20):
            if t > 1e70:
                break
            rate_t = rates * t
            grown = admission * (np.exp(rate_t) - 1)
            cached = np.where(rate_t > 150, sizes, sizes * (grown / (1 + grown)))
            t = capacity * t / float(np.sum(cached))
        lt = rates * t
        numerator = rates * admission * t * (840.0 + 60.0 * lt + 20.0 * lt**2 + lt**3)
        denominator = (
            840.0
            + 120.0 * rates * (-3.0 + 7.0 * admission) * t
            + 60.0 * lt**2 * (1.0 + admission)
            + 4.0 * lt**3 * (-1.0 + 5.0 * admission)
            + lt**4 * admission
        )
        hit = np.where((numerator != 0) & (denominator == 0), 0.0, numerator / denominator)
        hit = np.where(hit < 0.0, 0.0, np.where(hit > 1.0, 1.0, hit))  # NaN stays NaN, as in C
        return float(np.sum(rates * hit))


def best_c(rates: np.ndarray, sizes: np.ndarray, capacity: int, max_iteration: int, current: float) -> float:
    """The c of the best predicted hit ratio: log2(c) scanned 2, 6, 10, ..., then a golden-section search.

    The search brackets log2(c) in [0, log2(capacity)] around the scan's best;
    a prediction that is NaN keeps `current`.
    """

    def model(log2_c: float) -> float:
        return predicted_hit_ratio(log2_c, rates, sizes, capacity)

    x0, x1 = 0.0, math.log2(capacity)
    x3 = x1
    h1 = 0.0
    step = 2
    while step < x3:
        hit = model(step)
        if hit > h1:
            h1, x1 = hit, float(step)
        step += 4
    if x3 - x1 > x1 - x0:
        x2 = x1 + GOLDEN_REST * (x3 - x1)
        h2 = model(x2)
    else:
        x2, h2 = x1, h1
        x1 = x0 + GOLDEN_REST * (x1 - x0)
        h1 = model(x1)
    for _ in range(max_iteration):
        if not abs(x3 - x0) > TOLERANCE * (abs(x1) + abs(x2)):
            break
        if math.isnan(h1) or math.isnan(h2):
            break
        if h2 > h1:
            x0, x1, h1 = x1, x2, h2
            x2 = GOLDEN_RATIO * x1 + GOLDEN_REST * x3
            h2 = model(x2)
        else:
            x3, x2, h2 = x2, x1, h1
            x1 = GOLDEN_RATIO * x2 + GOLDEN_REST * x0
            h1 = model(x1)
    if math.isnan(h1) or math.isnan(h2):
        return current
    return 2.0 ** (x1 if h1 > h2 else x2)


@register_admission("adaptsize")
class AdaptSizeAdmission(Admission):
    """Admit an object of size s with probability exp(-s / c), c tuned per window by the paper's model."""

    summary = "Admits an object with probability exp(-size / c), c tuned by a Markov model (AdaptSize, NSDI 2017)."

    def __init__(self, capacity: int, max_iteration: int = 15, reconf_interval: int = 30000, seed: int = 0):
        super().__init__(capacity)
        self.max_iteration = check_int("adaptsize admission: max_iteration", max_iteration, 0, 2**31 - 1)
        self.reconf_interval = check_int("adaptsize admission: reconf_interval", reconf_interval, 1, 2**62)
        self.seed = check_int("adaptsize admission: seed", seed, 0, 2**64 - 1)
        self._random = random.Random(self.seed).random
        self.c = INITIAL_C
        self.stat_size = 0  # the sizes of the objects in the statistics
        self.next_reconf = self.reconf_interval
        self.reconfigurations = 0
        self._window: dict[Key, list] = {}  # key -> [requests this window, size]
        self._longterm: dict[Key, list] = {}  # key -> [decayed requests per window, size]
        self._sizes: dict[Key, int] = {}  # each key's size when last vetted (a hit's size)
        self._pending: list[Key] = []  # the last request, not counted until its size is known

    # -- every request ------------------------------------------------------------
    def record(self, key: Key) -> None:
        self._count_pending()
        self.next_reconf -= 1
        if self.next_reconf <= 0:
            self._reconfigure()
        self._pending = [key]

    def admit(self, key: Key, size: int) -> bool:
        if self._pending and self._pending[0] == key:
            self._pending = []
            self._count(key, size)
        self._sizes[key] = size
        return self._random() < math.exp(-size / self.c)

    def _count_pending(self) -> None:
        if self._pending:
            key = self._pending.pop()
            size = self._sizes.get(key)
            if size is not None:
                self._count(key, size)

    def _count(self, key: Key, size: int) -> None:
        """One request of `key` at `size` in this window's statistics."""
        window, longterm = self._window.get(key), self._longterm.get(key)
        if window is None and longterm is None:
            self.stat_size += size
        else:  # an object that changed size: the total follows (in each table that had it)
            for entry in (window, longterm):
                if entry is not None and entry[1] != size:
                    self.stat_size += size - entry[1]
        if window is None:
            window = self._window[key] = [0.0, size]
        window[0] += 1.0
        window[1] = size

    # -- every window ---------------------------------------------------------------
    def _reconfigure(self) -> None:
        if self.stat_size <= MIN_CAPACITIES * self.capacity:
            self.next_reconf += LOOK_AGAIN
            return
        self.next_reconf = self.reconf_interval
        self._merge_window()
        rates = np.array([entry[0] for entry in self._longterm.values()], dtype=np.float64)
        sizes = np.array([entry[1] for entry in self._longterm.values()], dtype=np.float64)
        self.c = best_c(rates, sizes, self.capacity, self.max_iteration, self.c)
        self.reconfigurations += 1

    def _merge_window(self) -> None:
        """Fold the window into the long-term rates (past x 0.3 + window x 0.7), forget the rarest."""
        longterm = self._longterm
        for entry in longterm.values():
            entry[0] *= EWMA_DECAY
        for key, (requests, size) in self._window.items():
            known = longterm.get(key)
            if known is None:  # new: its window's count, undamped (libCacheSim's rule)
                longterm[key] = [requests, size]
            else:
                known[0] += (1 - EWMA_DECAY) * requests
                known[1] = size
        self._window.clear()
        for key in [key for key, entry in longterm.items() if entry[0] < FORGET_BELOW]:
            self.stat_size -= longterm.pop(key)[1]

    def params(self) -> dict[str, object]:
        return {"max_iteration": self.max_iteration, "reconf_interval": self.reconf_interval, "seed": self.seed}

    def make_kernel(self) -> Kernel:
        from policies._kernels.adaptsize import AdaptSizeAdmissionKernel

        return AdaptSizeAdmissionKernel(self.capacity, self.max_iteration, self.reconf_interval, self.seed)
