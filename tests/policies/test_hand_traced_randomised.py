"""Eviction orders traced by hand for the randomised policies of issue 22, one small sequence each.

Their draws come from each policy's own ``random.Random(seed)``; the first
draws of seed 0 are 0.844, 0.758, 0.421, 0.259, 0.511, 0.405, 0.784, 0.303,
0.477, 0.583, and the comments below say which draw decided what.
"""

import pytest

from experiments.analysis import replay
from policies import PolicyError, make_policy
from tests.policies.test_hand_traced import trace
from tests.policies.tracedata import zipf_trace

# -- LRU-Prob ------------------------------------------------------------------------------------------


def test_lruprob_promotes_a_hit_only_when_the_draw_says_so():
    cache = make_policy("lruprob", 3, prob=0.5, seed=0)  # promote when the draw is below 1/2
    hits, evicted = trace(cache, ["a", "b", "c", "a", "b", "a", "d", "c", "e"])
    # [a b c]; a hit, draw .844: stays; b hit, .758: stays; a hit, .421: to the front -> [b c a]
    # d evicts b -> [c a d]; c hit, .259: to the front -> [a d c]; e evicts a -> [d c e]
    assert hits == [False, False, False, True, True, True, False, True, False]
    assert evicted == [[], [], [], [], [], [], ["b"], [], ["a"]]
    assert cache.keys() == ["d", "c", "e"]


def test_lruprob_reads_prob_as_libcachesim_does():
    # threshold = (int)(1 / prob) with prob a 32-bit float: 0.2f is 0.200000003, so one hit in 4.
    assert [make_policy("lruprob", 10, prob=p).promote_every for p in (1, 0.5, 0.3, 0.25, 0.2, 0.1)] == [
        1,
        2,
        3,
        4,
        4,
        9,
    ]


def test_lruprob_with_prob_one_is_lru():
    keys, sizes = zipf_trace(5000, 500, 0.9, seed=2)
    for capacity, count_bytes in ((50, False), (400_000, True)):
        lru = replay(make_policy("lru", capacity), keys, sizes, count_bytes=count_bytes)
        assert replay(make_policy("lruprob", capacity, prob=1.0), keys, sizes, count_bytes=count_bytes) == lru


def test_lruprob_same_seed_same_misses_and_seeds_differ():
    keys, _ = zipf_trace(5000, 500, 0.9, seed=2)
    runs = [replay(make_policy("lruprob", 50, seed=seed), keys).misses for seed in (1, 1, 2)]
    assert runs[0] == runs[1] != runs[2]


@pytest.mark.parametrize("prob", [0, -0.5, 1.5, True])
def test_lruprob_refuses_a_probability_outside_zero_one(prob):
    with pytest.raises((ValueError, PolicyError), match="prob must be in"):
        make_policy("lruprob", 10, prob=prob)


# -- FlashProb -----------------------------------------------------------------------------------------


def test_flashprob_writes_ram_victims_to_flash_on_the_coin():
    # RAM share 2 (unbounded in fact: it holds what flash leaves), flash 2; a victim is written with p = 1/2.
    cache = make_policy("flashprob", 4, ram_size_ratio=0.5, disk_admit_prob=0.5, seed=0)
    hits, evicted = trace(cache, ["a", "b", "c", "d", "e", "b", "f", "g", "d", "h", "i"])
    # RAM [a b c d]; e: a leaves (draw .844) -> [b c d e]; b hit -> [c d e b]; f: c leaves (.758)
    # g: d to flash (.421), e to flash (.259), flash [d e], the total still full, b leaves (.511); RAM [f g]
    # d hits in flash; h: f to flash (.405), flash makes room: d leaves -> flash [e f], RAM [g h]
    # i: g leaves (.784) -> flash [e f], RAM [h i]
    assert hits == [False, False, False, False, False, True, False, False, True, False, False]
    assert evicted == [[], [], [], [], ["a"], [], ["c"], ["b"], [], ["d"], ["g"]]
    assert cache.keys() == ["e", "f", "h", "i"]
    assert cache.flash_writes == 3


