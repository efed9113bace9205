"""Draws made ahead in a child process (sim/draw_ahead.py) are the draws made in line, bit for bit.

Batch for batch, every column of every Draws is compared with the in-line
stream's, on workloads that use each kind of column (two key classes with
new items and per-class TTLs over a diurnal day, node queues, spray, client
groups); whole runs on both engines give the same RunResult with the draws
made ahead and in line; a failure in the child is raised in the parent, and
a parent that stops early ends its child.  The compiled loop's invalidation
of a bulk update's classes (Node.drop_classes) is held to the Python loop's
on two classes, one invalidated, under policies whose state depends on the
order of removals.
"""

import threading

import numpy as np
import pytest

from sim import BackendSpec, ClusterSpec
from sim import draw_ahead as ahead_module
from sim.compiled_model import CompiledModel, Engine
from sim.draw_ahead import DrawsAhead, draws_of, wanted
from sim.draws import RequestDraws
from sim.membership import Membership
from sim.model import Model
from sim.scenario import BulkUpdates
from tests.sim.test_model_vs_naive import scenario
from workloads import Diurnal, Exponential, KeyClass, Lognormal, Poisson, Workload, Zipf

COLUMNS = ("choices", "read_node", "round_trip", "service", "node_service", "ttl", "cold", "warm_from", "group")

RECSYS_DAY = dict(  # recsys_full's shape, small: two classes, new items, per-class TTL, a diurnal day
    workload=Workload(
        None,
        Diurnal(20_000.0, amplitude=0.6, period=20.0, peak=14.0),
        classes=(
            KeyClass(Zipf(100_000, 0.8), Lognormal(512, 0.5), name="users", share=0.6),
            KeyClass(Zipf(10_000, 1.1), Lognormal(4096, 0.8), name="items", share=0.4, new_keys_per_s=40.0),
        ),
    ),
    cluster=ClusterSpec(nodes=4, capacity=2_500, ttl=0.0, ttl_by_class=((0, 1.8),)),
    backend=BackendSpec(latency=Lognormal(0.02, 0.6), concurrency=256, coalesce=True),
    updates=BulkUpdates(every_s=3.6, classes=(1,), invalidate=True),
)

SCENARIOS = {
    "recsys day": RECSYS_DAY,
    "node queues, p2c": dict(
        cluster=ClusterSpec(nodes=4, capacity=60, balancer="p2c", node_concurrency=1, node_service=Exponential(0.0005)),
    ),
    "random spray, writes": dict(
        workload=Workload(Zipf(2000, 0.9), Poisson(5000.0), write_fraction=0.1),
        cluster=ClusterSpec(nodes=3, capacity=100, balancer="random"),
    ),
    "client groups": dict(workload=Workload(Zipf(2000, 0.9), Poisson(5000.0)), clients=3),
}


def in_line_and_ahead(sc, seed=5, copy=True):
    def source():
        return RequestDraws(sc, seed, Membership.of(sc.cluster, seed))

    return list(source()), DrawsAhead(source(), copy)


def assert_same_draws(one, other):
    assert one.batch.start == other.batch.start
    for name in ("time", "key", "size", "op"):
        mine, theirs = getattr(one.batch, name), getattr(other.batch, name)
        assert mine.dtype == theirs.dtype and np.array_equal(mine, theirs), name
    for name in COLUMNS:
        mine, theirs = getattr(one, name), getattr(other, name)
        assert (mine is None) == (theirs is None), name
        if mine is not None:
            assert mine.dtype == theirs.dtype and mine.shape == theirs.shape, name
            assert np.array_equal(mine, theirs, equal_nan=mine.dtype.kind == "f"), name


@pytest.mark.parametrize("case", list(SCENARIOS))
def test_the_draws_made_ahead_are_the_draws_made_in_line_batch_for_batch(case):
    sc = scenario(**SCENARIOS[case], requests=150_000, warmup=0)  # two full batches and a short one
    in_line, ahead = in_line_and_ahead(sc)
    count = 0
    for expected, got in zip(in_line, ahead, strict=True):
        assert_same_draws(expected, got)
        count += 1
    assert count == 3


