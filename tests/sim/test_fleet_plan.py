"""The fleet's plan and schedule (sim/fleet.py, sim/membership.py), hand-traced."""

import itertools
import math

import pytest

from sim.fleet import FleetError, FleetPlan, RestartWalks, planned_ids
from sim.membership import Membership
from sim.scenario import Change, ClusterSpec, Outage, Restarts


def plan(*changes, nodes=3, capacity=100):
    fleet = FleetPlan(nodes, capacity, tuple(changes))
    fleet.advance(math.inf)
    return fleet


def test_ids_are_ordinals_an_add_takes_the_lowest_free_a_remove_the_newest():
    fleet = plan(Change(1.0, add=2), Change(2.0, remove=(1,)), Change(3.0, add=1), Change(4.0, remove=2))
    assert [(s.node, s.joins, s.leaves) for s in fleet.stints] == [
        (0, 0.0, math.inf),
        (1, 0.0, 2.0),
        (2, 0.0, math.inf),
        (3, 1.0, 4.0),
        (4, 1.0, 4.0),
        (1, 3.0, math.inf),  # id 1 taken again
    ]
    assert fleet.ids == 5
    assert fleet.members_at(3.5) == {0, 1, 2, 3, 4} and fleet.members_at(4.0) == {0, 1, 2}


def test_provisioning_takes_an_id_before_it_serves():
    fleet = plan(Change(1.0, add=1, provision_s=0.5), Change(1.2, add=1))
    assert fleet.members_at(1.2) == {0, 1, 2, 4} and fleet.taken_at(1.2) == {0, 1, 2, 3, 4}
    assert fleet.members_at(1.5) == {0, 1, 2, 3, 4}


def test_capacity_changes_for_the_fleet_and_for_nodes():
    fleet = plan(Change(1.0, capacity=50), Change(2.0, capacity=70, nodes=(2,)), Change(3.0, add=1))
    assert [fleet.capacity_of(n, 2.5) for n in range(3)] == [50, 50, 70]
    assert fleet.capacity_of(3, 3.0) == 50  # a node added later gets the fleet's capacity
    assert fleet.capacity_of(0, 0.5) == 100


def test_cost_integrates_members_and_provisioning_nodes_and_their_capacity():
    fleet = plan(Change(1.0, add=1, provision_s=1.0), Change(4.0, capacity=50), Change(5.0, remove=1), nodes=2)
    nodes, capacity = fleet.cost(0.0, 6.0)
    # Nodes 0 and 1 all along; node 2 from its decision at 1 s (provisioning) to its removal at 5 s.
    assert nodes == 2 * 6 + 4
    assert capacity == 100 * (2 * 4 + 3) + 50 * (2 * 2 + 1)
    assert fleet.cost(4.5, 5.5) == (2.5, 50 * 2.5)


@pytest.mark.parametrize(
    "change, message",
    [
        (Change(1.0, remove=3), "shrink below one node"),
        (Change(1.0, remove=4), "only 3 nodes are in the fleet"),
        (Change(1.0, remove=(5,)), "node 5 is not in the fleet"),
        (Change(1.0, capacity=10, nodes=(7,)), "node 7 is not a member"),
    ],
)
def test_plans_no_fleet_can_follow_are_refused_naming_the_change(change, message):
    with pytest.raises(FleetError, match=rf"cluster.changes\[0\].*{message}"):
        plan(change)


def test_planned_ids_plans_the_whole_run():
    cluster = ClusterSpec(nodes=2, changes=(Change(5.0, add=3), Change(9.0, remove=2), Change(12.0, add=1)))
    assert planned_ids(cluster) == 5


def test_a_rolling_restart_walks_the_members_by_id_then_waits_for_the_next():
    fleet = FleetPlan(3, 100)
    walks = RestartWalks(Restarts(every_s=10.0, down_s=1.0, gap_s=0.5), fleet, seed=1)
    first, second = next(walks), next(walks)
    assert first.outages == ((0, 10.0, 11.0), (1, 11.5, 12.5), (2, 13.0, 14.0))
    assert second.outages[0] == (0, 20.0, 21.0)
    slow = RestartWalks(Restarts(every_s=2.0, down_s=1.0, start_s=1.0), FleetPlan(3, 100), seed=1)
    assert [walk.start for walk in itertools.islice(slow, 3)] == [1.0, 4.0, 7.0]  # each when the last ended


