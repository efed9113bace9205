"""Miss-ratio curves: the miss ratio of a cache at many capacities, without a clock.

Replaying a trace once per capacity costs (capacities x requests) policy
steps.  For LRU one pass is enough, thanks to the *inclusion property*
(Mattson, Gecsei, Slutz and Traiger, "Evaluation techniques for storage
hierarchies", IBM Systems Journal 9(2), 1970): an LRU cache of capacity C
holds the C most recently used objects, so a request hits exactly when its
**stack depth** -- the position of its key in the recency stack, 1 for the
most recent -- is at most C.  The histogram of depths is the whole curve.

Depths in O(n log n), vectorized
--------------------------------
For request t whose key was last requested at p, the depth is one plus the
number of distinct keys requested in between.  Positions j in (p, t) whose
key is requested again before t (next(j) < t) are repeats, so

    depth(t) = (t - p - 1) - #{ j > p : next(j) < t } + 1.

The count is a two-dimensional dominance query.  ``_suffix_below`` answers
all of them at once with a merge-sort tree built level by level in numpy:
at level L the `next` values are sorted within aligned blocks of 2**L
positions, a suffix [p+1, n) splits into at most one block per level (the
binary digits of its length), and merging the queries, sorted, into the
sorted blocks counts the values below t in every query's block.  Each level
is a few linear passes, so the whole is O(n log n), in O(n) memory.  With sizes as weights the same query
gives the *byte* depth: the bytes of the distinct objects above the key in
the stack, plus its own size.

Streaming: a trace longer than memory is walked in blocks, and the history
before a block is replaced by the current LRU stack itself (each cached key
once, least recent first).  Depths only depend on the order of last
accesses, so they are unchanged, and memory is bounded by the distinct keys
plus one block instead of the trace's length (blocks grow with the stack,
which keeps the total work O(n log n)).

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
splitmix64's finalizer of the 64-bit key: stable across processes.

The same sampling drives *miniature simulation* (Waldspurger, Saemundsson,
Ahmad and Park, "Cache Modeling and Optimization using Miniature
Simulations", USENIX ATC 2017) for policies without the inclusion property:
replay the sampled requests through a cache of capacity R * C.

Other policies are replayed once per capacity, all capacities fed from one
read of the trace (``replay_mrc``); ``miss_ratio_curve`` picks the method.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from policies.base import Policy, policy_class
from policies.compiled import make_fast_policy
from policies.replay import Replayer, offline, prepare_offline

#: the depth of a first request: deeper than any cache
INFINITE = np.iinfo(np.int64).max

#: requests walked per block by the streaming algorithms (at least; blocks grow with the stack)
DEFAULT_BLOCK = 1 << 17

_TWO64 = 1 << 64


class VaryingSizeError(ValueError):
    """An object's size changes within the trace: byte depths are not exact then.

    An LRU cache keeps the size an object had when it was inserted, so which
    size counts depends on the capacity; exact byte curves then need replay.
    """


# -- depths -------------------------------------------------------------------------


def previous_and_next(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For every position, the previous and the next position of the same key.

    -1 when there is no previous one, len(keys) when there is no next one.
    """
    n = len(keys)
    order = np.argsort(keys, kind="stable")
    same = keys[order[1:]] == keys[order[:-1]]
    earlier, later = order[:-1][same], order[1:][same]
    previous = np.full(n, -1, dtype=np.int64)
    following = np.full(n, n, dtype=np.int64)
    previous[later] = earlier
    following[earlier] = later
    return previous, following


