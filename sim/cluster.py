"""Building the cache tier of a scenario: each node's policy, and the nodes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from policies import Policy, make_policy, policy_class, policy_parameters
from policies.admission import admission_class
from sim.node import CacheNode
from sim.scenario import ClusterSpec, Near
from sim.vocabulary import PRECOPY, REFRESH_ON_HIT
from workloads.rng import stable_id


def policy_makers(spec: ClusterSpec, seed: int, ids: int | None = None) -> list[Callable[..., Policy]]:
    """Per node id, a function that makes the node's policy afresh: at the start, and after each failure.

    ``maker(capacity)`` makes it with another capacity than the cluster's (a
    resized node that comes back).  A randomized policy or admission filter
    gets a seed of its own per node id; a node that comes back after a
    failure (or an id taken again) starts from that same seed, as a
    restarted server with a configured seed would.  `ids`: how many node ids
    (the fleet's P, sim/fleet.py; the cluster's nodes by default).
    """
    return [
        _maker(spec.policy, spec.policy_params, spec.capacity, spec.capacity_bytes, f"{seed}/{index}")
        for index in range(spec.nodes if ids is None else ids)
    ]


def gutter_makers(spec: ClusterSpec, seed: int) -> list[Callable[..., Policy]]:
    """Per gutter node, its policy maker (the gutter's policy, or the cluster's, at the gutter's capacity)."""
    gutter = spec.gutter
    if gutter is None:
        return []
    name, params = (gutter.policy, ()) if gutter.policy else (spec.policy, spec.policy_params)
    return [
        _maker(name, params, gutter.capacity, spec.capacity_bytes, f"{seed}/gutter{index}")
        for index in range(gutter.nodes)
    ]


def near_makers(near: Near, capacity_bytes: bool, seed: int, groups: int) -> list[Callable[..., Policy]]:
    """Per client group, the policy maker of its near cache (sim/scenario.py's Near), seeded per group."""
    return [_maker(near.policy, (), near.capacity, capacity_bytes, f"{seed}/near{group}") for group in range(groups)]


def _maker(
    name: str, policy_params: Iterable[tuple[str, Any]], capacity: int, capacity_bytes: bool, tag: str
) -> Callable[..., Policy]:
    params = dict(policy_params)
    if _takes_seed(name) and "seed" not in params:
        params["seed"] = stable_id(f"policy/{tag}") % 2**32
    admission = params.get("admission")
    admission_params = dict(params.get("admission_params") or {})
    if (
        isinstance(admission, str)
        and "seed" in policy_parameters(admission_class(admission))
        and "seed" not in admission_params
    ):
        admission_params["seed"] = stable_id(f"admission/{tag}") % 2**32
        params["admission_params"] = admission_params
    return partial(_make, name, capacity, capacity_bytes, params)


def _make(name: str, default_capacity: int, capacity_bytes: bool, params: dict, capacity: int | None = None) -> Policy:
    return make_policy(name, capacity or default_capacity, capacity_bytes=capacity_bytes, **params)


def build_nodes(spec: ClusterSpec, seed: int, ids: int | None = None) -> list[CacheNode]:
    """One CacheNode per node id, then one per gutter node (see policy_makers, gutter_makers)."""
    refresh_on_hit = spec.ttl_mode == REFRESH_ON_HIT
    marks = (spec.eviction.high_watermark, spec.eviction.low_watermark) if spec.eviction else None
    keep_sizes = spec.warmup.strategy == PRECOPY and spec.capacity_bytes
    nodes = [
        CacheNode(maker, spec.capacity_bytes, refresh_on_hit, watermarks=marks, keep_sizes=keep_sizes)
        for maker in policy_makers(spec, seed, ids)
    ]
    ttl = spec.gutter.ttl_s if spec.gutter else 0.0
    nodes += [
        CacheNode(maker, spec.capacity_bytes, max_ttl=ttl, keep_sizes=keep_sizes) for maker in gutter_makers(spec, seed)
    ]
    return nodes


def _takes_seed(policy_name: str) -> bool:
    return "seed" in policy_parameters(policy_class(policy_name))