def test_flashprob_evicts_from_flash_once_the_ram_is_empty():
    # Flash takes up to 3 units, every victim is written; only an object larger than the RAM share empties it.
    cache = make_policy("flashprob", 4, ram_size_ratio=0.25, disk_admit_prob=1.0)
    trace(cache, ["a", "b", "c", "d"])  # RAM [a b c d]
    # e, 3 units: a, b, c to flash [a b c]; d to flash, which drops a -> [b c d]; the RAM is empty and 3 + 3
    # units overflow: flash's oldest leave, b, then c.
    assert cache.insert("e", 3) == ["a", "b", "c"]
    assert cache.keys() == ["d", "e"]


def test_flashprob_gives_a_tiny_cache_one_unit_of_ram():
    # libCacheSim aborts where capacity * ram_size_ratio rounds to 0; the RAM share is then one unit.
    cache = make_policy("flashprob", 5)
    assert (cache.ram_capacity, cache.disk_capacity, cache.admit_every) == (1, 4, 5)
    keys, _ = zipf_trace(3000, 50, 0.9, seed=2)
    counts = replay(cache, keys)
    assert 0 < counts.hits and len(cache) == 5


# -- Hyperbolic ----------------------------------------------------------------------------------------


def test_hyperbolic_evicts_the_sampled_key_of_fewest_hits_per_request():
    cache = make_policy("hyperbolic", 3, n_sample=2, seed=0)
    hits, evicted = trace(cache, ["a", "b", "c", "a", "a", "d", "e", "b"])
    # Requests 1-3 enter a, b, c (count 1); a is hit twice (count 3).  Keys are sampled at int(draw * 3).
    # 6, d: samples c (.844), c (.758): age 3, 1/3 -> c leaves; [a b d]
    # 7, e: samples b (.421: 1 / age 5), a (.259: 3 / 6) -> b leaves; d fills b's place: [a d e]
    # 8, b: samples d (.511), d (.405): 1 / 2 -> d leaves, though a's 3 / 7 is lower: a was not sampled
    assert hits == [False, False, False, True, True, False, False, False]
    assert evicted == [[], [], [], [], [], ["c"], ["b"], ["d"]]
    assert cache.keys() == ["a", "e", "b"]
    assert [round(cache.priority(key) / 1e8, 3) for key in cache.keys()] == [0.429, 1.0, float("inf")]


# -- LeCaR ---------------------------------------------------------------------------------------------


def test_lecar_follows_its_weighted_coin_and_learns_from_regret():
    cache = make_policy("lecar", 3, seed=0)  # ghost lists of 3 // 2 = 1 key; discount 0.005 ** (1/3) = 0.171
    hits, evicted = trace(cache, ["a", "a", "b", "c", "d", "b"])
    # [a b c], a counted twice.  d: LRU says a, LFU says b; the coin .84 is not below w_lru = .5: LFU,
    # b leaves for LFU's ghosts.  b (request 6) is LFU's ghost, one request old: w_lfu *= exp(-.45 * .171),
    # normalised (.519, .481); then LRU says a, LFU says c; .75 is not below w_lru: c leaves for LFU's ghosts.
    assert hits == [False, True, False, False, False, False]
    assert evicted == [[], [], [], [], ["b"], ["c"]]
    assert cache.weights == pytest.approx((0.51923, 0.48077), abs=1e-5)
    assert (list(cache.lru_ghosts), list(cache.lfu_ghosts)) == ([], ["c"])
    hits, evicted = trace(cache, ["e", "a"])
    # e: LRU says a, LFU says d; .42 < .519: a leaves for LRU's ghosts.  a (request 8) is LRU's ghost: the
    # weights are even again; then LRU and LFU both say d, which leaves for no ghost list.
    assert evicted == [["a"], ["d"]]
    assert cache.keys() == ["b", "e", "a"]
    assert cache.weights == pytest.approx((0.5, 0.5), abs=1e-9)
    assert (list(cache.lru_ghosts), list(cache.lfu_ghosts)) == ([], ["c"])


def test_lecar_without_weight_updates_keeps_its_weights():
    cache = make_policy("lecar", 3, update_weight=False, lru_weight=0.8)
    trace(cache, ["a", "a", "b", "c", "d", "b", "e", "a"])
    assert cache.weights == (0.8, pytest.approx(0.2))


@pytest.mark.parametrize("params", [{"lru_weight": 1.5}, {"lru_weight": -0.1}, {"update_weight": 2}])
def test_lecar_refuses_bad_parameters(params):
    with pytest.raises((ValueError, PolicyError), match="lru_weight|update_weight"):
        make_policy("lecar", 10, **params)
