"""The failure schedule both models are given: which nodes are up, and when that changes."""

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

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


outages = st.lists(
    st.tuples(st.integers(0, 2), st.floats(0, 50), st.floats(0.001, 20)).map(lambda o: Outage(o[0], o[1], o[1] + o[2])),
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(scheduled=outages, mtbf=st.sampled_from([0.0, 2.0, 30.0]), times=st.lists(st.floats(0, 80), max_size=30))
def test_alive_at_is_a_scan_of_the_outages(scheduled, mtbf, times):
    """The bisection per node answers as a scan of every outage drawn would (overlaps included)."""
    membership = Membership(3, scheduled, mtbf_s=mtbf, mttr_s=1.5, seed=7)
    for t in sorted(times):
        alive = membership.alive_at(t)
        down = {o.node for o in membership.outages if o.down_at <= t < o.up_at}
        assert alive == tuple(n for n in range(3) if n not in down)
    changes = membership.changes_between(0.0, 80.0)
    expected = {o.down_at for o in membership.outages} | {o.up_at for o in membership.outages}
    assert changes == sorted(x for x in expected if 0.0 < x <= 80.0)
