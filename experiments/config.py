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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from experiments import configs as shipped
from policies import PolicyError, check_params, policy_class
from sim.scenario import BackendSpec, ClusterSpec, Scenario
from workloads import Constant, Exponential, Lognormal, Pareto, Poisson, Uniform, Workload, Zipf


class ConfigError(ValueError):
    """A user's mistake in a config: the message names the key and what is allowed."""


class Invalid(ValueError):
    """Raised by a check; ConfigError adds the key's name."""


# -- checks: each takes the raw TOML value and returns it (normalized) or raises Invalid.


def _describe(value: Any) -> str:
    return repr(value) if not isinstance(value, dict) else "{" + ", ".join(f"{k} = {v!r}" for k, v in value.items()) + "}"


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

    return check


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


_UNITS = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
          "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}
_SIZE_PATTERN = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]+)\s*$")


def parse_bytes(value: str) -> int:
    """'64MiB' -> 67108864.  Units: B, KB, MB, GB, TB (powers of 1000), KiB, MiB, GiB, TiB."""
    match = _SIZE_PATTERN.match(value)
    if not match or match.group(2).upper() not in _UNITS:
        raise Invalid(f"must be a size such as \"64MiB\" (units B, KiB, MiB, GiB, TiB, KB, MB, GB, TB); got {value!r}")
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
    forms = "; ".join(
        "{ dist = \"%s\", %s }" % (name, ", ".join(params)) for name, params in fields.items()
    )

    def check(value):
        if number_means and isinstance(value, (int, float)) and not isinstance(value, bool):
            (param, param_check), = fields[number_means].items()
            return param_check(value)
        if not isinstance(value, dict) or "dist" not in value:
            bare = f"a number, or " if number_means else ""
            raise Invalid(f"must be {bare}a table: {forms}; got {_describe(value)}")
        name = value["dist"]
        if name not in fields:
            raise Invalid(f"dist must be one of {', '.join(repr(n) for n in fields)}; got {name!r}")
        params = fields[name]
        for key in value:
            if key != "dist" and key not in params:
                raise Invalid(f"dist {name!r} takes {', '.join(params)}; got unknown {key!r}")
        checked = {"dist": name}
        for key, param_check in params.items():
            if key not in value:
                raise Invalid(f"dist {name!r} needs {key}")
            try:
                checked[key] = param_check(value[key])
            except Invalid as error:
                raise Invalid(f"{key} {error}") from None
        return checked

    return check


_positive = number(0, low_open=True)
_non_negative = number(0)

object_size = distribution(
    {
        "constant": {"bytes": integer(1)},
        "lognormal": {"median": _positive, "sigma": _non_negative},
        "pareto": {"min": _positive, "shape": _positive},
    },
    number_means="constant",
)

latency = distribution(
    {
        "constant": {"ms": _non_negative},
        "exponential": {"mean_ms": _positive},
        "lognormal": {"median_ms": _positive, "sigma": _non_negative},
    },
    number_means="constant",
)


@dataclass(frozen=True)
class Key:
    """One config key: default, check, and the line of documentation shown in defaults.toml."""

    default: Any
    check: Callable[[Any], Any]
    doc: str


