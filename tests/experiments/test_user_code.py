"""A user's own policy, as the README shows it: found in the current folder, by module:Class or by
its registered name (--import), with one-line errors when the user's module fails."""

import json
import subprocess
import sys

import pytest

from tests.experiments.conftest import REPO, write_config

REGISTERED = """\
from collections import OrderedDict
from policies import HookPolicy, register

@register("mru")
class MRU(HookPolicy):
    def __init__(self, capacity):
        super().__init__(capacity)
        self.order = OrderedDict()
    def on_insert(self, key): self.order[key] = None
    def on_hit(self, key): self.order.move_to_end(key)
    def on_remove(self, key): del self.order[key]
    def victim(self): return next(reversed(self.order))
"""

#: a loop of 50 keys through 40 slots: LRU never hits, MRU hits 40 of every 50 after the first pass
LOOP = "".join(f"{i % 50}\n" for i in range(1000))


def kvsim_in(folder, *args):
    """kvsim run from `folder` as a user would: the project importable, `folder` not on PYTHONPATH."""
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-m", "experiments", *map(str, args)], cwd=folder, env=env, capture_output=True, text=True
    )


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "mymodule.py").write_text(REGISTERED)
    (tmp_path / "loop.txt").write_text(LOOP)
    return tmp_path


def mru_loop_hits() -> int:
    """MRU over the loop 0..49 with 40 slots, reasoned by hand.

    MRU evicts the key used last, which in a loop is a key already visited in
    the current pass: a key cached when a pass begins is never evicted before
    the pass reaches it.  The first pass misses everything and leaves 40 keys
    cached; every later pass hits those 40 (and its 10 misses keep 40 cached).
    """
    passes = 1000 // 50
    return 40 * (passes - 1)


def test_module_class_from_the_current_folder(folder):
    done = kvsim_in(folder, "replay", "loop.txt", "--policy", "mymodule:MRU,lru", "--capacity", "40", "--json")
    assert done.returncode == 0, done.stderr
    mru, lru = json.loads(done.stdout)
    assert mru["hits"] == mru_loop_hits() and lru["hits"] == 0


def test_a_registered_name_once_its_module_is_imported(folder):
    done = kvsim_in(
        folder, "replay", "loop.txt", "--policy", "mru", "--capacity", "40", "--import", "mymodule", "--json"
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["hits"] == mru_loop_hits()
    unknown = kvsim_in(folder, "replay", "loop.txt", "--policy", "mru", "--capacity", "40")
    assert unknown.returncode == 2 and "unknown policy 'mru'" in unknown.stderr


def test_a_config_names_the_policy_module_from_the_current_folder(folder):
    config = write_config(
        folder,
        """
[run]
requests = 2000
warmup = 0
seeds = [1]
[workload]
keys = 100
[cluster]
nodes = 1
capacity = 40
policy = "mymodule:MRU"
""",
    )
    done = kvsim_in(folder, "run", config.name, "--out", "out", "--workers", "1")
    assert done.returncode == 0, done.stderr
    assert (folder / "out" / "results.csv").exists()


def test_a_config_imports_the_module_of_a_registered_name(folder):
    config = write_config(
        folder,
        """
[run]
requests = 2000
warmup = 0
seeds = [1]
imports = ["mymodule"]
[workload]
keys = 100
[cluster]
nodes = 1
capacity = 40
policy = "mru"
""",
    )
    done = kvsim_in(folder, "run", config.name, "--out", "out", "--workers", "1")
    assert done.returncode == 0, done.stderr
    missing = write_config(folder, config.read_text().replace('"mymodule"', '"nosuchmodule"'), "missing.toml")
    refused = kvsim_in(folder, "run", missing.name, "--out", "other")
    assert refused.returncode == 2 and "run.imports: nosuchmodule: cannot import it" in refused.stderr
    assert not (folder / "other").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--policy", "mru", "--import", "nosuch"], "--import nosuch: cannot import it (No module named 'nosuch')"),
        (["--policy", "broken:X"], "policy 'broken:X': importing 'broken' raised ValueError: boom"),
        (["--policy", "mru", "--import", "broken"], "--import broken: importing it raised ValueError: boom"),
    ],
)
def test_a_module_that_fails_is_one_line(folder, args, message):
    (folder / "broken.py").write_text("raise ValueError('boom')\n")
    done = kvsim_in(folder, "replay", "loop.txt", "--capacity", "40", *args)
    assert done.returncode == 2 and done.stderr == f"kvsim: error: {message}\n", done.stderr


STRANGER = REGISTERED.replace('@register("mru")\n', "").replace(
    "def victim(self): return next(reversed(self.order))", "def victim(self): return 'nowhere'"
)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_policy_breaking_its_contract_stops_kvsim_run_in_one_line(folder, workers):
    (folder / "stranger.py").write_text(STRANGER)
    config = write_config(
        folder,
        """
[run]
requests = 2000
warmup = 0
seeds = [1, 2]
[workload]
keys = 100
[cluster]
nodes = 1
capacity = 10
policy = "stranger:MRU"
""",
    )
    done = kvsim_in(folder, "run", config.name, "--out", "out", "--workers", workers)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "policy 'stranger:MRU' broke its contract in insert()" in done.stderr
    assert "victim() returned 'nowhere', which is not cached" in done.stderr
    assert not (folder / "out").exists()