def _suffix_below(values: np.ndarray, starts: np.ndarray, limits: np.ndarray, weights=None) -> np.ndarray:
    """For each query q: the number (or total weight) of j >= starts[q] with values[j] < limits[q].

    `values` are integers in [0, len(values)]; limits are at most len(values).
    A merge-sort tree built one level at a time (see the module docstring).
    Every step of a level is linear: the values are kept sorted within
    blocks, the queries sorted by (block, limit), and going up a level merges
    pairs of sorted runs of each (a stable sort of runs is a merge); a level's
    counts come from merging its queries into its values.  So O(n log n)
    in all, with O(n) memory.
    """
    n = len(values)
    levels = max(0, (n - 1).bit_length())
    size = 1 << levels
    base = n + 1  # values and limits are < base: (block, value) packs into block * base + value
    sorted_values = np.full(size, n, dtype=np.int64)  # padding never counts: n >= every limit
    sorted_values[:n] = values
    sorted_weights = None
    if weights is not None:
        sorted_weights = np.zeros(size, dtype=np.int64)
        sorted_weights[:n] = weights
    positions = np.arange(size, dtype=np.int64)
    # The queries, sorted by (start, limit): the order of (block, limit) at level 0.
    order = np.argsort(starts * base + limits, kind="stable")
    starts, limits = starts[order], limits[order]
    result = np.zeros(len(starts), dtype=np.int64)
    for level in range(levels + 1):
        width = 1 << level
        packed = (positions >> level) * base + sorted_values
        # The one block of this level a suffix may cover starts where the suffix's
        # start is rounded up to the block width (its length, size - start, has
        # bit `level` set exactly when the suffix covers that whole block).
        block = (starts + (width - 1)) >> level
        needles = block * base + limits
        if level:
            # Each block is two sorted halves of the level below: a stable sort merges them.
            merge = np.argsort(packed, kind="stable")
            packed, sorted_values = packed[merge], sorted_values[merge]
            if sorted_weights is not None:
                sorted_weights = sorted_weights[merge]
            # A query's block is the pair of its blocks below, merged: runs again.
            merge = np.argsort(needles, kind="stable")
            needles, block, starts, limits = needles[merge], block[merge], starts[merge], limits[merge]
            result, order = result[merge], order[merge]
        take = np.flatnonzero((size - starts) & width)
        if not len(take):
            continue
        # Merge the (sorted) needles into the packed values, needles first on
        # ties: the values before a needle are those below its limit in blocks
        # up to its own.
        both = np.concatenate((needles[take], packed))
        merged = np.argsort(both, kind="stable")
        values_before = np.cumsum(merged >= len(take))
        is_needle = np.flatnonzero(merged < len(take))
        found = np.empty(len(take), dtype=np.int64)
        found[merged[is_needle]] = values_before[is_needle]
        first = block[take] * width  # index in `packed` of the block's first value
        if sorted_weights is None:
            result[take] += found - first
        else:
            cumulative = np.concatenate(([0], np.cumsum(sorted_weights)))
            result[take] += cumulative[found] - cumulative[first]
    answers = np.empty_like(result)
    answers[order] = result
    return answers


def _depths(keys: np.ndarray, sizes: np.ndarray | None, check_sizes: bool):
    """Depths of a whole in-memory sequence, and its `next` array (for the streaming state)."""
    n = len(keys)
    previous, following = previous_and_next(keys)
    if sizes is not None and check_sizes:
        repeat = np.flatnonzero(previous >= 0)
        changed = sizes[repeat] != sizes[previous[repeat]]
        if changed.any():
            t = int(repeat[np.argmax(changed)])
            raise VaryingSizeError(f"key {keys[t]} changes size from {sizes[previous[t]]} to {sizes[t]}")
    depths = np.full(n, INFINITE, dtype=np.int64)
    reuse = np.flatnonzero(previous >= 0)
    if len(reuse):
        last = previous[reuse]
        if sizes is None:
            repeats = _suffix_below(following, last + 1, reuse)
            depths[reuse] = (reuse - last - 1) - repeats + 1
        else:
            sizes = np.asarray(sizes, dtype=np.int64)
            between = np.concatenate(([0], np.cumsum(sizes)))
            repeats = _suffix_below(following, last + 1, reuse, sizes)
            depths[reuse] = (between[reuse] - between[last + 1]) - repeats + sizes[reuse]
    return depths, following


