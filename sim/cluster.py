"""Building the cache tier of a scenario: nodes, their policies, the balancer."""

from __future__ import annotations

from policies import make_policy, policy_class, policy_parameters
from policies.admission import admission_class
from sim.node import CacheNode
from sim.scenario import ClusterSpec
from workloads.rng import stable_id


def build_nodes(spec: ClusterSpec, seed: int) -> list[CacheNode]:
    """One CacheNode per node; a randomized policy or admission filter gets its own seed per node."""
    nodes = []
    for index in range(spec.nodes):
        params = dict(spec.policy_params)
        if _takes_seed(spec.policy) and "seed" not in params:
            params["seed"] = stable_id(f"policy/{seed}/{index}") % 2**32
        admission = params.get("admission")
        admission_params = dict(params.get("admission_params") or {})
        if (
            isinstance(admission, str)
            and "seed" in policy_parameters(admission_class(admission))
            and "seed" not in admission_params
        ):
            admission_params["seed"] = stable_id(f"admission/{seed}/{index}") % 2**32
            params["admission_params"] = admission_params
        policy = make_policy(spec.policy, spec.capacity, capacity_bytes=spec.capacity_bytes, **params)
        nodes.append(CacheNode(policy, capacity_bytes=spec.capacity_bytes, refresh_on_hit=spec.ttl_refresh))
    return nodes


def _takes_seed(policy_name: str) -> bool:
    return "seed" in policy_parameters(policy_class(policy_name))
