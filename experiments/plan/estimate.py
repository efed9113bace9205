"""A first answer without the timed model: where the search starts.

Two steps, both cheap.

1. Every target the formulas understand becomes a hit ratio the cache must
   reach (`required_hit_ratio`), assuming no queue anywhere and instant fills:

   * hit ratio h: h itself;
   * backend load R: misses of the reads plus every write reach the backend,
     (1 - h) reads/s + writes/s <= R;
   * latency quantile q below L: a hit takes a round trip, a miss a round
     trip and a backend fetch, so the share of reads slower than L is
     h P(rtt > L) + (1 - h) P(rtt + backend > L), which must be <= 1 - q
     (both probabilities from the config's latency distributions, sampled).

   A stale-ratio target has no such formula: it only guides the scan.

2. The hit ratio becomes a capacity through a curve of the workload:

   * LRU (and any policy without a formula of its own, as a stand-in): the
     miss-ratio curve of the first seed's request stream, in one pass of
     stack depths (experiments/analysis/mrc.py), in objects or in bytes;
   * FIFO and RANDOM under the independent reference model: the
     characteristic-time approximation (sim.theory.fifo_hit_ratio);
   * LFU under the independent reference model: the most popular keys.

   A cluster of N nodes of capacity C holding R copies of each key behaves
   like one cache of N C / R (experiments/plots/overlays.py says why), so the
   capacity per node is that total x R / N, and the node count is the
   total x R / C, rounded up.

The same pass over the stream measures what the plan reports and needs
later (`Sample`): the mean object size, the footprint, the share of writes,
when the measured window starts (where a failure is placed) and how long it
lasts (the backend's requests per second).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from experiments.analysis.mrc import lru_mrc
from experiments.config.build import scenario, workload_of
from experiments.config.schema import Config, WorkloadSection
from experiments.plan.settings import TARGETS, Settings
from sim import theory
from workloads import Uniform, Workload, Zipf
from workloads.rng import rng_for
from workloads.stream import WRITE

#: capacities of the miss-ratio curve, log-spaced over the footprint
CURVE_POINTS = 400

#: draws of each latency distribution for the latency targets' formula
LATENCY_DRAWS = 200_000

#: quantile of each latency target
QUANTILE = {"p50_ms": 0.5, "p95_ms": 0.95, "p99_ms": 0.99, "p999_ms": 0.999}


@dataclass(frozen=True)
class Sample:
    """What the request stream of one seed says, before anything is simulated."""

    seed: int
    requests: int  # measured (after warm-up)
    distinct_keys: int  # the footprint: keys requested at least once, warm-up included
    distinct_bytes: int
    largest_object: int
    mean_object_size: float  # over the measured requests
    write_share: float
    measured_from: float  # seconds: the first measured request's arrival
    measured_seconds: float  # from it to the last request
    size_values: tuple = ()  # the distinct object sizes (slab classes for memcached's memory)


def stream(config: Config, seed: int):
    """The batches of `seed`'s whole request stream, warm-up included."""
    return workload_of(config.workload).batches(seed, config.run.warmup + config.run.requests)


def sample(config: Config, seed: int) -> Sample:
    """One pass over `seed`'s stream: sizes, footprint, writes and the measured window's times."""
    warmup = config.run.warmup
    keys, sizes = np.empty(0, np.int64), np.empty(0, np.int64)
    measured = size_sum = writes = largest = 0
    first_time = last_time = None
    for batch in stream(config, seed):
        keys, where = np.unique(np.concatenate((keys, batch.key)), return_index=True)
        sizes = np.concatenate((sizes, batch.size))[where]
        counted = slice(max(0, warmup - batch.start), len(batch))
        if counted.start < len(batch):
            if first_time is None:
                first_time = float(batch.time[counted.start])
            last_time = float(batch.time[-1])
            measured += len(batch) - counted.start
            size_sum += int(batch.size[counted].sum())
            writes += int((batch.op[counted] == WRITE).sum())
        largest = max(largest, int(batch.size.max()) if len(batch) else 0)
    if not measured:
        first_time = last_time = 0.0
    return Sample(
        seed=seed,
        requests=measured,
        distinct_keys=len(keys),
        distinct_bytes=int(sizes.sum()),
        largest_object=largest,
        mean_object_size=size_sum / measured if measured else 1.0,
        write_share=writes / measured if measured else 0.0,
        measured_from=first_time,
        measured_seconds=max(last_time - first_time, 0.0),
        size_values=tuple(np.unique(sizes).tolist()),
    )


# -- step 1: targets as a hit ratio ---------------------------------------------------


def required_hit_ratio(config: Config, settings: Settings, found: Sample) -> tuple[float | None, list[str]]:
    """The hit ratio the targets ask for, by the formulas above, and one line of why per target."""
    needs, reasons = [], []
    for name, bound in settings.targets.items():
        if name == "hit_ratio":
            need = bound
        elif name == "backend_rps":
            need = _for_backend(bound, found)
        elif name in QUANTILE:
            need = _for_latency(config, QUANTILE[name], bound)
        else:
            continue  # stale and byte hit ratios: no formula from an object hit ratio
        need = min(1.0, max(0.0, need))
        needs.append(need)
        if name != "hit_ratio":
            reasons.append(f"{TARGETS[name].describe(bound)} asks for a hit ratio of {need:.4f}")
    return (max(needs) if needs else None), reasons


