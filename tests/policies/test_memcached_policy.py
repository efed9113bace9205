"""memcached's segmented LRU and slab classes (policies/memcached.py), traced by hand."""

import re

import pytest

from policies import make_policy, policy_class
from policies.memcached import ACTIVE, FETCHED
from policies.server_memory import (
    MEMCACHED_PAGE,
    memcached_chunk_sizes,
    memcached_class,
    memcached_entry_bytes,
    memcached_item_bytes,
)


def queues(cache, cls=0):
    """HOT, WARM, COLD of a class, each tail (oldest) first."""
    return tuple(list(q) for q in cache.classes[cls].queues)


def test_segmented_lru_by_hand():
    # One class of 10 units, items of 1 unit, hot 20% and warm 40% of the class's item bytes.
    cache = make_policy("memcached", 10)
    cache.advance(0)
    for key in range(10):
        assert cache.insert(key) == []
    # While the class holds fewer than 5 units, 20% of it rounds to 0: each new item goes
    # straight on to COLD; from then on HOT keeps 1 unit (2 once there are 10).
    assert queues(cache) == ([8, 9], [], [0, 1, 2, 3, 4, 5, 6, 7])
    assert cache.insert(10) == [0]  # full: the tail of COLD goes; HOT is over 2, 8 moves down
    assert queues(cache) == ([9, 10], [], [1, 2, 3, 4, 5, 6, 7, 8])

    assert cache.lookup(3) and queues(cache)[2].count(3) == 1  # a first read only marks it FETCHED
    assert cache.items[3].flags == FETCHED
    cache.lookup(3)  # a second read in COLD: to the head of WARM
    assert queues(cache) == ([9, 10], [3], [1, 2, 4, 5, 6, 7, 8])
    cache.lookup(9)
    cache.lookup(9)  # ACTIVE in HOT: it stays where it is
    assert cache.items[9].flags == FETCHED | ACTIVE and queues(cache)[0] == [9, 10]
    assert cache.insert(11) == [1]  # HOT over its 20%: its ACTIVE tail (9) is rescued to WARM
    assert queues(cache) == ([10, 11], [3, 9], [2, 4, 5, 6, 7, 8])
    assert cache.items[9].flags == FETCHED

    # Ten seconds later the COLD tail is 10 s old: HOT keeps items up to 0.2 x 10 = 2 s old,
    # WARM up to 2 x 10 = 20 s.  The maintainer moves HOT's two 10-second-old items down.
    cache.advance(10)
    assert queues(cache) == ([], [3, 9], [2, 4, 5, 6, 7, 8, 10, 11])

    for key in (4, 5, 6):  # FETCHED at most once so far: two reads each move them to WARM
        cache.lookup(key)
        cache.lookup(key)
    assert queues(cache) == ([], [3, 9, 4, 5, 6], [2, 7, 8, 10, 11])
    assert cache.insert(12) == [2]  # WARM holds 5 units, over its 40% (4): its tail goes to COLD
    assert queues(cache) == ([12], [9, 4, 5, 6], [7, 8, 10, 11, 3])

    cache.lookup(9)  # FETCHED already: ACTIVE now
    assert cache.insert(13) == [7]  # WARM's ACTIVE tail goes back to WARM's head
    assert queues(cache) == ([12, 13], [4, 5, 6, 9], [8, 10, 11, 3])
    assert cache.used == 10 and len(cache) == 10


def test_sizes_count_units_and_cold_is_emptied_before_hot():
    cache = make_policy("memcached", 10)
    cache.insert("a", 8)  # 8 units, all of the class's bytes: over HOT's 20%, on to COLD
    cache.insert("b", 2)  # 2 of 10 units: within HOT's 20%, it stays
    assert queues(cache) == (["b"], [], ["a"])
    assert cache.insert("c", 9) == ["a", "b"]  # COLD's a frees 8; COLD is empty: HOT's tail moves down, goes
    assert queues(cache) == ([], [], ["c"]) and cache.used == 9
    assert cache.insert("d", 11) == [] and "d" not in cache  # larger than the whole cache


def test_slab_classes_follow_the_growth_factor():
    sizes = memcached_chunk_sizes()
    # 48-byte header + 48 (-n), then x1.25 rounded up to 8 bytes (150 -> 152, 190 -> 192, 750 -> 752)
    assert sizes[:10] == (96, 120, 152, 192, 240, 304, 384, 480, 600, 752)
    assert sizes[-2:] == (394840, 524288) and len(sizes) == 39  # the last: half a page
    assert memcached_chunk_sizes(2.0)[:4] == (96, 192, 384, 768)
    assert memcached_item_bytes(16, 100) == 48 + 16 + 1 + 100 + 2 + 8  # 175
    assert memcached_class(175, sizes) == 3 and memcached_entry_bytes(16, 100) == 192
    assert memcached_class(96, sizes) == 0 and memcached_class(97, sizes) == 1
    assert memcached_item_bytes(16, 100, cas=False) == 167


