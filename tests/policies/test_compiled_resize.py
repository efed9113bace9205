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

pytestmark = pytest.mark.skipif(engine() != "compiled", reason="the compiled engine is not built")

#: resizable built-in policies whose kernels cannot evict to a size yet: the compiled loop falls back for them
NOT_YET = {"clockpro", "flashprob", "hyperbolic", "lecar", "lfuda", "lruk", "mq"}


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


def test_every_resizable_kernel_says_so_and_the_rest_are_named():
    kernels = {name: compile_policy(make_policy(name, 10)).resizable for name in resizable_online()}
    assert {name for name, evicts in kernels.items() if not evicts} == NOT_YET
    assert {"lru", "fifo", "s3fifo", "arc", "lirs", "random", "wtinylfu", "slru", "twoq"} <= set(kernels)
    assert set(kernels) <= set(available())


def test_a_kernel_that_cannot_evict_to_a_size_says_which_policy():
    compiled = compile_policy(make_policy(sorted(NOT_YET)[0], 10))
    with pytest.raises(NotImplementedError, match=sorted(NOT_YET)[0]):
        compiled.resize(5)


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


@pytest.mark.parametrize("name", [n for n in sorted(resizable_online()) if n not in NOT_YET])
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
