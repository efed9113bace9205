"""From a checked config to the simulator's objects: the Scenario of one point.

Everything here takes what experiments/config/loading.py has checked (a
point's typed Config, or one of its values) and builds what `sim.run`
understands: workloads, distributions in seconds, the cluster and backend
specs.  Nothing here can meet a user's mistake except a trace file that
cannot be read (TraceError).  `request_loop` says which of sim's request
loops a point will run in.
"""

from __future__ import annotations

from typing import Any

import sim.engine
from experiments.config.fleet import autoscale, fleet_spec, targets
from experiments.config.near import near_fields
from experiments.config.schema import LATENCY_FORMS, SIZE_FORMS, TTL_FORMS, Config, KeyClassTable, WorkloadSection
from sim.scenario import BackendSpec, BulkUpdates, ClusterSpec, Outage, Scenario
from workloads import Constant, Diurnal, KeyClass, OnOff, Poisson, Uniform, Workload, Zipf
from workloads.traces import TraceWorkload

#: parameters without a unit, which a change of unit leaves alone
_DIMENSIONLESS = ("sigma", "shape")


def to_distribution(spec, forms: dict, scale: float = 1.0):
    """A checked value of a distribution key as the Distribution it describes.

    A bare number is the "constant" form; `scale` converts the config's unit
    to the model's (milliseconds to seconds: 0.001).
    """
    if not isinstance(spec, dict):
        spec = {"dist": "constant", next(iter(forms["constant"][1])): spec}
    build, params = forms[spec["dist"]]
    return build(*(spec[p] if p in _DIMENSIONLESS else spec[p] * scale for p in params))


def latency_seconds(spec) -> Any:
    """A checked latency value (ms) as a Distribution in seconds."""
    return to_distribution(spec, LATENCY_FORMS, scale=1e-3)


def ttl_seconds(spec) -> Any:
    """A checked TTL value: a number of seconds, or a Distribution in seconds."""
    ttl = to_distribution(spec, TTL_FORMS)
    return float(ttl.value) if isinstance(ttl, Constant) else ttl


def arrivals(workload: WorkloadSection) -> Any:
    spec, rate = workload.arrivals, workload.rate
    if spec == "poisson":
        return Poisson(rate)
    if spec["process"] == "diurnal":
        return Diurnal(rate, spec["amplitude"], spec["period_s"], spec["peak_s"])
    # On/off with the requested mean rate: on_rate f + off_rate (1 - f) = rate, off_rate = ratio on_rate.
    on_share = spec["mean_on_s"] / (spec["mean_on_s"] + spec["mean_off_s"])
    on_rate = rate / (on_share + (1.0 - on_share) * spec["off_ratio"])
    return OnOff(on_rate, on_rate * spec["off_ratio"], spec["mean_on_s"], spec["mean_off_s"])


def popularity(section: WorkloadSection | KeyClassTable) -> Zipf | Uniform:
    if section.popularity == "zipf":
        return Zipf(section.keys, section.alpha)
    return Uniform(section.keys)


def trace_workload(workload: WorkloadSection) -> TraceWorkload:
    options = {"key": workload.trace_key_column} if workload.trace_key_column else {}
    return TraceWorkload(
        workload.trace,
        None if workload.trace_format == "auto" else workload.trace_format,
        time_unit=workload.trace_time_unit,
        rate=workload.rate if workload.trace_arrivals == "rate" else None,
        options=options,
        disorder=workload.trace_disorder,
    )


def workload_of(workload: WorkloadSection) -> Workload | TraceWorkload:
    if workload.trace:
        return trace_workload(workload)
    classes = tuple(
        KeyClass(
            popularity(c),
            size_distribution(c.object_size),
            c.name,
            c.share,
            c.write_fraction,
            c.rotate_every_s,
            c.rotate_by,
            c.new_keys_per_s,
        )
        for c in workload.classes
    )
    return Workload(
        None if classes else popularity(workload),
        arrivals(workload),
        size_distribution(workload.object_size),
        write_fraction=workload.write_fraction,
        rotate_every_s=workload.rotate_every_s,
        rotate_by=workload.rotate_by,
        new_keys_per_s=workload.new_keys_per_s,
        classes=classes,
        scan_fraction=workload.scan_fraction,
        scan_keys=workload.scan_keys,
        one_hit_fraction=workload.one_hit_fraction,
    )


def class_index(workload: WorkloadSection) -> dict[str, int]:
    """Key class name -> index (ids of class i are i << 40)."""
    return {c.name: i for i, c in enumerate(workload.classes)} or {"default": 0}


def size_distribution(spec) -> Any:
    return to_distribution(spec, SIZE_FORMS)


def scenario(config: Config) -> Scenario:
    """The simulator's Scenario for one checked point config."""
    run_section, workload, cluster, updates = config.run, config.workload, config.cluster, config.updates
    classes = class_index(workload)
    return Scenario(
        workload=workload_of(workload),
        cluster=ClusterSpec(
            nodes=cluster.nodes,
            capacity=cluster.capacity.amount,
            capacity_bytes=cluster.capacity.counts_bytes,
            policy=cluster.policy,
            policy_params=tuple(sorted(cluster.policy_params.items())),
            balancer=cluster.balancer,
            vnodes=cluster.vnodes,
            bound_epsilon=cluster.bound_epsilon,
            replicas=cluster.replicas,
            ttl=ttl_seconds(cluster.ttl),
            ttl_by_class=tuple((classes[c.name], float(c.ttl)) for c in workload.classes if c.ttl >= 0),
            ttl_mode=cluster.ttl_mode,
            expiry=cluster.expiry,
            node_concurrency=cluster.node_concurrency,
            node_service=latency_seconds(cluster.node_service),
            write_policy=cluster.write_policy,
            failures=tuple(Outage(o.node, float(o.down_at), float(o.up_at)) for o in cluster.failures),
            mtbf_s=float(cluster.mtbf_s),
            mttr_s=float(cluster.mttr_s),
            **fleet_spec(cluster),
            autoscale=autoscale(config.autoscale),
        ),
        backend=BackendSpec(
            latency=latency_seconds(config.backend.latency),
            concurrency=config.backend.concurrency,
            coalesce=config.backend.coalesce,
        ),
        hit_latency=latency_seconds(config.network.hit_latency),
        requests=run_section.requests,
        warmup=run_section.warmup,
        timeout_s=run_section.timeout_ms / 1000.0,
        updates=BulkUpdates(
            every_s=updates.every_s,
            classes=tuple(classes[name] for name in updates.classes),
            invalidate=updates.invalidate,
        ),
        interval=run_section.interval,
        targets=targets(config.targets),
        **near_fields(config),
    )


def request_loop(config: Config) -> tuple[str, str]:
    """The request loop `sim.run` gives this point, "compiled" or "python", and why not the compiled one.

    sim.engine.engine_choice, which reads the point's classes and words and
    builds nothing; the reason is "" when the compiled loop runs it.  The
    manifest records what this says; every run file records the loop that
    ran, and a test holds the two equal.
    """
    return sim.engine.engine_choice(scenario(config))
