"""The fast model with its request loop in C (sim/_compiled), for the built-in policies.

Everything but the loop is sim/model.py's Model: the draws, the SimPy
processes (failures, bulk updates), the recorder.  The loop, the nodes, the
queues and the calendar live in a C Engine, which makes Model's decisions in
Model's order; this driver feeds it a batch at a time, steps SimPy when the
engine stops before a request because SimPy's next event is due first, hands
the latencies known late to the recorder, and carries what SimPy's processes
do (a node going down or up, a bulk update) to the engine.

It runs when the compiled engine is built (and not refused with
KVSIM_ENGINE=python), the cluster's policy has a kernel (a built-in one that
does not need the future, as Belady does; a policy that reads the clock runs
here only with a kernel of its own, told the time: GL-Cache's, not Redis's
or memcached's) and the scenario uses only what the C loop declares
it implements (its engine's IMPLEMENTS, a chooser for a dynamic balancer,
and the living fleet's features, sim/vocabulary.py's FLEET_FEATURES, which
it declares under "fleet"; and the clients' near caches, CLIENT_FEATURES
under "client", whose policy must have a kernel too).  Anything else runs the
Python loop, and ``refusal`` says why.  Choosing builds nothing: it reads the
classes.

The living fleet (sim/fleet_model.py) in the compiled loop.  It runs:
planned adds and removes (``changes``), rolling restarts (``restarts``),
the autoscaler in both modes (``autoscale``), failover to the backend or a
gutter pool (``failover``) and the read-through and pre-copy warm-ups
(``warmup``), capacity changes and batch eviction (``eviction``: the nodes
evict to a size through their kernels' evict_to, a policy whose kernel
cannot yet falls back, saying so).  The split is
the one the design asks for: every change of the fleet happens at an
instant of SimPy's (the schedule's process, and a reactive autoscaler's
ticks, in FleetChanges), where the C loop already hands control back; this
driver applies the rows with FleetChanges' own code (routing, moved shares,
orphans, the autoscaler's decision from its SignalWindow, pre-copy's
choice of entries), only the nodes' part being the C nodes' (``_join``,
``_fail``, ``_copy``...), so the two loops cannot diverge.  Per request, the
C loop adds only what a feature needs: a gutter node's TTL cap and active
expiry, a failover ranking's down members hidden from a dynamic balancer,
and the read-through fill from a key's previous owner.

The clients' near caches (sim/near.py) in the compiled loop: each group's
cache is a C node over its policy's kernel (built here from the same
makers, sim/cluster.py's near_makers), handed to the engine by
``use_near``; the engine asks it first, schedules every answer's arrival at
the client and every invalidation's on its calendar, all behind a flag that
is off without ``[near]``.  A near hit's latency is the near cache's own:
this driver writes it into the batch's round trips, as NearCaches.serve
does, and a bulk update reaches the near caches through ``bulk_update``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from policies import policy_class
from policies.base import Kernel, Key, Policy
from policies.compiled import has_kernel, kernel_of, kernel_refusal
from sim.balancer import BALANCERS
from sim.cluster import gutter_makers, near_makers, policy_makers
from sim.draws import Draws
from sim.metrics import Recorder
from sim.model import Model
from sim.scenario import Scenario
from sim.vocabulary import BACKEND, COLD, HIT, NEAR, READ_THROUGH, REFRESH_ON_HIT, REHASH, WRITE
from sim.vocabulary import DYNAMIC_BALANCERS as DYNAMIC
from workloads.stream import CLASS_SHIFT

try:
    from sim._compiled.engine import Engine, implements
    from sim._compiled.node import Node
    from sim._compiled.tally import count_buckets, smallest_gap, tally
except ImportError:  # not built: the Python loop runs every scenario
    Engine = Node = implements = count_buckets = smallest_gap = tally = None


def refusal(scenario: Scenario) -> str | None:
    """Why the compiled loop cannot run `scenario` (the Python loop runs it), or None if it can."""
    cluster = scenario.cluster
    cls = policy_class(cluster.policy)
    if cls.timed and not has_kernel(cls):  # a timed policy's own kernel reads the clock (Kernel.advance)
        return f"policy {cluster.policy!r} reads the clock"
    if cls.offline:
        return f"policy {cluster.policy!r} needs the future"
    why = kernel_refusal(cluster.policy, dict(cluster.policy_params).get("admission"))
    if why is None and cluster.gutter is not None and cluster.gutter.policy:  # the gutter pool's own policy
        gutter = policy_class(cluster.gutter.policy)
        why = "the gutter's policy reads the clock or needs the future" if gutter.timed or gutter.offline else None
        why = why or kernel_refusal(cluster.gutter.policy)
    if why is None and scenario.near is not None:  # the near caches' policy (sim/near.py)
        near = policy_class(scenario.near.policy)
        why = f"the near cache's policy {scenario.near.policy!r} reads the clock" if near.timed else None
        why = why or (f"the near cache's policy {scenario.near.policy!r} needs the future" if near.offline else None)
        why = why or kernel_refusal(scenario.near.policy)
    if why is None and Engine is None:
        why = "the compiled request loop is not built"
    if why is not None:
        return why
    for field in ("write_policy", "expiry", "ttl_mode"):
        if not implements(field, getattr(cluster, field)):
            return f"the compiled loop does not implement {field} {getattr(cluster, field)!r}"
    balancer = BALANCERS[cluster.balancer]
    if cluster.balancer in DYNAMIC and "make_chooser" not in vars(balancer):
        return f"balancer {cluster.balancer!r} has no compiled chooser"
    for feature in cluster.fleet_features:  # a living fleet (issue 21): sim/fleet_model.py
        if not implements("fleet", feature):
            key = "[autoscale]" if feature == "autoscale" else f"cluster.{feature}"  # its own section
            return f"the compiled loop does not implement a living fleet's {key} yet"
    if cluster.eviction is not None or any(change.capacity for change in cluster.changes):
        kernel = kernel_of(policy_makers(cluster, 0, 1)[0]())  # (refused above if it had none)
        if kernel is None or not kernel.EVICTS_TO:  # a capacity change and a batch eviction evict to a size
            why = "batch eviction" if cluster.eviction is not None else "a capacity change"
            return f"policy {cluster.policy!r}'s kernel cannot evict to a size yet ({why})"
    for feature in scenario.client_features:  # the clients' own features (near caches: sim/near.py)
        if not implements("client", feature):
            return f"the compiled loop does not implement the clients' {feature} yet"
    return None


class CompiledRecorder(Recorder):
    """Recorder, a batch counted in one pass in C (sim/_compiled/tally.pyx): the same numbers as `_count`'s."""

    def __init__(self, scenario: Scenario, ids: int | None = None):
        super().__init__(scenario, ids)
        cluster = scenario.cluster
        self.gutter_from = self.ids if cluster.gutter else -1  # (gutter nodes' indices come after the members')
        self.read_through = cluster.warmup.strategy == READ_THROUGH
        self.known = np.empty(0)  # scratch: a batch's known read latencies, and their buckets
        self.buckets = np.empty(0, dtype=np.int64)

    def _count(
        self,
        times: npt.NDArray[np.float64],
        nodes: npt.NDArray[np.int64],
        flags: npt.NDArray[np.uint8],
        latency: npt.NDArray[np.float64],
        sizes: npt.NDArray[np.int64],
        backend_busy: npt.NDArray[np.float64],
        node_busy: npt.NDArray[np.float64] | None,
        cold: npt.NDArray[np.bool_] | None,
    ) -> None:
        n, series = len(times), self.series
        if self.windows:  # a rolling restart's windows: counted as the reference counts them
            reads, hits = (flags & WRITE) == 0, (flags & HIT) != 0
            self._count_windows(times, reads, hits, (flags & BACKEND) != 0)
        series.stretch(times, smallest_gap(times, series.before(times)))
        if len(self.known) < n:
            self.known, self.buckets = np.empty(n), np.empty(n, dtype=np.int64)
        counts, intervals = tally(
            times,
            nodes,
            flags,
            latency,
            sizes,
            backend_busy,
            _column(node_busy),
            np.zeros(0, dtype=np.uint8) if cold is None else cold.view(np.uint8),
            self.near,
            self.gutter_from,
            self.timeout,
            series.width,
            self.node_requests,
            self.node_hits,
            self.node_busy,
            self.known,
            self.buckets,
        )
        coalesced, expired, near_hits, near_stale, stale, total_bytes, hit_bytes, awaited, timeouts = counts[:9]
        read_seconds, warm_hits, gutter_hits, cold_misses = counts[9:]
        self.coalesced += coalesced
        self.expired += expired
        self.near_hits += near_hits
        self.near_stale += near_stale
        self.stale += stale
        self.bytes += total_bytes
        self.hit_bytes += hit_bytes
        self.awaited += awaited
        self.timeouts += timeouts
        self.read_seconds += read_seconds
        self.warm_hits += warm_hits if self.read_through else 0
        self.gutter_hits += gutter_hits
        self.cold_misses += cold_misses
        for key, counters, (first, end, low, high, zeros) in intervals:
            interval = series.interval(key)
            interval.count(*counters)
            histogram = interval.latency
            histogram.zeros += zeros
            if end > first:
                histogram.cover(low, high)
                count_buckets(histogram.counts, histogram.first, self.buckets, first, end)


