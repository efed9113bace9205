"""Experiment configs: TOML in, validated values out, errors that name the key.

A config is a TOML file of sections (run, workload, cluster, network, backend)
and an optional [sweep].  Every key the simulator understands is declared once
in SCHEMA below with its default, its check and a line of documentation;
experiments/configs/defaults.toml lists them all, and a test keeps the two in
step.

Loading never raises anything but ConfigError for a user's mistake, and its
message is one line naming the key, what is allowed and what was given:

    cluster.capacity: must be a positive integer (objects) or a size such as
    "64MiB" (bytes); got -5
"""

from __future__ import annotations

import copy
import difflib
import itertools
import math
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from experiments import configs as shipped
from policies import PolicyError, check_params, policy_class
from sim.scenario import BackendSpec, ClusterSpec, ModelUpdates, Outage, Scenario
from workloads import (
    Constant,
    Diurnal,
    Exponential,
    KeyClass,
    Lognormal,
    OnOff,
    Pareto,
    Poisson,
    Uniform,
    UniformRange,
    Workload,
    Zipf,
)
from workloads.traces import TraceError, TraceWorkload


class ConfigError(ValueError):
    """A user's mistake in a config: the message names the key and what is allowed."""


class Invalid(ValueError):
    """Raised by a check; ConfigError adds the key's name."""


# -- checks: each takes the raw TOML value and returns it (normalized) or raises Invalid.


def _describe(value: Any) -> str:
    return (
        repr(value) if not isinstance(value, dict) else "{" + ", ".join(f"{k} = {v!r}" for k, v in value.items()) + "}"
    )


def integer(low: int | None = None, high: int | None = None) -> Callable:
    def check(value):
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise Invalid(f"must be an integer{_range_text(low, high)}; got {_describe(value)}")
        if (low is not None and value < low) or (high is not None and value > high):
            raise Invalid(f"must be an integer{_range_text(low, high)}; got {value}")
        return value

    check.allowed = f"integer{_range_text(low, high)}"
    return check


def number(low: float | None = None, high: float | None = None, low_open: bool = False) -> Callable:
    def check(value):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise Invalid(f"must be a number{_range_text(low, high, low_open)}; got {_describe(value)}")
        if low is not None and (value < low or (low_open and value == low)):
            raise Invalid(f"must be a number{_range_text(low, high, low_open)}; got {value}")
        if high is not None and value > high:
            raise Invalid(f"must be a number{_range_text(low, high, low_open)}; got {value}")
        return value

    check.allowed = f"number{_range_text(low, high, low_open)}"
    return check


def _range_text(low, high, low_open=False) -> str:
    if low is not None and high is not None:
        return f" in {'(' if low_open else '['}{low}, {high}]"
    if low is not None:
        return f" {'>' if low_open else '>='} {low}"
    if high is not None:
        return f" <= {high}"
    return ""


def choice(*options: str) -> Callable:
    def check(value):
        if value not in options:
            close = difflib.get_close_matches(str(value), options, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise Invalid(f"must be one of {', '.join(repr(o) for o in options)}; got {_describe(value)}{hint}")
        return value

    check.allowed = "one of " + ", ".join(f'"{o}"' for o in options)
    return check


def allowed(check) -> str:
    """What a check accepts, in words, for documentation."""
    return getattr(check, "allowed", "")


def text_or_empty(value):
    if not isinstance(value, str):
        raise Invalid(f"must be a string; got {_describe(value)}")
    return value


def boolean(value):
    if not isinstance(value, bool):
        raise Invalid(f"must be true or false; got {_describe(value)}")
    return value


def text(value):
    if not isinstance(value, str) or not value.strip():
        raise Invalid(f"must be a non-empty string; got {_describe(value)}")
    return value


def seed_list(value):
    if not isinstance(value, list) or not value:
        raise Invalid(f"must be a non-empty list of integers >= 0, e.g. [1, 2, 3]; got {_describe(value)}")
    for seed in value:
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise Invalid(f"must be a non-empty list of integers >= 0; got {_describe(seed)} in it")
    if len(set(value)) != len(value):
        raise Invalid(f"must not repeat a seed; got {value}")
    return value


_UNITS = {
    "B": 1,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
    "KIB": 2**10,
    "MIB": 2**20,
    "GIB": 2**30,
    "TIB": 2**40,
}
_SIZE_PATTERN = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]+)\s*$")


