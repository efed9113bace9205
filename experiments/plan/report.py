"""A plan in words and files: the answer's paragraph, plan.csv, plan.json and the figure.

plan.csv    one row per point tried, in the order tried: the varied key,
            failure (empty with every node up; the "likely worst" or the
            "worst" node down), the nodes lost (one per seed), the search
            stage, the seeds, the verdict, and for every metric its mean
            and the ends of its confidence interval (with a node down: of
            each seed's worst value over the nodes lost)
plan.json   the question, what the stream and the formulas said, the answer
            (with its memory and the numbers behind it, and the overrides
            that make `kvsim run` reproduce it), the paragraph, and the
            points as in plan.csv
plan.png, plan.svg   the figure (experiments/plan/figure.py)
"""

from __future__ import annotations

import dataclasses
import json
import re
import textwrap

import pandas as pd

from experiments.output.domains import check_table, clip_bounds
from experiments.output.outdir import atomic_write
from experiments.plan import figure
from experiments.plan.judge import HEALTHY, METRICS, WORST, Verdict
from experiments.plan.memory import Memory, format_bytes
from experiments.plan.settings import TARGETS


def write(plan) -> None:
    """plan.csv, plan.json and the figure, into the plan's directory; sets plan.paragraph and plan.figures."""
    plan.paragraph = paragraph(plan)
    table = clip_bounds(points_table(plan))
    check_table(table, "plan.csv")
    atomic_write(plan.out / "plan.csv", table.to_csv(index=False))
    atomic_write(plan.out / "plan.json", json.dumps(document(plan, table), indent=2) + "\n")
    plan.figures = figure.draw(plan)


# -- the paragraph ------------------------------------------------------------------


def paragraph(plan) -> str:
    asked = plan.question
    settings = asked.settings
    healthy = plan.healthy
    if healthy.value is None:
        return nothing_meets(plan, [v for v in plan.verdicts if v.failure == HEALTHY], "")
    at = plan.verdict(healthy.value)
    text = f"{setup(asked, healthy.value)} ({memory_text(asked, asked.memory(healthy.value))}) meet "
    text += f"{targets_text(settings.targets, at)} over {len(at.seeds)} seeds"
    if healthy.below is not None:
        text += f"; {fails_text(asked, healthy.below)}"
    text += "."
    if settings.survive:
        text += " " + survival_text(plan)
    return text


def survival_text(plan) -> str:
    asked, found = plan.question, plan.survive
    first = plan.survival[plan.healthy.value]
    text = f"With {down_text(asked, first)} "
    if found.value == plan.healthy.value:
        return text + f"they still hold: {targets_text(asked.settings.targets, first)}."
    text += f"{missed_text(asked.settings.targets, first)}: "
    if found.value is None:  # the best with every failure simulated (a screen's is only an upper bound)
        worst = [v for v in plan.verdicts if v.failure == WORST]
        return text + nothing_meets(plan, worst, "with a node down, ")
    worst = plan.survival[found.value]
    text += f"{setup(asked, found.value)} needed ({memory_text(asked, asked.memory(found.value))}), "
    text += f"which meet them with {down_text(asked, worst)}: {targets_text(asked.settings.targets, worst)}"
    if found.below is not None and found.below != plan.healthy.value:
        text += f"; {fails_text(asked, found.below)}"
    return text + "."


def down_text(asked, verdict: Verdict) -> str:
    """'the worst node down (of 4, from 2.52 s on)'; 'a likely worst' when only the screen was simulated."""
    which = "the worst node" if verdict.failure == WORST else "a likely worst node"
    at = asked.sample.measured_from
    when = f"{at:.3g}" if at < 100 else f"{at:,.0f}"
    return f"{which} down (of {asked.nodes_at(verdict.value)}, from {when} s on)"


