"""`kvsim replay` and `kvsim mrc`: their flags, and what they print.

    kvsim replay TRACE|DIR... --policy NAME[,NAME...] --capacity C[,C...|P%...]
                 [--workers N | --scheduler tcp://HOST:PORT] [--out DIR] [--force]
                 [--format FORMAT] [--time-unit s|ms|us|ns] [--warmup N] [--json]
    kvsim mrc TRACE --policy NAME --capacities SPEC [--points N]
              [--format ...] [--time-unit ...] [--out DIR] [--force] [--warmup N]
              [--shards RATE | --shards-size N | --sample RATE [--min-objects N]] [--check]

The work is experiments/trace's: the replay (replay.py), the curve (mrc.py),
and what both read from the flags' text (inputs.py: capacities, the trace).
"""

from __future__ import annotations

import json
import math
import sys
from functools import partial
from pathlib import Path

from experiments.analysis.miniature import MAX_MIN_OBJECTS, MIN_OBJECTS
from experiments.analysis.mrc import is_lru
from experiments.cli.commands import summary
from experiments.cli.options import add_import_option, add_trace_options, directory, trace_file, worker_count
from experiments.config.user_code import import_modules
from experiments.execute.executors import default_workers, open_executor
from experiments.output.outdir import claim
from experiments.trace.inputs import (
    DEFAULT_POINTS,
    TraceCommandError,
    build_policy,
    parse_capacities,
    parse_count,
    policy_names,
)
from experiments.trace.sizes import needs_footprint, parse_sizes
from experiments.trace.sources import trace_paths


def first_paragraph(function) -> str:
    return (function.__doc__ or "").strip().split("\n\n")[0]


def add_replay_command(commands) -> None:
    """Add `replay` to the CLI's subparsers."""
    replay = commands.add_parser("replay", help=summary("replay"), description=first_paragraph(command_replay))
    replay.add_argument(
        "traces",
        nargs="+",
        type=Path,
        metavar="TRACE",
        help="trace files (any of the formats of --format, compressed or not), or folders of them",
    )
    replay.add_argument(
        "--policy",
        required=True,
        metavar="NAME[,NAME...]",
        help="eviction policies (`kvsim policies`), comma-separated",
    )
    replay.add_argument(
        "--capacity",
        required=True,
        metavar="C[,C...]",
        help="cache sizes, comma-separated: an integer counts objects, 64MiB counts bytes; 1%% is a share of "
        "each trace's distinct objects, 1%%B of its distinct bytes (computed in one pass first)",
    )
    replay.add_argument("--warmup", default="0", metavar="N", help="requests replayed before counting (default 0)")
    replay.add_argument(
        "--json", action="store_true", help="print JSON: one object for one policy and capacity, else a list"
    )
    where = replay.add_mutually_exclusive_group()
    where.add_argument(
        "--workers",
        type=worker_count,
        default=None,
        help="local processes to replay the grid in (default: all cores); each reads a trace at most once",
    )
    where.add_argument(
        "--scheduler", metavar="tcp://HOST:PORT", help="replay on this Dask distributed scheduler's workers"
    )
    replay.add_argument(
        "--out",
        type=directory,
        help="write replay.csv and figures here; the same command again replays only what is missing",
    )
    replay.add_argument(
        "--force", action="store_true", help="with --out: start the grid from nothing, or write beside other results"
    )
    add_trace_options(replay)
    add_import_option(replay)
    replay.set_defaults(handler=command_replay)


