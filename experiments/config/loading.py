"""Experiment configs: TOML in, a checked Experiment out, errors that name the key.

This is the entry point for loading: `load` a file, `resolve` a path, a
shipped config's name (`locate`, the one place that looks them up), a dict
or an Experiment, with dotted-key overrides.  A config is checked once,
here: key by key into a typed Config, then every point of its sweep as a
whole (`check_point`, where the point's policy is built, once, to check its
parameters).  What follows reads the Experiment's checked sweep points and
builds nothing of them again.

What the keys are lives in experiments/config/schema.py, how a value is
checked in experiments/config/checks.py, how a checked config becomes the
simulator's Scenario in experiments/config/build.py, and how a sweep
expands into runs in experiments/config/sweep.py.

Loading never raises anything but ConfigError for a user's mistake, and its
message is one line naming the key, what is allowed and what was given:

    cluster.capacity: must be a positive integer (objects) or a size such as
    "64MiB" (bytes); got -5
"""

from __future__ import annotations

import copy
import dataclasses
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from experiments import configs as shipped
from experiments.config.build import request_loop, trace_workload
from experiments.config.checks import Invalid, describe, did_you_mean, written
from experiments.config.errors import ConfigError
from experiments.config.fleet_checks import fleet_problem
from experiments.config.limits import run_limits
from experiments.config.near import near_problem
from experiments.config.schema import (
    SCHEMA,
    SECTION_TYPES,
    SECTIONS,
    TOP_LEVEL,
    ClusterSection,
    Config,
    all_keys,
    schema_key,
)
from experiments.config.sweep import SweepPoint, sweep_rows
from policies import Policy, PolicyError, check_params, make_policy, policy_class
from workloads.traces import TraceError

#: sweep points a config may make, and runs (points x seeds)
MAX_POINTS, MAX_RUNS = 10_000, 100_000


@dataclass(frozen=True)
class Experiment:
    """A checked config: the base values, what to sweep, the seeds, and every point of the sweep.

    config: the base values, every key filled in (a typed Config)
    grid:   dotted key -> list of values as written; the sweep is their product ...
    zipped: dotted key -> list of values that vary together (equal lengths)
    plan:   the [plan] table as written: `kvsim plan` checks and reads it (experiments/plan/)
    sweep_points: the sweep's points in order, each checked as a whole (experiments/config/sweep.py)
    """

    name: str
    config: Config
    grid: dict = field(default_factory=dict)
    zipped: dict = field(default_factory=dict)
    source: str = "<defaults>"
    raw: dict = field(default_factory=dict, compare=False, repr=False)  # the config as written
    plan: dict = field(default_factory=dict)
    sweep_points: tuple = ()

    @property
    def seeds(self) -> list[int]:
        return list(self.config.run.seeds)

    @property
    def swept_keys(self) -> list[str]:
        return list(self.grid) + list(self.zipped)

    @property
    def engines(self) -> dict[str, str]:
        """The request loop that runs each policy of the sweep ("compiled" or "python"), in sweep order."""
        found: dict[str, str] = {}
        for point in self.sweep_points:
            found.setdefault(point.config.cluster.policy, point.engine)
        return found

    @property
    def engine_notes(self) -> dict[str, list[int]]:
        """Why the Python loop runs some points -> those points' indices, in sweep order."""
        found: dict[str, list[int]] = {}
        for point in self.sweep_points:
            if point.engine_note:
                found.setdefault(point.engine_note, []).append(point.index)
        return found

    def without_sweep(self) -> Experiment:
        """The base config alone (as `kvsim plan` takes it): its sweep set aside, its one point unchecked."""
        return dataclasses.replace(self, grid={}, zipped={}, sweep_points=(SweepPoint(0, {}, self.config, "", ""),))


def resolve(config_or_path, overrides: dict | None = None) -> Experiment:
    """An Experiment from a path, a built-in config's name, a dict or an Experiment.

    `overrides` set dotted keys ("cluster.capacity" or cluster__capacity) before
    the config is checked; an overridden key is no longer swept.
    """
    overrides = overrides or {}
    if isinstance(config_or_path, Experiment):
        if not overrides:
            return config_or_path  # checked already
        return from_dict(
            with_overrides(config_or_path.raw, overrides),
            source=config_or_path.source,
            default_name=config_or_path.name,
        )
    if isinstance(config_or_path, dict):
        return from_dict(with_overrides(config_or_path, overrides))
    return load(locate(config_or_path), overrides)


