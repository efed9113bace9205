"""The kernels evict to a size and resize exactly as the Python policies do (issue 21's living fleet).

A capacity change shrinks a node through its policy's own order, and batch
eviction frees it down to a mark (Policy.evict_to, Policy.resize): the
compiled loop runs both only when the policy's kernel does the same, victim
for victim, and leaves the same state behind (the requests after a resize
still agree).  Random traces with resizes and evict_to points, on both.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policies import available, make_policy, policy_class
from policies.compiled import compile_policy, compiled_names, engine
from tests.policies.test_resize import HAND_TRACED

pytestmark = pytest.mark.skipif(engine() != "compiled", reason="the compiled engine is not built")


def resizable_online() -> list[str]:
    """The built-in policies a timed model may resize: with a kernel, resizable, not offline."""
    names = []
    for name in compiled_names():
        if policy_class(name).offline:
            continue
        if make_policy(name, 10).resizable:
            names.append(name)
    return names


def twins(name: str, capacity: int, **params):
    reference = make_policy(name, capacity, **params)
    compiled = compile_policy(make_policy(name, capacity, **params))
    assert compiled is not None
    return reference, compiled


def test_every_resizable_kernel_says_so():
    kernels = {name: compile_policy(make_policy(name, 10)).resizable for name in resizable_online()}
    assert all(kernels.values()), [name for name, evicts in kernels.items() if not evicts]
    assert {"lru", "fifo", "s3fifo", "arc", "lirs", "random", "wtinylfu", "slru", "twoq", "clockpro"} <= set(kernels)
    assert set(kernels) <= set(available())


def test_a_kernel_that_cannot_evict_to_a_size_says_which_policy():
    """Belady's kernel has no evict_to (an offline policy, which no timed model runs): its twin says so."""
    compiled = compile_policy(make_policy("belady", 10))
    assert not compiled.resizable
    with pytest.raises(NotImplementedError, match="'belady' cannot evict to a size"):
        compiled.resize(5)
    with pytest.raises(NotImplementedError, match="'belady' cannot evict to a size"):
        compiled.evict_to(5)


#: a step: ("get", key, size) is a lookup then an insert on a miss, as a node serves a read;
#: ("evict_to", units) and ("resize", capacity) the two primitives
steps = st.one_of(
    st.tuples(st.just("get"), st.integers(0, 30), st.integers(1, 4)),
    st.tuples(st.just("get"), st.integers(0, 30), st.integers(1, 4)),
    st.tuples(st.just("get"), st.integers(0, 30), st.integers(1, 4)),
    st.tuples(st.just("remove"), st.integers(0, 30)),
    st.tuples(st.just("evict_to"), st.integers(0, 40)),
    st.tuples(st.just("resize"), st.integers(1, 40)),
)


def agree(reference, compiled, step) -> None:
    kind = step[0]
    if kind == "get":
        _, key, size = step
        hit = reference.lookup(key)
        assert compiled.lookup(key) == hit
        if not hit:
            assert compiled.insert(key, size) == reference.insert(key, size)
    elif kind == "remove":
        assert compiled.remove(step[1]) == reference.remove(step[1])
    elif kind == "evict_to":
        assert compiled.evict_to(step[1]) == reference.evict_to(step[1]), step
    else:
        assert compiled.resize(step[1]) == reference.resize(step[1]), step
        assert compiled.capacity == reference.capacity
        assert compiled.max_object_size == reference.max_object_size
    assert compiled.keys() == reference.keys(), step
    assert compiled.used == reference.used


@pytest.mark.parametrize("name", sorted(resizable_online()))
@settings(max_examples=30, deadline=None)
@given(capacity=st.integers(4, 40), trace=st.lists(steps, max_size=120))
def test_kernels_evict_and_resize_as_the_python_policies(name, capacity, trace):
    reference, compiled = twins(name, capacity)
    for step in trace:
        agree(reference, compiled, step)


@settings(max_examples=20, deadline=None)
@given(trace=st.lists(steps, max_size=80))
def test_a_resize_behind_an_admission_filter_agrees(trace):
    params = dict(admission="size", admission_params={"threshold": 3})
    reference, compiled = twins("s3fifo", 20, **params)
    for step in trace:
        agree(reference, compiled, step)


@pytest.mark.parametrize("name", ["arc", "twoq", "s3fifo", "slru", "lirs", "wtinylfu"])
def test_a_shrink_on_a_warm_cache_and_a_regrowth_agree(name):
    """A long warm-up first (ghosts full, segments settled), then shrink, regrow, and serve again."""
    reference, compiled = twins(name, 60)
    keys = [(i * 7919) % 97 for i in range(600)] + [(i * 31) % 23 for i in range(200)]
    trace = [("get", key, 1) for key in keys[:500]]
    trace += [("resize", 13), *[("get", key, 1) for key in keys[500:650]], ("resize", 70), ("evict_to", 30)]
    trace += [("get", key, 1) for key in keys[650:]]
    for step in trace:
        agree(reference, compiled, step)


def compiled_filled(name, capacity, keys, hits=""):
    cache = compile_policy(make_policy(name, capacity))
    for key in keys[:capacity]:
        cache.lookup(key)
        cache.insert(key)
    for key in hits:
        assert cache.lookup(key), key
    return cache


@pytest.mark.parametrize("name", list(HAND_TRACED))
def test_the_hand_traced_shrinks_come_out_the_same_compiled(name):
    """tests/policies/test_resize.py's hand-traced shrinks, on the kernels."""
    capacity, keys, hits, new, evicted, left = HAND_TRACED[name]
    cache = compiled_filled(name, capacity, keys, hits)
    assert cache.resize(new) == evicted
    assert cache.keys() == left
    assert cache.used == len(left) <= cache.capacity == new


def test_the_hand_traced_part_shrinks_come_out_the_same_compiled():
    """S3-FIFO's main CLOCK spares a hit key; LIRS demotes LIR objects, each pushing Q's HIR object out;
    SLRU's segments cool from the top (test_resize.py's traces)."""
    s3fifo = compile_policy(make_policy("s3fifo", 10))
    for key in range(10):
        s3fifo.lookup(key)
        s3fifo.insert(key)
    for key in (0, 0, 1):
        assert s3fifo.lookup(key)
    assert s3fifo.resize(5) == [2, 3, 4, 5, 6]
    assert s3fifo.keys() == [0, 7, 8, 9, 1]
    lirs = compile_policy(make_policy("lirs", 10))
    for key in range(10):
        lirs.lookup(key)
        lirs.insert(key)
    assert lirs.resize(5) == [9, 0, 1, 2, 3]
    assert lirs.keys() == [5, 6, 7, 8, 4]
    slru = compiled_filled("slru", 8, "abcdefgh")
    assert slru.resize(4) == ["a", "b", "c", "d"]
    assert slru.keys() == ["e", "f", "g", "h"]


@pytest.mark.parametrize("small", [1, 2, 3])
def test_lirs_shrunk_below_its_lir_share_serves_on(small):
    # Shrunk to 1-3 objects, the LIR share (capacity - 1) may be smaller than a resident HIR object's
    # demotions can free: a hit in S used to demote from an LIR set already empty (a KeyError in Python,
    # wrong counts in the kernel).  Now the LIR set empties, the object becomes LIR alone, over the share.
    reference, compiled = twins("lirs", 10)
    trace = [("get", key, 1) for key in [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 2]]
    trace += [("resize", small)] + [("get", key, 1) for key in [12, 11, 12, 1, 12, 2, 2, 3, 12, 11]]
    for step in trace:
        agree(reference, compiled, step)
        assert reference.used <= reference.capacity
