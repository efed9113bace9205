"""The living fleet's keys (issue 21): their tables, and what each value may be.

    [[cluster.changes]]          at_s, and one of add, remove, capacity (+ nodes), provision_s
    cluster.restarts = { every_s, down_s, order, gap_s, start_s }
    cluster.failover = "rehash" | "backend" | "gutter"
    [cluster.gutter]             nodes, capacity, policy, ttl_s
    cluster.warmup = { strategy, for_s, copy_rate }
    cluster.eviction = { high_watermark, low_watermark, cost_per_entry_s }
    [targets]                    p99_ms, hit_ratio
    [autoscale]                  mode = "reactive": signal, low, high, interval_s, window_s, step,
                                 min_nodes, max_nodes, cooldown_s, provision_s;
                                 mode = "schedule": nodes_by_hour, provision_s

Each table is a frozen dataclass of keys, as the schema's sections are
(experiments/config/keys.py); the schema's ClusterSection holds them, and
the checks that span keys (time order, the fleet's plan, watermarks in
order, a gutter with its failover) are experiments/config/fleet_checks.py's.
`fleet_spec` and `targets` build them into the simulator's ClusterSpec and
Scenario fields (sim/scenario.py; the simulator's side is sim/fleet.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from experiments.config.checks import Capacity, Invalid, capacity, choice, describe, integer, number, policy_name
from experiments.config.keys import key, one_table, table_list
from sim.scenario import Autoscale, Change, Eviction, Gutter, Restarts, Targets, Warmup
from sim.vocabulary import AUTOSCALE_MODES, SIGNALS, TO_GUTTER, WARMUP_STRATEGIES

#: the most seconds a fleet's times may be (limits.py's MAX_SPAN_S: float64 time keeps its resolution)
SPAN = 1e8


def removal(value):
    """remove = N (the N newest nodes) or a list of node ids."""
    if isinstance(value, list):
        if not value or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in value):
            raise Invalid(f"must be a number of nodes or a non-empty list of node ids >= 0; got {describe(value)}")
        if len(set(value)) != len(value):
            raise Invalid(f"must not repeat a node id; got {value}")
        return tuple(value)
    return integer(0, 4096)(value)


removal.allowed = "integer >= 0 (the newest nodes) or a list of node ids"


def node_ids(value):
    if not isinstance(value, list) or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in value):
        raise Invalid(f"must be a list of node ids >= 0; got {describe(value)}")
    return tuple(value)


node_ids.allowed = "a list of node ids"


def capacity_or_none(value):
    """0: no capacity change; else a capacity as cluster.capacity takes it."""
    return value if value == 0 and not isinstance(value, bool) else capacity(value)


capacity_or_none.allowed = '0 (none), an integer (objects) or a size such as "64MiB" (bytes)'


@dataclass(frozen=True)
class ChangeTable:
    """One of [[cluster.changes]]: a planned change of the fleet."""

    at_s: float = key(0.0, number(0, SPAN, low_open=True), "seconds of simulated time when the change is made")
    add: int = key(0, integer(0, 4096), "nodes that join, each taking the lowest free node id")
    remove: int | tuple = key(0, removal, "nodes that leave: a number (the newest ids) or a list of ids")
    capacity: int | Capacity = key(
        0, capacity_or_none, "a new capacity per node, in cluster.capacity's unit (0: no capacity change)"
    )
    nodes: tuple = key([], node_ids, "the nodes a capacity change applies to (empty: every node, and later ones)")
    provision_s: float = key(0.0, number(0, SPAN), "an add's nodes provision this long before they serve")

    @property
    def kinds(self) -> list[str]:
        return [name for name in ("add", "remove", "capacity") if getattr(self, name)]


@dataclass(frozen=True)
class RestartsTable:
    """cluster.restarts: rolling restarts of every node in turn (every_s 0: none)."""

    every_s: float = key(0.0, number(0, SPAN), "seconds between rolling restarts (0: none)")
    down_s: float = key(0.0, number(0, SPAN), "seconds each node is down; it comes back cold")
    order: str = key("id", choice("id", "random"), "the nodes' order in a restart: by id, or random per restart")
    gap_s: float = key(0.0, number(0, SPAN), "seconds between a node coming back and the next going down")
    start_s: float = key(0.0, number(0, SPAN), "when the first restart begins (0: after every_s)")


def policy_or_clusters(value):
    return value if value == "" else policy_name(value)


policy_or_clusters.allowed = '"" (the cluster\'s policy) or a policy name'


@dataclass(frozen=True)
class GutterTable:
    """[cluster.gutter]: the gutter pool that takes a down node's keys (cluster.failover = "gutter"; with
    another failover it is not built, so that a sweep over cluster.failover can keep it)."""

    nodes: int = key(0, integer(0, 4096), "gutter nodes (0: no pool)")
    capacity: Capacity = key(1000, capacity, "per gutter node, in cluster.capacity's unit")
    policy: str = key("", policy_or_clusters, 'eviction policy ("": the cluster\'s)')
    ttl_s: float = key(10.0, number(0, SPAN, low_open=True), "seconds a gutter entry lives at most")


@dataclass(frozen=True)
class WarmupTable:
    """cluster.warmup: how a node that joins or comes back is warmed."""

    strategy: str = key(
        WARMUP_STRATEGIES[0],
        choice(*WARMUP_STRATEGIES),
        '"cold": nothing; "read_through": a miss is filled from the key\'s previous owner for for_s; '
        '"precopy": the previous owners\' hottest entries are copied before it serves',
    )
    for_s: float = key(
        0.0, number(0, SPAN), "read_through: seconds after a node starts serving that misses read through"
    )
    copy_rate: float = key(0.0, number(0, 1e12), "precopy: entries copied per second of provisioning or outage")


@dataclass(frozen=True)
class EvictionTable:
    """cluster.eviction: batch eviction between watermarks (high_watermark 0: off)."""

    high_watermark: float = key(0.0, number(0, 1), "fraction of capacity at which a batch eviction starts (0: off)")
    low_watermark: float = key(0.0, number(0, 1), "fraction of capacity a batch eviction frees down to")
    cost_per_entry_s: float = key(
        0.0, number(0, 86_400), "node time per entry evicted, with node queues (a worker busy)"
    )


@dataclass(frozen=True)
class TargetsSection:
    """[targets]: service targets; the seconds of timeseries.csv whose rows miss one are violation_s."""

    p99_ms: float = key(0.0, number(0), "a p99 latency target, ms (0: none)")
    hit_ratio: float = key(0.0, number(0, 1), "a hit-ratio target (0: none)")


def hourly_counts(value):
    """autoscale.nodes_by_hour: [] (none) or 24 node counts, hour 0 first."""
    if not isinstance(value, list) or not all(isinstance(n, int) and not isinstance(n, bool) for n in value):
        raise Invalid(f"must be a list of 24 node counts (hour 0 first); got {describe(value)}")
    if value and (len(value) != 24 or not all(1 <= n <= 4096 for n in value)):
        raise Invalid(f"must be 24 node counts from 1 to 4096 (hour 0 first); got {len(value)} values: {value}")
    return tuple(value)


hourly_counts.allowed = "a list of 24 node counts from 1 to 4096, hour 0 first"


@dataclass(frozen=True)
class AutoscaleSection:
    """[autoscale]: the fleet sized as the run goes (sim/autoscale.py), reactively or by a schedule."""

    mode: str = key("off", choice("off", *AUTOSCALE_MODES), '"off", "reactive" (from a signal) or "schedule"')
    signal: str = key(SIGNALS[0], choice(*SIGNALS), "reactive: what it reads over the last window")
    low: float = key(0.0, number(0, 1e12), "reactive: below it, fewer nodes (hit_ratio: more)")
    high: float = key(0.0, number(0, 1e12), "reactive: above it, more nodes (hit_ratio: fewer)")
    interval_s: float = key(60.0, number(0, SPAN, low_open=True), "reactive: seconds between decisions (ticks)")
    window_s: float = key(
        0.0, number(0, SPAN), "reactive: seconds of requests a tick reads, a multiple of interval_s (0: one)"
    )
    step: int = key(1, integer(1, 4096), "reactive: nodes added or removed at once")
    min_nodes: int = key(1, integer(1, 4096), "reactive: fewest nodes, provisioning ones counted")
    max_nodes: int = key(0, integer(0, 4096), "reactive: most nodes, provisioning ones counted (needed)")
    cooldown_s: float = key(0.0, number(0, SPAN), "reactive: seconds after a decision before the next")
    provision_s: float = key(0.0, number(0, SPAN), "seconds an added node provisions before it serves")
    nodes_by_hour: tuple = key([], hourly_counts, "schedule: 24 node counts, hour 0 first (cluster.nodes), daily")


changes = table_list(ChangeTable, required=("at_s",))
restarts = one_table(RestartsTable)
gutter = one_table(GutterTable)
warmup = one_table(WarmupTable)
eviction = one_table(EvictionTable)


# -- into the simulator's specs ---------------------------------------------------------------------
def plan_fields(cluster) -> dict:
    """The ClusterSpec's planned changes (sim/scenario.py's Change)."""
    return {"changes": tuple(_change(c) for c in cluster.changes)}


def _change(change) -> Change:
    return Change(
        at_s=float(change.at_s),
        add=change.add,
        remove=change.remove,
        capacity=change.capacity.amount if change.capacity else 0,
        nodes=change.nodes,
        provision_s=float(change.provision_s),
    )


def fleet_spec(cluster) -> dict:
    """The ClusterSpec fields of a checked [cluster]'s fleet keys (sim/scenario.py)."""
    restarts, gutter, warmup, eviction = cluster.restarts, cluster.gutter, cluster.warmup, cluster.eviction
    return {
        **plan_fields(cluster),
        "restarts": Restarts(
            float(restarts.every_s),
            float(restarts.down_s),
            restarts.order,
            float(restarts.gap_s),
            float(restarts.start_s) if restarts.start_s else None,
        )
        if restarts.every_s
        else None,
        "failover": cluster.failover,
        "gutter": Gutter(gutter.nodes, gutter.capacity.amount, gutter.policy, float(gutter.ttl_s))
        if gutter.nodes and cluster.failover == TO_GUTTER  # (only then: experiments/config/fleet_checks.py)
        else None,
        "warmup": Warmup(warmup.strategy, float(warmup.for_s), float(warmup.copy_rate)),
        "eviction": Eviction(
            float(eviction.high_watermark), float(eviction.low_watermark), float(eviction.cost_per_entry_s)
        )
        if eviction.high_watermark
        else None,
    }


def autoscale(section: AutoscaleSection) -> Autoscale | None:
    """The simulator's Autoscale of a checked [autoscale] (None when off)."""
    if section.mode == "off":
        return None
    return Autoscale(
        mode=section.mode,
        signal=section.signal,
        low=float(section.low),
        high=float(section.high),
        interval_s=float(section.interval_s),
        window_s=float(section.window_s or section.interval_s),
        step=section.step,
        min_nodes=section.min_nodes,
        max_nodes=section.max_nodes,
        cooldown_s=float(section.cooldown_s),
        provision_s=float(section.provision_s),
        nodes_by_hour=tuple(section.nodes_by_hour),
    )


def targets(section: TargetsSection) -> Targets:
    return Targets(float(section.p99_ms), float(section.hit_ratio))
