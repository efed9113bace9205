"""`kvsim replay`'s grid: every policy at every size on every trace, on worker processes or Dask.

A *cell* is one trace, one policy and one size: one row of replay.csv.  A
*task* is a trace and some of its cells, replayed from one read of the
trace (experiments/trace/replay.py feeds every cell's policy each chunk):

* each trace's cells are dealt into at most as many groups as there are
  workers, so that no trace is read more often than there are workers, and
  the groups are balanced by each policy's cost (W-TinyLFU's replay costs
  3.5 of LRU's), and equal costs share every policy and size: ``plan_tasks``;
* with at least twice as many traces as workers, each trace is one task:
  read once, and the traces keep every worker busy.

Tasks run on an executor (experiments/execute/executors.py: this process,
a local pool of --workers processes, or Dask's workers with --scheduler);
``run_task`` is a pure function of its task, so where it ran changes no
number: the parallel grid equals the sequential one exactly.

Sizes given as a share of the footprint (experiments/trace/sizes.py) need
each trace's footprint first: one pass per trace, also as tasks on the
executor.

Resume (with --out DIR, experiments/trace/grid_folder.py): every finished
cell is saved at once as DIR/runs/replay-<id>.json, atomically, its id a
digest of everything that decides its numbers (the trace file's path, size
and modification time, how it is read, the policy, the resolved size, the
warm-up, the time unit, kvsim's version and the sources of --import
modules).  The same command again replays only the cells not saved; a
changed trace or policy module replays again; a footprint is saved as
DIR/runs/replay-footprint-<id>.json.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field, replace
from pathlib import Path

from experiments.config.sweep import kvsim_version, source_digest
from experiments.config.user_code import import_modules
from experiments.output.domains import check_numbers
from experiments.trace.inputs import TraceCommandError, TraceFile
from experiments.trace.replay import replay_cells
from experiments.trace.sizes import describe_footprint, needs_footprint, resolve
from workloads.traces import Footprint, TraceError, footprint

#: the columns of replay.csv, in order
GRID_FIELDS = (
    "trace",
    "policy",
    "capacity",
    "size",
    "unit",
    "requests",
    "hits",
    "misses",
    "miss_ratio",
    "byte_miss_ratio",
    "engine",
)


@dataclass(frozen=True)
class Cell:
    """One row of the grid: a trace (its index and name), a policy, a size as written and as resolved."""

    trace: int
    name: str
    policy: str
    capacity: int | str  # as the command line wrote it: 1000, "64MiB", "1%"
    amount: int  # objects, or bytes when counts_bytes
    counts_bytes: bool
    id: str = ""  # the digest a saved result is found by (cell_id)


@dataclass(frozen=True)
class Task:
    """A trace and some of its cells: replayed from one read of the trace, anywhere (picklable)."""

    source: TraceFile
    warmup: int
    cells: tuple[Cell, ...]
    imports: tuple[str, ...] = ()


@dataclass(frozen=True)
class Grid:
    """What `kvsim replay` was asked: traces, policies, sizes (Capacity or Share), warm-up, --import modules."""

    sources: tuple[TraceFile, ...]
    names: tuple[str, ...]  # each trace as the output names it
    policies: tuple[str, ...]
    sizes: tuple
    warmup: int = 0
    imports: tuple[str, ...] = ()


@dataclass
class Outcome:
    rows: list[dict]
    footprints: dict = field(default_factory=dict)  # trace index -> Footprint (sizes given as shares)
    replayed: int = 0  # cells replayed now; the rest were saved already
    reads: int = 0  # reads of a trace file the replays made (one per task)


# -- the work, in any process ------------------------------------------------------------


def run_task(numbered: tuple[int, Task]) -> tuple[int, list[dict]]:
    """Replay a task's cells from one read of its trace: (the task's number, a replay.csv row per cell).

    The number travels with the task because executors give results in the
    order tasks finish.
    """
    number, task = numbered
    import_modules(list(task.imports))
    trace = task.source.open()
    cells = [(cell.policy, cell.amount, cell.counts_bytes) for cell in task.cells]
    results = replay_cells(trace, cells, task.warmup, task.source.seconds_per_unit(trace))
    return number, [grid_row(cell, counts, engine) for cell, (counts, engine) in zip(task.cells, results)]


def footprint_task(numbered: tuple[int, TraceFile]) -> tuple[int, dict]:
    """(the trace's number, its footprint: requests, distinct objects and bytes, as a dict)."""
    number, source = numbered
    try:
        found = footprint(source.open())
    except TraceError as error:
        raise TraceCommandError(str(error)) from None
    return number, {"requests": found.requests, "objects": found.objects, "bytes": found.bytes}


def grid_row(cell: Cell, counts, engine: str) -> dict:
    row = {
        "trace": cell.name,
        "policy": cell.policy,
        "capacity": cell.capacity,
        "size": cell.amount,
        "unit": "bytes" if cell.counts_bytes else "objects",
        "requests": counts.requests,
        "hits": counts.hits,
        "misses": counts.misses,
        "miss_ratio": counts.miss_ratio,
        "byte_miss_ratio": counts.byte_miss_ratio,
        "engine": engine,
    }
    check_numbers(row, f"replay of {cell.policy} at {cell.capacity} on {cell.name}")
    return row


# -- identities: what a saved result must match ---------------------------------------------------


def trace_identity(source: TraceFile) -> dict:
    """What names a trace's contents without reading them: its path, size and modification time, how it is read."""
    path = Path(source.path).resolve()
    stat = path.stat()
    return {
        "path": str(path),
        "bytes": stat.st_size,
        "modified_ns": stat.st_mtime_ns,
        "format": source.format,
        "key_column": source.key_column,
        "size_column": source.size_column,
        "key_type": source.key_type,
    }


def digest(content: dict) -> str:
    return hashlib.blake2b(json.dumps(content, sort_keys=True).encode(), digest_size=12).hexdigest()


def cell_identity(grid: Grid, cell: Cell, traces: list[dict]) -> dict:
    """Everything that decides a cell's numbers (its id is the digest of it)."""
    return {
        "trace": traces[cell.trace],
        "time_unit": grid.sources[cell.trace].time_unit,
        "policy": cell.policy,
        "amount": cell.amount,
        "counts_bytes": cell.counts_bytes,
        "warmup": grid.warmup,
        "kvsim": kvsim_version(),
        "imports": {module: source_digest(module) for module in grid.imports},
    }


# -- planning ----------------------------------------------------------------------------


def grid_cells(grid: Grid, footprints: dict[int, Footprint], traces: list[dict]) -> list[Cell]:
    """Every cell, in the output's order: trace, then policy, then size as given."""
    cells = []
    for index, name in enumerate(grid.names):
        for policy in grid.policies:
            for size in grid.sizes:
                amount, counts_bytes = resolve(size, footprints.get(index))
                cell = Cell(index, name, policy, size.written, amount, counts_bytes)
                cell = replace(cell, id=digest(cell_identity(grid, cell, traces)))
                cells.append(cell)
    return cells


#: a policy's replay cost per request relative to LRU's (compiled kernels, the bench's grid trace of 10M Zipf
#: requests, CPU seconds per cell less the read): the groups of a trace are balanced by it; others count as LRU
RELATIVE_COST = {"s3fifo": 1.4, "arc": 1.4, "wtinylfu": 3.5}


def cell_cost(cell: Cell) -> float:
    """A cell's replay cost in LRU replays (RELATIVE_COST; a policy it does not name costs 1)."""
    return RELATIVE_COST.get(cell.policy.split(":")[0].lower(), 1.0)


def plan_tasks(grid: Grid, cells: list[Cell], workers: int) -> list[Task]:
    """The cells to replay as tasks: per trace, at most `workers` groups (see the module docstring).

    The cells are dealt costliest first, each to the group with the least
    cost so far (Graham's longest-processing-time rule), so that the groups
    finish together: W-TinyLFU costs 3.5 LRU replays.  Where groups tie, a
    cell goes to group (its policy's index + its size's index) mod the
    number of groups if that is one of them: a Latin square, so that equal
    costs give every group each size and each policy about equally often (a
    large cache costs more per request than a small one, its state falling
    out of the CPU caches).
    """
    policy_index = {name: index for index, name in enumerate(grid.policies)}
    size_index = {size.written: index for index, size in enumerate(grid.sizes)}
    by_trace: dict[int, list[Cell]] = {}
    for cell in cells:
        by_trace.setdefault(cell.trace, []).append(cell)
    traces = len(by_trace)
    tasks = []
    for index, mine in by_trace.items():
        groups = 1 if traces >= 2 * workers else min(workers, len(mine), math.ceil(2 * workers / traces))
        dealt: list[list[Cell]] = [[] for _ in range(groups)]
        loads = [0.0] * groups
        for cell in sorted(mine, key=cell_cost, reverse=True):  # (stable: equal costs keep the grid's order)
            latin = (policy_index.get(cell.policy, 0) + size_index.get(cell.capacity, 0)) % groups
            least = min(loads)
            group = latin if loads[latin] == least else loads.index(least)
            dealt[group].append(cell)
            loads[group] += cell_cost(cell)
        order = {cell.id: position for position, cell in enumerate(mine)}
        for part in dealt:
            part.sort(key=lambda cell: order[cell.id])  # each task's cells in the grid's order
        tasks += [Task(grid.sources[index], grid.warmup, tuple(part), grid.imports) for part in dealt if part]
    return tasks


# -- running -----------------------------------------------------------------------------


def run_grid(grid: Grid, executor, workers: int, saved=None, on_note: Callable[[str], None] | None = None) -> Outcome:
    """Every cell's row, replaying those `saved` has not (a GridFolder, or None without --out).

    `workers`: how many tasks run at once (the pool's processes, the Dask
    workers' threads).  `on_note` hears each trace's footprint line.
    """
    traces = [trace_identity(source) for source in grid.sources]
    footprints = find_footprints(grid, executor, traces, saved) if needs_footprint(grid.sizes) else {}
    if on_note and footprints:
        for index, found in sorted(footprints.items()):
            on_note(describe_footprint(grid.names[index], found, grid.sizes))
    cells = grid_cells(grid, footprints, traces)
    rows = {} if saved is None else saved.rows(cells)
    missing = [cell for cell in cells if cell.id not in rows]
    tasks = plan_tasks(grid, missing, workers)
    # closing(): interrupted, the executor's iterator stops at once and cancels the tasks still queued;
    # every cell finished so far is saved.
    with closing(executor.imap(list(enumerate(tasks)), run_task)) as finished:
        for number, task_rows in finished:
            for cell, row in zip(tasks[number].cells, task_rows):
                rows[cell.id] = row
                if saved is not None:
                    saved.save(cell, row)
    return Outcome([rows[cell.id] for cell in cells], footprints, len(missing), len(tasks))


def find_footprints(grid: Grid, executor, traces: list[dict], saved) -> dict[int, Footprint]:
    """Each trace's footprint: saved, or one pass over it (as tasks on the executor)."""
    found = {}
    if saved is not None:
        found = {index: saved.footprint(traces[index]) for index in range(len(grid.sources))}
        found = {index: value for index, value in found.items() if value is not None}
    missing = [index for index in range(len(grid.sources)) if index not in found]
    for index, counted in executor.imap([(index, grid.sources[index]) for index in missing], footprint_task):
        found[index] = Footprint(**counted)
        if saved is not None:
            saved.save_footprint(traces[index], counted)
    return found
