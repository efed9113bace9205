"""S3-FIFO: a small probation FIFO, a main FIFO, and a ghost FIFO.

J. Yang, Y. Zhang, Z. Qiu, Y. Yue, K. V. Rashmi, "FIFO queues are all you
need for cache eviction", SOSP 2023.

Most objects are requested once and never again ("one-hit wonders").  A new
object enters the *small* FIFO (10% of the capacity); each hit bumps its
counter.  When the small queue is evicted, an object hit at least
`move_to_main_threshold` times moves to the *main* FIFO; the others leave the
cache, their keys remembered in the *ghost* FIFO (90% of the capacity).  A
miss found in the ghost goes straight to main.  Main is a CLOCK with 2-bit
counters: its oldest object, if hit since its last pass, is reinserted with
its counter decremented, else evicted.  Evictions come from main when main is
over its share (or small is empty), else from small.

Semantics follow libCacheSim 0.3.5's S3FIFO exactly, in particular:

* while the cache warms up (nothing evicted yet) and the small queue is
  full, new objects go straight to main;
* small-queue counters are not capped; main's are read as min(counter, 3);
* an object at least as large as the small queue is not inserted (though the
  eviction that made room for it has happened) - libCacheSim's guard against
  one object flushing the whole small queue; an object larger than the small
  queue is refused outright.

Where libCacheSim cannot work with a tiny cache we deviate, so that every
capacity caches something: a small queue that rounds down to 0 gets one unit
(libCacheSim aborts), and a one-unit small queue admits a one-unit object
(libCacheSim would admit nothing, so an object-counting cache below 20
objects stays empty there).

Lookup and insert are apart in a timed model, so a ghost hit seen by
``lookup`` is remembered per key until that key's ``insert``.
"""

from __future__ import annotations

from policies.base import Kernel, Key, Policy, register
from policies.limits import check_int
from policies.queues import GhostList, SizedQueue


