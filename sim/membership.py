"""Which nodes serve, over time: the fleet's plan, rolling restarts, scheduled outages, random failures.

All of it is a schedule known in advance (random failures are drawn from the
seed, per node id, as alternating exponential up and down times; rolling
restarts are planned walk by walk, sim/fleet.py), so a batch of requests can
be routed in one vectorized call per stretch of time in which the fleet does
not change, and both models are given the same schedule.

At any time a node id is absent, provisioning (taken, not serving), a
member that is up, or a member that is down (in an outage: a failure or a
restart).  An outage counts only while its id is a member.  `state_at(t)`
gives the members and the members up; `transitions()` gives, at each time
the fleet may change, its rows (FleetRow): what changed (add, remove, down, up,
capacity), for which ids, why, and the state before and after.  Changes at
one instant are taken in the order remove, up, down, capacity, add, each row
seeing the state the rows before it left (so a rolling restart without a gap
reads "node 1 up, node 2 down", never two nodes down at once).

With a reactive autoscaler the future is not known: it decides at ticks.
Nothing is drawn beyond `limit` (its next tick, raised by `known_until`
once it has decided there); a decision (`decided`) goes into the plan and
drops the states cached from before it; `rows_at` gives an instant's rows
step by step, so that the models can ask again after a decision at a tick.

A long run can hold many outages (the limit in experiments/config/limits.py
allows a hundred thousand changes), so no question here scans them all: each
node keeps its outages sorted by start, with the running maximum of their
ends (scheduled outages may overlap), and "is node n down at t" is one
bisection.  Random failures and restart walks are drawn ahead in growing
steps (each node's own stream, so how far ahead they are drawn never changes
what is drawn).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from sim.fleet import Change, FleetPlan, RestartWalk, RestartWalks, Stint
from sim.scenario import ClusterSpec, Outage
from workloads.rng import rng_for

ABSENT, PENDING, UP, DOWN = "absent", "provisioning", "up", "down"

#: the order of the rows of one instant
ROW_ORDER = ("remove", "up", "down", "capacity", "add")


class _NodeOutages:
    """One node's outages, by start time, and the latest end among those started so far."""

    def __init__(self) -> None:
        self.starts: list[float] = []
        self.ends_so_far: list[float] = []  # max(up_at) over outages[0..i]: covers overlaps

    def add(self, down_at: float, up_at: float) -> None:
        """Add an outage; random failures come in order, so this is an append but for a scheduled
        outage that starts after them."""
        index = bisect.bisect_right(self.starts, down_at)
        self.starts.insert(index, down_at)
        self.ends_so_far.insert(index, up_at)
        for i in range(index, len(self.starts)):  # the running maximum, from the new entry on
            self.ends_so_far[i] = max(self.ends_so_far[i], self.ends_so_far[i - 1] if i else -math.inf)

    def down_at(self, t: float) -> bool:
        index = bisect.bisect_right(self.starts, t) - 1
        return index >= 0 and t < self.ends_so_far[index]


@dataclass(frozen=True)
class FleetState:
    """The fleet at an instant: the member ids, and those of them that are up (both sorted)."""

    members: tuple[int, ...]
    up: tuple[int, ...]


@dataclass(frozen=True)
class FleetRow:
    """One change of the fleet (a row of fleet.csv, with what the models need to apply it).

    kind:     add, remove, down, up or capacity; nodes: the ids it concerns
    reason:   planned, restart, failure (an autoscaler adds scale_out, scale_in, schedule)
    before, after: the FleetState around this row
    capacity: a capacity row's new capacity, or the capacity an add's nodes join with
    since:    per node: when an added node was decided (it provisioned since), when a returning
              node went down (0 for other kinds)
    signal:   the autoscaler's signal that decided an add or a remove (None: not decided so)
    """

    time: float
    kind: str
    nodes: tuple[int, ...]
    reason: str
    before: FleetState
    after: FleetState
    capacity: int = 0
    since: tuple[float, ...] = ()
    signal: float | None = None

    @property
    def serving(self) -> int:
        return len(self.after.up)


