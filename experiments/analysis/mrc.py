"""Miss-ratio curves: the miss ratio of a cache at many capacities, without a clock.

LRU needs one pass: its hits at every capacity follow from the requests'
stack depths (experiments/analysis/stack_depths.py, after Mattson et al. 1970), which
``lru_mrc`` walks block by block and tallies per capacity.  Other policies
are replayed once per capacity, all capacities fed from one read of the
trace (``replay_mrc``); ``miss_ratio_curve`` picks the method.

SHARDS
------
Waldspurger, Park, Garthwaite and Ahmad, "Efficient MRC Construction with
SHARDS", FAST 2015: keep a request when a hash of its key falls below a
threshold T, i.e. a fixed *spatial* sample of rate R = T / 2**64 of the keys
with all of their requests.  Depths in the sample, divided by R, estimate
depths in the full trace.  Fixed-size SHARDS bounds memory instead of the
rate: it keeps at most `max_keys` sampled keys and, when there are more,
lowers T to the largest hash it keeps, drops the keys above it and gives
later samples the lower rate (each sample counts for 1/R requests at the
rate it was taken with, which is the paper's rescaling of the histogram).
Here the threshold moves at block boundaries, so the sample can exceed
`max_keys` by the new keys of one block.  The "adjusted" estimate
(SHARDS_adj) divides the estimated misses by the true number of requests
instead of the estimated one, which removes the error due to the sample
holding more or fewer requests than R times the total.  The hash is
splitmix64's finalizer of the 64-bit key (workloads/hashing.py): stable
across processes.

The same sampling drives *miniature simulation* (Waldspurger, Saemundsson,
Ahmad and Park, "Cache Modeling and Optimization using Miniature
Simulations", USENIX ATC 2017) for policies without the inclusion property:
replay the sampled requests through a cache of capacity R * C.

Its error is sampling noise, not bias (measured over 8 salts on Zipf 0.9
traces at R = 1%: spread 0.015-0.022 rms, bias 0.003-0.007).  Like any
estimate from a sample of keys, it is about sqrt((1 - R) / R * sum m_i**2) / N,
m_i the misses of key i in the full cache: the moderately popular keys
just outside the cache weigh most, so the error shrinks as R and C grow
(as R * C is the miniature's size), not with the trace's length (4x the
requests: the same error).  One sample shifts every capacity's estimate,
and every policy's, the same way (correlations 0.7 to 0.96).  Averaging
curves of several salts (``replay_mrc(..., salt=)``) narrows it, as does a
larger sample for the small capacities (miniature.py).

Both ways of drawing a curve share their result type and their sources
(experiments/analysis/curve.py) and their warm-up counting; the depth
algorithm itself is in experiments/analysis/stack_depths.py.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from experiments.analysis.curve import MissRatioCurve, capacity_list, source_chunks, source_parts
from experiments.analysis.replay import Replayer, offline, prepare_offline, warm_count
from experiments.analysis.stack_depths import INFINITE, LRUStack, VaryingSizeError
from policies.base import Policy, policy_class
from policies.compiled import make_fast_policy
from workloads.hashing import mix64
from workloads.ids import DenseIds

#: requests walked per block by the streaming algorithms (at least; blocks grow with the stack)
DEFAULT_BLOCK = 1 << 17

_TWO64 = 1 << 64


# -- SHARDS sampling ------------------------------------------------------------------


def _threshold(rate: float) -> int:
    """The hash threshold of a sampling rate in (0, 1]: keys with hash < T are sampled."""
    if isinstance(rate, bool) or not (0 < rate <= 1):
        raise ValueError(f"a sampling rate must be in (0, 1]; got {rate!r}")
    return max(1, min(_TWO64, int(round(rate * _TWO64))))


def _in_sample(keys: np.ndarray, threshold: int, salt: int = 0) -> np.ndarray:
    """The mask of the keys whose hash is below `threshold` (< 2**64).

    A nonzero `salt` (a 64-bit integer, xor-ed into the keys before hashing)
    draws another sample of the same rate, independent of the unsalted one.
    """
    return _hashes(keys, salt) < np.uint64(threshold)


def shards_sample(keys, rate: float) -> np.ndarray:
    """The mask of requests whose key is in the spatial sample of `rate`."""
    threshold = _threshold(rate)
    if threshold >= _TWO64:
        return np.ones(len(keys), dtype=bool)
    return _in_sample(np.asarray(keys), threshold)


# -- the one-pass LRU curve ------------------------------------------------------------


class _Tally:
    """Accumulates hits per capacity from blocks of depths, each request weighted."""

    def __init__(self, capacities: np.ndarray):
        self.capacities = capacities
        self.hits = np.zeros(len(capacities))
        self.hit_bytes = np.zeros(len(capacities))
        self.sampled = 0.0  # weighted requests tallied
        self.sampled_bytes = 0.0

    def add(self, depths: np.ndarray, sizes: np.ndarray, limits: np.ndarray, weight: float = 1.0) -> None:
        """Count the requests with depth <= limit (capacity, scaled by the sampling rate) as hits."""
        if not len(depths):
            return
        order = np.argsort(depths, kind="stable")
        cumulative = np.concatenate(([0], np.cumsum(sizes[order])))
        hits = np.searchsorted(depths[order], limits, side="right")
        self.hits += weight * hits
        self.hit_bytes += weight * cumulative[hits]
        self.sampled += weight * len(depths)
        self.sampled_bytes += weight * float(cumulative[-1])


class _Measured:
    """A stream's position, and the requests and bytes counted after its warm-up."""

    def __init__(self, warmup: int):
        self.warmup = warmup
        self.position = self.requests = self.bytes = 0

    def advance(self, sizes: np.ndarray) -> int:
        """Count the next chunk of requests (their sizes); return how many of its first ones are warm-up."""
        n = len(sizes)
        warm = warm_count(self.position, n, self.warmup)
        self.requests += n - warm
        self.bytes += int(sizes[warm:].sum())
        self.position += n
        return warm


