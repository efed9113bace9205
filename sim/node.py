"""A cache node: an eviction policy plus what the policy does not know about.

The policy decides what to evict; the node adds time:

* TTL: an entry expires `ttl` seconds after it was stored.  By default, as in
  memcached, a hit does not extend it (`refresh_on_hit` makes it).  Expiry is
  lazy: a stale entry keeps its space until a lookup finds it, removes it and
  misses (the model can also remove entries when they expire: active expiry).
* Versions: with writes or model updates, each entry remembers the version
  of the value it holds (a "stamp"), so a hit on an out-of-date value can be
  counted as a stale read.
* Up or down: a failed node loses everything (`clear`) and comes back cold.
* Time: a policy that reads the clock (``policy.timed``: Redis's, memcached's)
  is told the time of every lookup and fill (``policy.advance(now)``).
"""

from __future__ import annotations

from policies import Policy


class CacheNode:
    """One cache server."""

    def __init__(self, policy: Policy, capacity_bytes: bool = False, refresh_on_hit: bool = False):
        self.policy = policy
        self.capacity_bytes = capacity_bytes
        self.refresh_on_hit = refresh_on_hit
        self.expires_at: dict = {}  # key -> absolute expiry time (entries with a TTL only)
        self.ttl_of: dict = {}  # key -> its TTL, to restart it on a hit (refresh_on_hit only)
        self.stamps: dict = {}  # key -> version of the cached value (when versions are tracked)
        self.up = True
        self.timed = getattr(policy, "timed", False)

    def lookup(self, key, now: float) -> bool | None:
        """True on a hit at time `now`, False on a miss, None on an expired entry (dropped: a miss)."""
        expiry = self.expires_at.get(key)
        if expiry is not None:
            if key not in self.policy:
                # Evicted without our knowing: some policies (SLRU, LIRS, W-TinyLFU) evict during hits.
                self._forget(key)
                return False
            if expiry <= now:
                self.remove(key)
                return None
            if self.refresh_on_hit:
                self.expires_at[key] = now + self.ttl_of[key]
        if self.timed:
            self.policy.advance(now)
        return self.policy.lookup(key)

    def is_expired(self, key, now: float) -> bool:
        expiry = self.expires_at.get(key)
        return expiry is not None and expiry <= now

    def fill(self, key, size: int, now: float, ttl: float = 0.0, stamp=None) -> bool:
        """Store the backend's answer for `key` at time `now`; True if the policy admitted it."""
        if self.timed:
            self.policy.advance(now)
        for victim in self.policy.insert(key, size if self.capacity_bytes else 1):
            self._forget(victim)
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
        self._forget(key)
        return self.policy.remove(key)

    def _forget(self, key) -> None:
        self.expires_at.pop(key, None)
        self.ttl_of.pop(key, None)
        self.stamps.pop(key, None)

    def clear(self) -> None:
        """Lose every entry (the node failed)."""
        for key in list(self.policy.keys()):
            self.policy.remove(key)
        self.expires_at.clear()
        self.ttl_of.clear()
        self.stamps.clear()

    def __contains__(self, key) -> bool:
        return key in self.policy
