"""Miniature simulation whose every miniature cache holds enough objects to be steady.

A miniature of capacity R * C estimates the miss ratio at C from the keys
of a spatial sample (``replay_mrc`` in mrc.py).  Its error is the sample's
noise, and that noise is largest where the miniature is smallest: on a Zipf
0.9 trace of 10M requests at R = 1%, the spread over hash salts is 0.026
for a miniature of 50 objects and 0.003 for one of 5,000.  The hits of a
small cache come from its few hundred most popular keys, of which a 1%
sample holds a handful.  So ``miniature_mrc`` samples each capacity at
max(R, min_objects / C), at most 1: large capacities keep the rate asked
for, and small ones, whose miniatures are cheap, get a larger sample.  The
capacities sharing a rate are replayed together, one read of the source per
rate, so the source must be one that can be read again (an array, a list of
chunks, or a callable).  The price is speed: the small capacities' replays
see more requests (on that trace, 1% with sizes from 0.5% to 50% of the keys
and a floor of 500 objects: 7-11x faster than the full replays instead of
18-40x).
"""

from __future__ import annotations

import numpy as np

from experiments.analysis.curve import MissRatioCurve, capacity_list
from experiments.analysis.mrc import replay_mrc

#: the smallest miniature cache, in objects: on Zipf 0.9 traces at 1%, a floor of 500 leaves a
#: mean absolute error of 0.005-0.007 (0.012 for the worst of 8 samples), 1000 leaves 0.0035-0.0046
#: (0.0072 at worst), 2000 leaves 0.002-0.003
MIN_OBJECTS = 1000


def capacity_rates(capacities, rate: float, min_objects: int = MIN_OBJECTS) -> np.ndarray:
    """The sampling rate of each capacity: max(rate, min_objects / capacity), at most 1."""
    if isinstance(min_objects, bool) or int(min_objects) != min_objects or min_objects < 0:
        raise ValueError(f"min_objects must be a nonnegative integer; got {min_objects!r}")
    capacities = capacity_list(capacities)
    return np.minimum(1.0, np.maximum(rate, min_objects / capacities))


def miniature_mrc(policy, source, capacities, rate: float, min_objects: int = MIN_OBJECTS, **options) -> MissRatioCurve:
    """The miniature-simulation curve with every miniature at least `min_objects` objects.

    `options` go to ``replay_mrc`` (count_bytes, warmup, adjust, params,
    salt).  The curve's rate is `rate`, the one the large capacities keep;
    a note names the capacities sampled at a larger one.
    """
    if not callable(source) and iter(source) is source:
        raise TypeError("miniature_mrc reads the source once per rate: give an array, a list or a callable")
    capacities = capacity_list(capacities)
    rates = capacity_rates(capacities, rate, min_objects)
    parts = {r: replay_mrc(policy, source, capacities[rates == r], rate=float(r), **options) for r in np.unique(rates)}
    misses, missed_bytes = np.zeros(len(capacities)), np.zeros(len(capacities))
    for r, part in parts.items():
        misses[rates == r], missed_bytes[rates == r] = part.misses, part.missed_bytes
    first = next(iter(parts.values()))
    curve = MissRatioCurve(
        capacities,
        first.count_bytes,
        first.requests,
        first.bytes,
        misses,
        missed_bytes,
        "mini",
        rate=float(rates.min()),
    )
    raised = capacities[rates > rates.min()]
    if len(raised):
        curve.notes.append(
            f"capacities {', '.join(str(int(c)) for c in raised)} sampled at rates up to {rates.max():.4g} "
            f"(miniatures of at least {min_objects} objects)"
        )
    return curve
