"""The fleet's plan: which node ids are members when, at what capacity, and the rolling restarts.

Node ids are StatefulSet-like ordinals.  The first nodes are 0 .. nodes-1;
an added node takes the lowest free id; ``remove = k`` removes the k
highest ids (the newest), ``remove = [ids]`` those ids; a removed id may be
taken again by a later add, and then it is the same name with the same
ring points (a restarted instance), coming back cold.  So the number of ids
a run needs is the most nodes that are ever members (or provisioning) at
once.

An id's time in the fleet is a *stint*: decided at some time, provisioning
(taken, not serving) until it joins, a member until it leaves.  The plan is
applied lazily, change by change as time reaches it (`advance`), so that a
decision taken during the run (an autoscaler's, at a tick) can be applied
in its turn with `apply`, after every planned change before it.  Bad plans
(a fleet shrinking below one node, an id removed that is not there) raise
FleetError, which the config check turns into one line (it plans the whole
run once, up front).

An autoscaler's schedule (sim/autoscale.py's `schedule_changes`, endless
and daily) is merged into the planned changes in time order, a config's
change first at equal times; a reactive autoscaler's decisions come through
`apply` with their reason and signal, which the stints keep for fleet.csv.

Rolling restarts (`RestartWalks`) are planned here too: from the first
restart time, every `every_s`, a walk takes the members of its first moment
in turn (by id, or in a random order drawn per walk from its own stream):
each goes down for `down_s`, the next `gap_s` after the previous is back.
The walk is planned when it begins, so a member removed before its turn
keeps its slot (nothing restarts then: an outage counts only while its id
is a member), and a node added during a walk waits for the next one.  A walk
that would begin before the previous one ended begins when it ends.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from sim.autoscale import SCHEDULED, schedule_changes
from sim.scenario import Change, ClusterSpec, Restarts
from workloads.rng import rng_for


class FleetError(ValueError):
    """A plan no fleet can follow; the message names the change (its index in the plan)."""


@dataclass
class Stint:
    """One id's time in the fleet: provisioning from `decided`, a member from `joins`, until `leaves`."""

    node: int
    decided: float
    joins: float
    leaves: float = math.inf
    reason: str = "planned"  # why it joined: planned, scale_out, schedule (an autoscaler's words)
    left: str = "planned"  # why it left
    signal: float | None = None  # the autoscaler's signal when it decided the join (None: planned)
    left_signal: float | None = None  # and when it decided the leave


@dataclass(frozen=True)
class CapacityChange:
    """At `at_s` the listed ids (all members, and later joins, when `fleet`) get `capacity` units."""

    at_s: float
    nodes: tuple[int, ...]
    capacity: int
    fleet: bool
    reason: str = "planned"


