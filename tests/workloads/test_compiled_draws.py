"""workloads/_draws.pyx and _sizes.pyx draw the numbers of their numpy references, bit for bit.

Each compiled draw takes the same random numbers from the same generator as
the numpy code it stands for, and must give the same arrays to the last bit
(the runs' files depend on it): the thinning of a daily cycle, Zipf ranks
(each step's floats), lognormal sizes, the class split, TTLs by class, and
a whole stream of them, at both ends of each parameter and of the batch size.
"""

from __future__ import annotations

import numpy as np
import pytest

import workloads.arrivals as arrivals
import workloads.popularity as popularity
import workloads.stream as stream
from workloads import Constant, Diurnal, KeyClass, Lognormal, Pareto, Poisson, Workload, Zipf
from workloads.hashing import mix64_offset, unit_interval
from workloads.rng import rng_for

_draws = pytest.importorskip("workloads._draws")

TAKES = [1, 70_000, 65_536, 3, 0, 1, 65_536, 10_000, 200_000]


@pytest.mark.parametrize(
    "process",
    [
        Diurnal(1157.4, amplitude=0.6),  # recsys_full's day
        Diurnal(20_000.0, amplitude=0.6, period=20.0, peak=14.0),  # peaks and troughs inside a round
        Diurnal(5_000.0, amplitude=0.999, period=3.0, peak=0.0),  # the rate nearly 0 at its troughs
        Diurnal(1_000.0, amplitude=0.0),  # a constant rate: every candidate kept
        Diurnal(1e-6, amplitude=0.99),  # one arrival in weeks: candidates far apart
        Diurnal(1e9, amplitude=0.5, period=1e-3),  # a billion a second over millisecond cycles
    ],
    ids=["day", "short-period", "deep", "flat", "tiny-rate", "huge-rate"],
)
def test_compiled_thinning_takes_the_times_numpy_takes(process):
    numpy_stream = arrivals._DiurnalStream(process, rng_for(4, "arrivals"))
    compiled_stream = arrivals._CompiledDiurnalStream(process, rng_for(4, "arrivals"))
    for n in TAKES:
        want, got = numpy_stream.take(n), compiled_stream.take(n)
        assert got.dtype == want.dtype and got.tobytes() == want.tobytes(), n
    # and the generator is left where numpy leaves it
    assert numpy_stream.rng.random() == compiled_stream.rng.random()


def test_a_diurnal_process_streams_compiled_where_built():
    assert isinstance(Diurnal(10.0).stream(rng_for(1, "a")), arrivals._CompiledDiurnalStream)


@pytest.mark.parametrize("count", [1, 2, 1000, 100_003])
def test_exponential_times_are_the_clock_plus_numpys_running_sum(count):
    for clock, scale in ((0.0, 1.0), (86_399.5, 1.0 / 1850.0), (1e12, 1e-9), (3.0, 1e6)):
        times = np.empty(count)
        _draws.exponential_times(rng_for(2, "e"), clock, scale, times)
        want = clock + np.cumsum(rng_for(2, "e").exponential(scale, count))
        assert times.tobytes() == want.tobytes()


def test_thin_keeps_what_its_range_decides_and_leaves_the_rest_open():
    candidates = np.sort(rng_for(5, "c").random(50_000)) * 100.0
    peak_rate, low, high = 10.0, 4.0, 6.0
    kept, open_at, open_heights = np.empty(50_000), np.empty(50_000, np.int64), np.empty(50_000)
    count, opened = _draws.thin(rng_for(5, "u"), candidates, peak_rate, low, high, kept, open_at, open_heights)
    heights = rng_for(5, "u").random(50_000) * peak_rate
    staying = heights < high
    assert kept[:count].tobytes() == candidates[staying].tobytes()
    open_ = (heights >= low) & staying
    assert open_heights[:opened].tobytes() == heights[open_].tobytes()
    assert np.array_equal(open_at[:opened], np.flatnonzero(open_[staying]))
    left = _draws.drop(kept, count, open_at[:opened])
    assert kept[:left].tobytes() == candidates[heights < low].tobytes()


