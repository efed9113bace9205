"""Zipf popularity fitted to a trace by maximum likelihood: the exponent alpha and the catalogue size.

A trace shows how many times each *seen* key was requested.  Keys never
requested are invisible, and deep in the tail the order of keys by count is
mostly noise, so fitting a line to the sorted counts (log count against log
rank, as libCacheSim's analyser does, ``loglog_fit``) flattens the slope and
says nothing of the catalogue.  This module fits the model the trace would
come from instead: under independent requests with Zipf(alpha) popularity
over N keys, key i's count among n requests is close to Poisson with mean
n p_i, p_i = i^-alpha / H(N, alpha), and the number of keys requested k
times (the *frequency of frequencies*, F_k) has expectation

    E[F_k] = sum_i Poisson(k; n p_i),     k >= 1,

which depends on alpha and N, not on which key is which.  ``fit_zipf``
maximises the Poisson likelihood of the observed F_k (counts grouped in
bins that widen geometrically past 16) over alpha and log N, with the ranks
grouped too (the first 64 one by one, then 32 geometric groups per doubling, each taken
at its mean probability), so that a likelihood costs a few thousand
evaluations whatever the catalogue.  The unseen keys enter through E[F_0],
which the fit is free to grow: that is how N beyond the seen keys is found.

Fit quality: ``ks``, the largest distance between the observed and the
fitted distribution of a seen key's count (0: perfect; a Zipf trace of a
million requests gives about 0.005, real traces 0.02 to 0.2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

#: ranks taken one by one before they are grouped geometrically
EXACT_RANKS = 64
#: geometric groups of ranks per doubling, past EXACT_RANKS
GROUPS_PER_OCTAVE = 32
#: the largest catalogue the fit considers (workload.keys allows 2**40)
MAX_CATALOGUE = float(2**40)


@dataclass(frozen=True)
class ZipfFit:
    """alpha: the exponent; catalogue: N, the keys of the law (seen or not); ks: the fit's distance.

    one_hit_fraction: with ``fit_zipf(..., one_hits=True)``, the share of
    requests for keys requested once and never again, beside the law (the
    workload's one_hit_fraction); else 0.
    """

    alpha: float
    catalogue: int
    ks: float
    seen: int  # distinct keys in the trace
    requests: int
    one_hit_fraction: float = 0.0

    def as_dict(self) -> dict:
        return {"alpha": self.alpha, "catalogue": self.catalogue, "ks": self.ks}


def frequency_of_frequencies(counts: np.ndarray) -> np.ndarray:
    """F[k]: how many keys were requested exactly k times (F[0] = 0), from each seen key's count."""
    return np.bincount(np.asarray(counts, dtype=np.int64))


def _count_bins(largest: int) -> np.ndarray:
    """Bin edges over counts 1 .. largest: one per count up to 16, then 8 bins per doubling."""
    small = np.arange(1, min(largest, 16) + 1)
    if largest <= 16:
        return np.append(small, largest + 1)
    wide = np.unique(np.round(np.geomspace(17, largest + 1, max(2, int(8 * np.log2((largest + 1) / 17)) + 1))))
    return np.unique(np.concatenate([small, wide.astype(np.int64), [largest + 1]]))


def _rank_groups(catalogue: float) -> tuple[np.ndarray, np.ndarray]:
    """(first rank, last rank) of each group of ranks 1..N: one by one, then geometric."""
    n = int(catalogue)
    exact = np.arange(1, min(n, EXACT_RANKS) + 1, dtype=np.float64)
    if n <= EXACT_RANKS:
        return exact, exact
    groups = max(1, int(GROUPS_PER_OCTAVE * np.log2(n / EXACT_RANKS)))
    edges = np.unique(np.floor(np.geomspace(EXACT_RANKS + 1, n + 1, groups + 1)))
    return np.concatenate([exact, edges[:-1]]), np.concatenate([exact, edges[1:] - 1])


def _group_mass(first: np.ndarray, last: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """(keys in each group, the probability mass of one key of it, unnormalised): sum of i^-alpha / keys."""
    keys = last - first + 1
    if abs(alpha - 1) < 1e-9:
        mass = np.log((last + 0.5) / (first - 0.5))
    else:
        mass = ((last + 0.5) ** (1 - alpha) - (first - 0.5) ** (1 - alpha)) / (1 - alpha)
    mass = np.where(keys == 1, first**-alpha, mass)  # a single rank exactly
    return keys, mass / keys


def expected_frequencies(alpha: float, catalogue: float, requests: int, edges: np.ndarray) -> np.ndarray:
    """E[keys whose count falls in each bin [edges[j], edges[j+1])], and E[unseen keys] last."""
    first, last = _rank_groups(catalogue)
    keys, mass = _group_mass(first, last, alpha)
    means = requests * mass / float(np.sum(keys * mass))
    # P(edges[j] <= count < edges[j+1]) per group, from Poisson's upper tails.
    tails = special.pdtrc(edges[None, :] - 1, means[:, None])  # P(count >= edge)
    within = tails[:, :-1] - tails[:, 1:]
    unseen = np.exp(-means)
    return np.append(keys @ within, keys @ unseen)


def _observed_bins(frequencies: np.ndarray, edges: np.ndarray) -> np.ndarray:
    cumulative = np.concatenate(([0], np.cumsum(frequencies)))
    top = len(frequencies) - 1
    return cumulative[np.minimum(edges[1:] - 1, top) + 1] - cumulative[np.minimum(edges[:-1] - 1, top) + 1]


def fit_zipf(counts: np.ndarray, one_hits: bool = False) -> ZipfFit:
    """The Zipf law (alpha, N) most likely to have given these per-key request counts (seen keys only).

    one_hits: fit a share f of requests for keys seen once and never again
    too (they add f x requests to F_1, the law takes the rest): a trace
    with more one-hit wonders than any Zipf law gives (new objects written
    once, scans) is fitted without bending alpha to explain them.
    """
    counts = np.asarray(counts, dtype=np.int64)
    counts = counts[counts > 0]
    seen, requests = len(counts), int(counts.sum())
    if seen == 0:
        raise ValueError("no requests to fit a popularity law to")
    frequencies = frequency_of_frequencies(counts)
    edges = _count_bins(int(counts.max()))
    observed = _observed_bins(frequencies, edges)

    singles = float(frequencies[1]) if len(frequencies) > 1 else 0.0

    def model(parameters) -> tuple[float, float, float] | None:
        alpha, log_n = parameters[:2]
        share = 1 / (1 + np.exp(-parameters[2])) * singles / requests if one_hits else 0.0
        catalogue = np.exp(log_n)
        # The law's keys include every seen key that is not a one-hit wonder of its own.
        if not (0 <= alpha <= 4 and seen - share * requests <= catalogue <= MAX_CATALOGUE):
            return None
        return alpha, catalogue, share

    def negative_log_likelihood(parameters) -> float:
        found = model(parameters)
        if found is None:
            return 1e300
        expected = np.maximum(_expected_seen(*found, requests, edges), 1e-300)
        return float(np.sum(expected - observed * np.log(expected)))

    # From a few starts (the log-log slope, and alphas around 1, with twice the seen keys),
    # each run twice (Nelder-Mead's simplex shrinks early on a ridge; a restart unsticks it).
    extra = [-2.0] if one_hits else []
    best = None
    for alpha0 in (float(np.clip(loglog_fit(counts)[0], 0.2, 2.0)), 0.6, 1.1):
        start = [alpha0, np.log(2.0 * seen), *extra]
        for _ in range(2):
            result = optimize.minimize(
                negative_log_likelihood, start, method="Nelder-Mead", options={"xatol": 1e-4, "fatol": 1e-7}
            )
            start = result.x
        if best is None or result.fun < best.fun:
            best = result
    alpha, catalogue, share = model(best.x)
    catalogue = int(round(catalogue))
    ks = ks_distance(frequencies, alpha, catalogue, requests, edges, share)
    return ZipfFit(float(alpha), catalogue, ks, seen, requests, float(share))


def _expected_seen(alpha: float, catalogue: float, share: float, requests: int, edges: np.ndarray) -> np.ndarray:
    """E[keys per count bin]: the law's over (1 - share) of the requests, plus share x requests singles."""
    expected = expected_frequencies(alpha, catalogue, requests * (1 - share), edges)[:-1]
    expected[0] += share * requests  # the first bin is count 1
    return expected


def ks_distance(
    frequencies: np.ndarray, alpha: float, catalogue: float, requests: int, edges: np.ndarray, share: float = 0.0
) -> float:
    """The largest gap between the observed and the fitted distribution of a seen key's count."""
    observed = _observed_bins(frequencies, edges)
    expected = _expected_seen(alpha, catalogue, share, requests, edges)
    if not observed.sum() or not expected.sum():
        return 1.0
    gap = np.cumsum(observed) / observed.sum() - np.cumsum(expected) / expected.sum()
    return float(np.abs(gap).max())


def loglog_fit(counts: np.ndarray) -> tuple[float, float]:
    """(alpha, R^2) of the least-squares line through log(count) against log(rank), counts sorted.

    What libCacheSim's trace analyser reports as "Zipf alpha" and "R2": a
    quick look, biased where the tail is noise or unseen (see the module
    docstring).
    """
    counts = np.sort(np.asarray(counts, dtype=np.float64))[::-1]
    counts = counts[counts > 0]
    if len(counts) < 2:
        return 0.0, 1.0
    x, y = np.log(np.arange(1, len(counts) + 1)), np.log(counts)
    slope, intercept = np.polyfit(x, y, 1)
    residual = y - (slope * x + intercept)
    total = y - y.mean()
    r2 = 1 - float(residual @ residual) / float(total @ total) if total.any() else 1.0
    return float(-slope), r2
