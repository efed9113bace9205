"""LeCaR: LRU and LFU as two experts, weighted by regret learned from ghost hits.

G. Vietri, L. V. Rodriguez, W. A. Martinez, S. Lyons, J. Liu, R. Rangaswami,
M. Zhao, G. Narasimhan, "Driving cache replacement with ML-based LeCaR",
USENIX HotStorage 2018.

Each eviction asks two experts for a victim: LRU (least recently used) and
LFU (fewest requests, the first to reach that count among equals), and
follows LRU with probability ``w_lru``, LFU otherwise.  The victim's key is
remembered in the ghost list of the expert that chose it.  A later request
for a ghost is *regret*: that expert was wrong, so its weight is multiplied
by ``exp(-learning_rate * discount ** t)``, where t is the number of
requests since the eviction (a recent mistake weighs more), and the two
weights are normalised.  On a workload that switches between recency and
frequency, the weights follow the switch (regret minimisation, as in online
learning with expert advice).

libCacheSim 0.3.5's ``LeCaR`` (cache/eviction/LeCaR.c), which this module
follows:

* learning rate 0.45 and discount ``0.005 ** (1 / capacity)`` (capacity in
  the cache's units), weights starting at ``lru_weight`` and ``1 - lru_weight``
  (0.5 each), updated only when ``update_weight``; after each update, 1e-10
  is added to both weights (so neither reaches 0) before normalising;
* the coin is drawn at 1% granularity (``(rand % 100) / 100 < w_lru``), and only
  when the two experts disagree: when both name the same object it is
  evicted and remembered in no ghost list;
* each ghost list keeps at most ``capacity // 2`` units of keys, newest
  first: a key is added and then the oldest are dropped while the list is
  over (so a key larger than half the cache empties its list);
* a ghost hit updates the weights and forgets the ghost; the object comes
  back with a count of 1 (the paper's LeCaR keeps a ghost's count).

Differences from libCacheSim's C code:

* the coin is the policy's own ``random.Random(seed)``; libCacheSim draws
  from a process-wide generator, so the two agree in miss ratio, not request
  for request (within 0.005 over five seeds,
  tests/policies/test_libcachesim_parity.py);
* the clock counts the requests the policy sees: a hit or a ghost hit when it
  is looked up, any other miss when it is inserted; in a replay, every
  request once, as libCacheSim's ``n_req`` (a compiled loop does not show the
  policy a lookup of a key it has never seen, so such a miss is counted at
  its insert).  A miss that an admission filter refuses is not counted;
* ``insert`` of a key that is still a ghost (possible only when lookup and
  insert are apart, as in the timed model) forgets the ghost without
  regret; ``remove`` forgets a key's ghost too.
"""

from __future__ import annotations

import math
import random as _random
from collections import OrderedDict

from policies.base import Kernel, Key, SizedPolicy, register
from policies.limits import MAX_SEED, check_int
from policies.queues import CountBuckets, SizedQueue

#: libCacheSim's learning rate, and the discount's value after `capacity` requests
LEARNING_RATE = 0.45
DISCOUNT_AFTER_CAPACITY = 0.005


