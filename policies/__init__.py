"""Which key to evict: eviction policies, one module per family, and a registry.

    >>> from policies import make_policy
    >>> cache = make_policy("lru", capacity=2)
    >>> [cache.access(k) for k in "abacb"]
    [False, False, True, False, False]

Policies are pure synchronous objects with no clock (see policies/base.py).
``make_policy`` builds the readable Python reference; ``make_fast_policy``
the same policy compiled (policies/compiled.py) when ``engine()`` is
"compiled", as trace replay and the miss-ratio curves use it (they drive
policies but are not policies: experiments/analysis).
Registered names: arc, belady, clock, fifo, gdsf, lfu, lfuda, lirs, lru,
random, s3fifo, sieve, slru, twoq, wtinylfu; the servers' own policies:
redis-lru, redis-lfu, redis-random, memcached (with their memory models,
policies/server_memory.py); admission filters (size,
probabilistic, tinylfu) wrap any of them (policies/admission.py).
"""

import importlib as _importlib
import pkgutil as _pkgutil

from policies.admission import Admission, Admitted, available_admissions, register_admission
from policies.base import (
    HookPolicy,
    Policy,
    PolicyContractError,
    PolicyError,
    available,
    check_params,
    make_policy,
    policy_class,
    policy_parameters,
    register,
)
from policies.compiled import engine, make_fast_policy

# Importing a module registers its policies (@register): every module of the package is
# imported, so that a new policy module needs no line here.
for _module in _pkgutil.iter_modules(__path__):
    if not _module.name.startswith("_"):
        _importlib.import_module(f"{__name__}.{_module.name}")

__all__ = [
    "Admission",
    "Admitted",
    "available_admissions",
    "register_admission",
    "HookPolicy",
    "Policy",
    "PolicyContractError",
    "PolicyError",
    "available",
    "check_params",
    "engine",
    "make_fast_policy",
    "make_policy",
    "policy_class",
    "policy_parameters",
    "register",
]
