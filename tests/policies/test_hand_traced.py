"""Eviction orders traced by hand, one small sequence per policy.

Each test states the cache content after each step in a comment; the
assertions check the hits and the evicted keys exactly.
"""

import pytest

from policies import make_policy


def trace(policy, keys, sizes=None):
    """Replay keys; return (hit flags, evicted keys per request)."""
    hits, evictions = [], []
    for i, key in enumerate(keys):
        size = 1 if sizes is None else sizes[i]
        if policy.lookup(key):
            hits.append(True)
            evictions.append([])
        else:
            hits.append(False)
            evictions.append(policy.insert(key, size))
    return hits, evictions


def test_lru_evicts_least_recently_used():
    cache = make_policy("lru", 3)
    hits, evicted = trace(cache, ["a", "b", "c", "a", "d", "b", "e", "a"])
    # a b c -> [a b c]; a hit -> [b c a]; d evicts b -> [c a d]; b evicts c -> [a d b]
    # e evicts a -> [d b e]; a evicts d -> [b e a]
    assert hits == [False, False, False, True, False, False, False, False]
    assert evicted == [[], [], [], [], ["b"], ["c"], ["a"], ["d"]]
    assert cache.keys() == ["b", "e", "a"]


def test_fifo_ignores_hits():
    cache = make_policy("fifo", 3)
    hits, evicted = trace(cache, ["a", "b", "c", "a", "d", "a", "e"])
    # [a b c]; a hit changes nothing; d evicts a -> [b c d]; a evicts b -> [c d a]; e evicts c
    assert hits == [False, False, False, True, False, False, False]
    assert evicted == [[], [], [], [], ["a"], ["b"], ["c"]]
    assert cache.keys() == ["d", "a", "e"]


def test_lfu_evicts_least_frequent_then_oldest_at_that_frequency():
    cache = make_policy("lfu", 3)
    hits, evicted = trace(cache, ["a", "a", "b", "c", "c", "d", "b", "e"])
    # a:1 a:2 b:1 c:1 c:2 -> d evicts b (count 1, the only one) -> {a:2, c:2, d:1}
    # b evicts d (count 1) -> {a:2, c:2, b:1}; e evicts b -> {a:2, c:2, e:1}
    assert hits == [False, True, False, False, True, False, False, False]
    assert evicted == [[], [], [], [], [], ["b"], ["d"], ["b"]]
    # Ties at count 2: a reached 2 before c, so a goes first.
    assert cache.keys() == ["e", "a", "c"]
    assert cache.insert("f") == ["e"]
    assert cache.insert("g") == ["f"]


def test_lfu_tie_broken_by_time_of_reaching_the_count():
    cache = make_policy("lfu", 2)
    trace(cache, ["a", "b", "b", "a"])
    # b reached count 2 before a did: b is the older at count 2, so it goes first.
    assert cache.insert("c") == ["b"]


def test_clock_gives_a_second_chance():
    cache = make_policy("clock", 3)
    hits, evicted = trace(cache, ["a", "b", "c", "a", "d", "e", "a", "f"])
    # [a0 b0 c0]; a hit -> a1; d: hand at a1 -> clear, move back [b0 c0 a0], evict b -> [c0 a0 d0]
    # e evicts c -> [a0 d0 e0]; a hit -> a1; f: a1 cleared and moved -> [d0 e0 a0], evict d
    assert hits == [False, False, False, True, False, False, True, False]
    assert evicted == [[], [], [], [], ["b"], ["c"], [], ["d"]]
    assert cache.keys() == ["e", "a", "f"]


def test_clock_with_two_bits_counts_up_to_three():
    cache = make_policy("clock", 2, bits=2)
    for key in ["a", "b", "a", "a", "a", "a"]:
        cache.access(key)
    # a's counter saturates at 3; inserting c sweeps: a3->2 (back), b0 evicted.
    assert cache.insert("c") == ["b"]
    # d: a2->1 (back), c0 evicted.
    assert cache.insert("d") == ["c"]