ZIPFS = [
    Zipf(10_000_000, 0.8),
    Zipf(1_000_000, 1.1),
    Zipf(1, 0.5),
    Zipf(2, 1.0),
    Zipf(2**40, 0.5),
    Zipf(2**40, 2.0),
    Zipf(1000, 0.0),
    Zipf(10**6, 1.0),
    Zipf(10**5, 10.0),
    Zipf(10**9, 0.9999999),
]


@pytest.mark.parametrize("zipf", ZIPFS, ids=str)
def test_compiled_zipf_ranks_are_numpys(zipf, monkeypatch):
    for n in (1, 7, 100_000):
        got = zipf.ranks(rng_for(3, "z"), n)
        with monkeypatch.context() as numpy_only:
            numpy_only.setattr(popularity, "_compiled", None)
            want = zipf.ranks(rng_for(3, "z"), n)
        assert got.dtype == want.dtype and got.tobytes() == want.tobytes(), n


@pytest.mark.parametrize("zipf", ZIPFS, ids=str)
def test_compiled_zipf_steps_compute_numpys_numbers(zipf):
    """Each step's floats, not only the ranks (which an ulp seldom moves): the points, then the rounding."""
    uniforms = np.concatenate([rng_for(6, "u").random(100_000), [0.0, 0.5, 1.0 - 2.0**-53]])
    y = uniforms * (zipf._low - zipf._high)
    y += zipf._high
    x = popularity._integral_inverse(y, float(zipf.alpha))
    assert zipf._points_compiled(uniforms).tobytes() == x.tobytes()
    n = len(uniforms)
    ranks, accepted, unsure = np.empty(n), np.empty(n, dtype=bool), np.empty(n, dtype=np.int64)
    count = _draws.zipf_ranks(x, float(zipf.keys), zipf._squeeze, ranks, accepted.view(np.uint8), unsure)
    want = np.clip(np.floor(x + 0.5), 1, zipf.keys)
    assert ranks.tobytes() == want.tobytes()
    assert np.array_equal(accepted, want - x <= zipf._squeeze)
    assert np.array_equal(unsure[:count], np.flatnonzero(~accepted))


SIZE_MIXES = {
    "recsys": (Lognormal(512, 0.5), Lognormal(4096, 0.8)),
    "with-constants": (Lognormal(512, 0.5), Constant(100), Constant(0), Constant(7.5)),
    "clipped": (Lognormal(1e9, 9.0), Lognormal(0.01, 3.0)),  # beyond 1 TiB, and below a byte
    "narrow": (Lognormal(3, 1e-4),),
}


@pytest.mark.parametrize("mix", SIZE_MIXES)
def test_compiled_sizes_are_numpys(mix, monkeypatch):
    pytest.importorskip("workloads._sizes")
    laws = SIZE_MIXES[mix]
    classes = tuple(KeyClass(Zipf(10, 1.0), law, f"c{i}") for i, law in enumerate(laws))
    workload = Workload(None, Poisson(1.0), classes=classes)
    rng = np.random.default_rng(3)
    for n in (0, 1, 300_000):
        # every class, the scans' and one-hits' (62, 63) among them, which take the last class's sizes
        keys = (rng.integers(0, 64, n) << stream.CLASS_SHIFT) | rng.integers(0, 1 << stream.CLASS_SHIFT, n)
        for seed in (0, 99):
            got = workload.sizes_of(keys, seed)
            with monkeypatch.context() as numpy_only:
                numpy_only.setattr(stream, "_compiled_sizes", lambda: None)
                want = workload.sizes_of(keys, seed)
            assert got.dtype == want.dtype and got.tobytes() == want.tobytes(), (n, seed)
    if mix == "clipped":
        assert want.min() == 1 and want.max() == stream.MAX_OBJECT_BYTES


