"""Where the runs of an experiment are simulated: in this process, a local pool, or Dask.

Three executors share one small interface, ``imap(points)``: an iterator over
the records of the given points, in the order they finish.  ``imap(tasks,
work)`` does the same for any picklable tasks and a pure module-level
function `work` of one task (`kvsim replay`'s grid: experiments/trace/grid.py);
without `work`, ``run_point``.

    InProcess     one run after another in this process (--workers 1)
    LocalPool     a pool of processes on this machine (--workers N)
    DaskCluster   the workers of a Dask distributed scheduler (--scheduler tcp://HOST:PORT)

``open_executor`` picks one.  It connects to a scheduler before anything is
written, so an unreachable scheduler leaves no output directory behind.  The
result of a run does not depend on where it ran: `run_point` is a pure
function of the point.  What is done with a run's record (checked, saved,
found again on resume) is experiments/execute/runs.py's.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from experiments.config.sweep import Point

#: seconds to wait for a Dask scheduler to answer: long enough for a remote
#: cluster on a slow link, short enough that a typo in --scheduler fails fast.
CONNECT_TIMEOUT = 5.0

#: the install hint for --scheduler without Dask installed
DASK_HINT = "pip install 'kvsim[dask]'"


class ExecutorError(Exception):
    """An executor that cannot be used (no Dask, an unreachable scheduler): the user's to fix."""


def run_point(point: Point) -> dict:
    """Simulate one point: a pure function of the point, safe in any process."""
    from experiments.config.build import scenario  # the model loads here, not with every command
    from sim import run

    result = run(scenario(point.config), point.seed)
    return {
        "run_id": point.run_id,
        "index": point.index,
        "seed": point.seed,
        "values": point.values,
        "metrics": result.row(),
        "nodes": result.nodes(),
        "timeseries": result.timeseries,
        "fleet": result.fleet,
        "restarts": result.restarts,
        "latency_quantiles": result.latency_quantiles,
        "latency_histogram": result.latency_histogram.to_record(),
        "engine": result.engine,  # the request loop that ran: "compiled" or "python"
    }


class InProcess:
    """One run after another, in this process: no start-up cost, easy to debug."""

    slots = 1  # runs at once

    def imap(self, points: list, work: Callable | None = None) -> Iterator:
        yield from map(work or run_point, points)

    def close(self, abandon: bool = False) -> None:
        pass


def _worker_start(parent: int) -> None:
    """Pool worker initializer: Ctrl-C is the parent's to handle, and the worker dies with it.

    A terminal sends SIGINT to every process in the foreground group; a
    worker that raised KeyboardInterrupt would print its own traceback.  A
    parent killed outright (kill -9, the OOM killer) cannot stop its
    workers: on Linux the kernel does it (PR_SET_PDEATHSIG), elsewhere a
    watchdog thread notices the parent is gone.  Either way no orphan runs on.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for signum in (signal.SIGTERM, signal.SIGHUP):  # the parent's "stop as Ctrl-C" is not the worker's
        signal.signal(signum, signal.SIG_DFL)
    if not _die_with_parent():
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    if os.getppid() != parent:  # the parent died before the request above took hold
        os._exit(1)


#: prctl(2) option: the signal a process gets when its parent dies (Linux)
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> bool:
    """Ask Linux to SIGKILL this process when its parent dies; False where that is not possible."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


class LocalPool:
    """Runs in a pool of worker processes on this machine."""

    def __init__(self, workers: int):
        self.slots = workers  # runs at once
        self.pool = ProcessPoolExecutor(max_workers=workers, initializer=_worker_start, initargs=(os.getpid(),))
        # The first task starts every worker.  Start them now, before a
        # progress bar's thread exists: forking a process that has threads
        # can deadlock the child.
        self.pool.submit(os.getpid).result()

    def imap(self, points: list, work: Callable | None = None) -> Iterator:
        work = work or run_point  # looked up now, not when the method was defined
        if len(points) <= 1:  # not worth a trip to another process
            yield from map(work, points)
            return
        futures = {self.pool.submit(work, point) for point in points}
        try:
            while futures:
                done, futures = wait(futures, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        finally:
            for future in futures:  # only when interrupted or a run failed
                future.cancel()

    def close(self, abandon: bool = False) -> None:
        """Shut the pool down; with `abandon`, stop runs in progress instead of waiting for them."""
        if abandon:
            _terminate_workers(self.pool)
        else:
            self.pool.shutdown(wait=True)


def _terminate_workers(pool: ProcessPoolExecutor) -> None:
    """Stop a pool's worker processes now (their runs are lost, the saved ones are not)."""
    if hasattr(pool, "terminate_workers"):  # Python >= 3.14; it shuts the pool down too
        pool.terminate_workers()
        return
    # Before 3.14 the pool has no public way to stop a running task, and its
    # workers ignore SIGINT (see _worker_start), so end them directly.
    # Take them first: shutdown() forgets its processes.
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(timeout=5)
        if process.is_alive():  # deaf to SIGTERM (stuck in C code): no run is worth an orphan
            process.kill()
            process.join(timeout=5)


class DaskCluster:
    """Runs on the workers of a Dask distributed scheduler.

    The workers must be able to import kvsim (install it there, or start them
    with PYTHONPATH set to the source tree): a point travels to them by
    pickle and `run_point` by reference.
    """

    def __init__(self, address: str, timeout: float = CONNECT_TIMEOUT):
        try:
            from distributed import Client
        except ImportError:
            raise ExecutorError(f"--scheduler needs Dask distributed, which is not installed: {DASK_HINT}") from None
        check_address(address)
        try:
            self.client = Client(address, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError):
            raise ExecutorError(
                f"cannot reach the Dask scheduler at {address} within {timeout:g} s; "
                "is it running, and is the address right?"
            ) from None

    @property
    def slots(self) -> int:
        """Runs at once: the threads of the scheduler's workers."""
        return max(1, sum(self.client.nthreads().values()))

    def imap(self, points: list, work: Callable | None = None) -> Iterator:
        from distributed import as_completed

        work = work or run_point
        # pure=False: every run is a task of its own; no need to hash each
        # point's config into a task name.
        futures = [self.client.submit(work, point, pure=False) for point in points]
        try:
            for future in as_completed(futures, loop=self.client.loop):
                yield future.result()
        finally:
            self.client.cancel(futures)

    def close(self, abandon: bool = False) -> None:
        self.client.close()


def check_address(address: str) -> None:
    """Refuse a scheduler address that is not [SCHEME://]HOST:PORT before trying to connect.

    (A client given a malformed address fails in its own way, with a
    traceback on the way out.)
    """
    from distributed.comm.addressing import parse_address, parse_host_port

    try:
        _scheme, location = parse_address(address)
        parse_host_port(location)
    except (ValueError, TypeError) as error:
        raise ExecutorError(
            f"--scheduler: expected an address such as tcp://HOST:PORT; got {address!r} ({error})"
        ) from None


@contextmanager
def open_executor(workers: int = 1, scheduler: str | None = None):
    """The executor for --workers / --scheduler, closed on the way out.

    Interrupted (Ctrl-C) or failing, a local pool's runs in progress are
    stopped rather than awaited: what is saved stays saved.
    """
    if scheduler:
        executor = DaskCluster(scheduler)
    elif workers > 1:
        executor = LocalPool(workers)
    else:
        executor = InProcess()
    try:
        yield executor
    except BaseException:
        executor.close(abandon=True)
        raise
    executor.close()


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def is_terminal() -> bool:
    return sys.stderr.isatty()
