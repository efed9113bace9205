"""`kvsim trace stats|fit|make`: a trace summarised, a workload fitted to it, a trace made.

    kvsim trace stats TRACE|DIR... [--out DIR] [--json] [--force]
    kvsim trace fit TRACE --out workload.toml [--force]
    kvsim trace make OUT --requests N --keys K --alpha A [--sizes SIZE] [--rate R]
                     [--write-fraction W] [--seed S] [--format FORMAT]

The work is experiments/trace's: stats.py (two streaming passes),
fit.py (the workload and its TOML), make.py (a Zipf trace written in any
format).  The figures are experiments/plots/trace_stats.py's.
"""

from __future__ import annotations

import json
from pathlib import Path

from experiments.cli.commands import summary
from experiments.cli.options import add_trace_options, directory, integer_in, trace_file
from experiments.config.schema import MAX_KEYS, MAX_REQUESTS
from experiments.output.outdir import OutputError, atomic_write, claim
from experiments.trace.inputs import TraceCommandError
from experiments.trace.sources import trace_paths
from workloads.traces import FORMATS, TraceError

#: the figures of `kvsim trace stats`, as the table shows them: (column, path in the stats, format)
STATS_COLUMNS = (
    ("requests", ("requests",), "{:,}"),
    ("objects", ("objects",), "{:,}"),
    ("bytes", ("bytes",), "{:,}"),
    ("one_hit_share", ("one_hit_wonders", "share"), "{:.4f}"),
    ("one_hit_per_tenth", ("one_hit_wonders", "window_mean"), "{:.4f}"),
    ("zipf_alpha", ("popularity", "alpha"), "{:.4f}"),
    ("zipf_catalogue", ("popularity", "catalogue"), "{:,}"),
    ("zipf_ks", ("popularity", "ks"), "{:.4f}"),
    ("loglog_alpha", ("popularity", "loglog_alpha"), "{:.4f}"),
    ("top1pct_share", ("popularity", "top_share", "1%"), "{:.4f}"),
    ("reuse_distance_p50", ("reuse_distance", "p50"), "{:,}"),
    ("reuse_distance_p90", ("reuse_distance", "p90"), "{:,}"),
    ("reuse_time_p50", ("reuse_time", "p50"), "{:,.0f}"),
    ("span_s", ("time", "span_s"), "{:,.1f}"),
    ("rate_per_s", ("rate", "mean_per_s"), "{:,.1f}"),
    ("write_share", ("operations", "write"), "{:.4f}"),
    ("object_size_p50", ("sizes", "object", "p50"), "{:,.0f}"),
    ("object_size_mean", ("sizes", "object", "mean"), "{:,.0f}"),
    ("ttl_write_share", ("ttl", "write_share"), "{:.4f}"),
)
#: files another command leaves in a folder: stats are not written among them without --force
OTHERS = ("manifest.json", "mrc.json", "replay.json")


def add_trace_tools(commands) -> None:
    """Add `trace` and its subcommands stats, fit and make to the CLI's subparsers."""
    trace = commands.add_parser("trace", help=summary("trace"), description=summary("trace").capitalize() + ".")
    tools = trace.add_subparsers(dest="tool", metavar="TOOL")
    tools.required = True

    stats = tools.add_parser("stats", help="what traces are made of: a table, a figure per trace, or JSON")
    stats.add_argument("traces", nargs="+", type=Path, metavar="TRACE", help="trace files, or folders of them")
    stats.add_argument(
        "--out", type=directory, help="folder for stats.json, stats.csv and the figures (default results/trace-stats/)"
    )
    stats.add_argument("--json", action="store_true", help="print every number as JSON instead of the table")
    stats.add_argument("--force", action="store_true", help="write into --out even beside other results")
    add_trace_options(stats)
    stats.set_defaults(handler=command_stats)

    fit = tools.add_parser("fit", help="fit a workload config to a trace (a TOML kvsim run accepts)")
    fit.add_argument("trace", type=Path, help="trace file")
    fit.add_argument("--out", type=Path, required=True, metavar="FILE.toml", help="the workload config to write")
    fit.add_argument("--force", action="store_true", help="replace --out if it exists")
    add_trace_options(fit)
    fit.set_defaults(handler=command_fit)

    make = tools.add_parser("make", help="write a Zipf trace: a first trace to try the commands on")
    make.add_argument(
        "out",
        type=Path,
        help="the trace file: its format and compression from the name "
        "(t.oracleGeneral.zst, t.csv.gz, t.twitter ...) or --format",
    )
    make.add_argument("--requests", type=integer_in(1, MAX_REQUESTS), required=True, metavar="N", help="requests")
    make.add_argument(
        "--keys", type=integer_in(1, MAX_KEYS), required=True, metavar="K", help="catalogue: distinct keys"
    )
    make.add_argument("--alpha", required=True, metavar="A", help="Zipf exponent, >= 0 (0: uniform)")
    make.add_argument(
        "--sizes",
        default="1",
        metavar="SIZE",
        help="bytes per object: a number, or lognormal:MEDIAN:SIGMA, pareto:MIN:SHAPE (drawn once per key; default 1)",
    )
    make.add_argument("--rate", default="1000", metavar="R", help="requests per second, Poisson (default 1000)")
    make.add_argument("--write-fraction", default="0", metavar="W", help="share of writes (default 0)")
    make.add_argument("--seed", type=integer_in(0, 2**63 - 1), default=1, help="random seed (default 1)")
    make.add_argument("--format", choices=FORMATS, type=str.lower, help="trace format (default: from the name)")
    make.add_argument("--force", action="store_true", help="replace OUT if it exists")
    make.set_defaults(handler=command_make)


