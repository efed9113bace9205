"""The `kvsim` command line.

    kvsim run [CONFIG] [--out DIR] [--workers N | --scheduler tcp://HOST:PORT] [--force]
    kvsim plan [CONFIG] [--hit-ratio H] [--p99-ms MS] ... [--vary KEY] [--range LO:HI] [--survive 1]
    kvsim plot DIR
    kvsim policies
    kvsim replay TRACE ... | kvsim mrc TRACE ...
    kvsim validate redis|memcached TRACE --memory 64MiB [...]
    kvsim bench [--quick] [--json] [--only SECTIONS]

A user's mistake (a bad config, an unknown policy, a missing file) ends with
exit status 2 and one line on stderr naming what was wrong; never a traceback.
"""

from __future__ import annotations

import argparse
import inspect
import logging
import signal
import sys
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from experiments import bench
from experiments import configs as shipped
from experiments.commands_trace import add_trace_commands  # kvsim replay, kvsim mrc
from experiments.config import ConfigError, resolve
from experiments.config.user_code import add_import_option, import_modules, look_in_the_current_folder
from experiments.execute.executors import ExecutorError, default_workers
from experiments.output.domains import ResultError
from experiments.output.outdir import OutputError, claim
from experiments.output.tables import SATURATION, SUMMARY_METRICS, saturated
from experiments.plan.command import add_plan_command  # kvsim plan
from experiments.validate import add_validate_command  # kvsim validate
from policies import PolicyError, available, policy_class
from workloads.traces import TraceError

if TYPE_CHECKING:
    import pandas as pd

#: errors that are the user's to fix: reported in one line, exit status 2
USER_ERRORS = (ConfigError, PolicyError, ExecutorError, OutputError, ResultError, TraceError, FileNotFoundError)


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP (a scheduler's or `timeout`'s stop, a closed terminal): handled as Ctrl-C."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _stop(signum, _frame):
    raise Stopped(signum)


def stop_on_signals() -> None:
    """Make SIGTERM and SIGHUP stop kvsim as Ctrl-C does: runs in progress end, saved runs stay."""
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _stop)


