"""Which request loop runs a scenario: the compiled one when it can, else the Python one.

Both are the same model (sim/model.py is the reference, sim/compiled_model.py
its loop in C) and give identical results; the compiled loop runs built-in
policies, the Python one every policy (users' own, the server models that
read the clock), and everything when the compiled engine is not built or
``KVSIM_ENGINE=python`` says so.  A RunResult says which ran (``engine``).
"""

from __future__ import annotations

from sim.compiled_model import CompiledModel, loop_for
from sim.metrics import RunResult
from sim.model import Model
from sim.scenario import ClusterSpec, Scenario


def engine_for(scenario: Scenario) -> str:
    """The loop `run` would use for `scenario`: "compiled" or "python"."""
    return "python" if python_only(scenario.cluster) else loop_for(scenario.cluster)


def run(scenario: Scenario, seed: int) -> RunResult:
    """Simulate `scenario` with the random streams of `seed`; a pure function of both."""
    compiled = not python_only(scenario.cluster) and loop_for(scenario.cluster, seed) == "compiled"
    return (CompiledModel if compiled else Model)(scenario, seed).run()


# -- the living fleet (issue 21) is not in the compiled loop yet: its scenarios run the Python loop.
# To be folded into the compiled loop's declared feature set when that lands (the `boundary` branch).
def python_only(cluster: ClusterSpec) -> bool:
    """Whether a cluster uses what only the Python loop does yet: a fleet that lives (sim/fleet.py)."""
    return cluster.lives