class StackDistanceSampler:
    """The one-pass LRU curve of a stream fed chunk by chunk: stack depths, SHARDS, a tally.

    ``feed(keys, sizes)`` takes the next chunk (int64 arrays), ``curve()``
    gives the MissRatioCurve of everything fed; see ``lru_mrc`` for the
    parameters.  The stream is cut into blocks of ``step`` requests; sampled
    requests wait in a queue until there are at least as many as the stack
    holds keys, so that each walk of the stack (``LRUStack.depths``) costs
    in proportion to the requests it serves: O(n log n) in all.
    """

    def __init__(
        self,
        capacities,
        count_bytes: bool = False,
        warmup: int = 0,
        rate: float | None = None,
        max_keys: int | None = None,
        check_sizes: bool | None = None,
        block: int = DEFAULT_BLOCK,
    ):
        self.capacities = capacity_list(capacities)
        if max_keys is not None and (isinstance(max_keys, bool) or int(max_keys) != max_keys or max_keys < 1):
            raise ValueError(f"max_keys must be a positive integer; got {max_keys!r}")
        self.threshold = _threshold(1.0 if rate is None else rate)
        self.sampling = rate is not None or max_keys is not None
        self.count_bytes = count_bytes
        self.max_keys = max_keys
        if check_sizes is None:
            check_sizes = count_bytes and not self.sampling
        self.stack = LRUStack(count_bytes, check_sizes)
        self.tally = _Tally(self.capacities)
        self.measured = _Measured(warmup)
        self.max_size = 0  # the largest request size seen
        # Fixed-size sampling moves its threshold between blocks: blocks of about
        # max_keys sampled requests keep the overshoot within one block's new keys.
        self.step = block if max_keys is None else max(1, min(block, int(max_keys)))
        self._waiting: list = []  # (keys, sizes, stream positions) of sampled requests not walked yet
        self._waiting_requests = 0

    @property
    def rate(self) -> float:
        """The sampling rate in effect now."""
        return self.threshold / _TWO64

    def feed(self, keys: np.ndarray, sizes: np.ndarray) -> None:
        for low in range(0, len(keys), self.step):
            self._add_block(keys[low : low + self.step], sizes[low : low + self.step])

    def _add_block(self, keys: np.ndarray, sizes: np.ndarray) -> None:
        """Count a block, queue its sampled requests, and walk the queue once it is long enough."""
        start = self.measured.position
        self.measured.advance(sizes)
        if self.count_bytes and len(sizes):
            self.max_size = max(self.max_size, int(sizes.max()))
        positions = np.arange(start, start + len(keys), dtype=np.int64)
        if self.threshold < _TWO64:
            keep = _in_sample(keys, self.threshold)
            keys, sizes, positions = keys[keep], sizes[keep], positions[keep]
        self._waiting.append((keys, sizes, positions))
        self._waiting_requests += len(keys)
        if self._waiting_requests >= max(self.step, len(self.stack)):
            self._walk()

    def _walk(self) -> None:
        """The depths of the queued requests, tallied after the warm-up (scaled by the rate)."""
        keys, sizes, positions = (np.concatenate(column) for column in zip(*self._waiting))
        self._waiting.clear()
        self._waiting_requests = 0
        depths = self.stack.depths(keys, sizes if self.count_bytes else None)
        measured = positions >= self.measured.warmup
        depths, sizes = depths[measured], sizes[measured]
        rate = self.rate
        if self.threshold < _TWO64:
            # The sample holds the key itself and about R of the others above it:
            # scale only the others (a first request stays at INFINITE).
            own = sizes if self.count_bytes else 1
            finite = depths != INFINITE
            depths = np.where(finite, own + (depths - own) / rate, np.inf)
        self.tally.add(depths, sizes, self.capacities, 1.0 / rate)
        if self.max_keys is not None and len(self.stack) > self.max_keys:
            self._lower_threshold()

    def _lower_threshold(self) -> None:
        """Fixed-size SHARDS: keep the `max_keys` smallest hashes; the threshold drops to the next one."""
        hashes = mix64(self.stack.keys)
        self.threshold = int(np.partition(hashes, self.max_keys)[self.max_keys])
        self.stack.retain(hashes < np.uint64(self.threshold))

    def curve(self, adjust: bool = True) -> MissRatioCurve:
        """The curve of everything fed so far (`adjust`: SHARDS_adj when sampling)."""
        if self._waiting:
            self._walk()
        tally, requests, total_bytes = self.tally, self.measured.requests, self.measured.bytes
        if not self.sampling:
            misses = requests - np.rint(tally.hits).astype(np.int64)
            missed_bytes = total_bytes - np.rint(tally.hit_bytes).astype(np.int64)
            return MissRatioCurve(
                self.capacities, self.count_bytes, requests, total_bytes, misses, missed_bytes, max_size=self.max_size
            )
        # Estimated misses; adjusted: scaled to the true number of requests and bytes.
        misses = tally.sampled - tally.hits
        missed_bytes = tally.sampled_bytes - tally.hit_bytes
        if not adjust and tally.sampled:
            misses = misses * (requests / tally.sampled)
            missed_bytes = missed_bytes * (total_bytes / tally.sampled_bytes) if tally.sampled_bytes else missed_bytes
        return MissRatioCurve(
            self.capacities,
            self.count_bytes,
            requests,
            total_bytes,
            np.clip(misses, 0, requests),
            np.clip(missed_bytes, 0, total_bytes),
            "shards",
            rate=min(1.0, self.rate),
            max_size=self.max_size,
        )


def lru_mrc(
    source,
    capacities,
    count_bytes: bool = False,
    warmup: int = 0,
    rate: float | None = None,
    max_keys: int | None = None,
    adjust: bool = True,
    check_sizes: bool | None = None,
    block: int = DEFAULT_BLOCK,
) -> MissRatioCurve:
    """The LRU miss-ratio curve in one pass over `source` (see ``source_parts`` in curve.py for sources).

    Exact (method "stack") without sampling: the misses equal those of
    replaying an LRU cache of each capacity, request for request.  With
    `count_bytes`, that holds for capacities at least as large as the largest
    object (``curve.max_size``; ``miss_ratio_curve`` replays the smaller
    capacities), and an object that changes size raises VaryingSizeError
    (`check_sizes`, on by default when exact).

    rate: SHARDS with a fixed sampling rate; max_keys: fixed-size SHARDS
    keeping at most that many sampled keys (starting at rate 1, or `rate`).
    adjust: the SHARDS_adj estimate (divide by the true request count).
    warmup: the first requests feed the stack but are not counted.
    """
    sampler = StackDistanceSampler(capacities, count_bytes, warmup, rate, max_keys, check_sizes, block)
    for keys, sizes in source_chunks(source):
        sampler.feed(keys, sizes)
    return sampler.curve(adjust)


def _policy_factory(policy, params: dict | None, count_bytes: bool = False) -> Callable[[int], Policy]:
    if isinstance(policy, str):
        policy_class(policy)  # an unknown name fails now, with the list of valid ones
        return lambda capacity: make_fast_policy(policy, capacity, capacity_bytes=count_bytes, **(params or {}))
    if callable(policy):
        return policy
    raise TypeError(f"policy must be a registry name or a callable capacity -> Policy; got {policy!r}")