def stack_depths(keys, sizes=None) -> np.ndarray:
    """The LRU stack depth of every request of an in-memory key sequence.

    Without sizes: 1 + the number of distinct other keys requested since the
    key's previous request, so an LRU cache of C objects hits exactly the
    requests with depth <= C.  With sizes: the bytes of those distinct
    objects plus the object's own size, so an LRU cache of C bytes hits
    exactly the requests with depth <= C, provided each object keeps one size
    and none is larger than C (a larger one is never admitted, and is not in
    the cache to push others out).  A first request has depth INFINITE.

        >>> stack_depths([1, 2, 1, 3, 2, 2]).tolist()[2:]
        [2, 9223372036854775807, 3, 1]
    """
    keys = _as_keys(np.asarray(keys))
    if sizes is not None:
        sizes = np.asarray(sizes, dtype=np.int64)
    return _depths(keys, sizes, check_sizes=sizes is not None)[0]


class LRUStack:
    """Stack depths of a stream fed block by block; the history kept as the LRU stack.

    ``depths(keys, sizes)`` returns the depths of a block's requests and
    remembers the stack; its memory is the distinct keys seen (``keys`` and
    ``sizes``, least recently used first) plus the block.  `check_sizes`
    raises VaryingSizeError when a key's size changes (byte depths would not
    be exact); when false, an object counts with the size of its latest
    request.
    """

    def __init__(self, count_bytes: bool = False, check_sizes: bool = True):
        self.count_bytes = count_bytes
        self.check_sizes = check_sizes
        self.keys = np.empty(0, dtype=np.int64)
        self.sizes = np.empty(0, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.keys)

    def depths(self, keys: np.ndarray, sizes: np.ndarray | None = None) -> np.ndarray:
        held = len(self.keys)
        sequence = np.concatenate((self.keys, keys))
        if self.count_bytes:
            sizes = np.ones(len(keys), dtype=np.int64) if sizes is None else np.asarray(sizes, dtype=np.int64)
            sequence_sizes = np.concatenate((self.sizes, sizes))
        else:
            sequence_sizes = None
        depths, following = _depths(sequence, sequence_sizes, self.check_sizes)
        # The new stack: every key at its last position, in order of those positions.
        last = following == len(sequence)
        self.keys = sequence[last]
        if sequence_sizes is not None:
            self.sizes = sequence_sizes[last]
        return depths[held:]

    def retain(self, keep: np.ndarray) -> None:
        """Forget the stacked keys where `keep` (a mask over ``self.keys``) is false."""
        self.keys = self.keys[keep]
        if self.count_bytes:
            self.sizes = self.sizes[keep]


# -- SHARDS sampling ------------------------------------------------------------------


def shards_hash(keys) -> np.ndarray:
    """A 64-bit hash of each int64 key (splitmix64's finalizer), as uint64; stable everywhere."""
    x = np.asarray(keys).astype(np.int64, copy=False).view(np.uint64)
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _threshold(rate: float) -> int:
    """The hash threshold of a sampling rate in (0, 1]: keys with hash < T are sampled."""
    if isinstance(rate, bool) or not (0 < rate <= 1):
        raise ValueError(f"a sampling rate must be in (0, 1]; got {rate!r}")
    return max(1, min(_TWO64, int(round(rate * _TWO64))))


def shards_sample(keys, rate: float) -> np.ndarray:
    """The mask of requests whose key is in the spatial sample of `rate`."""
    threshold = _threshold(rate)
    if threshold >= _TWO64:
        return np.ones(len(keys), dtype=bool)
    return shards_hash(keys) < np.uint64(threshold)


# -- curves ---------------------------------------------------------------------------


