"""Whether a value of the varied key meets the targets, by simulating it with enough seeds to say.

A point is the base config at one value, healthy or with one node failed.
Each point runs once per seed, exactly as `kvsim run` runs a sweep point
(experiments/execute/runs.py: one file per run in runs/, skipped when already
there, on any executor), so a plan resumes and a re-run costs nothing.
Every point sees the same request stream for a given seed (common random
numbers), so neighbouring values differ by what the value changes, not by
luck.

Per target, the seeds' values give a confidence interval of the mean
(Student's t at `confidence`).  A point meets a target when the whole
interval is on the right side of it: the lower end for a ratio that must
reach the bound, the upper end for a latency, a load or a stale ratio that
must stay under it.  A point whose mean is on the wrong side is not met
(more seeds would only narrow its interval around that mean); one whose
mean is on the right side but whose interval straddles the target is
undecided and gets more seeds (twice as many, up to `max_seeds`); still
undecided then, it counts as not met, so a plan errs towards more capacity.

Failures (`survive`): node k fails when the measured window opens (the
first measured request of the first seed's stream: warm-up runs on a
healthy cluster) and stays down; its keys move to the others, cold, so the
measured window holds the refill after the failure as well as the steady
state with one node fewer.  Which node is worst depends on the seed (the
seed places the hot keys), so each seed's cluster loses each of its nodes in
turn, and each metric's worst over those failures is that seed's value: the
interval over seeds is then the interval of "the worst single failure".
A quick screen comes first: each seed's likely worst node alone, the node
that was worst in that seed at the nearest value already judged (the ring
and the seed's hot keys decide it, not the value), or else the busiest node
with every node up (its failure sends the most requests to cold caches).
Its failure is one of the failures, so when the targets miss there, they
miss the worst, and the value is decided without the others.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from scipy import special

from experiments.config.schema import Config, FailureTable
from experiments.config.sweep import Point
from experiments.execute.runs import execute, saved_runs
from experiments.plan.settings import TARGETS, Settings

#: the metrics a plan reports for every point, targets or not
METRICS = tuple(TARGETS)

#: what a verdict is about: every node up; each seed's likely worst node down (a quick screen);
#: each seed's worst node down (every single failure simulated, the worst taken per seed)
HEALTHY, SCREEN, WORST = "", "likely worst", "worst"


@dataclass(frozen=True)
class Interval:
    """The mean over seeds and its confidence interval."""

    mean: float
    low: float
    high: float
    seeds: int


def interval(values: list[float], confidence: float) -> Interval:
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return Interval(mean, -math.inf, math.inf, n)
    # statistics.stdev is exactly 0 for equal values (scipy's warns about precision);
    # special.stdtrit is stats.t.ppf's quantile without loading scipy.stats.
    half = float(special.stdtrit(n - 1, (1.0 + confidence) / 2.0)) * statistics.stdev(values) / math.sqrt(n)
    return Interval(mean, mean - half, mean + half, n)


def run_metrics(record: dict, measured_seconds: float) -> dict[str, float]:
    """The plan's metrics of one run's record (as runs/*.json holds it).

    backend_rps: the busiest whole interval of the run's time series
    (run.interval seconds; the first and last rows are cut by the measured
    window's ends), or, for a run shorter than that, its backend requests
    over the measured window's duration (in the first seed's stream).
    stale_ratio: stale reads over reads, the near caches' (near_stale) with the cluster's: the client's view.
    """
    metrics = record["metrics"]
    whole = record.get("timeseries", [])[1:-1]
    if whole:
        backend = max(row["backend_rps"] for row in whole)
    else:
        backend = metrics["backend_requests"] / measured_seconds if measured_seconds else 0.0
    reads = metrics["requests"] - metrics["writes"]
    values = {name: float(metrics[name]) for name in METRICS if name in metrics}
    values["backend_rps"] = float(backend)
    stale = metrics["stale"] + metrics.get("near_stale", 0)  # (records written before near caches have none)
    values["stale_ratio"] = stale / reads if reads else 0.0
    return values


@dataclass
class Verdict:
    """What the seeds say about one value: each metric's interval, and whether the targets are met.

    failure: HEALTHY, SCREEN or WORST (see the module docstring); for the
    last two, `nodes` lists the node each seed lost (for WORST, the one with
    the least slack in that seed).
    """

    value: int
    failure: str
    seeds: list[int]
    intervals: dict[str, Interval]
    outcome: str  # "met"; "not met" (a mean on the wrong side); "undecided", which counts as not met
    stage: str = ""
    nodes: list = field(default_factory=list)

    @property
    def met(self) -> bool:
        return self.outcome == "met"

    def slack(self, targets: dict) -> float:
        """The smallest relative room between a target and its interval's end (negative: missed)."""
        return slack(self.intervals, targets, "low", "high")


def slack(values: dict, targets: dict, low: str = "", high: str = "") -> float:
    """The smallest relative room between each target and `values` (intervals' ends, or plain numbers)."""
    room = []
    for name, bound in targets.items():
        at_least = TARGETS[name].at_least
        found = values[name] if not low else getattr(values[name], low if at_least else high)
        gap = found - bound if at_least else bound - found
        room.append(gap / max(abs(bound), 1e-9))
    return min(room)


def outcome(intervals: dict[str, Interval], targets: dict) -> str:
    """ "met" when every interval is on the right side of its target; "not met" when a mean is on
    the wrong side (more seeds would only narrow the interval around it); "undecided" otherwise."""
    verdicts = []
    for name, bound in targets.items():
        found = intervals[name]
        sign = 1.0 if TARGETS[name].at_least else -1.0  # compare -latency >= -bound, as a ratio
        sure = min(sign * found.low, sign * found.high)
        verdicts.append(
            "met" if sure >= sign * bound else "not met" if sign * found.mean < sign * bound else "undecided"
        )
    if "not met" in verdicts:
        return "not met"
    return "undecided" if "undecided" in verdicts else "met"


def worst_run(runs: list[dict], targets: dict) -> tuple[dict, int]:
    """Of one seed's runs (metrics by failed node), each metric's worst value, and the node with least slack."""
    worst = {}
    for name in METRICS:
        values = [metrics[name] for metrics in runs]
        worst[name] = min(values) if TARGETS[name].at_least else max(values)
    return worst, min(range(len(runs)), key=lambda i: slack(runs[i], targets))


def more_seeds(seeds: list[int], count: int) -> list[int]:
    """`seeds` followed by the smallest unused seeds above them, `count` in all."""
    extra = range(max(seeds) + 1, max(seeds) + 1 + count - len(seeds))
    return [*seeds, *extra]


@dataclass
class Prober:
    """Simulates points of the base config and keeps every verdict, in the order they were reached.

    config_at(value, node_down) is the config of a run (node_down None: every
    node up); labels(value, node_down) its columns in the tables; `executor`
    runs them, `runs_dir` keeps them, stamped with the plan's `fingerprint`
    (run files that do not verify are simulated again); `say` hears one
    line per verdict.
    """

    settings: Settings
    config_at: Callable[[int, int | None], Config]
    labels: Callable[[int, int | None], dict]
    seeds: list[int]
    runs_dir: Path
    executor: object
    measured_seconds: float
    nodes_at: Callable[[int], int]
    fingerprint: str
    say: Callable[[str], None] | None = None
    verdicts: dict = field(default_factory=dict)  # (value, failure) -> Verdict
    records: dict = field(default_factory=dict)  # run id -> record, for the tables
    ran: int = 0
    _index: dict = field(default_factory=dict)

    # -- the questions the search asks -------------------------------------------------

    def healthy(self, values: list[int], stage: str) -> list[bool]:
        """Whether each value meets the targets with every node up."""
        self._judge(values, HEALTHY, stage)
        return [self.verdicts[(value, HEALTHY)].met for value in values]

    def survives(self, values: list[int], stage: str, up: bool = False) -> list[bool]:
        """Whether each value meets the targets with every node up and with its worst node down.

        `up`: the values are known to meet them with every node up (above the
        answer of a monotone search), so that is not simulated again.
        """
        up = dict(zip(values, [True] * len(values) if up else self.healthy(values, stage)))
        candidates = [value for value in values if up[value]]
        screened = [value for value in candidates if all(self._likely_worst(value, s) is not None for s in self.seeds)]
        self._judge(screened, SCREEN, stage, adaptive=False)
        self._judge([v for v in candidates if self._screen_passed(v)], WORST, stage)
        return [up[value] and self.survival(value).met for value in values]

    def worst(self, values: list[int], stage: str) -> None:
        """Simulate every single failure of each value, at the first seeds, whatever a screen said."""
        self._judge(values, WORST, stage, adaptive=False)

    def survival(self, value: int) -> Verdict | None:
        """The verdict that decided whether `value` survives a failure: the worst node's, or the screen's."""
        return self.verdicts.get((value, WORST)) or self.verdicts.get((value, SCREEN))

    def _screen_passed(self, value: int) -> bool:
        screen = self.verdicts.get((value, SCREEN))
        return screen is None or screen.outcome != "not met"

    # -- simulation and verdicts -------------------------------------------------------

    def _judge(self, values: list[int], failure: str, stage: str, adaptive: bool = True) -> None:
        """Give each new value a verdict, adding seeds while one is undecided (when `adaptive`)."""
        pending = [value for value in dict.fromkeys(values) if (value, failure) not in self.verdicts]
        seeds = list(self.seeds)
        while pending:
            runs = [(v, node, seed) for v in pending for seed in seeds for node in self._downs(v, failure, seed)]
            self._simulate(runs)
            still = []
            for value in pending:
                verdict = self._verdict(value, failure, seeds, stage)
                if verdict.outcome == "undecided" and adaptive and len(seeds) < self.settings.max_seeds:
                    still.append(value)
                else:
                    self._keep(verdict)
            pending, seeds = still, more_seeds(seeds, min(self.settings.max_seeds, 2 * len(seeds)))

    def _downs(self, value: int, failure: str, seed: int) -> list:
        """The node each run of this seed loses (None: every node up)."""
        if failure == HEALTHY:
            return [None]
        if failure == SCREEN:
            return [self._likely_worst(value, seed)]
        return list(range(self.nodes_at(value)))

    def _simulate(self, runs: list[tuple]) -> None:
        points = [self._point(value, node, seed) for value, node, seed in runs]
        self.ran += len(points) - len(saved_runs(self.runs_dir, points, self.fingerprint).records)
        for point, record in zip(points, execute(points, self.runs_dir, self.fingerprint, self.executor)):
            self.records[point.run_id] = record

    def _point(self, value: int, node: int | None, seed: int) -> Point:
        index = self._index.setdefault((value, node), len(self._index))
        return Point(index=index, values=self.labels(value, node), seed=seed, config=self.config_at(value, node))

    def _metrics(self, value: int, node: int | None, seed: int) -> dict:
        return run_metrics(self.records[self._point(value, node, seed).run_id], self.measured_seconds)

    def _verdict(self, value: int, failure: str, seeds: list[int], stage: str) -> Verdict:
        per_seed, nodes = [], []
        for seed in seeds:
            downs = self._downs(value, failure, seed)
            worst, which = worst_run([self._metrics(value, node, seed) for node in downs], self.settings.targets)
            per_seed.append(worst)
            nodes.append(downs[which])
        intervals = {name: interval([run[name] for run in per_seed], self.settings.confidence) for name in METRICS}
        found = outcome(intervals, self.settings.targets)
        return Verdict(value, failure, list(seeds), intervals, found, stage, [] if failure == HEALTHY else nodes)

    def _keep(self, verdict: Verdict) -> None:
        """Keep a settled verdict; one still undecided counts as not met (`met` is False)."""
        self.verdicts[(verdict.value, verdict.failure)] = verdict
        if self.say:
            self.say(self.describe(verdict))

    def _likely_worst(self, value: int, seed: int) -> int | None:
        """The node of `seed` to screen `value` with (see the module docstring); None without a clue.

        Only values with the same node count are clues (a node's index
        means nothing in a cluster of another size).
        """
        nodes = self.nodes_at(value)
        judged = [
            v
            for (v, failure), verdict in self.verdicts.items()
            if failure == WORST and seed in verdict.seeds and self.nodes_at(v) == nodes
        ]
        if judged:
            verdict = self.verdicts[(min(judged, key=lambda v: abs(v - value)), WORST)]
            return verdict.nodes[verdict.seeds.index(seed)]
        healthy = [v for (v, failure) in self.verdicts if failure == HEALTHY and self.nodes_at(v) == nodes]
        if not healthy:
            return None
        record = self.records[self._point(min(healthy, key=lambda v: abs(v - value)), None, seed).run_id]
        served = {node["node"]: node["requests"] for node in record["nodes"]}
        return max(served, key=lambda node: (served[node], -node))  # the busiest

    def describe(self, verdict: Verdict) -> str:
        """One line of progress: the point, its targets' intervals and the verdict."""
        where = f", {verdict.failure} node down" if verdict.failure else ""
        parts = [
            f"{TARGETS[name].label} {found.mean:.4g} [{found.low:.4g}, {found.high:.4g}]"
            for name, found in ((n, verdict.intervals[n]) for n in self.settings.targets)
        ]
        return (
            f"{self.settings.vary} = {verdict.value}{where}: {'; '.join(parts)} "
            f"({len(verdict.seeds)} seeds): {verdict.outcome}"
        )


def failure_config(config: Config, node: int, at: float) -> Config:
    """`config` with node `node` failing at `at` seconds and never coming back."""
    failures = (*config.cluster.failures, FailureTable(node=node, down_at=at, up_at=math.inf))
    return config.replace({"cluster.failures": failures})
