"""evict_to and resize: a cache shrunk at run time evicts exactly down to its new size, in its own order.

Each family is traced by hand on a small case (the keys evicted, in order,
and what is left); the single-structure policies are also held to one
eviction loop: evict_to(capacity - s) evicts exactly what an insert of
size s would have.
"""

import pytest

from policies import HookPolicy, Policy, PolicyContractError, available, make_policy, policy_class


def filled(name, capacity, keys="abcdefgh", hits="", **params):
    cache = make_policy(name, capacity, **params)
    for key in keys[:capacity]:
        cache.lookup(key)
        cache.insert(key)
    for key in hits:
        assert cache.lookup(key), key
    return cache


HAND_TRACED = {
    # policy: (capacity, keys inserted, hits, new capacity, evicted in order, keys left in keys() order)
    "fifo": (5, "abcde", "a", 3, ["a", "b"], ["c", "d", "e"]),
    "lru": (5, "abcde", "ac", 2, ["b", "d", "e"], ["a", "c"]),
    # The hand spares a and b (their bits cleared, moved behind), then takes c and d.
    "clock": (5, "abcde", "ab", 3, ["c", "d"], ["e", "a", "b"]),
    # The hand sweeps from the tail: a out, b spared, c out, d spared, e out.
    "sieve": (5, "abcde", "bd", 2, ["a", "c", "e"], ["b", "d"]),
    # Frequencies a 2, b 1, c 3, d 1, e 1: the ones at 1 leave in the order they got there.
    "lfu": (5, "abcde", "acc", 2, ["b", "d", "e"], ["a", "c"]),
    # Before the first eviction the age is 0 and a hit adds nothing: LRU order (b, c, d, e, a).
    "lfuda": (5, "abcde", "a", 3, ["b", "c"], ["d", "e", "a"]),
    # Priorities 1e6 (a, b, d, e) and 2e6 (c): the lowest first, ties by the time they were set.
    "gdsf": (5, "abcde", "c", 3, ["a", "b"], ["d", "e", "c"]),
    # a and b were hit: T2 = [a, b], T1 = [c, d]; p = 0, so REPLACE takes T1's LRU twice (into B1).
    "arc": (4, "abcd", "ab", 2, ["c", "d"], ["a", "b"]),
    # Ain grew to the whole cache while Am was empty; the new shares are Ain 1, Am 3, Aout 2:
    # Ain's oldest leave into Aout, which keeps the newest two.
    "twoq": (8, "abcdefgh", "", 4, ["a", "b", "c", "d"], ["e", "f", "g", "h"]),
    # K = 2: c and a were hit (their 2nd-last requests at ticks 6 and 2), b d e are young: the young
    # FIFO goes first, then the oldest 2nd-last request, a's.
    "lruk": (5, "abcde", "ca", 1, ["b", "d", "e", "a"], ["c"]),
}


@pytest.mark.parametrize("name", list(HAND_TRACED))
def test_a_shrink_evicts_through_the_policys_own_order(name):
    capacity, keys, hits, new, evicted, left = HAND_TRACED[name]
    cache = filled(name, capacity, keys, hits)
    assert cache.resize(new) == evicted
    assert cache.keys() == left
    assert cache.used == len(left) <= cache.capacity == new


def test_arc_keeps_its_ghosts_within_the_new_bounds():
    cache = filled("arc", 4, "abcd", "ab")
    cache.resize(2)
    assert cache.ghost_keys() == ["c", "d"]  # |T1| + |B1| = 2 <= c, all four lists 4 <= 2c
    assert cache.p == 0


def test_twoq_aout_forgets_its_oldest_to_fit_its_new_share():
    cache = filled("twoq", 8, "abcdefgh")
    cache.resize(4)
    assert cache.ghost_keys() == ["c", "d"]
    assert (cache.ain_capacity, cache.am_capacity, cache.aout_capacity) == (1, 3, 2)


def test_s3fifo_shrink_hand_traced():
    # Capacity 10: small holds 1 unit, so after key 0 the warming cache puts 1..9 in main.
    cache = make_policy("s3fifo", 10)
    for key in range(10):
        cache.lookup(key)
        cache.insert(key)
    assert cache.small_keys() == [0] and cache.main_keys() == list(range(1, 10))
    cache.lookup(0)
    cache.lookup(0)
    cache.lookup(1)
    # New shares: small 1, main 4.  Main is over its share: its CLOCK spares 1 (hit since its last
    # pass: reinserted, one step colder) and evicts 2..6.
    assert cache.resize(5) == [2, 3, 4, 5, 6]
    assert cache.main_keys() == [7, 8, 9, 1] and cache.small_keys() == [0]
    assert (cache.small_capacity, cache.main_capacity) == (1, 4)


