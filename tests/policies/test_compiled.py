"""The compiled engine makes the Python policies' decisions, request for request.

The Python classes are the reference (and libcachesim parity is checked on
them, tests/policies/test_libcachesim_parity.py): here every built-in policy
and admission filter runs on both engines over the same requests, and the
hits (and, key by key, the evictions, the cached keys in the policy's own
order, the units used) must be equal at every step:

* whole replays of the parity traces (tests/policies/tracedata.py: a
  generated Zipf trace and block-I/O trace, and the shared CloudPhysics trace
  where ../shared has it), objects and bytes, fed with the keys' dense ids as `kvsim replay` does and with plain
  keys;
* random sequences (hypothesis), key by key with inserts that arrive late and
  out of order and with removals, as a timed model drives a policy.

Without the kernels (or with KVSIM_ENGINE=python) the comparisons are
skipped; what the Python engine must still do is tested at the end.
"""

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import policies.compiled as compiled_module
from experiments.analysis import replay
from experiments.analysis.mrc import replay_mrc
from experiments.analysis.replay import Replayer, replay_hits
from policies import PolicyError, engine, make_fast_policy, make_policy
from policies.compiled import CompiledPolicy, compiled_names
from tests.policies.tracedata import block_traces, zipf_trace
from workloads.ids import DenseBatch, DenseIds

needs_kernels = pytest.mark.skipif(engine() != "compiled", reason="the compiled engine is not running")

#: policies run again with other parameters: (policy, parameters)
VARIANTS = {
    "lfuda-libcachesim": ("lfuda", {"aging": "libcachesim"}),
    "clock-widest": ("clock", {"bits": 32, "init_freq": 255}),  # both ends of CLOCK's ranges
    # 3L-Cache is LRU until its first model: here one every 8 samples (too few to split on, so its predictions
    # tie, and the heap's tie order decides); on random sequences only (trained on traces: below)
    "threelcache-trained": ("threelcache", {"batch_size": 8}),
}
#: LRB past its first model (a model every few dozen samples, small trees), by bytes and by objects:
#: on the random sequences only, whose replays train a few models (test_lrb.py replays traces)
LEARNING_VARIANTS = {
    "lrb-learning": ("lrb", {"memory_window": 1024, "batch_size": 40, "num_iterations": 4, "num_leaves": 4}),
    "lrb-objects": ("lrb", {"objective": "object-miss-ratio", "batch_size": 25, "num_iterations": 2, "sample_rate": 5}),
}
VARIANTS.update(LEARNING_VARIANTS)
POLICIES = compiled_names() + list(VARIANTS)  # every built-in policy (a policy of Python only has no kernel)
TRACE_POLICIES = [name for name in POLICIES if name != "threelcache-trained" and name not in LEARNING_VARIANTS]
ADMISSIONS = {
    "size": {"threshold": 20_000},
    "probabilistic": {"probability": 0.4, "seed": 3},
    "tinylfu": {},
    "tinylfu-small": {"expected_items": 200, "min_frequency": 3},
    "bloomfilter": {},
    "adaptsize": {"reconf_interval": 500, "seed": 2},
}

ZIPF = zipf_trace(20_000, 2000, 0.9, seed=4, size_sigma=0.7)
ZIPF_CAPACITIES = [(200, False), (1000, False), (198_050, True), (2_970_753, True)]
BLOCK_TRACES = block_traces()
# A small cache of each kind: 2% of the objects, 2.5% of the bytes (block-io: 15,436 objects, 654 MB;
# cloudphysics: 48,974 objects, 2.03 GB).
BLOCK_CAPACITIES = {"block-io": [(300, False), (16_000_000, True)], "cloudphysics": [(1000, False), (50_000_000, True)]}


def both(name, capacity, **params):
    """The Python reference and the compiled policy, built alike (`name` may be one of VARIANTS)."""
    name, variant = VARIANTS.get(name, (name, {}))
    params = {**variant, **params}
    return make_policy(name, capacity, **params), make_fast_policy(name, capacity, **params)


def assert_same_replay(name, keys, sizes, capacity, count_bytes, **params):
    reference, fast = both(name, capacity, **params)
    assert isinstance(fast, CompiledPolicy)
    expected = replay_hits(reference, keys, sizes, count_bytes)
    with_ids = replay_hits(fast, keys, sizes, count_bytes, ids=DenseIds()(keys))
    np.testing.assert_array_equal(with_ids, expected)
    _, fast = both(name, capacity, **params)
    np.testing.assert_array_equal(replay_hits(fast, keys, sizes, count_bytes), expected)  # keys mapped by the policy


