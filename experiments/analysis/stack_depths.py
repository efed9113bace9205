"""LRU stack depths: one pass gives an LRU cache's hits at every capacity.

Replaying a trace once per capacity costs (capacities x requests) policy
steps.  For LRU one pass is enough, thanks to the *inclusion property*
(Mattson, Gecsei, Slutz and Traiger, "Evaluation techniques for storage
hierarchies", IBM Systems Journal 9(2), 1970): an LRU cache of capacity C
holds the C most recently used objects, so a request hits exactly when its
**stack depth** -- the position of its key in the recency stack, 1 for the
most recent -- is at most C.  The histogram of depths is the whole curve
(experiments/analysis/mrc.py draws it).

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
is a few linear passes, so the whole is O(n log n), in O(n) memory.  With
sizes as weights the same query gives the *byte* depth: the bytes of the
distinct objects above the key in the stack, plus its own size.

Streaming (``LRUStack``): a trace longer than memory is walked in blocks,
and the history before a block is replaced by the current LRU stack itself
(each cached key once, least recent first).  Depths only depend on the
order of last accesses, so they are unchanged, and memory is bounded by the
distinct keys plus one block instead of the trace's length (blocks grow
with the stack, which keeps the total work O(n log n)).
"""

from __future__ import annotations

import numpy as np

#: the depth of a first request: deeper than any cache
INFINITE = np.iinfo(np.int64).max


class VaryingSizeError(ValueError):
    """An object's size changes within the trace: byte depths are not exact then.

    An LRU cache keeps the size an object had when it was inserted, so which
    size counts depends on the capacity; exact byte curves then need replay.
    """


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
    keys = int64_keys(np.asarray(keys))
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


def int64_keys(keys: np.ndarray) -> np.ndarray:
    """Keys as int64 ids: integers as they are (uint64 bits wrap), anything else numbered."""
    if keys.dtype.kind == "i":
        return keys.astype(np.int64, copy=False)
    if keys.dtype.kind == "u":
        return keys.astype(np.uint64, copy=False).view(np.int64)
    # Anything else (strings...) in one in-memory array: number the distinct keys.
    _, inverse = np.unique(keys, return_inverse=True)
    return inverse.astype(np.int64)
