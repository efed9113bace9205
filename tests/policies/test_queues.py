"""The parts of the composite policies (policies/queues.py), traced by hand."""

import copy
import pickle

import pytest

from policies.queues import CountBuckets, GhostList, SizedQueue


def test_a_sized_queue_keeps_its_order_and_the_sum_of_its_sizes():
    queue = SizedQueue()
    queue.push("a", 3)
    queue.push("b", 2)
    queue.push("c", 5)
    queue.move_to_end("a")  # b c a
    assert (list(queue), queue.used, len(queue), "a" in queue) == (["b", "c", "a"], 10, 3, True)
    assert queue.oldest() == "b" and queue.pop_oldest() == ("b", 2) and queue.used == 8
    assert queue.remove("a") == 3 and queue.discard("a") is None and queue.used == 5
    queue.resize("c", 7)
    assert (list(queue), queue.used) == (["c"], 7)
    with pytest.raises(KeyError):
        queue.remove("zz")


def test_moving_the_oldest_key_carries_its_size_over():
    source, target = SizedQueue(), SizedQueue()
    source.push("x", 4)
    source.push("y", 1)
    target.push("z", 2)
    assert source.move_oldest_to(target) == "x"
    assert (list(source), source.used, list(target), target.used) == (["y"], 1, ["z", "x"], 6)


def test_a_ghost_list_forgets_its_oldest_keys_to_fit_and_never_holds_an_oversized_one():
    ghost = GhostList(5)
    ghost.remember("a", 2)
    ghost.remember("b", 2)
    ghost.remember("c", 3)  # 7 > 5: a goes
    assert (list(ghost), ghost.used) == (["b", "c"], 5)
    ghost.remember("d", 6)  # larger than the whole list: not remembered, nothing forgotten
    assert (list(ghost), ghost.used) == (["b", "c"], 5)
    ghost.remember("e", 5)
    assert (list(ghost), ghost.used) == (["e"], 5)


@pytest.mark.parametrize("clone", [copy.deepcopy, lambda q: pickle.loads(pickle.dumps(q))])
def test_copies_keep_the_sizes_the_sum_and_the_capacity(clone):
    ghost = GhostList(5)
    ghost.remember("a", 2)
    ghost.remember("b", 3)
    twin = clone(ghost)
    assert (type(twin), list(twin.items()), twin.used, twin.capacity) == (GhostList, [("a", 2), ("b", 3)], 5, 5)


def test_count_buckets_find_the_least_counted_keys_in_the_order_they_reached_their_count():
    counts = CountBuckets()
    for key in "abc":
        counts.add(key)
    counts.count_up("a")
    counts.count_up("b")
    assert (counts.least_first(), counts.least_last(), counts["a"], len(counts)) == ("c", "c", 2, 3)
    assert counts.remove("c") == 1  # the last key counted once: the least count is now 2
    assert (counts.least_first(), counts.least_last()) == ("a", "b")
    counts.count_up("a")  # a reaches 3 first; b stays the only key at 2
    counts.add("d", 5)  # (Cacheus brings a key back from its history with its old count)
    assert (counts.least_first(), counts.least_last()) == ("b", "b")
    counts.count_up("b")  # 2 empties: the least count moves up to 3, where a came first
    assert (counts.least_first(), counts.least_last(), counts["d"]) == ("a", "b", 5)
    counts.add("e")
    assert counts.least_first() == "e"
    for key in "abde":
        counts.remove(key)
    assert len(counts) == 0
