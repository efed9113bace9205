"""What a run measures: hits, bytes, backend load, latency quantiles, per-node load, time series.

(Over 450 lines: every counter a run keeps, and the rows of the tables they become, in one place.)

The models hand the Recorder their requests batch by batch, as arrays (arrival
time, latency, node, a byte of flags: HIT, BACKEND, ..., size, and the
service time each asked of the backend and of its node), and it keeps only
counters: per run, per node, and per interval of simulated time
(sim/timeseries.py), with latencies in histograms (sim/histogram.py).  So a
run's memory does not grow with its number of requests, and percentiles are
within 0.1% of the exact ones.  A latency known only later (a miss waiting on
a node queue, a request that joined a fetch in flight) is given once it is
known, with `set_latency`.

Hit ratio, byte hit ratio and latency quantiles are over reads; writes are
counted in `writes` and in `backend_requests`.

A fleet that changes (sim/fleet.py) adds its own counts: `cold_misses`
(read misses at a node for a key whose read target changed at the fleet's
latest change, sim/draws.py), `gutter_hits` (hits at gutter nodes, ids from
P), `warm_hits` (misses a warming node filled from the key's previous
owner), `changes` (rows of fleet.csv), and its cost over the measured
window, from the schedule: `node_seconds` (members and provisioning nodes,
the gutter pool too) and the capacity they hold over time, in
`byte_seconds` when capacities count bytes, else in `object_seconds`.
With service targets, `violation_s` is the seconds of the time-series rows
that miss one (a p99 above its target, a hit ratio below).

Client groups' near caches (sim/near.py) count `near_hits` (reads a near
cache answered: hits, in `hits` and the hit ratio, the client's view, but at
no node) and `near_stale` (those whose value was out of date), apart from
`stale` (the cluster's stale reads); `near_hit_ratio` is near_hits / reads.  Per node id,
`hit_ratio` is the node's own: a hit counts at the node that was asked.

Utilisation is offered load over capacity in the measured window (its
first arrival to its last, sim/timeseries.py):

    backend_utilisation  the service time asked of the backend by the measured
                         requests sent to it (read misses that fetched, and
                         writes), divided by backend.concurrency x the window's
                         length: lambda E[S] / c, the rho of queueing theory.
                         It is not capped at 1 as a busy fraction would be:
                         above 1 more work arrives than the servers can do,
                         and the queue, and with it latency, grows for as long
                         as the load lasts.
    node_utilisation     the same for a node's workers (node_concurrency,
                         node_service), at the busiest node: the service time
                         asked by the reads it served; 0 without node queues.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from sim.histogram import LatencyHistogram
from sim.scenario import Scenario, Targets
from sim.timeseries import TimeSeries, utilisation
from sim.vocabulary import BACKEND, COALESCED, EXPIRED, HIT, NEAR, READ_THROUGH, STALE, WARM, WRITE  # a request's flags

if TYPE_CHECKING:  # (membership.py's schedule reaches the metrics only as an argument)
    from sim.membership import FleetRow, Membership

#: result column -> percentile
QUANTILES = {"p50_ms": 50.0, "p95_ms": 95.0, "p99_ms": 99.0, "p999_ms": 99.9}

#: latency.csv: each run's latency quantiles at these probabilities (its CDF): every percent
#: of the body, and on into the tail (p99.999), where caches and queues differ most.  A fixed
#: set keeps the rows of every run at the same probabilities, so runs compare row by row.
CDF_PROBABILITIES = (
    0.001,
    0.005,
    *(round(0.01 * i, 2) for i in range(1, 100)),
    0.995,
    0.999,
    0.9995,
    0.9999,
    0.99995,
    0.99999,
)

#: the flat metrics of a run, in results.csv column order
METRICS = (
    "requests",
    "hits",
    "hit_ratio",
    "byte_hit_ratio",
    "backend_requests",
    "mean_ms",
    *QUANTILES,
    "imbalance",
    "coalesced",
    "expired",
    "stale",
    "timeouts",
    "writes",
    "backend_utilisation",
    "node_utilisation",
    "cold_misses",
    "gutter_hits",
    "warm_hits",
    "changes",
    "node_seconds",
    "byte_seconds",
    "object_seconds",
    "violation_s",
    "near_hits",
    "near_stale",
    "near_hit_ratio",
)

#: columns of a time-series row (sim/timeseries.py says what each is)
TIMESERIES = (
    "t_start",
    "t_end",
    "requests",
    "hit_ratio",
    "p99_ms",
    "backend_rps",
    "backend_utilisation",
    "nodes",
    "moved",
    "cold_misses",
    "gutter_hits",
    "near_hits",
)

#: columns of fleet.csv: one row per change of the fleet (sim/membership.py's FleetRow, with its effect)
FLEET = ("time_s", "decided_s", "kind", "node_ids", "nodes", "moved_share", "orphaned", "signal", "reason")

#: columns of restarts.csv: one row per rolling restart, from its first node down to down_s after its last up
RESTARTS = ("restart", "start_s", "end_s", "requests", "hit_ratio", "backend_requests")


@dataclass
class RunResult:
    """The outcome of one run; `row()` is its results.csv line."""

    requests: int
    hits: int
    hit_ratio: float
    byte_hit_ratio: float
    backend_requests: int
    mean_ms: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    p999_ms: float
    imbalance: float
    coalesced: int = 0
    expired: int = 0
    stale: int = 0
    timeouts: int = 0
    writes: int = 0
    backend_utilisation: float = 0.0
    node_utilisation: float = 0.0  # the busiest node's
    cold_misses: int = 0
    gutter_hits: int = 0
    warm_hits: int = 0
    changes: int = 0
    node_seconds: float = 0.0
    byte_seconds: float = 0.0
    object_seconds: float = 0.0
    violation_s: float = 0.0
    near_hits: int = 0
    near_stale: int = 0
    near_hit_ratio: float = 0.0
    fleet: list = field(default_factory=list)  # fleet.csv's rows (FLEET)
    restarts: list = field(default_factory=list)  # restarts.csv's rows (RESTARTS)
    node_requests: list = field(default_factory=list)
    node_hits: list = field(default_factory=list)
    node_utilisations: list = field(default_factory=list)
    timeseries: list = field(default_factory=list)
    latency_quantiles: list = field(default_factory=list)  # ms, at CDF_PROBABILITIES
    latency_histogram: LatencyHistogram = field(default_factory=LatencyHistogram)  # reads', seconds
    # which request loop ran: "compiled" or "python" (the same results either way, so not compared),
    # and when the Python one ran, why not the compiled one (sim/engine.py)
    engine: str = field(default="python", compare=False)
    engine_note: str = field(default="", compare=False)

    def row(self) -> dict:
        """The flat metrics, in METRICS order."""
        values = asdict(self)
        return {name: values[name] for name in METRICS}

    def nodes(self) -> list[dict]:
        """One dict per node: its requests, share of all requests, hit ratio and utilisation."""
        total = sum(self.node_requests) or 1
        return [
            {
                "node": index,
                "requests": requests,
                "share": requests / total,
                "hit_ratio": hits / requests if requests else 0.0,
                "utilisation": load,
            }
            for index, (requests, hits, load) in enumerate(
                zip(self.node_requests, self.node_hits, self.node_utilisations)
            )
        ]


class Recorder:
    """Counts the measured requests of a run (those after warm-up), batch by batch.

    `add` takes a batch as arrays, the form a compiled request loop produces
    too; `set_latency` takes one latency that became known after its batch
    was added (or before: it is then held until the batch comes).  Every
    measured request's latency must arrive exactly once, in one or the other;
    `result` checks that none is missing.
    """

    def __init__(self, scenario: Scenario, ids: int | None = None):
        self.scenario = scenario
        self.warmup = scenario.warmup
        self.timeout = scenario.timeout_s
        self.backend_servers = scenario.backend.concurrency
        self.node_servers = scenario.cluster.node_concurrency  # 0: no node queue
        self.series = TimeSeries(None if scenario.interval == "auto" else float(scenario.interval))
        self.added = 0  # requests of the stream added so far, warm-up included
        self.awaited = 0  # measured latencies still to come through set_latency
        self.early: list = []  # (arrival, latency) given before their batch was added
        self.coalesced = self.expired = self.stale = self.timeouts = 0
        self.cold_misses = self.gutter_hits = self.warm_hits = 0
        self.near_hits = self.near_stale = 0
        self.near = scenario.near is not None
        self.bytes = self.hit_bytes = 0
        self.read_seconds = 0.0  # the sum of reads' latencies, for the mean
        self.ids = scenario.cluster.nodes if ids is None else ids  # the fleet's node ids; gutter nodes after
        self.windows: list = []  # [index, start, end, requests, reads, hits, backend] per rolling restart
        nodes = self.ids + scenario.cluster.gutter_nodes
        self.node_requests = np.zeros(nodes, dtype=np.int64)
        self.node_hits = np.zeros(nodes, dtype=np.int64)
        self.node_busy = np.zeros(nodes)  # seconds of node service asked of each node

    def add(
        self,
        start: int,
        times: npt.NDArray[np.float64],
        nodes: np.ndarray | Sequence[int],
        flags: np.ndarray | Sequence[int],
        latency: np.ndarray | Sequence[float],
        sizes: npt.NDArray[np.int64],
        backend_busy: npt.NDArray[np.float64],
        node_busy: npt.NDArray[np.float64] | None = None,
        cold: npt.NDArray[np.bool_] | None = None,
    ) -> None:
        """Record requests [start, start + n) of the stream: arrays of n, in arrival order.

        nodes: the node each request was served by (-1: none was up); flags:
        uint8; latency: seconds, NaN where it is not known yet; sizes: bytes;
        backend_busy, node_busy: seconds of service each request asked of the
        backend and of its node's workers (0 where none; node_busy None
        without node queues); cold: whether each request's read target moved at the fleet's latest
        change (None: the fleet never changed).
        """
        n = len(times)
        first = max(0, self.warmup - start)  # the batch's first measured request
        self.added = start + n
        if first < n:
            measured = slice(first, n)
            self._count(
                times[measured],
                np.asarray(nodes[measured]),
                np.asarray(flags[measured], dtype=np.uint8),
                np.asarray(latency[measured], dtype=np.float64),
                sizes[measured],
                backend_busy[measured],
                None if node_busy is None else node_busy[measured],
                None if cold is None else cold[measured],
            )
        early, self.early = self.early, []
        for arrival, value in early:
            self._late(arrival, value)

    def set_latency(self, index: int, arrival: float, latency: float) -> None:
        """The latency of read `index` of the stream (arriving at `arrival`), known only now."""
        if index < self.warmup:
            return
        if index >= self.added:  # its batch is still being walked
            self.early.append((arrival, latency))
        else:
            self._late(arrival, latency)

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
        reads = (flags & WRITE) == 0
        hits = (flags & HIT) != 0
        served = reads & (nodes >= 0)
        fleet = self._count_fleet(times, nodes, flags, reads, hits, served, cold)
        near = (flags & NEAR) != 0 if self.near else None
        stale = (flags & STALE) != 0
        self.coalesced += int(np.count_nonzero(flags & COALESCED))
        self.expired += int(np.count_nonzero(flags & EXPIRED))
        if near is not None:
            self.near_hits += int(np.count_nonzero(near))
            self.near_stale += int(np.count_nonzero(near & stale))
            stale &= ~near
        self.stale += int(np.count_nonzero(stale))
        self.bytes += int(sizes[reads].sum())
        self.hit_bytes += int(sizes[hits].sum())
        size = len(self.node_requests)
        self.node_requests += np.bincount(nodes[served], minlength=size)
        self.node_hits += np.bincount(nodes[hits & served], minlength=size)  # (a near hit has no node)
        if node_busy is not None:
            self.node_busy += np.bincount(nodes[served], weights=node_busy[served], minlength=size)
        unknown = np.isnan(latency)
        self.awaited += int(unknown.sum())
        if self.timeout > 0:
            late = latency > self.timeout  # False for NaN
            self.timeouts += int(late.sum())
            latency = np.where(late, self.timeout, latency)
        read_latency = np.where(reads, latency, np.nan)
        self.read_seconds += float(read_latency[reads & ~unknown].sum())
        self.series.add(
            times,
            reads,
            hits,
            (flags & BACKEND) != 0,
            backend_busy,
            read_latency,
            cold_misses=fleet[0],
            gutter_hits=fleet[1],
            near_hits=near,
        )

    def _count_fleet(
        self,
        times: npt.NDArray[np.float64],
        nodes: npt.NDArray[np.int64],
        flags: npt.NDArray[np.uint8],
        reads: npt.NDArray[np.bool_],
        hits: npt.NDArray[np.bool_],
        served: npt.NDArray[np.bool_],
        cold: npt.NDArray[np.bool_] | None,
    ) -> tuple[npt.NDArray[np.bool_] | None, npt.NDArray[np.bool_] | None]:
        """The living fleet's counts of a batch; (cold misses, gutter hits) per request for the time series,
        or (None, None) when the fleet has neither."""
        cluster = self.scenario.cluster
        if cluster.warmup.strategy == READ_THROUGH:
            self.warm_hits += int(np.count_nonzero(flags & WARM))
        gutter = hits & (nodes >= self.ids) if cluster.gutter else None
        missed = served & ~hits & cold if cold is not None else None
        if self.windows:
            self._count_windows(times, reads, hits, (flags & BACKEND) != 0)
        if gutter is None and missed is None:
            return None, None
        zeros = np.zeros(len(times), dtype=bool)
        gutter = zeros if gutter is None else gutter
        missed = zeros if missed is None else missed
        self.gutter_hits += int(np.count_nonzero(gutter))
        self.cold_misses += int(np.count_nonzero(missed))
        return missed, gutter

    def _count_windows(
        self,
        times: npt.NDArray[np.float64],
        reads: npt.NDArray[np.bool_],
        hits: npt.NDArray[np.bool_],
        backend: npt.NDArray[np.bool_],
    ) -> None:
        """Count a batch's requests, reads, hits and backend requests in each rolling restart's window."""
        for window in self.windows:
            inside = (times >= window[1]) & (times < window[2])
            counts = (inside, inside & reads, inside & hits, inside & backend)
            window[3:] = [w + int(np.count_nonzero(c)) for w, c in zip(window[3:], counts)]

    def watch_restarts(self, windows: Iterable[tuple[int, float, float]]) -> None:
        """Count the requests arriving in each rolling restart's window [start, end), from now on."""
        known = {w[0] for w in self.windows}
        self.windows += [[index, start, end, 0, 0, 0, 0] for index, start, end in windows if index not in known]

    def _late(self, arrival: float, latency: float) -> None:
        self.awaited -= 1
        if 0 < self.timeout < latency:
            self.timeouts += 1
            latency = self.timeout
        self.read_seconds += latency
        self.series.add_latency(arrival, latency)

    def result(self, fleet: list[dict] | None = None, membership: Membership | None = None) -> RunResult:
        """The run's result; `fleet`: fleet.csv's rows, `membership`: the schedule (for the fleet's cost)."""
        if self.awaited or self.early:
            raise RuntimeError("a request's latency was never recorded, or recorded twice (a model bug)")
        # The changes up to the last arrival: the models may run on while the last answers are pending.
        fleet = [row for row in fleet or [] if row["time_s"] <= self.series.last]
        total = self.series.total()
        reads = total.reads
        histogram = total.latency
        quantiles = histogram.quantiles([p / 100 for p in QUANTILES.values()]) * 1000.0
        mean_load = self.node_requests[: self.ids].mean()
        window = self.series.length
        node_utilisations = [utilisation(busy, self.node_servers, window) for busy in self.node_busy.tolist()]
        initial = membership.state_at(0.0) if membership is not None else None
        steps = (len(initial.up) if initial else self.scenario.cluster.nodes, fleet)
        rows = self.series.rows(self.backend_servers, steps)
        return RunResult(
            requests=total.requests,
            hits=total.hits,
            hit_ratio=total.hits / reads if reads else 0.0,
            byte_hit_ratio=self.hit_bytes / self.bytes if self.bytes else 0.0,
            backend_requests=total.backend,
            mean_ms=self.read_seconds * 1000.0 / reads if reads else 0.0,
            **{name: float(q) for name, q in zip(QUANTILES, quantiles)},  # type: ignore[arg-type]  # p50_ms .. p999_ms
            imbalance=float(self.node_requests[: self.ids].max() / mean_load) if mean_load else 0.0,
            coalesced=self.coalesced,
            expired=self.expired,
            stale=self.stale,
            timeouts=self.timeouts,
            writes=total.requests - reads,
            backend_utilisation=utilisation(total.backend_busy, self.backend_servers, window),
            node_utilisation=max(node_utilisations),
            cold_misses=self.cold_misses,
            gutter_hits=self.gutter_hits,
            warm_hits=self.warm_hits,
            changes=len(fleet),
            **self._cost(membership),  # type: ignore[arg-type]  # node_seconds, byte_ or object_seconds
            violation_s=violation_seconds(rows, self.scenario.targets),
            near_hits=self.near_hits,
            near_stale=self.near_stale,
            near_hit_ratio=self.near_hits / reads if reads else 0.0,
            fleet=fleet,
            restarts=self._restarts(),
            node_requests=self.node_requests.tolist(),
            node_hits=self.node_hits.tolist(),
            node_utilisations=node_utilisations,
            timeseries=rows,
            latency_quantiles=(histogram.quantiles(CDF_PROBABILITIES) * 1000.0).tolist(),
            latency_histogram=histogram,
        )

    def _cost(self, membership: Membership | None) -> dict[str, float]:
        """node_seconds and the capacity held over the measured window (byte_seconds or object_seconds)."""
        cluster = self.scenario.cluster
        start, end = (self.series.start or 0.0), self.series.end
        if membership is not None:
            nodes, capacity = membership.cost(start, end)
        else:
            nodes, capacity = cluster.nodes * (end - start), cluster.nodes * cluster.capacity * (end - start)
        if cluster.gutter is not None:
            nodes += cluster.gutter.nodes * (end - start)
            capacity += cluster.gutter.nodes * cluster.gutter.capacity * (end - start)
        unit = "byte_seconds" if cluster.capacity_bytes else "object_seconds"
        return {"node_seconds": nodes, unit: capacity}

    def _restarts(self) -> list[dict]:
        """restarts.csv's rows: per rolling restart, the measured requests of its window."""
        return [
            {
                "restart": index,
                "start_s": start,
                "end_s": end,
                "requests": requests,
                "hit_ratio": hits / reads if reads else 0.0,
                "backend_requests": backend,
            }
            for index, start, end, requests, reads, hits, backend in self.windows
        ]


def violation_seconds(rows: list[dict], targets: Targets | None) -> float:
    """Seconds of the time-series rows that miss a target: a p99 above it, a hit ratio below it."""
    if not targets:
        return 0.0
    missed = 0.0
    for row in rows:
        if (targets.p99_ms and row["p99_ms"] > targets.p99_ms) or (
            targets.hit_ratio and row["hit_ratio"] < targets.hit_ratio
        ):
            missed += row["t_end"] - row["t_start"]
    return missed


def fleet_row(row: FleetRow, moved: float, orphaned: int) -> dict:
    """A row of fleet.csv (FLEET) for a change of the fleet (sim/membership.py's FleetRow), with what it
    moved (sim/routing.py) and the entries it left behind (counted by each model); its signal is
    the value the autoscaler decided on (empty for planned changes)."""
    return {
        "time_s": row.time,
        "decided_s": min(row.since) if row.kind == "add" and row.since else row.time,
        "kind": row.kind,
        "node_ids": " ".join(str(n) for n in row.nodes),
        "nodes": row.serving,
        "moved_share": moved,
        "orphaned": orphaned,
        "signal": "" if row.signal is None else row.signal,
        "reason": row.reason,
    }
