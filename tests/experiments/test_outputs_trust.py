"""What `kvsim run` writes can be trusted: checked --out, one writer, verified run files, no orphans.

Every refusal is exit status 2 and one line, and leaves nothing behind that
would block the corrected command.
"""

import fcntl
import json
import os
import shutil
import signal
import subprocess
import time

import pytest

from experiments.config import resolve
from experiments.execute.runner import run_experiment
from tests.experiments.conftest import SMALL, kvsim, kvsim_command, kvsim_env, write_config
from tests.experiments.test_resume import RUNS, group_is_gone, saved, start_sweep, wait_for_saved_runs


def one_line_error(done, *fragments) -> None:
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("kvsim: error: ") and done.stderr.count("\n") == 1, done.stderr
    assert "Traceback" not in done.stderr
    for fragment in fragments:
        assert fragment in done.stderr, done.stderr


# -- --out that cannot be a directory ----------------------------------------


def test_empty_out_is_refused(tmp_path, small_config):
    done = kvsim("run", small_config, "--out", "", cwd=tmp_path)
    assert done.returncode == 2 and "must name a directory" in done.stderr and "Traceback" not in done.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["small.toml"]


def test_out_that_is_a_file_or_under_one_or_a_device(tmp_path, small_config):
    regular = tmp_path / "file.txt"
    regular.write_text("keep me\n")
    one_line_error(kvsim("run", small_config, "--out", regular), "is a regular file")
    one_line_error(kvsim("run", small_config, "--out", regular / "sub"), "which is a file")
    one_line_error(kvsim("run", small_config, "--out", "/dev/null"), "not a directory")
    assert regular.read_text() == "keep me\n"


def test_out_where_nothing_can_be_written(tmp_path, small_config):
    one_line_error(kvsim("run", small_config, "--out", "/proc/kvsim-test"), "cannot write there")
    one_line_error(kvsim("run", small_config, "--out", "/sys/kvsim-test"), "cannot write there")


