"""Which node serves a key.

Every balancer ranks the nodes for each key: ``preference(keys, alive, depth)``
returns, per key, the first `depth` alive nodes in the order the balancer
would try them.  The first is the key's home; with replication factor R the
first R hold copies; when a node is down it is simply not in `alive`, so the
next node in the order takes its keys (failover).  Ranking is vectorized over
a batch of keys and uses only stable hashes (workloads/hashing.py), so the
same key lands on the same node in every process.

Two balancers choose per request instead, from the live load: power of two
choices and consistent hashing with bounded loads.  They are `dynamic`
(sim/vocabulary.py lists which are): the model asks them, request by
request, to pick among the ranked candidates.  Each binds its choice's C
twin for the compiled loop in its own class (``make_chooser``: a chooser of
sim/_compiled/balancing.pyx), as a policy binds its kernel.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from sim.vocabulary import BOUNDED, CONSISTENT, DYNAMIC_BALANCERS, MODULO, P2C, RANDOM, RENDEZVOUS
from workloads.hashing import mix64, stable_id

try:
    from sim._compiled.routing import ring_positions
except ImportError:  # not built: numpy's searchsorted finds the same points
    ring_positions = None

#: a ring's lookup table has about this many entries per point (sim/_compiled/routing.pyx)
TABLE_PER_POINT = 8

#: a dynamic balancer's choice in C (sim/_compiled/balancing.pyx: the checker sees no types in C)
Chooser = Any


class Balancer:
    """Base class.  `nodes` is the number of cache nodes, alive or not."""

    name = "balancer"
    #: reads may go to any alive node, not a key's home (no key affinity)
    spray = False

    def __init__(self, nodes: int):
        self.nodes = int(nodes)

    @property
    def dynamic(self) -> bool:
        """Whether it chooses per request from live load (the model calls `choose`)."""
        return self.name in DYNAMIC_BALANCERS

    def make_chooser(self) -> Chooser | None:
        """A dynamic balancer's choice in C (sim/_compiled/balancing.pyx), for the compiled loop; or None.

        Only a class's own make_chooser counts (sim/compiled_model.py checks):
        a subclass may choose otherwise.
        """
        return None

    def preference(self, keys: np.ndarray, alive: tuple, depth: int) -> np.ndarray:
        """(len(keys), depth) node indices: each key's first `depth` alive nodes, best first."""
        raise NotImplementedError

    def route(self, keys: np.ndarray) -> np.ndarray:
        """Each key's home node when every node is up."""
        return self.preference(np.asarray(keys), tuple(range(self.nodes)), 1)[:, 0]


class Modulo(Balancer):
    """node = hash(key) mod N.  Even, but when N changes almost every key moves.

    A down node is removed and the key is re-hashed over the nodes left (the
    j-th choice is the (hash + j)-th alive node), which is what a client
    with a plain server list does.
    """

    name = MODULO

    def preference(self, keys: np.ndarray, alive: tuple[int, ...], depth: int) -> np.ndarray:
        alive_nodes = np.asarray(alive, dtype=np.int64)
        hashed = mix64(keys) % np.uint64(len(alive_nodes))
        offsets = np.arange(depth, dtype=np.uint64)
        return alive_nodes[((hashed[:, None] + offsets[None, :]) % np.uint64(len(alive_nodes))).astype(np.int64)]