@dataclass
class MissRatioCurve:
    """Misses at each capacity.

    capacities: int64, ascending, in objects or (count_bytes) bytes.
    requests, bytes: the measured requests (after warm-up) and their bytes.
    misses, missed_bytes: per capacity; integers when exact, estimates
        (floats) when sampled.
    method: "stack" (one-pass LRU), "replay" (one replay per capacity),
        "shards" (sampled stack depths), "mini" (sampled replays at capacity
        R x C), or a combination such as "stack+replay".
    rate: the sampling rate in effect at the end (1.0 without sampling).
    """

    capacities: np.ndarray
    count_bytes: bool
    requests: int
    bytes: int
    misses: np.ndarray
    missed_bytes: np.ndarray
    method: str = "stack"
    rate: float = 1.0
    notes: list = field(default_factory=list)
    max_size: int = 0  # the largest request size seen (bytes curves are exact from there up)

    @property
    def exact(self) -> bool:
        return self.rate == 1.0

    @property
    def miss_ratio(self) -> np.ndarray:
        return self.misses / self.requests if self.requests else np.zeros(len(self.capacities))

    @property
    def byte_miss_ratio(self) -> np.ndarray:
        return self.missed_bytes / self.bytes if self.bytes else np.zeros(len(self.capacities))

    def rows(self) -> list[dict]:
        """One dict per capacity: capacity, miss_ratio, byte_miss_ratio."""
        return [
            {"capacity": int(c), "miss_ratio": float(m), "byte_miss_ratio": float(b)}
            for c, m, b in zip(self.capacities, self.miss_ratio, self.byte_miss_ratio)
        ]


def capacity_list(capacities) -> np.ndarray:
    """Capacities as a sorted int64 array of distinct positive integers."""
    values = np.unique(np.asarray(capacities, dtype=np.int64))
    if len(values) == 0 or values[0] < 1:
        raise ValueError(f"capacities must be positive integers; got {list(capacities)!r}")
    return values


def _as_keys(keys: np.ndarray) -> np.ndarray:
    if keys.dtype.kind == "i":
        return keys.astype(np.int64, copy=False)
    if keys.dtype.kind == "u":
        return keys.astype(np.uint64, copy=False).view(np.int64)
    # Anything else (strings...) in one in-memory array: number the distinct keys.
    _, inverse = np.unique(keys, return_inverse=True)
    return inverse.astype(np.int64)


def _chunks(source) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray | None]]:
    """(keys int64, sizes int64, dense ids or None) chunks of a source.

    A source is: an array or list of keys; a (keys, sizes) pair of arrays; an
    iterable of chunks, each a (keys, sizes) pair or a batch with ``key`` and
    ``size`` arrays (workloads.RequestBatch, as a trace reader yields; with
    an ``ids`` array too, workloads.ids.DenseBatch, the keys' dense ids,
    which compiled policies index by); or a callable returning one of these,
    which can then be read more than once.
    """
    if callable(source):
        source = source()
    if _is_pair(source):
        yield _as_keys(np.asarray(source[0])), np.asarray(source[1], dtype=np.int64), None
        return
    if isinstance(source, np.ndarray) or (isinstance(source, list) and not any(map(_is_chunk, source[:1]))):
        keys = _as_keys(np.asarray(source))
        yield keys, np.ones(len(keys), dtype=np.int64), None
        return
    for chunk in source:
        ids = None
        if hasattr(chunk, "key"):
            keys, sizes, ids = np.asarray(chunk.key), chunk.size, getattr(chunk, "ids", None)
        elif _is_pair(chunk):
            keys, sizes = np.asarray(chunk[0]), chunk[1]
        else:
            raise TypeError(f"a chunk must be a batch with key and size arrays or a (keys, sizes) pair; got {chunk!r}")
        if keys.dtype.kind not in "iu":
            raise TypeError(f"chunked keys must be integers (trace readers give int64 ids); got {keys.dtype}")
        yield _as_keys(keys), np.asarray(sizes, dtype=np.int64), ids


def _is_pair(value) -> bool:
    return isinstance(value, tuple) and len(value) == 2 and all(np.ndim(part) == 1 for part in value)


