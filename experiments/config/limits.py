"""What a run would need, estimated before it starts: refused up front when it is not sane.

A config can be valid key by key and still ask for something no machine
should try: a simulated span so long that float64 time loses the latencies
(workload.rate = 1e-300), failures every millisecond for hours, on/off phases
of a nanosecond, a latency distribution whose mean is infinite.  Each check
here estimates the quantity from the checked config, compares it with a
stated limit and, when it is over, says what was asked, what the limit is
and why, so the user can change the config instead of watching a hang.
"""

from __future__ import annotations

import math

import numpy as np

from experiments.config.build import latency_seconds, size_distribution, ttl_seconds
from experiments.config.schema import Config
from workloads import Distribution
from workloads.stream import MAX_OBJECT_BYTES

#: simulated seconds: float64 times keep a resolution of 2**-52 of their size,
#: about 22 ns at this span, well below any latency the model draws
MAX_SPAN_S = 1e8
#: seconds any single latency may reasonably take (a day)
MAX_LATENCY_S = 86_400.0
#: node failures and recoveries over a run: each is an event and a routing change (100,000 take
#: about 10 s of CPU on top of the requests)
MAX_MEMBERSHIP_CHANGES = 100_000
#: on/off phases drawn over a run
MAX_ARRIVAL_PHASES = 50_000_000
#: memory for a trace put in time order before the run (workload.trace_disorder = "sort")
MAX_SORTED_BYTES = 4 << 30
SORTED_BYTES_PER_REQUEST = 25  # time, key, size (8 bytes each) and op (1)
#: how far into a distribution's tail the limits look
TAIL = 1.0 - 1e-6


def run_limits(config: Config) -> str | None:
    """Why the run of this point config must not start (a one-line reason), or None."""
    for check in (_span, _latencies, _sizes, _failures, _phases, _sorting):
        reason = check(config)
        if reason:
            return reason
    return None


def span_s(config: Config) -> float | None:
    """The simulated seconds a run spans (None when a trace's timestamps decide it)."""
    workload = config.workload
    if workload.trace and workload.trace_arrivals == "timestamps":
        return None
    requests = config.run.requests + config.run.warmup
    return requests / float(workload.rate)


def _span(config: Config) -> str | None:
    span = span_s(config)
    if span is not None and span > MAX_SPAN_S:
        return (
            f"workload.rate: {config.run.requests + config.run.warmup:,} requests at "
            f"{config.workload.rate:g}/s span {span:.3g} simulated seconds; at most {MAX_SPAN_S:.0e} "
            f"(beyond it float64 time cannot resolve the latencies): raise the rate or ask fewer requests"
        )
    return None


def _tail(distribution: Distribution) -> tuple[float, float]:
    """(mean, the TAIL quantile) of a distribution; inf or nan where they overflow."""
    with np.errstate(over="ignore", invalid="ignore"):
        try:
            mean = float(distribution.mean)
        except OverflowError:
            mean = math.inf
        return mean, float(distribution.quantile(np.array([TAIL]))[0])


def _latencies(config: Config) -> str | None:
    latencies = {
        "network.hit_latency": latency_seconds(config.network.hit_latency),
        "backend.latency": latency_seconds(config.backend.latency),
        "cluster.node_service": latency_seconds(config.cluster.node_service),
    }
    for key, distribution in latencies.items():
        mean, tail = _tail(distribution)
        if not (math.isfinite(mean) and math.isfinite(tail)) or max(mean, tail) > MAX_LATENCY_S:
            return (
                f"{key}: mean {mean:.3g} s and 99.9999th percentile {tail:.3g} s; each must be a finite time of "
                f"at most {MAX_LATENCY_S:g} s (a day): lower the median, sigma or mean"
            )
    ttl = ttl_seconds(config.cluster.ttl)
    if isinstance(ttl, Distribution):
        mean, tail = _tail(ttl)
        if not (math.isfinite(mean) and math.isfinite(tail)) or max(mean, tail) > MAX_SPAN_S:
            return f"cluster.ttl: mean {mean:.3g} s, 99.9999th percentile {tail:.3g} s; at most {MAX_SPAN_S:.0e} s"
    elif ttl > MAX_SPAN_S:
        return f"cluster.ttl: {ttl:g} s; at most {MAX_SPAN_S:.0e} s (use 0 for entries that never expire)"
    return None


def _sizes(config: Config) -> str | None:
    workload = config.workload
    sections = [("workload.object_size", workload.object_size)] + [
        (f"workload.classes[{i}].object_size", c.object_size) for i, c in enumerate(workload.classes)
    ]
    for key, spec in sections:
        mean, tail = _tail(size_distribution(spec))
        if not (math.isfinite(mean) and math.isfinite(tail)) or max(mean, tail) > MAX_OBJECT_BYTES:
            return (
                f"{key}: mean {mean:.3g} bytes, 99.9999th percentile {tail:.3g}; objects may be at most 2**40 bytes "
                f"(1 TiB), so that sizes and their sums stay exact"
            )
    return None


def _failures(config: Config) -> str | None:
    cluster = config.cluster
    span = span_s(config)
    if not cluster.mtbf_s or span is None:
        return None
    changes = 2 * cluster.nodes * span / (cluster.mtbf_s + cluster.mttr_s)
    if changes > MAX_MEMBERSHIP_CHANGES:
        return (
            f"cluster.mtbf_s: {cluster.nodes} nodes failing every {cluster.mtbf_s:g} s and repaired in "
            f"{cluster.mttr_s:g} s make about {changes:.3g} failures and recoveries in {span:.3g} simulated "
            f"seconds; at most {MAX_MEMBERSHIP_CHANGES:,}: raise mtbf_s or mttr_s"
        )
    return None


def _phases(config: Config) -> str | None:
    arrivals = config.workload.arrivals
    span = span_s(config)
    if not isinstance(arrivals, dict) or arrivals.get("process") != "onoff" or span is None:
        return None
    phases = 2 * span / (arrivals["mean_on_s"] + arrivals["mean_off_s"])
    if phases > MAX_ARRIVAL_PHASES:
        return (
            f"workload.arrivals: on/off phases of {arrivals['mean_on_s']:g} s and {arrivals['mean_off_s']:g} s make "
            f"about {phases:.3g} phases in {span:.3g} simulated seconds; at most {MAX_ARRIVAL_PHASES:,}: lengthen them"
        )
    return None


def _sorting(config: Config) -> str | None:
    workload = config.workload
    if not workload.trace or workload.trace_disorder != "sort" or workload.trace_arrivals != "timestamps":
        return None
    requests = config.run.requests + config.run.warmup
    need = requests * SORTED_BYTES_PER_REQUEST
    if need > MAX_SORTED_BYTES:
        return (
            f"workload.trace_disorder: sorting {requests:,} requests takes about {need / 2**30:.1f} GiB in memory; "
            f'at most {MAX_SORTED_BYTES / 2**30:.0f} GiB: ask fewer requests, or use "clamp"'
        )
    return None
