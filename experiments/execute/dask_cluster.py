"""A real Dask scheduler and worker on 127.0.0.1, as subprocesses: for tests and measurements.

    with local_dask_cluster(workers=1) as address:
        kvsim run config.toml --scheduler <address>

The scheduler picks a free port itself (--port 0) and writes its address to
a scheduler file, so two of these never race for a port.  Workers get
PYTHONPATH set to the source tree, so they can import kvsim without it being
installed.  Used by the executor tests and by `kvsim bench --only dask`.
Everything started is stopped on the way out, by process group.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager, suppress
from pathlib import Path

START_TIMEOUT = 60.0  # seconds: a loaded 2-core machine starts Dask slowly


@contextmanager
def local_dask_cluster(workers: int = 1, threads: int = 1):
    """Yield the address of a scheduler with `workers` single-process workers of `threads` threads."""
    processes = []
    with tempfile.TemporaryDirectory(prefix="kvsim-dask-") as scratch:
        try:
            scheduler_file = Path(scratch) / "scheduler.json"
            processes.append(
                _start(
                    "scheduler",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    "0",
                    "--no-dashboard",
                    "--scheduler-file",
                    scheduler_file,
                    log=Path(scratch) / "scheduler.log",
                )
            )
            address = _wait_for_address(scheduler_file, processes[0])
            for index in range(workers):
                processes.append(
                    _start(
                        "worker",
                        address,
                        "--host",
                        "127.0.0.1",
                        "--nthreads",
                        str(threads),
                        "--no-nanny",
                        "--no-dashboard",
                        log=Path(scratch) / f"worker{index}.log",
                    )
                )
            _wait_for_workers(address, workers)
            yield address
        finally:
            for process in reversed(processes):
                _stop(process)


def _start(role: str, *args, log: Path) -> subprocess.Popen:
    # Own session: the process group can be stopped whole, and a Ctrl-C at
    # the test's terminal does not reach it first.
    with open(log, "w") as errors:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "dask", role, *map(str, args)],
            env=_source_tree_env(),
            stdout=subprocess.DEVNULL,
            stderr=errors,
            start_new_session=True,
        )


def _source_tree_env() -> dict:
    """This environment with the source tree first on PYTHONPATH."""
    tree = str(Path(__file__).resolve().parents[2])  # experiments/execute/ -> the tree
    return {**os.environ, "PYTHONPATH": tree + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _wait_for_address(scheduler_file: Path, scheduler: subprocess.Popen) -> str:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if scheduler.poll() is not None:
            raise RuntimeError(f"dask scheduler exited with status {scheduler.returncode}")
        with suppress(FileNotFoundError, json.JSONDecodeError, KeyError):
            return json.loads(scheduler_file.read_text())["address"]
        time.sleep(0.1)
    raise TimeoutError(f"dask scheduler wrote no address in {START_TIMEOUT:g} s")


def _wait_for_workers(address: str, count: int) -> None:
    from distributed import Client

    with Client(address, timeout=START_TIMEOUT) as client:
        client.wait_for_workers(count, timeout=START_TIMEOUT)


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM the process's group, SIGKILL it if it lingers."""
    for sig, grace in ((signal.SIGTERM, 15), (signal.SIGKILL, 15)):
        with suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue
