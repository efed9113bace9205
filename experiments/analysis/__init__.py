"""Trace analysis without a clock: replay a key sequence through policies, and miss-ratio curves.

These tools drive eviction policies but are not policies, so they live here,
above policies/ and below the rooms that use them (trace, plan, plots' callers,
bench); they import nothing of experiments/.

    replay.py        replay(policy, keys, sizes) -> ReplayCounts: each request one
                     ``policy.access``; warm-up and offline preparation, once
    stack_depths.py  LRU stack depths (Mattson et al. 1970): an LRU cache's hits at
                     every capacity from one pass
    mrc.py           miss-ratio curves: one-pass LRU stack depths, SHARDS sampling,
                     miniature replays for the other policies
    curve.py         what a curve is (MissRatioCurve) and the request sources it is
                     computed from
    miniature.py     miniature replays whose small capacities get larger samples, so that
                     every miniature holds at least a floor of objects

    >>> from policies import make_policy
    >>> from experiments.analysis import replay
    >>> replay(make_policy("lru", capacity=2), list("abacb")).hits
    1
"""

from experiments.analysis.curve import MissRatioCurve
from experiments.analysis.miniature import miniature_mrc
from experiments.analysis.mrc import is_lru, lru_mrc, miss_ratio_curve, replay_mrc, shards_sample
from experiments.analysis.replay import (
    ReplayCounts,
    Replayer,
    prepare_offline,
    replay,
    replay_batches,
    replay_hits,
)
from experiments.analysis.stack_depths import INFINITE, LRUStack, VaryingSizeError, stack_depths

__all__ = [
    "INFINITE",
    "LRUStack",
    "MissRatioCurve",
    "ReplayCounts",
    "Replayer",
    "VaryingSizeError",
    "is_lru",
    "lru_mrc",
    "miniature_mrc",
    "miss_ratio_curve",
    "prepare_offline",
    "replay",
    "replay_batches",
    "replay_hits",
    "replay_mrc",
    "shards_sample",
    "stack_depths",
]
