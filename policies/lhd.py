"""LHD: evict the sampled object of least hit density, hits expected per unit of space and time.

N. Beckmann, H. Chen, A. Cidon, "LHD: Improving Cache Hit Rate by Maximizing
Hit Density", USENIX NSDI 2018.

An object in the cache costs its size for as long as it stays, and pays off
only if it is hit.  Its *hit density* is the hits it can still expect divided
by the space-time it will still take: ``P[hit] / (size * expected remaining
lifetime)``.  LHD evicts the object of least hit density.  The density is not
guessed but learned: objects are grouped in classes (by how long ago their two
last hits were), each class counts at which age (requests since the last hit
or entry) its objects were hit and at which age evicted, and the density at
age ``a`` follows from those two histograms (`model_hit_density`):

    density(a) = sum of hits at ages >= a / sum over events at ages x >= a of (x - a + 1)

An object has one age and one class, so ranking is a table look-up.  Ranks
change with time, so, as in Redis or Hyperbolic, eviction samples a few cached
objects at random and evicts the one of least rank.

libCacheSim 0.3.5's ``LHD`` (cache/eviction/LHD/, the authors' simulator
adapted), which this module follows decision for decision:

* the clock counts updates (each hit and each insert); an age is the clock's
  advance since the object's last update, shifted right by a coarsening
  (10 bits at first), and capped at ``MAX_AGE - 1`` = 19,999, whose rank is
  the lowest of all;
* 16 classes by ``log2`` of (last hit age + the one before), of one
  application (libCacheSim has 16 applications x 16, 256 classes, and uses
  application 1 only);
* before the first reconfiguration the densities are GDSF-like:
  ``(c + 1) / (age + 1)`` for libCacheSim's class number ``c`` (16..31):
  17 / (age + 1) for a key never hit, 32 / (age + 1) for one hit at once;
* every ``reconfiguration_interval`` (2**20) updates the histograms decay by
  0.9 and the densities are modelled anew; at the 6th and 26th the age
  coarsening is re-fitted to the number of cached objects (histograms
  stretched or compressed to the new scale);
* an eviction samples 8 cached objects (``associativity``, 32, once past the
  51st reconfiguration) with replacement and the ``admissions`` (8) most recent
  inserts that ranked below the average victim, and evicts the first of least
  rank; densities, counts and the victims' running average are float32;
* during the first 50 reconfigurations one update in 32 makes its object an
  *explorer* (its rank + 1: kept, to learn about long ages) while the
  explorers' budget, 1% of the capacity, is not spent;
* draws are libCacheSim's ``next_rand``: Lehmer's multiplicative generator
  on 128 bits (the high 64 bits of each state), whose state starts at
  0xDEADBEEF in each thread and is never reset by libcachesim's Python
  package; ours starts at 0xDEADBEEF + ``seed``, so a fresh thread's first
  libcachesim cache draws what ``seed=0`` draws, and the miss counts are
  equal (tests/policies/test_lhd.py).

Differences from libCacheSim's C code:

* a hit does not change an object's size (libCacheSim takes the request's);
* ``remove`` (expiry, invalidation) gives an explorer's budget back (libCacheSim
  keeps it spent);
* the ring of recent admissions wraps with its index (libCacheSim's int
  counter would overflow after 2**31 admissions);
* the parameters, fixed in libCacheSim, can be chosen.
"""

from __future__ import annotations

import struct

import numpy as np

from policies.base import Kernel, Key, SizedPolicy, register
from policies.limits import MAX_SEED, check_int

MAX_AGE = 20_000  # ages are capped here (coarsened requests)
HIT_AGE_CLASSES = 16
APP_CLASS_OFFSET = 16  # libCacheSim's class number of ours: application 1 of 16
EARLY_CANDIDATES = 8  # sampled per eviction until ...
FULL_SAMPLING_AFTER = 50  # ... more than this many reconfigurations have passed
EXPLORING_RECONFIGURATIONS = 50  # explorers are made only before this many
EXPLORE_ONE_IN = 32
INITIAL_COARSENING_SHIFT = 10
COARSENING_REFITS = (5, 25)  # reconfigurations counted before the one that re-fits coarsening
MASK128 = 2**128 - 1
LEHMER_MULTIPLIER = 0xDA942042E4DD58B5
LIBCACHESIM_START = 0xDEADBEEF  # the state each libCacheSim thread starts from; seed s starts at it + s
FLOAT_MAX = float(np.finfo(np.float32).max)  # an empty victim search starts here
LOWEST_RANK = -FLOAT_MAX  # an object past MAX_AGE: evict it first

