"""`kvsim bench`: speed measured against baselines, side by side in one run.

Every headline figure is a ratio of two things timed in this process, on the
same machine, one after the other, so the ratio means something even on a
noisy machine where the absolute numbers do not.  Timings take the best of a
few repetitions (the least disturbed one).  The sections, in the order they
run (`--only` picks some; `--quick` makes each short):

    des         the fast SimPy model against the naive process-per-request
                model, on a hit-heavy cluster; both must agree on hits and p99
    des_memory  peak memory of a 100,000,000-request run of the fast model
    replay      trace replay per policy, in process and reading included, against
                libcachesim's process_trace on the same oracleGeneral file (when
                libcachesim is installed): a long Zipf trace, written once and
                cached, and the shared small trace
    policies    each policy alone, keys in memory, capacity in objects,
                against libcachesim (when it is installed)
    mrc         the one-pass LRU miss-ratio curve against per-capacity replays
    shards      SHARDS' error against the exact LRU curve, per sampling setting
    readers     trace reading per format (csv, txt, oracleGeneral)
    streaming   replay streamed from the trace file against replay in memory
    memory      peak memory of streaming a long trace through a policy
    grid        kvsim replay's policy x size grid on 2 workers against 1 (zstd trace)
    compressed  reading and replaying a zstd trace against the plain one
    miniature   miniature simulation at 1% against full replays: speed and error
    trace_stats `kvsim trace stats` on a long trace: seconds and peak memory
    sweep       a sweep on one worker against all cores
    dask        the quickstart on a local Dask cluster against the local pool
    configs     every shipped experiment's wall time on all cores
    servers     the Redis and memcached models against the real servers

A section is a Section (common.py): a function from the run's context
(quick or not, a scratch directory, the shared trace) to a dict of figures,
and one from the figures to its lines of the report.  The modules group
them: des (des, des_memory), replay (replay, policies), curves (mrc, shards), reading
(readers, streaming, memory), traces (grid, compressed, miniature, trace_stats),
scale (sweep, dask, configs), servers.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from experiments.bench.common import Bench, Section, machine, quiet
from experiments.bench.curves import MRC, SHARDS
from experiments.bench.des import DES, DES_MEMORY
from experiments.bench.reading import MEMORY, READERS, STREAMING
from experiments.bench.replay import POLICIES, REPLAY
from experiments.bench.scale import CONFIGS, DASK, SWEEP
from experiments.bench.servers import SERVERS
from experiments.bench.traces import COMPRESSED, GRID, MINIATURE, TRACE_STATS
from policies.compiled import engine

#: every section by name, in the order they run and are reported
SECTIONS: dict[str, Section] = {
    section.name: section
    for section in (
        DES,
        DES_MEMORY,
        REPLAY,
        POLICIES,
        MRC,
        SHARDS,
        READERS,
        STREAMING,
        MEMORY,
        GRID,
        COMPRESSED,
        MINIATURE,
        TRACE_STATS,
        SWEEP,
        DASK,
        CONFIGS,
        SERVERS,
    )
}


def run_bench(
    quick: bool = False, sections: Iterable[str] = tuple(SECTIONS), progress: Callable[[str], None] | None = None
) -> dict:
    """Every chosen section's figures in one dict (the keys of `kvsim bench --json`)."""
    chosen = set(sections)
    figures: dict = {"quick": quick, "machine": machine(), "engine": engine()}
    with tempfile.TemporaryDirectory(prefix="kvsim-bench-") as scratch:
        bench = Bench(quick, Path(scratch), progress or quiet)
        for name, section in SECTIONS.items():
            if name in chosen:
                figures.update(section.measure(bench))
    return figures


def report(figures: dict) -> str:
    """The figures as a table, each with its target and whether it is met."""
    lines = [
        f"kvsim bench{' --quick' if figures['quick'] else ''} on {figures['machine']['processor']}, "
        f"{figures['machine']['cores']} cores, Python {figures['machine']['python']}, "
        f"{figures.get('engine', 'python')} engine",
        "",
    ]
    for section in SECTIONS.values():
        block = section.report(figures)
        if block[:1] == [""] and lines[-1] == "":  # one blank line between blocks, not two
            block = block[1:]
        lines += block
    return "\n".join(lines)