def parse_bytes(value: str) -> int:
    """'64MiB' -> 67108864.  Units: B, KB, MB, GB, TB (powers of 1000), KiB, MiB, GiB, TiB."""
    match = _SIZE_PATTERN.match(value)
    if not match or match.group(2).upper() not in _UNITS:
        raise Invalid(f'must be a size such as "64MiB" (units B, KiB, MiB, GiB, TiB, KB, MB, GB, TB); got {value!r}')
    amount = float(match.group(1)) * _UNITS[match.group(2).upper()]
    if amount < 1:
        raise Invalid(f"must be at least 1 byte; got {value!r}")
    return int(amount)


def capacity(value):
    """An integer counts objects; a string with a unit counts bytes."""
    message = 'must be a positive integer (objects) or a size such as "64MiB" (bytes)'
    if isinstance(value, str):
        try:
            parse_bytes(value)
        except Invalid as error:
            raise Invalid(f"{message}; {error}") from None
        return value
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise Invalid(f"{message}; got {_describe(value)}")
    return value


def capacity_value(value) -> tuple[int, bool]:
    """(capacity, counts bytes?) of a checked capacity."""
    if isinstance(value, str):
        return parse_bytes(value), True
    return int(value), False


def policy_name(value):
    if not isinstance(value, str):
        raise Invalid(f"must be a policy name (see `kvsim policies`) or 'package.module:Class'; got {_describe(value)}")
    try:
        policy_class(value)
    except PolicyError as error:
        raise Invalid(str(error)) from None
    return value


def table(value):
    if not isinstance(value, dict):
        raise Invalid(f"must be a table, e.g. {{ bits = 2 }}; got {_describe(value)}")
    return value


def distribution(fields: dict[str, dict[str, Callable]], number_means: str | None = None) -> Callable:
    """A check for a table { dist = NAME, ... } whose other keys depend on NAME.

    `fields` maps each dist name to its required parameters and their checks.
    When `number_means` names a dist, a bare number is accepted as that dist's
    single parameter (object_size = 4096 is a constant 4096 bytes).
    """
    forms = "; ".join(f'{{ dist = "{name}", {", ".join(params)} }}' for name, params in fields.items())

    def check(value):
        if number_means and isinstance(value, (int, float)) and not isinstance(value, bool):
            ((param, param_check),) = fields[number_means].items()
            return param_check(value)
        if not isinstance(value, dict) or "dist" not in value:
            bare = "a number, or " if number_means else ""
            raise Invalid(f"must be {bare}a table: {forms}; got {_describe(value)}")
        name = value["dist"]
        if name not in fields:
            raise Invalid(f"dist must be one of {', '.join(repr(n) for n in fields)}; got {name!r}")
        return tagged_table(value, "dist", fields[name])

    return check


def tagged_table(value: dict, tag: str, params: dict) -> dict:
    """Check a table whose `tag` key (already checked) names its form: exactly `params`, each checked."""
    name = value[tag]
    for key in value:
        if key != tag and key not in params:
            raise Invalid(f"{tag} {name!r} takes {', '.join(params)}; got unknown {key!r}")
    checked = {tag: name}
    for key, param_check in params.items():
        if key not in value:
            raise Invalid(f"{tag} {name!r} needs {key}")
        try:
            checked[key] = param_check(value[key])
        except Invalid as error:
            raise Invalid(f"{key} {error}") from None
    return checked


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
    return {name: params for name, (_, params) in forms.items()}


object_size = distribution(_checks(SIZE_FORMS), number_means="constant")
latency = distribution(_checks(LATENCY_FORMS), number_means="constant")
ttl_value = distribution(_checks(TTL_FORMS), number_means="constant")

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


