"""The config schema: every key kvsim understands, with its default, its check and its doc.

A config is a TOML file of sections (run, workload, cluster, network, backend,
updates) and an optional [sweep].  Each key is declared once, here, as a Key;
experiments/configs/defaults.toml is rendered from SCHEMA (experiments/
defaults.py) and a test keeps the two in step.  To add a section, add an
entry to SCHEMA: loading, overrides, sweeps and defaults.toml pick it up.

The checks themselves live in experiments/config/checks.py; this module holds the
ones that are about kvsim's own vocabulary: the forms of a distribution
(size, latency, TTL), the arrival processes, and lists of tables such as
[[workload.classes]].
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from experiments.config.checks import (
    Invalid,
    boolean,
    capacity,
    choice,
    describe,
    did_you_mean,
    distribution,
    integer,
    number,
    policy_name,
    seed_list,
    simple_name,
    string_list,
    table,
    tagged_table,
    text,
    text_or_empty,
)
from workloads import Constant, Exponential, Lognormal, Pareto, UniformRange
from workloads.traces import DISORDER


@dataclass(frozen=True)
class Key:
    """One config key: default, check, and the line of documentation shown in defaults.toml."""

    default: Any
    check: Callable[[Any], Any]
    doc: str


_positive = number(0, low_open=True)
_non_negative = number(0)

#: each family: dist name -> (the Distribution it builds, its parameters and their checks,
#: in the constructor's order)
SIZE_FORMS = {
    "constant": (Constant, {"bytes": integer(1)}),
    "lognormal": (Lognormal, {"median": _positive, "sigma": _non_negative}),
    "pareto": (Pareto, {"min": _positive, "shape": _positive}),
}
LATENCY_FORMS = {
    "constant": (Constant, {"ms": _non_negative}),
    "exponential": (Exponential, {"mean_ms": _positive}),
    "lognormal": (Lognormal, {"median_ms": _positive, "sigma": _non_negative}),
}
TTL_FORMS = {
    "constant": (Constant, {"s": _non_negative}),
    "exponential": (Exponential, {"mean_s": _positive}),
    "lognormal": (Lognormal, {"median_s": _positive, "sigma": _non_negative}),
    "uniform": (UniformRange, {"low_s": _non_negative, "high_s": _positive}),
}


def _checks(forms: dict) -> dict:
    """dist name -> its parameters' checks: what `distribution` needs of a family."""
    return {name: params for name, (_, params) in forms.items()}


object_size = distribution(_checks(SIZE_FORMS), number_means="constant")
latency = distribution(_checks(LATENCY_FORMS), number_means="constant")
ttl_value = distribution(_checks(TTL_FORMS), number_means="constant")


def arrival_process(value):
    """ "poisson", or a table { process = "onoff" | "diurnal", ... }; the mean rate is workload.rate."""
    forms = (
        '"poisson"; { process = "onoff", mean_on_s, mean_off_s, off_ratio }; '
        '{ process = "diurnal", amplitude, period_s, peak_s }'
    )
    if value == "poisson":
        return value
    if not isinstance(value, dict) or value.get("process") not in ("onoff", "diurnal"):
        raise Invalid(f"must be {forms}; got {describe(value)}")
    fields = {
        "onoff": {"mean_on_s": _positive, "mean_off_s": _positive, "off_ratio": number(0, 1)},
        "diurnal": {"amplitude": number(0, 0.99), "period_s": _positive, "peak_s": _non_negative},
    }[value["process"]]
    return tagged_table(value, "process", fields)


def interval(value):
    """ "auto" (about 50 rows of timeseries.csv, whatever the span simulated), or seconds per row."""
    if value == "auto":
        return value
    try:
        return _positive(value)
    except Invalid:
        raise Invalid(f'must be "auto" or a number > 0 (seconds); got {describe(value)}') from None


interval.allowed = '"auto" or number > 0'


def table_list(fields: dict, required: tuple = ()) -> Callable:
    """A check for a list of tables ([[section.key]] in TOML), each with its own keys."""

    def check(value):
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise Invalid(
                f"must be a list of tables ([[...]] in TOML) with keys {', '.join(fields)}; got {describe(value)}"
            )
        checked = []
        for index, item in enumerate(value):
            entry = {}
            for key in item:
                if key not in fields:
                    raise Invalid(
                        f"[{index}]: unknown key {key!r}{did_you_mean(key, fields)}; valid: {', '.join(fields)}"
                    )
            for key, spec in fields.items():
                if key not in item:
                    if key in required:
                        raise Invalid(f"[{index}]: needs {key}")
                    entry[key] = copy.deepcopy(spec.default)
                    continue
                try:
                    entry[key] = spec.check(item[key])
                except Invalid as error:
                    raise Invalid(f"[{index}].{key}: {error}") from None
            checked.append(entry)
        return checked

    return check


