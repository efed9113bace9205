"""Which key to evict: eviction policies, one module per family, and a registry.

    >>> from policies import make_policy
    >>> cache = make_policy("lru", capacity=2)
    >>> [cache.access(k) for k in "abacb"]
    [False, False, True, False, False]

Policies are pure synchronous objects with no clock (see policies/base.py).
"""

from policies.base import (
    HookPolicy,
    Policy,
    PolicyError,
    available,
    check_params,
    make_policy,
    policy_class,
    policy_parameters,
    register,
)

# Importing the modules registers their policies.
from policies import clock, fifo, lfu, lru, rand  # noqa: F401,E402
from policies.replay import ReplayCounts, replay  # noqa: E402

__all__ = [
    "HookPolicy",
    "Policy",
    "PolicyError",
    "ReplayCounts",
    "available",
    "check_params",
    "make_policy",
    "policy_class",
    "policy_parameters",
    "register",
    "replay",
]
