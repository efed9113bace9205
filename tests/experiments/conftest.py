import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

SMALL = """
name = "small"
[run]
requests = 3000
warmup = 500
seeds = [1, 2]
[workload]
keys = 2000
alpha = 0.9
rate = 5000
[cluster]
nodes = 2
capacity = 100
[sweep]
"cluster.capacity" = [50, 200]
"""


def kvsim_env() -> dict:
    """The environment a kvsim subprocess needs to import the project from this tree."""
    return {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def kvsim_command(*args) -> list[str]:
    return [sys.executable, "-m", "experiments", *map(str, args)]


def kvsim(*args, cwd=None, timeout=600):
    """Run the kvsim CLI in a subprocess, as a user would; returns the CompletedProcess."""
    return subprocess.run(
        kvsim_command(*args), capture_output=True, text=True, cwd=cwd, env=kvsim_env(), timeout=timeout
    )


def write_config(directory: Path, text: str, name: str = "config.toml") -> Path:
    path = Path(directory) / name
    path.write_text(text)
    return path


@pytest.fixture
def small_config(tmp_path):
    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    return path


@pytest.fixture(scope="session")
def small_run(tmp_path_factory) -> tuple[Path, Path, subprocess.CompletedProcess]:
    """SMALL run once on one worker, for the tests that read it or damage a copy (never written to itself):
    (config, out, the command).

    Each `kvsim run` of it takes 7 CPU seconds (most of them its figures): test_cli_run, test_api,
    test_executors, test_outputs_trust and test_run_files ran it seven times over.
    """
    folder = tmp_path_factory.mktemp("small")
    config = write_config(folder, SMALL, "small.toml")
    done = kvsim("run", config, "--out", folder / "out", "--workers", "1")
    return config, folder / "out", done
