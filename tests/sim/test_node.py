"""A cache node adds time to a policy and must change nothing else about it."""

from functools import partial

import pytest

from policies import make_policy
from policies.lru import LRU
from sim.node import CacheNode
from workloads import Zipf, rng_for

KEYS = Zipf(500, 0.8).ranks(rng_for(7, "test.node"), 6000).tolist()
#: policies that remember more than their cached keys (ghosts, frequencies), some evicting during hits
REMEMBERING = [
    ("arc", {}),
    ("lirs", {"admission": "tinylfu"}),
    ("wtinylfu", {"admission": "tinylfu"}),
    ("s3fifo", {}),
    ("twoq", {}),
]


def serve(node: CacheNode, keys, start: int = 0, ttl: float = 0.0) -> list:
    """One request per second: look up, and on a miss store the key at once; the hit of each."""
    hits = []
    for now, key in enumerate(keys, start):
        hit = node.lookup(key, float(now))
        if not hit:
            node.fill(key, 1, float(now), ttl)
        hits.append(bool(hit))
    return hits


def node_of(name, params) -> CacheNode:
    return CacheNode(partial(make_policy, name, 60, **params))


@pytest.mark.parametrize(("name", "params"), REMEMBERING)
def test_a_ttl_that_never_runs_out_changes_nothing(name, params):
    plain = serve(node_of(name, params), KEYS)
    with_ttl = serve(node_of(name, params), KEYS, ttl=1e9)
    assert with_ttl == plain
    assert 0 < sum(plain) < len(plain)


@pytest.mark.parametrize(("name", "params"), REMEMBERING)
def test_a_failed_node_comes_back_as_a_new_one(name, params):
    half = len(KEYS) // 2
    node = node_of(name, params)
    serve(node, KEYS[:half])
    node.clear()
    assert len(node.policy) == 0
    assert serve(node, KEYS[half:], start=half) == serve(node_of(name, params), KEYS[half:], start=half)


class RecordingLRU(LRU):
    """LRU that notes every key it is asked about."""

    def __init__(self, capacity):
        super().__init__(capacity)
        self.asked = []

    def lookup(self, key):
        self.asked.append(key)
        return super().lookup(key)


def test_an_expired_read_reaches_the_policy_as_a_miss():
    node = CacheNode(partial(RecordingLRU, 10), refresh_on_hit=True)
    node.fill("a", 1, now=0.0, ttl=1.0)
    assert node.lookup("a", 0.5) is True  # a hit restarts the TTL: now until 1.5
    assert node.lookup("a", 1.2) is True
    assert node.lookup("a", 2.2) is None  # expired at 2.2: dropped, a miss
    assert "a" not in node
    assert node.policy.asked == ["a", "a", "a"]


def test_removing_a_key_the_node_no_longer_holds_leaves_the_policy_memory_of_it():
    # Active expiry may come for a key its policy evicted during a hit; the policy's ghost must stay.
    node = node_of("arc", {})
    serve(node, KEYS, ttl=1e9)
    ghost = node.policy.ghost_keys()[0]
    assert node.remove(ghost) is False
    assert ghost in node.policy.ghost_keys()
