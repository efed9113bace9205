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

from sim.vocabulary import (
    BACKEND_UTILISATION,
    CHOICES,
    COLD,
    CONSISTENT,
    FLEET_FEATURES,
    INVALIDATE,
    LAZY,
    REACTIVE,
    REHASH,
    SET_ON_INSERT,
    TO_GUTTER,
)
from workloads import Constant, Distribution, Lognormal, Workload


@dataclass(frozen=True)
class Outage:
    """Node `node` is down from `down_at` until `up_at` (seconds); it comes back cold."""

    node: int
    down_at: float
    up_at: float = float("inf")


@dataclass(frozen=True)
class Change:
    """A planned change of the fleet at `at_s` seconds: exactly one of add, remove or capacity.

    add:         N nodes join, each taking the lowest free node id (ids are StatefulSet-like ordinals:
                 the first nodes are 0 .. nodes-1, and a removed id may be taken again)
    remove:      N (the N highest ids: the newest) or a tuple of node ids
    capacity:    a new capacity (in the cluster's unit) for the `nodes` listed, or, with no `nodes`,
                 for the whole fleet: every member, and nodes added later
    provision_s: an add's nodes are provisioning this long before they serve (pre-copy happens then)
    """

    at_s: float
    add: int = 0
    remove: int | tuple = 0
    capacity: int = 0
    nodes: tuple = ()
    provision_s: float = 0.0

    @property
    def kind(self) -> str:
        return "add" if self.add else "remove" if self.remove else "capacity"


@dataclass(frozen=True)
class Restarts:
    """Rolling restarts: from `start_s` (None: `every_s`), every `every_s` seconds, the members in turn
    (by id, or in a random order per restart) go down for `down_s` and come back cold, the next going
    down `gap_s` after the previous is back."""

    every_s: float
    down_s: float
    order: str = "id"
    gap_s: float = 0.0
    start_s: float | None = None

    @property
    def first_s(self) -> float:
        return self.every_s if self.start_s is None else self.start_s


@dataclass(frozen=True)
class Warmup:
    """How a node that joins or returns is warmed: "cold" (nothing), "read_through" (for `for_s`
    seconds a miss there is filled from the key's previous owner when it holds the key), or "precopy"
    (up to `copy_rate` entries per second of provisioning or outage, copied when it starts serving)."""

    strategy: str = COLD
    for_s: float = 0.0
    copy_rate: float = 0.0


@dataclass(frozen=True)
class Gutter:
    """The gutter pool (Facebook's memcache, NSDI 2013, section 3.3): `nodes` small nodes that take a
    down node's keys, each entry kept at most `ttl_s` seconds.  policy "" is the cluster's."""

    nodes: int = 1
    capacity: int = 1000
    policy: str = ""
    ttl_s: float = 10.0


@dataclass(frozen=True)
class Eviction:
    """Batch eviction: when an insert leaves a node at or above `high_watermark` x capacity, it evicts
    down to `low_watermark` x capacity at once; with node queues the burst keeps one worker busy for
    `cost_per_entry_s` per entry evicted."""

    high_watermark: float = 1.0
    low_watermark: float = 0.9
    cost_per_entry_s: float = 0.0


@dataclass(frozen=True)
class Autoscale:
    """The autoscaler (sim/autoscale.py says how it acts).

    mode "reactive": every `interval_s` seconds (a tick) it reads `signal` over the last `window_s`
    seconds (a multiple of interval_s) and adds `step` nodes above `high` (below `low` for hit_ratio),
    removes `step` below `low` (above `high` for hit_ratio), keeping the nodes provisioning or members
    within [min_nodes, max_nodes], and deciding nothing within `cooldown_s` of its last decision; an
    added node provisions `provision_s` seconds before it serves.
    mode "schedule": `nodes_by_hour`, 24 node counts (hour 0 is cluster.nodes), cycling daily; an hour
    with more nodes than the one before starts provisioning them `provision_s` before the hour.
    """

    mode: str = REACTIVE
    signal: str = BACKEND_UTILISATION
    low: float = 0.0
    high: float = 0.0
    interval_s: float = 60.0
    window_s: float = 60.0
    step: int = 1
    min_nodes: int = 1
    max_nodes: int = 1
    cooldown_s: float = 0.0
    provision_s: float = 0.0
    nodes_by_hour: tuple = ()

    @property
    def reactive(self) -> bool:
        return self.mode == REACTIVE

    @property
    def most_nodes(self) -> int:
        """The most node ids provisioning or members at once: what per-node arrays need."""
        return self.max_nodes if self.reactive else max(self.nodes_by_hour)


