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

The node never hides a read from its policy: with or without TTLs, every
lookup reaches `policy.lookup`, so a TTL that never runs out changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from policies import Policy, PolicyContractError
from workloads.stream import CLASS_SHIFT


class CacheNode:
    """One cache server."""

    def __init__(self, make_policy: Callable[[], Policy], capacity_bytes: bool = False, refresh_on_hit: bool = False):
        self.make_policy = make_policy
        self.policy = make_policy()
        self.capacity_bytes = capacity_bytes
        self.refresh_on_hit = refresh_on_hit
        self.expires_at: dict = {}  # key -> absolute expiry time (entries with a TTL only)
        self.ttl_of: dict = {}  # key -> its TTL, to restart it on a hit (refresh_on_hit only)
        self.stamps: dict = {}  # key -> version of the cached value (when versions are tracked)
        self.up = True
        self.timed = getattr(self.policy, "timed", False)

    def lookup(self, key, now: float) -> bool | None:
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

    def fill(self, key, size: int, now: float, ttl: float = 0.0, stamp=None) -> bool:
        """Store the backend's answer for `key` at time `now`; True if the policy admitted it."""
        if self.timed:
            self.policy.advance(now)
        for victim in self.policy.insert(key, size if self.capacity_bytes else 1):
            self._forget(victim)
        check_capacity(self.policy)
        if key not in self.policy:
            self._forget(key)
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

    def remove(self, key) -> bool:
        """Drop a cached key (expiry, invalidation); the policy's memory of a key it no longer holds stays."""
        self._forget(key)
        return key in self.policy and self.policy.remove(key)

    def drop_classes(self, classes) -> None:
        """Drop every cached key of the given key classes (a bulk update that invalidates)."""
        for key in [key for key in self.policy.keys() if key >> CLASS_SHIFT in classes]:
            self.remove(key)

    def _forget(self, key) -> None:
        self.expires_at.pop(key, None)
        self.ttl_of.pop(key, None)
        self.stamps.pop(key, None)

    def clear(self) -> None:
        """Lose everything (the node failed): its entries, and its policy's memory of past keys."""
        self.policy = self.make_policy()
        self.expires_at.clear()
        self.ttl_of.clear()
        self.stamps.clear()

    def __contains__(self, key) -> bool:
        return key in self.policy


def check_capacity(policy: Policy) -> None:
    """A cache never holds more than its capacity: checked after every insert, in both models."""
    if policy.used > policy.capacity:
        raise PolicyContractError(
            f"policy {policy.name!r} holds {policy.used} units after an insert, over its capacity {policy.capacity}"
        )
