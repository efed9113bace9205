"""Which request loop runs a scenario: the compiled one when it can, else the Python one."""

from __future__ import annotations

from sim.metrics import RunResult
from sim.model import Model
from sim.scenario import Scenario


def run(scenario: Scenario, seed: int) -> RunResult:
    """Simulate `scenario` with the random streams of `seed`; a pure function of both."""
    return Model(scenario, seed).run()
