"""What the fast model does when the fleet changes: its rows applied, warm-ups, entries left behind.

sim/membership.py gives the model, at each instant the fleet changes, its
rows (add, remove, down, up, capacity); this mixin of sim/model.py's Model
applies them, the fast model's way (the naive model, sim/naive.py, has its
own), and keeps fleet.csv's rows:

* remove: the node leaves, its cache dropped; down: it loses everything and
  is out until it comes back cold (up); add: an id joins cold, at the
  fleet's capacity (or down, if its id is in an outage); capacity: the
  node's policy resizes at once (sim/node.py), also while it is down;
* with the pre-copy warm-up, a node that starts serving (an add after a
  provisioning delay, an up after an outage) is first filled with up to
  copy_rate x (those seconds) entries of the keys it will serve, taken from
  the nodes that hold them now, hottest first (the reverse of each holder's
  keys() order), holders interleaved by rank (their first, then their
  second, ...), a key once, while the entries fit its capacity; they go in
  coldest first with their expiry and stamps.  It is a snapshot at the
  serving time, an approximation of a copy spread over the delay;
* the read-through warm-up is in the request loop (Model._read_through);
* a reactive autoscaler's ticks (sim/autoscale.py) run in the same process
  as the rows, after an instant's rows: the signal from the window
  (`_signal_batch` feeds it), the decision (`_decide`), then its rows;
* each row's `moved_share` comes from the routing (sim/routing.py), and
  `orphaned` counts the entries a membership change (add, remove) leaves on
  the nodes that stay up but no longer own their keys (they take space until
  evicted; a leaving node's entries are dropped with it).  Outages (down,
  up) are not counted there: after a return the nodes that covered for it
  still hold some of its keys, as any client-side rehashing cluster does.
"""

from __future__ import annotations

import math
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from sim.autoscale import SCALE_IN, SCALE_OUT, wants
from sim.membership import FleetRow, FleetState
from sim.metrics import fleet_row
from sim.scenario import Change
from sim.vocabulary import PRECOPY, WRITE

if TYPE_CHECKING:
    import simpy

    from policies.base import Key
    from sim.autoscale import SignalWindow
    from sim.draws import Draws
    from sim.membership import Membership
    from sim.node import CacheNode
    from sim.routing import Routing
    from sim.scenario import Scenario

#: the rows whose entries left behind are counted (module docstring)
ORPHAN_KINDS = ("add", "remove")


