"""CLOCK-Pro: LIRS's reuse distances, kept by three clock hands on one circular list.

S. Jiang, F. Chen, X. Zhang, "CLOCK-Pro: an effective improvement of the
CLOCK replacement", USENIX ATC 2005.

LIRS (policies/lirs.py) tells a hot block from a cold one by its reuse
distance, and keeps the hot ones; but it moves a block in a stack on every
hit, which a kernel's page cache cannot afford.  CLOCK-Pro keeps the idea
and CLOCK's cheap hit (set a bit, nothing else).  Every cached object, and
the recently evicted cold ones (*non-resident*, keys only), sits on one
circular list in the order it arrived at the list's head; three hands walk
round it, oldest first:

* a *hot* object has shown a small reuse distance; a *cold* one has not yet.
  A cold object (resident or not) is in its *test period* from the time it
  is placed at the head until a hand terminates it: a request within the
  period means its reuse distance is smaller than the oldest hot object's,
  and it becomes hot.
* HAND_cold looks for the victim: a resident cold object with its bit set is
  spared (moved to the head, bit cleared; made hot if it was in its test
  period, else given a new one); one with its bit clear is evicted, and stays
  on the list as a non-resident key if it was in its test period.
* HAND_hot runs while the hot objects exceed their share (capacity minus the
  cold target m_c): it clears set bits and demotes the first hot object with
  a clear bit to cold; every cold object it passes ends its test period (a
  non-resident one leaves the list).
* HAND_test runs while the non-resident keys exceed the capacity: it ends the
  test periods it passes and drops the non-resident keys.
* m_c adapts: +1 (its size) when a cold object is requested in its test
  period, -1 when a test period ends without one, within bounds (below).

A miss on a non-resident key in its test period makes room and brings the
object back hot; any other miss brings it back cold, in its test period.
While the cache fills, new objects are hot until the hot share is full (as
the first blocks are LIR in LIRS).  Sizes
are counted in the cache's units throughout (the paper counts pages).

Each hand examines one entry at a time, moves on to the entry after it, and
wraps from the newest entry to the oldest; an entry moved to the head is
met again only after the hand has passed the rest.  When no cold object is
resident, HAND_hot demotes one so that HAND_cold has a victim (possible
with sizes: an object larger than the cold share).

The cold target's floor (1% of the cache, at least one unit) and ceiling (the
cache less the floor) are ours (Caffeine's simulator bounds its cold target by
percentages too): the paper gives m_c no number, and at a floor of one unit
the cold hand would walk round the whole list for each eviction (a 1M-request
replay took 3.5 s compiled instead of 0.18 s, with 0.2% fewer misses).

libcachesim 0.3.5's ClockPro (cache/eviction/ClockPro.c) is a static cache:
it never evicts.  Its ``can_insert`` refuses an object while the cold
objects plus it would pass its cold target (``init_ratio_cold`` of the
cache: 0.5 as the Python package passes it, though its docstring says 1, the
C code's default); every new object is cold, and only an eviction (its
HAND_cold, or a non-resident key, which only an eviction makes) ever makes
one hot.  With no hot object, a cache full enough to need an eviction would
hold more cold objects than the target allows, so that object is refused
first: the cache keeps the first objects that fit in the target and refuses
every other.  Its miss counts equal such a first-fit cache's on every parity
trace at either ratio (tests/policies/test_clockpro.py): golden trace at 200
objects 4,604 (3,120 at ratio 1), ours 2,609, LRU 3,072, LIRS 2,703.
Ours are not compared to it request for request; they are held to the
paper's behaviour instead (LIRS's loop, where CLOCK-Pro must beat LRU, and
LIRS's other patterns) and to a hand-traced run.
"""

from __future__ import annotations

from collections.abc import Iterator

from policies.base import Kernel, Key, Policy, register

#: the cold target's floor is capacity // 100 (at least one unit), its ceiling the capacity minus that
COLD_FLOOR_DIVISOR = 100

HOT, COLD, GHOST = 0, 1, 2  # a hot object, a resident cold one, a non-resident cold key (in its test period)


