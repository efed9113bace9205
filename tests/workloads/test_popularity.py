import numpy as np
import pytest
from scipy import stats

from workloads import Constant, Lognormal, Poisson, Uniform, Workload, Zipf, rng_for


@pytest.mark.parametrize("alpha", [0.0, 0.6, 1.0, 1.4])
def test_zipf_sampler_matches_its_pmf(alpha):
    zipf = Zipf(50, alpha)
    pmf = zipf.pmf()
    assert pmf[0] == pytest.approx(1.0 / np.sum(np.arange(1, 51) ** -alpha))
    ranks = zipf.ranks(rng_for(1, "test"), 200_000)
    observed = np.bincount(ranks, minlength=50)
    # Chi-square goodness of fit; p < 1e-4 would be a one-in-ten-thousand fluke.
    result = stats.chisquare(observed, pmf * len(ranks))
    assert result.pvalue > 1e-4


def test_zipf_is_finite_catalogue_not_numpys_zipf():
    ranks = Zipf(10, 0.5).ranks(rng_for(3, "test"), 100_000)
    assert ranks.min() == 0 and ranks.max() == 9


def test_zipf_rejects_negative_alpha_and_empty_catalogue():
    with pytest.raises(ValueError, match="alpha must be >= 0"):
        Zipf(10, -0.1)
    with pytest.raises(ValueError, match="keys must be a positive integer"):
        Zipf(0, 1.0)


def test_uniform_pmf_and_range():
    ranks = Uniform(7).ranks(rng_for(1, "u"), 70_000)
    assert np.bincount(ranks).min() > 9000


def _stream(seed, chunk, workload=None):
    workload = workload or Workload(Zipf(1000, 0.9), Poisson(100.0))
    batches = list(workload.batches(seed, 10_000, chunk=chunk))
    return (
        np.concatenate([b.time for b in batches]),
        np.concatenate([b.key for b in batches]),
        np.concatenate([b.size for b in batches]),
    )


def test_stream_is_reproducible_and_independent_of_chunk_size():
    t1, k1, s1 = _stream(5, 4096)
    t2, k2, s2 = _stream(5, 1000)
    assert np.array_equal(k1, k2) and np.array_equal(s1, s2)
    assert np.allclose(t1, t2, rtol=0, atol=1e-9)
    _, k3, _ = _stream(6, 4096)
    assert not np.array_equal(k1, k3)


def test_scrambled_hot_keys_are_not_neighbours():
    _, keys, _ = _stream(1, 4096)
    hottest = np.argsort(np.bincount(keys, minlength=1000))[::-1][:10]
    assert not np.array_equal(np.sort(hottest), np.arange(10))
    assert len(np.unique(keys)) <= 1000 and keys.max() < 1000


def test_poisson_rate_and_each_key_has_one_size():
    workload = Workload(Zipf(1000, 0.9), Poisson(250.0), Lognormal(4096, 1.0))
    times, keys, sizes = _stream(2, 4096, workload)
    assert len(times) / times[-1] == pytest.approx(250.0, rel=0.05)
    assert np.all(np.diff(times) >= 0)
    per_key = {}
    for key, size in zip(keys.tolist(), sizes.tolist()):
        assert per_key.setdefault(key, size) == size
    assert np.median(workload.sizes_of(np.arange(20_000), 2)) == pytest.approx(4096, rel=0.05)
    assert np.all(Workload(Zipf(10, 1), Poisson(1.0), Constant(1)).sizes_of(np.arange(10), 0) == 1)