@needs_kernels
@pytest.mark.parametrize("capacity,count_bytes", ZIPF_CAPACITIES)
@pytest.mark.parametrize("name", TRACE_POLICIES)
def test_same_hits_as_python_on_a_zipf_trace(name, capacity, count_bytes):
    assert_same_replay(name, *ZIPF, capacity, count_bytes)


@needs_kernels
@pytest.mark.parametrize(
    "trace,capacity,count_bytes", [(trace, c, b) for trace in BLOCK_TRACES for c, b in BLOCK_CAPACITIES[trace]]
)
@pytest.mark.parametrize("name", TRACE_POLICIES)
def test_same_hits_as_python_on_block_io_traces(name, trace, capacity, count_bytes):
    assert_same_replay(name, *BLOCK_TRACES[trace], capacity, count_bytes)


@needs_kernels
@pytest.mark.parametrize("objective", ["byte-miss-ratio", "object-miss-ratio"])
@pytest.mark.parametrize(
    "trace,capacity,count_bytes", [("zipf", 200, False), ("zipf", 198_050, True), ("block-io", 300, False)]
)
def test_threelcache_trained_on_traces(objective, trace, capacity, count_bytes):
    """3L-Cache trained every 48 samples, on 6,000 requests: real trees, and the kernel predicts through them."""
    keys, sizes = (column[:6000] for column in (ZIPF if trace == "zipf" else BLOCK_TRACES[trace]))
    assert_same_replay("threelcache", keys, sizes, capacity, count_bytes, batch_size=48, objective=objective)


@needs_kernels
@pytest.mark.parametrize("admission", list(ADMISSIONS))
@pytest.mark.parametrize("name", ["lru", "s3fifo", "arc", "lirs", "wtinylfu", "gdsf", "belady"])
def test_same_hits_behind_every_admission_filter(name, admission):
    params = {"admission": admission.split("-")[0], "admission_params": ADMISSIONS[admission]}
    keys, sizes = (column[:8000] for column in ZIPF)
    for capacity, count_bytes in (ZIPF_CAPACITIES[0], ZIPF_CAPACITIES[2]):
        assert_same_replay(name, keys, sizes, capacity, count_bytes, **params)


# -- random sequences ------------------------------------------------------------------

# Few keys (every request a likely hit, the rare paths of ARC, LIRS, LFU-DA...) or more.
some_keys = st.one_of(st.integers(0, 5), st.integers(0, 40))
keys_and_sizes = st.lists(st.tuples(some_keys, st.integers(1, 9)), min_size=1, max_size=300)


@needs_kernels
@pytest.mark.parametrize("name", POLICIES)
@settings(max_examples=40, deadline=None)
@given(requests=keys_and_sizes, capacity=st.sampled_from([1, 2, 5, 12, 40]), count_bytes=st.booleans())
def test_same_hits_on_random_sequences(name, requests, capacity, count_bytes):
    keys = np.array([key for key, _ in requests], dtype=np.int64)
    sizes = np.array([size for _, size in requests], dtype=np.int64)
    assert_same_replay(name, keys, sizes, capacity, count_bytes)


# (operation, key, size): look up (an insert follows after `delay` steps on a miss), or remove
operations = st.lists(
    st.tuples(st.sampled_from(["lookup"] * 4 + ["remove"]), some_keys, st.integers(1, 6), st.integers(0, 4)),
    min_size=1,
    max_size=250,
)


@needs_kernels
@pytest.mark.parametrize(
    "name",
    [name for name in POLICIES if name not in ("belady", "beladysize")]
    + ["s3fifo+tinylfu", "arc+size", "lru+bloomfilter", "fifo+adaptsize"],
)
@settings(max_examples=40, deadline=None)
@given(steps=operations, capacity=st.sampled_from([1, 3, 8, 20]), count_bytes=st.booleans())
def test_same_decisions_key_by_key_with_late_inserts_and_removals(name, steps, capacity, count_bytes):
    name, _, admission = name.partition("+")
    admission_params = {"size": {"threshold": 4}, "adaptsize": {"reconf_interval": 5}}.get(admission, {})
    params = {"admission": admission, "admission_params": admission_params}
    reference, fast = both(name, capacity, **(params if admission else {}))
    pending = []  # [steps still to wait, key, size]
    for operation, key, size, delay in steps:
        size = size if count_bytes else 1
        if operation == "remove":
            assert fast.remove(key) == reference.remove(key)
        else:
            hit = reference.lookup(key)
            assert fast.lookup(key) == hit
            if not hit:
                pending.append([delay, key, size])
        for fetch in pending:
            fetch[0] -= 1
        for fetch in [fetch for fetch in pending if fetch[0] < 0]:
            pending.remove(fetch)
            assert fast.insert(fetch[1], fetch[2]) == reference.insert(fetch[1], fetch[2])
        assert fast.keys() == reference.keys()
        assert (fast.used, len(fast), key in fast) == (reference.used, len(reference), key in reference)


