"""The naive model's fleet: its nodes coming and going, resized, warmed, the plain way.

Part of the oracle (sim/naive.py), and like it forbidden to import the fast
model's fleet code (sim/fleet_model.py): what a row of the schedule does to
a node, the pre-copy warm-up and the entries a change leaves behind are
written again here, node by node and key by key, from what the two models
are given (the schedule's rows, sim/membership.py; rankings and read
targets, sim/routing.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING

import numpy as np

from sim.metrics import fleet_row
from sim.vocabulary import PRECOPY

if TYPE_CHECKING:  # (the naive model imports this module: its names are for the checker only)
    import simpy

    from policies.base import Key
    from sim.membership import FleetRow, FleetState, Membership
    from sim.naive import _Node
    from sim.routing import Routing
    from sim.scenario import Warmup


class NaiveFleet:
    """Applies the schedule's rows to the naive model's nodes and keeps fleet.csv's rows.

    `stored(index, key)`: the naive model's follow-up of a store (expiry process, eviction burst).
    """

    def __init__(
        self,
        env: simpy.Environment,
        nodes: list[_Node],
        capacities: list[int],
        routing: Routing,
        catalogue: np.ndarray | None,
        warmup: Warmup,
        stored: Callable[[int, Key], None],
    ):
        self.env, self.nodes, self.capacities = env, nodes, capacities
        self.routing, self.catalogue, self.warmup, self.stored = routing, catalogue, warmup, stored
        self.log: list[dict] = []

    def process(self, membership: Membership) -> Generator[simpy.Event, object, None]:
        """A SimPy process: each instant's rows, one after the other."""
        for when, rows in membership.transitions():
            yield self.env.timeout(when - self.env.now)
            for row in rows:
                self.apply(row)

    def apply(self, row: FleetRow) -> None:
        left_behind = self.orphans(row) if row.kind in ("add", "remove") else 0
        # (a fleet that changes has a catalogue sample: None only for a static one, which has no rows)
        moved = self.routing.moved_share(self.catalogue, row.before, row.after)  # type: ignore[arg-type]
        for node in row.nodes:
            cache = self.nodes[node]
            if row.kind in ("remove", "down"):
                cache.fail(self.capacities[node])
            elif row.kind == "capacity":
                self.capacities[node] = row.capacity
                cache.policy.resize(row.capacity)
            elif row.kind == "up":
                cache.up = True
            else:  # add: a fresh node at the fleet's capacity, up unless its id is in an outage
                self.capacities[node] = row.capacity
                cache.fail(row.capacity)
                cache.up = node in row.after.up
        if self.warmup.strategy == PRECOPY and row.kind in ("add", "up"):
            for node, since in zip(row.nodes, row.since):
                if self.nodes[node].up:
                    self.precopy(node, math.floor(self.warmup.copy_rate * (row.time - since)), row.after)
        self.log.append(fleet_row(row, moved, left_behind))

    def precopy(self, index: int, budget: int, state: FleetState) -> None:
        """Copy the hottest live entries of the keys `index` will serve, holders taken in turn by rank."""
        now = self.env.now
        offers: list[list[tuple[Key, int]]] = []  # per holder, its entries for `index`, hottest first
        for holder, cache in enumerate(self.nodes):
            if holder == index or not cache.up:
                continue
            mine = []
            for key in reversed(cache.policy.keys()):
                target = self.routing.targets(np.array([key]), self.routing.rank(np.array([key]), state), state)[0]
                if target == index and cache.live(key, now):
                    mine.append((key, holder))
            offers.append(mine)
        chosen: list[tuple[Key, int]]
        taken: set[Key]
        chosen, taken, room = [], set(), self.nodes[index].policy.capacity
        rank = 0
        while len(chosen) < budget and any(rank < len(offer) for offer in offers):
            for offer in offers:
                if rank >= len(offer) or offer[rank][0] in taken:
                    continue
                key, holder = offer[rank]
                units = self.nodes[holder].entries[key].size if self.nodes[holder].count_bytes else 1
                if len(chosen) == budget or units > room:
                    budget = len(chosen)  # the copy stops here
                    break
                chosen.append((key, holder))
                taken.add(key)
                room -= units
            rank += 1
        for key, holder in chosen[::-1]:
            if self.nodes[index].store_copy(key, now, self.nodes[holder].entries[key]):
                self.stored(index, key)

    def orphans(self, row: FleetRow) -> int:
        """Entries on nodes up on both sides of `row` whose key they owned before it and not after."""
        before, after = self.routing.routing_set(row.before), self.routing.routing_set(row.after)
        if not self.routing.owns_keys or before == after:
            return 0
        count = 0
        for node in row.before.up:
            if node not in row.after.up:
                continue
            for key in self.nodes[node].policy.keys():
                homes_before = set(self.routing.homes(np.array([key]), before)[0].tolist())
                homes_after = set(self.routing.homes(np.array([key]), after)[0].tolist())
                count += node in homes_before and node not in homes_after
        return count
