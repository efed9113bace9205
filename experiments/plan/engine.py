"""Making a plan: from a config and a question to the answer, its evidence and its files.

    1. one pass over the first seed's request stream (estimate.sample): mean
       object size, footprint, when the measured window opens;
    2. a first answer from the formulas (estimate.estimate);
    3. the search with the timed model (search.smallest_met, judge.Prober),
       with every node up;
    4. with `survive`, the search again from that answer up, with each
       single node down in turn;
    5. the files (report.write).

DIR holds what `kvsim run` writes for the points simulated (manifest.json,
runs/, results.csv, summary.csv and the other tables, one row per point:
the varied key and the failed node tell them apart) and the plan's own
plan.json, plan.csv and plan.png/.svg.  A plan resumes from runs/ like any
experiment; plans with other targets of the same config share its runs.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from experiments.config.checks import Capacity, written
from experiments.config.loading import ConfigError, Experiment, check_point
from experiments.config.schema import Config
from experiments.config.sweep import fingerprint
from experiments.execute.executors import open_executor
from experiments.output.outdir import atomic_write, claim
from experiments.plan.estimate import Estimate, Sample, estimate, sample
from experiments.plan.judge import HEALTHY, Prober, Verdict, failure_config, more_seeds
from experiments.plan.memory import Memory, ServerModel, memory, overhead_of, server_model
from experiments.plan.search import Axis, Found, smallest_met
from experiments.plan.settings import Settings
from policies import policy_class
from policies.limits import MAX_CAPACITY

#: the plan's own files in DIR, besides those of the runs
PLAN_FILES = ("plan.json", "plan.csv", "plan.png", "plan.svg")

#: the default node range's top: this many nodes, or four times the config's
DEFAULT_MAX_NODES = 64

#: the fewest seeds a verdict starts from: two give an interval, but one so wide it decides little
MIN_SEEDS = 3


@dataclass(frozen=True)
class Question:
    """A settled question: the settings, with the range, units and points fixed for this config."""

    name: str
    settings: Settings
    config: Config  # the base config: the experiment's, without its sweep
    low: int
    high: int
    counts_bytes: bool  # whether capacities count bytes (the varied one, or the config's when nodes vary)
    sample: Sample
    server: ServerModel | None = None  # the server whose memory the policy counts, with a byte capacity

    @property
    def vary(self) -> str:
        return self.settings.vary

    def nodes_at(self, value: int) -> int:
        return value if self.settings.varies_nodes else self.config.cluster.nodes

    def capacity_at(self, value: int) -> int:
        return self.config.cluster.capacity.amount if self.settings.varies_nodes else value

    def typed(self, value: int) -> int | Capacity:
        """A value of the varied key as a checked config holds it: a node count, or a Capacity."""
        if self.settings.varies_nodes:
            return value
        return Capacity.in_bytes(value) if self.counts_bytes else Capacity.objects(value)

    def written(self, value: int):
        """A value as the config writes it: a capacity in bytes as "123456B"."""
        return written(self.typed(value))

    def config_at(self, value: int, node_down: int | None = None) -> Config:
        config = self.config.replace({self.vary: self.typed(value)})
        return config if node_down is None else failure_config(config, node_down, self.sample.measured_from)

    def labels(self, value: int, node_down: int | None) -> dict:
        """The columns that tell a point's rows apart in results.csv and the other tables."""
        return {self.vary: self.written(value), "node_down": "" if node_down is None else node_down}

    def axis(self, low: int | None = None) -> Axis:
        return Axis(
            self.low if low is None else low, self.high, not self.settings.varies_nodes, self.settings.resolution
        )

    def memory(self, value: int) -> Memory:
        overhead = self.server.kind if self.server else self.settings.entry_overhead
        return memory(
            self.nodes_at(value),
            self.capacity_at(value),
            self.counts_bytes,
            self.sample.mean_object_size,
            overhead_of(overhead, self.sample.mean_object_size),
            self.config.cluster.replicas,
            self.server,
        )