@register("s3fifo")
class S3FIFO(Policy):
    """S3-FIFO with libCacheSim's defaults (small 10%, ghost 90%, promote after 2 hits)."""

    summary = (
        "S3-FIFO: a small FIFO filters one-hit wonders; keys hit there move to a main FIFO; a ghost FIFO remembers."
    )

    def __init__(
        self,
        capacity: int,
        small_size_ratio: float = 0.1,
        ghost_size_ratio: float = 0.9,
        move_to_main_threshold: int = 2,
    ):
        super().__init__(capacity)
        if not 0 < small_size_ratio < 1:
            raise ValueError(f"small_size_ratio must be in (0, 1), got {small_size_ratio!r}")
        if not 0 <= ghost_size_ratio <= 1:  # a ghost of up to the capacity: its units stay within int64
            raise ValueError(f"ghost_size_ratio must be in [0, 1], got {ghost_size_ratio!r}")
        self.small_size_ratio = small_size_ratio
        self.ghost_size_ratio = ghost_size_ratio
        self.move_to_main_threshold = check_int("move_to_main_threshold", move_to_main_threshold, 1, 2**31 - 1)
        self.small_capacity = max(int(capacity * small_size_ratio), 1)
        self.main_capacity = capacity - self.small_capacity
        # libCacheSim refuses objects of size >= the small queue; a one-unit queue takes one unit.
        self._small_limit = max(self.small_capacity, 2)
        self.small = SizedQueue()  # probation FIFO, oldest first
        self.main = SizedQueue()  # main FIFO (a CLOCK), oldest first
        self.ghost = GhostList(int(capacity * ghost_size_ratio))  # keys evicted from small
        self.freq: dict = {}  # cached key -> hit counter
        self._has_evicted = False
        self._ghost_hits: set = set()  # keys whose last lookup hit the ghost, until their insert

    @property
    def used(self) -> int:  # type: ignore[override]  # the sum over its parts, read-only
        return self.small.used + self.main.used

    @property
    def ghost_capacity(self) -> int:
        return self.ghost.capacity

    def lookup(self, key: Key) -> bool:
        freq = self.freq
        if key in freq:
            freq[key] += 1
            return True
        if key in self.ghost:
            self.ghost.remove(key)
            self._ghost_hits.add(key)
        return False

    def insert(self, key: Key, size: int = 1) -> list[Key]:
        from_ghost = key in self._ghost_hits
        # A key being cached is no longer a ghost: when lookup and insert are apart, it may
        # have been cached (and evicted into the ghost) by an earlier insert meanwhile.
        self.remove(key)
        if size > self.capacity or size > self.small_capacity:
            return []
        evicted = []
        small, main = self.small, self.main
        while small.used + main.used + size > self.capacity:
            victim = self._evict()
            if victim is not None:
                evicted.append(victim)
        if size >= self._small_limit:
            # Room was made, but the object is not inserted (as libCacheSim, except that
            # it would still let such an object in from the ghost: only possible when an
            # object changes size, and it would break the size limit).
            return evicted
        if from_ghost or (not self._has_evicted and small.used >= self.small_capacity):
            main.push(key, size)  # from the ghost, or warming up with a full small queue
        else:
            small.push(key, size)
        self.freq[key] = 0
        return evicted

    def _evict(self) -> Key | None:
        """Evict one object (or, from small, promote until one leaves); its key or None."""
        self._has_evicted = True
        if self.main.used > self.main_capacity or not self.small:
            return self._evict_main()
        return self._evict_small()

    def _evict_small(self) -> Key | None:
        small, freq = self.small, self.freq
        while small:
            key, size = small.pop_oldest()
            if freq[key] >= self.move_to_main_threshold:  # proven: on to main, counter reset
                freq[key] = 0
                self.main.push(key, size)
                continue
            del freq[key]
            self.ghost.remember(key, size)
            return key
        return None

    def _evict_main(self) -> Key | None:
        main, freq = self.main, self.freq
        while main:
            key = main.oldest()
            count = freq[key]
            if count >= 1:  # hit since its last pass: reinsert, one step colder
                freq[key] = min(count, 3) - 1
                main.move_to_end(key)
                continue
            del freq[key]
            main.pop_oldest()
            return key
        return None

    def evict_to(self, units: int) -> list[Key]:
        """Evict as S3-FIFO makes room (from main when it is over its share, else from small, promoting
        proven objects on the way) until at most `units` are cached."""
        evicted = []
        while self.small.used + self.main.used > units:
            victim = self._evict()
            if victim is not None:
                evicted.append(victim)
        return evicted

    def resize(self, capacity: int) -> list[Key]:
        """A new capacity: the small, main and ghost shares re-derived as the constructor derives them
        (the ghost forgets its oldest keys to fit), then evicted down to it."""
        shares = S3FIFO(capacity, self.small_size_ratio, self.ghost_size_ratio, self.move_to_main_threshold)
        self.small_capacity, self.main_capacity = shares.small_capacity, shares.main_capacity
        self._small_limit = shares._small_limit
        self.ghost.capacity = shares.ghost.capacity
        while self.ghost.used > self.ghost.capacity:
            self.ghost.pop_oldest()
        return super().resize(capacity)

    def remove(self, key: Key) -> bool:
        self._ghost_hits.discard(key)
        if key in self.ghost:
            self.ghost.remove(key)
        if self.freq.pop(key, None) is None:
            return False
        (self.small if key in self.small else self.main).remove(key)
        return True

    def __contains__(self, key: Key) -> bool:
        return key in self.freq

    def __len__(self) -> int:
        return len(self.freq)

    def keys(self) -> list[Key]:
        """Small queue then main queue, each oldest first."""
        return list(self.small) + list(self.main)

    @property
    def max_object_size(self) -> int:
        return min(self.capacity, self._small_limit - 1)

    def small_keys(self) -> list[Key]:
        return list(self.small)

    def main_keys(self) -> list[Key]:
        return list(self.main)

    def ghost_keys(self) -> list[Key]:
        return list(self.ghost)

    def params(self) -> dict[str, object]:
        return {
            "small_size_ratio": self.small_size_ratio,
            "ghost_size_ratio": self.ghost_size_ratio,
            "move_to_main_threshold": self.move_to_main_threshold,
        }

    def make_kernel(self) -> Kernel:
        from policies._kernels.s3fifo import S3FIFOKernel

        return S3FIFOKernel(
            self.capacity,
            self.small_capacity,
            self.main_capacity,
            self.ghost_capacity,
            self._small_limit,
            self.move_to_main_threshold,
        )
