"""`kvsim replay` and `kvsim mrc`: their flags, and what they print.

    kvsim replay TRACE --policy NAME[,NAME...] --capacity C[,C...]
                 [--format csv|txt|oraclegeneral] [--time-unit s|ms|us|ns] [--warmup N] [--json]
    kvsim mrc TRACE --policy NAME --capacities SPEC [--points N]
              [--format ...] [--time-unit ...] [--out DIR] [--force] [--warmup N] [--shards RATE | --shards-size N]

The work is experiments/trace's: the replay (replay.py), the curve (mrc.py),
and what both read from the flags' text (inputs.py: capacities, the trace).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from experiments.analysis.mrc import is_lru
from experiments.cli.options import add_import_option, add_trace_options, trace_file
from experiments.config.user_code import import_modules
from experiments.trace.inputs import (
    DEFAULT_POINTS,
    TraceCommandError,
    build_policy,
    parse_capacities,
    parse_capacity,
    parse_count,
    policy_names,
)


def first_paragraph(function) -> str:
    return (function.__doc__ or "").strip().split("\n\n")[0]


def add_trace_commands(commands) -> None:
    """Add `replay` and `mrc` to the CLI's subparsers."""
    replay = commands.add_parser(
        "replay",
        help="replay a trace through policies, no clock: miss ratios",
        description=first_paragraph(command_replay),
    )
    replay.add_argument("trace", type=Path, help="trace file (.csv, .txt, .bin/.oraclegeneral)")
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
        help="cache sizes, comma-separated: an integer counts objects, 64MiB counts bytes",
    )
    replay.add_argument("--warmup", default="0", metavar="N", help="requests replayed before counting (default 0)")
    replay.add_argument(
        "--json", action="store_true", help="print JSON: one object for one policy and capacity, else a list"
    )
    add_trace_options(replay)
    add_import_option(replay)
    replay.set_defaults(handler=command_replay)

    mrc = commands.add_parser(
        "mrc", help="miss-ratio curve of a trace: CSV and PNG", description=first_paragraph(command_mrc)
    )
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
    add_trace_options(mrc)
    add_import_option(mrc)
    mrc.set_defaults(handler=command_mrc)


def command_replay(args) -> int:
    """Replay a trace through each policy at each capacity, without a clock, and print miss ratios.

    All combinations are fed from one read of the trace.
    """
    from experiments.trace.replay import format_table, replay_rows  # pandas loads only now

    import_modules(args.imports)
    names = policy_names(args.policy)
    capacities = [parse_capacity(text) for text in args.capacity.split(",") if text.strip()]
    if not capacities:
        raise TraceCommandError(f"--capacity: no capacity in {args.capacity!r}")
    warmup = parse_count(args.warmup, "--warmup")
    trace = trace_file(args).open()
    rows = replay_rows(trace, names, capacities, warmup, args.time_unit)
    if args.json:
        print(json.dumps(rows[0] if len(rows) == 1 else rows, indent=2))
    else:
        print(format_table(rows))
    return 0


def command_mrc(args) -> int:
    """Compute a policy's miss-ratio curve over a trace; write mrc.csv and its figure (mrc.png, mrc.svg).

    LRU takes one pass (exact); other policies one replay per capacity.
    """
    from experiments.trace.mrc import curve_identity, default_out, describe_method, make_curve  # pandas loads now

    import_modules(args.imports)
    name = policy_names(args.policy)
    if len(name) != 1:
        raise TraceCommandError("--policy: mrc draws one policy's curve; run it once per policy")
    name = name[0]
    capacities, count_bytes = parse_capacities(args.capacities, args.points)
    warmup = parse_count(args.warmup, "--warmup")
    rate = max_keys = None
    if args.shards is not None:
        try:
            rate = float(args.shards)
        except ValueError:
            rate = math.nan
        if not 0 < rate <= 1:
            raise TraceCommandError(f"--shards must be a sampling rate in (0, 1], e.g. 0.01; got {args.shards!r}")
    if args.shards_size is not None:
        max_keys = parse_count(args.shards_size, "--shards-size", 1)
        if not is_lru(name):
            raise TraceCommandError(
                "--shards-size needs LRU's stack depths; for other policies sample at a "
                "fixed rate with --shards RATE (miniature simulation)"
            )
    build_policy(name, int(capacities[0]), count_bytes)  # a policy that cannot be built fails before the trace is read
    source = trace_file(args)
    trace = source.open()
    out = args.out or default_out(trace, name)
    identity = curve_identity(source, trace, name, capacities, count_bytes, warmup, rate, max_keys)
    made = make_curve(
        out, identity, name, trace, capacities, count_bytes, warmup, rate, max_keys, args.time_unit, args.force
    )
    curve = made.curve
    print(made.table.to_string(index=False, float_format=lambda v: f"{v:.6f}", max_rows=30))
    unit = "bytes" if count_bytes else "objects"
    print(
        f"\n{describe_method(curve)}; {curve.requests} requests, {len(curve.capacities)} capacities "
        f"({unit}) in {made.elapsed:.2f}s -> {made.path}, {', '.join(map(str, made.figures))}"
    )
    for note in curve.notes:
        print(f"note: {note}")
    return 0
