"""FlashProb: a RAM LRU in front of a flash FIFO, which admits the RAM's victims with a probability.

A flash cache wears out with every byte written, so a hybrid cache does not
write every object that leaves RAM to flash: writing only a random share of
them (probabilistic admission, as in Facebook's CacheLib: B. Berg et al.,
"The CacheLib caching engine: design and experiences at scale", OSDI 2020,
whose flash admission policies start from a coin of this kind) trades a few
hits for far fewer flash writes.  libCacheSim 0.3.5's ``flashProb``
(cache/eviction/other/flashProb.c) models it to count that write
amplification, and this module follows it:

* a new object always goes to the RAM part, an LRU; a hit in RAM moves the
  object to the front, a hit in flash (a FIFO) changes nothing;
* the two parts share one budget, the capacity: while the total would
  overflow, the RAM's least recently used object leaves the RAM and is
  written to flash with probability ``1 / int(1 / disk_admit_prob)``
  (libCacheSim's ``inv_prob``), else it leaves the cache; once the RAM is
  empty, flash's oldest object leaves;
* flash holds at most ``capacity - int(capacity * ram_size_ratio)`` units
  and makes its own room, oldest first, for an object it admits; an object
  larger than flash is not written there.  The RAM has no bound of its own
  (``ram_size_ratio`` only sets flash's share): it holds whatever flash
  leaves.  ``flash_writes`` counts the objects written to flash.

Differences from libCacheSim's C code:

* the coin is the policy's own ``random.Random(seed)``, one draw per RAM
  victim (admit when below ``admit_probability``); libCacheSim draws from a
  process-wide generator, so the two agree in miss ratio, not request for
  request (within 0.005 over five seeds, tests/policies/test_libcachesim_parity.py);
* the RAM and flash caches are LRU and FIFO, libCacheSim's defaults; its
  ``ram-cache`` and ``disk-cache`` choices (ARC, CLOCK, ...) are not offered;
* tiny caches: where ``int(capacity * ram_size_ratio)`` is 0 (below 20 units
  at the default), libCacheSim stops with an error; we give the RAM share one
  unit, so flash holds ``capacity - 1``.
"""

from __future__ import annotations

import random as _random

from policies.base import Kernel, Key, Policy, register
from policies.limits import MAX_SEED, MIN_ONE_IN_N_PROBABILITY, check_int
from policies.queues import SizedQueue


@register("flashprob")
class FlashProb(Policy):
    """A RAM LRU and a flash FIFO; RAM victims go to flash with probability 1 / int(1 / disk_admit_prob)."""

    summary = "FlashProb: a RAM LRU whose victims are written to a flash FIFO only with a probability."

    def __init__(self, capacity: int, ram_size_ratio: float = 0.05, disk_admit_prob: float = 0.2, seed: int = 0):
        super().__init__(capacity)
        if isinstance(ram_size_ratio, bool) or not 0 < ram_size_ratio < 1:
            raise ValueError(f"ram_size_ratio must be in (0, 1), got {ram_size_ratio!r}")
        if isinstance(disk_admit_prob, bool) or not MIN_ONE_IN_N_PROBABILITY <= disk_admit_prob <= 1:
            raise ValueError(
                f"disk_admit_prob must be in [2**-30, 1] (libCacheSim keeps int(1 / p) in an int), got {disk_admit_prob!r}"
            )
        self.ram_size_ratio = float(ram_size_ratio)
        self.disk_admit_prob = float(disk_admit_prob)
        self.seed = check_int("seed", seed, 0, MAX_SEED)
        self.ram_capacity = max(int(capacity * self.ram_size_ratio), 1)
        self.disk_capacity = capacity - self.ram_capacity
        self.admit_every = int(1.0 / self.disk_admit_prob)  # libCacheSim's inv_prob
        self.admit_probability = 1.0 / self.admit_every
        self._random = _random.Random(self.seed).random  # the policy's own generator
        self.ram = SizedQueue()  # LRU: least recently used first
        self.disk = SizedQueue()  # FIFO: oldest first
        self.flash_writes = 0

    @property
    def used(self) -> int:  # type: ignore[override]  # the sum over its parts, read-only
        return self.ram.used + self.disk.used

    def lookup(self, key: Key) -> bool:
        if key in self.ram:
            self.ram.move_to_end(key)
            return True
        return key in self.disk

    def insert(self, key: Key, size: int = 1) -> list[Key]:
        self.remove(key)
        if size > self.capacity:
            return []
        evicted = self.evict_to(self.capacity - size)
        self.ram.push(key, size)
        return evicted

    def _evict(self, evicted: list) -> None:
        """Take the RAM's LRU object out (to flash, or out of the cache), or flash's oldest once the RAM is empty.

        The keys that leave the cache are appended to `evicted`.
        """
        if not self.ram:
            evicted.append(self.disk.pop_oldest()[0])
            return
        key, size = self.ram.pop_oldest()
        if self._random() >= self.admit_probability or size > self.disk_capacity:
            evicted.append(key)  # not written (an object larger than flash never is)
            return
        self.flash_writes += 1
        disk = self.disk
        while disk.used + size > self.disk_capacity:  # flash makes its own room, oldest first
            evicted.append(disk.pop_oldest()[0])
        disk.push(key, size)

    def evict_to(self, units: int) -> list[Key]:
        """Make room as an insert does (RAM victims to flash by the coin, or out; then flash's oldest)
        until at most `units` are cached."""
        evicted: list = []
        while self.ram.used + self.disk.used > units:
            self._evict(evicted)
        return evicted

    def resize(self, capacity: int) -> list[Key]:
        """A new capacity: the RAM and flash shares re-derived as the constructor derives them, flash
        dropping its oldest objects to fit its new share (evicted first); then evicted down to it."""
        shares = FlashProb(capacity, self.ram_size_ratio, self.disk_admit_prob)
        self.ram_capacity, self.disk_capacity = shares.ram_capacity, shares.disk_capacity
        self.capacity = shares.capacity
        evicted = []
        while self.disk.used > self.disk_capacity:
            evicted.append(self.disk.pop_oldest()[0])
        return evicted + self.evict_to(self.capacity)

    def remove(self, key: Key) -> bool:
        return self.ram.discard(key) is not None or self.disk.discard(key) is not None

    def __contains__(self, key: Key) -> bool:
        return key in self.ram or key in self.disk

    def __len__(self) -> int:
        return len(self.ram) + len(self.disk)

    def keys(self) -> list[Key]:
        """Flash (oldest first), then the RAM (least recently used first)."""
        return list(self.disk) + list(self.ram)

    def params(self) -> dict[str, object]:
        return {"ram_size_ratio": self.ram_size_ratio, "disk_admit_prob": self.disk_admit_prob, "seed": self.seed}

    def make_kernel(self) -> Kernel:
        from policies._kernels.flashprob import FlashProbKernel

        # The same generator, started from the same seed: the same coins, victim for victim.
        return FlashProbKernel(self.capacity, self.disk_capacity, self.admit_probability, self.seed)