def nothing_meets(plan, verdicts: list[Verdict], prefix: str) -> str:
    """What the best tried value reached, per target, when none met them all."""
    asked = plan.question
    targets = asked.settings.targets
    what = "capacity per node"
    if asked.settings.varies_nodes:
        what = "most nodes for the autoscaler" if asked.settings.varies_autoscaler else "node count"
    if asked.settings.varies_nodes or not asked.counts_bytes:
        span = f"{asked.low:,} to {value_text(asked, asked.high)}"
    else:
        span = f"{value_text(asked, asked.low)} to {value_text(asked, asked.high)}"
    best = []
    for name in targets:
        sign = 1 if TARGETS[name].at_least else -1
        top = max(verdicts, key=lambda v: sign * (v.intervals[name].low if sign > 0 else v.intervals[name].high))
        best.append(f"{measured_text(name, top.intervals[name])} at {value_text(asked, top.value)}")
    start = "No" if not prefix else prefix + "no"
    goals = " and ".join(TARGETS[name].describe(bound) for name, bound in targets.items())
    return f"{start} {what} from {span} meets {goals}: the best is {'; '.join(best)}."


def setup(asked, value: int) -> str:
    """'4 nodes x 2,731 objects', '4 nodes x 2,327,176 B': the capacity exactly, as a config takes it.

    Its size in binary units is not repeated here: memory_text, beside it,
    gives the one size per node to provision (the capacity and what each
    entry adds).
    """
    nodes = asked.nodes_at(value)
    capacity = asked.capacity_at(value)
    exact = f"{capacity:,} B" if asked.counts_bytes else f"{capacity:,} objects"
    fleet = f"{nodes} node{'s' if nodes != 1 else ''} x {exact}"
    return f"up to {fleet} (the autoscaler's most)" if asked.settings.varies_autoscaler else fleet


def fails_text(asked, value: int) -> str:
    """'9,886 objects per node do not', '1 node does not'."""
    if asked.settings.varies_nodes:
        return f"{value} node{'s do' if value != 1 else ' does'} not"
    return f"{capacity_text(asked, value)} per node do not"


def value_text(asked, value: int) -> str:
    return f"{value:,} nodes" if asked.settings.varies_nodes else capacity_text(asked, value)


def capacity_text(asked, capacity: int) -> str:
    if asked.counts_bytes:
        return f"{format_bytes(capacity)} ({capacity:,} B)"
    return f"{capacity:,} objects"


def memory_text(asked, memory: Memory) -> str:
    """'934 KiB each: objects of 96 B mean + 95 B per entry; 3.65 MiB in all': the memory a node takes.

    The number of objects a node holds is given when the capacity counts
    bytes; when it counts objects, setup() has just said it.
    """
    mean = (
        f"{memory.mean_object_size:.3g} B" if memory.mean_object_size < 1024 else format_bytes(memory.mean_object_size)
    )
    objects = f"{memory.objects_per_node:,.0f} objects" if asked.counts_bytes else "objects"
    text = f"{format_bytes(memory.bytes_per_node)} each: {objects} of {mean} mean + "
    text += f"{memory.overhead.bytes} B per entry"
    if memory.fixed_bytes:
        text += f" + {format_bytes(memory.fixed_bytes)} {memory.fixed_label}"
    if memory.nodes > 1:
        text += f"; {format_bytes(memory.total_bytes)} in all"
    if memory.replicas > 1:
        text += f", {memory.distinct_objects:,.0f} distinct objects in {memory.replicas} copies"
    return text


def number_text(name: str, value: float) -> str:
    unit = TARGETS[name].unit
    if unit == "ms":
        return f"{value:.3g}" if abs(value) < 100 else f"{value:,.0f}"
    if unit == "rps":
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
    return f"{value:.4f}"


def measured_text(name: str, found, verb: str = "") -> str:
    """'hit ratio 0.9412 (CI 0.9380-0.9444)'; with `verb` " is", 'hit ratio is 0.9412 (...)'."""
    unit = {"ms": " ms", "rps": " requests/s"}.get(TARGETS[name].unit, "")
    interval = f"CI {number_text(name, found.low)}-{number_text(name, found.high)}"
    return f"{TARGETS[name].label}{verb} {number_text(name, found.mean)}{unit} ({interval})"


