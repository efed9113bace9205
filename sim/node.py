"""A cache node: an eviction policy, a capacity, a TTL, and counters.

TTL works as in memcached: an entry expires `ttl` seconds after it was
inserted, and a hit does not extend it.  Expiry is lazy: an expired entry
stays (and takes space) until a lookup finds it stale and removes it, which
counts as a miss.
"""

from __future__ import annotations

from policies import Policy


class CacheNode:
    """One cache server."""

    def __init__(self, policy: Policy, ttl: float = 0.0, capacity_bytes: bool = False):
        self.policy = policy
        self.ttl = float(ttl)
        self.capacity_bytes = capacity_bytes
        self.expires_at: dict = {}  # key -> absolute expiry time, only when ttl > 0
        self.expired = 0  # lookups that found a stale entry

    def lookup(self, key, now: float) -> bool:
        """Hit or miss at time `now`; a stale entry is dropped and is a miss."""
        if self.ttl:
            expiry = self.expires_at.get(key)
            if expiry is not None and expiry <= now:
                self.remove(key)
                self.expired += 1
                return False
        return self.policy.lookup(key)

    def fill(self, key, size: int, now: float) -> None:
        """Store the backend's answer for `key` at time `now`."""
        evicted = self.policy.insert(key, size if self.capacity_bytes else 1)
        if self.ttl:
            for victim in evicted:
                self.expires_at.pop(victim, None)
            if key in self.policy:
                self.expires_at[key] = now + self.ttl

    def remove(self, key) -> bool:
        self.expires_at.pop(key, None)
        return self.policy.remove(key)

    def __contains__(self, key) -> bool:
        return key in self.policy
