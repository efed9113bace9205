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
samples are nested, so every rate is replayed from one read of the source
(``replay_at_rates``).  The price is speed: the small capacities' replays
see more requests.  On 10M Zipf 0.9 requests over 1M keys at 1% with 10
capacities from 10,000 to 500,000 objects (CPU seconds, LRU, S3-FIFO and
ARC, three hash salts each), no floor is 67-86x faster than the full replays
with a mean absolute error of up to 0.0083; a floor of 300 objects 36-42x,
up to 0.0083 (0.0034-0.0068 for most samples); 500 objects 26-32x, up to
0.0067.  With capacities from 0.5% of the footprint a floor of 300 is
20-22x faster and the error is at most 0.0084, where no floor reaches
0.013.
"""

from __future__ import annotations

import numpy as np

from experiments.analysis.curve import MissRatioCurve, capacity_list
from experiments.analysis.mrc import replay_at_rates

#: the smallest miniature cache, in objects (kvsim mrc --sample's default; see the figures above: on Zipf 0.9
#: traces at 1%, 300 keeps the mean absolute error under 0.01 at 30x or more the full replays' speed)
MIN_OBJECTS = 300
#: the most objects a floor may ask (a larger one samples every capacity of any real trace at rate 1)
MAX_MIN_OBJECTS = 10**9
#: below this many objects a miniature's estimate is noisy enough to say so (0.25 / sqrt(300) = 0.014 on Zipf 0.9)
SMALL_MINIATURE = MIN_OBJECTS


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
    capacities = capacity_list(capacities)
    rates = capacity_rates(capacities, rate, min_objects)
    curve = replay_at_rates(policy, source, capacities, rates, **options)
    raised = capacities[rates > rate]
    if len(raised):
        curve.notes.append(
            f"capacities {', '.join(str(int(c)) for c in raised)} sampled at rates up to {rates.max():.4g} "
            f"(miniatures of at least {min_objects} objects)"
        )
    return curve


def small_miniatures(curve: MissRatioCurve, rate: float, min_objects: int = 0) -> list[str]:
    """A note naming the capacities whose miniature (at `rate`, floored) holds under SMALL_MINIATURE objects.

    (Byte capacities say nothing: a miniature's object count depends on the sizes.)
    """
    if curve.count_bytes or curve.method != "mini":
        return []
    rates = capacity_rates(curve.capacities, rate, min_objects)
    held = np.maximum(1, np.rint(rates * curve.capacities)).astype(np.int64)
    small = (held < SMALL_MINIATURE) & (rates < 1)
    if not small.any():
        return []
    named = ", ".join(f"{int(c)} ({int(h)} objects)" for c, h in zip(curve.capacities[small], held[small]))
    return [
        f"miniature caches under {SMALL_MINIATURE} objects estimate with more noise: capacities {named}; "
        f"--min-objects {SMALL_MINIATURE} or more samples them at a larger rate"
    ]
