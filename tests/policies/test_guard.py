"""A user's policy that breaks the contract stops the run in one line, naming the policy, the method and
the request; never a hang, never a hit ratio that means nothing.  Built-in policies run unguarded."""

import signal
import sys
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from experiments.analysis import replay
from policies import PolicyContractError, make_policy
from policies.guard import Guarded
from sim import BackendSpec, ClusterSpec, Scenario, run, run_naive
from workloads import Poisson, Workload, Zipf

MODULE = textwrap.dedent(
    """
    from collections import OrderedDict
    from policies import HookPolicy, Policy

    class Fifo(HookPolicy):
        def __init__(self, capacity):
            super().__init__(capacity)
            self.order = OrderedDict()
        def on_insert(self, key): self.order[key] = None
        def on_remove(self, key): del self.order[key]
        def victim(self): return next(iter(self.order))

    class Stranger(Fifo):
        def victim(self): return "not-a-key"

    class Nothing(Fifo):
        def victim(self): return None

    class Raises(Fifo):
        def victim(self): raise KeyError("oops")

    class LookupRaises(Fifo):
        def lookup(self, key): return 1 / 0

    class InitRaises(Fifo):
        def __init__(self, capacity): raise RuntimeError("no init for you")

    class Hoarder(Policy):
        '''Never evicts: a plain Policy whose insert ignores the capacity.'''
        def __init__(self, capacity):
            super().__init__(capacity)
            self.held = {}
        def lookup(self, key): return key in self.held
        def insert(self, key, size=1):
            self.held[key] = size
            self.used += size
            return []
        def remove(self, key):
            if key not in self.held:
                return False
            self.used -= self.held.pop(key)
            return True
        def __contains__(self, key): return key in self.held
        def __len__(self): return len(self.held)
        def keys(self): return list(self.held)

    class Liar(Hoarder):
        '''Says it evicted a key and keeps it.'''
        def insert(self, key, size=1):
            evicted = list(self.held)[:1] if len(self.held) >= self.capacity else []
            if evicted:
                self.held.pop(key, None)
            self.held[key] = size
            self.used = min(len(self.held), self.capacity)
            return evicted
    """
)


@pytest.fixture(autouse=True)
def user_module(tmp_path, monkeypatch):
    (tmp_path / "contract_breakers.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    sys.modules.pop("contract_breakers", None)


LOOP = [k % 8 for k in range(40)]  # 8 keys through 5 slots: the 6th request is the first eviction


@pytest.mark.parametrize(
    "name, message",
    [
        (
            "Stranger",
            "in insert() (key 5, request 6 at this cache): victim() returned 'not-a-key', which is not cached",
        ),
        ("Nothing", "in insert() (key 5, request 6 at this cache): victim() returned None, which is not cached"),
        ("Raises", "in victim() (key 5, request 6 at this cache): raised KeyError: 'oops'"),
        ("LookupRaises", "in lookup() (key 0, request 1 at this cache): raised ZeroDivisionError: division by zero"),
        ("Hoarder", "in insert() (key 5, request 6 at this cache): left 6 units cached in a capacity of 5"),
        ("Liar", "in insert() (key 5, request 6 at this cache): reported evicting 0, which is still cached"),
    ],
)
def test_replay_stops_at_the_broken_promise(name, message):
    policy = make_policy(f"contract_breakers:{name}", 5)
    with pytest.raises(PolicyContractError) as caught:
        replay(policy, LOOP)
    assert str(caught.value) == f"policy 'contract_breakers:{name}' broke its contract {message}"


def test_a_failing_init_is_named():
    with pytest.raises(PolicyContractError, match=r"'contract_breakers:InitRaises': __init__ raised RuntimeError"):
        make_policy("contract_breakers:InitRaises", 5)


def test_a_well_behaved_user_policy_is_guarded_and_unchanged():
    guarded = make_policy("contract_breakers:Fifo", 5)
    assert isinstance(guarded, Guarded)
    assert replay(guarded, LOOP).hits == replay(make_policy("fifo", 5), LOOP).hits
    assert not isinstance(make_policy("fifo", 5), Guarded)  # built-ins run bare


@pytest.mark.parametrize("model", [run, run_naive], ids=["fast", "naive"])
@pytest.mark.parametrize("name", ["Hoarder", "Stranger", "Raises"])
def test_both_timed_models_stop_with_the_contract_error(model, name):
    scenario = Scenario(
        Workload(Zipf(200, 0.8), Poisson(1000.0)),
        ClusterSpec(nodes=2, capacity=5, policy=f"contract_breakers:{name}"),
        BackendSpec(),
        requests=300,
    )
    with pytest.raises(PolicyContractError, match=f"'contract_breakers:{name}' broke its contract"):
        model(scenario, 1)


# -- misbehaviour drawn at random: a clean error or a clean run, never a hang ---------------------

MISBEHAVIOURS = ["none", "stranger", "none-victim", "raise", "hoard"]


def scripted(plan: list[str]):
    """A FIFO HookPolicy that misbehaves at the eviction numbers `plan` says."""
    from policies import HookPolicy

    class Scripted(HookPolicy):
        def __init__(self, capacity):
            super().__init__(capacity)
            self.order = {}
            self.evictions = 0

        def on_insert(self, key):
            self.order[key] = None

        def on_remove(self, key):
            self.order.pop(key)

        def victim(self):
            act = plan[self.evictions % len(plan)]
            self.evictions += 1
            if act == "stranger":
                return ("stranger", self.evictions)
            if act == "none-victim":
                return None
            if act == "raise":
                raise RuntimeError("scripted failure")
            return next(iter(self.order))

        def insert(self, key, size=1):
            if plan[self.evictions % len(plan)] == "hoard" and len(self.order) >= self.capacity:
                self.evictions += 1
                self.sizes[key] = size
                self.used += size
                self.on_insert(key)
                return []
            return super().insert(key, size)

    Scripted.__module__ = "user_scripted"  # a user's class, so make_policy guards it
    return Scripted


def _alarm(_signum, _frame):
    raise TimeoutError("a misbehaving policy made replay hang")


@settings(max_examples=60, deadline=None)
@given(
    plan=st.lists(st.sampled_from(MISBEHAVIOURS), min_size=1, max_size=6),
    keys=st.lists(st.integers(0, 30), min_size=1, max_size=200),
    capacity=st.integers(1, 8),
)
def test_random_misbehaviour_is_caught_or_harmless(plan, keys, capacity):
    policy = Guarded(scripted(plan)(capacity), "user_scripted:Scripted")
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(10)
    try:
        counts = replay(policy, keys)
    except PolicyContractError as error:
        assert str(error).startswith("policy 'user_scripted:Scripted' broke its contract in ")
        return
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert 0 <= counts.hits <= len(keys) and policy.used <= capacity
