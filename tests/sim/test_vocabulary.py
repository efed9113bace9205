"""The cluster's vocabulary is one table, and the compiled loop says what of it it implements.

sim/vocabulary.py holds the words (write policies, expiry and TTL modes,
balancers) and the request flags; the build writes them out as C
(sim/_compiled/vocabulary.pxi) for the compiled loop.  A scenario that uses a
word the compiled loop does not declare runs on the Python loop, and the run
says why: nothing unknown is taken for something known.
"""

from pathlib import Path

import pytest

from policies import engine
from sim import ClusterSpec, run, vocabulary
from sim.balancer import BALANCERS, PowerOfTwoChoices, make_balancer
from sim.compiled_model import Engine, refusal
from sim.engine import engine_choice
from sim.model import Model
from tests.sim.test_model_vs_naive import scenario
from workloads import Poisson, Workload, Zipf

needs_loop = pytest.mark.skipif(Engine is None or engine() != "compiled", reason="the compiled loop is not running")


@needs_loop
def test_the_c_the_build_generated_is_the_table():
    generated = Path(vocabulary.__file__).parent / "_compiled" / "vocabulary.pxi"
    assert generated.read_text() == vocabulary.cython_source()
    from sim._compiled import engine as loop

    assert loop.CODES == {field: {word: i for i, word in enumerate(words)} for field, words in vocabulary.CODED.items()}
    assert set(vocabulary.CHOICES) | {"fleet"} <= set(loop.CODES)


def test_the_generated_c_names_every_word_and_flag():
    source = vocabulary.cython_source()
    for name, value in vocabulary.FLAGS.items():
        assert f"    {name}_FLAG = {value}\n" in source
    assert "    WRITE_POLICY_NONE = 2\n" in source and "    EXPIRY_ACTIVE = 1\n" in source
    assert "    BALANCER_BOUNDED = 5\n" in source


def test_the_balancers_are_the_vocabularys():
    assert sorted(BALANCERS) == sorted(vocabulary.BALANCERS)
    for name in BALANCERS:
        assert make_balancer(name, 3).dynamic == (name in vocabulary.DYNAMIC_BALANCERS)


def writes(**cluster):
    return scenario(
        workload=Workload(Zipf(300, 0.9), Poisson(5000.0), write_fraction=0.1),
        cluster=ClusterSpec(nodes=3, capacity=40, **cluster),
        requests=2000,
        warmup=200,
    )


@needs_loop
def test_a_word_the_compiled_loop_does_not_implement_runs_the_python_loop_and_says_why(monkeypatch):
    from sim._compiled import engine as loop

    sc = writes(write_policy="none")
    assert engine_choice(sc) == ("compiled", "")
    monkeypatch.setitem(loop.IMPLEMENTS, "write_policy", (loop.CODES["write_policy"]["invalidate"],))
    result = run(sc, 3)
    assert (result.engine, result.engine_note) == ("python", "the compiled loop does not implement write_policy 'none'")
    assert result == Model(sc, 3).run()
    assert run(writes(), 3).engine == "compiled"  # "invalidate" is still declared
    with pytest.raises(ValueError, match="does not implement write_policy 'none'"):
        loop.Engine([], 1, 0, False, True, "lazy", None, 1, "none", 40)


@needs_loop
def test_a_dynamic_balancer_without_a_chooser_runs_the_python_loop(monkeypatch):
    sc = writes(balancer="p2c")
    assert refusal(sc) is None
    monkeypatch.delattr(PowerOfTwoChoices, "make_chooser")
    assert refusal(sc) == "balancer 'p2c' has no compiled chooser"
    assert run(sc, 2).engine == "python"


def test_the_python_loop_says_why_it_ran(monkeypatch):
    timed = scenario(cluster=ClusterSpec(nodes=1, capacity=100, policy="redis-lru"), requests=500, warmup=0)
    assert engine_choice(timed) == ("python", "policy 'redis-lru' reads the clock")
    monkeypatch.setenv("KVSIM_ENGINE", "python")
    result = run(scenario(requests=500, warmup=0), 1)
    assert (result.engine, result.engine_note) == ("python", "KVSIM_ENGINE=python")