SCHEMA: dict[str, dict[str, Key]] = {
    "run": {
        "requests": Key(200_000, integer(1), "measured requests per run"),
        "warmup": Key(50_000, integer(0), "requests simulated before measuring (not counted)"),
        "seeds": Key([1, 2, 3], seed_list, "one run per seed and sweep point; same seed, same request stream"),
    },
    "workload": {
        "keys": Key(100_000, integer(1), "catalogue size: keys are 0 .. keys-1"),
        "popularity": Key("zipf", choice("zipf", "uniform"), "key popularity law"),
        "alpha": Key(0.9, number(0), "Zipf exponent, any value >= 0 (0 is uniform)"),
        "rate": Key(20_000, number(0, low_open=True), "requests per second, Poisson arrivals"),
        "object_size": Key(1, object_size, "bytes per object: a number, or { dist = \"lognormal\", median = 4096, sigma = 1.0 }, or { dist = \"pareto\", min = 100, shape = 1.5 }"),
    },
    "cluster": {
        "nodes": Key(4, integer(1, 4096), "cache nodes"),
        "capacity": Key(2_500, capacity, "per node: an integer counts objects; a size such as \"64MiB\" counts bytes"),
        "policy": Key("lru", policy_name, "eviction policy (`kvsim policies` lists them) or \"package.module:Class\""),
        "policy_params": Key({}, table, "keyword parameters of the policy, e.g. { bits = 2 } for clock"),
        "balancer": Key("consistent", choice("consistent", "modulo"), "how keys are spread over nodes"),
        "vnodes": Key(160, integer(1, 10_000), "virtual nodes per node on the consistent-hash ring"),
        "ttl": Key(0, number(0), "seconds from insertion until an entry expires (a hit does not extend it); 0 means never"),
    },
    "network": {
        "hit_latency": Key({"dist": "lognormal", "median_ms": 0.2, "sigma": 0.3}, latency,
                           "client <-> node round trip, paid by every request (ms)"),
    },
    "backend": {
        "latency": Key({"dist": "lognormal", "median_ms": 5.0, "sigma": 0.5}, latency,
                       "backend service time (ms): lognormal (median_ms, sigma), exponential (mean_ms) or constant (ms)"),
        "concurrency": Key(64, integer(1), "requests the backend serves at once; more wait in a FCFS queue"),
        "coalesce": Key(False, boolean, "a miss for a key already being fetched waits for that fetch instead of asking the backend again"),
    },
}

