import bisect

import numpy as np
import pytest

from sim.backend import FCFSServers
from sim.balancer import ConsistentHashRing, Modulo, make_balancer
from workloads.hashing import mix64


def test_stable_hash_known_values():
    # splitmix64 of 0 from the reference implementation's first output (seed 0).
    assert int(mix64(np.array([0]))[0]) == 0xE220A8397B1DCDAF
    assert mix64(np.arange(5)).tolist() == mix64(np.arange(5)).tolist()


def test_modulo_spreads_evenly_and_is_deterministic():
    nodes = Modulo(4).route(np.arange(100_000))
    counts = np.bincount(nodes, minlength=4)
    assert np.all(np.abs(counts - 25_000) < 600)
    assert np.array_equal(nodes, Modulo(4).route(np.arange(100_000)))


def test_ring_moves_few_keys_when_a_node_is_added():
    keys = np.arange(200_000)
    before = ConsistentHashRing(8, 160).route(keys)
    after = ConsistentHashRing(9, 160).route(keys)
    moved = np.mean(before != after)
    assert moved == pytest.approx(1 / 9, abs=0.03)
    assert np.all(after[before != after] == 8)  # keys only move to the new node
    modulo_moved = np.mean(Modulo(8).route(keys) != Modulo(9).route(keys))
    assert modulo_moved > 0.8


@pytest.mark.parametrize("vnodes", [10, 100, 1000])
def test_ring_share_spread_shrinks_with_virtual_nodes(vnodes):
    shares = ConsistentHashRing(64, vnodes).shares()
    assert shares.sum() == pytest.approx(1.0)
    cv = shares.std() / shares.mean()
    assert cv == pytest.approx(1 / np.sqrt(vnodes), rel=0.35)


def test_unknown_balancer():
    with pytest.raises(
        ValueError, match="unknown balancer 'hash'; valid: bounded, consistent, modulo, p2c, random, rendezvous"
    ):
        make_balancer("hash", 2)


def test_power_of_two_choices_picks_the_less_busy_and_copes_with_one_node_up():
    p2c = make_balancer("p2c", 3)
    assert p2c.choose([2, 0], {0: 1, 1: 0, 2: 3}, 4, 3) == 0
    assert p2c.choose([2, 0], {0: 3, 1: 0, 2: 3}, 6, 3) == 2  # a tie goes to the key's first choice
    assert p2c.choose([1], {0: 0, 1: 7, 2: 0}, 7, 1) == 1  # the only node up


def test_fcfs_servers_hand_traced():
    servers = FCFSServers(2)
    assert servers.submit(0.0, 5.0) == 5.0  # server A busy until 5
    assert servers.submit(1.0, 5.0) == 6.0  # server B busy until 6
    assert servers.submit(2.0, 1.0) == 6.0  # waits for A (free at 5): 5 + 1
    assert servers.submit(2.5, 1.0) == 7.0  # waits for B (6) or A (6): 6 + 1
    assert servers.submit(10.0, 1.0) == 11.0  # idle servers: no wait


@pytest.mark.parametrize("points_per_node", [1, 7, 160])
def test_the_compiled_ring_lookup_finds_numpys_points(points_per_node):
    """sim/_compiled/routing.pyx's table lookup answers as a binary search of the ring does, on any alive set."""
    from sim import balancer as balancer_module

    if balancer_module.ring_positions is None:
        pytest.skip("the compiled engine is not built")
    ring = ConsistentHashRing(5, points_per_node)
    keys = np.concatenate([np.arange(-50, 5000), np.random.default_rng(1).integers(-(2**63), 2**63 - 1, 50_000)])
    for alive in [(0, 1, 2, 3, 4), (1, 3), (2,)]:
        points = ring._ring(alive)[0]
        assert np.array_equal(ring.positions(keys, alive), np.searchsorted(points, mix64(keys), side="left"))


@pytest.mark.parametrize("points_per_node", [1, 3, 160])
def test_the_rings_ranking_is_the_clockwise_walk_of_each_key(points_per_node):
    """preference() gathers each key's row of a per-point table: it must rank as walking the ring
    clockwise from the key's hash does, owners in order of their first point, repeats skipped."""
    ring = ConsistentHashRing(5, points_per_node)
    keys = np.concatenate([np.arange(-20, 200), np.random.default_rng(2).integers(-(2**63), 2**63 - 1, 300)])
    for alive in [(0, 1, 2, 3, 4), (0, 2, 4), (1, 3), (4,)]:
        points = [int(p) for p, owner in zip(ring.points, ring.owners) if owner in alive]
        owners = [int(owner) for owner in ring.owners if owner in alive]
        for depth in range(1, len(alive) + 1):
            ranked = ring.preference(keys, alive, depth)
            for key, row in zip(keys, ranked):
                start = bisect.bisect_left(points, int(mix64(np.array([key]))[0]))
                walk = [owners[(start + step) % len(owners)] for step in range(len(owners))]
                assert row.tolist() == list(dict.fromkeys(walk))[:depth], (key, alive, depth)