def add_mrc_command(commands) -> None:
    """Add `mrc` to the CLI's subparsers."""
    mrc = commands.add_parser("mrc", help=summary("mrc"), description=first_paragraph(command_mrc))
    mrc.add_argument("trace", type=Path, help="trace file (.csv, .txt, .bin/.oraclegeneral)")
    mrc.add_argument("--policy", default="lru", metavar="NAME", help="eviction policy (default lru)")
    mrc.add_argument(
        "--capacities",
        required=True,
        metavar="SPEC",
        help="a list 100,200,500; a range with a step 100:10000:100; or a log-spaced "
        "range 100:1000000 (see --points); units such as 1MiB:1GiB count bytes",
    )
    mrc.add_argument(
        "--points",
        default=None,
        metavar="N",
        help=f"capacities of a log-spaced range FIRST:LAST (default {DEFAULT_POINTS})",
    )
    mrc.add_argument("--out", type=Path, help="output directory (default results/mrc-<trace>-<policy>/)")
    mrc.add_argument(
        "--force", action="store_true", help="replace the curve --out holds, even another trace's or policy's"
    )
    mrc.add_argument("--warmup", default="0", metavar="N", help="requests replayed before counting (default 0)")
    sampling = mrc.add_mutually_exclusive_group()
    sampling.add_argument(
        "--shards", default=None, metavar="RATE", help="SHARDS: sample keys at this fixed rate in (0, 1]"
    )
    sampling.add_argument(
        "--shards-size", default=None, metavar="N", help="fixed-size SHARDS: keep at most N sampled keys (LRU only)"
    )
    sampling.add_argument(
        "--sample",
        default=None,
        metavar="RATE",
        help="miniature simulation of any policy: the keys sampled at RATE in (0, 1], caches of RATE x each capacity",
    )
    mrc.add_argument(
        "--min-objects",
        default=None,
        metavar="N",
        help="with --sample: sample each capacity at max(RATE, N / capacity), so that no miniature cache "
        f"holds fewer than N objects (default {MIN_OBJECTS}; 0: RATE for every capacity)",
    )
    mrc.add_argument(
        "--check", action="store_true", help="also replay in full, and say the sampled curve's error against it"
    )
    add_trace_options(mrc)
    add_import_option(mrc)
    mrc.set_defaults(handler=command_mrc)


def command_replay(args) -> int:
    """Replay traces through each policy at each cache size, without a clock, and print miss ratios.

    Each trace is read at most once per worker: the policy x size grid of a
    trace is split among the workers, each feeding its share from one read.
    """
    from experiments.trace.grid import GRID_FIELDS, Grid, run_grid  # (the policies and the engine load now)
    from experiments.trace.replay import format_table

    import_modules(args.imports)
    names = policy_names(args.policy)
    sizes = parse_sizes(args.capacity)
    warmup = parse_count(args.warmup, "--warmup")
    paths = trace_paths(args.traces, args.format)
    notes = sys.stderr if args.json else sys.stdout
    if args.out is not None and len(paths) > 1 and not any(is_fifo(name) for name in names):
        names.append("fifo")
        print("fifo added: the across-trace figure measures each policy's reduction from it", file=notes)
    sources = [trace_file(args, path) for path in paths]
    for source in sources:
        source.open()  # a file that cannot be read stops the command before any replay
    for name in names:
        build_policy(name, 1, False)  # nor a policy that cannot be built
    grid = Grid(tuple(sources), tuple(map(str, paths)), tuple(names), tuple(sizes), warmup, tuple(args.imports))
    cells = len(sources) * len(names) * len(sizes)
    workers = min(args.workers or default_workers(), cells)
    say = partial(print, file=notes)
    with open_executor(workers, args.scheduler) as executor:
        if args.out is None:
            outcome, written = run_grid(grid, executor, executor.slots, None, say), []
        else:
            outcome, written = replay_into(
                args.out, grid, args.force, partial(run_grid, grid, executor, executor.slots, on_note=say)
            )
    columns = [field for field in GRID_FIELDS if field not in dropped_columns(grid)]
    rows = [{name: row[name] for name in columns} for row in outcome.rows]
    if args.json:
        print(json.dumps(rows[0] if len(rows) == 1 else rows, indent=2))
    else:
        print(format_table(rows, columns))
    if args.out is not None:
        resumed = len(outcome.rows) - outcome.replayed
        print(
            f"\n{outcome.replayed} replays from {outcome.reads} reads of the traces"
            + (f", {resumed} resumed from {args.out}" if resumed else "")
            + f" -> {', '.join(map(str, written))}",
            file=notes,
        )
    return 0


def replay_into(out: Path, grid, force: bool, run):
    """`run(saved)` the grid into `out`: locked, checked, resumed; returns (outcome, files written)."""
    from experiments.trace import grid_folder

    with claim(out) as out:
        grid_folder.prepare(out, force)
        outcome = run(saved=grid_folder.GridFolder(out))
        written = grid_folder.write(out, grid, outcome.rows, outcome.footprints)
    return outcome, written


def is_fifo(name: str) -> bool:
    from policies import policy_class
    from policies.fifo import FIFO

    return policy_class(name) is FIFO


def dropped_columns(grid) -> set[str]:
    """The columns the terminal leaves out: the trace with one trace, size and unit with sizes as given."""
    dropped = set() if len(grid.sources) > 1 else {"trace"}
    return dropped if needs_footprint(grid.sizes) else dropped | {"size", "unit"}


