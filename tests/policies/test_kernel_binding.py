"""One contract between a policy and its kernel: the policy's own class binds it.

Each built-in policy (and admission filter) builds its kernel in its own
``make_kernel``, from the attributes its ``__init__`` computed; the engine's
machinery (policies/compiled.py, the timed model's compiled loop) knows no
policy by name.  So a new built-in policy touches its module, its kernel and
its tests, and nothing else:

    policies/NAME.py              the class, @register("name"), make_kernel()
    policies/_kernels/NAME.pyx    the kernel (setup.py compiles every .pyx there)
    tests/policies/...            its hand traces, its parity with libCacheSim

(policies/__init__.py imports every module of the package, so the registry
finds it; tests/policies/test_compiled.py holds every compiled name to its
reference.)  The tests below check both halves: the machinery names no
policy, and a policy that is new to it, bound in its class alone, runs
compiled in a replay and in the timed model, and in the Python engine as
the reference, and keeps the contract and the kernel's equality with its
reference that every registered policy is held to (the parametrized tests
of test_contract.py and test_compiled.py, run here on it).
"""

import ast
import re
from pathlib import Path

import numpy as np
import pytest

import policies.base as base
from experiments.analysis.replay import replay_hits
from policies import available, engine, make_fast_policy, make_policy
from policies.compiled import CompiledPolicy, compile_policy, compiled_names, has_kernel, kernel_refusal
from policies.fifo import FIFO

ROOT = Path(__file__).resolve().parents[2]
needs_kernels = pytest.mark.skipif(engine() != "compiled", reason="the compiled engine is not running")

#: the code that binds, chooses and drives kernels, for any policy
MACHINERY_PYTHON = [
    "policies/compiled.py",
    "policies/__init__.py",
    "sim/compiled_model.py",
    "sim/engine.py",
    "setup.py",
]
MACHINERY_CYTHON = ["policies/_kernels/kernel.pyx", "policies/_kernels/kernel.pxd", "policies/_kernels/slots.pyx"]
MACHINERY_CYTHON += [str(path.relative_to(ROOT)) for path in sorted((ROOT / "sim/_compiled").glob("*.p*"))]