@needs_kernels
def test_lfuda_age_may_pass_the_smallest_priority():
    # Capacity 2.  The 5th request hits 1 (priority 1, alone in the age's bucket): the age
    # moves up to the next priority, 3, past 1's new priority 1 + 1 = 2 (computed with the
    # age from before).  Evictions then take the bucket at the age where there is one, the
    # smallest priority only where there is none; a kernel that got either wrong (a heap of
    # priorities, or 1's new priority from the new age) misses differently by the end.
    reference, fast = both("lfuda-libcachesim", 2)
    for cache in (reference, fast):
        hits = [cache.access(key) for key in [5, 1, 4, 4, 1, 4, 1, 3, 1]]
        assert hits == [False, False, False, True, True, True, True, False, False]
    assert reference.keys() == fast.keys() == [3, 1]


@needs_kernels
def test_random_draws_the_python_generators_numbers():
    from policies._kernels.kernel import PythonRandom

    generator, ours = random.Random(12345), PythonRandom(12345)
    assert [ours.draw() for _ in range(1000)] == [generator.random() for _ in range(1000)]


@needs_kernels
def test_string_keys_and_their_order():
    reference, fast = both("s3fifo", 3)
    for key in "abcabdaeafgab":
        assert fast.access(key) == reference.access(key)
    assert fast.keys() == reference.keys()


# -- the key map, the ways of feeding, Belady's future -------------------------------------


@needs_kernels
def test_keys_of_every_kind_are_told_apart_and_given_back():
    keys = [3, "3", (3,), 2**63 + 3, -3, np.int64(3), b"3", 2**64 - 1, -7, "a", 3.5, True]
    reference, fast = both("arc", 4)
    for key in keys * 3 + keys[::-1]:
        assert fast.access(key) == reference.access(key)
        assert fast.keys() == reference.keys()
    assert fast.insert("late") == reference.insert("late")
    assert fast.keys() == reference.keys()


@needs_kernels
@pytest.mark.parametrize("name", ["lru", "wtinylfu", "s3fifo"])
def test_keys_that_share_a_64_bit_id_or_a_handle_stay_apart(name):
    from policies.key_handles import FIRST_NAMED, signed
    from policies.sketch import key_id

    # "abc" and b"abc" have one id, and so has the integer `twin`; -1 and 2**64 - 1 too.  The first
    # named key's handle is FIRST_NAMED, which an integer key then claims: the named key moves.
    twin = signed(key_id("abc"))
    keys = ["abc", twin, b"abc", FIRST_NAMED, "x", -1, 2**64 - 1, FIRST_NAMED + 1, ("abc",)]
    reference, fast = both(name, 6)
    for key in keys * 3 + keys[::-1]:
        assert fast.access(key) == reference.access(key)
        assert fast.keys() == reference.keys()
        assert (len(fast), key in fast) == (len(reference), key in reference)


@needs_kernels
def test_slots_are_recycled_so_memory_follows_the_cache():
    fast = make_fast_policy("s3fifo", 100)
    for key in range(20_000):  # every key new: evicted and forgotten (or a ghost) soon after
        fast.access(key)
    assert len(fast) == 100
    # At most 100 cached and 90 ghosts are held: slots are swept when the map holds the floor, or twice that.
    from policies._kernels.slots import SWEEP_FLOOR

    assert fast._slots.made_slots <= SWEEP_FLOOR


@needs_kernels
def test_one_policy_is_fed_one_way():
    fast = make_fast_policy("lru", 10)
    keys = np.arange(5, dtype=np.int64)
    replay(fast, keys, ids=DenseIds()(keys))
    assert fast.keys() == [0, 1, 2, 3, 4]  # the original ids, named again
    with pytest.raises(PolicyError, match="feed one policy one way"):
        fast.lookup(3)
    with pytest.raises(ValueError, match=r"dense ids must be in \[0, 2\*\*31 - 1\); got -1 \.\. 4"):
        replay(fast, keys, ids=np.array([0, 1, -1, 3, 4]))
    with pytest.raises(ValueError, match="5 keys but 4 dense ids"):
        replay(fast, keys, ids=np.arange(4))