@register("clockpro")
class ClockPro(Policy):
    """CLOCK-Pro as the paper gives it (``keys()``: the list's order, oldest first, residents only)."""

    summary = "CLOCK-Pro: CLOCK with LIRS's hot and cold objects, test periods and an adaptive cold share."

    def __init__(self, capacity: int):
        super().__init__(capacity)
        # m_c, in units, within [1%, 99%] of the cache (at least one unit), starting at its least
        self.min_cold = max(capacity // COLD_FLOOR_DIVISOR, 1)
        self.max_cold = max(capacity - self.min_cold, self.min_cold)
        self.cold_target = self.min_cold
        self._head = object()  # the list's sentinel: before it the newest entry, after it the oldest
        self.next: dict = {self._head: self._head}
        self.prev: dict = {self._head: self._head}
        self.status: dict = {}  # key on the list -> HOT, COLD or GHOST
        self.size: dict = {}  # key on the list -> its size
        self.ref: dict = {}  # resident key -> its reference bit
        self.in_test: set = set()  # resident cold keys in their test period (every GHOST is in one)
        self.hot_used = self.cold_used = self.ghost_used = 0
        # the key each hand examines next (None: the oldest)
        self.hand_hot: Key | None = None
        self.hand_cold: Key | None = None
        self.hand_test: Key | None = None
        self.has_evicted = False  # the cache filled: new objects are cold from now on

    # -- requests ---------------------------------------------------------------------------------

    def lookup(self, key: Key) -> bool:
        if self.status.get(key, GHOST) == GHOST:
            return False
        self.ref[key] = True
        return True

    def insert(self, key: Key, size: int = 1) -> list:
        if self.status.get(key, GHOST) != GHOST:
            self.remove(key)  # a cached key is replaced
        if size > self.capacity:
            self._forget(key)
            return []
        evicted = self.evict_to(self.capacity - size)
        if self.status.get(key) == GHOST:  # requested in its test period: back as a hot object
            self._forget(key)
            self._adapt(+size)
            self._push(key, size, HOT)
            self._balance_hot()
        elif not self.has_evicted and self.hot_used + size <= self.capacity - self.cold_target:
            self._push(key, size, HOT)  # the cache is filling: hot until the hot share is full
        else:
            self._push(key, size, COLD)
            self.in_test.add(key)
        return evicted

    def evict_to(self, units: int) -> list:
        """Run HAND_cold until at most `units` are cached; the evicted keys."""
        evicted = []
        while self.used > units:
            self.has_evicted = True
            if not self.cold_used:
                self._run_hot()  # every resident object is hot: demote one for the cold hand
            victim = self._run_cold()
            if victim is not None:
                evicted.append(victim)
        return evicted

    def resize(self, capacity: int) -> list:
        """A new capacity: m_c's bounds re-derived as the constructor derives them (m_c kept within
        them); HAND_cold evicts down to the capacity, HAND_test ends test periods until the non-resident
        keys fit it, and HAND_hot demotes until the hot objects fit their share."""
        bounds = ClockPro(capacity)
        self.capacity, self.min_cold, self.max_cold = bounds.capacity, bounds.min_cold, bounds.max_cold
        self._adapt(0)
        evicted = self.evict_to(self.capacity)
        while self.ghost_used > self.capacity:
            self._run_test()
        self._balance_hot()
        return evicted

    def remove(self, key: Key) -> bool:
        status = self.status.get(key)
        if status is None:
            return False
        self._forget(key)
        return status != GHOST

    # -- the three hands ----------------------------------------------------------------------------

    def _run_cold(self) -> Key | None:
        """HAND_cold examines one entry: a resident cold one is spared or evicted; the evicted key or None."""
        key = self.hand_cold = self._at(self.hand_cold)
        self.hand_cold = self._after(key)
        if self.status[key] != COLD:
            return None
        size = self.size[key]
        if self.ref[key]:
            if key in self.in_test:  # requested in its test period: hot
                self.in_test.discard(key)
                self._adapt(+size)
                self._move_to_head(key)
                self._set(key, HOT)
                self._balance_hot()
            else:  # requested since its test period ended: a new test period, still cold
                self._move_to_head(key)
                self.ref[key] = False
                self.in_test.add(key)
            return None
        if key in self.in_test:  # evicted, but its test period runs on: a non-resident key
            self._set(key, GHOST)
            self.in_test.discard(key)
            while self.ghost_used > self.capacity:
                self._run_test()
        else:
            self._forget(key)
        return key

    def _balance_hot(self) -> None:
        while self.hot_used > self.capacity - self.cold_target:
            self._run_hot()

    def _run_hot(self) -> None:
        """HAND_hot walks until it demotes one hot object, ending the test periods it passes."""
        while True:
            key = self._at(self.hand_hot)
            self.hand_hot = self._after(key)
            if self.status[key] != HOT:
                self._end_test(key)
            elif self.ref[key]:
                self.ref[key] = False
            else:
                self._set(key, COLD)  # demoted, with no test period
                return

    def _run_test(self) -> None:
        """HAND_test examines one entry, ending its test period (a non-resident key leaves the list)."""
        key = self._at(self.hand_test)
        self.hand_test = self._after(key)
        self._end_test(key)

    def _end_test(self, key: Key) -> None:
        """End a cold entry's test period: m_c shrinks (grows if it was requested); a GHOST is dropped."""
        status = self.status[key]
        if status == GHOST:
            self._adapt(-self.size[key])
            self._forget(key)
        elif status == COLD and key in self.in_test:
            self.in_test.discard(key)
            self._adapt(self.size[key] if self.ref[key] else -self.size[key])

    def _adapt(self, change: int) -> None:
        self.cold_target = min(max(self.cold_target + change, self.min_cold), self.max_cold)

    # -- the circular list --------------------------------------------------------------------------

    def _at(self, hand: Key | None) -> Key:
        """The entry a hand examines: its own, or the oldest entry if it has none."""
        return self.next[self._head] if hand is None else hand

    def _after(self, key: Key) -> Key | None:
        """The entry after `key`, wrapping from the newest to the oldest (None: `key` is alone)."""
        following = self.next[key]
        if following is self._head:
            following = self.next[self._head]
        return None if following == key else following

    def _push(self, key: Key, size: int, status: int) -> None:
        """Link `key` at the head (newest) with its bit clear."""
        newest = self.prev[self._head]
        self.next[newest] = key
        self.prev[key], self.next[key] = newest, self._head
        self.prev[self._head] = key
        self.size[key] = size
        self.status[key] = status
        self.ref[key] = False
        self._count(status, size)

    def _unlink(self, key: Key) -> None:
        """Take `key` off the list; a hand on it moves to the entry after it."""
        after = self._after(key)
        if self.hand_hot == key:
            self.hand_hot = after
        if self.hand_cold == key:
            self.hand_cold = after
        if self.hand_test == key:
            self.hand_test = after
        before, following = self.prev.pop(key), self.next.pop(key)
        self.next[before], self.prev[following] = following, before

    def _move_to_head(self, key: Key) -> None:
        size, status = self.size[key], self.status[key]
        self._unlink(key)
        self._count(status, -size)
        self._push(key, size, status)

    def _set(self, key: Key, status: int) -> None:
        size = self.size[key]
        self._count(self.status[key], -size)
        self._count(status, size)
        self.status[key] = status
        if status == GHOST:
            del self.ref[key]

    def _count(self, status: int, size: int) -> None:
        if status == HOT:
            self.hot_used += size
            self.used += size
        elif status == COLD:
            self.cold_used += size
            self.used += size
        else:
            self.ghost_used += size

    def _forget(self, key: Key) -> None:
        """Take a key off the list, whatever it is."""
        status = self.status.pop(key, None)
        if status is None:
            return
        self._unlink(key)
        self._count(status, -self.size.pop(key))
        self.ref.pop(key, None)
        self.in_test.discard(key)

    # -- introspection ------------------------------------------------------------------------------

    def _entries(self) -> Iterator[Key]:
        key = self.next[self._head]
        while key is not self._head:
            yield key
            key = self.next[key]

    def make_kernel(self) -> Kernel:
        from policies._kernels.clockpro import ClockProKernel

        return ClockProKernel(self.capacity, self.min_cold, self.max_cold)

    def __contains__(self, key: Key) -> bool:
        return self.status.get(key, GHOST) != GHOST

    def __len__(self) -> int:
        return len(self.ref)

    def keys(self) -> list:
        return [key for key in self._entries() if self.status[key] != GHOST]

    def hot_keys(self) -> list:
        return [key for key in self._entries() if self.status[key] == HOT]

    def ghost_keys(self) -> list:
        """The non-resident keys in their test period, oldest first."""
        return [key for key in self._entries() if self.status[key] == GHOST]
