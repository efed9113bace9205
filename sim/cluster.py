"""Building the cache tier of a scenario: each node's policy, and the nodes."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from policies import Policy, make_policy, policy_class, policy_parameters
from policies.admission import admission_class
from sim.node import CacheNode
from sim.scenario import ClusterSpec
from sim.vocabulary import REFRESH_ON_HIT
from workloads.rng import stable_id


def policy_makers(spec: ClusterSpec, seed: int) -> list[Callable[[], Policy]]:
    """Per node, a function that makes the node's policy afresh: at the start, and after each failure.

    A randomized policy or admission filter gets a seed of its own per node;
    a node that comes back after a failure starts from that same seed, as a
    restarted server with a configured seed would.
    """
    makers = []
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
        makers.append(partial(make_policy, spec.policy, spec.capacity, capacity_bytes=spec.capacity_bytes, **params))
    return makers


def build_nodes(spec: ClusterSpec, seed: int) -> list[CacheNode]:
    """One CacheNode per node, each with its policy maker (see policy_makers)."""
    refresh_on_hit = spec.ttl_mode == REFRESH_ON_HIT
    return [CacheNode(maker, spec.capacity_bytes, refresh_on_hit) for maker in policy_makers(spec, seed)]


def _takes_seed(policy_name: str) -> bool:
    return "seed" in policy_parameters(policy_class(policy_name))