_CLASS_FIELDS = {
    "name": Key("default", text, "the class's name (for updates.classes and results)"),
    "share": Key(1.0, number(0, low_open=True), "relative share of requests (normalized over classes)"),
    "keys": Key(100_000, integer(1, 2**40), "catalogue size of the class"),
    "popularity": Key("zipf", choice("zipf", "uniform"), "popularity law"),
    "alpha": Key(0.9, number(0), "Zipf exponent"),
    "object_size": Key(1, object_size, "bytes per object, as workload.object_size"),
    "write_fraction": Key(0.0, number(0, 1), "fraction of the class's requests that are writes"),
    "rotate_every_s": Key(0.0, number(0), "seconds between hot-set rotations (0: static)"),
    "rotate_by": Key(0, integer(0), "ranks the hot set moves at each rotation"),
    "new_keys_per_s": Key(0.0, number(0), "new keys born per second, most popular when born (0: none)"),
    "ttl": Key(-1, number(-1), "TTL in seconds for this class (-1: use cluster.ttl; 0: never expires)"),
}

_FAILURE_FIELDS = {
    "node": Key(0, integer(0), "node index, 0 .. nodes-1"),
    "down_at": Key(0.0, number(0), "seconds of simulated time when it fails"),
    "up_at": Key(float("inf"), number(0), "seconds when it comes back, cold (default: never)"),
}

