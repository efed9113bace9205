"""The slow store behind the cache: a latency distribution and c FCFS servers.

With identical servers and first-come-first-served order, a queue needs no
process and no event: the start of a request's service is the later of its
arrival and the earliest time a server frees up.  So the backend is a heap of
server-free times, and a request's completion is arithmetic.
"""

from __future__ import annotations

import heapq


class FCFSServers:
    """c identical servers in front of one FCFS queue, as a heap of free times."""

    def __init__(self, servers: int):
        if servers < 1:
            raise ValueError(f"servers must be >= 1, got {servers!r}")
        self.servers = int(servers)
        self._free_at = [0.0] * self.servers  # a valid heap: all equal

    def submit(self, arrival: float, service: float) -> float:
        """Queue a request arriving at `arrival` needing `service` seconds; return its completion."""
        start = self._free_at[0]
        if start < arrival:
            start = arrival
        finish = start + service
        heapq.heapreplace(self._free_at, finish)
        return finish
