"""Interrupted sweeps: killed or Ctrl-C'd, they keep what finished, and the same command resumes."""

import json
import os
import signal
import subprocess
import time

import pandas as pd
import pytest

from tests.experiments.conftest import kvsim, kvsim_command, kvsim_env, write_config

# Eight points of a few tenths of a second each: long enough to stop the sweep in
# the middle, short enough for a quick test.
SWEEP = """
name = "resumable"
[run]
requests = 70_000
warmup = 10_000
seeds = [1]
[workload]
keys = 20_000
rate = 10_000
[cluster]
nodes = 2
[sweep]
"cluster.capacity" = [100, 200, 300, 400, 500, 600, 700, 800]
"""
RUNS = 8


def start_sweep(config, out, workers=2) -> subprocess.Popen:
    """The sweep as a background process, in its own process group (it and its pool workers)."""
    return subprocess.Popen(
        kvsim_command("run", config, "--out", out, "--workers", workers),
        env=kvsim_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        # Ctrl-C's disposition as a terminal gives it: a process started from a shell's background job
        # inherits SIGINT ignored, and exec keeps that (a local CI run so started saw the sweep finish)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def saved(out) -> list:
    runs = out / "runs"
    return sorted(runs.glob("*.json")) if runs.exists() else []


def wait_for_saved_runs(out, count: int, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while len(saved(out)) < count:
        assert process.poll() is None, f"the sweep ended early: {process.stderr.read()}"
        assert time.monotonic() < deadline, "no runs were saved in time"
        time.sleep(0.01)


def group_is_gone(process: subprocess.Popen, timeout: float = 10) -> bool:
    """Whether every process of the sweep's group (its pool workers too) has exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def sweep_config(tmp_path):
    return write_config(tmp_path, SWEEP)


@pytest.fixture
def uninterrupted(tmp_path, sweep_config):
    out = tmp_path / "whole"
    done = kvsim("run", sweep_config, "--out", out, "--workers", "2")
    assert done.returncode == 0, done.stderr
    return out


def test_kill_9_then_the_same_command_runs_only_the_missing_points(tmp_path, sweep_config, uninterrupted):
    out = tmp_path / "out"
    sweep = start_sweep(sweep_config, out)
    try:
        wait_for_saved_runs(out, 2, sweep)
    finally:
        os.killpg(sweep.pid, signal.SIGKILL)  # kill -9, the sweep and its workers with it
        sweep.communicate()
    kept = len(saved(out))
    assert 2 <= kept < RUNS, "the sweep must be killed in the middle"
    for path in saved(out):
        json.loads(path.read_text())  # every saved run is whole

    resumed = kvsim("run", sweep_config, "--out", out, "--workers", "2")
    assert resumed.returncode == 0, resumed.stderr
    assert f"{RUNS} runs ({RUNS - kept} simulated now)" in resumed.stdout
    results = pd.read_csv(out / "results.csv")
    assert len(results) == RUNS and not results.duplicated(["seed", "cluster.capacity"]).any()
    for name in ("results.csv", "summary.csv", "nodes.csv", "latency.csv"):
        assert (out / name).read_bytes() == (uninterrupted / name).read_bytes(), name
    assert len(saved(out)) == RUNS and not list((out / "runs").glob(".*.tmp"))


@pytest.mark.parametrize("workers", [1, 2])
def test_ctrl_c_exits_130_in_one_line_and_keeps_finished_runs(tmp_path, sweep_config, workers):
    out = tmp_path / "out"
    sweep = start_sweep(sweep_config, out, workers)
    wait_for_saved_runs(out, 1, sweep)
    os.killpg(sweep.pid, signal.SIGINT)  # what a terminal's Ctrl-C sends: the whole foreground group
    stdout, stderr = sweep.communicate(timeout=60)
    assert sweep.returncode == 130
    assert stderr == "kvsim: interrupted; finished runs are saved: run the same command again to resume\n"
    assert group_is_gone(sweep), "pool workers outlived the interrupted sweep"
    assert 1 <= len(saved(out)) < RUNS and not (out / "results.csv").exists()
    for path in saved(out):
        json.loads(path.read_text())  # whole, ready for the resume the kill -9 test exercises