@needs_kernels
def test_replayer_with_warmup_and_dense_ids_counts_as_python():
    keys, sizes = ZIPF
    dense = DenseIds()
    counts = []
    for fast in (False, True):
        replayer = Replayer((make_fast_policy if fast else make_policy)("twoq", 300), warmup=5000)
        for low in range(0, len(keys), 4096):
            part = slice(low, low + 4096)
            replayer.feed(keys[part], sizes[part], ids=dense(keys[part]) if fast else None)
        counts.append(replayer.counts)
    assert counts[0] == counts[1] and counts[0].requests == len(keys) - 5000


@needs_kernels
def test_belady_checks_its_future_as_the_python_one():
    fast = make_fast_policy("belady", 2)
    with pytest.raises(PolicyError, match=r"offline policy.*prepare\(keys\).*timed model"):
        fast.lookup("a")
    fast.prepare(["a", "b"])
    with pytest.raises(PolicyError, match=r"request 0 is 'x' but the prepared sequence has 'a'"):
        fast.lookup("x")
    fast = make_fast_policy("belady", 2, future=np.array([7, 8, 7]))
    assert [fast.access(key) for key in (7, 8, 7)] == [False, False, True]
    with pytest.raises(PolicyError, match="prepared with 3 requests and got more"):
        fast.lookup(7)
    fast = make_fast_policy("belady", 2, future=["a", "b"])
    fast.lookup("a")
    with pytest.raises(PolicyError, match="inserts only the key of the latest request"):
        fast.insert("b")


@needs_kernels
def test_miss_ratio_curve_by_compiled_replays_is_the_python_one():
    keys, sizes = ZIPF
    dense = DenseIds()
    chunks = [
        DenseBatch(keys[i : i + 5000], sizes[i : i + 5000], dense(keys[i : i + 5000])) for i in range(0, 20_000, 5000)
    ]
    for rate in (None, 0.3):  # one replay per capacity, or miniature ones on a SHARDS sample
        python = replay_mrc(lambda c: make_policy("lirs", c), (keys, sizes), [100, 400, 1600], warmup=2000, rate=rate)
        fast = replay_mrc("lirs", lambda: iter(chunks), [100, 400, 1600], warmup=2000, rate=rate)
        np.testing.assert_array_equal(fast.misses, python.misses)


# -- the engine itself -----------------------------------------------------------------------


def test_the_python_engine_when_asked(monkeypatch):
    monkeypatch.setenv("KVSIM_ENGINE", "python")
    assert engine() == "python"
    assert type(make_fast_policy("lru", 10)) is type(make_policy("lru", 10))
    monkeypatch.setenv("KVSIM_ENGINE", "fast")
    with pytest.raises(PolicyError, match="KVSIM_ENGINE must be 'compiled' or 'python'; got 'fast'"):
        engine()


def test_without_kernels_the_python_engine_says_so_once(monkeypatch, capsys):
    monkeypatch.delenv("KVSIM_ENGINE", raising=False)
    monkeypatch.setattr(compiled_module, "_built", lambda: False)
    monkeypatch.setattr(compiled_module, "_said_python", False)
    assert engine() == "python" and engine() == "python"
    assert make_fast_policy("arc", 10).__class__.__name__ == "ARC"
    assert capsys.readouterr().err.count("running the Python engine") == 1
    monkeypatch.setenv("KVSIM_ENGINE", "compiled")
    with pytest.raises(PolicyError, match="KVSIM_ENGINE=compiled, but the compiled engine is not built"):
        engine()


def test_users_policies_and_filters_stay_python():
    from policies import Admission
    from policies.lru import LRU

    class MyLRU(LRU):
        pass

    class Small(Admission):
        def admit(self, key, size):
            return size < 3

    assert compiled_module.compile_policy(MyLRU(10)) is None
    wrapped = make_fast_policy("lru", 10, admission=Small(10))
    assert not isinstance(wrapped, CompiledPolicy) and wrapped.access(1, 2) is False and 1 in wrapped


