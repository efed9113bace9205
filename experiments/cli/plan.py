"""`kvsim plan`: its flags, and what it prints (the plan itself is experiments/plan's).

    kvsim plan [CONFIG] [--hit-ratio H] [--byte-hit-ratio H] [--p50-ms MS] [--p95-ms MS]
               [--p99-ms MS] [--p999-ms MS] [--backend-rps RPS] [--stale-ratio R]
               [--vary cluster.capacity|cluster.nodes|autoscale.max_nodes] [--range LO:HI] [--survive 0|1]
               [--confidence C] [--max-seeds N] [--resolution R] [--scan-points N] [--entry-overhead KIND|BYTES]
               [--out DIR] [--workers N | --scheduler tcp://HOST:PORT] [--force]

A flag replaces the [plan] key of the same name.  Exit status 0 when the
targets are met, 3 when no value in the range meets them (the best reached
is printed), 2 for bad input.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from experiments import configs as shipped
from experiments.cli.commands import summary
from experiments.cli.options import worker_count
from experiments.plan.settings import SCHEMA, TARGETS, VARIED


def add_plan_command(commands) -> None:
    """Add `plan` to the CLI's subparsers."""
    parser = commands.add_parser(
        "plan",
        help=summary("plan"),
        description="Find the smallest capacity per node (or node count, or an autoscaler's most nodes) whose runs meet every target at "
        "the given confidence over seeds, optionally with the worst single node down; print the answer, "
        "its memory and its confidence intervals.  Exit 0 when met, 3 when nothing in the range is.",
    )
    parser.add_argument(
        "config", nargs="?", help=f"TOML config file, or a shipped experiment's name ({', '.join(shipped.names())})"
    )
    targets = parser.add_argument_group("targets (any combination; each replaces the [plan] key)")
    for target in TARGETS.values():
        bound = "at least" if target.at_least else "at most"
        unit = {"ms": "MS", "rps": "RPS"}.get(target.unit, "X")
        targets.add_argument(
            target.flag, dest=target.name, type=float, metavar=unit, help=f"the {target.label} must be {bound} {unit}"
        )
    question = parser.add_argument_group("the question")
    question.add_argument("--vary", choices=VARIED, help=SCHEMA["vary"].doc)
    question.add_argument("--range", metavar="LO:HI", help=SCHEMA["range"].doc)
    question.add_argument("--survive", type=int, metavar="0|1", help=SCHEMA["survive"].doc)
    question.add_argument("--confidence", type=float, metavar="C", help=SCHEMA["confidence"].doc + " (0.95)")
    question.add_argument("--max-seeds", type=int, metavar="N", help=SCHEMA["max_seeds"].doc + " (10)")
    question.add_argument("--resolution", type=float, metavar="R", help=SCHEMA["resolution"].doc + " (0.01)")
    question.add_argument("--scan-points", type=int, metavar="N", help=SCHEMA["scan_points"].doc + " (12)")
    question.add_argument(
        "--entry-overhead", type=_overhead, metavar="KIND|BYTES", help=SCHEMA["entry_overhead"].doc + ' ("redis")'
    )
    parser.add_argument("--out", type=Path, metavar="DIR", help="output directory (default: results/<name>/plan/)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=worker_count, default=None, help="local processes (default: all cores)")
    where.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="run on a Dask scheduler's workers")
    parser.add_argument("--force", action="store_true", help="replace the results of a different experiment in --out")
    parser.set_defaults(handler=command_plan)


def _overhead(text: str):
    """A server kind stays text; a number of bytes becomes an int (the check names what is wrong)."""
    return int(text) if text.strip().isdigit() else text


#: the flags that carry a [plan] key, by key
_KEYS = [*TARGETS, "vary", "range", "survive", "confidence", "max_seeds", "resolution", "scan_points", "entry_overhead"]


def command_plan(args) -> int:
    from experiments.config import resolve
    from experiments.execute.executors import default_workers, is_terminal
    from experiments.plan.engine import make_plan
    from experiments.plan.report import wrapped
    from experiments.plan.settings import settings

    experiment = resolve(args.config or "quickstart")
    asked = settings(experiment.plan, {key: getattr(args, key) for key in _KEYS})
    if args.scheduler:
        logging.getLogger("distributed").setLevel(logging.CRITICAL)  # errors are reported in one line

    def settled() -> None:
        """Once the question holds (a mistake in it is the only line on stderr): say what was set aside."""
        if experiment.grid or experiment.zipped:
            keys = ", ".join(experiment.swept_keys)
            print(
                f"kvsim plan: the config's [sweep] ({keys}) is set aside: the plan varies {asked.vary}", file=sys.stderr
            )

    say = (lambda line: print(f"  {line}", file=sys.stderr, flush=True)) if is_terminal() else None
    out = args.out or Path("results") / experiment.name / "plan"
    plan = make_plan(
        experiment,
        asked,
        out,
        workers=args.workers or default_workers(),
        scheduler=args.scheduler,
        force=args.force,
        say=say,
        settled=settled,
    )
    print(wrapped(plan.paragraph))
    print(
        f"\n{len(plan.verdicts)} points, {plan.ran} runs simulated now -> {out}/: plan.json, plan.csv, "
        f"plan.png, plan.svg, and the runs' tables as `kvsim run` writes them"
    )
    return plan.exit_code