def test_slru_shrink_cools_segments_from_the_top():
    # Capacity 8, four segments of 2: the warming cache filled a b | c d | e f | g h.
    cache = filled("slru", 8, "abcdefgh")
    assert [cache.segment_of(k) for k in "abcdefgh"] == [0, 0, 1, 1, 2, 2, 3, 3]
    # New segments of 1: the top one cools (g down), which cascades: each segment's LRU object
    # drops one down, and segment 0's leave the cache, oldest first.
    assert cache.resize(4) == ["a", "b", "c", "d"]
    assert [cache.segment_of(k) for k in "efgh"] == [0, 1, 2, 3]


def test_lirs_shrink_demotes_lir_objects_then_evicts_hir():
    # Capacity 10: HIR share 1, LIR 9; keys 0..8 are LIR, 9 is the resident HIR object.
    cache = make_policy("lirs", 10)
    for key in range(10):
        cache.lookup(key)
        cache.insert(key)
    assert cache.lir_keys() == list(range(9))
    # New shares LIR 4, HIR 1: the bottom LIR objects are demoted one by one, each pushing the
    # HIR object before it out of Q.
    assert cache.resize(5) == [9, 0, 1, 2, 3]
    assert cache.keys() == [5, 6, 7, 8, 4]


def test_mq_shrink_empties_the_lowest_queue_first_into_a_smaller_qout():
    # Counts a 3, b 2 (queue 1, a then b), c d e 1 (queue 0); Qout re-derived to 1 x the new capacity.
    cache = filled("mq", 5, "abcde", "aab", qout_size_ratio=1.0)
    assert cache.resize(1) == ["c", "d", "e", "a"]
    assert cache.keys() == ["b"] and cache.qout_capacity == 1
    assert cache.ghost_keys() == ["a"] and cache.qout_count == {"a": 3}


def test_flashprob_shrink_trims_flash_to_its_share_then_drains_the_ram_through_it():
    # Every RAM victim is written (probability 1); shares RAM 5, flash 5, all ten keys in the RAM.
    cache = filled("flashprob", 10, "abcdefghij", ram_size_ratio=0.5, disk_admit_prob=1.0)
    # Shares RAM 2, flash 2: a and b go to flash, then each write pushes flash's oldest out.
    assert cache.resize(4) == ["a", "b", "c", "d", "e", "f"]
    assert cache.keys() == ["g", "h", "i", "j"] and cache.flash_writes == 8
    # Shares RAM 1, flash 1: flash first drops g to fit; then i goes to flash and pushes h out.
    assert cache.resize(2) == ["g", "h"]
    assert cache.keys() == ["i", "j"] and (cache.ram_capacity, cache.disk_capacity) == (1, 1)


def test_lecar_shrink_rederives_its_discount_and_ghost_share():
    cache = filled("lecar", 8, "abcdefgh", "aab")
    cache.resize(4)
    assert cache.ghost_capacity == 2 and cache.discount == pytest.approx(0.005 ** (1 / 4))
    assert cache.used == 4 and len(cache.lru_ghosts) + len(cache.lfu_ghosts) <= 2
    assert set(cache.evicted_at) == set(cache.lru_ghosts) | set(cache.lfu_ghosts)


def test_clockpro_shrink_runs_its_cold_hand_then_its_hot_hand_to_the_new_share():
    cache = make_policy("clockpro", 4)  # the hand-traced run of tests/policies/test_clockpro.py
    for key in "abcdef":
        if key == "f":
            assert cache.lookup("c")
        if not cache.lookup(key):
            cache.insert(key)
        if key == "e":
            assert not cache.lookup("d") and cache.insert("d") == ["e"]
    assert cache.keys() == ["b", "c", "d", "f"] and cache.hot_keys() == ["c", "d"] and cache.ghost_keys() == ["e"]
    # m_c's bounds at capacity 2 are [1, 1]: HAND_cold (at b) evicts b (demoted, out of the list) and
    # f (in its test period: a non-resident key); HAND_hot, to fit a hot share of 1, spares c (its bit
    # cleared), ends e's test period (e leaves) and demotes d.
    assert cache.resize(2) == ["b", "f"]
    assert cache.keys() == ["c", "d"] and cache.hot_keys() == ["c"] and cache.ghost_keys() == ["f"]
    assert cache.cold_target == 1


def played(name):
    cache = make_policy(name, 50)
    for i in range(400):  # a skewed stream, so recency and frequency differ
        key = (i * 7919) % 61 if i % 3 else i % 9
        if not cache.lookup(key):
            cache.insert(key)
    return cache


