"""CLOCK-2Q+ (policies/clock2qplus.py): a hand-traced eviction order, the correlation window, and libcachesim off its defaults."""

import pytest

from experiments.analysis import replay
from policies import make_policy
from tests.policies.test_hand_traced import trace
from tests.policies.test_libcachesim_parity import live
from tests.policies.tracedata import block_traces, libcachesim_misses, write_oracle_general


def test_clock2qplus_ignores_hits_inside_the_window_and_gives_main_one_bit():
    # Small FIFO 2, main 3, ghost 4; the window: 2 * 0.5 = 1 admission to the small FIFO.
    cache = make_policy("clock2qplus", 5, fifo_size_ratio=0.4)
    keys = ["a", "a", "b", "a", "c", "d", "e", "f", "c", "g", "b", "g", "h"]
    hits, evicted = trace(cache, keys)
    # a in small (admission 1); a hit at once: inside the window, not counted; b in (admission 2);
    # a hit again, one admission later: counted.  Small is full and nothing was evicted yet: c, d,
    # e go straight to main [c d e].  f: small's oldest a was hit -> main [c d e a], bit clear; b
    # was not -> evicted into the ghost; f in small [f].  c hit (main bit).  g: main is over its
    # share -> its CLOCK: c goes round, bit cleared; d evicted; small [f g].  b found in the ghost:
    # f (never hit) leaves small for the ghost, b goes to main [e a c b].  g hit at once: inside
    # the window.  h: main over its share, e (bit clear) evicted; small [g h].
    assert hits == [False, True, False, True, False, False, False, False, True, False, False, True, False]
    assert evicted == [[], [], [], [], [], [], [], ["b"], [], ["d"], ["f"], [], ["e"]]
    assert cache.keys() == ["g", "h", "a", "c", "b"]
    assert cache.ghost_keys() == ["f"]
    assert cache.freq["g"] == 0


def test_clock2qplus_without_a_window_counts_every_hit():
    cache = make_policy("clock2qplus", 5, fifo_size_ratio=0.4, corr_window_ratio=0.0)
    trace(cache, ["a", "a"])
    assert cache.freq["a"] == 1


@pytest.mark.parametrize("params", [{"corr_window_ratio": -0.1}, {"corr_window_ratio": 1.5}, {"fifo_size_ratio": 1.0}])
def test_clock2qplus_refuses_bad_parameters(params):
    with pytest.raises(ValueError, match=next(iter(params))):
        make_policy("clock2qplus", 10, **params)


@live
@pytest.mark.parametrize("capacity,count_bytes", [(300, False), (6300, False), (5_000_000, True)])
def test_clock2qplus_with_a_larger_fifo_and_window_equals_libcachesims(tmp_path, capacity, count_bytes):
    keys, sizes = block_traces()["block-io"]
    path = write_oracle_general(tmp_path / "block-io.oracleGeneral.bin", keys, sizes)
    params = {"fifo_size_ratio": 0.25, "ghost_size_ratio": 0.5, "move_to_main_threshold": 2, "corr_window_ratio": 0.8}
    ours = replay(make_policy("clock2qplus", capacity, **params), keys, sizes, count_bytes=count_bytes)
    assert ours.misses == libcachesim_misses(path, len(keys), "Clock2QPlus", capacity, count_bytes, **params)


@live
@pytest.mark.parametrize("capacity", [3, 10])
def test_clock2qplus_caches_something_in_tiny_caches_where_libcachesim_caches_nothing(tmp_path, capacity):
    keys, sizes = block_traces()["block-io"]
    path = write_oracle_general(tmp_path / "block-io.oracleGeneral.bin", keys, sizes)
    ours = replay(make_policy("clock2qplus", capacity), keys, sizes)
    assert libcachesim_misses(path, len(keys), "Clock2QPlus", capacity, False) == len(keys)
    assert ours.hits > 0