def test_random_evicts_only_cached_keys_and_is_reproducible():
    first = make_policy("random", 4, seed=7)
    second = make_policy("random", 4, seed=7)
    keys = [k % 11 for k in range(200)]
    assert [first.access(k) for k in keys] == [second.access(k) for k in keys]
    assert first.keys() == second.keys()
    other = make_policy("random", 4, seed=8)
    assert [other.access(k) for k in keys] != [make_policy("random", 4, seed=7).access(k) for k in keys]


def test_random_eviction_is_uniform():
    # Fill with 0..9, insert one more key many times over fresh caches: each
    # victim should be chosen about 10% of the time.
    counts = dict.fromkeys(range(10), 0)
    for seed in range(3000):
        cache = make_policy("random", 10, seed=seed)
        for key in range(10):
            cache.insert(key)
        (victim,) = cache.insert("new")
        counts[victim] += 1
    assert all(230 < count < 370 for count in counts.values()), counts


@pytest.mark.parametrize("name", ["lru", "fifo", "lfu", "clock", "random", "sieve", "arc", "lfuda"])
def test_byte_capacity_evicts_until_the_object_fits(name):
    cache = make_policy(name, 10)
    for key in "abcde":
        cache.insert(key, 2)
    assert cache.used == 10
    evicted = cache.insert("big", 5)
    # Three 2-byte objects must go to make room for 5 bytes (10 - 6 + 5 <= 10).
    assert len(evicted) == 3
    assert cache.used == 9
    assert "big" in cache


@pytest.mark.parametrize("name", ["lru", "fifo", "lfu", "clock", "random", "sieve", "arc", "lfuda", "gdsf"])
def test_object_larger_than_the_cache_is_not_admitted(name):
    # As in libCacheSim: nothing is evicted for an object that can never fit.
    cache = make_policy(name, 10)
    cache.insert("a", 4)
    assert cache.insert("huge", 11) == []
    assert "huge" not in cache and "a" in cache and cache.used == 4


def test_lru_order_under_byte_capacity():
    cache = make_policy("lru", 6)
    hits, evicted = trace(cache, ["a", "b", "c", "a", "d"], sizes=[2, 2, 2, 2, 3])
    # [a b c] 6 bytes; a hit -> [b c a]; d (3 bytes) evicts b then c -> [a d], 5 bytes
    assert evicted[-1] == ["b", "c"]
    assert cache.keys() == ["a", "d"] and cache.used == 5


def test_clock_init_freq_gives_new_keys_a_first_chance():
    cache = make_policy("clock", 2, init_freq=1)
    trace(cache, ["a", "b"])
    # [a1 b1]; c: a1 -> a0 (back), b1 -> b0 (back), a0 evicted -> [b0 c1]
    assert cache.insert("c") == ["a"]
    assert cache.insert("d") == ["b"]


def test_sieve_spares_visited_keys_in_place_and_wraps_around():
    cache = make_policy("sieve", 3)
    hits, evicted = trace(cache, list("abcadbaebefg"))
    # queue tail -> head; * = visited; ^ = where the hand points
    # a b c -> [^a b c]; a hit -> [^a* b c]
    # d: a* spared (bit cleared, stays in place), b evicted -> [a ^c d]
    # b: c evicted -> [a ^d b];  a hit -> [a* ^d b]
    # e: d evicted -> [a* ^b e];  b, e hits -> [a* ^b* e*]
    # f: b*, e* spared, the hand wraps to the tail, a* spared, b evicted -> [a ^e f]
    # g: e evicted -> [a ^f g]: a, once popular, stays behind the hand
    assert hits == [False, False, False, True, False, False, True, False, True, True, False, False]
    assert evicted == [[], [], [], [], ["b"], ["c"], [], ["d"], [], [], ["b"], ["e"]]
    assert cache.keys() == ["a", "f", "g"] and cache.hand() == "f"


