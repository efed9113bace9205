"""defaults.toml documents every key, and stays in step with the schema."""

from pathlib import Path

from experiments import defaults
from experiments.config import SCHEMA, all_keys, from_dict, load

CONFIGS = Path(__file__).resolve().parents[2] / "experiments" / "configs"


def test_shipped_defaults_toml_is_the_rendered_schema():
    assert (CONFIGS / "defaults.toml").read_text() == defaults.render(), (
        "regenerate it: python -m experiments.defaults > experiments/configs/defaults.toml")


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
