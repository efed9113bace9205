"""`kvsim replay` and `kvsim mrc`: a trace through eviction policies, without a clock.

    kvsim replay TRACE --policy NAME[,NAME...] --capacity C[,C...]
                 [--format csv|txt|oraclegeneral] [--time-unit s|ms|us|ns] [--warmup N] [--json]
    kvsim mrc TRACE --policy NAME --capacities SPEC [--points N]
              [--format ...] [--time-unit ...] [--out DIR] [--force] [--warmup N] [--shards RATE | --shards-size N]

Both read the trace in chunks (workloads.traces), so its length does not
matter, and feed the chunks to every policy and capacity at once: one read
of the file whatever the number of policies and capacities.

Capacities and time: see experiments/trace_args.py.  In `replay --json` and the table, ``capacity`` is the integer for a count
of objects and the text as given (such as "64MiB") for bytes.  A policy
that models a server (redis-lru, memcached, ...) takes a byte capacity as
the server's memory limit and charges its own per-entry overheads.

Policies that need the future (a class with ``offline = True``, such as
Belady's) read the trace once more first and get the whole key sequence,
warm-up included, with ``policy.prepare(keys)`` before the replay.

`kvsim mrc` itself is experiments/command_mrc.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from experiments.command_mrc import command_mrc
from experiments.config.user_code import add_import_option, import_modules
from experiments.output.domains import check_numbers
from experiments.trace_args import (
    DEFAULT_POINTS,
    TraceCommandError,
    add_trace_options,
    build_policy,
    first_paragraph,
    in_seconds,
    open_cli_trace,
    parse_capacity,
    parse_count,
    policy_names,
)
from policies.compiled import engine_of
from policies.replay import Replayer, prepare_offline
from workloads.ids import DenseIds
from workloads.traces import TraceError

#: the fields of one `kvsim replay --json` result, in order


REPLAY_FIELDS = ("policy", "capacity", "requests", "hits", "misses", "miss_ratio", "byte_miss_ratio", "engine")


# -- registration ----------------------------------------------------------------------


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


# -- kvsim replay -------------------------------------------------------------------------


def command_replay(args) -> int:
    """Replay a trace through each policy at each capacity, without a clock, and print miss ratios.

    All combinations are fed from one read of the trace.
    """
    import_modules(args.imports)
    names = policy_names(args.policy)
    capacities = [(text.strip(), *parse_capacity(text)) for text in args.capacity.split(",") if text.strip()]
    if not capacities:
        raise TraceCommandError(f"--capacity: no capacity in {args.capacity!r}")
    warmup = parse_count(args.warmup, "--warmup")
    trace = open_cli_trace(args)
    runs = []  # (policy name, capacity label, replayer)
    for name in names:
        for label, value, is_bytes in capacities:
            policy = build_policy(name, value, is_bytes)
            runs.append((name, value if not is_bytes else label, Replayer(policy, is_bytes, warmup)))
    # Compiled policies index their arrays by the keys' dense ids, numbered here once for all.
    dense = DenseIds() if any(engine_of(replayer.policy) == "compiled" for _, _, replayer in runs) else None
    try:
        # Numbering the whole future first, the chunks then only look their ids up.
        prepare_offline([replayer.policy for _, _, replayer in runs], trace.keys, dense)
        for batch in in_seconds(trace.chunks(), args.time_unit):
            ids = None if dense is None else dense(batch.key)
            for _, _, replayer in runs:
                replayer.feed(batch.key, batch.size, times=batch.time, ids=ids)
    except TraceError as error:
        raise TraceCommandError(str(error)) from None
    total = runs[0][2].position
    if warmup >= total:
        raise TraceCommandError(f"--warmup {warmup} covers the whole trace ({total} requests): nothing to count")
    rows = [
        replay_row(name, capacity, replayer.counts, engine_of(replayer.policy)) for name, capacity, replayer in runs
    ]
    if args.json:
        print(json.dumps(rows[0] if len(rows) == 1 else rows, indent=2))
    else:
        print(format_table(rows))
    return 0


def replay_row(policy: str, capacity, counts, engine_name: str) -> dict:
    """One result of `kvsim replay`; `engine_name`: "compiled" or "python", the one that ran the policy."""
    row = {
        "policy": policy,
        "capacity": capacity,
        "requests": counts.requests,
        "hits": counts.hits,
        "misses": counts.misses,
        "miss_ratio": counts.miss_ratio,
        "byte_miss_ratio": counts.byte_miss_ratio,
        "engine": engine_name,
    }
    check_numbers(row, f"replay of {policy} at {capacity}")
    return row


def format_table(rows: list[dict]) -> str:
    table = pd.DataFrame(rows, columns=list(REPLAY_FIELDS))
    return table.to_string(index=False, float_format=lambda v: f"{v:.6f}")
