"""Where runs execute does not change what they give: in-process, a local pool, a Dask cluster."""

import fcntl
import importlib.util
import os
import struct
import subprocess
import termios

import pytest

from experiments.config import resolve
from experiments.execute.runner import run_experiment
from tests.experiments.conftest import SMALL, kvsim, kvsim_command, kvsim_env, write_config

TABLES = ("results.csv", "summary.csv", "nodes.csv", "latency.csv")


def dask_missing() -> bool:
    return importlib.util.find_spec("distributed") is None


@pytest.fixture(scope="module")
def dask_scheduler():
    """The address of a real `dask scheduler` with one `dask worker` (1 thread) on 127.0.0.1."""
    if dask_missing():
        pytest.skip("dask[distributed] is not installed (pip install -e '.[test]' brings it)")
    from experiments.execute.dask_cluster import local_dask_cluster

    with local_dask_cluster(workers=1, threads=1) as address:
        yield address


def test_dask_run_gives_the_local_run_byte_for_byte(tmp_path, small_config, small_run, dask_scheduler):
    _, local, done = small_run  # `kvsim run` of the same config in its own process (a pool gives the same bytes)
    assert done.returncode == 0, done.stderr
    remote = tmp_path / "dask"
    done = kvsim("run", small_config, "--out", remote, "--scheduler", dask_scheduler, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "4 runs (4 simulated now)" in done.stdout
    for name in TABLES:
        assert (local / name).read_bytes() == (remote / name).read_bytes(), name
    # Resuming on the cluster runs nothing again.
    again = kvsim("run", small_config, "--out", remote, "--scheduler", dask_scheduler, timeout=300)
    assert again.returncode == 0 and "(0 simulated now)" in again.stdout


def test_unreachable_scheduler_exits_2_and_writes_nothing(tmp_path, small_config):
    out = tmp_path / "out"
    # Port 9 (discard) on loopback: nothing listens there.
    done = kvsim("run", small_config, "--out", out, "--scheduler", "tcp://127.0.0.1:9", timeout=120)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    expected = "needs Dask distributed" if dask_missing() else "cannot reach the Dask scheduler at tcp://127.0.0.1:9"
    assert expected in done.stderr
    assert not out.exists()


def test_malformed_scheduler_address_exits_2(tmp_path, small_config):
    if dask_missing():
        pytest.skip("dask[distributed] is not installed")
    done = kvsim("run", small_config, "--out", tmp_path / "out", "--scheduler", "localhost")
    assert done.returncode == 2 and "expected an address such as tcp://HOST:PORT" in done.stderr
    assert done.stderr.count("\n") == 1 and not (tmp_path / "out").exists()


def test_workers_and_scheduler_are_exclusive(small_config):
    done = kvsim("run", small_config, "--workers", "2", "--scheduler", "tcp://127.0.0.1:9")
    assert done.returncode == 2 and "not allowed with argument" in done.stderr


def test_progress_bar_on_request_and_silence_otherwise(tmp_path, capsys):
    experiment = resolve(write_config(tmp_path, SMALL))
    run_experiment(experiment, tmp_path / "shown", progress=True, figures=False)
    shown = capsys.readouterr().err
    assert "small" in shown and "4/4" in shown and "run/s" in shown  # tqdm: name, count, rate (ETA beside)
    run_experiment(experiment, tmp_path / "quiet", progress=False, figures=False)
    assert capsys.readouterr().err == ""


def test_cli_draws_a_progress_bar_on_a_terminal(tmp_path, small_config):
    """With stderr on a terminal, `kvsim run` shows tqdm's bar (count, rate, elapsed<remaining)."""
    terminal, child_side = os.openpty()
    # A terminal of 24 x 100 characters: tqdm draws nothing on one of width 0.
    fcntl.ioctl(child_side, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    process = subprocess.Popen(
        kvsim_command("run", small_config, "--out", tmp_path / "out", "--workers", "1"),
        env=kvsim_env(),
        stdout=subprocess.DEVNULL,
        stderr=child_side,
    )
    os.close(child_side)
    shown = b""
    while True:
        try:
            chunk = os.read(terminal, 4096)
        except OSError:  # Linux: the terminal closes when the child exits
            break
        if not chunk:
            break
        shown += chunk
    os.close(terminal)
    assert process.wait(timeout=120) == 0
    text = shown.decode(errors="replace")
    assert "small" in text and "4/4" in text and "<" in text  # name, count, elapsed<remaining


def test_draws_made_ahead_give_the_same_bytes_in_process_and_in_a_pool(tmp_path, monkeypatch):
    """recsys_full's day, small: drawn in line in one process, and ahead (sim/draw_ahead.py) in a pool's
    workers, the same tables to the byte (tests/sim/test_draw_ahead.py compares the runs in one process)."""
    from experiments import configs as shipped

    text = shipped.path("recsys_full").read_text()
    for old, new in (("requests = 98_000_000", "requests = 100_000"), ("warmup = 2_000_000", "warmup = 30_000")):
        text = text.replace(old, new)
    config = write_config(tmp_path, text.replace("seeds = [1]", "seeds = [1, 2]"))
    outs = {}
    for name, ahead, workers in (("in_line", "0", "1"), ("ahead_pool", "1", "2")):
        monkeypatch.setenv("KVSIM_DRAW_AHEAD", ahead)
        outs[name] = tmp_path / name
        done = kvsim("run", config, "--out", outs[name], "--workers", workers)
        assert done.returncode == 0, done.stderr
    for name in (*TABLES, "timeseries.csv"):
        expected = (outs["in_line"] / name).read_bytes()
        assert (outs["ahead_pool"] / name).read_bytes() == expected, name
