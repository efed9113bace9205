"""An experiment's config: from TOML (or a dict) to checked points the simulator can run.

    checks.py     checks of one value: the raw value in, the checked value or Invalid out
    schema.py     every key kvsim understands: its default, its check and its doc
    loading.py    TOML and overrides -> Experiment; every sweep point checked as a whole
    sweep.py      the sweep's points times the seeds: the runs; the experiment's fingerprint
    limits.py     what a run would need (span, events, memory), refused when not sane
    build.py      a checked point -> the simulator's Scenario
    defaults.py   experiments/configs/defaults.toml, rendered from the schema
    user_code.py  a user's modules: the current folder, run.imports

Nothing here runs a simulation, writes a file or draws: a mistake in a
config is found here, before anything starts, as a ConfigError whose one
line names the key.
"""

from experiments.config.loading import ConfigError, Experiment, from_dict, load, resolve

__all__ = ["ConfigError", "Experiment", "from_dict", "load", "resolve"]