def test_pages_go_to_classes_as_they_need_them():
    cache = make_policy("memcached", 2 * MEMCACHED_PAGE, capacity_bytes=True)
    small, middle, large = 10, 100, 200  # items of 85, 175 and 275 bytes: classes 0, 3 and 5
    cache.insert("s0", small)
    cache.insert("m0", middle)
    assert [c.pages for c in cache.classes[:6]] == [1, 0, 0, 1, 0, 0]
    cache.insert("l0", large)  # memory is spent, but a class always gets its first page
    assert cache.classes[5].pages == 1 and cache.pages == 3
    assert cache.capacity == 3 * MEMCACHED_PAGE and cache.memory_limit == 2 * MEMCACHED_PAGE
    per_page = MEMCACHED_PAGE // 96
    for i in range(1, per_page + 5):  # class 0's one page is full at 10922 items: it evicts its own
        cache.insert(f"s{i}", small)
    assert cache.classes[0].pages == 1 and cache.classes[0].evicted == 5
    assert len([key for key in cache.keys() if key.startswith("s")]) == per_page
    assert "m0" in cache and "l0" in cache  # other classes are untouched
    assert cache.used == per_page * 96 + 192 + 304


def test_items_above_the_largest_chunk_take_several():
    cache = make_policy("memcached", 64 * MEMCACHED_PAGE, capacity_bytes=True)
    cache.insert("big", 600_000)
    assert cache.items["big"].units == 2 and cache.used == 2 * 524288
    assert cache.max_object_size == 1024 * 1024 - memcached_item_bytes(16, 0)
    cache.insert("too big", cache.max_object_size + 1)
    assert "too big" not in cache


@pytest.mark.parametrize("bad", [{"hot_pct": 0}, {"warm_pct": 100}, {"key_bytes": 251}])
def test_bad_parameters_are_refused(bad):
    with pytest.raises(ValueError):
        make_policy("memcached", 10, **bad)


def test_slab_classes_stop_at_63_as_memcached_does():
    # -f 1.1 grows 96 bytes to 512 KiB in 88 steps; memcached keeps 62 of them and the largest class.
    sizes = memcached_chunk_sizes(1.1)
    assert len(sizes) == 63 and sizes[:3] == (96, 112, 128) and sizes[-2:] == (43008, 524288)
    # -f 1.0104 at 96 bytes: 96 x 1.0104 truncates back to 96, so the chunk never grows (the model
    # used to loop for ever); memcached repeats it up to the cap.
    assert memcached_chunk_sizes(1.0104) == (96,) * 62 + (524288,)
    assert memcached_chunk_sizes(1e300) == (524288,)  # the first chunk is already beyond 512 KiB / -f
    cache = make_policy("memcached", 4 * MEMCACHED_PAGE, capacity_bytes=True, growth_factor=1.0104)
    cache.insert("a", 10)
    assert len(cache.classes) == 63 and cache.items["a"].cls == 0


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"growth_factor": 1.0}, "growth_factor must be a finite number > 1 (memcached's -f)"),
        ({"growth_factor": float("inf")}, "growth_factor must be a finite number > 1"),
        ({"min_chunk": 0}, "min_chunk must be an integer from 1 to 1048576 (memcached's -n)"),
        ({"hot_pct": 80}, "hot_pct must be an integer from 1 to 79"),
        ({"hot_pct": 50, "warm_pct": 31}, "hot_pct + warm_pct must be at most 80"),
        ({"warm_max_factor": 0}, "warm_max_factor must be a number in (0, 2**32]"),
        ({"hot_max_factor": float("nan")}, "hot_max_factor must be a number in (0, 2**32]"),
    ],
)
def test_memcacheds_own_option_ranges(bad, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        make_policy("memcached", 4 * MEMCACHED_PAGE, capacity_bytes=True, **bad)


def test_memory_below_what_memcached_runs_with_is_refused():
    """memcached refuses -m below twice its largest item (-I 1m): the model does too, instead of giving
    each slab class its first page out of nothing (a plan of "4 nodes x 1 B")."""
    with pytest.raises(ValueError, match=r"memcached's memory \(-m\) must be at least 2097152 bytes"):
        make_policy("memcached", 2 * MEMCACHED_PAGE - 1, capacity_bytes=True)
    assert policy_class("memcached").least_capacity(True) == 2 * MEMCACHED_PAGE
    assert make_policy("memcached", 2 * MEMCACHED_PAGE, capacity_bytes=True).capacity == 2 * MEMCACHED_PAGE
