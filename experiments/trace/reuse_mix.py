"""A mixture of key classes fitted to a trace's reuse times: the popularity that gives its LRU curve.

One Zipf law over independent requests gives one shape of miss-ratio curve;
a real trace's often has plateaus and cliffs (a few hot blocks, a working
set read again every hour, blocks read twice and never again).  This module
fits the trace's *reuse times* instead of its popularity: the reuse time of
a request is the number of requests since the last one to the same key (a
key's first request has none).  By the working-set theory of Denning and
Schwartz, and the AET model of Hu et al. (USENIX ATC 2016) built on it, the
distribution of reuse times gives the LRU miss-ratio curve: a workload with
the trace's reuse times has the trace's LRU curve, to the precision of that
model (a few thousandths on real traces).

The workload is a mixture of uniform key classes.  Class c has K_c keys,
each requested with probability rate_c per request, independently; the
rates are fixed on a geometric grid and only the K_c are fitted.  Among n
requests, the expected number whose reuse time lies in [t, t + 1) is

    E[R(t)] = sum_c K_c rate_c^2 (n - t) exp(-rate_c t)

(a pair of consecutive requests to a key t apart: n - t places, a request
at each end, none between), and the expected number of first requests is
sum_c K_c (1 - exp(-rate_c n)): both are linear in the K_c.  So the K_c
come out of one non-negative least-squares fit of the trace's histogram of
reuse times, in bins that widen geometrically, with the first requests as
one more bin, and the requests that the classes do not account for as
one-hit wonders (workload.one_hit_fraction).  A rate too low to matter
within n requests drops out.

Class c then becomes [[workload.classes]] with popularity "uniform",
keys = round(K_c) and share proportional to K_c rate_c.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np
from scipy import optimize

BINS_PER_OCTAVE = 2  # reuse-time bins per doubling
RATES_PER_OCTAVE = 2  # grid of per-key rates per doubling (1: CloudPhysics 0.051, 2: 0.043, 4: 0.042)


@dataclass(frozen=True)
class ReuseClass:
    """keys: uniform keys in the class; share: the share of all requests that go to it."""

    keys: int
    share: float


@dataclass(frozen=True)
class ReuseMix:
    """The fitted classes, and the share of requests for one-hit wonders beside them."""

    classes: tuple[ReuseClass, ...]
    one_hit_fraction: float
    scan_fraction: float = 0.0
    scan_keys: int = 0


def reuse_times(keys: np.ndarray) -> np.ndarray:
    """For each request, the requests since the last one to the same key (0: its first request)."""
    keys = np.asarray(keys)
    order = np.argsort(keys, kind="stable")
    gaps = np.zeros(len(keys), dtype=np.int64)
    same = keys[order[1:]] == keys[order[:-1]]
    gaps[order[1:][same]] = order[1:][same] - order[:-1][same]
    return gaps


def _edges(n: int) -> np.ndarray:
    """Reuse-time bin edges 1, 2, ... up to n: one per value below 8, then BINS_PER_OCTAVE per doubling."""
    octaves = max(1.0, np.log2(max(n, 16) / 8))
    wide = np.geomspace(8, n + 1, int(np.ceil(octaves * BINS_PER_OCTAVE)) + 1)
    return np.unique(np.concatenate([np.arange(1, 8), np.round(wide).astype(np.int64)]))


def _expected_per_bin(rates: np.ndarray, edges: np.ndarray, n: int) -> np.ndarray:
    """Matrix [bin, class]: expected requests with reuse time in the bin, per key of the class.

    The integral of rate^2 (n - t) exp(-rate t) over the bin, in closed form.
    """

    def antiderivative(t: np.ndarray) -> np.ndarray:
        # its derivative in t is rate^2 (n - t) exp(-rate t)
        return np.exp(-rates * t) * (rates * (t - n) + 1.0)

    low, high = edges[:-1, None].astype(np.float64), edges[1:, None].astype(np.float64)
    return antiderivative(high) - antiderivative(low)


def fit_reuse_mix(keys: np.ndarray, cumulative: bool = False) -> ReuseMix:
    """The mixture of the module docstring fitted to the requests' `keys`, with the best scan period.

    cumulative: fit the count of reuse times below each bin's end (an error there is an error of the
    LRU curve: its hit ratio at a size is the share of reuse times below that size's eviction time),
    each with the same weight; else the count in each bin, weighted by its Poisson noise.
    """
    n = len(keys)
    gaps = reuse_times(keys)
    edges = _edges(n)
    observed = np.histogram(gaps[gaps > 0], bins=edges)[0].astype(np.float64)
    target = np.concatenate([observed, [float((gaps == 0).sum()), float(n)]])
    octaves = int(np.ceil(np.log2(n))) + 1
    rates = 0.5 * 2.0 ** (-np.arange(octaves * RATES_PER_OCTAVE) / RATES_PER_OCTAVE)
    # Unknowns: the K_c, the one-hit wonders' requests (no reuse; each a first request), the scan's share.
    classes = np.vstack([_expected_per_bin(rates, edges, n), 1.0 - np.exp(-rates * n), rates * n])
    one_hits = np.zeros(len(target))
    one_hits[-2:] = 1.0
    goal = np.concatenate([np.cumsum(target[:-2]), target[-2:]]) if cumulative else target
    weight = np.ones(len(goal)) if cumulative else 1.0 / np.sqrt(np.maximum(goal, 1.0))
    weight[-2:] *= 10.0  # the first requests and all requests: hold them
    best = None
    for period in [0.0, *np.sqrt(edges[:-1] * edges[1:])[edges[:-1] >= 8]]:
        scan = np.zeros(len(target))
        if period:
            scan[np.searchsorted(edges, period, side="right") - 1] = n - period
            scan[-2:] = period, n
        rows = np.column_stack([classes, one_hits, scan])
        if cumulative:
            rows = np.vstack([np.cumsum(rows[:-2], axis=0), rows[-2:]])
        solution, residual = optimize.nnls(rows * weight[:, None], goal * weight, maxiter=50 * rows.shape[1])
        if best is None or residual < best[0]:
            best = (residual, period, solution)
    _, period, solution = best
    return _mix(solution[: len(rates)], rates, n, solution[-2], solution[-1], period)


def _mix(keys: np.ndarray, rates: np.ndarray, n: int, one_hits: float, scan: float, period: float) -> ReuseMix:
    """The workload's terms from the fitted unknowns: classes too small to matter dropped."""
    requests = keys * rates * n
    total = requests.sum() + one_hits + scan * n
    kept = tuple(
        ReuseClass(max(1, int(round(k))), float(r / total))
        for k, r in zip(keys, requests, strict=True)
        if r / total >= 1e-4 and k >= 0.5
    )
    scan_keys = int(round(scan * period))
    if scan_keys < 1:
        return ReuseMix(kept, float(one_hits / total))
    return ReuseMix(kept, float(one_hits / total), float(scan * n / total), scan_keys)


def neighbours(mix: ReuseMix, factors: tuple[float, ...] = (0.8, 0.9, 1.1, 1.25)) -> Iterator[ReuseMix]:
    """Mixtures one term away from `mix`: each share, class size, scan length and one-hit share scaled.

    For the search that follows the least-squares fit (fit.py refine_mix): the fit matches the reuse
    times, and the curve is then matched by small moves judged on a replay.
    """
    for factor in factors:
        if mix.scan_keys:
            yield replace(mix, scan_fraction=mix.scan_fraction * factor)
            yield replace(mix, scan_keys=max(1, int(mix.scan_keys * factor)))
        yield replace(mix, one_hit_fraction=mix.one_hit_fraction * factor)
        for i, cls in enumerate(mix.classes):
            for moved in (
                ReuseClass(max(1, int(cls.keys * factor)), cls.share),
                ReuseClass(cls.keys, cls.share * factor),
            ):
                yield replace(mix, classes=(*mix.classes[:i], moved, *mix.classes[i + 1 :]))
