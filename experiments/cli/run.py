"""`kvsim run` and `kvsim plot`: their flags, and what they print.

`kvsim run` resolves the config (experiments/config), runs what is missing
of it (experiments/execute/runner.py) and prints its summary, one row per
point, with a warning for points whose offered load reaches capacity;
`kvsim plot` redraws a folder's figures (experiments/plots).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from experiments import configs as shipped
from experiments.cli.commands import summary
from experiments.cli.options import add_import_option, directory, worker_count

if TYPE_CHECKING:
    import pandas as pd


def add_run_command(commands) -> None:
    run_parser = commands.add_parser("run", help=summary("run"), description=summary("run").capitalize() + ".")
    run_parser.add_argument(
        "config", nargs="?", help=f"TOML config file, or a shipped experiment's name ({', '.join(shipped.names())})"
    )
    run_parser.add_argument("--out", type=directory, help="output directory (default: results/<name>/)")
    where = run_parser.add_mutually_exclusive_group()
    where.add_argument(
        "--workers", type=worker_count, default=None, help="local processes to run points in (default: all cores)"
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


def add_plot_command(commands) -> None:
    plot_parser = commands.add_parser("plot", help=summary("plot"), description=summary("plot").capitalize() + ".")
    plot_parser.add_argument("dir", type=Path, help="a directory written by `kvsim run` or `kvsim mrc`")
    plot_parser.set_defaults(handler=command_plot)


def command_run(args) -> int:
    # What a run needs loads only now, so that `kvsim run -h` is at once: the config and the
    # policies first, then pandas and matplotlib once the config holds (a bad one is reported at once).
    from experiments.config import resolve
    from experiments.config.user_code import import_modules
    from experiments.execute.executors import default_workers

    import_modules(args.imports)
    experiment = resolve(args.config or "quickstart")
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
    for why, indices in experiment.engine_notes.items():
        if not why.startswith("KVSIM_ENGINE"):  # asked for: no news
            numbers = ", ".join(map(str, indices))
            where = "every point" if len(indices) == len(experiment.sweep_points) else f"sweep point {numbers}"
            print(f"note: {where} ran on the Python request loop (slower): {why}")
    if outcome.redone:
        print(
            f"{outcome.redone} run files in {out}/runs did not verify (another experiment's, another version of a "
            "policy module's, or damaged) and were simulated again"
        )
    print(f"figures (.png, .svg): {figure_names(outcome.figures)}")
    return 0


def command_plot(args) -> int:
    if not args.dir.is_dir():  # said before matplotlib loads
        raise FileNotFoundError(
            f"{args.dir}: no experiment here (no manifest.json): no such directory; run `kvsim run --out {args.dir}` first"
        )
    from experiments import plots
    from experiments.output.outdir import claim

    with claim(args.dir, flag="kvsim plot"):
        figures = plots.draw(args.dir)
    print(f"{args.dir}/: redrew {figure_names(figures)} (.png, .svg)")
    return 0


def figure_names(paths: list[Path]) -> str:
    return ", ".join(dict.fromkeys(path.stem for path in paths))


def format_summary(summary: pd.DataFrame, swept: list[str]) -> str:
    """The summary as printed after a run: the swept keys, seeds, and each summary metric's mean over seeds.

    node_utilisation is left out when no point has node queues (it is 0 throughout); the cost and service
    columns (node_seconds, violation_s) are shown when some point misses a target or an autoscaler is swept.
    """
    from experiments.output.tables import SUMMARY_METRICS

    costs = summary["violation_s_mean"].any() or any(key.startswith("autoscale.") for key in swept)
    hidden = {"node_utilisation": not summary["node_utilisation_mean"].any(), "node_seconds": not costs}
    hidden["violation_s"] = not costs
    metrics = [m for m in SUMMARY_METRICS if not hidden.get(m)]
    columns = {key: key for key in swept} | {"seeds": "seeds"} | {f"{metric}_mean": metric for metric in metrics}
    table = summary[list(columns)].rename(columns=columns)
    return table.to_string(index=False, float_format=lambda v: f"{v:.4f}")


def saturation_warning(summary: pd.DataFrame, swept: list[str]) -> str | None:
    """One line naming the points whose offered load reaches capacity (None when there are none)."""
    from experiments.output.tables import saturation_note

    note = saturation_note(summary, swept)
    return None if note is None else f"kvsim: warning: {note}"
