"""The offline policy's API (Belady) and the admission filters that wrap any policy."""

import random

import numpy as np
import pytest

from experiments.analysis import replay
from policies import Admission, Admitted, PolicyError, available, check_params, make_policy, register_admission
from policies.admission import TinyLFUAdmission, available_admissions
from tests.policies.tracedata import zipf_trace

# -- Belady ---------------------------------------------------------------------


def test_only_the_belady_family_is_offline():
    assert [name for name in available() if make_policy(name, 4).offline] == ["belady", "beladysize"]


def test_belady_without_the_future_says_what_to_do():
    cache = make_policy("belady", 4)
    with pytest.raises(PolicyError, match=r"offline policy.*prepare\(keys\).*timed model"):
        cache.lookup("a")
    assert not cache.prepared


def test_belady_checks_it_sees_the_prepared_sequence():
    cache = make_policy("belady", 4, future=["a", "b"])
    with pytest.raises(PolicyError, match=r"request 0 is 'x' but the prepared sequence has 'a'"):
        cache.lookup("x")
    cache = make_policy("belady", 4, future=["a", "b"])
    cache.access("a")
    with pytest.raises(PolicyError, match="inserts only the key of the latest request"):
        cache.insert("z")
    cache.access("b")
    with pytest.raises(PolicyError, match="prepared with 2 requests and got more"):
        cache.lookup("a")


def test_replay_prepares_belady_and_parts_need_the_whole_sequence_first():
    keys, sizes = zipf_trace(3000, 300, 0.9, seed=2)
    whole = replay(make_policy("belady", 50), keys)
    parted = make_policy("belady", 50)
    parted.prepare(keys)
    first, second = replay(parted, keys[:1000]), replay(parted, keys[1000:])
    assert first.hits + second.hits == whole.hits
    unprepared = make_policy("belady", 50)
    replay(unprepared, keys[:1000])  # prepared with this part only
    with pytest.raises(PolicyError, match="prepare\\(\\) it with the whole sequence first"):
        replay(unprepared, keys[1000:])


def test_belady_has_the_fewest_misses_when_objects_count_one():
    keys, _ = zipf_trace(5000, 500, 0.8, seed=7)
    optimum = replay(make_policy("belady", 60), keys).misses
    for name in available():
        # BeladySize is Belady's rule that may also decline a key never requested again (as
        # libCacheSim's): with that freedom it can beat MIN, which, as libCacheSim's, caches every miss.
        if name not in ("belady", "beladysize"):
            assert optimum <= replay(make_policy(name, 60), keys).misses, name
    assert optimum < replay(make_policy("lru", 60), keys).misses


def test_belady_works_behind_an_admission_filter():
    cache = make_policy("belady", 10, admission="size", admission_params={"threshold": 3})
    assert cache.offline and not cache.prepared
    counts = replay(cache, ["a", "b", "a", "c", "b"], [1, 5, 1, 1, 5], count_bytes=True)
    assert counts.hits == 1 and "b" not in cache  # b (5 bytes) is never admitted


# -- admission filters -------------------------------------------------------------


def test_admission_registry():
    assert available_admissions() == ["adaptsize", "bloomfilter", "probabilistic", "size", "tinylfu"]


def test_size_admission_refuses_large_objects_without_evicting():
    cache = make_policy("lru", 10, admission="size", admission_params={"threshold": 5})
    assert cache.insert("a", 4) == [] and "a" in cache
    assert cache.insert("b", 4) == [] and "b" in cache
    assert cache.insert("big", 5) == [] and "big" not in cache  # size < threshold only, as libCacheSim
    assert cache.keys() == ["a", "b"] and cache.used == 8
    assert cache.insert("c", 4) == ["a"]
    assert cache.params() == {"admission": "size", "admission_threshold": 5}
    assert cache.name == "lru+size"


def test_admission_is_asked_only_for_keys_not_cached():
    cache = make_policy("lru", 10, admission="size", admission_params={"threshold": 5})
    cache.insert("a", 4)
    cache.insert("a", 6)  # already cached: replaced without asking the filter
    assert "a" in cache and cache.used == 6


def test_probabilistic_admission_is_seeded_and_admits_its_share():
    def admitted(seed):
        cache = make_policy(
            "fifo", 100_000, admission="probabilistic", admission_params={"probability": 0.3, "seed": seed}
        )
        for key in range(5000):
            cache.insert(key)
        return set(cache.keys())

    assert admitted(1) == admitted(1) != admitted(2)
    assert 1350 < len(admitted(1)) < 1650  # 0.3 of 5000, +-7 standard deviations
    with pytest.raises(ValueError, match=r"probability must be in \(0, 1\]"):
        make_policy("lru", 4, admission="probabilistic", admission_params={"probability": 0})