@dataclass
class FleetPlan:
    """The stints of every id and the capacity changes, applied in time order (module docstring)."""

    nodes: int
    capacity: int
    changes: tuple[Change, ...] = ()
    stints: list[Stint] = field(default_factory=list)  # in the order they were decided
    capacities: list[CapacityChange] = field(default_factory=list)  # CapacityChange, in time order
    applied_until: float = -math.inf  # every change at or before this time is applied

    schedule: Iterator | None = None  # endless planned changes of an autoscaler's schedule (sim/autoscale.py)

    def __post_init__(self) -> None:
        self.stints = [Stint(n, 0.0, 0.0) for n in range(self.nodes)]
        self._scheduled = next(self.schedule, None) if self.schedule is not None else None
        self._by_node: dict[int, list[Stint]] = {n: [s] for n, s in enumerate(self.stints)}
        self._planned = sorted(range(len(self.changes)), key=lambda i: self.changes[i].at_s)
        self._next = 0
        self._fleet_capacity = [(0.0, self.capacity)]  # (from time, the fleet's capacity)

    @classmethod
    def of(cls, cluster: ClusterSpec) -> FleetPlan:
        autoscale = cluster.autoscale
        schedule = schedule_changes(autoscale) if autoscale is not None and not autoscale.reactive else None
        return cls(cluster.nodes, cluster.capacity, tuple(cluster.changes), schedule=schedule)

    # -- applying changes ----------------------------------------------------------------
    def advance(self, t: float) -> None:
        """Apply every planned change at or before time t (a schedule's after the config's at one time)."""
        while True:
            planned = self.changes[self._planned[self._next]].at_s if self._next < len(self._planned) else math.inf
            scheduled = self._scheduled.at_s if self._scheduled is not None else math.inf
            if min(planned, scheduled) > t or planned == scheduled == math.inf:
                break
            if planned <= scheduled:
                index = self._planned[self._next]
                self._next += 1
                self._apply(self.changes[index], index)
            else:  # (a scheduled change came from the schedule: neither is None)
                self._apply(self._scheduled, None, SCHEDULED)  # type: ignore[arg-type]
                self._scheduled = next(self.schedule, None)  # type: ignore[arg-type]
        self.applied_until = max(self.applied_until, t)

    def apply(self, change: Change, reason: str = "planned", signal: float | None = None) -> tuple[int, ...]:
        """Apply a change decided at run time (after every planned change up to its time); its ids.
        `signal`: the autoscaler's signal that decided it."""
        self.advance(change.at_s)
        return self._apply(change, None, reason, signal)

    def _apply(
        self, change: Change, index: int | None, reason: str = "planned", signal: float | None = None
    ) -> tuple[int, ...]:
        ids: Sequence[int] | None
        where = f"cluster.changes[{index}]" if index is not None else "a decided change"
        t = change.at_s
        if change.add:  # each new node takes the lowest id free then
            taken = self.taken_at(t)
            free = (n for n in itertools.count() if n not in taken)  # (ids in order: one pass for any number)
            return tuple(self._join(next(free), t, change.provision_s, reason, signal) for _ in range(change.add))
        if change.remove:
            taken = self.taken_at(t)
            if isinstance(change.remove, int):
                ids = sorted(taken)[-change.remove :] if change.remove <= len(taken) else None
                if ids is None:
                    raise FleetError(
                        f"{where}: remove = {change.remove} at {t:g} s, but only {len(taken)} nodes are in the fleet"
                    )
            else:
                ids = sorted(change.remove)
                missing = [n for n in ids if n not in taken]
                if missing:
                    raise FleetError(
                        f"{where}: node {missing[0]} is not in the fleet at {t:g} s (nodes {sorted(taken)})"
                    )
            serving = [n for n in self.members_at(t) if n not in ids]
            if not serving:
                raise FleetError(f"{where}: at {t:g} s the fleet would shrink below one node")
            for node in ids:
                stint = self._by_node[node][-1]
                stint.leaves, stint.left, stint.left_signal = t, reason, signal
            return tuple(ids)
        members = self.members_at(t)
        ids = tuple(sorted(change.nodes)) if change.nodes else tuple(sorted(members))
        strangers = [n for n in ids if n not in members]
        if strangers:
            raise FleetError(f"{where}: node {strangers[0]} is not a member at {t:g} s (members {sorted(members)})")
        self.capacities.append(CapacityChange(t, ids, change.capacity, not change.nodes, reason))
        if not change.nodes:
            self._fleet_capacity.append((t, change.capacity))
        return ids

    def _join(self, node: int, t: float, provision_s: float, reason: str, signal: float | None = None) -> int:
        """Node id `node` (free at t) provisions from t and joins provision_s later."""
        stint = Stint(node, t, t + provision_s, reason=reason, signal=signal)
        self.stints.append(stint)
        self._by_node.setdefault(node, []).append(stint)
        return node

    # -- reading ------------------------------------------------------------------------
    def next_planned_at(self) -> float:
        """The time of the next planned change not applied yet (inf: none)."""
        planned = self.changes[self._planned[self._next]].at_s if self._next < len(self._planned) else math.inf
        return min(planned, self._scheduled.at_s if self._scheduled is not None else math.inf)

    @property
    def ids(self) -> int:
        """Ids taken so far: per-node arrays need this many entries."""
        return max(self._by_node) + 1

    def stint_at(self, node: int, t: float) -> Stint | None:
        """The stint of `node` that has been decided by time t and not left yet, or None."""
        for stint in reversed(self._by_node.get(node, ())):
            if stint.decided <= t:
                return stint if t < stint.leaves else None
        return None

    def taken_at(self, t: float) -> set[int]:
        """Ids provisioning or members at time t (an add takes none of them)."""
        return {n for n in self._by_node if self.stint_at(n, t) is not None}

    def members_at(self, t: float) -> set[int]:
        """Ids that are members (joined, not left) at time t."""
        return {n for n in self._by_node if (s := self.stint_at(n, t)) is not None and s.joins <= t}

    def fleet_capacity_at(self, t: float) -> int:
        index = bisect.bisect_right([start for start, _ in self._fleet_capacity], t) - 1
        return self._fleet_capacity[index][1]

    def capacity_of(self, node: int, t: float) -> int:
        """`node`'s capacity at time t (its stint's join capacity, then the changes since)."""
        stint = self.stint_at(node, t)
        start = stint.joins if stint is not None else t
        capacity = self.fleet_capacity_at(start)
        for change in self.capacities:
            if start < change.at_s <= t and node in change.nodes:
                capacity = change.capacity
        return capacity

    def times(self) -> list[float]:
        """Times at which membership or capacity changes (joins, leaves, capacity changes), sorted."""
        times = {s.joins for s in self.stints if s.joins > 0} | {s.leaves for s in self.stints}
        times |= {c.at_s for c in self.capacities}
        return sorted(t for t in times if math.isfinite(t))

    def cost(self, start: float, end: float) -> tuple[float, float]:
        """(node-seconds, capacity-seconds) provisioned over [start, end]: members and provisioning ids,
        each provisioning one at the capacity it joins with."""
        nodes = capacity = 0.0
        for stint in self.stints:
            low, high = max(start, stint.decided), min(end, stint.leaves)
            if high <= low:
                continue
            nodes += high - low
            edges = [low] + sorted(c.at_s for c in self.capacities if low < c.at_s < high) + [high]
            for a, b in zip(edges, edges[1:]):
                capacity += (b - a) * self.capacity_of(stint.node, max(a, stint.joins))
        return nodes, capacity


