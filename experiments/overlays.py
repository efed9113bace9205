"""What theory predicts for a config: the analytic curves drawn over simulated ones.

Each function takes a resolved point config (nested dict, as in
manifest.json) and a range of the swept quantity, and returns the predicted
hit ratios, or None where the theory does not apply to that config.  Plots
draw a curve only when it applies, so a dashed line always means something.

LRU capacity curve: Che's approximation (sim.theory.che_hit_ratio)
---------------------------------------------------------------------
Poisson arrivals with independent Zipf (or uniform) keys are the independent
reference model (IRM) Che's approximation is made for.  In a cluster each key
lives on one node, so node n is an LRU of capacity C serving the IRM
substream of its own keys, and Che's approximation applies to it with its
own characteristic time.  When the balancer spreads keys evenly (a random
1/N of the catalogue per node, as a hash does), the N characteristic times
are the same in units of the whole stream, and the N nodes together have the
hit ratio of ONE LRU of capacity N x C over the whole catalogue.  That is
the curve we draw: che_hit_ratio(p, N x C).  It leaves out

* the balancer's unevenness: computing Che per node with the actual
  consistent-hash assignment moves the quickstart's curve by under 0.001;
* the time between a miss and its fill: a miss is stored when the backend
  answers, so requests for a hot key arriving meanwhile miss too.  When the
  backend queues (small caches, many misses) the simulation falls below the
  curve; that gap is the queue's doing, not the cache's;
* a warm-up too short to fill a large cache: the simulation starts empty.

TTL curve: a TTL cache without a capacity limit (sim.theory.ttl_hit_ratio_catalogue)
--------------------------------------------------------------------------------
An entry expires `ttl` seconds after insertion and a hit does not extend it
(memcached's rule), so a key requested at Poisson rate r hits with
probability r t / (1 + r t).  It applies when no node can ever evict: the
capacity per node is at least the whole catalogue.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from experiments.config import Invalid, capacity_value
from sim import theory
from workloads import Uniform, Zipf


@lru_cache(maxsize=16)
def _pmf(popularity: str, keys: int, alpha: float) -> np.ndarray:
    law = Zipf(keys, alpha) if popularity == "zipf" else Uniform(keys)
    return law.pmf()


def popularity(config: dict) -> np.ndarray | None:
    """The request probability of each key (by rank), or None for an unknown law."""
    workload = config["workload"]
    if workload["popularity"] not in ("zipf", "uniform"):
        return None
    return _pmf(workload["popularity"], int(workload["keys"]), float(workload["alpha"]))


def object_bytes(config: dict) -> int | None:
    """The size of every object when all have one size, else None."""
    size = config["workload"]["object_size"]
    if isinstance(size, dict):
        return int(size["bytes"]) if size.get("dist") == "constant" else None
    if isinstance(size, (int, float)) and not isinstance(size, bool):
        return max(1, round(size))
    return None


def capacity_objects(config: dict, capacity) -> float | None:
    """A capacity per node (an object count or a size) in objects, when that is well defined."""
    try:
        amount, in_bytes = capacity_value(capacity)
    except (Invalid, TypeError, ValueError):
        return None
    if not in_bytes:
        return float(amount)
    size = object_bytes(config)
    return amount / size if size else None


def lru_capacity_curve(config: dict, capacities) -> np.ndarray | None:
    """Che's LRU hit ratio for each capacity per node (see the module docstring)."""
    cluster = config["cluster"]
    p = popularity(config)
    if cluster["policy"] != "lru" or float(cluster["ttl"]) > 0 or p is None:
        return None
    objects = [capacity_objects(config, c) for c in capacities]
    if any(o is None for o in objects):
        return None
    nodes = int(cluster["nodes"])
    return np.array([theory.che_hit_ratio(p, nodes * o) for o in objects])


def lru_hit_ratio(config: dict) -> float | None:
    """Che's LRU hit ratio at the config's own capacity, or None."""
    curve = lru_capacity_curve(config, [config["cluster"]["capacity"]])
    return None if curve is None else float(curve[0])


def ttl_curve(config: dict, ttls) -> np.ndarray | None:
    """Hit ratio of a TTL cache that never evicts, for each TTL in seconds (see the module docstring)."""
    p = popularity(config)
    objects = capacity_objects(config, config["cluster"]["capacity"])
    if p is None or objects is None or objects < len(p):
        return None
    rate = float(config["workload"]["rate"])
    return np.array([theory.ttl_hit_ratio_catalogue(p, rate, float(t)) for t in ttls])
