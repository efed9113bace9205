"""The request stream with everything random about each request: what both models are given.

The fast model (sim/model.py) and the naive one (sim/naive.py) must see the
same world to be compared request by request, so they draw it here, once:
the requests themselves (times, keys, sizes, reads or writes), each
request's candidate nodes ranked by the balancer given the fleet at its
arrival (sim/membership.py's schedule, sim/routing.py's ranking and
failover), the node a read is sent to, and the numbers each request will
need (round trip, backend and node service times, TTL).  What the models
then *do* with a request is theirs, and is what the equality tests compare.

Once the fleet has changed, two more columns say what the change did to a
request's key (each one more ranking, only for the stretches that need it):
`cold`, whether its read target differs from the one it had before the
latest change of the fleet (a miss there is a cold miss), and, with the
read-through warm-up, `warm_from`, the node that served the key just before
the node it now goes to joined or came back, while that node warms up.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt

from sim.autoscale import tick_index
from sim.balancer import make_balancer
from sim.fleet import planned_ids
from sim.membership import FleetState, Membership
from sim.routing import Routing
from sim.scenario import Scenario
from sim.vocabulary import READ_THROUGH, REHASH
from workloads import Distribution, key_class
from workloads.rng import rng_for
from workloads.stream import ONE_HIT_CLASS, RequestBatch

try:
    import workloads._draws as _compiled
except ImportError:  # not built: numpy's stores give the same TTLs
    _compiled = None

#: a stretch of a batch in which the fleet holds: (first request, end, the fleet's state)
Segment = tuple[int, int, FleetState]


class RequestDraws:
    """The request stream with everything random about each request, batch by batch.

    Both models draw through here, so they see the same numbers: per batch,
    the requests, each request's candidate nodes (ranked, given the nodes up
    at its arrival), its round trip, backend service, node service and TTL.
    """

    def __init__(self, scenario: Scenario, seed: int, membership: Membership):
        cluster = scenario.cluster
        self.scenario, self.seed, self.membership = scenario, seed, membership
        self.ids = planned_ids(cluster)
        self.balancer = make_balancer(cluster.balancer, self.ids, cluster.vnodes, cluster.bound_epsilon)
        self.routing = Routing(self.balancer, cluster.failover, cluster.replicas, self.ids, cluster.gutter_nodes)
        self.depth = self.routing.depth
        self.warm_for = cluster.warmup.for_s if cluster.warmup.strategy == READ_THROUGH else 0.0
        self._rtt = rng_for(seed, "network.hit_latency")
        self._service = rng_for(seed, "backend.latency")
        self._node_service = rng_for(seed, "node.service")
        self._ttl = rng_for(seed, "cluster.ttl")
        self._spray = rng_for(seed, "balancer.random")
        self._ttl_by_class = dict(cluster.ttl_by_class)
        self._ttl_table = _class_table(self._ttl_by_class)
        self._clients = rng_for(seed, "workload.clients") if scenario.clients else None
        autoscale = cluster.autoscale
        self.tick_s = autoscale.interval_s if autoscale is not None and autoscale.reactive else 0.0

    def __iter__(self) -> Iterator[Draws]:
        for batch in self.batches():
            yield self.draw(batch)

    def batches(self) -> Iterator[RequestBatch]:
        """The request stream's batches, with no draw yet; with a reactive autoscaler, cut at its ticks
        (multiples of interval_s), so that a model can decide at a tick before the requests after it are
        routed (`draw`)."""
        scenario = self.scenario
        for batch in scenario.workload.batches(self.seed, scenario.total_requests):
            if not self.tick_s:
                yield batch
                continue
            ticks = tick_index(batch.time, self.tick_s)
            cuts = [0, *(np.flatnonzero(np.diff(ticks)) + 1).tolist(), len(batch)]
            for low, high in zip(cuts, cuts[1:]):
                yield RequestBatch(
                    batch.time[low:high],
                    batch.key[low:high],
                    batch.size[low:high],
                    batch.op[low:high],
                    batch.start + low,
                )

    def draw(self, batch: RequestBatch) -> Draws:
        """A batch's draws: its routing given the fleet as the schedule knows it now, and its numbers."""
        scenario = self.scenario
        cluster = scenario.cluster
        n = len(batch)
        segments = list(self._segments(batch.time))
        choices = self._route(batch.key, segments)
        read_node = self._read_nodes(batch.key, choices, segments)
        node_service = cluster.node_service.sample(self._node_service, n) if cluster.has_node_queue else None
        return Draws(
            batch=batch,
            choices=choices,
            read_node=read_node,
            round_trip=scenario.hit_latency.sample(self._rtt, n),
            service=scenario.backend.latency.sample(self._service, n),
            node_service=node_service,
            ttl=self._ttls(batch.key),
            cold=self._cold(batch, read_node, segments),
            warm_from=self._warm_from(batch, read_node, segments),
            group=self._clients.integers(0, scenario.clients, n) if self._clients is not None else None,
        )

    def _route(self, keys: np.ndarray, segments: list[Segment]) -> np.ndarray:
        """(n, depth) ranked candidate nodes per request, -1 where there are fewer nodes to rank."""
        choices = np.full((len(keys), self.depth), -1, dtype=np.int64)
        for low, high, state in segments:
            choices[low:high] = self.routing.rank(keys[low:high], state)
        return choices

    def _read_nodes(self, keys: np.ndarray, choices: np.ndarray, segments: list[Segment]) -> np.ndarray:
        """The node each read goes to: its read target (sim/routing.py), or a random node up (spray)."""
        if not self.balancer.spray:
            if self.routing.failover == REHASH:
                return choices[:, 0].copy()
            read = np.empty(len(keys), dtype=np.int64)
            for low, high, state in segments:
                read[low:high] = self.routing.targets(keys[low:high], choices[low:high], state)
            return read
        read = choices[:, 0].copy()
        draws = self._spray.random(len(read))
        for low, high, state in segments:
            if state.up:
                read[low:high] = np.asarray(state.up)[(draws[low:high] * len(state.up)).astype(np.int64)]
        return read

    def _segments(self, times: np.ndarray) -> Iterator[Segment]:
        """(first, end, fleet state) for each stretch of the batch in which the fleet holds."""
        cuts = [0]
        if not self.membership.static:
            changes = self.membership.changes_between(times[0], times[-1])
            cuts += [int(i) for i in np.searchsorted(times, changes, side="left")]
        cuts.append(len(times))
        for low, high in zip(cuts, cuts[1:]):
            if high > low:
                yield low, high, self.membership.state_at(times[low])

    def _targets_in(self, keys: np.ndarray, state: FleetState) -> np.ndarray:
        """The read targets of `keys` had the fleet been in `state`."""
        return self.routing.targets(keys, self.routing.rank(keys, state, self.routing.target_depth), state)

    def _cold(self, batch: RequestBatch, read_node: np.ndarray, segments: list[Segment]) -> np.ndarray | None:
        """Per request: is its read target not the one it had before the fleet's latest change?"""
        if self.membership.static or self.balancer.spray:
            return None
        cold = np.zeros(len(batch), dtype=bool)
        for low, high, _ in segments:
            previous = self.membership.previous_change(float(batch.time[low]))
            if previous is not None:
                keys = batch.key[low:high]
                cold[low:high] = self._targets_in(keys, previous[1]) != read_node[low:high]
        return cold

    def _warm_from(self, batch: RequestBatch, read_node: np.ndarray, segments: list[Segment]) -> np.ndarray | None:
        """Per request: while its read target warms up (read-through), the node that served its key just
        before that node joined or came back (-1: none)."""
        if not self.warm_for or self.membership.static or self.balancer.spray:
            return None
        warm_from = np.full(len(batch), -1, dtype=np.int64)
        times = batch.time
        for low, high, _ in segments:
            start = float(times[low])
            for when, node, before in self.membership.arrivals_between(start - self.warm_for, start):
                end = low + int(np.searchsorted(times[low:high], when + self.warm_for, side="left"))
                mine = np.flatnonzero(read_node[low:end] == node) + low
                if len(mine):
                    warm_from[mine] = self._targets_in(batch.key[mine], before)
        return warm_from

    def _ttls(self, keys: np.ndarray) -> np.ndarray | None:
        """Each request's TTL, used if its answer is stored (0: no expiry), or None without TTLs."""
        cluster = self.scenario.cluster
        if not cluster.has_ttl:
            return None
        if isinstance(cluster.ttl, Distribution):
            ttl = cluster.ttl.sample(self._ttl, len(keys))
        else:
            ttl = np.full(len(keys), float(cluster.ttl))
        if self._ttl_table is not None:
            has, table = self._ttl_table
            _compiled.set_by_class(np.ascontiguousarray(keys, dtype=np.int64), has, table, ttl.view(np.uint64))
        elif self._ttl_by_class:
            classes = key_class(keys)
            for index, value in self._ttl_by_class.items():
                ttl[np.flatnonzero(classes == index)] = value  # by index: numpy's masked store is slower
        return ttl


