"""The table of `kvsim`'s commands: each one's name, the line `kvsim -h` shows, and where it lives.

`kvsim` starts by reading only this table: a command's module (with what it
imports: numpy, pandas, scipy, the compiled engine) is imported when that
command runs or shows its own help, so `kvsim --version`, `kvsim -h` and a
command that needs little start at once instead of loading the whole
scientific stack first.
"""

from __future__ import annotations

from typing import NamedTuple


class Command(NamedTuple):
    """One entry of `kvsim -h`: the module that declares the command's flags, and its adder there."""

    module: str
    adder: str
    summary: str


#: in the order `kvsim -h` lists them
COMMANDS: dict[str, Command] = {
    "run": Command(
        "experiments.cli.run", "add_run_command", "run an experiment config (default: the built-in quickstart)"
    ),
    "plan": Command(
        "experiments.cli.plan",
        "add_plan_command",
        "the capacity or node count that meets targets (hit ratio, p99, backend load...), and its memory",
    ),
    "plot": Command(
        "experiments.cli.run",
        "add_plot_command",
        "redraw the figures of an experiment's or a miss-ratio curve's folder",
    ),
    "policies": Command(
        "experiments.cli.policies", "add_policies_command", "list the eviction policies and their parameters"
    ),
    "replay": Command(
        "experiments.cli.trace",
        "add_replay_command",
        "replay traces through policies at cache sizes, no clock: miss ratios",
    ),
    "mrc": Command("experiments.cli.trace", "add_mrc_command", "miss-ratio curve of a trace: CSV and PNG"),
    "trace": Command(
        "experiments.cli.trace_tools",
        "add_trace_tools",
        "trace tools: summarise (stats), fit a workload (fit), make one (make)",
    ),
    "validate": Command(
        "experiments.cli.validate",
        "add_validate_command",
        "replay a trace through a real redis-server or memcached and through kvsim's model of it",
    ),
    "bench": Command("experiments.cli.bench", "add_bench_command", "measure speed against the baselines, side by side"),
}


def summary(name: str) -> str:
    """The line `kvsim -h` shows for command `name` (its parser's help)."""
    return COMMANDS[name].summary