TOP_LEVEL = {"name": Key("experiment", text, "the experiment's name: results go to results/<name>/ by default")}
SECTIONS = tuple(SCHEMA) + ("sweep",)


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
    """

    name: str
    config: dict
    grid: dict = field(default_factory=dict)
    zipped: dict = field(default_factory=dict)
    source: str = "<defaults>"
    raw: dict = field(default_factory=dict, compare=False, repr=False)  # the config as written

    @property
    def seeds(self) -> list[int]:
        return list(self.config["run"]["seeds"])

    @property
    def swept_keys(self) -> list[str]:
        return list(self.grid) + list(self.zipped)


def load(path: str | Path, overrides: dict | None = None) -> Experiment:
    """Read and validate a TOML config file; `overrides` set dotted keys first."""
    path = Path(path)
    data = read_toml(path)
    try:
        return from_dict(with_overrides(data, overrides or {}), source=str(path), default_name=path.stem)
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
            raise ConfigError(f"override {key!r}: unknown key{_closest(dotted, all_keys())}; valid: {', '.join(all_keys())}")
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
    config = {section: {key: copy.deepcopy(spec.default) for key, spec in keys.items()}
              for section, keys in SCHEMA.items()}
    name = default_name
    grid: dict = {}
    zipped: dict = {}
    for section, body in data.items():
        if section == "name":
            name = _checked("name", body)
            continue
        if section == "sweep":
            grid, zipped = _sweep(body)
            continue
        if section not in SCHEMA:
            raise ConfigError(f"unknown section or key {section!r}{_closest(section, list(SECTIONS) + list(TOP_LEVEL))}; "
                              f"valid: {', '.join(list(TOP_LEVEL) + list(SECTIONS))}")
        if not isinstance(body, dict):
            raise ConfigError(f"{section} must be a table ([{section}]); got {_describe(body)}")
        for key, value in body.items():
            dotted = f"{section}.{key}"
            if key not in SCHEMA[section]:
                suggestions = [f"{section}.{k}" for k in SCHEMA[section]]
                raise ConfigError(f"unknown key {dotted!r}{_closest(dotted, suggestions)}; "
                                  f"valid in [{section}]: {', '.join(SCHEMA[section])}")
            config[section][key] = _checked(dotted, value)
    experiment = Experiment(name=name, config=config, grid=grid, zipped=zipped, source=source,
                            raw=copy.deepcopy(data))
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
        raise ConfigError(f"sweep must be a table of \"dotted.key\" = [values]; got {_describe(body)}")
    grid, zipped = {}, {}
    for dotted, values in body.items():
        if dotted == "zip":
            if not isinstance(values, dict) or not values:
                raise ConfigError("sweep.zip must be a table of \"dotted.key\" = [values] of equal lengths")
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
        raise ConfigError(f"{where}: unknown key {dotted!r}{_closest(dotted, valid)}; a sweep varies a dotted key "
                          f"such as \"cluster.capacity\" (run.seeds are replications, not a sweep)")
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
    """Checks that span keys (the policy's parameters, the backend's stability)."""
    where = "" if not values else " (at sweep point " + ", ".join(f"{k} = {_describe(v)}" for k, v in values.items()) + ")"
    cluster = config["cluster"]
    try:
        check_params(cluster["policy"], cluster["policy_params"])
    except PolicyError as error:
        raise ConfigError(f"cluster.policy_params: {error}{where}") from None
    run_section = config["run"]
    if run_section["requests"] + run_section["warmup"] > 2**31:
        raise ConfigError(f"run.requests + run.warmup must be at most 2**31; got {run_section['requests'] + run_section['warmup']}{where}")


def resolve(config_or_path, overrides: dict | None = None) -> Experiment:
    """An Experiment from a path, a built-in config's name, a dict or an Experiment.

    `overrides` set dotted keys ("cluster.capacity" or cluster__capacity) before
    validation; an overridden key is no longer swept.
    """
    overrides = overrides or {}
    if isinstance(config_or_path, Experiment):
        return from_dict(with_overrides(config_or_path.raw, overrides),
                         source=config_or_path.source, default_name=config_or_path.name)
    if isinstance(config_or_path, dict):
        return from_dict(with_overrides(config_or_path, overrides))
    path = Path(config_or_path)
    if not path.exists() and shipped.path(str(config_or_path)).exists():
        path = shipped.path(str(config_or_path))
    return load(path, overrides)


# -- from validated values to the simulator's objects -------------------------


def latency_seconds(spec) -> Any:
    """A checked latency value (ms) as a Distribution in seconds."""
    if not isinstance(spec, dict):
        return Constant(spec / 1000.0)
    if spec["dist"] == "constant":
        return Constant(spec["ms"] / 1000.0)
    if spec["dist"] == "exponential":
        return Exponential(spec["mean_ms"] / 1000.0)
    return Lognormal(spec["median_ms"] / 1000.0, spec["sigma"])


def size_distribution(spec) -> Any:
    if not isinstance(spec, dict):
        return Constant(spec)
    if spec["dist"] == "constant":
        return Constant(spec["bytes"])
    if spec["dist"] == "lognormal":
        return Lognormal(spec["median"], spec["sigma"])
    return Pareto(spec["min"], spec["shape"])


def scenario(config: dict) -> Scenario:
    """The simulator's Scenario for one resolved point config."""
    run_section, workload, cluster = config["run"], config["workload"], config["cluster"]
    if workload["popularity"] == "zipf":
        popularity = Zipf(workload["keys"], workload["alpha"])
    else:
        popularity = Uniform(workload["keys"])
    capacity_amount, capacity_bytes = capacity_value(cluster["capacity"])
    return Scenario(
        workload=Workload(popularity, Poisson(workload["rate"]), size_distribution(workload["object_size"])),
        cluster=ClusterSpec(
            nodes=cluster["nodes"],
            capacity=capacity_amount,
            capacity_bytes=capacity_bytes,
            policy=cluster["policy"],
            policy_params=tuple(sorted(cluster["policy_params"].items())),
            balancer=cluster["balancer"],
            vnodes=cluster["vnodes"],
            ttl=float(cluster["ttl"]),
        ),
        backend=BackendSpec(
            latency=latency_seconds(config["backend"]["latency"]),
            concurrency=config["backend"]["concurrency"],
            coalesce=config["backend"]["coalesce"],
        ),
        hit_latency=latency_seconds(config["network"]["hit_latency"]),
        requests=run_section["requests"],
        warmup=run_section["warmup"],
    )