def arrival_process(value):
    """ "poisson", or a table { process = "onoff" | "diurnal", ... }; the mean rate is workload.rate."""
    forms = (
        '"poisson"; { process = "onoff", mean_on_s, mean_off_s, off_ratio }; '
        '{ process = "diurnal", amplitude, period_s, peak_s }'
    )
    if value == "poisson":
        return value
    if not isinstance(value, dict) or value.get("process") not in ("onoff", "diurnal"):
        raise Invalid(f"must be {forms}; got {_describe(value)}")
    fields = {
        "onoff": {"mean_on_s": _positive, "mean_off_s": _positive, "off_ratio": number(0, 1)},
        "diurnal": {"amplitude": number(0, 0.99), "period_s": _positive, "peak_s": _non_negative},
    }[value["process"]]
    return tagged_table(value, "process", fields)


def table_list(fields: dict, required: tuple = ()) -> Callable:
    """A check for a list of tables ([[section.key]] in TOML), each with its own keys."""

    def check(value):
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise Invalid(
                f"must be a list of tables ([[...]] in TOML) with keys {', '.join(fields)}; got {_describe(value)}"
            )
        checked = []
        for index, item in enumerate(value):
            entry = {}
            for key in item:
                if key not in fields:
                    raise Invalid(f"[{index}]: unknown key {key!r}{_closest(key, fields)}; valid: {', '.join(fields)}")
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


def string_list(value):
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise Invalid(f"must be a list of strings; got {_describe(value)}")
    return value


@dataclass(frozen=True)
class Key:
    """One config key: default, check, and the line of documentation shown in defaults.toml."""

    default: Any
    check: Callable[[Any], Any]
    doc: str