def test_views_hold_until_the_next_batch_and_an_oversized_batch_crosses_pickled(monkeypatch):
    sc = scenario(**RECSYS_DAY, requests=150_000, warmup=0)
    in_line, ahead = in_line_and_ahead(sc, copy=False)
    for expected, got in zip(in_line, ahead, strict=True):
        assert not got.batch.time.flags.owndata  # a view of the ring
        assert_same_draws(expected, got)
    monkeypatch.setattr(ahead_module, "_slot_bytes", lambda draws: 1 << 20)  # no full batch fits: all pickled
    in_line, ahead = in_line_and_ahead(sc)
    for expected, got in zip(in_line, ahead, strict=True):
        assert_same_draws(expected, got)


@pytest.mark.skipif(Engine is None, reason="the compiled engine is not built")
@pytest.mark.parametrize("model", [CompiledModel, Model])
def test_a_run_with_the_draws_made_ahead_gives_the_same_result(model, monkeypatch):
    sc = scenario(**RECSYS_DAY, requests=140_000 if model is CompiledModel else 70_000, warmup=10_000)
    monkeypatch.setenv("KVSIM_DRAW_AHEAD", "0")
    in_line = model(sc, 3).run()
    monkeypatch.setenv("KVSIM_DRAW_AHEAD", "1")
    ahead = model(sc, 3).run()
    assert ahead == in_line
    assert ahead.timeseries == in_line.timeseries
    assert ahead.latency_histogram == in_line.latency_histogram


def test_a_failure_in_the_child_is_raised_in_the_parent(monkeypatch):
    sc = scenario(requests=150_000, warmup=0)

    draw = RequestDraws.draw

    def broken(self, batch):
        if batch.start:
            raise ValueError("no draws past the first batch")
        return draw(self, batch)

    monkeypatch.setattr(RequestDraws, "draw", broken)  # before the fork: the child has it too
    source = DrawsAhead(RequestDraws(sc, 1, Membership.of(sc.cluster, 1)))
    with pytest.raises(RuntimeError, match="no draws past the first batch"):
        for _ in source:
            pass
    assert not source.child.is_alive()


def test_a_parent_that_stops_early_ends_its_child():
    sc = scenario(requests=400_000, warmup=0)
    source = DrawsAhead(RequestDraws(sc, 1, Membership.of(sc.cluster, 1)))
    for _ in source:
        break
    assert not source.child.is_alive()


def test_draws_are_made_ahead_only_where_it_pays_and_forking_is_safe(monkeypatch):
    small, large = scenario(requests=1000), scenario(requests=2_000_000)
    draws_small, draws_large = (RequestDraws(sc, 1, Membership.of(sc.cluster, 1)) for sc in (small, large))
    monkeypatch.delenv("KVSIM_DRAW_AHEAD", raising=False)
    assert not wanted(draws_small, static=True)
    assert wanted(draws_large, static=True)
    assert not wanted(draws_large, static=False)  # the fleet changes: a model's decision may route later batches
    monkeypatch.setenv("KVSIM_DRAW_AHEAD", "0")
    assert not wanted(draws_large, static=True)
    monkeypatch.setenv("KVSIM_DRAW_AHEAD", "1")
    assert wanted(draws_small, static=True)
    in_thread = []
    thread = threading.Thread(target=lambda: in_thread.append(wanted(draws_large, static=True)))
    thread.start()
    thread.join()
    assert in_thread == [False]
    assert list(draws_of(draws_small, ahead=False))[0].batch.start == 0


@pytest.mark.skipif(Engine is None, reason="the compiled engine is not built")
@pytest.mark.parametrize("policy", ["lru", "random", "s3fifo", "arc", "fifo", "sieve"])
def test_the_compiled_loop_invalidates_one_class_of_two_as_the_python_loop_does(policy):
    """LRU's and FIFO's kernels (REMOVALS_COMMUTE) drop the classes' slots in slot order, the others in
    keys()' order (SIEVE's hand moves on a removal): the same results as the Python loop either way."""
    sc = scenario(
        workload=Workload(
            None,
            Poisson(5000.0),
            classes=(
                KeyClass(Zipf(1000, 0.9), name="users", share=0.6),
                KeyClass(Zipf(500, 1.1), name="items", share=0.4),
            ),
        ),
        cluster=ClusterSpec(nodes=2, capacity=150, policy=policy),
        updates=BulkUpdates(every_s=0.2, classes=(1,), invalidate=True),
        requests=8000,
    )
    compiled, python = CompiledModel(sc, 4).run(), Model(sc, 4).run()
    assert compiled == python
    assert compiled.timeseries == python.timeseries