@dataclass(frozen=True)
class Targets:
    """Service targets (0: none): the time-series rows that miss one count toward `violation_s`."""

    p99_ms: float = 0.0
    hit_ratio: float = 0.0

    def __bool__(self) -> bool:
        return bool(self.p99_ms or self.hit_ratio)


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

    A fleet that lives (sim/fleet.py):
    changes:        planned Change objects, in time order
    restarts:       rolling Restarts, or None
    failover:       where a down node's keys go: "rehash" (the balancer ranks the nodes up), "backend"
                    (straight there, nothing cached) or "gutter" (the gutter pool)
    gutter:         the Gutter pool (failover "gutter")
    warmup:         how a joining or returning node is warmed (Warmup)
    eviction:       batch Eviction between watermarks, or None (a policy evicts what each insert needs)
    autoscale:      the Autoscale that sizes the fleet ([autoscale] in a config), or None; it goes with
                    no planned add or remove
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
    changes: tuple = ()
    restarts: Restarts | None = None
    failover: str = REHASH
    gutter: Gutter | None = None
    warmup: Warmup = Warmup()
    eviction: Eviction | None = None
    autoscale: Autoscale | None = None

    def __post_init__(self) -> None:
        for name, allowed in CHOICES.items():  # the words of sim/vocabulary.py
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {getattr(self, name)!r}")
        if (self.failover == TO_GUTTER) != (self.gutter is not None):
            raise ValueError('a gutter pool goes with failover = "gutter", and failover "gutter" needs one')
        if self.autoscale is not None and any(change.add or change.remove for change in self.changes):
            raise ValueError("an autoscaler sizes the fleet: planned changes may only change capacity")

    @property
    def gutter_nodes(self) -> int:
        return self.gutter.nodes if self.gutter is not None else 0

    @property
    def fleet_features(self) -> tuple:
        """The living fleet's features this cluster uses (sim/vocabulary.py's FLEET_FEATURES): what only
        sim/fleet.py knows, beyond failures of a fixed set of nodes."""
        used = {
            "changes": bool(self.changes),
            "restarts": self.restarts is not None,
            "failover": self.failover != REHASH,
            "warmup": self.warmup.strategy != COLD,
            "eviction": self.eviction is not None,
            "autoscale": self.autoscale is not None,
        }
        return tuple(feature for feature in FLEET_FEATURES if used[feature])

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
class Near:
    """[near]: each client group keeps a small cache of its own in front of the cluster (sim/near.py).

    capacity:             per group, in the cluster's unit (objects, or bytes with capacity_bytes)
    policy:               its eviction policy (a registry name)
    ttl_s:                seconds an entry lives there (0: until evicted or invalidated)
    invalidation_delay_s: how long a landed write or an invalidating bulk update takes to reach the groups
    hit_latency_s:        a near hit's latency (the client's own memory: 0 by default)
    """

    capacity: int = 100
    policy: str = "lru"
    ttl_s: float = 0.0
    invalidation_delay_s: float = 0.0
    hit_latency_s: float = 0.0


@dataclass(frozen=True)
class Scenario:
    """Everything one run needs but the seed.

    requests: measured requests; warmup: requests simulated before measuring.
    hit_latency: client <-> node round trip in seconds, paid by every request.
    timeout_s: a client gives up after this many seconds (0: never); counted.
    interval: seconds per time-series row, or "auto": about 50 rows, whatever the span
    (sim/timeseries.py).
    targets: service targets; the seconds of the time series that miss them are `violation_s`.
    clients: client groups (workload.clients): each request's group is drawn uniformly (sim/draws.py);
    0: no groups.  near: each group's near cache (Near), which needs groups; None: none.
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
    targets: Targets = field(default_factory=Targets)
    clients: int = 0
    near: Near | None = None

    def __post_init__(self) -> None:
        if self.near is not None and self.clients < 1:
            raise ValueError("a near cache belongs to client groups: it needs clients >= 1")

    @property
    def client_features(self) -> tuple:
        """The clients' features this scenario uses (sim/vocabulary.py's CLIENT_FEATURES)."""
        return ("near_cache",) if self.near is not None else ()

    @property
    def total_requests(self) -> int:
        return self.warmup + self.requests