def test_slru_fills_upper_segments_while_warming_up_and_promotes_on_hits():
    cache = make_policy("slru", 4, n_seg=2)  # two segments of 2
    hits, evicted = trace(cache, list("abcdebfc"))
    # a b -> seg0 [a b]; c d find seg0 full and go to seg1 [c d] (libCacheSim's rule)
    # e: no segment has room, the cache is full: evict seg0's LRU a, e into seg0 [b e]
    # b hit: up to seg1 [c d b], over 2: c cools down to seg0 [e c], seg1 [d b]
    # f: evict seg0's LRU e -> seg0 [c f];  c hit: up -> seg1 [d b c], d cools -> seg0 [f d]
    assert hits == [False, False, False, False, False, True, False, True]
    assert evicted == [[], [], [], [], ["a"], [], ["e"], []]
    assert cache.keys() == ["f", "d", "b", "c"]
    assert [cache.segment_of(k) for k in "fdbc"] == [0, 0, 1, 1]


def test_slru_hit_can_evict_when_cooling_cascades():
    cache = make_policy("slru", 8, n_seg=2)  # two segments of 4 bytes
    trace(cache, ["a", "b", "c"], sizes=[2, 2, 4])
    # seg0 [a:2 b:2], seg1 [c:4]
    assert cache.lookup("a")
    # a up to seg1 [c a] = 6 > 4: c cools to seg0 [b c] = 6 > 4: seg0 cools out: b evicted
    assert "b" not in cache and cache.keys() == ["c", "a"] and cache.used == 6


def test_twoq_probation_fifo_ghost_and_lru():
    cache = make_policy("twoq", 4)  # Ain share 1, Aout 2, Am 3
    hits, evicted = trace(cache, list("abacdeabfgahcihj"))
    # a b -> Ain [a b]; a hit changes nothing; c d -> Ain [a b c d] (over its share, cache not full)
    # e: full, Ain over its share: a leaves, remembered in Aout [a]
    # a: a ghost hit -> Am [a]; b leaves Ain -> Aout [b];  b: ghost hit -> Am [a b], c -> Aout [c]
    # f: d -> Aout [c d];  g: e -> Aout [d e] (c forgotten);  a hit in Am -> Am [b a]
    # h: f -> Aout [e f];  c: not remembered any more, a new key: g -> Aout [f g], Ain [h c]
    # i: h -> Aout [g h], Ain [c i];  h: ghost hit -> Am [b a h], c -> Aout [g c], Ain [i]
    # j: Ain is within its share now, so Am's LRU b goes
    assert hits == [False, False, True] + [False] * 7 + [True] + [False] * 5
    assert evicted == [[], [], [], [], [], ["a"], ["b"], ["c"], ["d"], ["e"], [], ["f"], ["g"], ["h"], ["c"], ["b"]]
    assert cache.keys() == ["i", "j", "a", "h"] and cache.ghost_keys() == ["g", "c"]


def test_arc_adapts_its_target_on_ghost_hits():
    cache = make_policy("arc", 4)
    hits, evicted = trace(cache, list("abcdaebfgadb"))
    # T1 [a b c d]; a hit -> T1 [b c d], T2 [a]
    # e: T1 (3) > p (0): REPLACE moves b to B1 -> T1 [c d e]
    # b: a B1 hit, p = 0 + max(|B2|/|B1|, 1) = 1; REPLACE: c -> B1; b -> T2 [a b]
    # f: d -> B1 [c d];  g: |T1|+|B1|+1 > 4, B1 drops c, then e -> B1 [d e]; T1 [f g]
    # a hit -> T2 [b a];  d: a B1 hit, p = 2; |T1| = p: REPLACE takes T2's LRU b -> B2; T2 [a d]
    # b: a B2 hit, p = 2 - max(|B1|/|B2|, 1) = 1; |T1| = 2 > p: f -> B1 [e f]; T2 [a d b]
    assert hits == [False] * 4 + [True] + [False] * 4 + [True, False, False]
    assert evicted == [[], [], [], [], [], ["b"], ["c"], ["d"], ["e"], [], ["b"], ["f"]]
    assert cache.keys() == ["g", "a", "d", "b"] and cache.ghost_keys() == ["e", "f"] and cache.p == 1


