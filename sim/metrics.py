"""What a run measures: hits, bytes, backend load, latency quantiles, per-node load, time series.

The models record every measured request (after warm-up) in four columns:
arrival time, latency, node, and a byte of flags (HIT, BACKEND, ...).  All
metrics are computed from those columns at the end, vectorized.  Latencies
are kept whole (8 bytes a request) because exact quantiles are what the fast
model is checked against the naive one with.

Hit ratio, byte hit ratio and latency quantiles are over reads; writes are
counted in `writes` and in `backend_requests`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

HIT, BACKEND, COALESCED, STALE, WRITE, EXPIRED = 1, 2, 4, 8, 16, 32

#: result column -> percentile
QUANTILES = {"p50_ms": 50.0, "p95_ms": 95.0, "p99_ms": 99.0, "p999_ms": 99.9}

#: latency CDF plots: dense enough in the body to draw the curve, and reaching
#: into the tail (p99.99), where caches and queues differ most.  A fixed set
#: keeps a run's result small and comparable across runs.
CDF_PROBABILITIES = (0.01, 0.02, *(round(0.05 * i, 2) for i in range(1, 20)), 0.98, 0.99, 0.995, 0.999, 0.9995, 0.9999)

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
)

#: columns of a time-series row
TIMESERIES = ("t_start", "requests", "hit_ratio", "p99_ms", "backend_rps")


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
    node_requests: list = field(default_factory=list)
    node_hits: list = field(default_factory=list)
    timeseries: list = field(default_factory=list)
    latency_quantiles: list = field(default_factory=list)  # ms, at CDF_PROBABILITIES

    def row(self) -> dict:
        """The flat metrics, in METRICS order."""
        values = asdict(self)
        return {name: values[name] for name in METRICS}

    def nodes(self) -> list[dict]:
        """One dict per node: its requests, share of all requests and hit ratio."""
        total = sum(self.node_requests) or 1
        return [
            {
                "node": index,
                "requests": requests,
                "share": requests / total,
                "hit_ratio": hits / requests if requests else 0.0,
            }
            for index, (requests, hits) in enumerate(zip(self.node_requests, self.node_hits))
        ]


class Recorder:
    """Collects the measured requests of a run, batch by batch."""

    def __init__(self, requests: int, warmup: int, nodes: int, timeout: float = 0.0, interval: float = 60.0):
        self.warmup = warmup
        self.nodes = nodes
        self.timeout = timeout
        self.interval = interval
        self.time = np.zeros(requests)
        self.latency = np.full(requests, np.nan)
        self.node = np.zeros(requests, dtype=np.int16)
        self.flags = np.zeros(requests, dtype=np.uint8)
        self.bytes = 0
        self.hit_bytes = 0
        self.recorded = 0  # measured requests seen (fewer than asked when a trace ends early)

    def add(self, start: int, times, nodes, flags, latency, sizes) -> None:
        """Record a batch of requests [start, start + n); latency NaN where it is not known yet."""
        n = len(times)
        first = max(0, self.warmup - start)  # the batch's first measured request
        if first >= n:
            return
        into = slice(start + first - self.warmup, start + n - self.warmup)
        self.recorded = max(self.recorded, into.stop)
        flags = np.frombuffer(flags, dtype=np.uint8)[first:] if isinstance(flags, (bytes, bytearray)) else flags[first:]
        self.time[into] = times[first:]
        self.node[into] = nodes[first:]
        self.flags[into] = flags
        known = latency[first:]
        target = self.latency[into]
        # Deferred latencies may already have been written by set_latency: keep them.
        np.copyto(target, known, where=~np.isnan(known))
        reads = (flags & WRITE) == 0
        sizes = sizes[first:]
        self.bytes += int(sizes[reads].sum())
        self.hit_bytes += int(sizes[(flags & HIT) != 0].sum())

    def set_latency(self, index: int, value: float) -> None:
        """Record the latency of request `index` (of the whole stream), known only now."""
        slot = index - self.warmup
        if slot >= 0:
            self.latency[slot] = value

    def result(self) -> RunResult:
        if self.recorded < len(self.latency):  # the stream ended early: keep what was measured
            self.time, self.latency, self.node, self.flags = (
                column[: self.recorded] for column in (self.time, self.latency, self.node, self.flags)
            )
        if np.isnan(self.latency).any():
            raise RuntimeError("a request's latency was never recorded (a model bug)")
        flags = self.flags
        reads = (flags & WRITE) == 0
        latency_ms = self.latency * 1000.0
        timeouts = 0
        if self.timeout > 0:
            late = latency_ms > self.timeout * 1000.0
            timeouts = int(late.sum())
            latency_ms = np.where(late, self.timeout * 1000.0, latency_ms)
        read_ms = latency_ms[reads]
        hit = (flags & HIT) != 0
        read_count = int(reads.sum())
        hits = int(hit.sum())
        served = self.node >= 0  # -1: no node was up, the request went straight to the backend
        node_requests = np.bincount(self.node[reads & served], minlength=self.nodes)
        node_hits = np.bincount(self.node[hit], minlength=self.nodes)
        quantiles = np.percentile(read_ms, list(QUANTILES.values())) if read_count else [0.0] * len(QUANTILES)
        cdf = np.quantile(read_ms, CDF_PROBABILITIES) if read_count else np.zeros(len(CDF_PROBABILITIES))
        mean_load = node_requests.mean()
        return RunResult(
            requests=len(flags),
            hits=hits,
            hit_ratio=hits / read_count if read_count else 0.0,
            byte_hit_ratio=self.hit_bytes / self.bytes if self.bytes else 0.0,
            backend_requests=int(((flags & BACKEND) != 0).sum()),
            mean_ms=float(read_ms.mean()) if read_count else 0.0,
            **{name: float(q) for name, q in zip(QUANTILES, quantiles)},
            imbalance=float(node_requests.max() / mean_load) if mean_load else 0.0,
            coalesced=int(((flags & COALESCED) != 0).sum()),
            expired=int(((flags & EXPIRED) != 0).sum()),
            stale=int(((flags & STALE) != 0).sum()),
            timeouts=timeouts,
            writes=len(flags) - read_count,
            node_requests=node_requests.tolist(),
            node_hits=node_hits.tolist(),
            timeseries=self._timeseries(latency_ms, reads, hit),
            latency_quantiles=[float(q) for q in cdf],
        )

    def _timeseries(self, latency_ms, reads, hit) -> list[dict]:
        """One row per `interval` seconds of simulated time that saw measured requests."""
        if not len(self.time):
            return []
        bins = np.floor(self.time / self.interval).astype(np.int64)
        rows = []
        edges = np.flatnonzero(np.diff(bins)) + 1  # times are sorted: each bin is a slice
        for chunk in np.split(np.arange(len(bins)), edges):
            b = bins[chunk[0]]
            span = slice(chunk[0], chunk[-1] + 1)
            chunk_reads = reads[span]
            read_count = int(chunk_reads.sum())
            rows.append(
                {
                    "t_start": float(b * self.interval),
                    "requests": int(chunk[-1] - chunk[0] + 1),
                    "hit_ratio": float(hit[span].sum() / read_count) if read_count else 0.0,
                    "p99_ms": float(np.percentile(latency_ms[span][chunk_reads], 99.0)) if read_count else 0.0,
                    "backend_rps": float(((self.flags[span] & BACKEND) != 0).sum() / self.interval),
                }
            )
        return rows
