"""experiments.run: the notebook's way in, a DataFrame back, the CLI's files on request."""

import pandas as pd
import pytest

import experiments
from experiments.config import ConfigError
from sim import METRICS
from tests.experiments.conftest import SMALL, write_config
from tests.experiments.test_cli_run import SATURATING
from tests.user_policy import write_user_module


def test_returns_the_results_table(small_config):
    table = experiments.run(small_config)
    assert isinstance(table, pd.DataFrame)
    assert list(table.columns) == ["seed", "cluster.capacity", *METRICS] and len(table) == 4


def test_overriding_a_swept_key_replaces_its_sweep(small_config):
    table = experiments.run(small_config, **{"cluster.capacity": 120, "run.seeds": [3]})
    assert len(table) == 1 and table["seed"].tolist() == [3] and "cluster.capacity" not in table
    keyword = experiments.run(small_config, cluster__capacity=120, run__seeds=[3])
    pd.testing.assert_frame_equal(table, keyword)


def test_accepts_a_dict_and_a_builtin_name():
    table = experiments.run(
        {"run": {"requests": 1000, "warmup": 100, "seeds": [1]}, "sweep": {"cluster.policy": ["lru", "clock"]}}
    )
    assert table["cluster.policy"].tolist() == ["lru", "clock"]
    quick = experiments.run(
        "quickstart", **{"run.requests": 1000, "run.warmup": 100, "run.seeds": [1], "cluster.capacity": 500}
    )
    assert len(quick) == 1


def test_out_writes_what_the_cli_writes(tmp_path, small_config, small_run):
    table = experiments.run(small_config, out=tmp_path / "api")
    _, cli, done = small_run  # `kvsim run` of the same config, on one worker
    assert done.returncode == 0, done.stderr
    written = sorted(path.name for path in (tmp_path / "api").iterdir())
    assert written == sorted(path.name for path in cli.iterdir())
    for name in ("results.csv", "summary.csv", "nodes.csv", "latency.csv", "capacity_curve.png"):
        assert (tmp_path / "api" / name).read_bytes() == (cli / name).read_bytes(), name
    pd.testing.assert_frame_equal(table, pd.read_csv(tmp_path / "api" / "results.csv"))
    again = experiments.run(small_config, out=tmp_path / "api")  # resumed, not rerun
    pd.testing.assert_frame_equal(table, again)


def test_bad_overrides_raise_config_errors(tmp_path):
    with pytest.raises(
        ConfigError, match=r"override 'cluster.capacty': unknown key \(did you mean 'cluster.capacity'\?\)"
    ):
        experiments.run(write_config(tmp_path, SMALL), **{"cluster.capacty": 10})
    with pytest.raises(ConfigError, match="cluster.capacity"):
        experiments.run(write_config(tmp_path, SMALL), cluster__capacity=-1, out=tmp_path / "out")
    assert not (tmp_path / "out").exists()  # refused before anything is written


def test_a_users_policy_by_module_and_class_runs_in_the_timed_model(tmp_path, monkeypatch):
    write_user_module(tmp_path, "userpolicy")
    monkeypatch.syspath_prepend(str(tmp_path))
    config = {
        "run": {"requests": 4000, "warmup": 1000, "seeds": [1]},
        "workload": {"keys": 3000},
        "cluster": {"nodes": 2, "capacity": 200},
        "sweep": {"cluster.policy": ["userpolicy:MRU", "lru"]},
    }
    table = experiments.run(config)
    hit = dict(zip(table["cluster.policy"], table["hit_ratio"]))
    assert set(hit) == {"userpolicy:MRU", "lru"} and 0 < hit["userpolicy:MRU"] < hit["lru"]


def test_a_saturated_point_warns_as_the_cli_does_and_an_unsaturated_one_does_not(tmp_path, recwarn):
    """SATURATING's backend.concurrency=4 carries about 3 times what its backend can serve; 64 a fifth."""
    config = write_config(tmp_path, SATURATING)
    with pytest.warns(experiments.SaturationWarning) as caught:
        table = experiments.run(config).set_index("backend.concurrency")
    (warning,) = [w for w in caught if w.category is experiments.SaturationWarning]
    text = str(warning.message)
    assert text.startswith("offered load reaches capacity (utilisation >= 1) at ")
    assert f"backend.concurrency=4 (backend {table.loc[4, 'backend_utilisation']:.2f})" in text
    assert "backend.concurrency=64" not in text and warning.filename == __file__  # the caller's line
    recwarn.clear()
    calm = experiments.run(config, **{"backend.concurrency": 64})
    assert calm["backend_utilisation"].max() < 0.3
    assert not [w for w in recwarn if issubclass(w.category, experiments.SaturationWarning)]
