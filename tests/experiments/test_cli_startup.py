"""`kvsim` starts without the scientific stack: a command's modules load when that command runs.

What is held here is what was imported, not how long it took (speed is
`kvsim bench`'s business): `kvsim --version` and `kvsim -h` read the table of
commands alone; `kvsim policies` and the trace commands load numpy and the
policies but neither scipy nor matplotlib; pandas loads where a text trace
is parsed (or a table written), so a replay of a binary trace never loads
it; every command still has all its flags when it is the one named.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from experiments.cli import main
from experiments.cli.commands import COMMANDS

REPO = Path(__file__).resolve().parents[2]

HEAVY = ("numpy", "pandas", "scipy", "matplotlib", "sim", "dask")

#: the modules `kvsim ARGS` has loaded when the command is done, from a fresh interpreter
LOADED = """
import contextlib, io, json, sys
from experiments.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    try:
        main(sys.argv[1:])
    except SystemExit:
        pass
print(json.dumps(sorted(name for name in {heavy} if name in sys.modules)))
"""


def loaded_by(*args: str) -> list[str]:
    """Which of HEAVY a fresh `kvsim ARGS` imported."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", LOADED.format(heavy=HEAVY), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("args", [("--version",), ("-h",), ("rnu",)])
def test_version_help_and_a_mistyped_command_load_nothing_heavy(args):
    assert loaded_by(*args) == []


def test_the_policies_list_loads_numpy_and_nothing_heavier():
    assert loaded_by("policies") == ["numpy"]


def test_a_trace_command_loads_numpy_alone():
    assert loaded_by("replay", "-h") == ["numpy"]
    assert loaded_by("mrc", "-h") == ["numpy"]


#: what no command's help may load: each costs more than the 0.3 s a help should take
STACK = ("pandas", "scipy", "matplotlib", "dask")


@pytest.mark.parametrize(
    "args", [(name, "-h") for name in COMMANDS] + [("trace", tool, "-h") for tool in ("stats", "fit", "make")]
)
def test_no_command_help_loads_the_scientific_stack(args):
    # (run -h loaded the config, the runner, pandas and scipy: 1.6 s; plan -h the plan's engine)
    assert not set(loaded_by(*args)) & set(STACK)


def test_bench_help_names_every_section_the_bench_has():
    from experiments import bench
    from experiments.cli.bench import SECTION_NAMES

    assert SECTION_NAMES == tuple(bench.SECTIONS)


def test_a_run_resolves_its_config_before_loading_pandas():
    # a mistyped config name is reported before the stack loads: its fixed cost is the config's
    assert not set(loaded_by("run", "no-such-experiment")) & set(STACK)


def test_the_figures_load_scipy_optimize_only_to_draw_a_theory_curve():
    # sim.theory (scipy.optimize: 0.6 s at load average 7) loads where a theory curve is drawn
    probe = "import sys, experiments.plots; print(sorted({'sim.theory', 'scipy.optimize'} & set(sys.modules)))"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True)
    assert done.stdout.strip() == "[]"


@pytest.fixture(scope="module")
def traces(tmp_path_factory):
    """The same 2,000 requests as a binary trace and as CSV."""
    from workloads.traces import write_trace

    folder = tmp_path_factory.mktemp("startup")
    keys = np.random.default_rng(3).zipf(1.2, 2_000) % 300
    return {name: write_trace(folder / f"t.{name}", keys) for name in ("oracleGeneral.bin", "csv")}


@pytest.mark.parametrize("output", [[], ["--json"]], ids=["table", "json"])
def test_a_replay_of_a_binary_trace_never_loads_pandas(traces, output):
    # (pandas alone costs more CPU than reading and replaying a small trace)
    args = ("replay", str(traces["oracleGeneral.bin"]), "--policy", "lru,s3fifo", "--capacity", "50,100")
    loaded = loaded_by(*args, "--workers", "1", *output)
    assert "pandas" not in loaded and "scipy" not in loaded and "matplotlib" not in loaded


def test_a_replay_of_a_csv_trace_loads_pandas_to_parse_it(traces):
    # the check above can see pandas: the CSV reader's parser is pandas'
    loaded = loaded_by("replay", str(traces["csv"]), "--policy", "lru", "--capacity", "50", "--workers", "1")
    assert "pandas" in loaded and "matplotlib" not in loaded


def test_the_help_lists_every_command_with_its_summary(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["-h"])
    assert stop.value.code == 0
    shown = " ".join(capsys.readouterr().out.split())  # argparse wraps the summaries
    for name, command in COMMANDS.items():
        assert f"{name} {command.summary}" in shown


@pytest.mark.parametrize("name", list(COMMANDS))
def test_each_command_named_has_its_own_flags_and_description(name, capsys):
    with pytest.raises(SystemExit) as stop:
        main([name, "-h"])
    assert stop.value.code == 0
    usage = capsys.readouterr().out
    assert usage.startswith(f"usage: kvsim {name}")
    # the command's module built this parser: it says what the command does (a stub would not)
    description = usage.split("\n\n")[1]
    assert description[0].isupper() and description.rstrip().endswith(".")
    if name != "policies":  # which has no flags but -h
        assert usage.count("\n  ") > 1  # an argument or a flag besides -h


def test_policies_runs_its_own_handler(capsys):
    assert main(["policies"]) == 0
    assert "lru" in capsys.readouterr().out


def test_an_unknown_command_is_one_line_naming_the_choices(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["rnu"])
    assert stop.value.code == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "'rnu'" in error and "run" in error


#: after `kvsim ARGS` in a fresh interpreter: its BLAS setting and its threads (Linux lists them in /proc)
THREADS = """
import contextlib, io, json, os, sys
from experiments.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    main(sys.argv[1:])
import numpy
print(json.dumps([os.environ.get("OPENBLAS_NUM_THREADS"), len(os.listdir("/proc/self/task"))]))
"""


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="counts threads in /proc (Linux)")
@pytest.mark.parametrize("setting", [None, "2"])
def test_kvsim_runs_one_blas_thread_unless_the_user_says_otherwise(setting):
    env = {name: value for name, value in os.environ.items() if name != "OPENBLAS_NUM_THREADS"}
    if setting is not None:
        env["OPENBLAS_NUM_THREADS"] = setting
    done = subprocess.run(
        [sys.executable, "-c", THREADS, "policies"], capture_output=True, text=True, env=env, cwd=REPO, check=True
    )
    blas_threads, threads = json.loads(done.stdout.strip().splitlines()[-1])
    if setting is None:  # kvsim's own: numpy's BLAS starts no thread beside the main one
        assert (blas_threads, threads) == ("1", 1)
    else:  # the user's setting is kept, and numpy's BLAS starts its second thread
        assert (blas_threads, threads) == ("2", 2)
