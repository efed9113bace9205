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

import pandas as pd

from experiments.analysis.replay import Replayer, prepare_offline
from experiments.config.checks import Capacity
from experiments.output.domains import check_numbers
from experiments.trace.inputs import TraceCommandError, build_policy, in_seconds
from policies.compiled import engine_of
from workloads.ids import DenseIds
from workloads.traces import TraceError

#: the fields of one `kvsim replay --json` result, in order
REPLAY_FIELDS = ("policy", "capacity", "requests", "hits", "misses", "miss_ratio", "byte_miss_ratio", "engine")


def replay_rows(trace, names: list[str], capacities: list[Capacity], warmup: int, time_unit: str) -> list[dict]:
    """One result per policy and capacity (policies first), all fed from one read of `trace`.

    `time_unit`: what the trace's timestamps count, for policies that read the clock.
    """
    runs = []  # (policy name, capacity as written, replayer)
    for name in names:
        for capacity in capacities:
            policy = build_policy(name, capacity.amount, capacity.counts_bytes)
            runs.append((name, capacity.written, Replayer(policy, capacity.counts_bytes, warmup)))
    # Compiled policies index their arrays by the keys' dense ids, numbered here once for all.
    dense = DenseIds() if any(engine_of(replayer.policy) == "compiled" for _, _, replayer in runs) else None
    try:
        # Numbering the whole future first, the chunks then only look their ids up.
        prepare_offline([replayer.policy for _, _, replayer in runs], trace.keys, dense)
        for batch in in_seconds(trace.chunks(), time_unit):
            ids = None if dense is None else dense(batch.key)
            for _, _, replayer in runs:
                replayer.feed(batch.key, batch.size, times=batch.time, ids=ids)
    except TraceError as error:
        raise TraceCommandError(str(error)) from None
    total = runs[0][2].position
    if warmup >= total:
        raise TraceCommandError(f"--warmup {warmup} covers the whole trace ({total} requests): nothing to count")
    return [
        replay_row(name, capacity, replayer.counts, engine_of(replayer.policy)) for name, capacity, replayer in runs
    ]


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
