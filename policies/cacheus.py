"""Cacheus: a scan-resistant LRU and a churn-resistant LFU as experts, weighted by regret.

L. V. Rodriguez, F. Yusuf, S. Lyons, E. Paz, R. Rangaswami, J. Liu, M. Zhao,
G. Narasimhan, "Learning Cache Replacement with CACHEUS", USENIX FAST 2021.

Cacheus is LeCaR (policies/lecar.py) with better experts.  Every cached object
is held by both:

* **SR-LRU**, the scan-resistant LRU: two LRU lists, SR (new keys) and R
  (keys requested again), and a history H of keys that left them (under the
  cache's capacity in units).  A new key enters SR; a hit in SR moves the key
  to R, whose least recent keys are demoted to SR while R is over its share;
  a key requested again while still in H enters R.  While SR is over its
  share after an insert, its least recent keys leave the cache for H: a scan
  of one-hit keys flushes SR, never R.  SR and R start at half the cache
  each; a key that was new in SR and comes back from H says SR was too small,
  and SR grows (by 1, or by C_demoted / C_new + 0.5, libCacheSim's counts of
  demoted keys in the cache and of new keys sent to H).
* **CR-LFU**, the churn-resistant LFU: fewest requests first and, among keys
  of that count, the *most recently* counted one (so a churn of equally cold
  keys keeps the older ones).  A key that comes back from H brings its count,
  plus one.

Each eviction follows SR-LRU with probability ``w_lru``, CR-LFU otherwise;
when both name the same key it goes with no blame.  The victim is remembered
in the ghost list of the expert that chose it (half the cache's units each);
a miss on a ghost is regret: that expert's weight is multiplied by
``exp(-learning_rate)``.  Every ``capacity`` requests the learning rate takes
a gradient step on the interval's hit rate (restarted at random after ten
intervals without gain).

libcachesim 0.3.5's ``Cacheus`` (cache/eviction/Cacheus.c, SR_LRU.c,
CR_LFU.c), which this module follows request for request (the same misses:
tests/policies/test_cacheus.py).  Where its published source and the 0.3.5
wheel disagree, this follows the wheel, as measured:

* the coin ``(rand % 100) / 100 < w_lru`` is drawn at every eviction, also
  when the experts agree; the learning rate starts at
  ``0.001 + (rand % 1000) / 1000``.  Draws are libCacheSim's ``next_rand``
  (Lehmer's 128-bit generator from 0xDEADBEEF, as in policies/lhd.py); ours
  starts at 0xDEADBEEF + ``seed``, so ``seed=0`` draws what a fresh
  libcachesim thread draws;
* the step is ``lr +- fabs(lr * delta_lr)`` (the mirrored source's integer
  ``abs`` would make it 0), the sign that of ``delta_hit_rate / delta_lr``,
  a result not above 0.001 becoming 0.0001; the hit rate of an interval is
  ``hits // capacity`` (integers: 0, or 1 when every request hit);
* SR grows as above (to at most the cached units - 1; R gets the rest of
  the cache), but never shrinks: the source's shrink, when a demoted key is
  hit in SR, never acts in the wheel (the key's mark is lost on its way to R),
  so C_demoted counts every demotion of a key that is still in SR;
* weights are normalised on every miss, a ghost hit or not
  (``w_lru / (w_lru + w_lfu)``, then ``w_lfu = 1 - w_lru``);
* a key is cached only if it fits in SR's share (R's if it is in H), but one
  of up to the whole cache first makes room (evicts) and is then refused.

Differences from libCacheSim's C code:

* ``remove`` (expiry, invalidation) forgets the key, its ghosts and its
  history; libCacheSim's sends it to H, so a later miss would bring back its
  count;
* when a remove empties the cache, libCacheSim's CR-LFU keeps a stale lowest
  count and would read an empty list if the next key came back from H with a
  higher one (a null dereference); ours keeps the true lowest count;
* the clock counts a hit at its lookup and a miss at its insert (in a replay,
  every request once, as libCacheSim's ``n_req``); a miss that an admission
  filter refuses neither counts nor updates the weights;
* ``resize`` (ours alone) restarts SR and R at half the new capacity each.
"""

