"""`kvsim replay`: a trace through eviction policies at capacities, without a clock: miss ratios.

The trace is read in chunks (workloads.traces), so its length does not
matter, and each chunk is fed to every policy and capacity at once: one read
of the file whatever the number of policies and capacities.

In `replay --json` and the table, ``capacity`` is the integer for a count of
objects and the text as given (such as "64MiB") for bytes.  A policy that
models a server (redis-lru, memcached, ...) takes a byte capacity as the
server's memory limit and charges its own per-entry overheads.

Policies that need the future (a class with ``offline = True``, such as
Belady's) read the trace once more first and get the whole key sequence,
warm-up included, with ``policy.prepare(keys)`` before the replay.
"""

from __future__ import annotations

import math

from experiments.analysis.replay import ReplayCounts, Replayer, prepare_offline
from experiments.trace.inputs import TraceCommandError, build_policy, in_seconds
from policies.compiled import engine_of
from workloads.ids import DenseIds
from workloads.traces import TraceError

#: the fields of one `kvsim replay --json` result, in order
REPLAY_FIELDS = ("policy", "capacity", "requests", "hits", "misses", "miss_ratio", "byte_miss_ratio", "engine")


def replay_cells(trace, cells, warmup: int, time_unit: str | float) -> list[tuple[ReplayCounts, str]]:
    """(counts, engine) for each (policy name, capacity amount, counts bytes) cell, from one read of `trace`."""
    replayers = []
    for name, amount, counts_bytes in cells:
        policy = build_policy(name, amount, counts_bytes)
        replayers.append(Replayer(policy, counts_bytes, warmup))
    # Compiled policies index their arrays by the keys' dense ids, numbered here once for all.
    dense = DenseIds() if any(engine_of(replayer.policy) == "compiled" for replayer in replayers) else None
    try:
        # Numbering the whole future first, the chunks then only look their ids up.
        prepare_offline([replayer.policy for replayer in replayers], trace.keys, dense)
        for batch in in_seconds(trace.chunks(), time_unit):
            ids = None if dense is None else dense(batch.key)
            for replayer in replayers:
                replayer.feed(batch.key, batch.size, times=batch.time, ids=ids)
    except TraceError as error:
        raise TraceCommandError(str(error)) from None
    total = replayers[0].position
    if warmup >= total:
        raise TraceCommandError(
            f"{trace.path}: --warmup {warmup} covers the whole trace ({total} requests): nothing to count"
        )
    return [(replayer.counts, engine_of(replayer.policy)) for replayer in replayers]


def format_table(rows: list[dict], columns=REPLAY_FIELDS) -> str:
    """`rows` as the terminal shows them: a header, then one line per row, each column right-aligned.

    Written by hand rather than by pandas, so that a replay that writes no
    file never imports it (pandas alone takes longer to load than a small
    replay takes to run).  Ratios have six decimals; a missing value is NaN.
    """
    cells = [list(columns)] + [[_cell(row.get(name)) for name in columns] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    return "\n".join("  ".join(text.rjust(width) for text, width in zip(line, widths)) for line in cells)


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "NaN"
    return f"{value:.6f}" if isinstance(value, float) else str(value)