def command_stats(args) -> int:
    """Summarise traces: footprint, one-hit wonders, popularity, reuse, rate, operations, sizes, TTLs."""
    from experiments.plots import trace_stats as figures  # matplotlib loads only now
    from experiments.trace.stats import trace_stats

    paths = trace_paths(args.traces, args.format)
    traces = [trace_file(args, path).open() for path in paths]
    out = args.out or Path("results") / "trace-stats"
    with claim(out) as out:
        held = [name for name in OTHERS if (out / name).exists()]
        if held and not args.force:
            raise OutputError(
                f"--out {out} holds another command's results ({held[0]}); choose another --out, "
                "or pass --force to write beside them"
            )
        found = []
        for path, trace in zip(paths, traces):
            try:
                stats = trace_stats(trace)
            except TraceError as error:
                raise TraceCommandError(str(error)) from None
            stats["trace"] = str(path)
            stats["figure"] = [str(p) for p in figures.draw(stats, out / figure_stem(path))]
            found.append(stats)
        table = stats_table(found)
        atomic_write(out / "stats.json", json.dumps(found, indent=2) + "\n")
        atomic_write(out / "stats.csv", table.to_csv(index=False))
    if args.json:
        print(json.dumps(found[0] if len(found) == 1 else found, indent=2))
        return 0
    print(format_stats(table))
    figures_said = ", ".join(p for stats in found for p in stats["figure"] if p.endswith(".png"))
    print(f"\n-> {out / 'stats.json'}, {out / 'stats.csv'}, {figures_said}")
    return 0


def format_stats(table) -> str:
    """The table as the terminal shows it: a row per figure, a column per trace, numbers formatted."""
    import pandas as pd

    styles = {column: style for column, _, style in STATS_COLUMNS}
    shown = {
        column: [styles[column].format(value) if value == value else "-" for value in table[column]]
        for column in table.columns[1:]
    }
    return pd.DataFrame(shown, index=table["trace"]).T.to_string()


def figure_stem(path: Path) -> str:
    """A figure's file name for a trace: its name with dots as dashes ('t.oracleGeneral.zst' -> 't-oracleGeneral-zst')."""
    return "stats-" + Path(path).name.replace(".", "-")


def stats_table(found: list[dict]):
    """One row per trace, STATS_COLUMNS' figures (empty where a trace has no such column)."""
    import pandas as pd

    rows = []
    for stats in found:
        row = {"trace": stats["trace"]}
        for column, keys, _ in STATS_COLUMNS:
            value = stats
            for key in keys:
                value = value.get(key) if isinstance(value, dict) else None
            row[column] = value
        rows.append(row)
    table = pd.DataFrame(rows)
    return table.dropna(axis=1, how="all")


def command_fit(args) -> int:
    """Fit a workload config to a trace: what kvsim run needs to reproduce it; what could not be fitted in its comments."""
    from experiments.trace.fit import fit_workload, workload_toml

    if args.out.exists() and not args.force:
        raise OutputError(f"--out {args.out}: exists; choose another file, or pass --force to replace it")
    if args.out.suffix != ".toml":
        raise OutputError(f"--out {args.out}: a workload config is a .toml file")
    source = trace_file(args)
    trace = source.open()
    try:
        fitted = fit_workload(trace, source.seconds_per_unit(trace))
    except TraceError as error:
        raise TraceCommandError(str(error)) from None
    text = workload_toml(fitted)
    atomic_write(args.out, text)
    print(fitted.summary())
    print(f"\n-> {args.out} (kvsim run {args.out})")
    return 0


def command_make(args) -> int:
    """Write a trace of Zipf requests: the format and compression from the file's name."""
    from experiments.trace.make import make_trace, parse_make

    if args.out.exists() and not args.force:
        raise OutputError(f"{args.out}: exists; choose another name, or pass --force to replace it")
    spec = parse_make(args)
    path = make_trace(args.out, spec, args.format)
    print(f"{path}: {spec.describe()}")
    return 0