class FleetChanges:
    """Model's part that applies the fleet's rows (module docstring); it needs Model's attributes."""

    if TYPE_CHECKING:  # Model's (sim/model.py), which this part works on
        env: simpy.Environment
        scenario: Scenario
        membership: Membership
        routing: Routing
        catalogue: np.ndarray | None
        ids: int
        nodes: list[CacheNode]
        capacity_of: list[int]
        fleet_log: list[dict]
        signals: SignalWindow | None

        def _set_up(self, index: int, up: bool) -> None: ...

        def _fail(self, index: int) -> None: ...

        def _stored(self, target: int, key: Key, now: float, written: bool = False) -> None: ...

    def _fleet_changes(self) -> Generator[simpy.Event, object, None]:
        """A SimPy process: the fleet as it is at time 0, then each instant's rows in turn (and, with a
        reactive autoscaler, its ticks: `_ticks`)."""
        initial = self.membership.state_at(0.0)
        for index in range(self.ids):
            self._set_up(index, index in initial.up)
        if self.signals is not None:
            yield from self._ticks()
            return
        for when, rows in self.membership.transitions():
            yield self.env.timeout(when - self.env.now)
            for row in rows:
                self._apply_row(row)

    # -- the reactive autoscaler (sim/autoscale.py) -------------------------------------------------
    def _ticks(self) -> Generator[simpy.Event, object, None]:
        """The schedule's rows up to each tick, then the tick's decision and its rows (a removal's at
        once); the schedule is known only up to the next tick."""
        autoscale, membership = self.scenario.cluster.autoscale, self.membership
        assert autoscale is not None  # (ticks run for a reactive autoscaler only)
        tick = round(autoscale.window_s / autoscale.interval_s)  # the first tick whose window is in the run
        self._last_decision = -math.inf
        while True:
            at = tick * autoscale.interval_s
            when = membership.next_change_until(self.env.now, at)
            if when is not None:
                yield self.env.timeout(when - self.env.now)
                for row in membership.rows_at(when):
                    self._apply_row(row)
                continue
            yield self.env.timeout(at - self.env.now)
            self._decide(tick, at)
            for row in membership.rows_at(at):
                self._apply_row(row)
            tick += 1
            membership.known_until(tick * autoscale.interval_s)

    def _signal_batch(
        self,
        draws: Draws,
        flags: npt.NDArray[np.uint8],
        latency: npt.NDArray[np.float64],
        node_busy: npt.NDArray[np.float64] | None,
    ) -> None:
        """The autoscaler's window hears a walked batch: its arrivals, and the reads whose latency is known."""
        assert self.signals is not None  # (called with a reactive autoscaler only)
        batch = draws.batch
        zeros = np.zeros(len(batch))
        self.signals.arrived(batch.time, flags, draws.service, zeros if node_busy is None else node_busy)
        reads = ((flags & WRITE) == 0) & ~np.isnan(latency)
        for arrival, value in zip(batch.time[reads].tolist(), latency[reads].tolist()):
            self.signals.completed(arrival + value, value)

    def _decide(self, tick: int, at: float) -> None:
        """At a tick: read the signal, and add or remove nodes if it is out of its band, the bounds allow
        and the cooldown is over (sim/autoscale.py's module docstring)."""
        autoscale, plan = self.scenario.cluster.autoscale, self.membership.plan
        assert autoscale is not None and self.signals is not None  # (ticks run for a reactive autoscaler only)
        value = self.signals.value(tick, self._serving())
        if value is None or at - self._last_decision < autoscale.cooldown_s:
            return
        direction = wants(autoscale, value)
        taken, members = plan.taken_at(at), sorted(plan.members_at(at))
        if direction > 0:
            count = min(autoscale.step, autoscale.max_nodes - len(taken))
            change = Change(at, add=count, provision_s=autoscale.provision_s)
        elif direction < 0:
            count = min(autoscale.step, len(taken) - autoscale.min_nodes, len(members) - 1)
            change = Change(at, remove=tuple(members[len(members) - count :]))
        else:
            return
        if count > 0:
            self.membership.decided(change, SCALE_OUT if direction > 0 else SCALE_IN, value)
            self._last_decision = at

    def _apply_row(self, row: FleetRow) -> None:
        orphaned = self._orphans(row) if row.kind in ORPHAN_KINDS else 0
        # (a fleet that changes has a catalogue sample: None only for a static one, which has no rows)
        moved = self.routing.moved_share(self.catalogue, row.before, row.after)  # type: ignore[arg-type]
        for node in row.nodes:
            if row.kind == "remove":
                self._leave(node)
            elif row.kind == "down":
                self._fail(node)
            elif row.kind == "capacity":
                self._resize(node, row.capacity)
            elif row.kind == "up":
                self._set_up(node, True)
            else:
                self._join(node, row.capacity, node in row.after.up)
        if self.scenario.cluster.warmup.strategy == PRECOPY and row.kind in ("add", "up"):
            rate = self.scenario.cluster.warmup.copy_rate
            for node, since in zip(row.nodes, row.since):
                if node in row.after.up:
                    self._precopy(node, int(rate * (row.time - since)), row.after)
        self.fleet_log.append(fleet_row(row, moved, orphaned))

    # -- a node's part in a change (the compiled model has its own) -------------------------------
    def _serving(self) -> int:
        """The members up now (the gutter pool aside)."""
        return sum(1 for cache in self.nodes[: self.ids] if cache.up)

    def _cached_keys(self, index: int) -> list:
        """The keys node `index` holds now, in its policy's keys() order."""
        return self.nodes[index].policy.keys()

    def _leave(self, index: int) -> None:
        self._fail(index)

    def _join(self, index: int, capacity: int, up: bool) -> None:
        self.capacity_of[index] = capacity
        self.nodes[index].clear(capacity)
        self._set_up(index, up)

    def _resize(self, index: int, capacity: int) -> None:
        self.capacity_of[index] = capacity
        self.nodes[index].resize(capacity)

    # -- pre-copy ---------------------------------------------------------------------------------
    def _precopy(self, index: int, budget: int, state: FleetState) -> None:
        """Fill a node that starts serving with copies of its keys' entries (module docstring)."""
        if budget < 1:
            return
        now, capacity = self.env.now, self._capacity(index)
        # per holder: (holder, its keys that `index` will serve, hottest first)
        ranked: list[tuple[int, list[int]]] = []
        for holder in self._holders(index):
            keys = np.fromiter(reversed(self._cached_keys(holder)), dtype=np.int64)
            routing = self.routing
            keys = keys[routing.targets(keys, routing.rank(keys, state, routing.target_depth), state) == index]
            ranked.append((holder, [k for k in keys.tolist() if self._live(holder, k, now)]))
        picked: list[tuple[int, int, int]]
        seen: set[int]
        picked, seen, units = [], set(), 0
        for holder, key in _by_rank(ranked):
            if key in seen:
                continue
            size = self._entry_size(holder, key)
            if len(picked) == budget or units + size > capacity:
                break
            picked.append((holder, key, size))
            seen.add(key)
            units += size
        for holder, key, size in reversed(picked):  # coldest first
            self._copy(holder, index, key, size, now)

    # -- what pre-copy asks of the nodes (the compiled model has its own) ---------------------------
    def _holders(self, index: int) -> list[int]:
        """The nodes a pre-copy into `index` may copy from: the others up that hold something."""
        return [holder for holder, cache in enumerate(self.nodes) if holder != index and cache.up and len(cache.policy)]

    def _capacity(self, index: int) -> int:
        return self.nodes[index].policy.capacity

    def _live(self, holder: int, key: Key, now: float) -> bool:
        return self.nodes[holder].live(key, now)

    def _copy(self, holder: int, index: int, key: Key, size: int, now: float) -> None:
        """Store a copy of `holder`'s entry of `key` on node `index`, its expiry and stamp with it."""
        source = self.nodes[holder]
        copied = self.nodes[index].fill_copy(
            key, size, now, source.expires_at.get(key), source.ttl_of.get(key), source.stamps.get(key)
        )
        if copied:
            self._stored(index, key, now)

    def _entry_size(self, holder: int, key: Key) -> int:
        """The units an entry takes: its size with a byte capacity, else 1."""
        sizes = self.nodes[holder].sizes
        return sizes[key] if sizes is not None else 1

    # -- entries left behind ------------------------------------------------------------------------
    def _orphans(self, row: FleetRow) -> int:
        """Entries on the nodes up before and after `row` that they owned before it and not after."""
        routing = self.routing
        before, after = routing.routing_set(row.before), routing.routing_set(row.after)
        if not routing.owns_keys or before == after:
            return 0
        count = 0
        for node in sorted(set(row.before.up) & set(row.after.up)):
            keys = np.fromiter(self._cached_keys(node), dtype=np.int64)
            if len(keys):
                owned_before = (routing.homes(keys, before) == node).any(axis=1)
                owned_after = (routing.homes(keys, after) == node).any(axis=1)
                count += int(np.count_nonzero(owned_before & ~owned_after))
        return count


def _by_rank(ranked: list[tuple[int, list[int]]]) -> Iterator[tuple[int, int]]:
    """(holder, key): every holder's first key, then every holder's second, ..."""
    for rank in range(max((len(keys) for _, keys in ranked), default=0)):
        for holder, keys in ranked:
            if rank < len(keys):
                yield holder, keys[rank]