_CLASS_FIELDS = {
    "name": Key("default", text, "the class's name (for updates.classes and results)"),
    "share": Key(1.0, number(0, low_open=True), "relative share of requests (normalized over classes)"),
    "keys": Key(100_000, integer(1), "catalogue size of the class"),
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
        "interval": Key(60.0, number(0, low_open=True), "seconds per row of timeseries.csv"),
        "timeout_ms": Key(0.0, number(0), "a client gives up after this long and counts a timeout (0: never)"),
    },
    "workload": {
        "keys": Key(100_000, integer(1), "catalogue size: keys are 0 .. keys-1"),
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
            0, integer(0), "requests a node serves at once; more wait in a FCFS queue (0: no node queue)"
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
        "concurrency": Key(64, integer(1), "requests the backend serves at once; more wait in a FCFS queue"),
        "coalesce": Key(
            False,
            boolean,
            "a miss for a key already being fetched waits for that fetch instead of asking the backend again",
        ),
    },
    "updates": {
        "every_s": Key(0.0, number(0), "seconds between model updates that change values in bulk (0: none)"),
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

TOP_LEVEL = {"name": Key("experiment", text, "the experiment's name: results go to results/<name>/ by default")}
SECTIONS = tuple(SCHEMA) + ("sweep", "plan")


def all_keys() -> list[str]:
    """Every dotted key of the schema, in declaration order."""
    return list(TOP_LEVEL) + [f"{section}.{key}" for section, keys in SCHEMA.items() for key in keys]


def schema_key(dotted: str) -> Key:
    section, _, key = dotted.partition(".")
    if not key:
        return TOP_LEVEL[section]
    return SCHEMA[section][key]


def _closest(name: str, candidates) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


@dataclass(frozen=True)
class Experiment:
    """A validated config: the base values, what to sweep, and the seeds.

    config: nested dict {section: {key: value}} with every key filled in
    grid:   dotted key -> list of values; the sweep is their product ...
    zipped: dotted key -> list of values that vary together (equal lengths)
    plan:   the [plan] table as written: `kvsim plan` checks and reads it (experiments/plan/)
    """

    name: str
    config: dict
    grid: dict = field(default_factory=dict)
    zipped: dict = field(default_factory=dict)
    source: str = "<defaults>"
    raw: dict = field(default_factory=dict, compare=False, repr=False)  # the config as written
    plan: dict = field(default_factory=dict)

    @property
    def seeds(self) -> list[int]:
        return list(self.config["run"]["seeds"])

    @property
    def swept_keys(self) -> list[str]:
        return list(self.grid) + list(self.zipped)


def load(path: str | Path, overrides: dict | None = None) -> Experiment:
    """Read and validate a TOML config file; `overrides` set dotted keys first."""
    path = Path(path)
    data = with_overrides(read_toml(path), overrides or {})
    workload = data.get("workload")
    if isinstance(workload, dict) and isinstance(workload.get("trace"), str) and workload["trace"]:
        # A trace named in a config is found next to the config, wherever kvsim runs from.
        workload["trace"] = str((path.parent / workload["trace"]).resolve())
    try:
        return from_dict(data, source=str(path), default_name=path.stem)
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None


def read_toml(path: Path) -> dict:
    """The parsed TOML of a config file, or a ConfigError saying why not."""
    try:
        text_content = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read ({error})") from None
    try:
        return tomllib.loads(text_content)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None


def with_overrides(data: dict, overrides: dict) -> dict:
    """A copy of raw config `data` with dotted keys set; an overridden key is no longer swept.

    Keys may be written "cluster.capacity" or, as Python keywords, cluster__capacity.
    """
    data = copy.deepcopy(data)
    for key, value in overrides.items():
        dotted = key.replace("__", ".")
        if dotted not in all_keys():
            raise ConfigError(
                f"override {key!r}: unknown key{_closest(dotted, all_keys())}; valid: {', '.join(all_keys())}"
            )
        if dotted in TOP_LEVEL:
            data[dotted] = value
            continue
        section, _, name = dotted.partition(".")
        body = data.setdefault(section, {})
        if not isinstance(body, dict):
            raise ConfigError(f"{section} must be a table ([{section}]); got {_describe(body)}")
        body[name] = value
        sweep = data.get("sweep")
        if isinstance(sweep, dict):
            sweep.pop(dotted, None)
            if isinstance(sweep.get("zip"), dict):
                sweep["zip"].pop(dotted, None)
                if not sweep["zip"]:
                    del sweep["zip"]
    return data


def from_dict(data: dict, source: str = "<dict>", default_name: str = "experiment") -> Experiment:
    """Validate a parsed config (nested dicts, as TOML gives them)."""
    if not isinstance(data, dict):
        raise ConfigError(f"a config must be a table of sections; got {_describe(data)}")
    config = {
        section: {key: copy.deepcopy(spec.default) for key, spec in keys.items()} for section, keys in SCHEMA.items()
    }
    name = default_name
    grid: dict = {}
    zipped: dict = {}
    plan: dict = {}
    for section, body in data.items():
        if section == "name":
            name = _checked("name", body)
            continue
        if section == "plan":  # checked by experiments/plan/ when a plan is made; a run ignores it
            if not isinstance(body, dict):
                raise ConfigError(f"plan must be a table ([plan]); got {_describe(body)}")
            plan = copy.deepcopy(body)
            continue
        if section == "sweep":
            grid, zipped = _sweep(body)
            continue
        if section not in SCHEMA:
            raise ConfigError(
                f"unknown section or key {section!r}{_closest(section, list(SECTIONS) + list(TOP_LEVEL))}; "
                f"valid: {', '.join(list(TOP_LEVEL) + list(SECTIONS))}"
            )
        if not isinstance(body, dict):
            raise ConfigError(f"{section} must be a table ([{section}]); got {_describe(body)}")
        for key, value in body.items():
            dotted = f"{section}.{key}"
            if key not in SCHEMA[section]:
                suggestions = [f"{section}.{k}" for k in SCHEMA[section]]
                raise ConfigError(
                    f"unknown key {dotted!r}{_closest(dotted, suggestions)}; "
                    f"valid in [{section}]: {', '.join(SCHEMA[section])}"
                )
            config[section][key] = _checked(dotted, value)
    experiment = Experiment(
        name=name, config=config, grid=grid, zipped=zipped, source=source, raw=copy.deepcopy(data), plan=plan
    )
    # Every point of the sweep must be valid as a whole, not only key by key.
    for values in sweep_values(experiment):
        check_point(with_values(config, values), values)
    return experiment


def _checked(dotted: str, value):
    try:
        return schema_key(dotted).check(value)
    except Invalid as error:
        raise ConfigError(f"{dotted}: {error}") from None


def _sweep(body) -> tuple[dict, dict]:
    if not isinstance(body, dict):
        raise ConfigError(f'sweep must be a table of "dotted.key" = [values]; got {_describe(body)}')
    grid, zipped = {}, {}
    for dotted, values in body.items():
        if dotted == "zip":
            if not isinstance(values, dict) or not values:
                raise ConfigError('sweep.zip must be a table of "dotted.key" = [values] of equal lengths')
            for zipped_key, zipped_values in values.items():
                zipped[zipped_key] = _sweep_values(f"sweep.zip.{zipped_key!r}", zipped_key, zipped_values)
            lengths = {key: len(v) for key, v in zipped.items()}
            if len(set(lengths.values())) > 1:
                raise ConfigError(f"sweep.zip: lists must have equal lengths; got {lengths}")
            continue
        grid[dotted] = _sweep_values(f"sweep.{dotted!r}", dotted, values)
    both = set(grid) & set(zipped)
    if both:
        raise ConfigError(f"sweep: {sorted(both)[0]!r} is both in the grid and in sweep.zip; use one")
    return grid, zipped


def _sweep_values(where: str, dotted: str, values) -> list:
    valid = [k for k in all_keys() if k not in ("name", "run.seeds")]
    if dotted not in valid:
        raise ConfigError(
            f"{where}: unknown key {dotted!r}{_closest(dotted, valid)}; a sweep varies a dotted key "
            f'such as "cluster.capacity" (run.seeds are replications, not a sweep)'
        )
    if not isinstance(values, list) or not values:
        raise ConfigError(f"{where}: must be a non-empty list of values; got {_describe(values)}")
    checked = []
    for index, value in enumerate(values):
        try:
            checked.append(schema_key(dotted).check(value))
        except Invalid as error:
            raise ConfigError(f"{where}[{index}]: {error}") from None
    if len({repr(v) for v in checked}) != len(checked):
        raise ConfigError(f"{where}: repeats a value; got {values}")
    return checked


def sweep_values(experiment: Experiment) -> list[dict]:
    """The swept values of each point: the grid's product times the zipped rows, in order."""
    grid_rows = [dict(zip(experiment.grid, combo)) for combo in itertools.product(*experiment.grid.values())]
    zip_length = len(next(iter(experiment.zipped.values()))) if experiment.zipped else 0
    zip_rows = [{key: values[i] for key, values in experiment.zipped.items()} for i in range(zip_length)] or [{}]
    return [{**grid_row, **zip_row} for grid_row in grid_rows for zip_row in zip_rows]


def with_values(config: dict, values: dict) -> dict:
    """A copy of `config` with dotted keys set to `values`."""
    result = copy.deepcopy(config)
    for dotted, value in values.items():
        section, _, key = dotted.partition(".")
        result[section][key] = copy.deepcopy(value)
    return result


def check_point(config: dict, values: dict) -> None:
    """Checks that span keys: the policy's parameters, node indices, class names, ..."""
    where = (
        "" if not values else " (at sweep point " + ", ".join(f"{k} = {_describe(v)}" for k, v in values.items()) + ")"
    )

    def fail(message):
        raise ConfigError(f"{message}{where}")

    cluster, workload, run_section = config["cluster"], config["workload"], config["run"]
    try:
        check_params(cluster["policy"], cluster["policy_params"])
    except PolicyError as error:
        fail(f"cluster.policy_params: {error}")
    if getattr(policy_class(cluster["policy"]), "offline", False):
        fail(
            f"cluster.policy: {cluster['policy']!r} needs the future of the request stream and works only in "
            f"`kvsim replay`, not in the timed model"
        )
    if run_section["requests"] + run_section["warmup"] > 2**31:
        fail(f"run.requests + run.warmup must be at most 2**31; got {run_section['requests'] + run_section['warmup']}")
    if cluster["replicas"] > cluster["nodes"]:
        fail(f"cluster.replicas must be at most cluster.nodes ({cluster['nodes']}); got {cluster['replicas']}")
    for index, outage in enumerate(cluster["failures"]):
        if outage["node"] >= cluster["nodes"]:
            fail(f"cluster.failures[{index}].node must be in [0, {cluster['nodes'] - 1}]; got {outage['node']}")
        if outage["up_at"] <= outage["down_at"]:
            fail(f"cluster.failures[{index}].up_at must be after down_at ({outage['down_at']}); got {outage['up_at']}")
    names = [c["name"] for c in workload["classes"]] or ["default"]
    if len(set(names)) != len(names):
        fail(f"workload.classes: names must be unique; got {names}")
    for name in config["updates"]["classes"]:
        if name not in names:
            fail(f"updates.classes: no key class {name!r}{_closest(name, names)}; classes: {', '.join(names)}")
    if config["updates"]["every_s"] and not config["updates"]["classes"]:
        fail('updates.classes: name the key classes a model update changes, e.g. ["default"]')
    for where_key, section in [("workload", workload)] + [
        (f"workload.classes[{i}]", c) for i, c in enumerate(workload["classes"])
    ]:
        if section["rotate_every_s"] and section["new_keys_per_s"]:
            fail(f"{where_key}: rotate_every_s and new_keys_per_s cannot both be set; choose one kind of drift")
    if workload["scan_fraction"] + workload["one_hit_fraction"] > 1:
        fail("workload.scan_fraction + workload.one_hit_fraction must be at most 1")
    if workload["scan_fraction"] and not workload["scan_keys"]:
        fail("workload.scan_keys must be >= 1 when workload.scan_fraction > 0")
    if workload["trace"]:
        try:
            trace_workload(workload)
        except (TraceError, OSError) as error:
            fail(f"workload.trace: {error}")
    ttl = cluster["ttl"]
    if isinstance(ttl, dict) and ttl["dist"] == "uniform" and ttl["high_s"] <= ttl["low_s"]:
        fail(f"cluster.ttl: high_s must be greater than low_s; got {ttl['low_s']} and {ttl['high_s']}")


def resolve(config_or_path, overrides: dict | None = None) -> Experiment:
    """An Experiment from a path, a built-in config's name, a dict or an Experiment.

    `overrides` set dotted keys ("cluster.capacity" or cluster__capacity) before
    validation; an overridden key is no longer swept.
    """
    overrides = overrides or {}
    if isinstance(config_or_path, Experiment):
        return from_dict(
            with_overrides(config_or_path.raw, overrides),
            source=config_or_path.source,
            default_name=config_or_path.name,
        )
    if isinstance(config_or_path, dict):
        return from_dict(with_overrides(config_or_path, overrides))
    path = Path(config_or_path)
    if not path.exists() and shipped.path(str(config_or_path)).exists():
        path = shipped.path(str(config_or_path))
    return load(path, overrides)


# -- from validated values to the simulator's objects -------------------------


def latency_seconds(spec) -> Any:
    """A checked latency value (ms) as a Distribution in seconds."""
    return to_distribution(spec, LATENCY_FORMS, scale=1e-3)


def ttl_seconds(spec) -> Any:
    """A checked TTL value: a number of seconds, or a Distribution in seconds."""
    ttl = to_distribution(spec, TTL_FORMS)
    return float(ttl.value) if isinstance(ttl, Constant) else ttl


def arrivals(workload: dict) -> Any:
    spec, rate = workload["arrivals"], workload["rate"]
    if spec == "poisson":
        return Poisson(rate)
    if spec["process"] == "diurnal":
        return Diurnal(rate, spec["amplitude"], spec["period_s"], spec["peak_s"])
    # On/off with the requested mean rate: on_rate f + off_rate (1 - f) = rate, off_rate = ratio on_rate.
    on_share = spec["mean_on_s"] / (spec["mean_on_s"] + spec["mean_off_s"])
    on_rate = rate / (on_share + (1.0 - on_share) * spec["off_ratio"])
    return OnOff(on_rate, on_rate * spec["off_ratio"], spec["mean_on_s"], spec["mean_off_s"])


def popularity(section: dict) -> Zipf | Uniform:
    if section["popularity"] == "zipf":
        return Zipf(section["keys"], section["alpha"])
    return Uniform(section["keys"])


def trace_workload(workload: dict) -> TraceWorkload:
    options = {"key": workload["trace_key_column"]} if workload["trace_key_column"] else {}
    return TraceWorkload(
        workload["trace"],
        None if workload["trace_format"] == "auto" else workload["trace_format"],
        time_unit=workload["trace_time_unit"],
        rate=workload["rate"] if workload["trace_arrivals"] == "rate" else None,
        options=options,
        disorder="clamp",
    )


def workload_of(workload: dict) -> Workload | TraceWorkload:
    if workload["trace"]:
        return trace_workload(workload)
    classes = tuple(
        KeyClass(
            popularity(c),
            size_distribution(c["object_size"]),
            c["name"],
            c["share"],
            c["write_fraction"],
            c["rotate_every_s"],
            c["rotate_by"],
            c["new_keys_per_s"],
        )
        for c in workload["classes"]
    )
    return Workload(
        None if classes else popularity(workload),
        arrivals(workload),
        size_distribution(workload["object_size"]),
        write_fraction=workload["write_fraction"],
        rotate_every=workload["rotate_every_s"],
        rotate_by=workload["rotate_by"],
        new_keys_per_s=workload["new_keys_per_s"],
        classes=classes,
        scan_fraction=workload["scan_fraction"],
        scan_keys=workload["scan_keys"],
        one_hit_fraction=workload["one_hit_fraction"],
    )


def class_index(workload: dict) -> dict[str, int]:
    """Key class name -> index (ids of class i are i << 40)."""
    return {c["name"]: i for i, c in enumerate(workload["classes"])} or {"default": 0}


def size_distribution(spec) -> Any:
    return to_distribution(spec, SIZE_FORMS)


def scenario(config: dict) -> Scenario:
    """The simulator's Scenario for one resolved point config."""
    run_section, workload, cluster, updates = config["run"], config["workload"], config["cluster"], config["updates"]
    capacity_amount, capacity_bytes = capacity_value(cluster["capacity"])
    classes = class_index(workload)
    return Scenario(
        workload=workload_of(workload),
        cluster=ClusterSpec(
            nodes=cluster["nodes"],
            capacity=capacity_amount,
            capacity_bytes=capacity_bytes,
            policy=cluster["policy"],
            policy_params=tuple(sorted(cluster["policy_params"].items())),
            balancer=cluster["balancer"],
            vnodes=cluster["vnodes"],
            bound_epsilon=cluster["bound_epsilon"],
            replicas=cluster["replicas"],
            ttl=ttl_seconds(cluster["ttl"]),
            ttl_by_class=tuple((classes[c["name"]], float(c["ttl"])) for c in workload["classes"] if c["ttl"] >= 0),
            ttl_refresh=cluster["ttl_mode"] == "refresh",
            active_expiry=cluster["expiry"] == "active",
            node_concurrency=cluster["node_concurrency"],
            node_service=latency_seconds(cluster["node_service"]),
            write_policy=cluster["write_policy"],
            outages=tuple(Outage(o["node"], float(o["down_at"]), float(o["up_at"])) for o in cluster["failures"]),
            mtbf=float(cluster["mtbf_s"]),
            mttr=float(cluster["mttr_s"]),
        ),
        backend=BackendSpec(
            latency=latency_seconds(config["backend"]["latency"]),
            concurrency=config["backend"]["concurrency"],
            coalesce=config["backend"]["coalesce"],
        ),
        hit_latency=latency_seconds(config["network"]["hit_latency"]),
        requests=run_section["requests"],
        warmup=run_section["warmup"],
        timeout=run_section["timeout_ms"] / 1000.0,
        updates=ModelUpdates(
            updates["every_s"], tuple(classes[name] for name in updates["classes"]), updates["invalidate"]
        ),
        interval=float(run_section["interval"]),
    )
