"""manifest.json and every run file say which request loop ran: compiled for built-in policies, python for users'."""

import json

import experiments
from policies import engine
from tests.user_policy import write_user_module


def test_the_manifest_and_the_run_files_name_the_engine_of_each_policy(tmp_path, monkeypatch):
    write_user_module(tmp_path, "userpolicy_engine")
    monkeypatch.syspath_prepend(str(tmp_path))
    config = {
        "run": {"requests": 2000, "warmup": 500, "seeds": [1]},
        "workload": {"keys": 2000},
        "cluster": {"nodes": 2, "capacity": 100},
        "sweep": {"cluster.policy": ["userpolicy_engine:MRU", "lru"]},
    }
    experiments.run(config, out=tmp_path / "out")
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["engines"] == {"userpolicy_engine:MRU": "python", "lru": engine()}
    assert manifest["engine"] == ("mixed" if engine() == "compiled" else "python")
    # The manifest says why a point runs on the Python loop, grouped by reason, in sweep order.
    if engine() == "compiled":
        user = "policy 'userpolicy_engine:MRU' is not one of kvsim's own (only those have kernels)"
        assert manifest["engine_notes"] == {user: [0]}
    else:
        assert list(manifest["engine_notes"].values()) == [[0, 1]]
    runs = [json.loads(path.read_text()) for path in sorted((tmp_path / "out" / "runs").glob("*.json"))]
    assert sorted(record["engine"] for record in runs) == sorted(manifest["engines"].values())
    alone = experiments.run({**config, "sweep": {"cluster.policy": ["lru"]}}, out=tmp_path / "lru", force=True)
    assert len(alone) == 1
    assert json.loads((tmp_path / "lru" / "manifest.json").read_text())["engine"] == engine()
