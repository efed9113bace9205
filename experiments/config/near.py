"""The near cache's keys: [near], each client group's own small cache (sim/near.py), and their checks.

    workload.clients = G         client groups; each request's group is drawn uniformly
    [near]                       capacity, policy, ttl_s, invalidation_delay_s, hit_latency_ms

near.capacity 0 (the default) is no near cache, so that a sweep over it can
hold the cluster alone as its first point.  `near_problem` is part of a
sweep point's check (experiments/config/loading.py): one line naming the
key and what is allowed, for a near cache on a workload without client
groups, a capacity in another unit than the cluster's, a policy that needs
the future or cannot be built at that capacity.  `near_fields` builds the
Scenario's fields (sim/scenario.py's Near).
"""

from __future__ import annotations

from dataclasses import dataclass

from experiments.config.checks import Capacity, integer, number, policy_name
from experiments.config.fleet import SPAN, capacity_or_none
from experiments.config.keys import key
from policies import make_policy, policy_class
from sim.scenario import Near

#: client groups a workload may have: each keeps its own near cache (a policy in memory)
MAX_CLIENTS = 4096

#: milliseconds a near hit may take (a day: the schema's MAX_MILLISECONDS)
MAX_HIT_MS = 86_400_000.0

clients_key = key(
    0,
    integer(0, MAX_CLIENTS),
    "client groups (application instances); each request's group is drawn uniformly; [near] gives each a "
    "near cache (0: no groups)",
)


@dataclass(frozen=True)
class NearSection:
    """[near]: each client group's near cache in front of the cluster (capacity 0: none)."""

    capacity: int | Capacity = key(
        0, capacity_or_none, "per client group, in cluster.capacity's unit (0: no near cache)"
    )
    policy: str = key("lru", policy_name, "the near caches' eviction policy")
    ttl_s: float = key(0.0, number(0, SPAN), "seconds a near entry lives (0: until evicted or invalidated)")
    invalidation_delay_s: float = key(
        0.0, number(0, SPAN), "seconds a landed write or an invalidating bulk update takes to reach the groups"
    )
    hit_latency_ms: float = key(0.0, number(0, MAX_HIT_MS), "a near hit's latency (ms; in the client's memory)")


def near_problem(config) -> str | None:
    """Why this point's near cache cannot be simulated (one line), or None."""
    near, cluster = config.near, config.cluster
    if not near.capacity:
        return None
    if not config.workload.clients:
        return "near.capacity: a near cache belongs to client groups; set workload.clients >= 1 (or near.capacity = 0)"
    if near.capacity.counts_bytes != cluster.capacity.counts_bytes:
        unit = "bytes" if cluster.capacity.counts_bytes else "objects"
        return f"near.capacity: must count {unit}, as cluster.capacity does"
    if getattr(policy_class(near.policy), "offline", False):
        return f"near.policy: {near.policy!r} needs the future of the request stream; choose an online policy"
    try:
        make_policy(near.policy, near.capacity.amount, capacity_bytes=near.capacity.counts_bytes)
    except Exception as error:  # a policy's own check of its capacity, in its words
        return f"near.policy: {near.policy!r} cannot be built at capacity {near.capacity.written}: {error}"
    return None


def near_fields(config) -> dict:
    """The Scenario's clients and near fields of a checked config (sim/scenario.py)."""
    near = config.near
    spec = None
    if near.capacity:
        spec = Near(
            near.capacity.amount,
            near.policy,
            float(near.ttl_s),
            float(near.invalidation_delay_s),
            near.hit_latency_ms / 1000.0,
        )
    return {"clients": config.workload.clients, "near": spec}