def kernel_names() -> dict[str, tuple[str, str]]:
    """Per compiled policy: (the kernel module, the kernel class) its make_kernel imports, read from its source."""
    found = {}
    for name in compiled_names():
        source = Path(base.policy_class(name).__module__.replace(".", "/") + ".py")
        tree = ast.parse((ROOT / source).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name == "make_kernel":
                (imported,) = [n for n in ast.walk(node) if isinstance(n, ast.ImportFrom)]
                found[name] = (imported.module, imported.names[0].name)
    return found


FIRST_FIFTEEN = "fifo lru clock sieve lfu slru twoq arc lirs s3fifo wtinylfu lfuda gdsf belady random".split()


def test_every_compiled_policy_binds_its_kernel_in_its_own_module():
    names = kernel_names()
    assert sorted(names) == compiled_names()
    assert set(names) >= set(FIRST_FIFTEEN)  # and the policies added since (a count here would stale)
    for name, (module, kernel) in names.items():
        assert has_kernel(base.policy_class(name))
        assert module.startswith("policies._kernels.") and (ROOT / (module.replace(".", "/") + ".pyx")).exists()
        assert kernel.endswith("Kernel")


def test_the_machinery_names_no_policy():
    policy_words = set()
    for name in compiled_names():
        policy_words |= {name, base.policy_class(name).__name__}
    for module, kernel in kernel_names().values():
        policy_words |= {kernel, module, module.rsplit(".", 1)[1]}
    policy_words -= {"kernel"}  # the kernels' common ground is named so
    for path in MACHINERY_PYTHON:
        tree = ast.parse((ROOT / path).read_text())
        used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
        used |= {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
        used |= {
            node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)
        }
        used |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
        assert not used & policy_words, f"{path} names {sorted(used & policy_words)}"
    for path in MACHINERY_CYTHON:
        code = "\n".join(line.split("#")[0] for line in (ROOT / path).read_text().splitlines())
        code = re.sub(r'"""(.|\n)*?"""', "", code)  # docstrings may tell of policies, code may not use them
        words = set(re.findall(r"[A-Za-z_][A-Za-z_0-9.]*", code))
        # ("random" is Python's module and numpy's header, too)
        assert not words & policy_words - {"random"}, f"{path} names {sorted(words & policy_words)}"
        kernels = "|".join(kernel for _, kernel in kernel_names().values())
        assert not re.search(rf"cimport .*\b({kernels})\b", code), path


class FIFOTwin(FIFO):
    """A policy new to the machinery: FIFO's rules under another name, bound to FIFO's kernel in its class alone."""

    def make_kernel(self):
        from policies._kernels.fifo import FIFOKernel

        return FIFOKernel(self.capacity)


class Unbound(FIFO):
    """A subclass that binds no kernel of its own: it runs Python (an inherited binding never counts)."""


@pytest.fixture
def twin_registered(monkeypatch):
    """FIFOTwin registered as a built-in policy would be: as if it lived in policies/fifo_twin.py."""
    monkeypatch.setattr(FIFOTwin, "__module__", "policies.fifo_twin")
    monkeypatch.setitem(base._REGISTRY, "fifo-twin", FIFOTwin)
    monkeypatch.setattr(FIFOTwin, "name", "fifo-twin")
    return "fifo-twin"


@needs_kernels
def test_a_new_policy_bound_in_its_class_replays_compiled(twin_registered):
    assert compile_policy(Unbound(10)) is None and not has_kernel(Unbound)
    assert kernel_refusal(twin_registered) is None
    fast = make_fast_policy(twin_registered, 50)
    assert isinstance(fast, CompiledPolicy)
    keys = np.random.default_rng(3).zipf(1.2, 5000).astype(np.int64) % 400
    sizes = np.ones(len(keys), dtype=np.int64)
    expected = replay_hits(make_policy("fifo", 50), keys, sizes, False)
    np.testing.assert_array_equal(replay_hits(fast, keys, sizes, False), expected)


@needs_kernels
def test_a_new_policy_bound_in_its_class_runs_the_compiled_loop(twin_registered):
    from sim import ClusterSpec, run
    from sim.model import Model
    from tests.sim.test_model_vs_naive import scenario

    sc = scenario(cluster=ClusterSpec(nodes=3, capacity=60, policy=twin_registered), requests=3000, warmup=500)
    compiled = run(sc, 5)
    assert compiled.engine == "compiled"
    assert compiled == Model(sc, 5).run()


def test_a_new_policy_is_found_where_every_test_looks(twin_registered):
    """The parametrized tests read the registry: a new module is in them with no line added to them."""
    assert twin_registered in available() and twin_registered in compiled_names()
    assert has_kernel(FIFOTwin) and not has_kernel(Unbound)


def test_a_new_policy_keeps_the_contract(twin_registered, monkeypatch):
    from tests.policies import test_contract

    monkeypatch.setitem(test_contract.CASES, twin_registered, (twin_registered, {}))
    test_contract.test_never_over_capacity_and_hits_only_when_present(case=twin_registered)
    test_contract.test_inserts_that_arrive_late_and_out_of_order(case=twin_registered)
    test_contract.test_remove_leaves_no_trace(case=twin_registered)
    test_contract.test_replay_counts_add_up_and_repeat(twin_registered)


@needs_kernels
def test_a_new_policy_makes_its_references_decisions_key_by_key(twin_registered):
    from tests.policies import test_compiled

    assert isinstance(make_fast_policy(twin_registered, 8), CompiledPolicy)  # else it would compare Python with Python
    test_compiled.test_same_decisions_key_by_key_with_late_inserts_and_removals(name=twin_registered)


def test_a_new_policy_runs_on_the_python_engine_as_the_reference(twin_registered, monkeypatch):
    from sim import ClusterSpec, run
    from sim.naive import run_naive
    from tests.sim.test_model_vs_naive import scenario

    monkeypatch.setenv("KVSIM_ENGINE", "python")
    assert not isinstance(make_fast_policy(twin_registered, 50), CompiledPolicy)
    keys = np.random.default_rng(4).zipf(1.2, 3000).astype(np.int64) % 300
    expected = replay_hits(make_policy("fifo", 40), keys, None, False)
    np.testing.assert_array_equal(replay_hits(make_fast_policy(twin_registered, 40), keys, None, False), expected)
    sc = scenario(cluster=ClusterSpec(nodes=3, capacity=60, policy=twin_registered), requests=3000, warmup=500)
    python = run(sc, 5)
    assert python.engine == "python" and "KVSIM_ENGINE=python" in python.engine_note
    naive = run_naive(sc, 5)
    assert (python.hits, python.backend_requests) == (naive.hits, naive.backend_requests)
    assert 0 < python.hits < python.requests
