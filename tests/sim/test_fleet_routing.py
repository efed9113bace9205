"""What a change of the fleet moves, per balancer, and where a down node's keys go (sim/routing.py)."""

import math

import numpy as np
import pytest

from sim import ClusterSpec, run
from sim.balancer import make_balancer
from sim.membership import FleetState
from sim.routing import CATALOGUE_SAMPLE, Routing, catalogue_sample
from sim.scenario import Change
from tests.sim.test_model_vs_naive import scenario
from workloads import KeyClass, Poisson, Workload, Zipf

SAMPLE = np.arange(CATALOGUE_SAMPLE, dtype=np.int64)


def fleet(nodes, up=None):
    members = tuple(nodes)
    return FleetState(members, members if up is None else tuple(up))


def routing(balancer, ids=12, failover="rehash", replicas=1, gutter=0):
    return Routing(make_balancer(balancer, ids), failover, replicas, ids, gutter)


def sampling_error(p: float) -> float:
    """Three standard deviations of a share p estimated over the sample."""
    return 3 * math.sqrt(p * (1 - p) / len(SAMPLE))


@pytest.mark.parametrize("n", [2, 3, 5, 8, 11])
def test_consistent_hashing_growth_moves_the_new_nodes_arcs_about_one_in_n_plus_one(n):
    ring = routing("consistent")
    moved = ring.moved_share(SAMPLE, fleet(range(n)), fleet(range(n + 1)))
    # Exactly the new node's arcs of the ring (within the sample's error) ...
    grown = make_balancer("consistent", n + 1)
    assert moved == pytest.approx(grown.shares()[n], abs=sampling_error(1 / (n + 1)))
    # ... whose share is 1/(n+1) within the ring's own spread: 160 points a node, a coefficient of
    # variation of about 1/sqrt(160) (three of them here).
    assert moved == pytest.approx(1 / (n + 1), rel=3 / math.sqrt(160))


@pytest.mark.parametrize("n", [2, 3, 5, 8, 11])
def test_modulo_growth_moves_n_in_n_plus_one(n):
    moved = routing("modulo").moved_share(SAMPLE, fleet(range(n)), fleet(range(n + 1)))
    assert moved == pytest.approx(n / (n + 1), abs=sampling_error(n / (n + 1)))


@pytest.mark.parametrize("balancer", ["consistent", "rendezvous", "p2c", "bounded"])
def test_removing_a_node_moves_only_its_keys(balancer):
    ranking = routing(balancer)
    before, after = fleet(range(6)), fleet([0, 1, 2, 4, 5])
    old = ranking.first_choices(SAMPLE, before.members)
    new = ranking.first_choices(SAMPLE, after.members)
    assert np.array_equal(old != new, old == 3)
    assert ranking.moved_share(SAMPLE, before, after) == pytest.approx(np.mean(old == 3), abs=0)
    assert ranking.moved_share(SAMPLE, before, before) == 0.0


def test_rendezvous_growth_moves_about_one_in_n_plus_one():
    moved = routing("rendezvous").moved_share(SAMPLE, fleet(range(4)), fleet(range(5)))
    assert moved == pytest.approx(1 / 5, abs=sampling_error(1 / 5))


def test_an_outage_moves_keys_only_when_the_down_nodes_keys_are_rehashed():
    down = FleetState((0, 1, 2, 3), (0, 2, 3))
    whole = fleet(range(4))
    assert routing("consistent").moved_share(SAMPLE, whole, down) > 0.15
    assert routing("consistent", failover="gutter", gutter=2).moved_share(SAMPLE, whole, down) == 0.0


def test_failing_over_a_read_goes_to_the_first_replica_up_else_the_gutter_or_the_backend():
    keys = np.arange(2000, dtype=np.int64)
    state = FleetState((0, 1, 2, 3), (0, 2, 3))  # node 1 is down
    for failover, replicas, gutter in (("backend", 1, 0), ("gutter", 1, 2), ("backend", 2, 0)):
        ranking = routing("consistent", ids=4, failover=failover, replicas=replicas, gutter=gutter)
        choices = ranking.rank(keys, state)
        targets = ranking.targets(keys, choices, state)
        for key, ranked, target in zip(keys, choices, targets):
            up = [int(n) for n in ranked[:replicas] if n in state.up]
            expected = up[0] if up else (int(ranking.gutter_of(np.array([key]))[0]) if gutter else -1)
            assert target == expected
        if gutter:
            assert set(targets[choices[:, 0] == 1]) <= {4, 5} and len(set(targets[choices[:, 0] == 1])) == 2


def test_the_catalogue_sample_is_the_catalogue_or_an_even_spread_of_it():
    small = Workload(Zipf(1000, 0.9), Poisson(1.0))
    assert np.array_equal(catalogue_sample(small), np.arange(1000))
    classes = Workload(
        None,
        Poisson(1.0),
        classes=(KeyClass(Zipf(3 * 2**20, 0.9), name="a", share=0.5), KeyClass(Zipf(2**20, 0.9), name="b", share=0.5)),
    )
    sample = catalogue_sample(classes)
    assert len(sample) == CATALOGUE_SAMPLE and len(set(sample.tolist())) == CATALOGUE_SAMPLE
    assert np.count_nonzero(sample >> 40 == 0) == 3 * 2**18 and sample[sample >> 40 == 0].max() < 3 * 2**20


def test_a_runs_fleet_csv_reports_the_share_the_routing_moved():
    sc = scenario(cluster=ClusterSpec(nodes=3, capacity=80, changes=(Change(0.5, add=1), Change(1.0, remove=(0,)))))
    rows = run(sc, 2).fleet
    ring = routing("consistent", ids=4)
    catalogue = catalogue_sample(sc.workload)
    assert rows[0]["moved_share"] == ring.moved_share(catalogue, fleet(range(3)), fleet(range(4)))
    assert rows[1]["moved_share"] == ring.moved_share(catalogue, fleet(range(4)), fleet([1, 2, 3]))
    assert [row["nodes"] for row in rows] == [4, 3]
