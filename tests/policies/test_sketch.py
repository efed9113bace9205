"""Stable hashing and the probabilistic counters of policies/sketch.py."""

import os
import subprocess
import sys
from collections import Counter

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from policies.sketch import BloomFilter, CountingBloomFilter, CountMinSketch, key_id, stable_hash, xxh64_u64
from tests.policies.tracedata import REPO
from workloads import hashing

KEYS = st.one_of(
    st.integers(-(2**70), 2**70),
    st.text(max_size=20),
    st.binary(max_size=20),
    st.tuples(st.integers(), st.text(max_size=5)),
)


def test_stable_hash_is_the_same_in_every_process():
    # Python's own hash() of a string changes with PYTHONHASHSEED; ours must not.
    code = (
        "from policies.sketch import stable_hash; print(stable_hash('user:42'), stable_hash(('a', 1)), stable_hash(7))"
    )
    outputs = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(REPO)}
        outputs.add(
            subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
        )
    assert len(outputs) == 1
    assert outputs.pop().split()[2] == str(stable_hash(7))


@given(key=KEYS)
def test_hashes_are_64_bit_and_repeatable(key):
    assert 0 <= stable_hash(key) < 2**64 and stable_hash(key) == stable_hash(key)
    assert 0 <= key_id(key) < 2**64


def test_splitmix64_has_its_known_values_in_both_forms():
    # splitmix64's finalizer: its value at 0 is the generator's well-known first output.
    known = [16294208416658607535, 10451216379200822465, 16490336266968443936, 2296115805719413641]
    assert hashing.mix64(np.array([0, 1, -1, 2**40])).tolist() == known
    assert [hashing.splitmix64(x & hashing.MASK64) for x in (0, 1, -1, 2**40)] == known


@given(values=st.lists(st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=20), salt=st.integers(0, 2**64 - 1))
def test_the_scalar_splitmix64_equals_the_numpy_one(values, salt):
    scalar = [hashing.splitmix64(v & hashing.MASK64, salt) for v in values]
    assert hashing.mix64(np.array(values, dtype=np.int64), salt).tolist() == scalar
    assert stable_hash(values[0]) == hashing.splitmix64(values[0] & hashing.MASK64)


@given(texts=st.lists(st.text(max_size=12), max_size=8))
def test_text_keys_have_one_hash_signed_or_not(texts):
    # A trace's int64 key id and the unsigned stable id (seeds, salts, policies' key ids) share 64 bits.
    ids = [hashing.key_id(t) for t in texts]
    assert hashing.key_ids(texts).tolist() == ids
    assert [i & hashing.MASK64 for i in ids] == [hashing.stable_id(t) for t in texts] == [key_id(t) for t in texts]


def test_integer_keys_are_their_own_ids_and_numpy_integers_hash_alike():
    assert key_id(12345) == 12345 and key_id(-1) == 2**64 - 1
    assert stable_hash(np.int64(99)) == stable_hash(99) and stable_hash("99") != stable_hash(99)
    assert xxh64_u64(1, 0) != xxh64_u64(1, 1) != xxh64_u64(2, 1)


def test_bulk_hashing_matches_one_at_a_time():
    keys = np.array([0, 1, 7, 2**31, 2**63 - 1, -5, 123456789012], dtype=np.int64)
    bulk, single = CountingBloomFilter(5000), CountingBloomFilter(5000)
    bulk.preload(keys)
    for key in keys.tolist():
        assert bulk.memo[key] == single.probe(key)
    assert bulk.n_probes == 10 and bulk.n_counters == 71_888  # libCacheSim: ceil(14.38 * 5000) counters


@settings(max_examples=30)
@given(keys=st.lists(st.integers(0, 500), max_size=300))
def test_counting_bloom_filter_never_underestimates(keys):
    sketch = CountingBloomFilter(50)
    for key in keys:
        sketch.add(key)
    truth = Counter(keys)
    assert all(sketch.estimate(key) >= count for key, count in truth.items())
    sketch.halve()
    assert all(sketch.estimate(key) >= count // 2 for key, count in truth.items())


@settings(max_examples=30)
@given(keys=st.lists(KEYS, max_size=200))
def test_count_min_sketch_never_underestimates_below_its_cap(keys):
    sketch = CountMinSketch(64)
    for key in keys:
        sketch.add(key)
    for key, count in Counter(keys).items():
        assert min(count, sketch.max_count) <= sketch.estimate(key) <= sketch.max_count


def test_count_min_sketch_is_exact_for_a_few_keys_in_a_wide_sketch():
    sketch = CountMinSketch(4096)
    for key, count in {"a": 3, "b": 1, "c": 7}.items():
        for _ in range(count):
            sketch.add(key)
    assert [sketch.estimate(k) for k in "abcd"] == [3, 1, 7, 0]
    sketch.halve()
    assert [sketch.estimate(k) for k in "abc"] == [1, 0, 3]


@settings(max_examples=30)
@given(keys=st.lists(KEYS, max_size=200))
def test_bloom_filter_has_no_false_negatives(keys):
    bloom = BloomFilter(100)
    for key in keys:
        bloom.add(key)
    assert all(key in bloom for key in keys)
    bloom.clear()
    assert not any(key in bloom for key in keys)


def test_bloom_filter_false_positive_rate_is_near_its_target():
    bloom = BloomFilter(10_000, error=0.01)
    for key in range(10_000):
        bloom.add(key)
    false_positives = sum(key in bloom for key in range(10**6, 10**6 + 20_000))
    assert false_positives < 20_000 * 0.02