def _for_backend(bound: float, found: Sample) -> float:
    rate = found.requests / found.measured_seconds if found.measured_seconds else 0.0
    reads, writes = rate * (1.0 - found.write_share), rate * found.write_share
    return 1.0 - (bound - writes) / reads if reads else 0.0


def _for_latency(config: Config, quantile: float, bound_ms: float) -> float:
    described = scenario(config)
    rng = rng_for(0, "plan.latency")
    round_trip = described.hit_latency.sample(rng, LATENCY_DRAWS)
    fetch = round_trip + described.backend.latency.sample(rng, LATENCY_DRAWS)
    slow_hit = float(np.mean(round_trip * 1000.0 > bound_ms))
    slow_miss = float(np.mean(fetch * 1000.0 > bound_ms))
    allowed = 1.0 - quantile
    if slow_miss <= allowed:
        return 0.0
    if slow_hit >= allowed:
        return 1.0  # even a hit is too slow too often
    return (slow_miss - allowed) / (slow_miss - slow_hit)


# -- step 2: a hit ratio as a capacity --------------------------------------------------


@dataclass(frozen=True)
class Estimate:
    value: int | None  # of the varied key; None: no formula applies (the search scans)
    method: str
    hit_ratio: float | None
    reasons: list


def estimate(config: Config, settings: Settings, found: Sample, counts_bytes: bool, low: int, high: int) -> Estimate:
    """The varied key's value the formulas point to, within [low, high]."""
    need, reasons = required_hit_ratio(config, settings, found)
    need_bytes = settings.targets.get("byte_hit_ratio")
    if need is None and need_bytes is None:
        return Estimate(None, "no formula for these targets: a coarse scan", None, reasons)
    total, method = _total_capacity(config, found, counts_bytes, need, need_bytes)
    cluster = config.cluster
    if settings.varies_nodes:
        value = math.ceil(total * cluster.replicas / cluster.capacity.amount)
    else:
        value = math.ceil(total * cluster.replicas / cluster.nodes)
    return Estimate(min(max(value, low), high), method, need, reasons)


def _total_capacity(config, found: Sample, counts_bytes: bool, need, need_bytes) -> tuple[float, str]:
    """The capacity of one cache, over the whole stream, that reaches both hit ratios."""
    policy = config.cluster.policy
    law = _irm_popularity(config.workload)
    if law is not None and not counts_bytes and need_bytes is None and policy in ("fifo", "random", "lfu"):
        p = law.pmf()
        ratio = theory.lfu_hit_ratio if policy == "lfu" else theory.fifo_hit_ratio
        name = "most popular keys" if policy == "lfu" else "characteristic-time approximation"
        return _invert(lambda c: ratio(p, c), need, 1, len(p)), f"{policy.upper()}: {name} (independent references)"
    curve = _lru_curve(config, found, counts_bytes)
    capacities = curve.capacities
    reach = np.ones(len(capacities), dtype=bool)
    if need is not None:
        reach &= 1.0 - curve.miss_ratio >= need
    if need_bytes is not None:
        reach &= 1.0 - curve.byte_miss_ratio >= need_bytes
    total = capacities[np.argmax(reach)] if reach.any() else capacities[-1]
    stand_in = "" if policy == "lru" else f" (standing in for {policy})"
    return float(total), f"LRU miss-ratio curve of seed {found.seed}'s stream{stand_in}"


def _lru_curve(config: Config, found: Sample, counts_bytes: bool):
    if counts_bytes:
        top, bottom = max(found.distinct_bytes, 2), max(1, found.largest_object)
    else:
        top, bottom = max(found.distinct_keys, 2), 1
    capacities = np.unique(np.geomspace(bottom, max(top, bottom + 1), CURVE_POINTS).astype(np.int64))
    source = ((batch.key, batch.size) for batch in stream(config, found.seed))
    return lru_mrc(source, capacities, count_bytes=counts_bytes, warmup=config.run.warmup, check_sizes=False)


def _irm_popularity(workload: WorkloadSection) -> Zipf | Uniform | None:
    """The popularity law when the stream is the independent reference model: one static class."""
    built = workload_of(workload)
    if not isinstance(built, Workload) or len(built.key_classes()) != 1:
        return None
    (only,) = built.key_classes()
    if (
        only.rotate_every_s
        or only.new_keys_per_s
        or only.write_fraction
        or built.scan_fraction
        or built.one_hit_fraction
    ):
        return None
    return only.popularity


def _invert(hit_ratio, need: float, low: float, high: float) -> float:
    """The capacity in [low, high] where the increasing `hit_ratio` reaches `need`."""
    if need <= hit_ratio(low):
        return low
    if need >= hit_ratio(high - 1):
        return high
    return optimize.brentq(lambda c: hit_ratio(c) - need, low, high - 1, xtol=0.5)