@register("lecar")
class LeCaR(SizedPolicy):
    """LRU and LFU experts, followed with learned probabilities (``keys()``: least recently used first)."""

    summary = "LeCaR: evicts by LRU or LFU at random, learning their weights from the regret of ghost hits."

    def __init__(self, capacity: int, update_weight: bool = True, lru_weight: float = 0.5, seed: int = 0):
        super().__init__(capacity)
        if not isinstance(update_weight, bool):
            raise ValueError(f"update_weight must be true or false, got {update_weight!r}")
        if isinstance(lru_weight, bool) or not 0 <= lru_weight <= 1:
            raise ValueError(f"lru_weight must be in [0, 1], got {lru_weight!r}")
        self.update_weight = update_weight
        self.lru_weight = float(lru_weight)
        self.seed = check_int("seed", seed, 0, MAX_SEED)
        self._random = _random.Random(self.seed).random  # the policy's own generator
        self.w_lru, self.w_lfu = self.lru_weight, 1.0 - self.lru_weight
        self.discount = math.pow(DISCOUNT_AFTER_CAPACITY, 1.0 / capacity)
        self.ghost_capacity = capacity // 2
        self.requests = 0  # requests seen so far (see the module docstring): the clock of regrets
        self.recency: OrderedDict = OrderedDict()  # cached keys, least recently used first
        self.counts = CountBuckets()  # cached key -> requests since it was inserted: the LFU expert
        self.lru_ghosts = SizedQueue()  # keys LRU evicted, oldest first
        self.lfu_ghosts = SizedQueue()  # keys LFU evicted, oldest first
        self.evicted_at: dict = {}  # ghost key -> the request count when it was evicted
        self._pending: set = set()  # keys whose lookup hit a ghost (and counted the request), until their insert

    # -- requests ---------------------------------------------------------------------------------

    def lookup(self, key: Key) -> bool:
        if key in self.sizes:
            self.requests += 1
            self.recency.move_to_end(key)
            self.counts.count_up(key)
            return True
        if key in self.lru_ghosts:
            self.requests += 1
            self._regret(key, self.lru_ghosts, lru_was_wrong=True)
            self._pending.add(key)
        elif key in self.lfu_ghosts:
            self.requests += 1
            self._regret(key, self.lfu_ghosts, lru_was_wrong=False)
            self._pending.add(key)
        elif key in self._pending:  # looked up again before its insert
            self.requests += 1
        return False

    def insert(self, key: Key, size: int = 1) -> list[Key]:
        if key in self._pending:  # its request was counted by its lookup
            self._pending.discard(key)
        else:
            self.requests += 1
        if not self._replaces(key, size):
            self._forget_ghost(key)
            return []
        self._forget_ghost(key)
        evicted = self.evict_to(self.capacity - size)
        self.sizes[key] = size
        self.used += size
        self.recency[key] = None
        self.counts.add(key)
        return evicted

    def evict_to(self, units: int) -> list[Key]:
        """Evict as an insert makes room (the experts' choices, a coin where they differ, the victims
        remembered as ghosts) until at most `units` are cached; the clock does not tick."""
        evicted = []
        while self.used > units:
            evicted.append(self._evict())
        return evicted

    def resize(self, capacity: int) -> list[Key]:
        """A new capacity: the discount and the ghost lists' share re-derived as the constructor derives
        them (each list forgetting its oldest keys to fit), the weights kept; then evicted down to it."""
        shares = LeCaR(capacity, self.update_weight, self.lru_weight)
        self.discount, self.ghost_capacity = shares.discount, shares.ghost_capacity
        for ghosts in (self.lru_ghosts, self.lfu_ghosts):
            while ghosts.used > self.ghost_capacity:
                del self.evicted_at[ghosts.pop_oldest()[0]]
        return super().resize(capacity)

    def remove(self, key: Key) -> bool:
        self._pending.discard(key)
        self._forget_ghost(key)
        if self._drop(key) is None:
            return False
        del self.recency[key]
        self.counts.remove(key)
        return True

    # -- the experts and the coin -------------------------------------------------------------------

    def lru_choice(self) -> Key:
        return next(iter(self.recency))

    def lfu_choice(self) -> Key:
        return self.counts.least_first()

    def _evict(self) -> Key:
        """Evict the experts' common choice, or follow LRU with probability w_lru (1% steps); the key."""
        by_lru, by_lfu = self.lru_choice(), self.lfu_choice()
        if by_lru == by_lfu:
            ghosts = None
            victim = by_lru
        elif int(self._random() * 100) / 100.0 < self.w_lru:
            victim, ghosts = by_lru, self.lru_ghosts
        else:
            victim, ghosts = by_lfu, self.lfu_ghosts
        size = self.sizes[victim]
        self.remove(victim)
        if ghosts is not None:
            self._remember(victim, size, ghosts)
        return victim

    def _remember(self, key: Key, size: int, ghosts: SizedQueue) -> None:
        """Add a ghost, then drop the oldest while the list is over half the capacity."""
        ghosts.push(key, size)
        self.evicted_at[key] = self.requests
        while ghosts.used > self.ghost_capacity:
            old, _ = ghosts.pop_oldest()
            del self.evicted_at[old]

    def _regret(self, key: Key, ghosts: SizedQueue, lru_was_wrong: bool) -> None:
        """A ghost was requested: the expert that evicted it loses weight, the more the sooner."""
        age = self.requests - self.evicted_at.pop(key)
        ghosts.remove(key)
        if not self.update_weight:
            return
        if lru_was_wrong:
            self.w_lru, self.w_lfu = self._penalised(self.w_lru, self.w_lfu, age)
        else:
            self.w_lfu, self.w_lru = self._penalised(self.w_lfu, self.w_lru, age)

    def _penalised(self, wrong: float, right: float, age: int) -> tuple[float, float]:
        """The two weights after the `wrong` expert's regret, normalised (libCacheSim's arithmetic)."""
        wrong = wrong * math.exp(-LEARNING_RATE * math.pow(self.discount, age)) + 1e-10
        total = wrong + right + 2e-10
        return wrong / total, (right + 1e-10) / total

    def _forget_ghost(self, key: Key) -> None:
        if self.evicted_at.pop(key, None) is not None:
            (self.lru_ghosts if key in self.lru_ghosts else self.lfu_ghosts).remove(key)

    # -- introspection ---------------------------------------------------------------------------

    def keys(self) -> list[Key]:
        return list(self.recency)

    @property
    def weights(self) -> tuple[float, float]:
        """(w_lru, w_lfu): the probabilities of following each expert when they disagree."""
        return self.w_lru, self.w_lfu

    def params(self) -> dict[str, object]:
        return {"update_weight": self.update_weight, "lru_weight": self.lru_weight, "seed": self.seed}

    def make_kernel(self) -> Kernel:
        from policies._kernels.lecar import LeCaRKernel

        # The same generator, started from the same seed: the same coins, eviction for eviction.
        return LeCaRKernel(
            self.capacity, self.ghost_capacity, self.discount, self.w_lru, self.w_lfu, self.update_weight, self.seed
        )
