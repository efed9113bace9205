"""An experiment's config: from TOML (or a dict) to checked points the simulator can run.

    checks.py     checks of one value: the raw value in, the checked value or Invalid out
    schema.py     every key kvsim understands: its default, its check and its doc
    loading.py    TOML and overrides -> Experiment; every sweep point checked as a whole
    sweep.py      the sweep's points times the seeds: the runs; the experiment's fingerprint
    limits.py     what a run would need (span, events, memory), refused when not sane
    build.py      a checked point -> the simulator's Scenario
    defaults.py   experiments/configs/defaults.toml, rendered from the schema
    user_code.py  a user's modules: the current folder, run.imports
    errors.py     ConfigError, light: what reports one need not load the model

Nothing here runs a simulation, writes a file or draws: a mistake in a
config is found here, before anything starts, as a ConfigError whose one
line names the key.
"""

from typing import TYPE_CHECKING

from experiments.config.errors import ConfigError

if TYPE_CHECKING:  # the type checker reads the names where they live
    from experiments.config.loading import Experiment, from_dict, load, resolve

__all__ = ["ConfigError", "Experiment", "from_dict", "load", "resolve"]


def __getattr__(name: str) -> object:
    """The names loading.py defines, imported the first time one is asked for (PEP 562).

    loading.py brings in the policies and the workloads: importing one light
    module of the package (errors, user_code, schema's keys) should not.
    """
    if name not in __all__:
        raise AttributeError(f"module 'experiments.config' has no attribute {name!r}")
    from experiments.config import loading

    value = getattr(loading, name)
    globals()[name] = value
    return value
