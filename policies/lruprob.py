"""LRU-Prob: LRU in which a hit moves the object to the front only now and then.

Probabilistic promotion is the oldest way to make LRU cheap under
concurrency: a hit takes the list's lock to move the object only with
probability p, so popular objects still drift to the head while most hits
touch nothing (the idea behind Memcached's and CacheLib's "promote at most
every so often"; for the analysis of such q-LRU caches see M. Garetto, E.
Leonardi, V. Martina, "A unified approach to the performance analysis of
caching systems", ACM TOMPECS 1(3), 2016, who show that as p -> 0 the policy
approaches LFU under the independent reference model).

libCacheSim 0.3.5's ``LRU_Prob`` (cache/eviction/LRUProb.c), which this
module follows:

* a new object goes to the head of one list, the tail is evicted;
* on a hit, the object moves to the head when a draw of the generator is
  divisible by ``threshold = (int)(1 / prob)``: the promotion probability is
  ``1 / threshold``, not ``prob`` itself.  libCacheSim also reads ``prob`` as
  a 32-bit float, so ``prob=0.2`` gives ``threshold = (int)4.99999992 = 4``.
  We compute the threshold the same way (``promote_every``) so that the
  same ``prob`` means the same cache; ``promote_probability`` is the
  probability that results.

Differences from libCacheSim's C code:

* the draws come from the policy's own ``random.Random(seed)`` (one draw per
  hit, promote when it is below ``promote_probability``); libCacheSim draws
  from one process-wide Lehmer generator shared by every cache, so its runs
  are not reproducible one by one and the two agree in miss ratio, not
  request for request (tests/policies/test_libcachesim_parity.py: within
  0.005 over five seeds);
* ``prob`` must be in (0, 1]; libCacheSim accepts anything and divides by it.
"""

from __future__ import annotations

import random as _random

import numpy as np

from policies.base import Kernel, Key, register
from policies.fifo import FIFO
from policies.limits import MAX_SEED, MIN_ONE_IN_N_PROBABILITY, check_int


def promote_every(prob: float) -> int:
    """libCacheSim's ``threshold``: (int)(1 / prob), with `prob` read as a 32-bit float (strtof)."""
    return int(1.0 / float(np.float32(prob)))


@register("lruprob")
class LRUProb(FIFO):
    """LRU whose hits promote with probability 1 / int(1 / prob) (``keys()``: eviction end first)."""

    summary = "LRU-Prob: LRU whose hits move the key to the front only with probability 1 / int(1 / prob)."

    def __init__(self, capacity: int, prob: float = 0.5, seed: int = 0):
        super().__init__(capacity)
        if isinstance(prob, bool) or not MIN_ONE_IN_N_PROBABILITY <= prob <= 1:
            raise ValueError(f"prob must be in [2**-30, 1] (libCacheSim keeps int(1 / prob) in an int), got {prob!r}")
        self.prob = float(prob)
        self.seed = check_int("seed", seed, 0, MAX_SEED)
        self.promote_every = promote_every(self.prob)
        self.promote_probability = 1.0 / self.promote_every
        self._random = _random.Random(self.seed).random  # the policy's own generator

    def lookup(self, key: Key) -> bool:
        if key in self.sizes:
            if self._random() < self.promote_probability:
                self.sizes.move_to_end(key)
            return True
        return False

    def access(self, key: Key, size: int = 1) -> bool:
        if self.lookup(key):
            return True
        self.insert(key, size)
        return False

    def params(self) -> dict[str, object]:
        return {"prob": self.prob, "seed": self.seed}

    def make_kernel(self) -> Kernel:
        from policies._kernels.lruprob import LRUProbKernel

        # The same generator, started from the same seed: the same promotions, hit for hit.
        return LRUProbKernel(self.capacity, self.promote_probability, self.seed)
