"""Dense ids: each distinct key of a stream numbered 0, 1, 2, ... in order of first sight.

A cache compares keys and nothing else, so a trace's 64-bit ids (sparse,
scattered) can be replaced by dense ones, which a compiled policy uses as
indices into its arrays instead of hashing a key at every step.  The
original ids are kept (``keys()``), for whatever names keys in results.

    >>> dense = DenseIds()
    >>> dense(np.array([70, 5, 70, 9])).tolist(), dense(np.array([9, 11])).tolist()
    ([0, 1, 0, 2], [2, 3])
    >>> dense.keys().tolist()
    [70, 5, 9, 11]

Numbering in first-sight order makes the ids a function of the key sequence
alone: two DenseIds fed the same keys (say, the whole trace for Belady's
future and the trace again in chunks) give the same ids.  The map is
compiled (workloads/_idmap.pyx); without a C compiler it falls back on a
dict, the same numbers more slowly.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

try:
    from workloads._idmap import IdMap
except ImportError:  # not built: kvsim then runs its Python engine, which needs no dense ids
    IdMap = None


class DictIdMap:
    """The fallback map: a dict from key to id."""

    def __init__(self) -> None:
        self._ids: dict = {}

    def __len__(self) -> int:
        return len(self._ids)

    def keys(self) -> np.ndarray:
        return np.fromiter(self._ids, dtype=np.int64, count=len(self._ids))

    def ids(self, keys: np.ndarray, out: np.ndarray) -> None:
        ids = self._ids
        out[:] = [ids.setdefault(key, len(ids)) for key in keys.tolist()]


class DenseIds:
    """Dense int32 ids for the int64 keys of a stream, fed chunk by chunk."""

    def __init__(self, compiled: bool = True):
        self._map = IdMap() if compiled and IdMap is not None else DictIdMap()

    def __call__(self, keys: ArrayLike) -> np.ndarray:
        """The ids of `keys` (an integer array), numbering the new ones on."""
        keys = np.ascontiguousarray(keys).astype(np.int64, copy=False)
        out = np.empty(len(keys), dtype=np.int32)
        self._map.ids(keys, out)
        return out

    def __len__(self) -> int:
        """How many distinct keys so far (the next new key's id)."""
        return len(self._map)

    def keys(self) -> np.ndarray:
        """The original keys, by id: ``keys()[dense(k)] == k``."""
        return self._map.keys()


@dataclass(frozen=True)
class DenseBatch:
    """A chunk of requests with its keys' dense ids, for a replay through compiled policies."""

    key: np.ndarray  # the stream's own int64 ids
    size: np.ndarray
    ids: np.ndarray  # int32 dense ids of `key`
    time: np.ndarray | None = None  # the requests' times, when the batch had them (for a timed policy)


def dense_batches(batches: Iterable, dense: DenseIds | None = None) -> Iterator[DenseBatch]:
    """Each batch (with ``key`` and ``size`` arrays) with its keys' dense ids, from one numbering."""
    dense = DenseIds() if dense is None else dense
    for batch in batches:
        yield DenseBatch(batch.key, batch.size, dense(batch.key), getattr(batch, "time", None))
