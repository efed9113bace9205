"""The resolved description of one simulated system: what `run` takes.

These frozen dataclasses are what the simulator understands; experiments/
builds them from TOML after validation.  They hold workload objects and
distributions, never file names or command-line strings.

A field has the name of its config key and holds the same value in the same
unit (cluster.ttl_mode is `ttl_mode`, "insert" or "refresh"; cluster.mtbf_s
is `mtbf_s`), so a reader never translates between the two.  Times are in
seconds; where the config speaks another unit the field's name says the new
one (run.timeout_ms becomes `timeout_s`).  Distributions of time (latencies,
node service, TTLs) sample seconds; a config's distribution tables name their
unit in their own keys (median_ms, low_s), converted once, in experiments/.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sim.vocabulary import CHOICES, CONSISTENT, INVALIDATE, LAZY, SET_ON_INSERT
from workloads import Constant, Distribution, Lognormal, Workload


@dataclass(frozen=True)
class Outage:
    """Node `node` is down from `down_at` until `up_at` (seconds); it comes back cold."""

    node: int
    down_at: float
    up_at: float = float("inf")


@dataclass(frozen=True)
class ClusterSpec:
    """N cache nodes behind a balancer.

    capacity:       per node, in objects or bytes (see capacity_bytes)
    capacity_bytes: True when capacity counts bytes; objects count 1 each otherwise
    policy:         registry name or "module:Class"; policy_params its keyword arguments
    balancer:       modulo, consistent, rendezvous, random, p2c or bounded
    replicas:       copies of each key (R); reads go to one, fills and invalidations to all
    ttl:            seconds from insertion until expiry (0: never), or a Distribution drawn per insert
    ttl_by_class:   ((class index, ttl seconds), ...) overriding ttl for key classes
    ttl_mode:       "insert": the TTL is set when stored (memcached); "refresh": every hit restarts it
    expiry:         "lazy": an expired entry is dropped when looked up; "active": when it expires,
                    freeing its space
    node_concurrency, node_service: each node serves this many requests at once, each
                    taking node_service seconds; more wait in a FCFS queue (0: no node queue)
    write_policy:   what a write does to cached copies when it lands: "invalidate" deletes them,
                    "update" writes through (copies and the key's home nodes get the new value),
                    "none" leaves them stale until they expire
    failures:       scheduled outages (Outage objects)
    mtbf_s, mttr_s: random failures: mean seconds between a node's failures (0: none), and to repair
    """

    nodes: int = 4
    capacity: int = 2500
    capacity_bytes: bool = False
    policy: str = "lru"
    policy_params: tuple = ()
    balancer: str = CONSISTENT
    vnodes: int = 160
    bound_epsilon: float = 0.25
    replicas: int = 1
    ttl: float | Distribution = 0.0
    ttl_by_class: tuple = ()
    ttl_mode: str = SET_ON_INSERT
    expiry: str = LAZY
    node_concurrency: int = 0
    node_service: Distribution = Constant(0.0)
    write_policy: str = INVALIDATE
    failures: tuple = ()
    mtbf_s: float = 0.0
    mttr_s: float = 60.0

    def __post_init__(self) -> None:
        for name, allowed in CHOICES.items():  # the words of sim/vocabulary.py
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {getattr(self, name)!r}")

    @property
    def has_ttl(self) -> bool:
        return bool(self.ttl_by_class) or isinstance(self.ttl, Distribution) or self.ttl > 0

    @property
    def has_node_queue(self) -> bool:
        return self.node_concurrency > 0


@dataclass(frozen=True)
class BackendSpec:
    """The store behind the cache: service time in seconds and FCFS servers.

    coalesce: a miss for a key already being fetched joins that fetch instead
    of sending the backend another request.
    """

    latency: Distribution = Lognormal(0.005, 0.5)
    concurrency: int = 64
    coalesce: bool = False


@dataclass(frozen=True)
class BulkUpdates:
    """Periodic bulk updates: every `every_s` seconds the values of the listed key classes change at once.

    As when a recommender model is retrained and every item's features are
    recomputed.  invalidate: the cache drops those classes' entries at once
    (else they stay, stale, until they expire or are evicted).
    """

    every_s: float = 0.0
    classes: tuple = ()
    invalidate: bool = True


@dataclass(frozen=True)
class Scenario:
    """Everything one run needs but the seed.

    requests: measured requests; warmup: requests simulated before measuring.
    hit_latency: client <-> node round trip in seconds, paid by every request.
    timeout_s: a client gives up after this many seconds (0: never); counted.
    interval: seconds per time-series row, or "auto": about 50 rows, whatever the span
    (sim/timeseries.py).
    """

    workload: Workload
    cluster: ClusterSpec = field(default_factory=ClusterSpec)
    backend: BackendSpec = field(default_factory=BackendSpec)
    hit_latency: Distribution = Lognormal(0.0002, 0.3)
    requests: int = 200_000
    warmup: int = 50_000
    timeout_s: float = 0.0
    updates: BulkUpdates = field(default_factory=BulkUpdates)
    interval: float | str = "auto"

    @property
    def total_requests(self) -> int:
        return self.warmup + self.requests
