"""W-TinyLFU: a small LRU window in front of a frequency-filtered main cache.

G. Einziger, R. Friedman, B. Manes, "TinyLFU: A highly efficient cache
admission policy", ACM Trans. Storage 13(4), 2017 (the policy of Caffeine).

New objects enter the *window*, an LRU of 1% of the capacity, so a burst of
requests to a new object is served.  An object leaving the window must earn
its place in the *main* cache (an SLRU with a 20% probation and an 80%
protected segment): while main has room it simply moves in; otherwise it
duels main's next victim, and the one with the higher estimated frequency
stays.  Frequencies come from a small counting Bloom filter that counts
insertions, main hits and window evictions, and is halved every
32 x main-capacity main hits so that old popularity fades.

Structure and rules follow libCacheSim 0.3.5's WTinyLFU, which this matches
request for request: a window of 1% of the capacity, a main SLRU with
seg-size 1:4 (libCacheSim's SLRU rules, policies/slru.py), the same counting
Bloom filter with the same hashes (XXH64, policies/sketch.py), ties in a duel
go to main's victim, a candidate that wins its duel ends the eviction, the
window may exceed its share until the cache is full, and an object larger
than the window is not admitted.  Two deviations, both where libCacheSim is
impractical: the filter has at most 2**22 counters (libCacheSim allocates
14.4 per unit of capacity, billions for a byte capacity; with millions,
collisions are negligible either way), and a window that rounds down to 0
units (fewer than 100 objects) gets one unit, where libCacheSim caches
nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from policies.base import Kernel, Key, Policy, register
from policies.limits import INT64_MAX
from policies.queues import SizedQueue
from policies.sketch import CountingBloomFilter
from policies.slru import SegmentedLRU, split_capacity


@register("wtinylfu")
class WTinyLFU(Policy):
    """Window TinyLFU with libCacheSim's defaults (window 1%, main SLRU 1:4)."""

    summary = "W-TinyLFU: a small LRU window, then a frequency sketch decides who enters the main SLRU."

    #: main-cache hits between two halvings of the sketch, per unit of main capacity
    SAMPLE_FACTOR = 32

    def __init__(self, capacity: int, window_size: float = 0.01):
        super().__init__(capacity)
        if not 0 < window_size < 1:
            raise ValueError(f"window_size must be in (0, 1), got {window_size!r}")
        self.window_size = window_size
        self.window_capacity = max(int(capacity * window_size), 1)
        self.main_capacity = capacity - self.window_capacity
        self.main_segments = [max(c, 1) for c in split_capacity(self.main_capacity, (1, 4))]
        self._main = SegmentedLRU(self.main_segments, self.main_capacity)
        self._window = SizedQueue()  # least recently used first
        self._sketch = CountingBloomFilter(self.main_capacity, 0.001)
        # The sketch's parts, at hand for the hot paths below (halving keeps the same list).
        self._counts, self._memo, self._probe = self._sketch.counts, self._sketch.memo, self._sketch.probe
        self._max_size = min(capacity, self.window_capacity, self.main_segments[0], self.main_capacity)
        self._main_hits = 0
        self._sample = self.SAMPLE_FACTOR * self.main_capacity  # main hits between halvings
        self._scratch: list = []  # evictions nobody asked for (by hits, or in access())
        self._main.evicted = self._scratch
        self._epoch = 0  # number of halvings so far
        self._victim_estimate: tuple[Key, int, int] = (
            None,
            0,
            -1,
        )  # (main's victim, its estimate, epoch) at the last duel

    @property
    def used(self) -> int:  # type: ignore[override]  # the sum over its parts, read-only
        return self._window.used + self._main.used

    def lookup(self, key: Key) -> bool:
        window = self._window
        if key in window:
            window.move_to_end(key)
            return True
        if key not in self._main.where:
            return False
        self._main.hit(key)  # may cool main's segments, even out of the cache
        self._sketch.add(key)
        self._main_hits += 1
        if self._main_hits >= self._sample:
            self._main_hits = 0
            self._sketch.halve()
            self._epoch += 1
        return True

    def insert(self, key: Key, size: int = 1) -> list[Key]:
        if key in self._window or key in self._main.where:
            self.remove(key)
        main = self._main
        evicted: list[Key] = []  # where this insert's evictions are recorded
        main.evicted = evicted
        self._insert_new(key, size)
        main.evicted = self._scratch  # evictions by later hits are not this insert's
        return evicted

    def _insert_new(self, key: Key, size: int) -> None:
        if size > self._max_size:  # larger than the window (or than main's probation)
            return
        main = self._main
        while self._window.used + main.used + size > self.capacity:
            self._evict()
        self._window.push(key, size)
        counts = self._counts
        for i in self._memo.get(key) or self._probe(key):  # the sketch's add, inlined
            counts[i] += 1

    def access(self, key: Key, size: int = 1) -> bool:
        # lookup() then insert(), with lookup's common cases first: a miss, a window hit.
        if key not in self._main.where:
            window = self._window
            if key in window:
                window.move_to_end(key)
                return True
            if len(self._scratch) > 1024:  # nobody reads replay's evictions: keep it short
                self._scratch.clear()
            self._insert_new(key, size)
            return False
        return self.lookup(key)

    def _evict(self) -> None:
        """Move window victims into main until one loses its duel and leaves the cache."""
        window, main = self._window, self._main
        # The sketch's estimate and add, inlined: this loop is the policy's hot path.
        counts, memo, probe = self._counts, self._memo, self._probe
        count = counts.__getitem__
        probation = main.segments[0]  # main's victim is the LRU end of its lowest non-empty segment
        while window:
            candidate, size = window.pop_oldest()
            probes = memo.get(candidate) or probe(candidate)
            if main.used + size <= main.capacity:  # main has room: the candidate moves in
                main.insert(candidate, size)
            elif size > main.capacity:  # (only after a shrink) larger than all of main: it leaves
                main.evicted.append(candidate)
                for i in probes:
                    counts[i] += 1
                return
            else:
                victim = probation.oldest() if probation else main.victim()
                challenge = min(map(count, probes))
                # Counters only grow between halvings, so the victim's estimate seen last
                # time is a lower bound of today's: a challenge at or below it loses anyway.
                known_victim, known_estimate, known_epoch = self._victim_estimate
                if not (victim == known_victim and known_epoch == self._epoch and challenge <= known_estimate):
                    estimate = min(map(count, memo.get(victim) or probe(victim)))
                    self._victim_estimate = (victim, estimate, self._epoch)
                    if challenge > estimate:
                        main.evict()  # the candidate wins the duel against main's victim, and
                        main.insert(candidate, size)  # that eviction is the one asked for
                        for i in probes:
                            counts[i] += 1
                        return
                main.evicted.append(candidate)  # main's victim stays; the candidate leaves
                for i in probes:
                    counts[i] += 1
                return
            for i in probes:
                counts[i] += 1
        main.evict()

    def evict_to(self, units: int) -> list[Key]:
        """Evict as W-TinyLFU makes room (window candidates duel main's victim) until at most `units`
        are cached."""
        main = self._main
        evicted: list[Key] = []
        main.evicted = evicted
        while self._window.used + main.used > units:
            self._evict()
        main.evicted = self._scratch
        return evicted

    def resize(self, capacity: int) -> list[Key]:
        """A new capacity: window, main and main's segments re-derived as the constructor derives them
        (main's over-full segments cool from the top), then evicted down to it.  The frequency sketch
        keeps its width and counts (it sizes itself once, as Caffeine's does until it is told more);
        its halving period follows the new main capacity."""
        shares = WTinyLFU(capacity, self.window_size)
        self.capacity = shares.capacity
        self.window_capacity, self.main_capacity = shares.window_capacity, shares.main_capacity
        self._max_size, self._sample = shares._max_size, shares._sample
        main = self._main
        evicted: list[Key] = []
        main.evicted = evicted
        main.resize(shares._main.seg_capacity, shares.main_capacity)
        main.evicted = self._scratch
        return evicted + self.evict_to(capacity)

    def expect(self, keys: Iterable[Key]) -> None:
        self._sketch.preload(keys)

    def remove(self, key: Key) -> bool:
        return self._window.discard(key) is not None or self._main.remove(key) is not None

    def __contains__(self, key: Key) -> bool:
        return key in self._window or key in self._main.where

    def __len__(self) -> int:
        return len(self._window) + len(self._main.where)

    def keys(self) -> list[Key]:
        """The window (LRU first), then main's segments from probation up."""
        return list(self._window) + self._main.keys()

    @property
    def max_object_size(self) -> int:
        return self._max_size

    def estimate(self, key: Key) -> int:
        """The frequency sketch's estimate for `key`."""
        return self._sketch.estimate(key)

    def params(self) -> dict[str, object]:
        return {"window_size": self.window_size}

    def make_kernel(self) -> Kernel:
        from policies._kernels.wtinylfu import WTinyLFUKernel

        sketch = self._sketch  # the kernel's counters are these, in C, with the same dimensions and hashes
        return WTinyLFUKernel(
            self.capacity,
            self.window_capacity,
            self.main_capacity,
            self.main_segments,
            self._max_size,
            sketch.n_counters,
            sketch.n_probes,
            min(self._sample, INT64_MAX),  # 32 x 2**62 passes int64; no run makes 2**63 main hits
        )