def locate(path_or_name) -> Path:
    """The config file a path or a shipped experiment's name (experiments/configs/) stands for.

    A file of that path comes first; then a shipped experiment of that name;
    else a ConfigError that lists the shipped ones.
    """
    path = Path(path_or_name)
    if path.exists():
        return path
    if shipped.path(str(path_or_name)).exists():
        return shipped.path(str(path_or_name))
    raise ConfigError(
        f"{path_or_name}: no such config file, and no shipped experiment of that name; "
        f"shipped: {', '.join(shipped.names())}"
    )


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
    except ValueError as error:  # TOMLDecodeError, and an integer of more than 4300 digits
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
                f"override {key!r}: unknown key{did_you_mean(dotted, all_keys())}; valid: {', '.join(all_keys())}"
            )
        if dotted in TOP_LEVEL:
            data[dotted] = value
            continue
        section, _, name = dotted.partition(".")
        body = data.setdefault(section, {})
        if not isinstance(body, dict):
            raise ConfigError(f"{section} must be a table ([{section}]); got {describe(body)}")
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
    """Check a parsed config (nested dicts, as TOML gives them), key by key and point by point."""
    if not isinstance(data, dict):
        raise ConfigError(f"a config must be a table of sections; got {describe(data)}")
    sections: dict[str, dict] = {section: {} for section in SCHEMA}  # checked values; the rest take defaults
    name = default_name
    grid: dict = {}
    zipped: dict = {}
    plan: dict = {}
    _import_first(data)
    for section, body in data.items():
        if section == "name":
            name = _checked("name", body)
            continue
        if section == "plan":  # checked by experiments/plan/ when a plan is made; a run ignores it
            if not isinstance(body, dict):
                raise ConfigError(f"plan must be a table ([plan]); got {describe(body)}")
            plan = copy.deepcopy(body)
            continue
        if section == "sweep":
            grid, zipped = _checked_sweep(body)
            continue
        if section not in SCHEMA:
            raise ConfigError(
                f"unknown section or key {section!r}{did_you_mean(section, list(SECTIONS) + list(TOP_LEVEL))}; "
                f"valid: {', '.join(list(TOP_LEVEL) + list(SECTIONS))}"
            )
        if not isinstance(body, dict):
            raise ConfigError(f"{section} must be a table ([{section}]); got {describe(body)}")
        for key, value in body.items():
            dotted = f"{section}.{key}"
            if key not in SCHEMA[section]:
                suggestions = [f"{section}.{k}" for k in SCHEMA[section]]
                raise ConfigError(
                    f"unknown key {dotted!r}{did_you_mean(dotted, suggestions)}; "
                    f"valid in [{section}]: {', '.join(SCHEMA[section])}"
                )
            sections[section][key] = _checked(dotted, value)
    config = Config(**{section: SECTION_TYPES[section](**values) for section, values in sections.items()})
    runs = len(sweep_rows(grid, zipped)) * len(config.run.seeds)
    if runs > MAX_RUNS:
        raise ConfigError(
            f"run.seeds: {len(config.run.seeds)} seeds of {runs // len(config.run.seeds):,} sweep points make "
            f"{runs:,} runs; at most {MAX_RUNS:,}: fewer seeds or points"
        )
    # Every point of the sweep must be valid as a whole, not only key by key.
    sweep_points = []
    for index, values in enumerate(sweep_rows(grid, zipped)):
        as_written = {key: written(value) for key, value in values.items()}
        point = config.replace(values)
        sweep_points.append(SweepPoint(index, as_written, point, *check_point(point, as_written)))
    return Experiment(
        name=name,
        config=config,
        grid=_written_lists(grid),
        zipped=_written_lists(zipped),
        source=source,
        raw=copy.deepcopy(data),
        plan=plan,
        sweep_points=tuple(sweep_points),
    )