def directory(text: str) -> Path:
    """--out: a directory path (checked further before anything is written)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must name a directory; got an empty path")
    return Path(text)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {text!r}")
    return value


def version() -> str:
    try:
        return metadata.version("kvsim")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a mistake on the command line is one line, as every other user error is.

    argparse prints the whole usage before its message; the message names
    the flag and what it wants, and `kvsim COMMAND -h` shows the usage.
    """

    def error(self, message):
        command = self.prog.removeprefix("kvsim").strip()
        self.exit(2, f"kvsim: error: {command + ': ' if command else ''}{message} (see {self.prog} -h)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="kvsim", description="Discrete-event simulator of key-value cache clusters.")
    parser.add_argument("--version", action="version", version=f"kvsim {version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    run_parser = commands.add_parser("run", help="run an experiment config (default: the built-in quickstart)")
    run_parser.add_argument(
        "config", nargs="?", help=f"TOML config file, or a shipped experiment's name ({', '.join(shipped.names())})"
    )
    run_parser.add_argument("--out", type=directory, help="output directory (default: results/<name>/)")
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
        "--force", action="store_true", help="start from nothing: delete what --out holds of an earlier run first"
    )
    run_parser.add_argument(
        "--repair",
        action="store_true",
        help="--out's manifest is damaged: rewrite it and resume from the run files that verify",
    )
    add_import_option(run_parser)
    run_parser.set_defaults(handler=command_run)
    add_plan_command(commands, positive_int)

    plot_parser = commands.add_parser(
        "plot", help="redraw the figures of an experiment's or a miss-ratio curve's folder"
    )
    plot_parser.add_argument("dir", type=Path, help="a directory written by `kvsim run` or `kvsim mrc`")
    plot_parser.set_defaults(handler=command_plot)

    policies_parser = commands.add_parser("policies", help="list the eviction policies and their parameters")
    policies_parser.set_defaults(handler=command_policies)
    add_trace_commands(commands)
    add_validate_command(commands)

    bench_parser = commands.add_parser("bench", help="measure speed against the baselines, side by side")
    bench_parser.add_argument("--quick", action="store_true", help="smaller runs: a minute or two")
    bench_parser.add_argument("--json", action="store_true", help="print one JSON object of figures")
    bench_parser.add_argument(
        "--only", metavar="SECTIONS", default=None, help=f"comma-separated subset of: {', '.join(bench.SECTIONS)}"
    )
    bench_parser.set_defaults(handler=command_bench)
    return parser


def command_run(args) -> int:
    import_modules(args.imports)
    name = args.config or "quickstart"
    if not Path(name).exists() and not shipped.path(name).exists():
        raise ConfigError(
            f"{name}: no such config file, and no shipped experiment of that name; shipped: {', '.join(shipped.names())}"
        )
    experiment = resolve(name)
    # pandas and matplotlib load only now: a bad config is reported at once.
    from experiments.execute.runner import TABLES, run_experiment

    if args.scheduler:
        # The Dask client logs each failed connection attempt and each closed
        # connection; the command line reports its errors in one line instead.
        logging.getLogger("distributed").setLevel(logging.CRITICAL)

    out = args.out or Path("results") / experiment.name
    workers = args.workers or default_workers()
    outcome = run_experiment(
        experiment, out, workers=workers, scheduler=args.scheduler, force=args.force, repair=args.repair
    )
    print(format_summary(outcome.summary, experiment.swept_keys))
    warning = saturation_warning(outcome.summary, experiment.swept_keys)
    if warning:
        sys.stdout.flush()  # the warning follows the summary it is about, also when both go to one file
        print(warning, file=sys.stderr)
    print(
        f"\n{len(outcome.results)} runs ({outcome.ran} simulated now) -> {out}/: "
        f"{', '.join(TABLES)}, manifest.json, runs/"
    )
    if outcome.short:
        measured, asked = min(outcome.short)
        print(
            f"note: {len(outcome.short)} of {len(outcome.results)} runs measured fewer requests than run.requests "
            f"asks ({measured:,} of {asked:,} at the least): the trace ends first"
        )
    if outcome.redone:
        print(
            f"{outcome.redone} run files in {out}/runs did not verify (another experiment's, another version of a "
            "policy module's, or damaged) and were simulated again"
        )
    print(f"figures (.png, .svg): {figure_names(outcome.figures)}")
    return 0


def command_plot(args) -> int:
    from experiments import plots

    if not args.dir.is_dir():
        raise FileNotFoundError(
            f"{args.dir}: no experiment here (no manifest.json): no such directory; run `kvsim run --out {args.dir}` first"
        )
    with claim(args.dir, flag="kvsim plot"):
        figures = plots.draw(args.dir)
    print(f"{args.dir}/: redrew {figure_names(figures)} (.png, .svg)")
    return 0


def figure_names(paths: list[Path]) -> str:
    return ", ".join(dict.fromkeys(path.stem for path in paths))


def format_summary(summary: pd.DataFrame, swept: list[str]) -> str:
    """The summary as printed after a run: the swept keys, seeds, and each summary metric's mean over seeds.

    node_utilisation is left out when no point has node queues (it is 0 throughout).
    """
    metrics = [m for m in SUMMARY_METRICS if m != "node_utilisation" or summary["node_utilisation_mean"].any()]
    columns = {key: key for key in swept} | {"seeds": "seeds"} | {f"{metric}_mean": metric for metric in metrics}
    table = summary[list(columns)].rename(columns=columns)
    return table.to_string(index=False, float_format=lambda v: f"{v:.4f}")


def saturation_warning(summary: pd.DataFrame, swept: list[str]) -> str | None:
    """One line naming the points whose offered load reaches capacity (None when there are none)."""
    points = saturated(summary, swept)
    if not points:
        return None
    return (
        f"kvsim: warning: offered load reaches capacity (utilisation >= {SATURATION:g}) at {'; '.join(points)}: "
        "the queue there grows for as long as the run lasts, so its latencies depend on the run's length"
    )


def command_bench(args) -> int:
    import json

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
    print(policies_text())
    return 0


def policies_text() -> str:
    """`kvsim policies`: every policy and admission filter, what it does, its parameters and their defaults."""
    from policies import available_admissions
    from policies.admission import admission_class

    lines = [
        "Eviction policies: cluster.policy (or --policy); parameters go in cluster.policy_params,",
        'e.g. policy = "clock" and policy_params = { bits = 2 }.',
        "",
    ]
    for name in available():
        lines += _entry(name, policy_class(name))
    lines += [
        "Admission filters, in front of any policy: policy_params = { admission = NAME,",
        'admission_params = { ... } }, e.g. { admission = "size", admission_params = { threshold = 65536 } }.',
        "",
    ]
    for name in available_admissions():
        lines += _entry(name, admission_class(name))
    lines.append("Your own policy: --policy module:Class, or its registered name with --import module (README).")
    return "\n".join(lines)


def _entry(name: str, cls) -> list[str]:
    """A policy's or filter's lines: name and summary, then its parameters with their defaults."""
    summary = cls.summary or (cls.__doc__ or "").strip().split("\n")[0]
    params = []
    for parameter in inspect.signature(cls.__init__).parameters.values():
        if parameter.name in ("self", "capacity", "capacity_bytes") or parameter.kind in (
            parameter.VAR_POSITIONAL,
            parameter.VAR_KEYWORD,
        ):
            continue
        default = "(required)" if parameter.default is parameter.empty else repr(parameter.default)
        params.append(f"{parameter.name} = {default}")
    return [f"  {name:<14} {summary}", f"  {'':<14} {', '.join(params) or 'no parameters'}", ""]


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    stop_on_signals()
    look_in_the_current_folder()
    try:
        return args.handler(args)
    except USER_ERRORS as error:
        message = error.args[0] if isinstance(error, ValueError) and error.args else str(error)
        print(f"kvsim: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as stop:
        how = f"stopped by signal {stop.signum}" if isinstance(stop, Stopped) else "interrupted"
        print(f"kvsim: {how}; finished runs are saved: run the same command again to resume", file=sys.stderr)
        return 128 + stop.signum if isinstance(stop, Stopped) else 130


if __name__ == "__main__":
    sys.exit(main())