class CompiledModel(Model):
    """Model, its request loop in C."""

    engine = "compiled"
    recorder_class = CompiledRecorder
    keeps_draws = False  # the engine copies what it keeps of a request: a batch's draws may go once walked

    def _build(self) -> None:
        scenario, cluster = self.scenario, self.scenario.cluster
        self.makers = policy_makers(cluster, self.seed, self.ids)
        refresh_on_hit = cluster.ttl_mode == REFRESH_ON_HIT
        # A warm-up copies a gutter node's entry with its (capped) expiry: a member must be able to keep it.
        ttls = cluster.has_ttl or (cluster.gutter is not None and cluster.warmup.strategy != COLD)
        eviction = cluster.eviction
        marks = (eviction.high_watermark, eviction.low_watermark) if eviction else None  # (build_nodes')
        self.core_nodes = [
            Node(self._kernel(index), cluster.capacity_bytes, refresh_on_hit, ttls, self.track_versions, 0.0, marks)
            for index in range(self.ids)
        ]
        ttl = cluster.gutter.ttl_s if cluster.gutter else 0.0
        self.core_nodes += [  # the gutter pool's (sim/cluster.py's build_nodes)
            Node(self._built(maker()), cluster.capacity_bytes, False, True, self.track_versions, ttl)
            for maker in gutter_makers(cluster, self.seed)
        ]
        self.core = Engine(
            self.core_nodes,
            scenario.backend.concurrency,
            cluster.node_concurrency,
            self.coalesce,
            self.track_versions,
            cluster.expiry,
            self.balancer.make_chooser() if self.balancer.dynamic else None,
            cluster.replicas,
            cluster.write_policy,
            CLASS_SHIFT,
            self.ids,
            cluster.failover != REHASH,
        )
        self.core.evict_in_batches(eviction.cost_per_entry_s if eviction else 0.0)  # (free without node queues)
        near = scenario.near
        if near is not None:  # each client group's near cache (sim/near.py's NearCaches builds CacheNodes alike)
            caches = [
                Node(self._built(maker()), cluster.capacity_bytes, False, near.ttl_s > 0, self.track_versions)
                for maker in near_makers(near, cluster.capacity_bytes, self.seed, scenario.clients)
            ]
            self.core.use_near(caches, near.ttl_s, near.invalidation_delay_s)

    def _kernel(self, index: int) -> Kernel:
        """A fresh kernel of node `index`'s policy at its capacity now (at the start, after each failure, when
        its id joins), from its reference."""
        return self._built(self.makers[index](self.capacity_of[index]))

    def _built(self, reference: Policy) -> Kernel:
        """The kernel of a reference policy."""
        kernel = kernel_of(reference)
        if kernel is None:  # refusal() said it has one: only a kernel that failed to build gets here
            raise RuntimeError(f"the kernel of policy {self.scenario.cluster.policy!r} is not built")
        return kernel

    def _walk(self, draws: Draws) -> None:
        batch = draws.batch
        n = len(batch)
        near = self.scenario.near
        flags = np.zeros(n, dtype=np.uint8)
        wait = np.zeros(n)  # latency beyond the round trip; NaN when known only later
        arrays = (
            np.ascontiguousarray(batch.time, dtype=np.float64),
            np.ascontiguousarray(batch.key, dtype=np.int64),
            np.ascontiguousarray(batch.size, dtype=np.int64),
            np.ascontiguousarray(batch.op, dtype=np.int8),
            draws.read_node,  # the engine writes a dynamic balancer's choices into it
            np.ascontiguousarray(draws.choices, dtype=np.int64),
            np.ascontiguousarray(draws.round_trip, dtype=np.float64),
            np.ascontiguousarray(draws.service, dtype=np.float64),
            _column(draws.node_service),
            _column(draws.ttl),
            np.zeros(0, dtype=np.int64) if draws.warm_from is None else draws.warm_from,
            _groups(draws) if near else np.zeros(0, dtype=np.int64),
        )
        position = 0
        while True:
            position = self.core.walk(*arrays, flags, wait, batch.start, position, self.env.peek())
            self._hand_late()
            if position == n:
                break
            self.env.step()  # SimPy's next event is due before request `position`
        if near is not None:  # a near hit took the near cache's latency, exactly (NearCaches.serve)
            draws.round_trip[(flags & NEAR) != 0] = near.hit_latency_s
        self._record(draws, flags, wait)

    def _advance_to(self, now: float) -> None:
        while self.core.advance_to(now, self.env.peek()):
            self._hand_late()
            self.env.step()  # SimPy's next event (an autoscaler's tick, a change) is due first
        self._hand_late()

    def _finish(self) -> None:
        self.core.drain()
        self._hand_late()

    def _hand_late(self) -> None:
        """The latencies the engine learnt since the last call, to the recorder (and the autoscaler's
        window), in the order learnt."""
        indices, arrivals, latencies = self.core.take_late()
        known = self.recorder.set_latency if self.signals is None else self._latency_known
        for index, arrival, latency in zip(indices.tolist(), arrivals.tolist(), latencies.tolist()):
            known(index, arrival, latency)

    # -- what SimPy's processes do ---------------------------------------------------------
    def _set_up(self, index: int, up: bool) -> None:
        self.core.set_up(index, up)

    def _fail(self, index: int) -> None:
        self.core.fail(index, self._kernel(index))

    # -- a node's part in a fleet's change (sim/fleet_model.py's) ---------------------------------
    def _join(self, index: int, capacity: int, up: bool) -> None:
        self.capacity_of[index] = capacity
        self.core.fail(index, self._kernel(index))  # cold: a fresh kernel at its capacity
        self.core.set_up(index, up)

    def _resize(self, index: int, capacity: int) -> None:
        self.capacity_of[index] = capacity
        self.core_nodes[index].resize(self.makers[index](capacity))  # the kernel takes the reference's shares

    def _serving(self) -> int:
        return sum(1 for node in self.core_nodes[: self.ids] if node.up)

    def _cached_keys(self, index: int) -> list:
        return self.core_nodes[index].keys()

    def _holders(self, index: int) -> list[int]:
        return [holder for holder, node in enumerate(self.core_nodes) if holder != index and node.up and node.keys()]

    def _capacity(self, index: int) -> int:
        return self.core_nodes[index].capacity

    def _live(self, holder: int, key: Key, now: float) -> bool:
        return self.core_nodes[holder].is_live(key, now)

    def _entry_size(self, holder: int, key: Key) -> int:
        return self.core_nodes[holder].units_of(key)

    def _copy(self, holder: int, index: int, key: Key, size: int, now: float) -> None:
        self.core.store_copy(index, holder, key, size, now)

    def _bulk_update(self, classes: set, invalidate: bool) -> None:
        self.core.bulk_update(sorted(classes), invalidate, self.env.now)


def _groups(draws: Draws) -> npt.NDArray[np.int64]:
    """Each request's client group (drawn wherever there are near caches)."""
    return np.ascontiguousarray(draws.group, dtype=np.int64)


def _column(values: npt.ArrayLike | None) -> npt.NDArray[np.float64]:
    """A float64 column of the draws, or an empty one where the scenario draws none."""
    return np.zeros(0) if values is None else np.ascontiguousarray(values, dtype=np.float64)
