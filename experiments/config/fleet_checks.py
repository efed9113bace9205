"""The living fleet's keys checked together, and built into the simulator's specs.

`fleet_problem` is part of a sweep point's check (experiments/config/loading.py):
one line naming the key and what is allowed, for changes out of time order
or after the run's end, a plan no fleet can follow (shrinking below one
node, an id removed that is not there: sim/fleet.py plans the whole run),
watermarks out of order, failover "gutter" without a pool, a warm-up without
its parameter, a policy that cannot be resized asked to, targets without a
fixed time-series interval, an [autoscale] whose keys do not fit its mode
(bounds out of order or around the fleet, a window that is not a multiple
of the interval, node utilisation without node queues).  (experiments/config/fleet.py builds the keys
into the simulator's specs.)
"""

from __future__ import annotations

import copy
import math

from experiments.config.checks import describe
from experiments.config.fleet import plan_fields
from experiments.config.limits import MAX_MEMBERSHIP_CHANGES, span_s
from experiments.config.schema import Config
from policies import Policy
from sim.fleet import FleetError, planned_ids
from sim.scenario import ClusterSpec
from sim.vocabulary import HIT_RATIO, NODE_UTILISATION, SCHEDULE, TO_GUTTER

#: node ids a run may use (cluster.nodes' own bound)
MAX_IDS = 4096


def fleet_problem(config: Config, policy: Policy | None) -> str | None:
    """Why this point's fleet keys cannot be simulated together (one line), or None."""
    for check in (_changes, _plan, _restarts, _failover, _warmup, _eviction, _targets, _autoscale):
        reason = check(config)
        if reason:
            return reason
    return _resizing(config, policy)


def _changes(config: Config) -> str | None:
    cluster, span = config.cluster, span_s(config)
    for index, change in enumerate(cluster.changes):
        where = f"cluster.changes[{index}]"
        if len(change.kinds) != 1:
            return f"{where}: needs exactly one of add, remove and capacity; got {' and '.join(change.kinds) or 'none'}"
        if change.nodes and change.kinds != ["capacity"]:
            return f"{where}.nodes: lists the nodes of a capacity change; this change is an {change.kinds[0]}"
        if change.provision_s and change.kinds != ["add"]:
            return f"{where}.provision_s: only an add provisions; this change is a {change.kinds[0]}"
        if change.capacity and change.capacity.counts_bytes != cluster.capacity.counts_bytes:
            unit = "bytes" if cluster.capacity.counts_bytes else "objects"
            return (
                f"{where}.capacity: must count {unit}, as cluster.capacity = {describe(cluster.capacity.written)} does"
            )
        if index and change.at_s < cluster.changes[index - 1].at_s:
            return (
                f"{where}.at_s: changes must be in time order; {change.at_s:g} s comes before the "
                f"{cluster.changes[index - 1].at_s:g} s of cluster.changes[{index - 1}]"
            )
        if span is not None and change.at_s > span:
            return (
                f"{where}.at_s: {change.at_s:g} s is after the run's end (about {span:.4g} s: "
                f"run.requests + run.warmup at workload.rate)"
            )
    return None


def _plan(config: Config) -> str | None:
    try:
        ids = planned_ids(ClusterSpec(nodes=config.cluster.nodes, capacity=1, **plan_fields(config.cluster)))
    except FleetError as error:
        return str(error)
    if ids > MAX_IDS:
        return f"cluster.changes: the fleet would need {ids} node ids at once; at most {MAX_IDS}"
    return None


def _restarts(config: Config) -> str | None:
    restarts, span = config.cluster.restarts, span_s(config)
    if not restarts.every_s:
        if restarts.down_s or restarts.gap_s or restarts.start_s:
            return "cluster.restarts: every_s is 0 (no restarts), yet down_s, gap_s or start_s is set"
        return None
    if not restarts.down_s:
        return "cluster.restarts.down_s: a node restarts for some time; must be > 0"
    if span is not None and span + restarts.down_s == span:  # (a float64 time there cannot hold it)
        return (
            f"cluster.restarts.down_s: {restarts.down_s:g} s is lost in the clock by the run's end ({span:.3g} "
            f"simulated seconds); at least {2 * math.ulp(span):.3g} s"
        )
    if span is not None:
        changes = 2 * config.cluster.nodes * span / restarts.every_s
        if changes > MAX_MEMBERSHIP_CHANGES:
            return (
                f"cluster.restarts.every_s: restarting {config.cluster.nodes} nodes every {restarts.every_s:g} s makes "
                f"about {changes:.3g} changes in {span:.3g} simulated seconds; at most {MAX_MEMBERSHIP_CHANGES:,}"
            )
    return None


def _failover(config: Config) -> str | None:
    cluster = config.cluster
    # A pool with another failover is not built (a sweep over cluster.failover keeps its [cluster.gutter]).
    if cluster.failover == TO_GUTTER and not cluster.gutter.nodes:
        return 'cluster.gutter.nodes: failover = "gutter" needs a gutter pool of at least one node'
    if cluster.gutter.nodes and cluster.gutter.capacity.counts_bytes != cluster.capacity.counts_bytes:
        unit = "bytes" if cluster.capacity.counts_bytes else "objects"
        return f"cluster.gutter.capacity: must count {unit}, as cluster.capacity does"
    return None