def _written_lists(sweep: dict) -> dict:
    """A sweep's checked lists (dotted key -> values) as the config writes them."""
    return {key: [written(value) for value in values] for key, values in sweep.items()}


def _import_first(data: dict) -> None:
    """Import the modules of run.imports before any key is checked: cluster.policy may name what they register."""
    run_section = data.get("run")
    if not isinstance(run_section, dict) or "imports" not in run_section:
        return
    from experiments.config.user_code import import_modules  # here: user_code reports its errors as ConfigErrors

    import_modules(_checked("run.imports", run_section["imports"]), where="run.imports:")


def _checked(dotted: str, value):
    """The checked value of key `dotted`, or a ConfigError that names the key."""
    try:
        return schema_key(dotted).check(value)
    except Invalid as error:
        raise ConfigError(f"{dotted}: {error}") from None


def _checked_sweep(body) -> tuple[dict, dict]:
    """The [sweep] table as (grid, zipped): dotted key -> its checked values."""
    if not isinstance(body, dict):
        raise ConfigError(f'sweep must be a table of "dotted.key" = [values]; got {describe(body)}')
    grid, zipped = {}, {}
    for dotted, values in body.items():
        if dotted == "zip":
            if not isinstance(values, dict) or not values:
                raise ConfigError('sweep.zip must be a table of "dotted.key" = [values] of equal lengths')
            for zipped_key, zipped_values in values.items():
                where = f"sweep.zip.{zipped_key!r}"
                zipped[zipped_key] = _checked_sweep_list(where, zipped_key, zipped_values, distinct=False)
            lengths = {key: len(v) for key, v in zipped.items()}
            if len(set(lengths.values())) > 1:
                raise ConfigError(f"sweep.zip: lists must have equal lengths; got {lengths}")
            # A zipped key may repeat a value (two static fleets of autoscale.mode "off"); its rows may not.
            rows = [repr(row) for row in zip(*zipped.values())]
            if len(set(rows)) != len(rows):
                again = next(i for i, row in enumerate(rows) if row in rows[:i])
                raise ConfigError(f"sweep.zip: row {again} repeats row {rows.index(rows[again])}: the same point twice")
            continue
        grid[dotted] = _checked_sweep_list(f"sweep.{dotted!r}", dotted, values)
    both = set(grid) & set(zipped)
    if both:
        raise ConfigError(f"sweep: {sorted(both)[0]!r} is both in the grid and in sweep.zip; use one")
    points = math.prod(len(values) for values in grid.values()) * (len(next(iter(zipped.values()))) if zipped else 1)
    if points > MAX_POINTS:
        raise ConfigError(
            f"sweep: {points:,} points (the grid's lists multiplied, times sweep.zip's length); at most "
            f"{MAX_POINTS:,} (each is checked, run and drawn): sweep fewer values"
        )
    return grid, zipped


def _checked_sweep_list(where: str, dotted: str, values, distinct: bool = True) -> list:
    """The values a sweep gives key `dotted`, each checked as the key's own value (`distinct`: once each)."""
    valid = [k for k in all_keys() if k not in ("name", "run.seeds")]
    if dotted not in valid:
        raise ConfigError(
            f"{where}: unknown key {dotted!r}{did_you_mean(dotted, valid)}; a sweep varies a dotted key "
            f'such as "cluster.capacity" (run.seeds are replications, not a sweep)'
        )
    if not isinstance(values, list) or not values:
        raise ConfigError(f"{where}: must be a non-empty list of values; got {describe(values)}")
    checked = []
    for index, value in enumerate(values):
        try:
            checked.append(schema_key(dotted).check(value))
        except Invalid as error:
            raise ConfigError(f"{where}[{index}]: {error}") from None
    if distinct and len({repr(v) for v in checked}) != len(checked):
        raise ConfigError(f"{where}: repeats a value; got {values}")
    return checked


