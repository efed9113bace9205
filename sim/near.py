"""Near caches: each client group's own small cache in front of the cluster, the fast model's way.

Clients of a real cache tier often keep a small cache in their own memory (a
"near" or L1 cache: Caffeine in front of Redis, an in-process dict in front of
memcached).  It answers without a round trip, and it learns of a change of
value only when an invalidation reaches it: late.  That lateness is the
recommender article's synchronisation delay, and what this module makes
measurable.  A scenario's `near` (sim/scenario.py's Near) gives every client
group (workload.clients, drawn per request by sim/draws.py) one cache:

* a read first looks in its group's near cache.  A hit answers there, after
  `hit_latency_s` (no round trip, no node, no backend), flagged HIT | NEAR,
  and STALE too when its stamp is not the key's current version: the
  Recorder counts those `near_stale`, apart from the cluster's stale reads;
* a miss goes to the cluster as any read does; when the client *receives*
  the answer (its arrival plus its latency: a calendar entry), the near
  cache stores it with the stamp of the value served and the near TTL,
  unless that stamp is older than an invalidation already received;
* a landed write, and a bulk update that invalidates, reach the groups
  `invalidation_delay_s` later (a calendar entry; at once with no delay):
  each group drops the key (the classes), and the version is noted as
  received.  Every group hears at the same delay, so what one has received
  all have: one record serves them all.  A write reaches them whatever the
  cluster's write_policy (the client's invalidation channel is its own); a
  bulk update that does not invalidate the cluster does not reach them.

So with no delay no near read is ever stale (but after a bulk update that
does not invalidate, which tells no one): an entry is stored only if no
newer version has landed (its invalidation would have arrived with it), and
any later change removes it at once.  With a delay d, a key written at rate w
whose group holds it serves stale reads for the d seconds after each write.

The naive model (sim/naive_near.py) writes the same rules its own way; the
compiled loop (sim/_compiled/engine.pyx: near_hit, near_receive, run_near,
deliver_write, deliver_update) makes these decisions in this class's order,
over C nodes of the near policy's kernel, and declares it implements them
(sim/vocabulary.py's CLIENT_FEATURES, under "client"); a near policy that
reads the clock keeps a scenario on the Python loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from sim.cluster import near_makers
from sim.node import CacheNode
from sim.vocabulary import HIT, NEAR, STALE
from workloads.stream import CLASS_SHIFT

if TYPE_CHECKING:
    from sim.calendar import Calendar
    from sim.draws import Draws
    from sim.scenario import Scenario
    from sim.versions import Versions

#: a value's version: (writes of its key, bulk updates of its class) when it was read
Stamp = tuple[int, int]


class NearCaches:
    """The client groups' near caches, their invalidations in flight, and what they have received."""

    def __init__(self, scenario: Scenario, seed: int, calendar: Calendar, versions: Versions | None):
        near = scenario.near
        assert near is not None  # (of() builds one only for a near cache)
        capacity_bytes = scenario.cluster.capacity_bytes
        self.caches = [CacheNode(m, capacity_bytes) for m in near_makers(near, capacity_bytes, seed, scenario.clients)]
        self.ttl, self.delay, self.latency = near.ttl_s, near.invalidation_delay_s, near.hit_latency_s
        self.calendar, self.versions = calendar, versions
        self.writes_received: dict[int, int] = {}  # key -> the writes landed whose invalidation reached the groups
        self.updates_received: dict[int, int] = {}  # class -> the bulk updates whose invalidation reached them

    @classmethod
    def of(cls, scenario: Scenario, seed: int, calendar: Calendar, versions: Versions | None) -> NearCaches | None:
        return cls(scenario, seed, calendar, versions) if scenario.near is not None else None

    # -- reads ----------------------------------------------------------------------------------
    def serve(self, i: int, now: float, key: int, draws: Draws, flags: bytearray, wait: list[float]) -> bool:
        """Answer read i from its group's near cache if it holds the key: flags, latency, no node."""
        cache = self.caches[draws.group[i]]  # type: ignore[index]  # (drawn with client groups)
        if not cache.lookup(key, now):
            return False
        stale = self.versions is not None and cache.stamps.get(key) != self.versions.stamp(key)
        flags[i] = HIT | NEAR | STALE if stale else HIT | NEAR
        draws.round_trip[i], wait[i] = self.latency, 0.0  # its latency is the near hit's, exactly
        draws.read_node[i] = -1  # no node served it
        return True

    def receive(self, group: int, key: int, size: int, stamp: Stamp | None, at: float) -> None:
        """The cluster's answer (a value of version `stamp`) reaches the client at time `at`."""
        self.calendar.at(at, self._fill, group, key, size, stamp)

    def _fill(self, group: int, key: int, size: int, stamp: Stamp | None) -> None:
        if stamp is None or not self._superseded(key, stamp):
            self.caches[group].fill(key, size, self.calendar.now, self.ttl, stamp)

    def _superseded(self, key: int, stamp: Stamp) -> bool:
        """Whether an invalidation the groups received is newer than a value of this stamp."""
        writes, updates = stamp
        return writes < self.writes_received.get(key, 0) or updates < self.updates_received.get(key >> CLASS_SHIFT, 0)

    # -- invalidations ----------------------------------------------------------------------------
    def written(self, key: int, now: float) -> None:
        """A write of `key` landed at `now` (the versions counted it): its invalidation sets out."""
        assert self.versions is not None  # (writes are counted wherever near caches are)
        self._send(now, self._deliver_write, key, self.versions.writes[key])

    def bulk_updated(self, classes: Iterable[int], now: float) -> None:
        """An invalidating bulk update of `classes` happened at `now`: its invalidation sets out."""
        assert self.versions is not None
        self._send(now, self._deliver_update, {c: self.versions.bulk_updates[c] for c in classes})

    def _send(self, now: float, deliver: Callable[..., None], *args: object) -> None:
        if self.delay:
            self.calendar.at(now + self.delay, deliver, *args)
        else:
            deliver(*args)

    def _deliver_write(self, key: int, writes: int) -> None:
        self.writes_received[key] = max(writes, self.writes_received.get(key, 0))
        for cache in self.caches:
            cache.remove(key)

    def _deliver_update(self, counts: dict[int, int]) -> None:
        for index, count in counts.items():
            self.updates_received[index] = max(count, self.updates_received.get(index, 0))
        for cache in self.caches:
            cache.drop_classes(set(counts))