def test_tinylfu_admission_lets_in_keys_seen_before():
    cache = make_policy("lru", 4, admission="tinylfu")
    assert cache.access("a") is False and "a" not in cache  # first sighting: doorkeeper only
    assert cache.access("a") is False and "a" in cache  # second: admitted
    assert cache.access("a") is True


def test_tinylfu_admission_forgets_after_its_sample():
    doorkeeper = TinyLFUAdmission(100, sample_size=4)
    doorkeeper.record("x")
    assert doorkeeper.estimate("x") == 1 and not doorkeeper.admit("x", 1)
    doorkeeper.record("x")
    assert doorkeeper.estimate("x") == 2 and doorkeeper.admit("x", 1)
    for key in ("y", "z"):  # the 4th recorded request resets: doorkeeper cleared, counts halved
        doorkeeper.record(key)
    assert doorkeeper.estimate("x") == 0
    assert TinyLFUAdmission(10**9).expected_items == 65536


def test_tinylfu_admission_keeps_one_hit_wonders_out_of_a_scan():
    keys, _ = zipf_trace(20000, 2000, 0.9, seed=3)
    scan = np.arange(10**7, 10**7 + 20000)  # a one-time scan interleaved with the popular keys
    mixed = np.column_stack([keys, scan]).ravel()
    plain = replay(make_policy("lru", 200), mixed)
    filtered = replay(make_policy("lru", 200, admission="tinylfu"), mixed)
    assert filtered.hits > 1.3 * plain.hits


def test_bloomfilter_admission_admits_a_key_on_its_second_miss_and_never_forgets():
    # LRU of 2 behind the filter.  Each of a, b, c is refused at its first miss and admitted at
    # its second; c's evicts a (LRU).  a's next miss is admitted at once (evicting b): the
    # filter never forgets (libCacheSim keeps an exact set).  d is refused; b, seen, evicts c.
    cache = make_policy("lru", 2, admission="bloomfilter")
    requests = ["a", "a", "a", "b", "b", "c", "c", "a", "a", "d", "b"]
    hits = [cache.access(key) for key in requests]
    assert hits == [False, False, True, False, False, False, False, False, True, False, False]
    assert cache.keys() == ["a", "b"]
    assert cache.admission.seen == 4 and cache.params() == {"admission": "bloomfilter"}
    assert cache.insert("e", 5) == [] and cache.insert("e", 5) == []  # too large: vetted, admitted, not cached
    assert "e" not in cache and cache.keys() == ["a", "b"]


def test_bad_admission_settings_name_the_problem():
    with pytest.raises(
        PolicyError, match=r"unknown admission 'sise'; valid: adaptsize, bloomfilter, probabilistic, size, tinylfu"
    ):
        make_policy("lru", 4, admission="sise")
    with pytest.raises(PolicyError, match=r"admission 'size' has no parameter 'size'; valid: threshold"):
        make_policy("lru", 4, admission="size", admission_params={"size": 3})
    with pytest.raises(PolicyError, match="threshold"):
        make_policy("lru", 4, admission="size")
    with pytest.raises(PolicyError, match="admission_params given without admission"):
        make_policy("lru", 4, admission_params={"threshold": 3})
    with pytest.raises(PolicyError, match="unknown admission"):
        check_params("arc", {"admission": "nope"})
    check_params("arc", {"admission": "tinylfu", "admission_params": {"min_frequency": 3}})


def test_a_users_admission_filter_by_object_or_registered():
    class EvenOnly(Admission):
        def admit(self, key, size):
            return key % 2 == 0

    cache = make_policy("sieve", 10, admission=EvenOnly(10))
    for key in range(6):
        cache.access(key)
    assert sorted(cache.keys()) == [0, 2, 4]
    assert isinstance(cache, Admitted) and cache.max_object_size == 10

    register_admission("evenonly-test")(EvenOnly)
    try:
        cache = make_policy("arc", 10, admission="evenonly-test")
        assert [cache.access(k) for k in (1, 2, 2)] == [False, False, True]
    finally:
        from policies import admission

        del admission._ADMISSIONS["evenonly-test"]


def test_admitted_policy_in_a_request_loop_stays_within_capacity():
    rng = random.Random(4)
    cache = make_policy("s3fifo", 50, admission="tinylfu")
    for _ in range(3000):
        key = int(200 * rng.random() ** 2)
        if not cache.lookup(key):
            cache.insert(key)
        assert cache.used <= 50
    assert 0 < len(cache) <= 50
