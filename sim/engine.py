"""Which request loop runs a scenario: the compiled one when it can, else the Python one.

Both are the same model (sim/model.py is the reference, sim/compiled_model.py
its loop in C) and give identical results; the compiled loop runs built-in
policies and the features it declares it implements, the Python one
everything (users' policies, the server models that read the clock, any
word the C loop does not know), and everything when the compiled engine is
not built or ``KVSIM_ENGINE=python`` says so.  A RunResult says which ran
(``engine``) and, when the Python loop ran, why (``engine_note``).
"""

from __future__ import annotations

from sim.compiled_model import CompiledModel, refusal
from sim.metrics import RunResult
from sim.model import Model
from sim.scenario import Scenario


def engine_choice(scenario: Scenario) -> tuple[str, str]:
    """The loop `run` uses for `scenario`, "compiled" or "python", and why not the compiled one ("" if it is)."""
    why = refusal(scenario)
    return ("python", why) if why else ("compiled", "")


def engine_for(scenario: Scenario) -> str:
    """The loop `run` uses for `scenario`: "compiled" or "python"."""
    return engine_choice(scenario)[0]


def run(scenario: Scenario, seed: int) -> RunResult:
    """Simulate `scenario` with the random streams of `seed`; a pure function of both."""
    engine, note = engine_choice(scenario)
    result = (CompiledModel if engine == "compiled" else Model)(scenario, seed).run()
    result.engine_note = note
    return result
