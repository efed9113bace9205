"""A config is checked once into typed points: each point's policy built once, its capacity parsed once,
nothing built again by the runner; what the points write (manifest, run ids) is the config as written."""

import json

import pytest

import experiments
import experiments.config.checks as checks
import experiments.config.loading as loading
import sim.cluster
from experiments.config import ConfigError, from_dict, resolve
from experiments.config.build import scenario
from experiments.config.checks import Capacity
from experiments.config.schema import Config, FailureTable
from experiments.config.sweep import points
from experiments.execute.runner import manifest
from policies import engine
from tests.experiments.conftest import kvsim

SWEPT = {
    "run": {"requests": 2000, "warmup": 200, "seeds": [1, 2]},
    "workload": {"keys": 2000, "object_size": 100},
    "cluster": {"nodes": 2, "failures": [{"node": 1, "down_at": 0.01, "up_at": 0.02}]},
    "sweep": {"cluster.policy": ["lru", "fifo"], "cluster.capacity": ["64KiB", "128KiB"]},
}


def test_each_sweep_point_builds_its_policy_once_and_the_runner_none(monkeypatch):
    built = []
    make_policy = loading.make_policy
    monkeypatch.setattr(
        loading, "make_policy", lambda name, *args, **kw: built.append(name) or make_policy(name, *args, **kw)
    )
    experiment = resolve(SWEPT)
    assert built == ["lru", "lru", "fifo", "fifo"]  # one per sweep point, seeds apart

    def no_policy_now(*args, **kw):
        raise AssertionError("a policy was built after the config was checked")

    monkeypatch.setattr(sim.cluster, "make_policy", no_policy_now)  # what sim builds a node's policy with
    written = manifest(experiment)
    assert written["engines"] == {"lru": engine(), "fifo": engine()} and written["engine"] == engine()
    assert written["runs"] == 8


def test_a_capacity_is_parsed_once_into_what_the_points_and_the_scenario_read(monkeypatch):
    parsed = []
    parse_bytes = checks.parse_bytes
    monkeypatch.setattr(checks, "parse_bytes", lambda text: parsed.append(text) or parse_bytes(text))
    experiment = resolve(SWEPT)
    assert parsed == ["64KiB", "128KiB"]
    runs = points(experiment)
    assert [run.config.cluster.capacity for run in runs[::2]] == [
        Capacity(65536, True, "64KiB"),
        Capacity(131072, True, "128KiB"),
    ] * 2
    assert [scenario(run.config).cluster.capacity for run in runs[::2]] == [65536, 131072] * 2
    assert parsed == ["64KiB", "128KiB"]


def test_points_are_typed_and_frozen_and_write_the_config_as_written():
    experiment = resolve(SWEPT)
    point = points(experiment)[0]
    assert isinstance(point.config, Config)
    assert point.config.cluster.failures == (FailureTable(node=1, down_at=0.01, up_at=0.02),)
    with pytest.raises(AttributeError):
        point.config.cluster.nodes = 3
    assert point.values == {"cluster.policy": "lru", "cluster.capacity": "64KiB"}
    written = point.config.written()
    assert written["cluster"]["capacity"] == "64KiB" and written["run"]["seeds"] == [1, 2]
    assert written["cluster"]["failures"] == [{"node": 1, "down_at": 0.01, "up_at": 0.02}]
    assert list(written) == [
        "run",
        "workload",
        "cluster",
        "network",
        "backend",
        "updates",
        "targets",
        "near",
        "autoscale",
    ]
    # the written form is a config again, and checks into the same typed config
    assert from_dict(written).config == point.config
    assert json.loads(json.dumps(experiment.grid)) == {
        "cluster.policy": ["lru", "fifo"],
        "cluster.capacity": ["64KiB", "128KiB"],
    }


def test_one_lookup_of_shipped_configs_for_every_way_in(tmp_path):
    with pytest.raises(ConfigError, match="no shipped experiment of that name; shipped: .*quickstart"):
        experiments.run("nosuch")
    run, plan = kvsim("run", "nosuch"), kvsim("plan", "nosuch", "--hit-ratio", "0.5")
    assert run.returncode == plan.returncode == 2
    assert run.stderr == plan.stderr and "shipped: autoscale, capacity_curve" in plan.stderr