def _warmup(config: Config) -> str | None:
    warmup = config.cluster.warmup
    needs = {"read_through": ("for_s", warmup.for_s), "precopy": ("copy_rate", warmup.copy_rate)}
    for strategy, (name, value) in needs.items():
        if warmup.strategy == strategy and not value:
            return f'cluster.warmup.{name}: strategy "{strategy}" needs {name} > 0'
        if warmup.strategy != strategy and value:
            return f'cluster.warmup.{name}: is for strategy "{strategy}"; the strategy is "{warmup.strategy}"'
    if warmup.strategy == "read_through" and config.cluster.balancer == "random":
        return 'cluster.warmup: read_through fills from a key\'s previous owner; balancer "random" gives keys none'
    return None


def _eviction(config: Config) -> str | None:
    eviction = config.cluster.eviction
    if not eviction.high_watermark:
        if eviction.low_watermark or eviction.cost_per_entry_s:
            return "cluster.eviction: high_watermark is 0 (no batch eviction), yet low_watermark or cost_per_entry_s is set"
        return None
    if not 0 < eviction.low_watermark < eviction.high_watermark <= 1:
        return (
            "cluster.eviction: watermarks out of order: need 0 < low_watermark < high_watermark <= 1; got "
            f"low {eviction.low_watermark:g}, high {eviction.high_watermark:g}"
        )
    return None


def _targets(config: Config) -> str | None:
    if (config.targets.p99_ms or config.targets.hit_ratio) and config.run.interval == "auto":
        return (
            'targets: violation seconds are counted over timeseries.csv\'s rows: set run.interval (seconds), not "auto"'
        )
    return None


#: the most ticks a reactive autoscaler may make in a run
MAX_TICKS = 1_000_000


def _autoscale(config: Config) -> str | None:
    """[autoscale]: its keys for its mode, its bounds around the fleet, its window, its signal's needs."""
    section, cluster = config.autoscale, config.cluster
    if section.mode == "off":  # its other keys wait unused (a sweep over autoscale.mode keeps them)
        return None
    moving = [index for index, change in enumerate(cluster.changes) if change.add or change.remove]
    if moving:
        return f"cluster.changes[{moving[0]}]: [autoscale] sizes the fleet; a planned change may only set a capacity"
    if section.mode == SCHEDULE:
        return _schedule(section, cluster)
    return _reactive(section, config)


def _schedule(section, cluster) -> str | None:
    if not section.nodes_by_hour:
        return 'autoscale.nodes_by_hour: mode "schedule" needs 24 node counts, hour 0 first'
    if section.nodes_by_hour[0] != cluster.nodes:
        return (
            f"autoscale.nodes_by_hour: hour 0's {section.nodes_by_hour[0]} nodes must be cluster.nodes "
            f"({cluster.nodes}): the run starts at hour 0"
        )
    if section.provision_s >= 3600:
        return f"autoscale.provision_s: a schedule provisions within the hour before; must be < 3600, got {section.provision_s:g}"
    return None


def _reactive(section, config: Config) -> str | None:
    cluster, span = config.cluster, span_s(config)
    if not section.max_nodes:
        return 'autoscale.max_nodes: mode "reactive" needs the most nodes it may hold (1 to 4096)'
    if section.min_nodes > section.max_nodes:
        return f"autoscale.min_nodes: {section.min_nodes} is above max_nodes ({section.max_nodes})"
    if not section.min_nodes <= cluster.nodes <= section.max_nodes:
        return (
            f"cluster.nodes: {cluster.nodes} is outside the autoscaler's bounds "
            f"[{section.min_nodes}, {section.max_nodes}] (autoscale.min_nodes, max_nodes)"
        )
    if not section.low < section.high:
        return f"autoscale.high: the band needs low < high; got low {section.low:g}, high {section.high:g}"
    if section.signal == HIT_RATIO and section.high > 1:
        return f"autoscale.high: a hit ratio is at most 1; got {section.high:g}"
    window = section.window_s or section.interval_s
    ratio = window / section.interval_s
    if ratio < 1 or abs(ratio - round(ratio)) > 1e-9 * ratio:
        return f"autoscale.window_s: must be a multiple of interval_s ({section.interval_s:g} s); got {window:g} s"
    if section.signal == NODE_UTILISATION and not cluster.node_concurrency:
        return 'autoscale.signal: "node_utilisation" needs node queues (cluster.node_concurrency > 0)'
    if span is not None and span / section.interval_s > MAX_TICKS:
        return (
            f"autoscale.interval_s: a tick every {section.interval_s:g} s makes about "
            f"{span / section.interval_s:.3g} ticks in {span:.3g} simulated seconds; at most {MAX_TICKS:,}"
        )
    return None


def _resizing(config: Config, policy: Policy | None) -> str | None:
    """A capacity change or a batch eviction needs a policy that evicts to a size, at each new size."""
    cluster = config.cluster
    asked = [f"cluster.changes[{i}]" for i, c in enumerate(cluster.changes) if c.capacity]
    asked += ["cluster.eviction"] if cluster.eviction.high_watermark else []
    if not asked or policy is None:
        return None
    if not policy.resizable:
        why = " (lowering its memory limit frees no slab page at once)" if policy.name == "memcached" else ""
        return f"cluster.policy: {cluster.policy!r} cannot evict to a size{why}, which {asked[0]} needs"
    for index, change in enumerate(cluster.changes):
        if change.capacity:
            try:
                copy.deepcopy(policy).resize(change.capacity.amount)
            except ValueError as error:
                return f"cluster.changes[{index}].capacity: {error}"
    return None