def test_compiled_size_exponents_are_sigma_times_scipys_ndtri():
    sizes = pytest.importorskip("workloads._sizes")
    from scipy import special

    keys = np.concatenate([rng_for(8, "k").integers(0, 1 << 41, 200_000), [0, 1, (1 << 40) - 1]])
    constant, sigmas = np.array([0, 1], dtype=np.uint8), np.array([0.8, 0.0])
    exponents = np.empty(len(keys))
    sizes.lognormal_size_exponents(keys, mix64_offset(12345), constant, sigmas, exponents)
    u = unit_interval(keys, salt=12345)
    lognormal = keys >> stream.CLASS_SHIFT == 0
    assert exponents[lognormal].tobytes() == (special.ndtri(u[lognormal]) * 0.8).tobytes()
    assert np.all(exponents[~lognormal] == 0.0)


def test_a_whole_stream_is_numpys(monkeypatch):
    """A day's mix (with a Pareto class, whose sizes stay numpy's), batch by batch."""
    workload = Workload(
        None,
        Diurnal(5_000.0, amplitude=0.6, period=60.0),
        classes=(
            KeyClass(Zipf(50_000, 0.8), Lognormal(512, 0.5), "users", share=0.6),
            KeyClass(Zipf(10_000, 1.1), Lognormal(4096, 0.8), "items", share=0.4, new_keys_per_s=4.0),
        ),
        scan_fraction=0.01,
        scan_keys=100,
    )
    pareto = Workload(Zipf(1000, 0.9), Poisson(100.0), Pareto(64, 1.5))
    for case in (workload, pareto):
        got = list(case.batches(7, 150_000, chunk=40_000))
        with monkeypatch.context() as numpy_only:
            numpy_only.setattr(arrivals, "_compiled", None)
            numpy_only.setattr(popularity, "_compiled", None)
            numpy_only.setattr(stream, "_compiled", None)
            numpy_only.setattr(stream, "_compiled_sizes", lambda: None)
            want = list(case.batches(7, 150_000, chunk=40_000))
        for a, b in zip(got, want, strict=True):
            for column in ("time", "key", "size", "op"):
                assert getattr(a, column).tobytes() == getattr(b, column).tobytes(), column


@pytest.mark.parametrize("classes", [2, 3, 7, 62])
def test_the_compiled_class_split_is_numpys(classes, monkeypatch):
    """Each request's class and each class's requests, with classes of no share and draws on the bounds."""
    rng = np.random.default_rng(classes)
    shares = rng.random(classes) * (rng.random(classes) < 0.8)
    shares[-1] = 1.0
    cumulative = np.cumsum(shares) / np.sum(shares)
    for n in (1, 2, 100_000):
        u = np.concatenate([rng.random(n), cumulative[:-1], [0.0, 1.0 - 2.0**-53]])
        owner = np.zeros(len(u), dtype=np.int64)
        split = stream._split_by_class(u, cumulative, owner)
        with monkeypatch.context() as numpy_only:
            numpy_only.setattr(stream, "_compiled", None)
            numpy_owner = np.zeros(len(u), dtype=np.int64)
            numpy_split = stream._split_by_class(u, cumulative, numpy_owner)
        assert np.array_equal(owner, numpy_owner) and len(split) == len(numpy_split) == classes
        for mine, numpy_mine in zip(split, numpy_split):
            assert mine.dtype == numpy_mine.dtype and np.array_equal(mine, numpy_mine)


def test_set_by_class_stores_what_numpys_store_by_index_stores():
    """A request's TTL by its key's class (sim/draws.py): trace keys' ids run over every class, negative too."""
    from sim.draws import _class_table

    rng = np.random.default_rng(9)
    keys = np.concatenate([rng.integers(0, 64, 100_000) << stream.CLASS_SHIFT, rng.integers(-(2**63), 2**63 - 1, 1000)])
    values = {0: 1800, 5: 0.25, 62: 7.0, 63: 1e9}
    base = rng.random(len(keys))
    want = base.copy()
    classes = stream.key_class(keys)
    for index, value in values.items():
        want[np.flatnonzero(classes == index)] = value
    got = base.copy()
    _draws.set_by_class(keys, *_class_table(values), got.view(np.uint64))
    assert got.tobytes() == want.tobytes()
    assert _class_table({64: 1.0}) is None and _class_table({-1: 1.0}) is None and _class_table({}) is None
