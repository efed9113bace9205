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
from sim.scenario import Change
from sim.vocabulary import HIT_RATIO, PRECOPY

if TYPE_CHECKING:  # (the naive model imports this module: its names are for the checker only)
    import simpy

    from policies.base import Key
    from sim.autoscale import SignalWindow
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
        ids: int,
        signals: SignalWindow | None = None,
    ):
        self.env, self.nodes, self.capacities = env, nodes, capacities
        self.routing, self.catalogue, self.warmup, self.stored = routing, catalogue, warmup, stored
        self.ids = ids
        self.log: list[dict] = []
        # A reactive autoscaler: its signals (sim/autoscale.py), the time of its next tick, and an event
        # that fires after each tick (the request source waits on it before routing later requests).
        self.signals = signals
        self.next_tick = math.inf
        self.ticked = env.event()

    def process(self, membership: Membership) -> Generator[simpy.Event, object, None]:
        """A SimPy process: each instant's rows, one after the other."""
        if self.signals is not None:
            yield from self.autoscale(membership)
            return
        for when, rows in membership.transitions():
            yield self.env.timeout(when - self.env.now)
            for row in rows:
                self.apply(row)

    def autoscale(self, membership: Membership) -> Generator[simpy.Event, object, None]:
        """The rows and the ticks of a reactive autoscaler, in time order: at a tick, the schedule's rows
        first, then the decision, then its rows."""
        assert self.signals is not None  # (run for a reactive autoscaler only)
        settings = self.signals.autoscale
        every = settings.interval_s
        tick = round(settings.window_s / every)
        last = None  # when the autoscaler last decided
        while True:
            self.next_tick = tick * every
            when = membership.next_change_until(self.env.now, self.next_tick)
            if when is not None:
                yield self.env.timeout(when - self.env.now)
                for row in membership.rows_at(when):
                    self.apply(row)
                continue
            yield self.env.timeout(self.next_tick - self.env.now)
            now = self.env.now
            if self.decide(membership, tick, now, last):
                last = now
            for row in membership.rows_at(now):
                self.apply(row)
            tick += 1
            membership.known_until(tick * every)
            self.next_tick = tick * every
            done, self.ticked = self.ticked, self.env.event()
            done.succeed()

    def decide(self, membership: Membership, tick: int, now: float, last: float | None) -> bool:
        """One tick's decision, the plain way; whether it changed the fleet."""
        assert self.signals is not None  # (run for a reactive autoscaler only)
        settings = self.signals.autoscale
        up = [index for index in range(self.ids) if self.nodes[index].up]
        value = self.signals.value(tick, len(up))
        if value is None or (last is not None and now - last < settings.cooldown_s):
            return False
        if settings.signal == HIT_RATIO:
            more, fewer = value < settings.low, value > settings.high
        else:
            more, fewer = value > settings.high, value < settings.low
        plan = membership.plan
        provisioning_or_members = len(plan.taken_at(now))
        members = sorted(plan.members_at(now))
        if more and provisioning_or_members < settings.max_nodes:
            count = min(settings.step, settings.max_nodes - provisioning_or_members)
            membership.decided(Change(now, add=count, provision_s=settings.provision_s), "scale_out", value)
            return True
        removable = min(settings.step, provisioning_or_members - settings.min_nodes, len(members) - 1)
        if fewer and removable > 0:
            membership.decided(Change(now, remove=tuple(members[-removable:])), "scale_in", value)
            return True
        return False

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
