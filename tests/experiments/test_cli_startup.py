"""`kvsim` starts without the scientific stack: a command's modules load when that command runs.

What is held here is what was imported, not how long it took (speed is
`kvsim bench`'s business): `kvsim --version` and `kvsim -h` read the table of
commands alone; `kvsim policies` and the trace commands load numpy and the
policies but neither scipy nor matplotlib; every command still has all its
flags when it is the one named.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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


def test_a_trace_command_does_not_load_the_model_scipy_or_matplotlib():
    # pandas stays for now: the CSV and text readers register with the others when the readers load
    assert set(loaded_by("replay", "-h")) <= {"numpy", "pandas"}


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