class ConsistentHashRing(Balancer):
    """Consistent hashing (Karger et al., STOC 1997) with virtual nodes.

    Each node owns `vnodes` points on a 64-bit ring; a key belongs to the
    first point clockwise from its hash, and its next choices are the owners
    of the following points, skipping repeats.  Adding or removing a node
    moves only the keys of its arcs; with V points per node the share of the
    key space each node owns has a coefficient of variation of about 1/sqrt(V).
    """

    name = CONSISTENT

    def __init__(self, nodes: int, vnodes: int = 160):
        super().__init__(nodes)
        self.vnodes = int(vnodes)
        owners = np.repeat(np.arange(self.nodes, dtype=np.int64), self.vnodes)
        replicas = np.tile(np.arange(self.vnodes, dtype=np.int64), self.nodes)
        points = mix64(owners * self.vnodes + replicas, salt=stable_id("ring"))
        order = np.argsort(points, kind="stable")
        self.points = points[order]
        self.owners = owners[order]
        self._rings: dict[tuple, tuple] = {}
        self._rankings: dict[tuple, np.ndarray] = {}

    def _ring(self, alive: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """The ring's points and owners restricted to alive nodes, with a lookup table (cached per alive set).

        The table: for each value b of a hash's top bits, the index of the
        first point >= b << shift (and len(points) at the end).
        """
        if alive not in self._rings:
            keep = np.isin(self.owners, np.asarray(alive))
            points = self.points[keep]
            bits = min(20, max(1, int(len(points) * TABLE_PER_POINT).bit_length()))
            shift = 64 - bits
            starts = np.arange(2**bits, dtype=np.uint64) << np.uint64(shift)
            first = np.append(np.searchsorted(points, starts, side="left"), len(points)).astype(np.int64)
            self._rings[alive] = (points, self.owners[keep], first, shift)
        return self._rings[alive]

    def positions(self, keys: np.ndarray, alive: tuple[int, ...]) -> np.ndarray:
        """For each key, the index of the first alive point at or after its hash (len(points): wrap around)."""
        points, _, first, shift = self._ring(alive)
        keys = np.ascontiguousarray(keys, dtype=np.int64)
        if ring_positions is None:
            return np.searchsorted(points, mix64(keys), side="left")
        positions = np.empty(len(keys), dtype=np.int64)
        ring_positions(keys, points, first, shift, positions)
        return positions

    def preference(self, keys: np.ndarray, alive: tuple[int, ...], depth: int) -> np.ndarray:
        return self._ranking(alive, depth)[self.positions(keys, alive)]

    def _ranking(self, alive: tuple[int, ...], depth: int) -> np.ndarray:
        """(len(points) + 1, depth): for each position on the alive ring, the first `depth` distinct owners
        clockwise from it; a key's ranking is its position's row (cached per alive set and depth).

        Position len(points) is past the last point: it wraps to the first.  Walking the ring once per
        point, rather than once per key, makes a batch's ranking one gather.
        """
        ranking = self._rankings.get((alive, depth))
        if ranking is None:
            points, owners, _, _ = self._ring(alive)
            slots = np.arange(len(points) + 1, dtype=np.int64)
            ranking = np.full((len(slots), depth), -1, dtype=np.int64)
            ranking[:, 0] = owners[slots % len(points)]
            found = np.ones(len(slots), dtype=np.int64)
            step = 1
            while (found < depth).any():
                candidate = owners[(slots + step) % len(points)]
                fresh = (found < depth) & ~(ranking == candidate[:, None]).any(axis=1)
                rows = np.nonzero(fresh)[0]
                ranking[rows, found[rows]] = candidate[rows]
                found[rows] += 1
                step += 1
            self._rankings[alive, depth] = ranking
        return ranking

    def shares(self) -> np.ndarray:
        """Fraction of the 64-bit key space each node owns (point i owns the arc ending at it)."""
        arcs = np.diff(self.points.astype(np.float64), prepend=self.points[-1].astype(np.float64) - 2.0**64)
        return np.bincount(self.owners, weights=arcs, minlength=self.nodes) / 2.0**64


class Rendezvous(Balancer):
    """Rendezvous or highest-random-weight hashing (Thaler and Ravishankar, 1998).

    Every (key, node) pair gets a pseudo-random score; a key's nodes are
    ranked by score.  A down node's keys spread evenly over all the others,
    and no ring or virtual nodes are needed; the cost is O(N) per key.
    """

    name = RENDEZVOUS

    def preference(self, keys: np.ndarray, alive: tuple[int, ...], depth: int) -> np.ndarray:
        alive_nodes = np.asarray(alive, dtype=np.int64)
        salts = mix64(alive_nodes, salt=stable_id("rendezvous"))
        hashed = mix64(keys)
        rows_per_block = max(1, 4_000_000 // len(alive_nodes))
        chosen = np.empty((len(hashed), depth), dtype=np.int64)
        for start in range(0, len(hashed), rows_per_block):
            block = hashed[start : start + rows_per_block]
            scores = mix64(block[:, None] ^ salts[None, :])
            top = np.argsort(scores, axis=1, kind="stable")[:, ::-1][:, :depth]
            chosen[start : start + rows_per_block] = alive_nodes[top]
        return chosen


class RandomSpray(Modulo):
    """Each request to a uniformly random alive node: perfectly even load, no key affinity.

    Every node ends up caching the whole hot set, so the cluster holds one
    node's worth of distinct keys: the baseline that shows what affinity buys.
    """

    name = RANDOM
    spray = True


class PowerOfTwoChoices(ConsistentHashRing):
    """Power of two choices (Mitzenmacher, 2001): of a key's first two ring nodes, the less busy.

    "Busy" is the number of requests the node has been sent and not yet
    answered.  Hot keys get two homes, and a hot node sheds load to its
    neighbour; the price is a key cached on two nodes.
    """

    name = P2C
    candidates = 2

    def choose(
        self, candidates: list[int], outstanding: Mapping[int, int], total_outstanding: int, alive_count: int
    ) -> int:
        # The first of the (at most two) candidates on a tie; the only one when one node is up.
        return min(candidates, key=outstanding.__getitem__)

    def make_chooser(self) -> Chooser:
        from sim._compiled.balancing import LeastBusy

        return LeastBusy(self.candidates)


class BoundedLoads(ConsistentHashRing):
    """Consistent hashing with bounded loads (Mirrokni, Thorup, Zadimoghaddam, SODA 2018).

    No node may hold more than ceil((1 + epsilon) * average) outstanding
    requests; a request whose home is full walks the ring to the next node
    under the bound.  Keeps consistent hashing's affinity while capping hot
    spots.  The walk looks at most `walk` nodes, then takes the least busy.
    """

    name = BOUNDED
    walk = 16

    def __init__(self, nodes: int, vnodes: int = 160, epsilon: float = 0.25):
        super().__init__(nodes, vnodes)
        self.epsilon = float(epsilon)

    @property
    def candidates(self) -> int:
        return min(self.walk, self.nodes)

    def choose(
        self, candidates: list[int], outstanding: Mapping[int, int], total_outstanding: int, alive_count: int
    ) -> int:
        # The bound counts the arriving request too, so some node is always under it.
        limit = math.ceil((1.0 + self.epsilon) * (total_outstanding + 1) / alive_count)
        for node in candidates:
            if outstanding[node] < limit:
                return node
        return min(candidates, key=outstanding.__getitem__)

    def make_chooser(self) -> Chooser:
        from sim._compiled.balancing import UnderTheBound

        return UnderTheBound(self.candidates, self.epsilon)


#: the balancers by name: every word of sim/vocabulary.py's BALANCERS
BALANCERS = {
    cls.name: cls for cls in (Modulo, ConsistentHashRing, Rendezvous, RandomSpray, PowerOfTwoChoices, BoundedLoads)
}


def make_balancer(name: str, nodes: int, vnodes: int = 160, epsilon: float = 0.25) -> Balancer:
    if name not in BALANCERS:
        raise ValueError(f"unknown balancer {name!r}; valid: {', '.join(sorted(BALANCERS))}")
    if name in (MODULO, RENDEZVOUS, RANDOM):
        return BALANCERS[name](nodes)
    if name == BOUNDED:
        return BoundedLoads(nodes, vnodes, epsilon)
    return BALANCERS[name](nodes, vnodes)  # type: ignore[call-arg]  # the ring ones (consistent, p2c) take vnodes
