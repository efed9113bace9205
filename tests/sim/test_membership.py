"""The failure schedule both models are given: which nodes are up, and when that changes."""

import itertools

from sim.membership import Membership
from sim.scenario import Outage


def test_scheduled_outages_hand_traced():
    # Node 0 is down over [1, 3) and [2, 4): one outage from 1 to 4; node 1 over [2, 2.5).
    membership = Membership(3, (Outage(0, 1.0, 3.0), Outage(1, 2.0, 2.5), Outage(0, 2.0, 4.0)))
    assert list(membership.change_times()) == [1.0, 2.0, 2.5, 3.0, 4.0]
    assert [membership.alive_at(t) for t in (0.0, 1.0, 2.0, 2.5, 3.0, 4.0)] == [
        (0, 1, 2),
        (1, 2),
        (2,),
        (1, 2),
        (1, 2),
        (0, 1, 2),
    ]
    assert list(Membership(2).change_times()) == []


def test_random_failures_are_the_same_however_far_ahead_they_are_drawn():
    stepwise = list(itertools.islice(Membership(4, mtbf_s=5.0, mttr_s=1.0, seed=3).change_times(), 60))
    assert stepwise == sorted(set(stepwise))
    at_once = Membership(4, mtbf_s=5.0, mttr_s=1.0, seed=3).changes_between(0.0, stepwise[-1])
    assert at_once == stepwise
    assert stepwise != list(itertools.islice(Membership(4, mtbf_s=5.0, mttr_s=1.0, seed=4).change_times(), 60))