def question(experiment: Experiment, settings: Settings) -> Question:
    """Fix the range and units of `settings` for `experiment`; a ConfigError when they cannot be."""
    config = experiment.config
    cluster = config.cluster
    counts_bytes = cluster.capacity.counts_bytes
    if settings.counts_bytes is not None and not settings.varies_nodes:
        counts_bytes = settings.counts_bytes  # a range in bytes plans bytes, whatever the config counts
    if settings.survive and not settings.varies_nodes and cluster.nodes < 2:
        raise ConfigError("plan.survive = 1: a cluster of one node cannot lose one; set cluster.nodes >= 2")
    if settings.varies_autoscaler:
        autoscaler_question(config, settings)
    found = sample(config, experiment.seeds[0])
    server = server_model(cluster.policy, cluster.policy_params, found.size_values) if counts_bytes else None
    low, high = settings.low, settings.high
    if low is None:
        low, high = default_range(config, settings, found, counts_bytes, server)
    if settings.survive and settings.varies_nodes and low < 2:
        raise ConfigError(f"plan.range: with survive = 1 a cluster needs at least 2 nodes; the range starts at {low}")
    asked = Question(experiment.name, settings, config, low, high, counts_bytes, found, server)
    for value in (low, high):
        point = asked.config_at(value, 0 if settings.survive else None)
        try:
            check_point(point, {})
        except ConfigError as error:
            given = "the range asked" if settings.low is not None else "the default range"
            raise ConfigError(f"{given} reaches {settings.vary} = {asked.written(value)!r}, where {error}") from None
    return asked


def autoscaler_question(config: Config, settings: Settings) -> None:
    """A ConfigError unless `config`'s autoscaler can be planned as `settings` asks.

    Only a reactive autoscaler reads max_nodes (a schedule's counts are its
    own, an autoscaler that is off has none); and a failure at the start of
    the measured window says little of a fleet that replaces what it loses,
    so `survive` is for fixed fleets.
    """
    mode = config.autoscale.mode
    if mode != "reactive":
        raise ConfigError(
            f'plan.vary = {settings.vary!r} needs [autoscale] mode = "reactive" in the config; its mode is {mode!r}'
        )
    if settings.survive:
        raise ConfigError(
            f"plan.survive = 1 does not go with plan.vary = {settings.vary!r}: an autoscaler replaces the "
            "nodes it loses; plan a fixed fleet (cluster.nodes) to survive a failure"
        )


def default_range(
    config: Config, settings: Settings, found: Sample, counts_bytes: bool, server: ServerModel | None = None
) -> tuple[int, int]:
    """From one object per node (or the largest object's bytes) to the run's whole footprint; 1 to 64 nodes.

    A policy that models a server's memory starts where the server does
    (Redis: its memory with no key and one entry; memcached: -m of 2 MiB),
    and its footprint counts each entry as the server does.
    """
    if settings.varies_autoscaler:  # from the fleet it starts with (a ceiling below it is refused)
        low = max(config.autoscale.min_nodes, config.cluster.nodes)
        return low, max(DEFAULT_MAX_NODES, 4 * config.cluster.nodes, low)
    if settings.varies_nodes:
        low = 2 if settings.survive else 1
        return low, max(DEFAULT_MAX_NODES, 4 * config.cluster.nodes, low)
    if not counts_bytes:
        return 1, max(found.distinct_keys, 2)
    if server is None:
        return found.largest_object, max(found.distinct_bytes, found.largest_object + 1)
    cluster = config.cluster
    least = policy_class(cluster.policy).least_capacity(True, **cluster.policy_params)
    entries = found.distinct_bytes + found.distinct_keys * overhead_of(server.kind, found.mean_object_size).bytes
    low = max(found.largest_object, least)
    return low, min(max(least + entries + server.beyond, low + 1), MAX_CAPACITY)


@dataclass
class Plan:
    """A plan's answer and everything it rests on."""

    question: Question
    estimate: Estimate
    healthy: Found
    survive: Found | None
    verdicts: list[Verdict]  # every point tried, in order
    survival: dict[int, Verdict]  # value -> the verdict with a node down that decided it (judge.Prober.survival)
    out: Path
    ran: int  # runs simulated now (the others were on disk)
    paragraph: str = ""
    figures: list[Path] = field(default_factory=list)

    @property
    def value(self) -> int | None:
        """The answer: the smallest value meeting every target (surviving a failure when asked); None if none."""
        found = self.survive if self.question.settings.survive else self.healthy
        return found.value if found else None

    @property
    def met(self) -> bool:
        return self.value is not None

    @property
    def exit_code(self) -> int:
        return 0 if self.met else 3

    @property
    def memory(self) -> Memory | None:
        return self.question.memory(self.value) if self.met else None

    def verdict(self, value: int, failure: str = HEALTHY) -> Verdict | None:
        return next((v for v in self.verdicts if v.value == value and v.failure == failure), None)

    def table(self):
        """Every point tried, as plan.csv holds them (a DataFrame)."""
        from experiments.plan.report import points_table

        return points_table(self)