def test_an_immutable_directory(tmp_path, small_config):
    locked = tmp_path / "locked"
    locked.mkdir()
    if subprocess.run(["chattr", "+i", str(locked)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available on this file system")
    try:
        one_line_error(kvsim("run", small_config, "--out", locked / "out"), "cannot write there")
    finally:
        subprocess.run(["chattr", "-i", str(locked)], check=True)
    assert list(locked.iterdir()) == []


# -- one writer per directory ------------------------------------------------------


def test_a_second_writer_is_refused_naming_the_first(tmp_path, small_config):
    out = tmp_path / "out"
    out.mkdir()
    with open(out / ".kvsim.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        held.write("424242")
        held.flush()
        one_line_error(kvsim("run", small_config, "--out", out), "pid 424242", "is writing there")
    assert not (out / "manifest.json").exists()
    done = kvsim("run", small_config, "--out", out, "--workers", "1")  # the lock went with its holder
    assert done.returncode == 0, done.stderr


# -- run files that do not verify -------------------------------------------------


@pytest.fixture
def finished(tmp_path, small_run):
    """A copy of the session's finished run of SMALL (tests/experiments/conftest.py): each test damages its own."""
    _, finished_once, done = small_run
    assert done.returncode == 0, done.stderr
    out = tmp_path / "out"
    shutil.copytree(finished_once, out)
    return out


def test_a_run_file_replaced_by_another_runs_is_simulated_again(finished, small_config):
    results = (finished / "results.csv").read_bytes()
    files = sorted((finished / "runs").glob("*.json"))
    files[0].write_bytes(files[1].read_bytes())  # one point twice, one missing
    files[2].write_text("{}")  # a file holding nothing
    done = kvsim("run", small_config, "--out", finished, "--workers", "1")
    assert done.returncode == 0, done.stderr
    assert "4 runs (2 simulated now)" in done.stdout
    assert "2 run files in" in done.stdout and "did not verify" in done.stdout
    assert (finished / "results.csv").read_bytes() == results


def test_force_starts_from_nothing(finished, small_config):
    done = kvsim("run", small_config, "--out", finished, "--workers", "1", "--force")
    assert done.returncode == 0 and "4 runs (4 simulated now)" in done.stdout


def test_a_damaged_manifest_is_called_damaged_and_repair_resumes(finished, small_config):
    results = (finished / "results.csv").read_bytes()
    manifest = finished / "manifest.json"
    manifest.write_text(manifest.read_text()[:40])  # truncated
    one_line_error(
        kvsim("run", small_config, "--out", finished), "manifest.json is damaged", "4 of 4 run files", "--repair"
    )
    assert len(saved(finished)) == 4  # nothing deleted
    done = kvsim("run", small_config, "--out", finished, "--workers", "1", "--repair")
    assert done.returncode == 0 and "4 runs (0 simulated now)" in done.stdout
    assert (finished / "results.csv").read_bytes() == results
    assert json.loads(manifest.read_text())["name"] == "small"


def test_a_directory_with_no_saved_run_is_reused_without_force(tmp_path, small_config):
    """An earlier attempt that failed before any run finished must not block the corrected config."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_text(json.dumps({"name": "broken", "fingerprint": "0" * 24}))
    done = kvsim("run", small_config, "--out", out, "--workers", "1")
    assert done.returncode == 0, done.stderr


def test_a_user_policy_edited_between_runs_is_simulated_again(tmp_path):
    module = tmp_path / "edited_policy.py"
    body = "from policies.fifo import FIFO\nclass Mine(FIFO):\n    pass\n"
    module.write_text(body)
    config = write_config(tmp_path, SMALL.replace("capacity = 100", 'capacity = 100\npolicy = "edited_policy:Mine"'))
    env = {**kvsim_env(), "PYTHONPATH": f"{tmp_path}{os.pathsep}{kvsim_env()['PYTHONPATH']}"}

    def run(*extra):
        return subprocess.run(
            kvsim_command("run", config, "--out", tmp_path / "out", "--workers", "1", *extra),
            capture_output=True,
            text=True,
            env=env,
        )

    assert run().returncode == 0
    module.write_text(body.replace("FIFO", "LRU").replace("policies.fifo", "policies.lru"))
    again = run()
    assert again.returncode == 0, again.stderr
    assert "4 runs (4 simulated now)" in again.stdout and "4 run files in" in again.stdout
    assert "another version of a policy module" in again.stdout
    assert "(0 simulated now)" in run().stdout  # and now they are current


# -- workers: never more than runs, never outliving their parent ---------------------------


def test_never_more_workers_than_runs(tmp_path, monkeypatch):
    import experiments.execute.runner as runner

    opened = []
    real = runner.open_executor

    def recording(workers, scheduler=None):
        opened.append(workers)
        return real(workers, scheduler)

    monkeypatch.setattr(runner, "open_executor", recording)
    experiment = resolve(write_config(tmp_path, SMALL), {"run.seeds": [1]})  # two runs
    run_experiment(experiment, tmp_path / "out", workers=1000, progress=False, figures=False)
    assert opened == [2]


@pytest.fixture
def sweep(tmp_path):
    from tests.experiments.test_resume import SWEEP

    return write_config(tmp_path, SWEEP)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_stop_like_ctrl_c(tmp_path, sweep, signum):
    out = tmp_path / "out"
    process = start_sweep(sweep, out, workers=2)
    wait_for_saved_runs(out, 1, process)
    process.send_signal(signum)  # to the main process only, as `timeout` and batch schedulers do
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signum
    assert (
        stderr == f"kvsim: stopped by signal {signum}; finished runs are saved: run the same command again to resume\n"
    )
    assert group_is_gone(process), "pool workers outlived their stopped parent"
    assert 1 <= len(saved(out)) < RUNS


def test_workers_die_with_a_parent_killed_by_sigkill(tmp_path, sweep):
    out = tmp_path / "out"
    process = start_sweep(sweep, out, workers=2)
    try:
        wait_for_saved_runs(out, 1, process)
        os.kill(process.pid, signal.SIGKILL)  # the parent alone: its workers get no signal from us
        process.communicate(timeout=60)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not group_is_gone(process, timeout=0.5):
            pass
        assert group_is_gone(process, timeout=1), "orphaned pool workers kept running"
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


# -- kvsim plot on damaged tables ------------------------------------------------------------


@pytest.mark.parametrize(
    "damage, fragment",
    [
        (lambda text: "", "summary.csv: empty"),
        (lambda text: "\x00\x01garbage,\n\x02", "not a kvsim summary table"),
        (lambda text: "\n".join(text.splitlines()[:2]) + "\n", "the file is incomplete"),  # truncated
    ],
    ids=["empty", "garbage", "truncated"],
)
def test_plot_on_a_damaged_summary_is_one_line(finished, damage, fragment):
    summary = finished / "summary.csv"
    summary.write_text(damage(summary.read_text()))
    before = {p.name: p.read_bytes() for p in finished.glob("*.png")}
    one_line_error(kvsim("plot", finished), fragment)
    assert {p.name: p.read_bytes() for p in finished.glob("*.png")} == before  # nothing redrawn


def test_plot_of_a_missing_directory(tmp_path):
    one_line_error(kvsim("plot", tmp_path / "nowhere"), "no such directory", "no experiment here")
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.parametrize("name", ["../../x", "a/b", ".hidden", "", "x" * 101])
def test_an_experiment_name_is_one_folder_name(tmp_path, name):
    config = write_config(tmp_path, f"name = {json.dumps(name)}\n" + SMALL.replace('name = "small"\n', ""))
    work = tmp_path / "work"
    work.mkdir()
    one_line_error(kvsim("run", config, cwd=work), "name: must be a simple name")
    assert list(work.iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["config.toml", "work"]


# -- the one check of every number written ------------------------------------------------------


def test_domains_of_summary_statistics_and_clipped_bounds():
    import pandas as pd

    from experiments.output.domains import RATIO, ResultError, check_table, clip_bounds, domain_of

    assert domain_of("hit_ratio_mean") == domain_of("hit_ratio_low") == RATIO
    assert domain_of("p99_ms_ci95") == domain_of("hit_ratio_ci95") != RATIO  # a half-width: >= 0
    table = clip_bounds(pd.DataFrame({"hit_ratio_low": [-0.02, 0.5], "hit_ratio_high": [0.4, 1.03]}))
    assert table["hit_ratio_low"].tolist() == [0.0, 0.5] and table["hit_ratio_high"].tolist() == [0.4, 1.0]
    check_table(pd.DataFrame({"hit_ratio_mean": [0.5], "hit_ratio_ci95": [float("nan")]}), "one seed")
    with pytest.raises(ResultError, match=r"summary, row 2: hit_ratio_mean = nan is not a ratio in \[0, 1\]"):
        check_table(pd.DataFrame({"hit_ratio_mean": [0.5, float("nan")]}), "summary")
    with pytest.raises(ResultError, match="p99_ms = -1.0 is not a finite number >= 0"):
        check_table(pd.DataFrame({"p99_ms": [-1.0]}), "x")
