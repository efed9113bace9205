"""The naive model's near caches: each client group's own small cache, the plain way.

Part of the oracle (sim/naive.py), and like it forbidden to import the fast
model (sim/near.py, whose docstring states the rules): a group's near cache
is one of the naive model's own nodes; a read asks it first; the request
process hands it the answer when it is back at the client; an invalidation
is a process that waits `invalidation_delay_s` and then tells every group.
What the groups have received is kept per group, key by key and class by
class, as a client library would.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable
from typing import TYPE_CHECKING, Any

from sim.cluster import near_makers
from workloads.stream import CLASS_SHIFT

if TYPE_CHECKING:
    import simpy

    from sim.scenario import Scenario
    from sim.versions import Versions


class NaiveNear:
    """The client groups' near caches. `make_node(maker)`: one of the naive model's nodes for a policy maker."""

    def __init__(
        self, env: simpy.Environment, scenario: Scenario, seed: int, versions: Versions, make_node: Callable[..., Any]
    ):
        near = scenario.near
        assert near is not None  # (built only for a near cache)
        makers = near_makers(near, scenario.cluster.capacity_bytes, seed, scenario.clients)
        self.env, self.versions = env, versions
        self.groups = [make_node(maker) for maker in makers]
        self.ttl, self.delay, self.latency = near.ttl_s, near.invalidation_delay_s, near.hit_latency_s
        self.received: list[tuple[dict[int, int], dict[int, int]]] = [
            ({}, {}) for _ in makers
        ]  # per group: (writes per key, bulk updates per class)

    def lookup(self, group: int, key: int) -> bool | None:
        """A read from `group`: None on a miss there, else whether the value it holds is stale."""
        cache = self.groups[group]
        if not cache.lookup(key, self.env.now):
            return None
        return cache.entries[key].stamp != self.versions.stamp(key)

    def answer(self, group: int, key: int, size: int, stamp: tuple) -> None:
        """The cluster's answer is back at the client now: kept, unless an invalidation it has already
        received is newer than the value."""
        writes, updates = self.received[group]
        if stamp[0] < writes.get(key, 0) or stamp[1] < updates.get(key >> CLASS_SHIFT, 0):
            return
        self.groups[group].store(key, size, self.env.now, self.ttl, stamp)

    def written(self, key: int) -> None:
        """A write of `key` landed now: every group hears of it after the delay."""
        version = self.versions.stamp(key)[0]
        self._later(self._tell_write, key, version)

    def bulk_updated(self, classes: Iterable[int]) -> None:
        """An invalidating bulk update of `classes` happened now: every group hears of it after the delay."""
        versions = {index: self.versions.stamp(index << CLASS_SHIFT)[1] for index in classes}
        self._later(self._tell_update, versions)

    def _later(self, tell: Callable[..., None], *args: object) -> None:
        if self.delay == 0:
            tell(*args)
        else:
            self.env.process(self._after_delay(tell, args))

    def _after_delay(self, tell: Callable[..., None], args: tuple[object, ...]) -> Generator[simpy.Event, object, None]:
        yield self.env.timeout(self.delay)
        tell(*args)

    def _tell_write(self, key: int, version: int) -> None:
        for group, cache in enumerate(self.groups):
            if cache.holds(key):
                cache.drop(key)
            writes = self.received[group][0]
            writes[key] = max(writes.get(key, 0), version)

    def _tell_update(self, versions: dict[int, int]) -> None:
        for group, cache in enumerate(self.groups):
            cache.drop_classes(set(versions))
            updates = self.received[group][1]
            for index, version in versions.items():
                updates[index] = max(updates.get(index, 0), version)