from __future__ import annotations

import math

from policies.base import Kernel, Key, SizedPolicy, register
from policies.lhd import LIBCACHESIM_START, MASK128, next_state
from policies.limits import MAX_SEED, check_int
from policies.queues import CountBuckets, GhostList, SizedQueue

UNLEARN_LIMIT = 10  # intervals without gain before the learning rate is drawn again
SMALLEST_RATE = 0.001  # a step that does not stay above it lands on FLOOR_RATE
FLOOR_RATE = 0.0001
MASK64 = 2**64 - 1


@register("cacheus")
class Cacheus(SizedPolicy):
    """SR-LRU and CR-LFU experts, followed with learned probabilities (``keys()``: SR, then R, least recent first)."""

    summary = "Cacheus: evicts by scan-resistant LRU or churn-resistant LFU at random, weights learned from regret."

    def __init__(self, capacity: int, seed: int = 0):
        super().__init__(capacity)
        self.seed = check_int("seed", seed, 0, MAX_SEED)
        self.state = (LIBCACHESIM_START + self.seed) & MASK128
        self.half = capacity // 2  # each ghost list's share, and SR's and R's at first
        self.sr_size = self.r_size = self.half
        self.demoted: set = set()  # keys in SR that R demoted
        self.new: set = set()  # keys that entered SR new, in SR or H (not once in R)
        self.demoted_count = 0  # libCacheSim's C_demoted: demotions, less the marked keys that left SR
        self.new_count = 0  # libCacheSim's C_new: new keys sent to H, ever
        self.sr = SizedQueue()  # new keys, least recent first
        self.r = SizedQueue()  # keys requested again, least recent first
        self.history = SizedQueue()  # H: keys SR-LRU let go, oldest first (under `capacity` units)
        self.history_count: dict = {}  # key in H -> its CR-LFU count when it left
        self.counts = CountBuckets()  # cached key -> its CR-LFU count
        self.lru_ghosts = GhostList(self.half)  # keys evicted on SR-LRU's advice, oldest first
        self.lfu_ghosts = GhostList(self.half)  # keys evicted on CR-LFU's advice, oldest first
        self.w_lru = self.w_lfu = 0.5
        self.learning_rate = self._random_rate()
        self.previous_rate = 0.0
        self.previous_hit_rate = 0.0
        self.unlearn_count = 0
        self.interval_hits = 0
        self.requests = 0

    def draw(self) -> int:
        """libCacheSim's next_rand: the next 64-bit draw of the Lehmer generator."""
        self.state = next_state(self.state)
        return self.state >> 64

    def _random_rate(self) -> float:
        return 0.001 + (self.draw() % 1000) / 1000

    # -- requests ---------------------------------------------------------------------------------

    def lookup(self, key: Key) -> bool:
        if key not in self.sizes:
            return False
        self.requests += 1
        self.interval_hits += 1
        self._promote(key)
        self.counts.count_up(key)
        self._end_request()
        return True

    def insert(self, key: Key, size: int = 1) -> list[Key]:
        if key in self.sizes:
            self.remove(key)
        self.requests += 1
        self._blame(key)
        evicted: list[Key] = []
        if size <= self.capacity:
            evicted = self.evict_to(self.capacity - size)
            if size <= (self.r_size if key in self.history else self.sr_size):
                evicted += self._admit(key, size)
        self._end_request()
        return evicted

    def evict_to(self, units: int) -> list[Key]:
        """Evict as an insert makes room (a coin per eviction, the victims remembered in H and as
        ghosts) until at most `units` are cached; the clock does not tick."""
        evicted = []
        while self.used > units:
            evicted.append(self._evict())
        return evicted

    def resize(self, capacity: int) -> list[Key]:
        """A new capacity: the halves re-derived (R's excess demoted to SR, SR's excess let go to H, H and
        the ghosts trimmed to their shares), the weights and rate kept; then evicted down to it."""
        shares = Cacheus(capacity)  # checks the capacity, and derives the halves as the constructor does
        self.capacity = shares.capacity
        self.half = self.sr_size = self.r_size = shares.half
        self._demote_while_over(0)
        evicted = self._trim_sr()
        for ghosts in (self.lru_ghosts, self.lfu_ghosts):
            ghosts.capacity = self.half
            while ghosts.used > self.half:
                ghosts.pop_oldest()
        return evicted + super().resize(capacity)

    def remove(self, key: Key) -> bool:
        self._forget_ghosts(key)
        if self.history.discard(key) is not None:
            del self.history_count[key]
        self.new.discard(key)
        self._unmark_demoted(key)
        size = self._drop(key)
        if size is None:
            return False
        (self.r if key in self.r else self.sr).remove(key)
        self.counts.remove(key)
        return True

    # -- the learning ------------------------------------------------------------------------------

    def _blame(self, key: Key) -> None:
        """A miss: a ghost's expert loses weight; the weights are normalised and the key's ghosts forgotten."""
        if key in self.lru_ghosts:
            self.w_lru *= math.exp(-self.learning_rate)
        elif key in self.lfu_ghosts:
            self.w_lfu *= math.exp(-self.learning_rate)
        self.w_lru = self.w_lru / (self.w_lru + self.w_lfu)
        self.w_lfu = 1 - self.w_lru
        self._forget_ghosts(key)

    def _end_request(self) -> None:
        if self.requests % self.capacity == 0:
            self._adapt_rate()

    def _adapt_rate(self) -> None:
        """One interval's step of the learning rate, with libCacheSim's integer arithmetic (module docstring)."""
        hit_rate = float(self.interval_hits // self.capacity)
        hit_rate_change = hit_rate - self.previous_hit_rate
        rate_change = self.learning_rate - self.previous_rate
        self.previous_rate, self.previous_hit_rate = self.learning_rate, hit_rate
        if rate_change != 0:
            sign = 1 if hit_rate_change / rate_change > 0 else -1
            stepped = self.learning_rate + sign * abs(self.learning_rate * rate_change)
            self.learning_rate = stepped if stepped > SMALLEST_RATE else FLOOR_RATE
            self.unlearn_count = 0
        elif hit_rate == 0 or hit_rate_change <= 0:
            self.unlearn_count += 1
        elif self.unlearn_count >= UNLEARN_LIMIT:
            self.unlearn_count = 0
            self.learning_rate = self._random_rate()
        self.interval_hits = 0

    # -- eviction ---------------------------------------------------------------------------------

    def lru_choice(self) -> Key:
        """SR-LRU's victim: SR's least recent key, or R's when SR is empty."""
        return (self.sr or self.r).oldest()

    def lfu_choice(self) -> Key:
        """CR-LFU's victim: of the keys with the fewest requests, the last to reach that count."""
        return self.counts.least_last()

    def _evict(self) -> Key:
        """Evict the key of the expert the coin follows; a ghost of it unless both experts named it."""
        by_lru, by_lfu = self.lru_choice(), self.lfu_choice()
        follow_lru = (self.draw() % 100) / 100.0 < self.w_lru  # drawn even when the experts agree
        victim = by_lru if follow_lru else by_lfu
        size = self._let_go(victim)
        self._trim_history()
        if by_lru != by_lfu:
            (self.lru_ghosts if follow_lru else self.lfu_ghosts).remember(victim, size)
        return victim

    def _let_go(self, key: Key) -> int:
        """Take a cached key out of the cache into H with its count (H is trimmed by the caller); its size."""
        size = self.sizes.pop(key)
        self.used -= size
        (self.r if key in self.r else self.sr).remove(key)
        self.history.push(key, size)
        self.history_count[key] = self.counts.remove(key)
        if key in self.new:  # stays marked in H
            self.new_count += 1
        self._unmark_demoted(key)
        return size

    def _unmark_demoted(self, key: Key) -> None:
        if key in self.demoted:
            self.demoted.discard(key)
            self.demoted_count -= 1

    def _trim_history(self) -> None:
        """H keeps under `capacity` units (libCacheSim trims while H's units >= its capacity)."""
        while self.history and self.history.used >= self.capacity:
            old = self.history.pop_oldest()[0]
            del self.history_count[old]
            self.new.discard(old)

    def _forget_ghosts(self, key: Key) -> None:
        self.lru_ghosts.discard(key)
        self.lfu_ghosts.discard(key)

    # -- SR-LRU ------------------------------------------------------------------------------------

    def _admit(self, key: Key, size: int) -> list[Key]:
        """Cache a key (its count read from H first); the keys SR then lets go, when over its half."""
        count = 1
        if key in self.history:
            self.history.remove(key)
            count = self.history_count.pop(key) + 1
        self.sizes[key] = size
        self.used += size
        self.counts.add(key, count)
        if count == 1:  # new: into SR
            self.sr.push(key, size)
            self.new.add(key)
        else:  # back from H: into R, after R makes room by demoting to SR
            self._demote_while_over(size)
            self.r.push(key, size)
            if key in self.new:  # it left SR too soon: SR grows
                self.new.discard(key)
                self._grow_sr()
        return self._trim_sr()

    def _grow_sr(self) -> None:
        """SR's share grows by 1, or C_demoted // C_new + 0.5 (truncated with SR's size, as C's int64),
        to at most the cached units - 1; R's is the rest of the cache."""
        ratio = self.demoted_count // self.new_count
        delta = 1.0 if ratio == 0 else ratio + 0.5
        self.sr_size = min(self.used - 1, int(self.sr_size + delta))
        self.r_size = self.capacity - self.sr_size

    def _trim_sr(self) -> list[Key]:
        """SR's least recent keys leave the cache for H while SR is over its half (no coin, no ghost)."""
        evicted = []
        while self.sr.used > self.sr_size:
            evicted.append(self.sr.oldest())
            self._let_go(evicted[-1])
        self._trim_history()
        return evicted

    def _promote(self, key: Key) -> None:
        """A hit: to R's most recent end (from SR, then demoting R's least recent keys while R is over its half)."""
        if key in self.r:
            self.r.move_to_end(key)
            return
        self.r.push(key, self.sr.remove(key))
        self.new.discard(key)  # its marks are lost on the way, uncounted (see the module docstring)
        self.demoted.discard(key)
        self._demote_while_over(0)

    def _demote_while_over(self, room: int) -> None:
        """Move R's least recent keys to SR's most recent end until R has `room` units free in its half."""
        while self.r and self.r.used + room > self.r_size:
            key = self.r.move_oldest_to(self.sr)
            self.demoted_count += 1
            self.demoted.add(key)

    # -- introspection ---------------------------------------------------------------------------

    @property
    def max_object_size(self) -> int:
        """The whole cache: R's share is what SR's leaves, and SR's can fall to 0 (its growth is capped at
        the cached units - 1); which key fits depends on the shares of the moment."""
        return self.capacity

    def keys(self) -> list[Key]:
        return list(self.sr) + list(self.r)

    def ghost_keys(self) -> list[Key]:
        """The keys remembered without their objects: both ghost lists, then H."""
        return list(self.lru_ghosts) + list(self.lfu_ghosts) + list(self.history)

    @property
    def weights(self) -> tuple[float, float]:
        """(w_lru, w_lfu): the probabilities of following each expert when they disagree."""
        return self.w_lru, self.w_lfu

    def params(self) -> dict[str, object]:
        return {"seed": self.seed}

    def make_kernel(self) -> Kernel:
        from policies._kernels.cacheus import CacheusKernel

        # The same generator at the same state (after the learning rate's draw): the same coins.
        return CacheusKernel(self.capacity, self.state >> 64, self.state & MASK64, self.learning_rate)
