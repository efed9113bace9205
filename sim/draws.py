"""The request stream with everything random about each request: what both models are given.

The fast model (sim/model.py) and the naive one (sim/naive.py) must see the
same world to be compared request by request, so they draw it here, once:
the requests themselves (times, keys, sizes, reads or writes), each
request's candidate nodes ranked by the balancer given the nodes up at its
arrival (sim/membership.py's schedule), the node a read is sent to, and the
numbers each request will need (round trip, backend and node service times,
TTL).  What the models then *do* with a request is theirs, and is what the
equality tests compare.
"""

from __future__ import annotations

import numpy as np

from sim.balancer import make_balancer
from sim.membership import Membership
from sim.scenario import Scenario
from workloads import Distribution, key_class
from workloads.rng import rng_for


class RequestDraws:
    """The request stream with everything random about each request, batch by batch.

    Both models draw through here, so they see the same numbers: per batch,
    the requests, each request's candidate nodes (ranked, given the nodes up
    at its arrival), its round trip, backend service, node service and TTL.
    """

    def __init__(self, scenario: Scenario, seed: int, membership: Membership):
        cluster = scenario.cluster
        self.scenario, self.seed, self.membership = scenario, seed, membership
        self.balancer = make_balancer(cluster.balancer, cluster.nodes, cluster.vnodes, cluster.bound_epsilon)
        self.depth = min(cluster.nodes, max(cluster.replicas, getattr(self.balancer, "candidates", 1)))
        self._rtt = rng_for(seed, "network.hit_latency")
        self._service = rng_for(seed, "backend.latency")
        self._node_service = rng_for(seed, "node.service")
        self._ttl = rng_for(seed, "cluster.ttl")
        self._spray = rng_for(seed, "balancer.random")
        self._ttl_by_class = dict(cluster.ttl_by_class)

    def __iter__(self):
        scenario = self.scenario
        cluster = scenario.cluster
        for batch in scenario.workload.batches(self.seed, scenario.total_requests):
            n = len(batch)
            choices = self._route(batch.time, batch.key)
            node_service = cluster.node_service.sample(self._node_service, n) if cluster.has_node_queue else None
            yield Draws(
                batch=batch,
                choices=choices,
                read_node=self._read_nodes(batch.time, choices),
                round_trip=scenario.hit_latency.sample(self._rtt, n),
                service=scenario.backend.latency.sample(self._service, n),
                node_service=node_service,
                ttl=self._ttls(batch.key),
            )

    def _route(self, times, keys) -> np.ndarray:
        """(n, depth) ranked candidate nodes per request, -1 where no node is up."""
        choices = np.full((len(keys), self.depth), -1, dtype=np.int64)
        for low, high, alive in self._segments(times):
            if alive:
                depth = min(self.depth, len(alive))
                choices[low:high, :depth] = self.balancer.preference(keys[low:high], alive, depth)
        return choices

    def _read_nodes(self, times, choices) -> np.ndarray:
        """The node each read goes to: the key's first choice, or a random alive node (spray)."""
        if not self.balancer.spray:
            return choices[:, 0].copy()
        read = choices[:, 0].copy()
        draws = self._spray.random(len(read))
        for low, high, alive in self._segments(times):
            if alive:
                read[low:high] = np.asarray(alive)[(draws[low:high] * len(alive)).astype(np.int64)]
        return read

    def _segments(self, times):
        """(first, end, alive nodes) for each stretch of the batch in which the alive set holds."""
        cuts = [0]
        if not self.membership.static:
            changes = self.membership.changes_between(times[0], times[-1])
            cuts += [int(i) for i in np.searchsorted(times, changes, side="left")]
        cuts.append(len(times))
        for low, high in zip(cuts, cuts[1:]):
            if high > low:
                yield low, high, self.membership.alive_at(times[low])

    def _ttls(self, keys) -> np.ndarray | None:
        """Each request's TTL, used if its answer is stored (0: no expiry), or None without TTLs."""
        cluster = self.scenario.cluster
        if not cluster.has_ttl:
            return None
        if isinstance(cluster.ttl, Distribution):
            ttl = cluster.ttl.sample(self._ttl, len(keys))
        else:
            ttl = np.full(len(keys), float(cluster.ttl))
        if self._ttl_by_class:
            classes = key_class(keys)
            for index, value in self._ttl_by_class.items():
                ttl[classes == index] = value
        return ttl


class Draws:
    """One batch of requests and their draws, one entry per request (see RequestDraws).

    choices:      (n, depth) the key's candidate nodes, best first, -1 where no node is up
    read_node:    the node a read is sent to (the first choice, or a random alive node with spray)
    round_trip:   client <-> node seconds; service: backend seconds
    node_service: node worker seconds (None without node queues)
    ttl:          seconds the answer lives if stored, 0 for never (None without TTLs)
    """

    __slots__ = ("batch", "choices", "read_node", "round_trip", "service", "node_service", "ttl")

    def __init__(self, batch, choices, read_node, round_trip, service, node_service, ttl):
        self.batch, self.choices, self.read_node = batch, choices, read_node
        self.round_trip, self.service, self.node_service, self.ttl = round_trip, service, node_service, ttl
