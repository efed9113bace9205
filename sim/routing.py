"""Where a key's requests go, given the fleet's state: ranking, failover, the gutter pool, keys moved.

The balancer ranks nodes over the *routing set*.  With failover "rehash"
(the default) that is the members that are up, so a down node's keys go to
the next node of their ranking, as a client with a server list does.  With
"backend" or "gutter" it is every member, up or down: a read goes to the
first node up among its key's first R choices (R = replicas; a dynamic
balancer's candidates, among which it then chooses the nodes up) and, when
none is, straight to the backend (nothing cached) or to the key's gutter
node.

Gutter nodes have the ids after the fleet's (P .. P+G-1); a key's gutter
node is a salted hash of the key modulo G.

What both models are given per request comes from here (sim/draws.py): its
ranked candidates and its read target.  So does what a change of the fleet
does to the catalogue: `moved_share`, the share of the catalogue's keys
whose first choice changed (exact over a catalogue of at most 2**20 keys,
else over a fixed sample of 2**20 of them, spread evenly over each key
class's ids; a balancer hashes ids before it ranks, so any ids serve as
well), and `homes`, the nodes that own a key (its first R choices; a
power-of-two-choices key has two), by which the models count the entries
a change leaves on nodes that no longer own them.

What a change moves, per balancer (tests/sim/test_fleet_routing.py):
consistent hashing (and p2c, bounded loads, which rank on its ring) moves
about 1/(n+1) of the keys when a node joins n others, and exactly the
leaving node's keys when one leaves; rendezvous hashing the same; modulo
moves about n/(n+1) either way; random spray ranks as modulo does (its
ranking decides where fills and written values go; reads go anywhere).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.balancer import Balancer
from sim.membership import FleetState
from sim.vocabulary import REHASH, TO_GUTTER
from workloads.hashing import mix64, stable_id
from workloads.stream import CLASS_SHIFT

if TYPE_CHECKING:  # (reading traces needs pandas: not imported for an annotation)
    from workloads.stream import Workload
    from workloads.traces.workload import TraceWorkload

#: the most catalogue keys a moved share is counted over
CATALOGUE_SAMPLE = 2**20


class Routing:
    """Rankings and read targets for one cluster (module docstring).

    ids: node ids of the fleet (P); gutter: gutter nodes (G, 0 without a pool).
    """

    def __init__(self, balancer: Balancer, failover: str, replicas: int, ids: int, gutter: int = 0):
        self.balancer, self.failover, self.replicas = balancer, failover, replicas
        self.ids, self.gutter = ids, gutter
        self.depth = min(ids, max(replicas, getattr(balancer, "candidates", 1)))
        # Failing over, a read goes to the first node up among the key's first R choices (a dynamic
        # balancer's: among its candidates, which it then chooses from).
        self.width = max(replicas, getattr(balancer, "candidates", 1) if balancer.dynamic else 1)
        self.target_depth = 1 if failover == REHASH else min(self.depth, self.width)  # what targets reads
        self._gutter_salt = stable_id(TO_GUTTER)
        self._first: dict[
            tuple[int, ...], np.ndarray
        ] = {}  # routing set -> first choices of the catalogue sample (a few kept)

    def routing_set(self, state: FleetState) -> tuple[int, ...]:
        """The nodes the balancer ranks over (module docstring)."""
        return state.up if self.failover == REHASH else state.members

    def rank(self, keys: np.ndarray, state: FleetState, depth: int | None = None) -> np.ndarray:
        """(n, depth) candidate nodes per key, best first, -1 where there are fewer nodes to rank."""
        depth = self.depth if depth is None else depth
        choices = np.full((len(keys), depth), -1, dtype=np.int64)
        nodes = self.routing_set(state)
        if nodes:
            ranked = min(depth, len(nodes))
            choices[:, :ranked] = self.balancer.preference(keys, nodes, ranked)
        return choices

    def targets(self, keys: np.ndarray, choices: np.ndarray, state: FleetState) -> np.ndarray:
        """The node each key's read goes to: its first choice up (among R, failing over), else its gutter
        node, else -1 (the backend)."""
        if self.failover == REHASH:
            return choices[:, 0].copy()
        up = np.zeros(self.ids + 1, dtype=bool)  # the last entry answers for -1
        up[list(state.up)] = True
        first = choices[:, : self.width]
        is_up = up[first]
        found = is_up.any(axis=1)
        target = np.where(found, first[np.arange(len(first)), is_up.argmax(axis=1)], -1)
        if self.gutter:
            target = np.where(found, target, self.gutter_of(keys))
        return target

    def gutter_of(self, keys: np.ndarray) -> np.ndarray:
        """Each key's gutter node id (P .. P+G-1)."""
        return self.ids + (
            mix64(np.asarray(keys, dtype=np.int64), salt=self._gutter_salt) % np.uint64(self.gutter)
        ).astype(np.int64)

    # -- what a change moves -------------------------------------------------------------------
    def first_choices(self, keys: np.ndarray, nodes: tuple[int, ...]) -> np.ndarray:
        return self.balancer.preference(keys, nodes, 1)[:, 0] if nodes else np.full(len(keys), -1, dtype=np.int64)

    def moved_share(self, sample: np.ndarray, before: FleetState, after: FleetState) -> float:
        """The share of the catalogue sample whose first choice differs between two states."""
        old, new = self.routing_set(before), self.routing_set(after)
        if old == new or not len(sample):
            return 0.0
        return float(np.count_nonzero(self._cached_first(sample, old) != self._cached_first(sample, new))) / len(sample)

    def _cached_first(self, sample: np.ndarray, nodes: tuple[int, ...]) -> np.ndarray:
        first = self._first.get(nodes)
        if first is None:
            if len(self._first) >= 8:
                self._first.pop(next(iter(self._first)))
            first = self._first[nodes] = self.first_choices(sample, nodes)
        return first

    @property
    def owns_keys(self) -> bool:
        """False for random spray: any node may hold any key, so no entry is ever left behind."""
        return not self.balancer.spray

    def homes(self, keys: np.ndarray, nodes: tuple[int, ...]) -> np.ndarray:
        """(n, k) the nodes that own each key over routing set `nodes`: its first R choices (two for p2c)."""
        own = min(len(nodes), max(self.replicas, 2 if self.balancer.name == "p2c" else 1))
        return self.balancer.preference(keys, nodes, own) if own else np.empty((len(keys), 0), dtype=np.int64)


def catalogue_sample(workload: Workload | TraceWorkload) -> np.ndarray:
    """The catalogue's keys, or a fixed sample of CATALOGUE_SAMPLE of them (module docstring).

    A trace has no catalogue known in advance: its sample is the ids 0 ..
    2**20 - 1, which a balancer's hash spreads as it spreads any keys.
    """
    if not hasattr(workload, "key_classes"):
        return np.arange(CATALOGUE_SAMPLE, dtype=np.int64)
    classes = workload.key_classes()
    sizes = [c.popularity.keys for c in classes]
    total = sum(sizes)
    parts = []
    for index, size in enumerate(sizes):
        count = size if total <= CATALOGUE_SAMPLE else max(1, size * CATALOGUE_SAMPLE // total)
        local = (np.arange(count, dtype=np.int64) * size) // count  # evenly spread over the class's ids
        parts.append((index << CLASS_SHIFT) | local)
    return np.concatenate(parts)