@pytest.mark.parametrize("compiled", [True, False])
def test_dense_ids_number_keys_in_order_of_first_sight(compiled):
    dense = DenseIds(compiled=compiled)
    rng = np.random.default_rng(5)
    keys = np.concatenate(
        [
            [3_000_000, 0, -1, 2**63 - 1, -(2**63)],  # too far out for the direct table at first: hashed
            rng.integers(-(2**63), 2**63 - 1, 50_000),
            np.arange(1, 400_000),  # dense ids: the direct table widens, and 3,000,000 moves over
            [3_500_000, 3_000_000, 7],
        ]
    )
    keys = np.concatenate([keys, keys[::-1]])  # every key again: all found
    ids = np.concatenate([dense(part) for part in np.array_split(keys, 7)])
    _, first = np.unique(keys, return_index=True)
    in_order = keys[np.sort(first)]
    assert len(dense) == len(in_order)
    np.testing.assert_array_equal(dense.keys(), in_order)
    np.testing.assert_array_equal(dense.keys()[ids], keys)


# -- a policy that reads the clock: replay's times reach the kernel ------------------------


def assert_same_timed_replay(keys, sizes, times, capacity, count_bytes, **params):
    """GL-Cache (timed) on both engines, told the same times: the same hits, fed dense ids or keys."""
    reference, fast = both("glcache", capacity, **params)
    expected = replay_hits(reference, keys, sizes, count_bytes, times)
    np.testing.assert_array_equal(replay_hits(fast, keys, sizes, count_bytes, times, ids=DenseIds()(keys)), expected)
    _, fast = both("glcache", capacity, **params)
    np.testing.assert_array_equal(replay_hits(fast, keys, sizes, count_bytes, times), expected)
    assert fast.keys() == reference.keys()
    _, fast = both("glcache", capacity, **params)  # key by key, as a timed model feeds it
    object_sizes = sizes.tolist() if count_bytes else [1] * len(keys)
    hits = [fast.advance(now) or fast.access(key, size) for now, key, size in zip(times, keys.tolist(), object_sizes)]
    np.testing.assert_array_equal(hits, expected)
    return reference


@needs_kernels
@pytest.mark.parametrize(
    "capacity,count_bytes,consecutive", [(*ZIPF_CAPACITIES[0], False), (*ZIPF_CAPACITIES[2], True)]
)
def test_glcache_learning_from_the_traces_times(capacity, count_bytes, consecutive):
    keys, sizes = (column[:10_000] for column in ZIPF)
    times = np.arange(len(keys)) // 10 + 1  # ten requests a second: a model every 60 seconds
    params = {"segment_size": 8, "retrain_intvl": 60, "merge_consecutive_segs": consecutive}
    reference = assert_same_timed_replay(keys, sizes, times, capacity, count_bytes, **params)
    assert reference.n_train > 10  # the model was trained, again and again, and ranked the evictions


@needs_kernels
@settings(max_examples=40, deadline=None)
@given(
    requests=st.lists(st.tuples(some_keys, st.integers(1, 9), st.integers(0, 3)), min_size=1, max_size=300),
    capacity=st.sampled_from([5, 12, 40]),
    count_bytes=st.booleans(),
    consecutive=st.booleans(),
)
def test_glcache_learning_on_random_sequences(requests, capacity, count_bytes, consecutive):
    keys, sizes, steps = (np.array(column, dtype=np.int64) for column in zip(*requests))
    params = {"segment_size": 4, "retrain_intvl": 5, "merge_consecutive_segs": consecutive}
    assert_same_timed_replay(keys, sizes, np.cumsum(steps), capacity, count_bytes, **params)


@needs_kernels
@settings(max_examples=40, deadline=None)
@given(steps=operations, capacity=st.sampled_from([3, 8, 20]), count_bytes=st.booleans(), seconds=st.integers(0, 3))
def test_glcache_learning_key_by_key_told_the_time(steps, capacity, count_bytes, seconds):
    """As a timed model drives it: the time before each call, late inserts, removals; every request heard."""
    params = {"segment_size": 4, "retrain_intvl": 3, "merge_consecutive_segs": seconds % 2 == 1}
    policies = both("glcache", capacity, **params)
    pending = []  # [steps still to wait, key, size]
    for now, (operation, key, size, delay) in enumerate(steps):
        for policy in policies:
            policy.advance(now * seconds // 2)
        size = size if count_bytes else 1
        if operation == "remove":
            assert len({policy.remove(key) for policy in policies}) == 1
        else:
            hits = [policy.lookup(key) for policy in policies]
            assert hits[0] == hits[1]
            if not hits[0]:
                pending.append([delay, key, size])
        for fetch in pending:
            fetch[0] -= 1
        for fetch in [fetch for fetch in pending if fetch[0] < 0]:
            pending.remove(fetch)
            assert policies[1].insert(fetch[1], fetch[2]) == policies[0].insert(fetch[1], fetch[2])
        assert policies[1].keys() == policies[0].keys() and policies[1].used == policies[0].used