def check_point(config: Config, values: dict) -> tuple[str, str]:
    """Checks that span keys: the policy's parameters, node indices, class names, ...

    `values`: the swept values (as written) that make this point, for the
    messages.  Returns the request loop the point will run in and, if that
    is the Python loop, why (build.request_loop); the policy is built here
    once, to check its parameters.
    """
    where = (
        "" if not values else " (at sweep point " + ", ".join(f"{k} = {describe(v)}" for k, v in values.items()) + ")"
    )

    def fail(message):
        raise ConfigError(f"{message}{where}")

    cluster, workload, run_section, updates = config.cluster, config.workload, config.run, config.updates
    try:
        check_params(cluster.policy, cluster.policy_params)
    except PolicyError as error:
        fail(f"cluster.policy_params: {error}")
    if getattr(policy_class(cluster.policy), "offline", False):
        fail(
            f"cluster.policy: {cluster.policy!r} needs the future of the request stream and works only in "
            f"`kvsim replay`, not in the timed model"
        )
    if run_section.requests + run_section.warmup > 2**31:
        fail(f"run.requests + run.warmup must be at most 2**31; got {run_section.requests + run_section.warmup}")
    if cluster.replicas > cluster.nodes:
        fail(f"cluster.replicas must be at most cluster.nodes ({cluster.nodes}); got {cluster.replicas}")
    for index, outage in enumerate(cluster.failures):
        if outage.node >= cluster.nodes:
            fail(f"cluster.failures[{index}].node must be in [0, {cluster.nodes - 1}]; got {outage.node}")
        if outage.up_at <= outage.down_at:
            fail(f"cluster.failures[{index}].up_at must be after down_at ({outage.down_at}); got {outage.up_at}")
    names = [c.name for c in workload.classes] or ["default"]
    if len(set(names)) != len(names):
        fail(f"workload.classes: names must be unique; got {names}")
    for name in updates.classes:
        if name not in names:
            fail(f"updates.classes: no key class {name!r}{did_you_mean(name, names)}; classes: {', '.join(names)}")
    if updates.every_s and not updates.classes:
        fail('updates.classes: name the key classes a bulk update changes, e.g. ["default"]')
    for where_key, section in [("workload", workload)] + [
        (f"workload.classes[{i}]", c) for i, c in enumerate(workload.classes)
    ]:
        if section.rotate_every_s and section.new_keys_per_s:
            fail(f"{where_key}: rotate_every_s and new_keys_per_s cannot both be set; choose one kind of drift")
    if workload.scan_fraction + workload.one_hit_fraction > 1:
        fail("workload.scan_fraction + workload.one_hit_fraction must be at most 1")
    if workload.scan_fraction and not workload.scan_keys:
        fail("workload.scan_keys must be >= 1 when workload.scan_fraction > 0")
    if workload.trace:
        try:
            trace_workload(workload)
        except (TraceError, OSError) as error:
            fail(f"workload.trace: {error}")
    ttl = cluster.ttl
    if isinstance(ttl, dict) and ttl["dist"] == "uniform" and ttl["high_s"] <= ttl["low_s"]:
        fail(f"cluster.ttl: high_s must be greater than low_s; got {ttl['low_s']} and {ttl['high_s']}")
    policy, reason = built_policy(cluster)  # built once, to check its parameters (and if it can resize)
    if reason:
        fail(reason)
    reason = run_limits(config)
    if reason:
        fail(reason)
    # A living fleet's keys, checked together (experiments/config/fleet_checks.py).
    reason = fleet_problem(config, policy) or near_problem(config)
    if reason:
        fail(reason)
    return request_loop(config)


def built_policy(cluster: ClusterSection) -> tuple[Policy | None, str | None]:
    """The point's policy, built with its parameters, or None and why it cannot be (its own words).

    The policies check their parameters when built: building one here, once,
    turns a run that would crash on its first request into a config error.
    """
    params = dict(cluster.policy_params)
    try:
        policy = make_policy(
            cluster.policy, cluster.capacity.amount, capacity_bytes=cluster.capacity.counts_bytes, **params
        )
    except PolicyError as error:
        return None, f"cluster.policy_params: {error}"
    except Exception as error:  # a policy's own check, or a user's policy failing in __init__
        return None, f"cluster.policy_params: policy {cluster.policy!r} cannot be built with {params}: {error}"
    return policy, None
