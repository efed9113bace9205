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
the curve we draw, against the capacity per node C and against the node
count N: che_hit_ratio(p, N x C), for capacities counted in objects.  It
leaves out

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

Both need the probability of every key: no curve is drawn for a catalogue
above workloads.popularity.PMF_MAX_KEYS (10**7) keys.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from sim import theory
from workloads import Uniform, Zipf
from workloads.popularity import PMF_MAX_KEYS


@lru_cache(maxsize=16)
def _pmf(popularity: str, keys: int, alpha: float) -> np.ndarray:
    law = Zipf(keys, alpha) if popularity == "zipf" else Uniform(keys)
    return law.pmf()


def popularity(config: dict) -> np.ndarray | None:
    """The request probability of each key (by rank), or None for an unknown law or a catalogue too large."""
    workload = config["workload"]
    if workload["popularity"] not in ("zipf", "uniform") or int(workload["keys"]) > PMF_MAX_KEYS:
        return None
    return _pmf(workload["popularity"], int(workload["keys"]), float(workload["alpha"]))


def capacity_objects(capacity) -> float | None:
    """A capacity per node counted in objects, or None for a size in bytes.

    (Che's approximation counts objects; with sizes it needs a size per key,
    which the plots do not draw for.)
    """
    if isinstance(capacity, bool) or not isinstance(capacity, (int, float)):
        return None
    return float(capacity)


def lru_hit_ratio(config: dict) -> float | None:
    """Che's LRU hit ratio of the cluster as one LRU of N x C objects (see the module docstring), or None."""
    cluster = config["cluster"]
    p = popularity(config)
    objects = capacity_objects(cluster["capacity"])
    if cluster["policy"] != "lru" or float(cluster["ttl"]) > 0 or p is None or objects is None:
        return None
    return theory.che_hit_ratio(p, float(cluster["nodes"]) * objects)


def along(key: str, predict):
    """A curve maker: `predict`(config) at each value of the dotted `key`; None where it does not apply."""

    def curve(config: dict, values) -> np.ndarray | None:
        section, _, name = key.partition(".")
        predicted = []
        for value in values:
            point = {**config, section: {**config[section], name: value}}
            predicted.append(predict(point))
        return None if any(p is None for p in predicted) else np.array(predicted, dtype=float)

    return curve


def ttl_hit_ratio(config: dict) -> float | None:
    """Hit ratio of a TTL cache that never evicts (see the module docstring), or None."""
    p = popularity(config)
    objects = capacity_objects(config["cluster"]["capacity"])
    ttl = float(config["cluster"]["ttl"])
    if p is None or objects is None or objects < len(p) or ttl <= 0:
        return None
    return theory.ttl_hit_ratio_catalogue(p, float(config["workload"]["rate"]), ttl)


#: predicted curves against a swept key, as the plots draw them
lru_capacity_curve = along("cluster.capacity", lru_hit_ratio)
lru_nodes_curve = along("cluster.nodes", lru_hit_ratio)
ttl_curve = along("cluster.ttl", ttl_hit_ratio)
