"""defaults.toml documents every key, and stays in step with the schema."""

from pathlib import Path

from experiments.config import defaults, from_dict, load
from experiments.config.schema import SCHEMA, all_keys

CONFIGS = Path(__file__).resolve().parents[2] / "experiments" / "configs"


def test_shipped_defaults_toml_is_the_rendered_schema():
    assert (CONFIGS / "defaults.toml").read_text() == defaults.render(), (
        "regenerate it: python -m experiments.config.defaults > experiments/configs/defaults.toml"
    )


def test_defaults_toml_sets_every_key_to_its_default():
    experiment = load(CONFIGS / "defaults.toml")
    assert experiment.config == from_dict({}).config
    text = (CONFIGS / "defaults.toml").read_text()
    for dotted in all_keys():
        section, _, key = dotted.rpartition(".")
        assert f"\n{key} = " in text, dotted
    for section in SCHEMA:
        assert f"[{section}]" in text


def test_every_shipped_config_loads():
    for path in sorted(CONFIGS.glob("*.toml")):
        experiment = load(path)
        assert experiment.name


def test_config_values_become_the_models_distributions_in_seconds():
    from experiments.config.build import scenario
    from workloads import Constant, Exponential, Lognormal, Pareto, UniformRange

    config = from_dict(
        {
            "workload": {"object_size": {"dist": "pareto", "min": 100, "shape": 1.5}},
            "network": {"hit_latency": 0.5},
            "backend": {"latency": {"dist": "exponential", "mean_ms": 4}},
            "cluster": {
                "ttl": {"dist": "uniform", "low_s": 10, "high_s": 20},
                "node_service": {"dist": "lognormal", "median_ms": 2, "sigma": 0.5},
            },
        }
    ).config
    sc = scenario(config)
    assert sc.workload.object_size == Pareto(100, 1.5)
    assert sc.hit_latency == Constant(0.0005)
    assert sc.backend.latency == Exponential(0.004)
    assert sc.cluster.ttl == UniformRange(10, 20)
    assert sc.cluster.node_service == Lognormal(0.002, 0.5)  # sigma has no unit: unscaled
    assert scenario(from_dict({"cluster": {"ttl": 30}}).config).cluster.ttl == 30.0
