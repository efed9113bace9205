"""The stream's cheaper draws give the numbers of the direct ones: thinning, the class split, the sizes.

Each reference below is the plain form the stream used to compute (a rate at
every candidate, a binary search for the class, a mask per class); the
stream must keep the very same requests, classes and sizes, bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest

from workloads import Constant, Diurnal, KeyClass, Lognormal, Pareto, Poisson, Workload, Zipf
from workloads.hashing import stable_id, unit_interval
from workloads.rng import rng_for
from workloads.stream import CLASS_SHIFT, _whole_bytes


def _thinned_directly(process: Diurnal, rng: np.random.Generator, takes: list[int]) -> list[np.ndarray]:
    """The thinning of _DiurnalStream.take with the rate computed at every candidate."""
    peak_rate = process.rate * (1.0 + process.amplitude)
    clock, buffer, out = 0.0, np.empty(0), []
    for n in takes:
        parts, have = [buffer], len(buffer)
        while have < n:
            candidates = clock + np.cumsum(rng.exponential(1.0 / peak_rate, max(1024, 2 * (n - have))))
            clock = float(candidates[-1])
            kept = candidates[rng.random(len(candidates)) * peak_rate < process.rate_at(candidates)]
            parts.append(kept)
            have += len(kept)
        times = np.concatenate(parts)
        buffer = times[n:]
        out.append(times[:n])
    return out


@pytest.mark.parametrize(
    "process",
    [
        Diurnal(1157.4, amplitude=0.6),  # a day: each batch a minute or so of a slowly moving rate
        Diurnal(20_000.0, amplitude=0.6, period=20.0, peak=14.0),  # peaks and troughs inside batches
        Diurnal(5_000.0, amplitude=0.95, period=3.0, peak=0.0),
        Diurnal(1_000.0, amplitude=0.0),  # a constant rate
    ],
    ids=["day", "short-period", "deep", "flat"],
)
def test_thinning_keeps_the_candidates_the_rate_at_each_keeps(process):
    takes = [1, 70_000, 65_536, 3, 65_536, 10_000]
    expected = _thinned_directly(process, rng_for(4, "arrivals"), takes)
    stream = process.stream(rng_for(4, "arrivals"))
    for n, want in zip(takes, expected):
        got = stream.take(n)
        assert got.tobytes() == want.tobytes()


def test_below_rate_decides_heights_at_the_rate_as_the_rate_does():
    """Heights on the rate itself and one ulp either side: the tightest comparisons there are."""
    rng = np.random.default_rng(8)
    for process in (Diurnal(1157.4, amplitude=0.6), Diurnal(300.0, amplitude=0.9, period=10.0, peak=2.5)):
        for start in (0.0, 43_200.0, process.peak - 1.0, process.peak + process.period / 2 - 0.5, 7.3):
            times = start + np.sort(rng.random(20_000)) * 3.0
            rate = process.rate_at(times)
            peak_rate = process.rate * (1.0 + process.amplitude)
            for heights in (
                rate,
                np.nextafter(rate, 0.0),
                np.nextafter(rate, np.inf),
                rng.random(len(times)) * peak_rate,
            ):
                assert np.array_equal(process.below_rate(times, heights), heights < rate)
    assert process.below_rate(np.empty(0), np.empty(0)).shape == (0,)


def _mixed_workload() -> Workload:
    return Workload(
        None,
        Poisson(1000.0),
        classes=(
            KeyClass(Zipf(5_000, 0.8), Lognormal(512, 0.5), "users", share=0.5),
            KeyClass(Zipf(2_000, 1.1), Constant(100), "flags", share=0.2),
            KeyClass(Zipf(1_000, 0.9), Pareto(64, 1.5), "items", share=0.3, new_keys_per_s=2.0),
        ),
        scan_fraction=0.05,
        scan_keys=300,
        one_hit_fraction=0.02,
    )


def test_each_request_goes_to_the_class_a_binary_search_of_the_shares_picks():
    workload = _mixed_workload()
    classes = workload.key_classes()
    shares = np.cumsum([c.share for c in classes])
    shares /= shares[-1]
    class_rng = rng_for(3, "workload.classes")
    for batch in workload.batches(3, 50_000, chunk=8192):
        owner = np.minimum(np.searchsorted(shares, class_rng.random(len(batch)), side="right"), len(classes) - 1)
        drawn = batch.key >> CLASS_SHIFT
        overlay = drawn >= len(classes)  # scans and one-hits replace the class's key
        assert overlay.mean() < 0.1
        assert np.array_equal(drawn[~overlay], owner[~overlay])


def test_sizes_are_each_classes_quantile_of_the_keys_hash():
    workload = _mixed_workload()
    keys = np.concatenate([batch.key for batch in workload.batches(6, 30_000)])
    owner = np.minimum(keys >> CLASS_SHIFT, 2)
    expected = np.empty(len(keys))
    for index, cls in enumerate(workload.key_classes()):
        mask = owner == index
        expected[mask] = cls.object_size.quantile(unit_interval(keys[mask], salt=stable_id("sizes/6")))
    assert len(np.unique(owner)) == 3
    assert workload.sizes_of(keys, 6).tobytes() == _whole_bytes(expected).tobytes()