def targets_text(targets: dict, verdict: Verdict) -> str:
    parts = []
    for name, bound in targets.items():
        found = verdict.intervals[name]
        interval = f"CI {number_text(name, found.low)}-{number_text(name, found.high)}"
        parts.append(f"{TARGETS[name].describe(bound)} ({number_text(name, found.mean)}, {interval})")
    return " and ".join(parts)


def missed_text(targets: dict, verdict: Verdict) -> str:
    """'the hit ratio is 0.941 (CI 0.938-0.944)', for the targets the verdict does not meet."""
    missed = [name for name in targets if verdict.slack({name: targets[name]}) < 0] or list(targets)
    return " and ".join(f"the {measured_text(name, verdict.intervals[name], ' is')}" for name in missed)


#: the printed answer's lines at most this long (plan.json keeps the paragraph on one line)
ANSWER_WIDTH = 88
#: a number and its unit, which a line never splits ("2.3 MiB", "95 B", "20 ms")
_NUMBER_AND_UNIT = re.compile(r"(\d) (B|KiB|MiB|GiB|TiB|ms|s|objects|nodes?|seeds)\b")


def wrapped(paragraph: str, width: int = ANSWER_WIDTH) -> str:
    """The answer on lines of at most `width` characters, broken between words, never inside '2.3 MiB'."""
    glued = _NUMBER_AND_UNIT.sub("\\1\u00a0\\2", paragraph)  # textwrap breaks at ASCII spaces only
    lines = textwrap.wrap(glued, width=width, break_long_words=False, break_on_hyphens=False)
    return "\n".join(lines).replace("\u00a0", " ")


# -- the files ------------------------------------------------------------------------


def points_table(plan) -> pd.DataFrame:
    vary = plan.question.vary
    rows = []
    for verdict in plan.verdicts:
        row = {
            vary: plan.question.written(verdict.value),
            "failure": verdict.failure,
            "nodes_down": " ".join(str(node) for node in verdict.nodes),
            "stage": verdict.stage,
            "seeds": len(verdict.seeds),
            "verdict": verdict.outcome,
        }
        for name in METRICS:
            found = verdict.intervals[name]
            row.update({f"{name}_mean": found.mean, f"{name}_low": found.low, f"{name}_high": found.high})
        rows.append(row)
    return pd.DataFrame(rows)


def document(plan, table: pd.DataFrame) -> dict:
    asked = plan.question
    answer = {"met": plan.met, "value": None, "below": None}
    if plan.met:
        found = plan.survive if asked.settings.survive else plan.healthy
        at = plan.verdict(plan.value)
        memory = plan.memory.as_dict()
        memory["sources"]["mean_object_size"] = (
            f"the mean size of the {asked.sample.requests:,} measured requests of seed {asked.sample.seed}'s stream"
        )
        memory["sources"]["replicas"] = "cluster.replicas"
        answer.update(
            value=asked.written(plan.value),
            below=None if found.below is None else asked.written(found.below),
            nodes=asked.nodes_at(plan.value),
            capacity=asked.written(asked.capacity_at(plan.value)) if not asked.settings.varies_nodes else None,
            memory=memory,
            reproduce={asked.vary: asked.written(plan.value), "run.seeds": at.seeds},
        )
    answer["healthy"] = dataclasses.asdict(plan.healthy)
    answer["survive"] = None if plan.survive is None else dataclasses.asdict(plan.survive)
    return {
        "name": asked.name,
        "question": {**asked.settings.as_dict(), "range": [asked.low, asked.high], "counts_bytes": asked.counts_bytes},
        "sample": dataclasses.asdict(asked.sample),
        "estimate": dataclasses.asdict(plan.estimate),
        "answer": answer,
        "paragraph": plan.paragraph,
        "points": json.loads(table.to_json(orient="records")),
    }