def test_lirs_keeps_keys_with_short_reuse_distance():
    cache = make_policy("lirs", 4)  # LIR set 3, HIR share 1
    hits, evicted = trace(cache, list("abcdedcbf"))
    # a b c -> LIR, S [a b c];  d: the LIR set is full, d is a resident HIR: S [a b c d], Q [d]
    # e: Q is full: d evicted (non-resident, stays in S); e resident HIR: S [a b c d e], Q [e]
    # d: a miss on a non-resident entry of S: its reuse distance beats the oldest LIR a:
    #    a is demoted to Q (evicting e, which stays in S non-resident), d becomes LIR
    #    S [b c e d], Q [a]
    # c hit (LIR) -> S [b e d c];  b hit (LIR) -> S [e d c b], pruned to [d c b]
    # f: new, HIR: Q's a is evicted (not in S: forgotten); S [d c b f], Q [f]
    assert hits == [False] * 6 + [True, True, False]
    assert evicted == [[], [], [], [], ["d"], ["e"], [], [], ["a"]]
    assert cache.lir_keys() == ["d", "c", "b"] and cache.keys() == ["d", "c", "b", "f"]
    assert cache.self_evicting_hits == 0


def test_s3fifo_filters_one_hit_wonders_through_the_small_queue():
    cache = make_policy("s3fifo", 10, small_size_ratio=0.2)  # small 2, main 8, ghost 9
    hits, evicted = trace(cache, list("abcdefghijaakbdlm"))
    # a b -> small [a b]; warming up with a full small queue, c..j go straight to main
    # a a: hits, a's counter 2
    # k: evict from small: a (2 hits) moves to main [c..j a]; b (0 hits) leaves -> ghost [b]
    # b: a ghost hit -> into main; main is over its share: its oldest c (no hit) is evicted
    # d hit (counter 1);  l: main over its share: d is reinserted (counter 0), e evicted
    # m: small's k had no hit -> ghost
    assert hits == [False] * 10 + [True, True, False, False, True, False, False]
    assert evicted[12:] == [["b"], ["c"], [], ["e"], ["k"]]
    assert cache.small_keys() == ["l", "m"]
    assert cache.main_keys() == ["f", "g", "h", "i", "j", "a", "b", "d"]
    assert cache.ghost_keys() == ["k"]


def test_s3fifo_refuses_an_object_as_large_as_its_small_queue():
    cache = make_policy("s3fifo", 100)  # small queue of 10 bytes
    assert cache.max_object_size == 9
    cache.insert("a", 9)
    assert "a" in cache
    cache.insert("b", 10)  # libCacheSim's guard: it would flush the whole small queue
    assert "b" not in cache and "a" in cache


def test_wtinylfu_window_victims_duel_mains_victim():
    cache = make_policy("wtinylfu", 10, window_size=0.2)  # window 2, main 8 (SLRU 1:6)
    hits, evicted = trace(cache, list("abcdefghijkiilm"))
    # a..j fill the window (it may exceed its share until the cache is full); counts 1 each
    # k: a..h move into main while it has room (counted again: 2); main: seg0 [a h],
    #    seg1 [b..g]; i (count 1) duels main's victim a (2) and loses: i leaves
    # i: j (1) loses to a (2);  i hit in the window;  l: k (1) loses to a (2)
    # m: i (count 3) beats a (2): a is evicted, i moves into main; a won duel ends it
    assert hits == [False] * 12 + [True, False, False]
    assert evicted[10:] == [["i"], ["j"], [], ["k"], ["a"]]
    assert cache.keys() == ["l", "m", "h", "i", "b", "c", "d", "e", "f", "g"]
    assert cache.estimate("i") == 4  # 3 insertions/duels + the won duel