def test_restarts_end_where_their_down_time_is_lost_in_the_clock():
    # At 10**8 s a float64 time steps by 1.5e-8 s: a nanosecond down there changes nothing, nor does any
    # later walk, and the search for the fleet's next change, which a run's drain makes after its last
    # request, went on for ever.
    walks = RestartWalks(Restarts(every_s=1e8, down_s=1e-9, start_s=0.2), FleetPlan(1, 100), seed=1)
    assert next(walks).outages == ((0, 0.2, 0.2 + 1e-9),)
    assert walks.next_start == math.inf
    restarting = ClusterSpec(nodes=1, capacity=10, restarts=Restarts(every_s=1e8, down_s=1e-9, start_s=0.2))
    assert list(Membership.of(restarting, seed=1).change_times()) == [0.2, 0.2 + 1e-9]


def test_a_scale_out_by_thousands_of_nodes_reads_the_fleet_once():
    # Each new node takes the lowest free id: asking "which ids are taken" once per node made a
    # scale-out of n nodes cost n * n (4,096 at once: 17 s).
    fleet = FleetPlan(3, 100)
    asked = []
    taken_at = fleet.taken_at
    fleet.taken_at = lambda t: asked.append(t) or taken_at(t)  # type: ignore[method-assign]
    fleet.apply(Change(5.0, add=4096, provision_s=1.0))
    assert asked == [5.0]
    assert sorted(fleet.members_at(6.0)) == list(range(4099)) and fleet.ids == 4099
    fleet.apply(Change(7.0, remove=(1, 2)))
    assert fleet.apply(Change(8.0, add=3)) == (1, 2, 4099)  # the freed ids first, then the next new one


def test_random_restart_orders_are_drawn_per_walk_from_their_own_stream():
    def orders(seed):
        walks = RestartWalks(Restarts(every_s=10.0, down_s=1.0, order="random"), FleetPlan(6, 100), seed)
        return [tuple(o[0] for o in walk.outages) for walk in itertools.islice(walks, 4)]

    assert orders(3) == orders(3) != orders(4)
    assert all(sorted(order) == list(range(6)) for order in orders(3))
    assert len(set(orders(3))) > 1


def test_transitions_give_rows_in_order_with_the_state_around_each():
    cluster = ClusterSpec(
        nodes=3,
        changes=(Change(2.0, add=1, provision_s=0.5), Change(4.0, remove=(0,)), Change(5.0, capacity=40)),
        failures=(Outage(1, 1.0, 3.0),),
        restarts=Restarts(every_s=6.0, down_s=0.5),
    )
    rows = [row for _, group in itertools.islice(Membership.of(cluster, 1).transitions(), 7) for row in group]
    assert [(r.time, r.kind, r.nodes, r.reason, r.serving) for r in rows] == [
        (1.0, "down", (1,), "failure", 2),
        (2.5, "add", (3,), "planned", 3),
        (3.0, "up", (1,), "failure", 4),
        (4.0, "remove", (0,), "planned", 3),
        (5.0, "capacity", (1, 2, 3), "planned", 3),
        (6.0, "down", (1,), "restart", 2),
        (6.5, "up", (1,), "restart", 3),  # the next goes down as the previous comes back
        (6.5, "down", (2,), "restart", 2),
    ]
    assert rows[1].since == (2.0,) and rows[1].capacity == 2500  # decided at 2 s, joins at the fleet's capacity
    assert rows[2].since == (1.0,)  # down since 1 s
    assert rows[6].before.up == (2, 3) and rows[6].after.up == (1, 2, 3) and rows[7].before == rows[6].after


def test_an_outage_counts_only_while_its_id_is_a_member():
    cluster = ClusterSpec(nodes=3, changes=(Change(1.0, remove=(2,)),), failures=(Outage(2, 2.0, 3.0),))
    membership = Membership.of(cluster, 1)
    rows = [row for _, group in membership.transitions() for row in group]
    assert [(r.kind, r.nodes) for r in rows] == [("remove", (2,))]
    assert membership.state_at(2.5).up == (0, 1)


def test_previous_change_and_arrivals_look_back_past_changes_that_changed_nothing():
    cluster = ClusterSpec(
        nodes=3, changes=(Change(1.0, remove=(2,)),), failures=(Outage(2, 2.0, 3.0), Outage(0, 4.0, 5.0))
    )
    membership = Membership.of(cluster, 1)
    when, before = membership.previous_change(3.5)  # the outage of the removed id changed nothing
    assert when == 1.0 and before.up == (0, 1, 2)
    assert membership.previous_change(0.5) is None
    assert [(t, node) for t, node, _ in membership.arrivals_between(0.0, 6.0)] == [(5.0, 0)]