#: single-structure policies whose insert is "evict to capacity - size, then add"
ONE_LOOP = ["fifo", "lru", "clock", "sieve", "lfu", "lfuda", "random", "slru", "wtinylfu"]
ONE_LOOP += ["lruk", "mq", "hyperbolic", "lecar", "flashprob", "lhd"]


@pytest.mark.parametrize("name", ONE_LOOP)
def test_evict_to_is_the_loop_an_insert_runs(name):
    cache, twin = played(name), played(name)  # (not deep copies: RANDOM's generator would be shared)
    size = min(5, cache.max_object_size)
    evicted = cache.evict_to(cache.capacity - size)
    assert twin.insert("new", size) == evicted and len(evicted) >= size
    assert cache.used <= cache.capacity - size


#: the built-in policies that cannot evict to a size: memcached (its memory limit frees no slab page at
#: once); a fleet's capacity change or batch eviction refuses it when the config is checked
NOT_RESIZABLE = {"memcached"}


def test_the_policies_that_cannot_resize_say_so():
    for name in available():
        cache = make_policy(name, 40)
        assert cache.resizable == (name not in NOT_RESIZABLE), name
        if name in NOT_RESIZABLE:
            with pytest.raises(NotImplementedError, match="cannot evict to a size"):
                cache.resize(15)


@pytest.mark.parametrize("name", [n for n in available() if n not in NOT_RESIZABLE])
def test_every_builtin_policy_resizes_both_ways(name):
    cache = make_policy(name, 40)
    keys = [(i * 37) % 97 for i in range(300)]
    if policy_class(name).offline:
        cache.prepare(keys * 3)  # (a third pass: BeladySize caches no key it will not see again)
    for key in keys:
        if not cache.lookup(key):
            cache.insert(key)
    before = set(cache.keys())
    evicted = cache.resize(15)
    assert cache.capacity == 15 and cache.used <= 15
    assert set(evicted) == before - set(cache.keys()) and not set(evicted) & set(cache.keys())
    assert cache.resize(60) == [] and cache.capacity == 60
    for key in keys:  # growing takes effect for the next inserts
        if not cache.lookup(key):
            cache.insert(key)
    assert 15 < cache.used <= 60


def test_byte_capacities_evict_to_a_number_of_bytes():
    cache = make_policy("lru", 1000)
    for key, size in zip("abcde", (100, 300, 200, 250, 150)):
        cache.insert(key, size)
    assert cache.evict_to(500) == ["a", "b", "c"]
    assert cache.used == 400


def test_memcached_cannot_be_resized():
    cache = make_policy("memcached", 1000)
    assert not cache.resizable
    with pytest.raises(NotImplementedError, match="memcached"):
        cache.evict_to(10)


def test_admission_wraps_a_resizable_policy():
    cache = make_policy("lru", 5, admission="size", admission_params={"threshold": 10})
    for key in "abcde":
        cache.insert(key)
    assert cache.resizable
    assert cache.resize(2) == ["a", "b", "c"] and cache.capacity == 2


class HookLRU(HookPolicy):
    def __init__(self, capacity):
        super().__init__(capacity)
        self.order = {}

    def on_insert(self, key):
        self.order[key] = None

    def on_hit(self, key):
        self.order.pop(key)
        self.order[key] = None

    def on_remove(self, key):
        del self.order[key]

    def victim(self):
        return next(iter(self.order))


class NoResize(Policy):
    """A user's policy with the interface but no evict_to."""

    def __init__(self, capacity):
        super().__init__(capacity)
        self.held = {}

    def lookup(self, key):
        return key in self.held

    def insert(self, key, size=1):
        self.held[key] = size
        self.used += size
        return []

    def remove(self, key):
        return self.held.pop(key, None) is not None

    def __contains__(self, key):
        return key in self.held

    def __len__(self):
        return len(self.held)

    def keys(self):
        return list(self.held)


class LyingResize(NoResize):
    def evict_to(self, units):
        return ["a"]  # says so, evicts nothing


def test_a_hook_policy_resizes_through_its_victim_hook():
    cache = HookLRU(4)
    for key in "abcd":
        cache.insert(key)
    cache.lookup("a")
    assert cache.resizable
    assert cache.resize(2) == ["b", "c"] and cache.keys() == ["a", "d"]


def test_a_users_policy_is_resizable_only_with_evict_to_and_is_held_to_it():
    without = make_policy("tests.policies.test_resize:NoResize", 3)
    assert not without.resizable
    lying = make_policy("tests.policies.test_resize:LyingResize", 3)
    lying.insert("a")
    lying.insert("b")
    assert lying.resizable
    with pytest.raises(PolicyContractError, match="evict_to.*over the 1 asked for"):
        lying.evict_to(1)