def test_lfuda_keys_objects_by_age_plus_reference_count():
    # The paper's LFU-DA: K = L + F, re-keyed with the current age L on each hit;
    # an eviction takes the smallest K (first come first out) and sets L to it.
    cache = make_policy("lfuda", 3)
    hits, evicted = trace(cache, list("abcadaeafgh"))
    # L = 0: a b c get K = 1 (F = 1);  a hit: F = 2, K = 0 + 2 = 2
    # d: evict b (K 1), L = 1; d gets 2;  a hit: F = 3, K = 1 + 3 = 4
    # e: evict c (1), L = 1; e gets 2;  a hit: F = 4, K = 1 + 4 = 5
    # f: evict d (2, before e), L = 2; f gets 3;  g: evict e (2), L = 2; g gets 3
    # h: evict f (3, before g), L = 3; h gets 4.  a, hit three times, stays
    assert hits == [False, False, False, True, False, True, False, True, False, False, False]
    assert evicted == [[], [], [], [], ["b"], [], ["c"], [], ["d"], ["e"], ["f"]]
    assert cache.keys() == ["g", "h", "a"] and cache.age == 3
    assert [cache.priority(k) for k in "gha"] == [3, 4, 5]


def test_lfuda_paper_keys_never_pass_the_requests_served():
    # A key is a sum of reference counts of distinct requests: at most the requests so far.
    cache = make_policy("lfuda", 10)
    keys = [i % 13 if i % 3 else 0 for i in range(20_000)]
    for served, key in enumerate(keys, start=1):
        cache.access(key)
        assert max(cache.priority(k) for k in cache.keys()) <= served
    assert cache.priority(0) > 6000  # the hot key's count has climbed with its hits


def test_lfuda_libcachesim_ages_out_formerly_popular_keys():
    cache = make_policy("lfuda", 3, aging="libcachesim")
    hits, evicted = trace(cache, list("abcadaeafgh"))
    # age L = 0: a b c get key 1; a hit adds L = 0 (LRU order within key 1: b c a)
    # d: evict b (key 1), L = 1; d gets L + 1 = 2
    # a hit: 1 + L = 2;  e: evict c, key 1 is empty, L = 2; e gets 3
    # a hit: 2 + 2 = 4;  f: evict d (2), L = 3; f gets 4
    # g: evict e (3), L = 4; g gets 5;  h: evict a (4, before f): aged out
    assert hits == [False, False, False, True, False, True, False, True, False, False, False]
    assert evicted == [[], [], [], [], ["b"], [], ["c"], [], ["d"], ["e"], ["a"]]
    assert cache.keys() == ["f", "g", "h"] and cache.age == 4
    assert [cache.priority(k) for k in "fgh"] == [4, 5, 5]


def test_gdsf_prefers_small_frequent_objects_and_can_evict_the_newcomer():
    cache = make_policy("gdsf", 10)
    hits, evicted = trace(cache, list("abcbdef"), sizes=[5, 2, 4, 2, 5, 4, 9])
    # priority = L + frequency * 1e6 / size; a new object goes in first, then the lowest go
    # a:5 -> 200000, b:2 -> 500000;  c:4 -> 250000, over: a goes, L = 200000
    # b hit -> 200000 + 2e6/2 = 1.2e6;  d:5 -> 400000, over: c (250000) goes, L = 250000
    # e:4 -> 500000, over: d (400000) goes, L = 400000
    # f:9 -> 511111, over by 5: e (500000) goes, then f itself, the lowest left
    assert hits == [False, False, False, True, False, False, False]
    assert evicted == [[], [], ["a"], [], ["c"], ["d"], ["e", "f"]]
    assert cache.keys() == ["b"] and cache.priority("b") == 1_200_000


def test_belady_evicts_the_key_needed_furthest_in_the_future():
    future = list("abcabcba")
    cache = make_policy("belady", 2, future=future)
    hits, evicted = trace(cache, future)
    # next uses: a0->3 b1->4 c2->5 a3->7 b4->6 c5->never b6->never a7->never
    # c: evict b (next 4, later than a's 3);  a hit;  b: evict a (next 7, later than c's 5)
    # c hit, b hit;  a: b and c are never used again, either goes
    assert hits == [False, False, False, True, False, True, True, False]
    assert evicted[:7] == [[], [], ["b"], [], ["a"], [], []] and evicted[7] in (["b"], ["c"])
    lru = make_policy("lru", 2)
    assert sum(trace(lru, future)[0]) < sum(hits)