def replay_mrc(
    policy,
    source,
    capacities,
    count_bytes: bool = False,
    warmup: int = 0,
    rate: float | None = None,
    adjust: bool = True,
    params: dict | None = None,
    salt: int = 0,
) -> MissRatioCurve:
    """The miss-ratio curve of any policy: one replay per capacity, all fed from one read.

    policy: a registry name (with `params`) or a callable capacity -> Policy.
    rate: miniature simulation: replay only the requests whose key is in the
    SHARDS sample of that rate, through caches of capacity max(1, round(R * C)),
    and take their miss ratios: with `adjust`, sampled misses / R over all
    requests (far closer on skewed traces, as for SHARDS_adj), else sampled
    misses over sampled requests.  salt: another sample of the same rate
    (see ``_in_sample``): the mean of several salts' curves has less spread.
    A policy with ``offline = True`` gets ``prepare(keys)`` with the (sampled)
    key sequence first; that reads the source once more, so it must be a
    callable (see ``source_parts`` in curve.py).
    """
    capacities = capacity_list(capacities)
    rates = np.full(len(capacities), 1.0 if rate is None else rate)
    _threshold(1.0 if rate is None else rate)  # a rate out of (0, 1] fails here, naming it
    return replay_at_rates(policy, source, capacities, rates, count_bytes, warmup, adjust, params, salt)


def replay_at_rates(
    policy,
    source,
    capacities,
    rates,
    count_bytes: bool = False,
    warmup: int = 0,
    adjust: bool = True,
    params: dict | None = None,
    salt: int = 0,
) -> MissRatioCurve:
    """``replay_mrc`` with each capacity sampled at its own rate, all from one read of the source.

    The samples are nested (a key sampled at rate r is sampled at every larger
    rate), so each key is hashed once per chunk and each rate keeps the keys
    under its own threshold.  The curve's rate is the smallest one.
    """
    capacities = capacity_list(capacities)
    rates = np.asarray(rates, dtype=float)
    factory = _policy_factory(policy, params, count_bytes)
    groups = [_RateGroup(factory, capacities, rates == r, _threshold(float(r)), count_bytes) for r in np.unique(rates)]
    for group in groups:
        group.prepare(source, salt)
    measured = _Measured(warmup)
    sampling = any(group.sampling for group in groups)
    for keys, sizes, times, ids in source_parts(source):
        warm = measured.advance(sizes)
        hashes = _hashes(keys, salt) if sampling else None
        for group in groups:
            group.feed(keys, sizes, times, ids, warm, hashes)
    misses, missed_bytes = np.zeros(len(capacities)), np.zeros(len(capacities))
    for group in groups:
        misses[group.which], missed_bytes[group.which] = group.estimates(measured, adjust)
    if not sampling:
        return MissRatioCurve(
            capacities,
            count_bytes,
            measured.requests,
            measured.bytes,
            misses.astype(np.int64),
            missed_bytes.astype(np.int64),
            "replay",
        )
    return MissRatioCurve(
        capacities,
        count_bytes,
        measured.requests,
        measured.bytes,
        np.clip(misses, 0, measured.requests),
        np.clip(missed_bytes, 0, measured.bytes),
        "mini",
        rate=min(group.effective_rate for group in groups),
    )


class _RateGroup:
    """The capacities replayed at one sampling rate: their policies (at R x C), their replayers."""

    def __init__(self, factory, capacities: np.ndarray, which: np.ndarray, threshold: int, count_bytes: bool):
        self.which = which
        self.count_bytes = count_bytes
        self.threshold = threshold
        self.effective_rate = threshold / _TWO64
        self.sampling = threshold < _TWO64
        sizes_for = capacities[which]
        if self.sampling:
            sizes_for = np.maximum(1, np.rint(sizes_for * self.effective_rate)).astype(np.int64)
        self.policies = [factory(int(c)) for c in sizes_for]
        self.is_offline = any(offline(p) for p in self.policies)
        self.replayers: list[Replayer] = []
        # The sampled keys numbered once for every compiled policy (each would number them again).
        self.numbering = DenseIds() if self.sampling and not self.is_offline else None

    def prepare(self, source, salt: int) -> None:
        """Give offline policies their (sampled) future, and make the replayers."""
        if self.is_offline:
            if not callable(source):
                raise TypeError("a policy that needs the future reads the trace twice: give the source as a callable")
            keys, ids = _future(source, self.threshold if self.sampling else None, salt)
            prepare_offline(self.policies, keys, None if ids is None else lambda _: ids)
        self.replayers = [Replayer(p, self.count_bytes) for p in self.policies]

    def feed(self, keys, sizes, times, ids, warm: int, hashes) -> None:
        if self.sampling:
            keep = hashes < np.uint64(self.threshold)
            warm = int(keep[:warm].sum())
            keys, sizes = keys[keep], sizes[keep]
            times = None if times is None else np.asarray(times)[keep]
            ids = None if ids is None else ids[keep]
            if ids is None and self.numbering is not None:
                ids = self.numbering(keys)
        for replayer in self.replayers:
            replayer.feed(keys, sizes, warm=warm, times=times, ids=ids)

    def estimates(self, measured: _Measured, adjust: bool) -> tuple[np.ndarray, np.ndarray]:
        """Misses and missed bytes at each capacity of the group, scaled to the whole trace if sampled."""
        counts = [r.counts for r in self.replayers]
        misses = np.array([c.misses for c in counts], dtype=float)
        missed = np.array([c.bytes - c.hit_bytes for c in counts], dtype=float)
        if not self.sampling:
            return misses, missed
        if adjust:
            return misses / self.effective_rate, missed / self.effective_rate
        sampled, sampled_bytes = counts[0].requests, counts[0].bytes
        return (
            misses * measured.requests / sampled if sampled else misses * 0,
            missed * measured.bytes / sampled_bytes if sampled_bytes else missed * 0,
        )