def _class_table(values: dict[int, float]) -> tuple[np.ndarray, np.ndarray] | None:
    """`values` by class index as workloads/_draws.pyx's set_by_class takes them: (has, value's bits) per
    class of a stream (0 to ONE_HIT_CLASS); None where that is not built, or there are none, or a class is
    outside."""
    if _compiled is None or not values or not all(0 <= index <= ONE_HIT_CLASS for index in values):
        return None
    has, table = np.zeros(ONE_HIT_CLASS + 1, dtype=np.uint8), np.zeros(ONE_HIT_CLASS + 1)
    for index, value in values.items():
        has[index], table[index] = 1, value
    return has, table.view(np.uint64)


class Draws:
    """One batch of requests and their draws, one entry per request (see RequestDraws).

    choices:      (n, depth) the key's candidate nodes, best first, -1 where there are fewer
    read_node:    the node a read is sent to: the first choice, or (failing over) the first up of the key's
                  first R, its gutter node (ids from P), -1 for the backend; a random node up with spray
    round_trip:   client <-> node seconds; service: backend seconds
    node_service: node worker seconds (None without node queues)
    ttl:          seconds the answer lives if stored, 0 for never (None without TTLs)
    cold:         whether read_node differs from the key's before the fleet's latest change (None: the fleet
                  never changes)
    warm_from:    the node a read-through warm-up may fill from (-1: none; None without read-through)
    group:        the client group that sent it (None without client groups)
    """

    __slots__ = (
        "batch",
        "choices",
        "read_node",
        "round_trip",
        "service",
        "node_service",
        "ttl",
        "cold",
        "warm_from",
        "group",
    )

    def __init__(
        self,
        batch: RequestBatch,
        choices: npt.NDArray[np.int64],
        read_node: npt.NDArray[np.int64],
        round_trip: npt.NDArray[np.float64],
        service: npt.NDArray[np.float64],
        node_service: npt.NDArray[np.float64] | None,
        ttl: npt.NDArray[np.float64] | None,
        cold: npt.NDArray[np.bool_] | None = None,
        warm_from: npt.NDArray[np.int64] | None = None,
        group: npt.NDArray[np.int64] | None = None,
    ):
        self.batch, self.choices, self.read_node = batch, choices, read_node
        self.round_trip, self.service, self.node_service, self.ttl = round_trip, service, node_service, ttl
        self.cold, self.warm_from, self.group = cold, warm_from, group
