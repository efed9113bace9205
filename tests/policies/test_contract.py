"""Every registered policy keeps the interface's promises (property tests)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policies import HookPolicy, PolicyError, available, make_policy, policy_class, replay

POLICIES = available()
requests = st.lists(st.tuples(st.integers(0, 30), st.integers(1, 6)), min_size=1, max_size=300)


@pytest.mark.parametrize("name", POLICIES)
@settings(max_examples=60, deadline=None)
@given(stream=requests, capacity=st.integers(1, 20))
def test_never_over_capacity_and_hits_only_when_present(name, stream, capacity):
    cache = make_policy(name, capacity)
    for key, size in stream:
        present = key in cache
        hit = cache.lookup(key)
        assert hit == present
        if not hit:
            evicted = cache.insert(key, size)
            assert key not in evicted
            assert all(victim not in cache for victim in evicted)
            assert (key in cache) == (size <= capacity)
        assert cache.used <= capacity
        assert len(cache) == len(cache.keys())


@pytest.mark.parametrize("name", POLICIES)
@settings(max_examples=40, deadline=None)
@given(stream=requests)
def test_remove_leaves_no_trace(name, stream):
    cache = make_policy(name, 12)
    for key, size in stream:
        cache.access(key, size)
    for key in list(cache.keys()):
        assert cache.remove(key)
        assert key not in cache
        assert not cache.remove(key)
    assert len(cache) == 0 and cache.used == 0
    # An emptied cache works as a new one.
    assert cache.access("x", 1) is False and cache.lookup("x")


@pytest.mark.parametrize("name", POLICIES)
def test_replay_counts_add_up_and_repeat(name):
    keys = [(i * 7919) % 97 for i in range(2000)]
    first = replay(make_policy(name, 20), keys)
    second = replay(make_policy(name, 20), keys)
    assert first.hits + first.misses == first.requests == 2000
    assert first == second


def test_unknown_policy_names_the_valid_ones():
    with pytest.raises(PolicyError, match=r"unknown policy 'lur' \(did you mean 'lru'\?\); valid: .*fifo"):
        make_policy("lur", 10)


def test_unknown_parameter_names_the_valid_ones():
    with pytest.raises(PolicyError, match=r"policy 'clock' has no parameter 'bit'; valid: bits"):
        make_policy("clock", 10, bit=2)


def test_module_colon_class_loads_a_users_policy(tmp_path, monkeypatch):
    (tmp_path / "mypolicies.py").write_text(
        "from collections import OrderedDict\n"
        "from policies import HookPolicy\n"
        "class MRU(HookPolicy):\n"
        "    def __init__(self, capacity):\n"
        "        super().__init__(capacity)\n"
        "        self.order = OrderedDict()\n"
        "    def on_insert(self, key): self.order[key] = None\n"
        "    def on_hit(self, key): self.order.move_to_end(key)\n"
        "    def on_remove(self, key): del self.order[key]\n"
        "    def victim(self): return next(reversed(self.order))\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    cache = make_policy("mypolicies:MRU", 2)
    for key in "abc":
        cache.access(key)
    assert cache.keys() == ["a", "c"]  # c evicted b, the most recently used
    assert issubclass(policy_class("mypolicies:MRU"), HookPolicy)
    with pytest.raises(PolicyError, match="has no Policy subclass named 'Nope'"):
        policy_class("mypolicies:Nope")
    with pytest.raises(PolicyError, match="cannot import module 'no_such_module'"):
        policy_class("no_such_module:X")


@pytest.mark.parametrize("capacity", [0, -1, 2.5, True])
def test_bad_capacity_is_refused(capacity):
    with pytest.raises(ValueError, match="capacity must be a positive integer"):
        make_policy("lru", capacity)
