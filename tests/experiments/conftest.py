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


def kvsim(*args, cwd=None):
    """Run the kvsim CLI in a subprocess, as a user would; returns the CompletedProcess."""
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "experiments", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, env=env, timeout=600)


@pytest.fixture
def small_config(tmp_path):
    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    return path
