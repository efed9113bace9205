"""An experiment's figures drawn side by side on the machine's cores, each file the same bytes as drawn alone.

Drawing is matplotlib's Python, on one core: recsys_full's three figures
take 3.4 CPU seconds, most of it laying each figure out (measuring every
tick label) and rendering it, as PNG and as SVG.  The SVG takes the layout
the PNG's drawing made (style.render_all: a third less time per figure).
So each figure is one task, a pure function of the tables: the figure is
built, saved in both formats and closed.  Tasks go to a pool of processes
forked from this one (which has matplotlib loaded and the tables read:
nothing is imported or read again), one per core, and come back as bytes;
this process writes the files, in the order of the plan.

Where a fork is unsafe or impossible the same tasks run here, one after
another, and draw the same bytes: on a machine of one core, without
os.fork, in a thread other than the main one (a Dask worker's: its
process has threads of its own, whose locks a fork would copy, held, into
the child), and in a daemonic process (a pool's worker running
`kvsim run`), which may not have children.  A thread beside the main
one does not stop the fork (as in sim/draw_ahead.py): at the end of a run
at a terminal, the progress bar's monitor thread is alive, asleep, and
shares nothing with the drawing (whose workers write no progress bar).
KVSIM_FIGURE_PROCESSES=N caps the processes (1: this one draws alone)
where the cores are busy with other work: the test suite sets it, running
on every core already.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path

import matplotlib.pyplot as plt

from experiments.output.outdir import atomic_write
from experiments.plots.style import STYLE, render_all
from experiments.plots.tables import Tables


def draw_figures(tables: Tables, figures: dict[str, Callable[[Tables], object]], out: Path) -> list[Path]:
    """Write out/<name>.png and .svg for each of `figures` (name -> the function drawing it from the tables);
    returns the files written."""
    tasks = list(figures)
    draw = partial(draw_task, tables, figures)
    processes = drawing_processes(len(tasks))
    if processes > 1:
        with multiprocessing.get_context("fork").Pool(processes, initializer=_leave_interrupts_to_parent) as pool:
            drawn = pool.map(draw, tasks, chunksize=1)  # a task at a time to whichever process is free
    else:
        drawn = list(map(draw, tasks))
    written = []
    for name, files in zip(tasks, drawn):
        for suffix, data in files.items():
            path = (out / name).with_suffix(suffix)
            atomic_write(path, data)
            written.append(path)
    return written


def draw_task(tables: Tables, figures: dict, name: str) -> dict[str, bytes]:
    """One figure in every format: drawn from the tables in the figures' style, rendered, closed."""
    with plt.rc_context(STYLE):
        figure = figures[name](tables)
        try:
            return render_all(figure)
        finally:
            plt.close(figure)


#: at most this many processes draw (1: this one alone); for a machine whose cores are busy with other
#: work, such as a test suite on every core, where a pool only adds its cost
PROCESSES_VARIABLE = "KVSIM_FIGURE_PROCESSES"


def drawing_processes(tasks: int) -> int:
    """How many processes should draw `tasks` figure files: 1 (this one) unless forking is safe and pays."""
    if tasks < 2 or not hasattr(os, "fork"):
        return 1
    if threading.current_thread() is not threading.main_thread() or multiprocessing.current_process().daemon:
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    cap = os.environ.get(PROCESSES_VARIABLE, "")
    return min(tasks, cores, int(cap) if cap.isdigit() and int(cap) > 0 else cores)


def _leave_interrupts_to_parent() -> None:
    """Pool worker initializer: Ctrl-C reaches every process of the terminal's group, and the parent
    stops the pool; the pool stops its workers with SIGTERM, which `kvsim` (experiments/cli/main.py)
    makes a Ctrl-C in the parent: a worker's must end it quietly."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)