_FLOAT = struct.Struct("f")


def f32(value: float) -> float:
    """`value` rounded to the nearest float32, as C's float arithmetic rounds after each operation.

    A sum, product or quotient of two float32 values computed in double and then
    rounded is exactly the float32 operation's result.
    """
    return _FLOAT.unpack(_FLOAT.pack(value))[0]


EWMA_DECAY = f32(0.9)
EWMA_COMPLEMENT = f32(1 - EWMA_DECAY)
EXPLORER_BUDGET_FRACTION = f32(0.01)
AGE_COARSENING_ERROR_TOLERANCE = f32(0.01)


def next_state(state: int) -> int:
    """Lehmer's 128-bit multiplicative generator, libCacheSim's ``next_rand``: the next state.

    The draw is the state's high 64 bits.
    """
    return (state * LEHMER_MULTIPLIER) & MASK128


def hit_age_class(age: int) -> int:
    """15 for age 0; else the doublings that bring `age` to MAX_AGE, at most 15 (0: age >= MAX_AGE)."""
    if age == 0:
        return HIT_AGE_CLASSES - 1
    doublings = 0
    while age < MAX_AGE and doublings < HIT_AGE_CLASSES - 1:
        age <<= 1
        doublings += 1
    return doublings


def model_hit_density(hits: np.ndarray, evictions: np.ndarray, densities: np.ndarray) -> None:
    """Densities at every age but the last from a class's float32 histograms, in place.

    From the oldest age down, three running float32 sums: hits at ages >= a,
    events (hits and evictions) at ages >= a, and the lifetime still ahead of an
    object of age a, which grows by the events at ages >= a at each step down.
    Ages where no event is left get 0.  (Sequential sums, as the C loop adds:
    ``np.add.accumulate`` adds left to right.)
    """
    reversed_hits, reversed_events = hits[::-1], (hits + evictions)[::-1]
    hits_ahead = np.add.accumulate(reversed_hits)[::-1]
    events_ahead = np.add.accumulate(reversed_events)[::-1]
    lifetime_ahead = np.add.accumulate(events_ahead[::-1])[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = hits_ahead / lifetime_ahead
    live = events_ahead.astype(np.float64) > 1e-5
    densities[:-1] = np.where(live, ratio, np.float32(0))[:-1]


def rescale(counts: np.ndarray, delta: int) -> None:
    """A histogram put on an age scale `delta` doublings coarser (> 0) or finer (< 0), in place.

    Coarser: ages a << delta .. (a << delta) + 2**delta - 1 add up in age a (left
    to right) and the ages above MAX_AGE >> delta empty, the last excepted.
    Finer: ages from MAX_AGE >> -delta on are added into the last, and age a
    takes age a >> -delta's count spread over 2**-delta ages.
    """
    last = MAX_AGE - 1
    if delta > 0:
        kept = MAX_AGE >> delta
        blocks = counts[: kept << delta].reshape(kept, 1 << delta)
        counts[:kept] = np.add.accumulate(blocks, axis=1)[:, -1]
        counts[kept:last] = 0
    elif delta < 0:
        counts[last] = np.add.accumulate(np.concatenate((counts[last:], counts[MAX_AGE >> -delta : last])))[-1]
        counts[:last] = counts[np.arange(last) >> -delta] / np.float32(1 << -delta)


@register("lhd")
class LHD(SizedPolicy):
    """Sampled eviction of the least hit density (``keys()``: in the order of the sampling array)."""

    summary = "LHD: evicts, of sampled keys, the one of fewest hits expected per unit of space and time (learned)."

    def __init__(
        self,
        capacity: int,
        associativity: int = 32,
        admissions: int = 8,
        reconfiguration_interval: int = 2**20,
        seed: int = 0,
    ):
        super().__init__(capacity)
        self.associativity = check_int("associativity", associativity, 1, 2**16)
        self.admissions = check_int("admissions", admissions, 1, 2**16)
        self.reconfiguration_interval = check_int("reconfiguration_interval", reconfiguration_interval, 1, 2**62)
        self.seed = check_int("seed", seed, 0, MAX_SEED)
        self.state = LIBCACHESIM_START + self.seed  # the generator's: never 0, where it would stay
        self.clock = 0  # updates so far
        self.until_reconfiguration = self.reconfiguration_interval
        self.reconfigurations = 0
        self.shift = INITIAL_COARSENING_SHIFT
        self.mean_objects = self.mean_objects_mass = 0.0  # float32 running average of len(self)
        self.mean_victim_rank = 0.0  # float32 running average
        self.explorer_budget = int(f32(f32(float(capacity)) * EXPLORER_BUDGET_FRACTION))
        self.recently_admitted: list[Key | None] = [None] * self.admissions
        self.next_admitted = 0
        shape = (HIT_AGE_CLASSES, MAX_AGE)
        self.hits = np.zeros(shape, dtype=np.float32)
        self.evictions = np.zeros(shape, dtype=np.float32)
        classes = np.arange(APP_CLASS_OFFSET + 1, APP_CLASS_OFFSET + HIT_AGE_CLASSES + 1, dtype=np.float64)
        self.densities = (classes[:, None] / np.arange(1, MAX_AGE + 1, dtype=np.float64)).astype(np.float32)
        # per cached key: its update time, its two last hit ages, whether it explores
        self.stamp: dict = {}
        self.last_hit_age: dict = {}
        self.earlier_hit_age: dict = {}
        self.explorers: set = set()
        self._keys: list = []  # the cached keys, densely, for sampling
        self._index: dict = {}  # cached key -> its index in _keys

    def draw(self) -> int:
        self.state = next_state(self.state)
        return self.state >> 64

    # -- ranks ------------------------------------------------------------------------------------------

    def age(self, key: Key) -> int:
        return min((self.clock - self.stamp[key]) >> self.shift, MAX_AGE - 1)

    def hit_class(self, key: Key) -> int:
        return hit_age_class(self.last_hit_age[key] + self.earlier_hit_age[key])

    def rank(self, key: Key) -> float:
        """The key's hit density per unit of size (float32), + 1 for an explorer; lowest past MAX_AGE."""
        age = self.age(key)
        if age == MAX_AGE - 1:
            return LOWEST_RANK
        density = f32(float(self.densities[self.hit_class(key), age]) / f32(float(self.sizes[key])))
        return f32(density + 1.0) if key in self.explorers else density

    def victim(self) -> Key:
        """Of the sampled keys, then the recent admissions still cached, the first of least rank."""
        keys = self._keys
        samples = self.associativity if self.reconfigurations > FULL_SAMPLING_AFTER else EARLY_CANDIDATES
        best, best_rank = None, FLOAT_MAX
        for _ in range(samples):
            key = keys[self.draw() % len(keys)]
            rank = self.rank(key)
            if rank < best_rank or best is None:
                best, best_rank = key, rank
        for key in self.recently_admitted:
            if key in self._index and (rank := self.rank(key)) < best_rank:
                best, best_rank = key, rank
        self.mean_victim_rank = f32(f32(EWMA_DECAY * self.mean_victim_rank) + f32(EWMA_COMPLEMENT * best_rank))
        return best

    # -- requests ---------------------------------------------------------------------------------------

    def lookup(self, key: Key) -> bool:
        if key in self.sizes:
            self._update(key, inserted=False)
            return True
        return False

    def insert(self, key: Key, size: int = 1) -> list[Key]:
        if not self._replaces(key, size):
            return []
        evicted = self.evict_to(self.capacity - size)
        self.sizes[key] = size
        self.used += size
        self._index[key] = len(self._keys)
        self._keys.append(key)
        self.last_hit_age[key], self.earlier_hit_age[key] = 0, MAX_AGE
        self._update(key, inserted=True)
        return evicted

    def _update(self, key: Key, inserted: bool) -> None:
        """A request for a cached key (just inserted or hit): counts, ages, exploring, the clock."""
        if not inserted:
            age = self.age(key)
            self.hits[self.hit_class(key), age] += np.float32(1)
            if key in self.explorers:
                self.explorer_budget = self._spend(-self.sizes[key])
            self.earlier_hit_age[key], self.last_hit_age[key] = self.last_hit_age[key], age
        self.stamp[key] = self.clock
        explore = self.draw() % EXPLORE_ONE_IN == 0
        self.explorers.discard(key)
        if explore and self.explorer_budget > 0 and self.reconfigurations < EXPLORING_RECONFIGURATIONS:
            self.explorers.add(key)
            self.explorer_budget = self._spend(self.sizes[key])
        if inserted and not explore and self.rank(key) < self.mean_victim_rank:
            self.recently_admitted[self.next_admitted] = key
            self.next_admitted = (self.next_admitted + 1) % self.admissions
        self.clock += 1
        self.until_reconfiguration -= 1
        if self.until_reconfiguration == 0:
            self.reconfigure()
            self.until_reconfiguration = self.reconfiguration_interval
            self.reconfigurations += 1

    def _spend(self, size: int) -> int:
        """The explorer budget less `size` (negative: given back), in float32 and truncated, as C's."""
        return int(f32(f32(float(self.explorer_budget)) - f32(float(size))))

    def evict_to(self, units: int) -> list[Key]:
        """Evict ranked victims, as an insert makes room, until at most `units` are used (the clock
        does not tick: a resize is no request)."""
        evicted = []
        while self.used > units:
            victim = self.victim()
            self.evictions[self.hit_class(victim), self.age(victim)] += np.float32(1)
            self.remove(victim)
            evicted.append(victim)
        return evicted

    def remove(self, key: Key) -> bool:
        size = self._drop(key)
        if size is None:
            return False
        if key in self.explorers:  # its share of the budget comes back
            self.explorers.discard(key)
            self.explorer_budget = self._spend(-size)
        del self.stamp[key], self.last_hit_age[key], self.earlier_hit_age[key]
        index = self._index.pop(key)
        last = self._keys.pop()  # the last key fills the removed one's place
        if last != key:
            self._keys[index] = last
            self._index[last] = index
        return True

    def keys(self) -> list[Key]:
        return list(self._keys)

    # -- learning ---------------------------------------------------------------------------------------

    def reconfigure(self) -> None:
        """Every reconfiguration_interval updates: decay the histograms, re-fit the age scale (twice in
        a run), and model the densities anew."""
        self.hits *= EWMA_DECAY
        self.evictions *= EWMA_DECAY
        self._refit_coarsening()
        for hits, evictions, densities in zip(self.hits, self.evictions, self.densities):
            model_hit_density(hits, evictions, densities)

    def _refit_coarsening(self) -> None:
        """Keep a running mean of the number of cached objects; at the 6th and 26th reconfiguration
        choose the shift that puts a cache's worth of requests at about 1% of MAX_AGE."""
        self.mean_objects = f32(f32(EWMA_DECAY * self.mean_objects) + f32(float(len(self._keys))))
        self.mean_objects_mass = f32(f32(EWMA_DECAY * self.mean_objects_mass) + 1.0)
        objects = f32(self.mean_objects / self.mean_objects_mass)
        best_coarsening = f32(objects / f32(AGE_COARSENING_ERROR_TOLERANCE * MAX_AGE))
        if self.reconfigurations not in COARSENING_REFITS:
            return
        shift = 1
        while (1 << shift) < best_coarsening:
            shift += 1
        delta, self.shift = shift - self.shift, shift
        self.mean_objects = f32(self.mean_objects * 8)  # weigh the past more: no early second shift
        self.mean_objects_mass = f32(self.mean_objects_mass * 8)
        for counts in (*self.hits, *self.evictions):
            rescale(counts, delta)

    def params(self) -> dict[str, object]:
        return {
            "associativity": self.associativity,
            "admissions": self.admissions,
            "reconfiguration_interval": self.reconfiguration_interval,
            "seed": self.seed,
        }

    def make_kernel(self) -> Kernel:
        from policies._kernels.lhd import LHDKernel

        # The same generator from the same state, the same float32 arithmetic: the same victims.
        return LHDKernel(self.capacity, self.associativity, self.admissions, self.reconfiguration_interval, self.seed)
