"""A cache node: an eviction policy plus what the policy does not know about.

The policy decides what to evict; the node adds time:

* TTL: an entry expires `ttl` seconds after it was stored.  By default, as in
  memcached, a hit does not extend it (`refresh_on_hit` makes it).  Expiry is
  lazy: a stale entry keeps its space until a lookup finds it, removes it and
  misses (the model can also remove entries when they expire: active expiry).
* Versions: with writes or bulk updates, each entry remembers the version
  of the value it holds (a "stamp"), so a hit on an out-of-date value can be
  counted as a stale read.
* Up or down: a failed node loses everything (`clear`), its policy's
  history included (ghost lists, frequency sketches), and comes back cold.
* Time: a policy that reads the clock (``policy.timed``: Redis's, memcached's)
  is told the time of every lookup and fill (``policy.advance(now)``).
* A living fleet (sim/fleet.py): a node can be resized at run time (its
  policy evicts down to the new size), evict in batches between watermarks
  (``watermarks``: once an insert leaves it at or above the high mark, it
  evicts down to the low one, and ``burst`` counts that batch for the model
  to charge node time), keep every entry at most ``max_ttl`` seconds (a
  gutter node), and take copies of another node's entries with their
  expiry and stamps (warm-up).

The node never hides a read from its policy: with or without TTLs, every
lookup reaches `policy.lookup`, so a TTL that never runs out changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Container

from policies import Policy, PolicyContractError
from policies.base import Key
from workloads.stream import CLASS_SHIFT


class CacheNode:
    """One cache server."""

    def __init__(
        self,
        make_policy: Callable[..., Policy],
        capacity_bytes: bool = False,
        refresh_on_hit: bool = False,
        max_ttl: float = 0.0,
        watermarks: tuple | None = None,
        keep_sizes: bool = False,
    ):
        self.make_policy = make_policy  # make_policy(capacity) for a resized node that comes back
        self.policy = make_policy()
        self.capacity_bytes = capacity_bytes
        self.refresh_on_hit = refresh_on_hit and not max_ttl  # an entry of a gutter node lives max_ttl at most
        self.max_ttl = max_ttl
        self.marks = watermarks  # (high, low) fractions of the capacity, or None
        self.expires_at: dict[Key, float] = {}  # key -> absolute expiry time (entries with a TTL only)
        self.ttl_of: dict[Key, float] = {}  # key -> its TTL, to restart it on a hit (refresh_on_hit only)
        self.stamps: dict[Key, tuple[int, int]] = {}  # key -> version of the cached value (when versions are tracked)
        self.sizes: dict[Key, int] | None = {} if keep_sizes else None  # key -> size, for copies (pre-copy)
        self.burst = 0  # entries the last insert's batch eviction took
        self.up = True
        self.timed = getattr(self.policy, "timed", False)

    def lookup(self, key: Key, now: float) -> bool | None:
        """True on a hit at time `now`, False on a miss, None on an expired entry (dropped: a miss).

        An expired entry is removed before the policy is asked, so the policy
        sees the read as the miss it is (an admission filter still counts it).
        """
        expiry = self.expires_at.get(key)
        expired = False
        if expiry is not None:
            if key not in self.policy:
                # Evicted without our knowing: some policies (SLRU, LIRS, W-TinyLFU) evict during hits.
                self._forget(key)
            elif expiry <= now:
                self.remove(key)
                expired = True
            elif self.refresh_on_hit:
                self.expires_at[key] = now + self.ttl_of[key]
        if self.timed:
            self.policy.advance(now)
        hit = self.policy.lookup(key)
        return None if expired else hit

    def fill(self, key: Key, size: int, now: float, ttl: float = 0.0, stamp: tuple[int, int] | None = None) -> bool:
        """Store the backend's answer for `key` at time `now`; True if the policy admitted it."""
        if self.max_ttl:
            ttl = min(ttl, self.max_ttl) if ttl > 0 else self.max_ttl
        if not self._insert(key, size, now):
            return False
        if ttl > 0:
            self.expires_at[key] = now + ttl
            if self.refresh_on_hit:
                self.ttl_of[key] = ttl
        else:
            self.expires_at.pop(key, None)
            self.ttl_of.pop(key, None)
        if stamp is not None:
            self.stamps[key] = stamp
        return True

    def fill_copy(
        self,
        key: Key,
        size: int,
        now: float,
        expires_at: float | None,
        ttl: float | None,
        stamp: tuple[int, int] | None,
    ) -> bool:
        """Store a copy of another node's entry at `now`: its expiry (None: never) and TTL, its stamp."""
        if not self._insert(key, size, now):
            return False
        for book, value in ((self.expires_at, expires_at), (self.ttl_of, ttl), (self.stamps, stamp)):
            if value is None:
                book.pop(key, None)
            else:
                book[key] = value  # type: ignore[assignment]  # each book gets its own kind of value
        return True

    def _insert(self, key: Key, size: int, now: float) -> bool:
        """The policy's insert (then a batch eviction past the high mark); True if the key is cached."""
        if self.timed:
            self.policy.advance(now)
        for victim in self.policy.insert(key, size if self.capacity_bytes else 1):
            self._forget(victim)
        check_capacity(self.policy)
        if self.marks is not None and self.policy.used >= self.marks[0] * self.policy.capacity:
            evicted = self.evict_to(int(self.marks[1] * self.policy.capacity))
            self.burst += len(evicted)
        if key not in self.policy:
            self._forget(key)
            return False
        if self.sizes is not None:
            self.sizes[key] = size
        return True

    def evict_to(self, units: int) -> list:
        """Evict through the policy until at most `units` are used; the keys it evicted."""
        evicted = self.policy.evict_to(units)
        for victim in evicted:
            self._forget(victim)
        return evicted

    def resize(self, capacity: int) -> list:
        """A new capacity at once (the policy evicts down to it); the keys evicted."""
        evicted = self.policy.resize(capacity)
        for victim in evicted:
            self._forget(victim)
        return evicted

    def live(self, key: Key, now: float) -> bool:
        """Whether the node holds `key` unexpired at `now` (asks nothing of the policy's order)."""
        expiry = self.expires_at.get(key)
        return key in self.policy and (expiry is None or expiry > now)

    def remove(self, key: Key) -> bool:
        """Drop a cached key (expiry, invalidation); the policy's memory of a key it no longer holds stays."""
        self._forget(key)
        return key in self.policy and self.policy.remove(key)

    def drop_classes(self, classes: Container[int]) -> None:
        """Drop every cached key of the given key classes (a bulk update that invalidates)."""
        # (the timed model's keys are int64 ids: a policy's keys() are ints here)
        for key in [key for key in self.policy.keys() if key >> CLASS_SHIFT in classes]:  # type: ignore[operator]
            self.remove(key)

    def _forget(self, key: Key) -> None:
        self.expires_at.pop(key, None)
        self.ttl_of.pop(key, None)
        self.stamps.pop(key, None)
        if self.sizes is not None:
            self.sizes.pop(key, None)

    def clear(self, capacity: int | None = None) -> None:
        """Lose everything (the node failed, or left): its entries, and its policy's memory of past keys.

        `capacity`: the capacity it will come back with (None: the one it was made with).
        """
        self.policy = self.make_policy() if capacity is None else self.make_policy(capacity)
        self.expires_at.clear()
        self.ttl_of.clear()
        self.stamps.clear()
        if self.sizes is not None:
            self.sizes.clear()

    def __contains__(self, key: Key) -> bool:
        return key in self.policy


def check_capacity(policy: Policy) -> None:
    """A cache never holds more than its capacity: checked after every insert, in both models."""
    if policy.used > policy.capacity:
        raise PolicyContractError(
            f"policy {policy.name!r} holds {policy.used} units after an insert, over its capacity {policy.capacity}"
        )