def parse_rate(text: str, flag: str) -> float:
    try:
        rate = float(text)
    except ValueError:
        rate = math.nan
    if not 0 < rate <= 1:
        raise TraceCommandError(f"{flag} must be a sampling rate in (0, 1], e.g. 0.01; got {text!r}")
    return rate


def capacity_labels(capacities) -> list[str]:
    """Byte capacities as the terminal shows them: "64 MiB", "1.5 KiB" (mrc.csv keeps the integers).

    Three significant digits can make two neighbours of a dense grid read alike;
    then every label also gives its exact bytes, "1.01 MiB (1,058,013 B)".
    """
    from experiments.plan.memory import format_bytes

    labels = [format_bytes(int(capacity)) for capacity in capacities]
    if len(set(labels)) < len(labels):
        labels = [f"{label} ({int(capacity):,} B)" for label, capacity in zip(labels, capacities)]
    return labels


def command_mrc(args) -> int:
    """Compute a policy's miss-ratio curve over a trace; write mrc.csv and its figure (mrc.png, mrc.svg).

    LRU takes one pass (exact); other policies one replay per capacity.
    """
    from experiments.trace.mrc import (  # pandas loads now
        CurveAsk,
        curve_identity,
        default_out,
        describe_method,
        make_curve,
    )

    import_modules(args.imports)
    name = policy_names(args.policy)
    if len(name) != 1:
        raise TraceCommandError("--policy: mrc draws one policy's curve; run it once per policy")
    name = name[0]
    capacities, count_bytes = parse_capacities(args.capacities, args.points)
    warmup = parse_count(args.warmup, "--warmup")
    rate = max_keys = None
    for flag, given in (("--shards", args.shards), ("--sample", args.sample)):
        if given is not None:
            rate = parse_rate(given, flag)
    if args.shards_size is not None:
        max_keys = parse_count(args.shards_size, "--shards-size", 1)
        if not is_lru(name):
            raise TraceCommandError(
                "--shards-size needs LRU's stack depths; for other policies sample at a "
                "fixed rate with --shards RATE (miniature simulation)"
            )
    mini = args.sample is not None
    if args.min_objects is not None and not mini:
        raise TraceCommandError("--min-objects sets the smallest miniature cache: give it with --sample RATE")
    if args.min_objects is not None and count_bytes:
        raise TraceCommandError("--min-objects counts objects: give the capacities in objects, or leave it out")
    floor = MIN_OBJECTS if args.min_objects is None else args.min_objects
    min_objects = parse_count(floor, "--min-objects", 0, MAX_MIN_OBJECTS) if mini and not count_bytes else 0
    if args.check and rate is None and max_keys is None:
        raise TraceCommandError(
            "--check compares a sampled curve with full replays: give --sample, --shards or --shards-size"
        )
    build_policy(name, int(capacities[0]), count_bytes)  # a policy that cannot be built fails before the trace is read
    source = trace_file(args)
    trace = source.open()
    out = args.out or default_out(trace, name)
    ask = CurveAsk(name, capacities, count_bytes, warmup, rate, max_keys, mini, min_objects)
    identity = curve_identity(source, trace, ask, args.check)
    made = make_curve(out, identity, ask, trace, source.seconds_per_unit(trace), args.force, args.check)
    curve = made.curve
    shown_table = made.table.assign(capacity=capacity_labels(made.table["capacity"])) if count_bytes else made.table
    print(shown_table.to_string(index=False, float_format=lambda v: f"{v:.6f}", max_rows=30))
    unit = "bytes" if count_bytes else "objects"
    print(
        f"\n{describe_method(curve)}; {curve.requests} requests, {len(curve.capacities)} capacities "
        f"({unit}) in {made.elapsed:.2f}s -> {made.path}, {', '.join(map(str, made.figures))}"
    )
    for note in curve.notes:
        print(f"note: {note}")
    if made.exact is not None:
        errors = made.errors
        print(
            f"check: against full replays, mean absolute error {errors.mean():.4f}, largest {errors.max():.4f} "
            f"(at capacity {int(curve.capacities[errors.argmax()])}); sampled {made.elapsed:.2f}s, "
            f"full {made.exact_elapsed:.2f}s ({made.exact_elapsed / max(made.elapsed, 1e-9):.1f}x)"
        )
    return 0