class Membership:
    """The schedule of the fleet: who is a member, who is up, and when that changes (module docstring)."""

    def __init__(
        self,
        nodes: int,
        failures: Iterable[Outage] = (),
        mtbf_s: float = 0.0,
        mttr_s: float = 0.0,
        seed: int = 0,
        cluster: ClusterSpec | None = None,
    ):
        cluster = cluster or ClusterSpec(nodes=nodes)
        self.plan = FleetPlan.of(cluster)
        self.outages: list[Outage] = list(failures)  # the scheduled ones, and the random ones drawn so far
        self.mtbf_s, self.mttr_s, self.seed = float(mtbf_s), float(mttr_s), seed
        self._failures: dict[int, _NodeOutages] = {}
        self._restarts: dict[int, _NodeOutages] = {}
        self._rngs: dict[int, np.random.Generator] = {}
        self._next_failure: dict[int, float] = {}
        self._walks = RestartWalks(cluster.restarts, self.plan, seed) if cluster.restarts else None
        self.walks: list[RestartWalk] = []  # the restart walks begun so far
        self.autoscale = cluster.autoscale
        # With a reactive autoscaler nothing is known beyond its next tick, where it may decide
        # (`decided`); without one, everything is.
        self.limit = self.autoscale.window_s if self.autoscale is not None and self.autoscale.reactive else math.inf
        self._walk_statuses: dict | None = None  # rows_at's view: each id's status after the rows so far
        self._down_since: dict = {}
        self._down_reason: dict = {}
        self._known_until = 0.0
        self._changes: list[float] = []
        self._states: dict[float, FleetState] = {}
        self._ensure_nodes()
        for outage in sorted(self.outages, key=lambda o: o.down_at):
            self._failures[outage.node].add(outage.down_at, outage.up_at)
        self._merge([o.down_at for o in self.outages] + [o.up_at for o in self.outages] + self.plan.times())

    @classmethod
    def of(cls, cluster: ClusterSpec, seed: int) -> Membership:
        return cls(cluster.nodes, cluster.failures, cluster.mtbf_s, cluster.mttr_s, seed, cluster)

    @property
    def static(self) -> bool:
        """True when every node is a member and up all the time."""
        return (
            not self.outages
            and not self.mtbf_s
            and not self._walks
            and not self.plan.changes
            and self.autoscale is None
        )

    @property
    def ids(self) -> int:
        return self.plan.ids

    # -- drawing ahead ---------------------------------------------------------------------
    def _ensure_nodes(self) -> None:
        """Outage books (and, with random failures, a stream) for every id the plan has taken."""
        for node in range(self.plan.ids):
            if node not in self._failures:
                self._failures[node], self._restarts[node] = _NodeOutages(), _NodeOutages()
                if self.mtbf_s:
                    self._rngs[node] = rng = rng_for(self.seed, f"failures.node{node}")
                    self._next_failure[node] = rng.exponential(self.mtbf_s)

    def _merge(self, times: Iterable[float]) -> None:
        finite = [t for t in times if math.isfinite(t)]
        if finite:  # two sorted runs (the known times, the new ones): Timsort merges them in linear time
            self._changes = sorted(set(self._changes).union(finite))

    def _frontier(self) -> float:
        """The earliest time at which something not drawn yet may happen."""
        walk = self._walks.next_start if self._walks else math.inf
        return min([*self._next_failure.values(), self.plan.next_planned_at(), walk])

    def _extend(self, horizon: float) -> None:
        """Draw everything (plan, restart walks, random failures) that begins at or before `horizon`
        (never beyond `limit`: what an autoscaler has not decided yet is not known)."""
        horizon = min(horizon, self.limit)
        if horizon <= self._known_until and self._frontier() > horizon:
            return
        times = []
        self.plan.advance(horizon)
        self._ensure_nodes()
        times += self.plan.times()
        while self._walks is not None and self._walks.next_start <= horizon:
            walk = self._walks.take()
            self.walks.append(walk)
            for node, down, up in walk.outages:
                self._restarts[node].add(down, up)
                times += [down, up]
        for node, rng in self._rngs.items():
            while self._next_failure[node] <= horizon:
                down = self._next_failure[node]
                up = down + rng.exponential(self.mttr_s)
                self.outages.append(Outage(node, down, up))
                self._failures[node].add(down, up)
                times += [down, up]
                self._next_failure[node] = up + rng.exponential(self.mtbf_s)
        self._known_until = max(self._known_until, horizon)
        self._merge(times)

    def decided(self, change: Change, reason: str, signal: float) -> tuple[int, ...]:
        """An autoscaler's change at a tick (sim/fleet.py's FleetPlan.apply): its ids.  Known from now on,
        (`known_until` then says how far the fleet is known)."""
        ids = self.plan.apply(change, reason, signal)
        self._ensure_nodes()
        self._states.clear()  # states at the tick and after were read before the decision
        self._merge(self.plan.times())
        return ids

    def known_until(self, tick: float) -> None:
        """A reactive autoscaler decided (or not) at every tick before `tick`: the fleet is known up to it."""
        self.limit = max(self.limit, tick)

    def next_change_until(self, t: float, limit: float) -> float | None:
        """The first time in (t, limit] at which the fleet may change, or None (for a reactive fleet,
        whose later changes are not known yet)."""
        self._extend(limit)
        index = bisect.bisect_right(self._changes, t)
        if index < len(self._changes) and self._changes[index] <= limit:
            return self._changes[index]
        return None

    # -- the state at an instant ------------------------------------------------------------
    def status(self, node: int, t: float) -> str:
        stint = self.plan.stint_at(node, t)
        if stint is None:
            return ABSENT
        if t < stint.joins:
            return PENDING
        down = self._failures[node].down_at(t) or self._restarts[node].down_at(t)
        return DOWN if down else UP

    def state_at(self, t: float) -> FleetState:
        """The members and the members up at time t (an outage covers [down_at, up_at))."""
        self._extend(t)
        state = self._states.get(t)
        if state is None:
            statuses = [self.status(n, t) for n in range(self.plan.ids)]
            state = FleetState(
                tuple(n for n, s in enumerate(statuses) if s in (UP, DOWN)),
                tuple(n for n, s in enumerate(statuses) if s == UP),
            )
            if len(self._states) > 4096:
                self._states.clear()
            self._states[t] = state
        return state

    def alive_at(self, t: float) -> tuple:
        """The members up at time t."""
        return self.state_at(t).up

    # -- when it changes ----------------------------------------------------------------------
    def changes_between(self, start: float, end: float) -> list[float]:
        """Times in (start, end] at which the fleet may change."""
        self._extend(end)
        low = bisect.bisect_right(self._changes, start)
        high = bisect.bisect_right(self._changes, end)
        return self._changes[low:high]

    def next_change_after(self, t: float) -> float | None:
        """The first time after t at which the fleet may change (None: never again)."""
        while True:
            index = bisect.bisect_right(self._changes, t)
            known = self._changes[index] if index < len(self._changes) else math.inf
            frontier = self._frontier()
            if known < frontier:
                return known
            if frontier == math.inf:
                return None
            # Draw ahead in growing steps: one failure at a time would cost a merge per change.
            self._extend(max(frontier, 2.0 * self._known_until))

    def change_times(self) -> Iterator[float]:
        """The times at which the fleet may change, in order; endless with random failures or restarts."""
        when = self.next_change_after(0.0)
        while when is not None:
            yield when
            when = self.next_change_after(when)

    def previous_change(self, t: float) -> tuple[float, FleetState] | None:
        """The latest instant at or before t at which the members or the members up changed, and the
        state just before it; None if they never changed by t."""
        self._extend(t)
        index = bisect.bisect_right(self._changes, t) - 1
        state = self.state_at(t)
        while index >= 0:
            before = self.state_at(self._changes[index - 1] if index else 0.0)
            if before != state:
                return self._changes[index], before
            index -= 1
        return None

    def arrivals_between(self, start: float, end: float) -> list[tuple[float, int, FleetState]]:
        """(time, node, state just before) for each node that started serving (joined, or came back up)
        in (start, end], in time order."""
        found = []
        for when in self.changes_between(start, end):
            index = bisect.bisect_left(self._changes, when)
            before = self.state_at(self._changes[index - 1] if index else 0.0)
            for node in sorted(set(self.state_at(when).up) - set(before.up)):
                found.append((when, node, before))
        return found

    # -- the rows -----------------------------------------------------------------------------
    def transitions(self) -> Iterator[tuple[float, list[FleetRow]]]:
        """(time, rows) at each instant the fleet may change, in time order (module docstring).

        The rows are empty where nothing changed after all (a node down again as it comes back: a
        lone node whose restarts follow each other without a gap).  Such instants are given too: a
        search for the next instant that changes something could go on for ever (that lone node never
        comes back), and the SimPy process that reads these waits for each instant in turn.
        """
        for when in self.change_times():
            yield when, self.rows_at(when)

    def rows_at(self, when: float) -> list[FleetRow]:
        """The rows that take the fleet from what the rows so far left to its state at `when` (called
        in time order; called again at the same time after an autoscaler's decision there, the rows
        of that decision)."""
        if self._walk_statuses is None:
            self._walk_statuses = {n: self.status(n, 0.0) for n in range(self.plan.ids)}
            self._down_since = {n: 0.0 for n, s in self._walk_statuses.items() if s == DOWN}
        statuses, down_since, down_reason = self._walk_statuses, self._down_since, self._down_reason
        rows = []
        new = {n: self.status(n, when) for n in range(self.plan.ids)}
        state = _state(statuses)
        for kind in ROW_ORDER:
            for reason, nodes, capacity, since, signal in self._changed(
                kind, when, statuses, new, down_since, down_reason
            ):
                for node in nodes:
                    statuses[node] = new.get(node, ABSENT) if kind != "capacity" else statuses[node]
                after = _state(statuses)
                rows.append(FleetRow(when, kind, nodes, reason, state, after, capacity, since, signal))
                state = after
        statuses.update(new)
        return rows

    def _changed(
        self,
        kind: str,
        when: float,
        old: dict[int, str],
        new: dict[int, str],
        down_since: dict[int, float],
        down_reason: dict[int, str],
    ) -> Iterator[tuple[str, tuple[int, ...], int, tuple[float, ...], float | None]]:
        """The rows of one kind at instant `when`: (reason, nodes, capacity, since) each."""
        nodes: Sequence[int]
        serving = (UP, DOWN)
        if kind == "remove":
            nodes = tuple(n for n in sorted(old) if old[n] in serving and new.get(n) not in serving)
            left = {n: self._stint_left(n, when) for n in nodes}
            for why in sorted(set(left.values()), key=_by_reason):
                yield why[0], tuple(n for n in nodes if left[n] == why), 0, (), why[1]
        elif kind == "down":
            nodes = [n for n in sorted(old) if old[n] == UP and new.get(n) == DOWN]
            for n in nodes:
                down_since[n] = when
                down_reason[n] = "restart" if self._restarts[n].down_at(when) else "failure"
            for reason in ("failure", "restart"):
                group = tuple(n for n in nodes if down_reason[n] == reason)
                if group:
                    yield reason, group, 0, (), None
        elif kind == "capacity":
            for change in self.plan.capacities:
                if change.at_s == when:
                    nodes = tuple(n for n in change.nodes if new.get(n) in serving)
                    if nodes:
                        yield change.reason, nodes, change.capacity, (), None
        elif kind == "up":
            nodes = [n for n in sorted(old) if old[n] == DOWN and new.get(n) == UP]
            for reason in ("failure", "restart"):
                group = tuple(n for n in nodes if down_reason.get(n, "failure") == reason)
                if group:
                    yield reason, group, 0, tuple(down_since.get(n, 0.0) for n in group), None
        else:  # add
            nodes = [n for n in sorted(new) if new[n] in serving and old.get(n, ABSENT) not in serving]
            for n in nodes:
                if new[n] == DOWN:
                    down_since[n] = when
            # an added node is in a stint (it was just added): never None here
            stints: dict[int, Stint] = {n: self.plan.stint_at(n, when) for n in nodes}  # type: ignore[misc]
            joined = {n: (s.reason, s.signal) for n, s in stints.items()}
            for why in sorted(set(joined.values()), key=_by_reason):
                group = tuple(n for n in nodes if joined[n] == why)
                joins_with = self.plan.fleet_capacity_at(when)
                yield why[0], group, joins_with, tuple(stints[n].decided for n in group), why[1]

    def _stint_left(self, node: int, when: float) -> tuple:
        """(why `node` left at `when`, the autoscaler's signal that decided it)."""
        stint = self.plan.stint_at(node, math.nextafter(when, -math.inf))
        return (stint.left, stint.left_signal) if stint is not None else ("planned", None)

    # -- what the schedule says about cost and restarts ---------------------------------------
    def cost(self, start: float, end: float) -> tuple[float, float]:
        """(node-seconds, capacity-seconds) of the fleet provisioned over [start, end] (sim/fleet.py)."""
        self._extend(end)
        return self.plan.cost(start, end)

    def restart_windows(self, down_s: float, until: float) -> list[tuple[int, float, float]]:
        """(restart index, first down, last up + down_s) of each rolling restart begun by `until`."""
        self._extend(until)
        return [(walk.index, walk.start, walk.last_up + down_s) for walk in self.walks if walk.start <= until]


def _by_reason(why: tuple[str, float | None]) -> tuple[str, bool, float]:
    """Rows of one kind at one instant go by reason, then by signal (None first)."""
    reason, signal = why
    return reason, signal is not None, signal or 0.0


def _state(statuses: dict[int, str]) -> FleetState:
    return FleetState(
        tuple(n for n in sorted(statuses) if statuses[n] in (UP, DOWN)),
        tuple(n for n in sorted(statuses) if statuses[n] == UP),
    )