def _is_chunk(value) -> bool:
    return hasattr(value, "key") or _is_pair(value)


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
    """The LRU miss-ratio curve in one pass over `source` (see ``_chunks`` for sources).

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
    capacities = capacity_list(capacities)
    if max_keys is not None and (isinstance(max_keys, bool) or int(max_keys) != max_keys or max_keys < 1):
        raise ValueError(f"max_keys must be a positive integer; got {max_keys!r}")
    threshold = _threshold(1.0 if rate is None else rate)
    sampling = rate is not None or max_keys is not None
    if check_sizes is None:
        check_sizes = count_bytes and not sampling
    stack = LRUStack(count_bytes, check_sizes)
    tally = _Tally(capacities)
    requests = total_bytes = 0
    max_size = 0
    position = 0
    pending: list = []
    pending_requests = 0

    def process():
        nonlocal threshold
        keys = np.concatenate([p[0] for p in pending])
        sizes = np.concatenate([p[1] for p in pending])
        index = np.concatenate([p[2] for p in pending])
        pending.clear()
        depths = stack.depths(keys, sizes if count_bytes else None)
        current = threshold / _TWO64
        measured = index >= warmup
        depths, sizes = depths[measured], sizes[measured]
        if threshold < _TWO64:
            # The sample holds the key itself and about R of the others above it:
            # scale only the others (a first request stays at INFINITE).
            own = sizes if count_bytes else 1
            finite = depths != INFINITE
            depths = np.where(finite, own + (depths - own) / current, np.inf)
        tally.add(depths, sizes, capacities, 1.0 / current)
        if max_keys is not None and len(stack) > max_keys:
            hashes = shards_hash(stack.keys)
            threshold = int(np.partition(hashes, max_keys)[max_keys])  # the largest kept hash is below it
            stack.retain(hashes < np.uint64(threshold))

    # Fixed-size sampling moves its threshold between blocks: blocks of about
    # max_keys sampled requests keep the overshoot within one block's new keys.
    step = block if max_keys is None else max(1, min(block, int(max_keys)))
    for whole_keys, whole_sizes, _ in _chunks(source):
        for low in range(0, len(whole_keys), step):
            keys, sizes = whole_keys[low : low + step], whole_sizes[low : low + step]
            n = len(keys)
            index = np.arange(position, position + n, dtype=np.int64)
            counted = max(0, min(n, position + n - warmup))
            requests += counted
            total_bytes += int(sizes[n - counted :].sum())
            if count_bytes and n:
                max_size = max(max_size, int(sizes.max()))
            position += n
            if sampling and threshold < _TWO64:
                keep = shards_hash(keys) < np.uint64(threshold)
                keys, sizes, index = keys[keep], sizes[keep], index[keep]
            pending.append((keys, sizes, index))
            pending_requests += len(keys)
            if pending_requests >= max(step, len(stack)):
                process()
                pending_requests = 0
    if pending:
        process()

    final_rate = min(1.0, threshold / _TWO64)
    if sampling:
        # Estimated misses; adjusted: scaled to the true number of requests and bytes.
        misses = tally.sampled - tally.hits
        missed_bytes = tally.sampled_bytes - tally.hit_bytes
        if not adjust and tally.sampled:
            misses = misses * (requests / tally.sampled)
            missed_bytes = missed_bytes * (total_bytes / tally.sampled_bytes) if tally.sampled_bytes else missed_bytes
        misses = np.clip(misses, 0, requests)
        missed_bytes = np.clip(missed_bytes, 0, total_bytes)
        method = "shards"
    else:
        misses = requests - np.rint(tally.hits).astype(np.int64)
        missed_bytes = total_bytes - np.rint(tally.hit_bytes).astype(np.int64)
        method = "stack"
    return MissRatioCurve(
        capacities,
        count_bytes,
        requests,
        total_bytes,
        misses,
        missed_bytes,
        method,
        rate=final_rate if sampling else 1.0,
        max_size=max_size,
    )


def _policy_factory(policy, params: dict | None) -> Callable[[int], Policy]:
    if isinstance(policy, str):
        policy_class(policy)  # an unknown name fails now, with the list of valid ones
        return lambda capacity: make_fast_policy(policy, capacity, **(params or {}))
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
) -> MissRatioCurve:
    """The miss-ratio curve of any policy: one replay per capacity, all fed from one read.

    policy: a registry name (with `params`) or a callable capacity -> Policy.
    rate: miniature simulation: replay only the requests whose key is in the
    SHARDS sample of that rate, through caches of capacity max(1, round(R * C)),
    and take their miss ratios: with `adjust`, sampled misses / R over all
    requests (far closer on skewed traces, as for SHARDS_adj), else sampled
    misses over sampled requests.
    A policy with ``offline = True`` gets ``prepare(keys)`` with the (sampled)
    key sequence first; that reads the source once more, so it must be a
    callable (see ``_chunks``).
    """
    capacities = capacity_list(capacities)
    factory = _policy_factory(policy, params)
    threshold = _threshold(1.0 if rate is None else rate)
    effective_rate = threshold / _TWO64
    sampling = threshold < _TWO64
    sizes_for = np.maximum(1, np.rint(capacities * effective_rate)).astype(np.int64) if sampling else capacities
    policies = [factory(int(c)) for c in sizes_for]
    if any(offline(p) for p in policies):
        if not callable(source):
            raise TypeError("a policy that needs the future reads the trace twice: give the source as a callable")
        keys, ids = _future(source, effective_rate if sampling else None)
        prepare_offline(policies, keys, None if ids is None else lambda _: ids)
    replayers = [Replayer(p, count_bytes) for p in policies]
    requests = total_bytes = position = 0
    for keys, sizes, ids in _chunks(source):
        n = len(keys)
        counted = max(0, min(n, position + n - warmup))
        requests += counted
        total_bytes += int(sizes[n - counted :].sum())
        if sampling:
            keep = shards_hash(keys) < np.uint64(threshold)
            warm = int(keep[: n - counted].sum())
            keys, sizes, ids = keys[keep], sizes[keep], None if ids is None else ids[keep]
        else:
            warm = n - counted
        for replayer in replayers:
            replayer.feed(keys, sizes, warm=warm, ids=ids)
        position += n
    counts = [r.counts for r in replayers]
    if not sampling:
        misses = np.array([c.misses for c in counts], dtype=np.int64)
        missed_bytes = np.array([c.bytes - c.hit_bytes for c in counts], dtype=np.int64)
        return MissRatioCurve(capacities, count_bytes, requests, total_bytes, misses, missed_bytes, "replay")
    sampled = counts[0].requests
    sampled_bytes = counts[0].bytes
    if adjust:
        misses = np.array([c.misses / effective_rate for c in counts])
        missed_bytes = np.array([(c.bytes - c.hit_bytes) / effective_rate for c in counts])
    else:
        misses = np.array([c.misses * requests / sampled if sampled else 0.0 for c in counts])
        missed_bytes = np.array(
            [(c.bytes - c.hit_bytes) * total_bytes / sampled_bytes if sampled_bytes else 0.0 for c in counts]
        )
    return MissRatioCurve(
        capacities,
        count_bytes,
        requests,
        total_bytes,
        np.clip(misses, 0, requests),
        np.clip(missed_bytes, 0, total_bytes),
        "mini",
        rate=effective_rate,
    )


def _future(source, rate: float | None) -> tuple[np.ndarray, np.ndarray | None]:
    """The whole (sampled) key sequence of a source, and its dense ids if the source has them."""
    keys, ids = [], []
    for chunk_keys, _, chunk_ids in _chunks(source):
        keep = slice(None) if rate is None else shards_sample(chunk_keys, rate)
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