def _hashes(keys: np.ndarray, salt: int) -> np.ndarray:
    """The sampling hash of each key (``_in_sample`` compares it with a threshold)."""
    if salt:
        keys = (np.asarray(keys, dtype=np.int64).view(np.uint64) ^ np.uint64(salt)).view(np.int64)
    return mix64(keys)


def _future(source, threshold: int | None, salt: int = 0) -> tuple[np.ndarray, np.ndarray | None]:
    """The whole (sampled) key sequence of a source, and its dense ids if the source has them."""
    keys, ids = [], []
    for chunk_keys, _, _, chunk_ids in source_parts(source):
        keep = slice(None) if threshold is None else _in_sample(chunk_keys, threshold, salt)
        keys.append(chunk_keys[keep])
        ids.append(None if chunk_ids is None else chunk_ids[keep])
    dense = None if not ids or any(part is None for part in ids) else np.concatenate(ids)
    return np.concatenate(keys), dense


def is_lru(policy, params: dict | None = None) -> bool:
    """Whether `policy` names the registry's LRU with no parameters (stack depths apply)."""
    if not isinstance(policy, str) or params:
        return False
    from policies.lru import LRU

    return policy_class(policy) is LRU


def miss_ratio_curve(
    policy,
    source,
    capacities,
    count_bytes: bool = False,
    warmup: int = 0,
    rate: float | None = None,
    max_keys: int | None = None,
    adjust: bool = True,
    params: dict | None = None,
) -> MissRatioCurve:
    """The miss-ratio curve of `policy` on `source`, by the fastest exact (or sampled) method.

    LRU: one pass of stack depths (``lru_mrc``); SHARDS when `rate` or
    `max_keys` is given.  Counting bytes, capacities smaller than the largest
    object, or every capacity when an object changes size, are replayed
    instead (that needs a callable source, which can be read again).
    Other policies: ``replay_mrc`` (miniature simulation with `rate`;
    fixed-size sampling is LRU only).  ``curve.method`` says what was done.
    """
    capacities = capacity_list(capacities)
    if not is_lru(policy, params):
        if max_keys is not None:
            raise ValueError(
                "fixed-size SHARDS (max_keys) needs stack depths: LRU only; "
                "other policies take a fixed rate (miniature simulation)"
            )
        return replay_mrc(policy, source, capacities, count_bytes, warmup, rate, adjust=adjust, params=params)
    sampling = rate is not None or max_keys is not None
    try:
        curve = lru_mrc(source, capacities, count_bytes, warmup, rate, max_keys, adjust=adjust)
    except VaryingSizeError as error:
        if not callable(source):
            raise
        curve = replay_mrc(policy, source, capacities, count_bytes, warmup)
        curve.notes.append(f"replayed every capacity: {error}")
        return curve
    if count_bytes and not sampling and capacities[0] < curve.max_size:
        small = capacities[capacities < curve.max_size]
        if not callable(source):
            raise ValueError(
                f"capacities below the largest object ({curve.max_size} bytes) need a replay; "
                f"give the source as a callable"
            )
        replayed = replay_mrc(policy, source, small, count_bytes, warmup)
        curve.misses[: len(small)] = replayed.misses
        curve.missed_bytes[: len(small)] = replayed.missed_bytes
        curve.method = "stack+replay"
        curve.notes.append(f"replayed {len(small)} capacities below the largest object ({curve.max_size} bytes)")
    return curve
