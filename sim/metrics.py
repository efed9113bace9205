"""What a run measures: hit counts, bytes, backend load, latency quantiles, per-node load."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

#: result column -> percentile
QUANTILES = {"p50_ms": 50.0, "p95_ms": 95.0, "p99_ms": 99.0, "p999_ms": 99.9}

#: probabilities at which every run also records its latency quantiles, for
#: latency CDF plots: dense enough in the body to draw the curve, and reaching
#: into the tail (p99.99), where caches and queues differ most.  A fixed set
#: keeps a run's result small and comparable across runs.
CDF_PROBABILITIES = (0.01, 0.02, *(round(0.05 * i, 2) for i in range(1, 20)),
                     0.98, 0.99, 0.995, 0.999, 0.9995, 0.9999)

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
)


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
    coalesced: int
    expired: int
    node_requests: list = field(default_factory=list)
    node_hits: list = field(default_factory=list)
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
    """Collects the measured requests of a run, batch by batch.

    Latencies are kept whole (8 bytes a request) because exact quantiles are
    what the fast model is checked against the naive one with.
    """

    def __init__(self, requests: int, warmup: int, nodes: int):
        self.warmup = warmup
        self.latency = np.empty(requests, dtype=np.float64)
        self.node_requests = np.zeros(nodes, dtype=np.int64)
        self.node_hits = np.zeros(nodes, dtype=np.int64)
        self.bytes = 0
        self.hit_bytes = 0
        self.backend_requests = 0
        self.coalesced = 0
        self.expired = 0
        self._filled = 0

    def measured(self, start: int, n: int) -> slice:
        """The part of a batch [start, start + n) that lies after warm-up, as a slice of it."""
        return slice(max(0, self.warmup - start), n)

    def add(self, start, nodes, sizes, hit, latency, to_backend, coalesced, expired=0) -> None:
        """Record a batch: arrays over the batch's requests (latency in seconds)."""
        part = self.measured(start, len(nodes))
        nodes, sizes, hit, latency = nodes[part], sizes[part], hit[part], latency[part]
        if len(nodes) == 0:
            return
        self.latency[self._filled:self._filled + len(latency)] = latency
        self._filled += len(latency)
        count = len(self.node_requests)
        self.node_requests += np.bincount(nodes, minlength=count)
        self.node_hits += np.bincount(nodes[hit], minlength=count)
        self.bytes += int(sizes.sum())
        self.hit_bytes += int(sizes[hit].sum())
        self.backend_requests += int(to_backend[part].sum())
        self.coalesced += int(coalesced[part].sum())
        self.expired += expired

    def result(self) -> RunResult:
        latency_ms = self.latency[: self._filled] * 1000.0
        requests = int(self.node_requests.sum())
        hits = int(self.node_hits.sum())
        quantiles = np.percentile(latency_ms, list(QUANTILES.values())) if requests else [0.0] * len(QUANTILES)
        cdf = np.quantile(latency_ms, CDF_PROBABILITIES) if requests else np.zeros(len(CDF_PROBABILITIES))
        mean_load = self.node_requests.mean()
        return RunResult(
            requests=requests,
            hits=hits,
            hit_ratio=hits / requests if requests else 0.0,
            byte_hit_ratio=self.hit_bytes / self.bytes if self.bytes else 0.0,
            backend_requests=self.backend_requests,
            mean_ms=float(latency_ms.mean()) if requests else 0.0,
            **{name: float(q) for name, q in zip(QUANTILES, quantiles)},
            imbalance=float(self.node_requests.max() / mean_load) if mean_load else 0.0,
            coalesced=self.coalesced,
            expired=self.expired,
            node_requests=self.node_requests.tolist(),
            node_hits=self.node_hits.tolist(),
            latency_quantiles=[float(q) for q in cdf],
        )