SCHEMA: dict[str, dict[str, Key]] = {
    "run": {
        "requests": Key(200_000, integer(1), "measured requests per run"),
        "warmup": Key(50_000, integer(0), "requests simulated before measuring (not counted)"),
        "seeds": Key([1, 2, 3], seed_list, "one run per seed and sweep point; same seed, same request stream"),
        "interval": Key(
            "auto",
            interval,
            'seconds per row of timeseries.csv; "auto": about 50 rows over the measured span, each a power of two '
            "of seconds",
        ),
        "timeout_ms": Key(0.0, number(0), "a client gives up after this long and counts a timeout (0: never)"),
        "imports": Key(
            [],
            string_list,
            "modules to import first (from the current folder, as python -m finds them, or installed packages), so "
            'that the policies they register are known by name, e.g. ["mymodule"]',
        ),
    },
    "workload": {
        "keys": Key(100_000, integer(1, 2**40), "catalogue size: keys are 0 .. keys-1"),
        "popularity": Key("zipf", choice("zipf", "uniform"), "key popularity law"),
        "alpha": Key(0.9, number(0), "Zipf exponent, any value >= 0 (0 is uniform)"),
        "rate": Key(20_000, number(0, low_open=True), "mean requests per second"),
        "arrivals": Key(
            "poisson",
            arrival_process,
            '"poisson", or bursty { process = "onoff", mean_on_s, mean_off_s, off_ratio } '
            '(off rate / on rate), or { process = "diurnal", amplitude, period_s, peak_s }',
        ),
        "object_size": Key(
            1,
            object_size,
            'bytes per object: a number, or { dist = "lognormal", median = 4096, sigma = 1.0 }, or { dist = "pareto", min = 100, shape = 1.5 }',
        ),
        "write_fraction": Key(
            0.0, number(0, 1), "fraction of requests that are writes (to the backend; see cluster.write_policy)"
        ),
        "rotate_every_s": Key(0.0, number(0), "popularity drift: seconds between hot-set rotations (0: static)"),
        "rotate_by": Key(0, integer(0), "ranks the hot set moves at each rotation"),
        "new_keys_per_s": Key(
            0.0, number(0), "new keys born per second, the most popular when born; the oldest retire"
        ),
        "scan_fraction": Key(0.0, number(0, 1), "fraction of requests that are sequential scans over scan_keys keys"),
        "scan_keys": Key(0, integer(0), "keys a scan cycles through (outside the catalogue)"),
        "one_hit_fraction": Key(0.0, number(0, 1), "fraction of requests for keys requested exactly once"),
        "trace": Key(
            "",
            text_or_empty,
            "replay a trace file as the request stream (a path, relative to the config "
            "file); empty: the synthetic workload described by the keys above",
        ),
        "trace_format": Key(
            "auto",
            choice("auto", "csv", "txt", "oraclegeneral"),
            'the trace\'s format; "auto" goes by its extension (.csv, .txt, .bin)',
        ),
        "trace_time_unit": Key("s", choice("s", "ms", "us", "ns"), "unit of the trace's timestamps"),
        "trace_arrivals": Key(
            "timestamps",
            choice("timestamps", "rate"),
            "arrivals from the trace's timestamps, or Poisson at workload.rate (needed for a trace without timestamps)",
        ),
        "trace_disorder": Key(
            "error",
            choice(*DISORDER),
            'a timestamp earlier than the one before it: "error" names its line; "clamp" makes the request '
            'arrive with the previous one; "sort" puts the run\'s requests in time order first (in memory)',
        ),
        "trace_key_column": Key("", text_or_empty, "CSV traces: the column holding the key (empty: detect)"),
        "classes": Key(
            [],
            table_list(_CLASS_FIELDS, required=("name",)),
            "several key classes in one stream ([[workload.classes]]); replaces keys, popularity, "
            "alpha, object_size, write_fraction and the drift keys above",
        ),
    },
    "cluster": {
        "nodes": Key(4, integer(1, 4096), "cache nodes"),
        "capacity": Key(2_500, capacity, 'per node: an integer counts objects; a size such as "64MiB" counts bytes'),
        "policy": Key("lru", policy_name, 'eviction policy (`kvsim policies` lists them) or "package.module:Class"'),
        "policy_params": Key({}, table, "keyword parameters of the policy, e.g. { bits = 2 } for clock"),
        "balancer": Key(
            "consistent",
            choice("consistent", "modulo", "rendezvous", "random", "p2c", "bounded"),
            "how reads pick a node: hashing (modulo, consistent ring, rendezvous), random spray, "
            "power of two choices (p2c), consistent hashing with bounded loads",
        ),
        "vnodes": Key(160, integer(1, 10_000), "virtual nodes per node on the consistent-hash ring"),
        "bound_epsilon": Key(0.25, number(0), "bounded loads: no node takes more than (1 + epsilon) x the mean load"),
        "replicas": Key(1, integer(1), "copies of each key; reads go to one, fills and invalidations to all"),
        "ttl": Key(
            0,
            ttl_value,
            "seconds from insertion until an entry expires (0: never), or drawn per insert: "
            '{ dist = "uniform", low_s, high_s }, exponential (mean_s), lognormal (median_s, sigma)',
        ),
        "ttl_mode": Key(
            "insert",
            choice("insert", "refresh"),
            '"insert": TTL set when stored (memcached); "refresh": every hit restarts it',
        ),
        "expiry": Key(
            "lazy",
            choice("lazy", "active"),
            '"lazy": an expired entry is dropped when looked up; "active": when it expires, freeing space',
        ),
        "node_concurrency": Key(
            0, integer(0, 1_000_000), "requests a node serves at once; more wait in a FCFS queue (0: no node queue)"
        ),
        "node_service": Key(
            {"dist": "constant", "ms": 0.0},
            latency,
            "time a node spends on each request (ms), with node_concurrency > 0",
        ),
        "write_policy": Key(
            "invalidate",
            choice("invalidate", "update", "none"),
            "what a write does when it lands: delete cached copies (cache-aside), write "
            "through (copies and the key's home nodes get the new value), or nothing "
            "(copies stay stale until they expire)",
        ),
        "failures": Key(
            [],
            table_list(_FAILURE_FIELDS, required=("node", "down_at")),
            "scheduled outages ([[cluster.failures]] node, down_at, up_at in seconds); a node comes back cold",
        ),
        "mtbf_s": Key(0.0, number(0), "random failures: mean seconds between a node's failures (0: none)"),
        "mttr_s": Key(60.0, number(0, low_open=True), "random failures: mean seconds to repair"),
    },
    "network": {
        "hit_latency": Key(
            {"dist": "lognormal", "median_ms": 0.2, "sigma": 0.3},
            latency,
            "client <-> node round trip, paid by every request (ms)",
        ),
    },
    "backend": {
        "latency": Key(
            {"dist": "lognormal", "median_ms": 5.0, "sigma": 0.5},
            latency,
            "backend service time (ms): lognormal (median_ms, sigma), exponential (mean_ms) or constant (ms)",
        ),
        "concurrency": Key(64, integer(1, 1_000_000), "requests the backend serves at once; more wait in a FCFS queue"),
        "coalesce": Key(
            False,
            boolean,
            "a miss for a key already being fetched waits for that fetch instead of asking the backend again",
        ),
    },
    "updates": {
        "every_s": Key(
            0.0,
            number(0),
            "seconds between bulk updates that change values at once, as when a recommender model is retrained (0: none)",
        ),
        "classes": Key(
            [],
            string_list,
            'key classes whose values change at each update (names from workload.classes; "default" without classes)',
        ),
        "invalidate": Key(
            True, boolean, "drop the changed classes' cached entries at each update (else they go stale)"
        ),
    },
}

TOP_LEVEL = {"name": Key("experiment", simple_name, "the experiment's name: results go to results/<name>/ by default")}
SECTIONS = tuple(SCHEMA) + ("sweep", "plan")


def all_keys() -> list[str]:
    """Every dotted key of the schema, in declaration order."""
    return list(TOP_LEVEL) + [f"{section}.{key}" for section, keys in SCHEMA.items() for key in keys]


def schema_key(dotted: str) -> Key:
    """The Key of a dotted name ("cluster.capacity", or a top-level "name")."""
    section, _, key = dotted.partition(".")
    if not key:
        return TOP_LEVEL[section]
    return SCHEMA[section][key]
