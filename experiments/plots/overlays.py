"""What theory predicts for a config: the analytic curves drawn over simulated ones.

Each `Overlay` draws a prediction against one swept key, from a resolved
point config (nested dict, as in manifest.json).  A prediction is None where
the theory's assumptions about the requests and the cluster do not hold,
and then no curve is drawn: a dashed line always means something.  Where
they hold but the run still leaves the theory's ground (a saturated
backend), the figure says so in a note (`saturation` finds such points).

The assumptions, shared by both curves (`stream_departure`)
------------------------------------------------------------
* The independent reference model (IRM): each request's key is drawn
  afresh from a fixed Zipf or uniform law over the catalogue.  No trace, no
  key classes, no scans or one-hit wonders, no drift, no writes, no bulk
  updates: each of these changes which keys are requested or cached.
* Each key lives on one node: a hashing balancer (consistent, modulo,
  rendezvous), one replica, no failures.  (Random spraying and the load-aware
  balancers put a key on several nodes.)
* A miss is stored at once.  In the simulation it is stored when the backend
  answers, and requests for the key arriving meanwhile miss too.  With the
  shipped 5 ms backend that costs LRU 0.002 to 0.005 (most for a small cache,
  whose keys come back soonest: capacity_curve at 200 objects measures 0.169
  against 0.174, and 0.174 with a backend that answers in a microsecond); the
  legend says "instant fills" to keep it in mind.  When the backend is
  saturated (misses arrive faster than it serves them) its queue grows, fills
  arrive later and later and the simulation falls well below the curve: the
  quickstart at 500 objects per node, 0.383 simulated against 0.411.
  `saturation` names such points for the figure's note.

LRU capacity curve: Che's approximation, from an empty cache
------------------------------------------------------------
In a cluster each key lives on one node, so node n is an LRU of capacity C
serving the IRM substream of its own keys.  When the balancer spreads keys
evenly (a random 1/N of the catalogue per node, as a hash does), the N
characteristic times are the same in units of the whole stream, and the N
nodes together have the hit ratio of ONE LRU of capacity N x C over the
whole catalogue: che_hit_ratio(p, N x C), for capacities counted in objects.
(The balancer's actual unevenness moves the quickstart's curve by under
0.001.)

A run starts with empty caches, and a warm-up of W requests may not fill a
large one.  Che's approximation answers for that too (`che_from_empty`): a
key stays T requests after its last request (T, the characteristic time,
is also the number of requests after which about C distinct keys have been
seen, so the cache is full from then on).  The request at position w hits
when its key was requested within the last min(w, T) requests, and the
curve drawn is that hit ratio averaged over the measured requests W .. W+M.
With W >= T it is Che's steady state; the quickstart at 10,000 objects per
node has T = 139,000 and W = 50,000: 0.803 from empty (0.801 simulated)
against 0.824 in steady state, which the figure draws dotted.

TTL curve: a TTL cache without a capacity limit (sim.theory.ttl_hit_ratio_catalogue)
--------------------------------------------------------------------------------
An entry expires `ttl` seconds after insertion, and a hit does not extend it
(memcached's rule, ttl_mode "insert"), so a key requested at Poisson rate r
hits with probability r t / (1 + r t); with ttl_mode "refresh" a hit
restarts it: 1 - exp(-r t).  It applies when no node can ever evict: the
capacity per node is at least the whole catalogue.  It is a steady state:
it is drawn where the warm-up lasts at least one TTL (warm-up / rate >= ttl),
so that measurement starts with entries of every age.

Both need the probability of every key: no curve is drawn for a catalogue
above workloads.popularity.PMF_MAX_KEYS (10**7) keys.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from experiments.config.build import latency_seconds
from workloads import Uniform, Zipf
from workloads.popularity import PMF_MAX_KEYS

#: balancers that give each key one home node (the others spread a key over several)
ONE_HOME = ("consistent", "modulo", "rendezvous")


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


def stream_departure(config: dict) -> str | None:
    """Why the requests or the cluster are not what the formulas assume (module docstring), or None."""
    workload, cluster, updates = config["workload"], config["cluster"], config["updates"]
    reasons = {
        "a trace": workload["trace"],
        "key classes": workload["classes"],
        "scans": workload["scan_fraction"],
        "one-hit wonders": workload["one_hit_fraction"],
        "popularity drift": workload["rotate_every_s"] and workload["rotate_by"],
        "new keys": workload["new_keys_per_s"],
        "writes": workload["write_fraction"],
        "bulk updates": updates["every_s"],
        "failures": cluster["failures"] or cluster["mtbf_s"],
        "replicas": cluster["replicas"] != 1,
        f"the {cluster['balancer']} balancer": cluster["balancer"] not in ONE_HOME,
    }
    return next((reason for reason, present in reasons.items() if present), None)


def che_from_empty(p: np.ndarray, capacity: float, warmup: int, requests: int) -> float:
    """Che's LRU hit ratio over requests warmup .. warmup+requests of a cache that starts empty.

    A key stays T requests after its last request (T = theory.che_time), so
    the request at position w hits with probability sum_i p_i (1 - exp(-p_i
    min(w, T))).  Averaged over w in [W, W+M], with the integral of
    p (1 - exp(-p w)) dw being p w + exp(-p w).
    """
    from sim import theory

    p = np.asarray(p, dtype=float)
    t = theory.che_time(p, capacity) if capacity < len(p) else math.inf
    start, end = float(warmup), float(warmup + requests)
    hits = 0.0
    filling = min(end, t)
    if start < filling:  # the cache is still filling: every key requested since the start is in it
        hits += float(np.sum(p * (filling - start) + np.exp(-p * start) * np.expm1(-p * (filling - start))))
    if end > max(start, t):  # full: Che's steady state
        hits += (end - max(start, t)) * float(np.sum(p * -np.expm1(-p * t)))
    return hits / requests


def lru_hit_ratio(config: dict, steady: bool = False) -> float | None:
    """Che's LRU hit ratio of the cluster as one LRU of N x C objects, or None where it does not apply.

    Measured as the run measures it (from an empty cache, after its warm-up),
    or in Che's `steady` state.
    """
    cluster, run = config["cluster"], config["run"]
    p = popularity(config)
    objects = capacity_objects(cluster["capacity"])
    if cluster["policy"] != "lru" or cluster["ttl"] != 0 or p is None or objects is None or stream_departure(config):
        return None
    capacity = float(cluster["nodes"]) * objects
    if steady:
        from sim import theory

        return theory.che_hit_ratio(p, capacity)
    return che_from_empty(p, capacity, int(run["warmup"]), int(run["requests"]))


def ttl_hit_ratio(config: dict) -> float | None:
    """Hit ratio of a TTL cache that never evicts (see the module docstring), or None."""
    cluster = config["cluster"]
    p = popularity(config)
    objects = capacity_objects(cluster["capacity"])
    ttl, rate = cluster["ttl"], float(config["workload"]["rate"])
    if p is None or objects is None or objects < len(p) or isinstance(ttl, dict) or ttl <= 0:
        return None
    if stream_departure(config) or int(config["run"]["warmup"]) / rate < ttl:  # not yet in a steady state
        return None
    refresh = cluster["ttl_mode"] == "refresh"
    from sim import theory

    return theory.ttl_hit_ratio_catalogue(p, rate, float(ttl), reset_on_hit=refresh)


def saturation(config: dict, hit_ratio: float) -> tuple[float, float] | None:
    """(misses/s, served/s) when the misses at `hit_ratio` reach what the backend serves, else None.

    The backend serves `concurrency` requests at once, each for its mean
    latency; misses arriving faster make its queue grow without end.
    """
    misses = float(config["workload"]["rate"]) * (1.0 - hit_ratio)
    served = backend_capacity(config)
    return (misses, served) if misses >= served else None


def backend_capacity(config: dict) -> float:
    """Requests/s the backend serves at most: `concurrency` at once, each for its mean latency (inf for 0 ms)."""
    backend = config["backend"]
    mean_s = latency_seconds(backend["latency"]).mean
    return int(backend["concurrency"]) / mean_s if mean_s > 0 else math.inf


@dataclass(frozen=True)
class Overlay:
    """A predicted curve against one swept key, with its legend label and the note a reader needs."""

    key: str  # the swept dotted key
    label: str  # the legend entry: the theory and the assumption to keep in mind
    predict: Callable[[dict], float | None]  # a point config -> predicted hit ratio, or None
    note: str  # said under the figure whenever the curve is drawn
    steady: Callable[[dict], float | None] | None = None  # the long-run curve, when it can differ

    def at(self, config: dict, value) -> dict:
        """`config` with the overlay's key set to `value`."""
        section, _, name = self.key.partition(".")
        return {**config, section: {**config[section], name: value}}

    def curve(self, config: dict, values, predict: Callable | None = None) -> np.ndarray | None:
        """`predict` (default: the overlay's own) at each value of the key, NaN where it does not apply
        (a plotted line breaks there); None where it applies nowhere."""
        predicted = [(predict or self.predict)(self.at(config, value)) for value in values]
        if all(p is None for p in predicted):
            return None
        return np.array([math.nan if p is None else p for p in predicted], dtype=float)


CHE = "Che's approximation (instant fills)"
CHE_NOTE = (
    "Che's approximation assumes independent requests, one node per key and a miss stored at once "
    "(here it is stored when the backend answers); it starts from an empty cache at the warm-up, as the runs do."
)
LRU_CAPACITY = Overlay("cluster.capacity", CHE, lru_hit_ratio, CHE_NOTE, lambda c: lru_hit_ratio(c, steady=True))
LRU_NODES = Overlay("cluster.nodes", CHE, lru_hit_ratio, CHE_NOTE, lambda c: lru_hit_ratio(c, steady=True))
TTL = Overlay(
    "cluster.ttl",
    "TTL formula (no eviction, instant fills)",
    ttl_hit_ratio,
    "The TTL formula holds in a steady state (drawn where the warm-up lasts at least one TTL), for a cache "
    "that never evicts and an entry stored at once; here it is stored when the backend answers, and requests "
    "meanwhile miss, which matters most for short TTLs.",
)