def make_plan(
    experiment: Experiment,
    settings: Settings,
    out: Path,
    workers: int = 1,
    scheduler: str | None = None,
    force: bool = False,
    say: Callable[[str], None] | None = None,
    settled: Callable[[], None] | None = None,
) -> Plan:
    """Answer `settings` for `experiment` (its sweep set aside), writing DIR as the module docstring says.

    `settled` is called once the question is known to hold, before anything is simulated.
    """
    # The files' modules load pandas and matplotlib (and force its Agg backend): only now.
    from experiments.execute.runner import clear_outputs, prepare_out, write_tables
    from experiments.plan import report

    base = experiment.without_sweep()
    asked = question(base, settings)
    if settled:
        settled()
    guess = estimate(base.config, settings, asked.sample, asked.counts_bytes, asked.low, asked.high)
    with claim(Path(out)) as out:
        clear = prepare_out(out, base, force, repair=False)
        with open_executor(workers, scheduler) as executor:
            if clear:
                clear_outputs(out)
            for name in PLAN_FILES:
                (out / name).unlink(missing_ok=True)
            atomic_write(out / "manifest.json", json.dumps(manifest(base, settings), indent=2, default=str) + "\n")
            prober = Prober(
                settings=settings,
                config_at=asked.config_at,
                labels=asked.labels,
                seeds=more_seeds(base.seeds, max(MIN_SEEDS, len(base.seeds))),
                runs_dir=out / "runs",
                executor=executor,
                measured_seconds=asked.sample.measured_seconds,
                nodes_at=asked.nodes_at,
                fingerprint=fingerprint(base),
                say=say,
            )
            healthy = smallest_met(prober.healthy, asked.axis(), guess.value, settings.monotone, settings.scan_points)
            survive = None
            if settings.survive and healthy.value is not None:
                survive = search_survival(asked, prober, healthy)
        verdicts = list(prober.verdicts.values())
        survival = {v.value: prober.survival(v.value) for v in verdicts if v.failure != HEALTHY}
        plan = Plan(asked, guess, healthy, survive, verdicts, survival, out, prober.ran)
        write_tables(out, list(prober.records.values()), [settings.vary, "node_down"])
        report.write(plan)
    return plan


def search_survival(asked: Question, prober: Prober, healthy: Found) -> Found:
    """The smallest value from the healthy answer up that survives its worst single failure.

    Above the healthy answer of a monotone search every node up is known to
    meet the targets, so only failures are simulated.  At the end, the
    answer is also judged with every node up, and the healthy answer with
    every failure (the numbers the paragraph gives), if the search did not.
    """
    settings = asked.settings

    def survives(values, stage):
        return prober.survives(values, f"survive: {stage}", up=settings.monotone)

    if survives([healthy.value], "start")[0]:
        return Found(healthy.value, healthy.below)
    start = survival_start(asked, healthy.value)
    found = smallest_met(survives, asked.axis(healthy.value), start, settings.monotone, settings.scan_points)
    prober.worst([healthy.value], "survive: answer")
    if found.value is not None:
        prober.healthy([found.value], "survive: answer")
    return Found(found.value, found.below if found.below is not None else healthy.value)


def survival_start(asked: Question, healthy: int) -> int:
    """Where the search with a node down starts: the capacity of N nodes spread over N - 1, or one node more."""
    if asked.settings.varies_nodes:
        return healthy + 1
    nodes = asked.nodes_at(healthy)
    return math.ceil(healthy * nodes / (nodes - 1))


def manifest(base: Experiment, settings: Settings) -> dict:
    from experiments.execute.runner import versions

    return {
        "name": base.name,
        "source": base.source,
        "fingerprint": fingerprint(base),
        "configured": fingerprint(base, with_sources=False),
        "kind": "plan",
        "plan": settings.as_dict(),
        "seeds": base.seeds,
        "config": base.config.written(),
        "versions": versions(),
    }
