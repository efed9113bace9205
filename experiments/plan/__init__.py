"""`kvsim plan`: from a target to the capacity, nodes and memory that meet it.

People run capacity curves to answer one question: how much cache do I
need?  A plan answers it directly, for any combination of targets (hit
ratio, byte hit ratio, latency quantiles, backend load, stale ratio), each
held at a stated confidence over seeds, optionally with the worst single
node down, and says how much memory that is.

    settings.py  the question: targets, the varied key and its range, confidence
    estimate.py  a first answer from one pass over the stream and the formulas
    search.py    bracketing and bisection (or a scan where a metric can turn)
    judge.py     simulating points, their confidence intervals, failures
    memory.py    objects and bytes per node and in total; per-entry overheads
    engine.py    the plan from start to files
    report.py    the paragraph, plan.csv and plan.json;  figure.py the figure

Its command line, `kvsim plan`, is experiments/cli/plan.py.

From Python (notebooks):

    from experiments.plan import plan
    answer = plan("quickstart", hit_ratio=0.8)                  # a Plan
    answer.value, answer.paragraph, answer.table()
    plan("recsys", out="results/rs", hit_ratio=0.6, p99_ms=80, survive=1, overrides={"run.seeds": [1, 2, 3]})
"""

from __future__ import annotations

import importlib
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from experiments.plan.engine import Plan, make_plan
    from experiments.plan.settings import TARGETS, Settings

#: the names this package offers, by the module that defines them: each loads when first asked for,
#: so that `kvsim plan -h` (which reads experiments.plan.settings) does not load the engine and scipy
_LAZY = {"Plan": "engine", "make_plan": "engine", "TARGETS": "settings", "Settings": "settings"}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)


def plan(
    config_or_path="quickstart",
    out: str | Path | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    force: bool = False,
    overrides: dict | None = None,
    say=None,
    **question,
) -> Plan:
    """Plan `config_or_path` (a path, a shipped config's name, a dict or an Experiment).

    `question`: the [plan] keys (hit_ratio=0.95, p99_ms=20, vary="cluster.nodes",
    range="1:16", survive=1, ...), replacing the config's own.  `overrides`
    set dotted config keys first ({"run.requests": 50_000}).  With `out`, the
    files of `kvsim plan` are written there (and a re-run resumes); without,
    the runs go to a temporary directory that is removed afterwards.
    `say` hears one line per point judged.
    """
    from experiments.config import resolve
    from experiments.plan.engine import make_plan
    from experiments.plan.settings import settings

    experiment = resolve(config_or_path, overrides)
    asked = settings(experiment.plan, question)
    options = dict(workers=workers, scheduler=scheduler, force=force, say=say)
    if out is not None:
        return make_plan(experiment, asked, Path(out), **options)
    with tempfile.TemporaryDirectory(prefix="kvsim-plan-") as scratch:
        return make_plan(experiment, asked, Path(scratch), **options)


#: (the function settings is experiments.plan.settings.settings: the package's attribute of that name
#: is the module, once loaded)
__all__ = ["TARGETS", "Plan", "Settings", "make_plan", "plan"]
