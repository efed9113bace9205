"""A config key and the Scenario field it becomes share a name, a value and a unit."""

from dataclasses import fields

from experiments.config import from_dict
from experiments.config.build import scenario
from experiments.config.schema import SCHEMA
from sim.scenario import Autoscale, BackendSpec, BulkUpdates, ClusterSpec, Outage, Scenario


def names(spec) -> set:
    return {f.name for f in fields(spec)}


def test_config_sections_and_scenario_dataclasses_use_the_same_names():
    # Derived from a key rather than copied: capacity_bytes from capacity's unit, ttl_by_class from classes;
    # autoscale is its own section's, [autoscale], whose keys are its Autoscale's fields.
    assert names(ClusterSpec) - set(SCHEMA["cluster"]) == {"capacity_bytes", "ttl_by_class", "autoscale"}
    assert names(Autoscale) == set(SCHEMA["autoscale"])
    assert set(SCHEMA["cluster"]) <= names(ClusterSpec)
    assert names(BackendSpec) == set(SCHEMA["backend"])
    assert names(BulkUpdates) == set(SCHEMA["updates"])
    # seeds are the sweep's business, imports the loading's; timeout_ms changes unit, and its name says so.
    assert set(SCHEMA["run"]) - names(Scenario) == {"seeds", "imports", "timeout_ms"}
    assert "timeout_s" in names(Scenario)


def test_config_values_arrive_unchanged_in_the_scenario():
    config = from_dict(
        {
            "run": {"interval": 5.0, "timeout_ms": 250.0},
            "cluster": {
                "ttl_mode": "refresh",
                "expiry": "active",
                "write_policy": "update",
                "failures": [{"node": 1, "down_at": 5.0, "up_at": 9.0}],
                "mtbf_s": 30.0,
                "mttr_s": 3.0,
            },
            "updates": {"every_s": 60.0, "classes": ["default"], "invalidate": False},
        }
    ).config
    sc = scenario(config)
    assert (sc.cluster.ttl_mode, sc.cluster.expiry, sc.cluster.write_policy) == ("refresh", "active", "update")
    assert sc.cluster.failures == (Outage(1, 5.0, 9.0),)
    assert (sc.cluster.mtbf_s, sc.cluster.mttr_s) == (30.0, 3.0)
    assert sc.updates == BulkUpdates(every_s=60.0, classes=(0,), invalidate=False)
    assert (sc.interval, sc.timeout_s) == (5.0, 0.25)


def test_one_set_of_defaults_the_dataclasses_and_defaults_toml_agree():
    """Scenario(...) from Python and an empty config give the same system: one set of defaults."""
    from workloads import Poisson, Workload, Zipf

    from_toml = scenario(from_dict({}).config)
    from_python = Scenario(Workload(Zipf(100_000, 0.9)))
    assert from_python == from_toml
    assert from_python.workload.arrivals == Poisson(20_000.0)  # workload.rate's default
    assert names(Workload) >= {"rotate_every_s", "rotate_by", "new_keys_per_s", "write_fraction"}
