"""The `kvsim` command line.

    kvsim run [CONFIG] [--out DIR] [--workers N | --scheduler tcp://HOST:PORT] [--force]
    kvsim plan [CONFIG] [--hit-ratio H] [--p99-ms MS] ... [--vary KEY] [--range LO:HI] [--survive 1]
    kvsim plot DIR
    kvsim policies
    kvsim replay TRACE ... | kvsim mrc TRACE ...
    kvsim bench [--quick] [--json]

A user's mistake (a bad config, an unknown policy, a missing file) ends with
exit status 2 and one line on stderr naming what was wrong; never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from experiments import configs as shipped
from experiments.commands_trace import add_trace_commands  # kvsim replay, kvsim mrc
from experiments.config import ConfigError, resolve
from experiments.execute import ExecutorError, default_workers
from experiments.plan.command import add_plan_command  # kvsim plan
from policies import PolicyError, available, policy_class, policy_parameters

if TYPE_CHECKING:
    import pandas as pd

#: errors that are the user's to fix: reported in one line, exit status 2
USER_ERRORS = (ConfigError, PolicyError, ExecutorError, FileNotFoundError)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kvsim", description="Discrete-event simulator of key-value cache clusters.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    run_parser = commands.add_parser("run", help="run an experiment config (default: the built-in quickstart)")
    run_parser.add_argument(
        "config", nargs="?", help=f"TOML config file, or a shipped experiment's name ({', '.join(shipped.names())})"
    )
    run_parser.add_argument("--out", type=Path, help="output directory (default: results/<name>/)")
    where = run_parser.add_mutually_exclusive_group()
    where.add_argument(
        "--workers", type=positive_int, default=None, help="local processes to run points in (default: all cores)"
    )
    where.add_argument(
        "--scheduler",
        metavar="tcp://HOST:PORT",
        help="run the points on this Dask distributed scheduler's workers (needs kvsim[dask])",
    )
    run_parser.add_argument(
        "--force", action="store_true", help="replace the results of a different experiment in --out"
    )
    run_parser.set_defaults(handler=command_run)
    add_plan_command(commands, positive_int)

    plot_parser = commands.add_parser("plot", help="redraw the figures of an experiment's output directory")
    plot_parser.add_argument("dir", type=Path, help="a directory written by `kvsim run`")
    plot_parser.set_defaults(handler=command_plot)

    policies_parser = commands.add_parser("policies", help="list the eviction policies and their parameters")
    policies_parser.set_defaults(handler=command_policies)
    add_trace_commands(commands)

    bench_parser = commands.add_parser("bench", help="measure speed against the baselines, side by side")
    bench_parser.add_argument("--quick", action="store_true", help="smaller runs: under a minute")
    bench_parser.add_argument("--json", action="store_true", help="print one JSON object of figures")
    bench_parser.add_argument(
        "--only", metavar="SECTIONS", default=None, help="comma-separated subset of: des, replay, mrc, sweep, memory"
    )
    bench_parser.set_defaults(handler=command_bench)
    return parser


def command_run(args) -> int:
    experiment = resolve(args.config or "quickstart")
    # pandas and matplotlib load only now: a bad config is reported at once.
    from experiments.runner import TABLES, run_experiment

    if args.scheduler:
        # The Dask client logs each failed connection attempt and each closed
        # connection; the command line reports its errors in one line instead.
        logging.getLogger("distributed").setLevel(logging.CRITICAL)

    out = args.out or Path("results") / experiment.name
    workers = args.workers or default_workers()
    outcome = run_experiment(experiment, out, workers=workers, scheduler=args.scheduler, force=args.force)
    print(format_summary(outcome.summary, experiment.swept_keys))
    print(
        f"\n{len(outcome.results)} runs ({outcome.ran} simulated now) -> {out}/: "
        f"{', '.join(TABLES)}, manifest.json, runs/"
    )
    print(f"figures (.png, .svg): {figure_names(outcome.figures)}")
    return 0


def command_plot(args) -> int:
    from experiments import plots

    figures = plots.draw(args.dir)
    print(f"{args.dir}/: redrew {figure_names(figures)} (.png, .svg)")
    return 0


def figure_names(paths: list[Path]) -> str:
    return ", ".join(dict.fromkeys(path.stem for path in paths))


def format_summary(summary: pd.DataFrame, swept: list[str]) -> str:
    columns = {key: key for key in swept}
    columns.update(
        {
            "seeds": "seeds",
            "hit_ratio_mean": "hit_ratio",
            "byte_hit_ratio_mean": "byte_hit_ratio",
            "mean_ms_mean": "mean_ms",
            "p50_ms_mean": "p50_ms",
            "p99_ms_mean": "p99_ms",
            "p999_ms_mean": "p999_ms",
            "imbalance_mean": "imbalance",
        }
    )
    table = summary[list(columns)].rename(columns=columns)
    return table.to_string(index=False, float_format=lambda v: f"{v:.4f}")


def command_bench(args) -> int:
    import json

    from experiments import bench

    sections = bench.SECTIONS
    if args.only:
        sections = tuple(name.strip() for name in args.only.split(","))
        unknown = [name for name in sections if name not in bench.SECTIONS]
        if unknown:
            raise ConfigError(f"--only: unknown section {unknown[0]!r}; valid: {', '.join(bench.SECTIONS)}")
    progress = None if args.json else (lambda text: print(text, file=sys.stderr, flush=True))
    figures = bench.run_bench(quick=args.quick, sections=sections, progress=progress)
    print(json.dumps(figures, indent=2) if args.json else bench.report(figures))
    return 0


def command_policies(args) -> int:
    for name in available():
        cls = policy_class(name)
        params = ", ".join(policy_parameters(cls)) or "none"
        doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        print(f"{name:<10} {doc}\n{'':<10} parameters: {params}" + ("; offline: replay only" if cls.offline else ""))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except USER_ERRORS as error:
        message = (
            error.args[0] if isinstance(error, (ConfigError, PolicyError, ExecutorError)) and error.args else str(error)
        )
        print(f"kvsim: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("kvsim: interrupted; finished runs are saved: run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