def planned_ids(cluster: ClusterSpec) -> int:
    """The node ids a run of this cluster needs: the plan applied to the end (raises FleetError); with an
    autoscaler, the most nodes it may hold at once (its planned changes only change capacities)."""
    if cluster.autoscale is not None:
        return max(cluster.nodes, cluster.autoscale.most_nodes)
    plan = FleetPlan.of(cluster)
    plan.advance(math.inf)
    return plan.ids


@dataclass(frozen=True)
class RestartWalk:
    """One rolling restart: the outages (node, down_at, up_at) of its walk, in order."""

    index: int
    outages: tuple[tuple[int, float, float], ...]

    @property
    def start(self) -> float:
        return self.outages[0][1]

    @property
    def last_up(self) -> float:
        return self.outages[-1][2]


class RestartWalks:
    """The rolling restarts, walk after walk, endless (module docstring).

    A walk is planned only when taken (`take`), from the members of its first moment then, so that an
    autoscaler's decisions before it count; `next_start` says when the next one begins.
    """

    def __init__(self, restarts: Restarts, plan: FleetPlan, seed: int):
        self.restarts, self.plan = restarts, plan
        self.order_rng = rng_for(seed, "cluster.restarts")
        self.next_start, self.index = self._registered(restarts.first_s), 0

    def __iter__(self) -> RestartWalks:
        return self

    def __next__(self) -> RestartWalk:
        return self.take()

    def take(self) -> RestartWalk:
        restarts, begin = self.restarts, self.next_start
        self.plan.advance(begin)
        members = sorted(self.plan.members_at(begin))
        if restarts.order == "random":
            members = [members[i] for i in self.order_rng.permutation(len(members))]
        outages, cursor = [], begin
        for node in members:
            outages.append((node, cursor, cursor + restarts.down_s))
            cursor += restarts.down_s + restarts.gap_s
        walk = RestartWalk(self.index, tuple(outages))
        self.index += 1
        self.next_start = self._registered(max(begin + restarts.every_s, outages[-1][2]))
        return walk

    def _registered(self, start: float) -> float:
        """`start`, or inf (no more walks) once a node's down time no longer registers as time there.

        Beyond about 2**53 times down_s a float64 `start + down_s` is `start` again: that walk and
        every later one would change nothing, and the search for the fleet's next change would go on
        for ever (a run's drain asks for it after its last request).  The config refuses such a
        down_s within the run (experiments/config/fleet_checks.py); this is after it.
        """
        return start if start + self.restarts.down_s > start else math.inf
