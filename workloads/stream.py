"""The request stream: columnar batches of (time, key, size, op).

A simulation never holds the whole stream: it walks batches of a few tens of
thousands of requests, each drawn with numpy in one go.  That keeps memory
flat and moves all per-request randomness out of the Python loop.

Key ids.  A workload can mix several key classes (user features and item
features, say).  Class c owns the ids ``c << 40 | local id``, so a key's
class is ``key >> CLASS_SHIFT`` and classes never collide.  Requests of a
scan and one-hit wonders use two reserved classes of their own.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt

from workloads.arrivals import ArrivalProcess, Poisson
from workloads.distributions import Constant, Distribution, Lognormal
from workloads.hashing import mix64_offset, stable_id, unit_interval
from workloads.popularity import FeistelPermutation, Uniform, Zipf
from workloads.rng import rng_for

try:
    import workloads._draws as _compiled
except ImportError:  # not built: numpy's passes split the same classes
    _compiled = None

READ = 0
WRITE = 1

DEFAULT_CHUNK = 1 << 16

#: the largest object, in bytes (1 TiB): sizes of a batch of DEFAULT_CHUNK requests
#: then sum to at most 2**56, far inside int64, however large the objects
MAX_OBJECT_BYTES = 1 << 40

CLASS_SHIFT = 40
SCAN_CLASS = 62  # ids of sequential scans
ONE_HIT_CLASS = 63  # ids requested exactly once


def _whole_bytes(sizes: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Sizes drawn as floats, as whole bytes in [1, MAX_OBJECT_BYTES] (int64).

    A heavy tail may draw beyond any machine's memory: objects are capped at MAX_OBJECT_BYTES.
    """
    return np.clip(np.rint(sizes), 1, MAX_OBJECT_BYTES).astype(np.int64)


@cache
def _compiled_sizes() -> Any:
    """workloads/_sizes.pyx, loaded on first use (it loads scipy); None where it is not built."""
    try:
        import workloads._sizes as compiled
    except ImportError:  # not built: numpy's passes give the same sizes
        return None
    return compiled


def _lognormal_sizes_compiled(classes: tuple[KeyClass, ...], keys: np.ndarray, seed: int) -> np.ndarray:
    """Workload.sizes_of where every class's sizes are lognormal or constant, by workloads/_sizes.pyx.

    Two loops over the keys around numpy's exp, where numpy makes a dozen
    passes (the hash, the unit interval, a gather and a scatter per class,
    ndtri, the scaling, the rounding): the same sizes.
    """
    laws = [c.object_size for c in classes]
    constant = np.array([isinstance(law, Constant) for law in laws], dtype=np.uint8)
    sigmas, medians = np.zeros(len(laws)), np.empty(len(laws))  # a constant's size stands as its median
    for index, law in enumerate(laws):
        if isinstance(law, Lognormal):
            sigmas[index], medians[index] = law.sigma, law.median
        elif isinstance(law, Constant):
            medians[index] = law.value
    keys = np.ascontiguousarray(keys)
    exponents = np.empty(len(keys))
    compiled = _compiled_sizes()
    compiled.lognormal_size_exponents(keys, mix64_offset(stable_id(f"sizes/{seed}")), constant, sigmas, exponents)
    np.exp(exponents, out=exponents)
    sizes = np.empty(len(keys), dtype=np.int64)
    compiled.lognormal_sizes(keys, constant, medians, exponents, sizes)
    return sizes


def _split_by_class(u: np.ndarray, cumulative_share: np.ndarray, owner: np.ndarray) -> list[np.ndarray]:
    """Each request's class, written to `owner`, and each class's requests (indices, increasing).

    The class whose share holds u: how many cumulative shares before the
    last (which is 1) are at most u; searchsorted(side="right")'s answer,
    without its branchy binary search.  A class's requests by index, not by
    mask: on a mask as mixed as this, numpy's boolean subscript and store
    are several times slower than flatnonzero, take and put.  In two passes
    in C where built (workloads/_draws.pyx), numpy's passes here otherwise.
    """
    if _compiled is not None:
        order = np.empty(len(u) + 1, dtype=np.int64)
        starts = _compiled.split_by_class(u, cumulative_share[:-1], owner, order)
        return [order[low:high] for low, high in zip(starts[:-1], starts[1:])]
    for bound in cumulative_share[:-1]:
        owner += u >= bound
    return [np.flatnonzero(owner == index) for index in range(len(cumulative_share))]


def key_class(keys: npt.ArrayLike) -> np.ndarray:
    """The class index of each key id."""
    return np.asarray(keys) >> CLASS_SHIFT


@dataclass(frozen=True)
class RequestBatch:
    """A slice of the request stream, one numpy array per column.

    time:  arrival time in seconds (float64, non-decreasing)
    key:   integer key id (int64)
    size:  object size in bytes (int64)
    op:    READ or WRITE (int8)
    start: index of the first request of the batch in the whole stream
    """

    time: np.ndarray
    key: np.ndarray
    size: np.ndarray
    op: np.ndarray
    start: int = 0

    def __len__(self) -> int:
        return len(self.key)


@dataclass(frozen=True)
class KeyClass:
    """One population of keys: its popularity, sizes, writes and drift.

    share:          fraction of all requests that go to this class
    write_fraction: fraction of this class's requests that are writes
    rotate_every_s, rotate_by: every `rotate_every_s` seconds the hot set moves
                    `rotate_by` ranks: the key at rank r + rotate_by becomes
                    rank r, and the hottest keys fall to the cold end
    new_keys_per_s: new keys are born at this rate and are the most popular
                    when born; each birth ages every key by one rank and
                    retires the oldest.  New keys start cold in every cache.
    """

    popularity: Zipf | Uniform
    object_size: Distribution = Constant(1)
    name: str = "default"
    share: float = 1.0
    write_fraction: float = 0.0
    rotate_every_s: float = 0.0
    rotate_by: int = 0
    new_keys_per_s: float = 0.0

    def __post_init__(self) -> None:
        if not 0 <= self.write_fraction <= 1:
            raise ValueError(f"write_fraction must be in [0, 1], got {self.write_fraction!r}")
        if self.rotate_every_s and self.new_keys_per_s:
            raise ValueError("a key class either rotates its hot set or has new keys born, not both")

    def local_keys(self, ranks: np.ndarray, times: np.ndarray, key_of_rank: FeistelPermutation | None) -> np.ndarray:
        """The class-local id of the key at each rank at each time (`key_of_rank`: the scramble, if any)."""
        catalogue = self.popularity.keys
        if self.new_keys_per_s:
            births = np.floor(times * self.new_keys_per_s).astype(np.int64)
            return births + (catalogue - 1 - ranks)
        if self.rotate_every_s and self.rotate_by:
            epochs = np.floor(times / self.rotate_every_s).astype(np.int64)
            ranks = (ranks + epochs * self.rotate_by) % catalogue
        return key_of_rank(ranks) if key_of_rank is not None else ranks.astype(np.int64)


@dataclass(frozen=True)
class Workload:
    """Synthetic traffic: who asks for what, when, and how big the answer is.

    The common case is one key class given by its fields:
    ``Workload(Zipf(100_000, 0.9), Poisson(20_000), Lognormal(4096, 1.0))``.
    For a mix, pass ``classes=(KeyClass(...), ...)`` (then popularity,
    object_size, write_fraction and the drift fields are not used).

    Each key has one size, derived from a hash of the key and the seed, so
    the same object always has the same size without a table per key.
    A fraction of requests can be made sequential scans over `scan_keys`
    keys outside the catalogue (they pollute recency caches) or one-hit
    wonders (keys requested exactly once).
    """

    popularity: Zipf | Uniform | None
    arrivals: ArrivalProcess = field(default_factory=lambda: Poisson(20_000.0))
    object_size: Distribution = Constant(1)
    write_fraction: float = 0.0
    rotate_every_s: float = 0.0
    rotate_by: int = 0
    new_keys_per_s: float = 0.0
    classes: tuple[KeyClass, ...] = ()
    scan_fraction: float = 0.0
    scan_keys: int = 0
    one_hit_fraction: float = 0.0

    def __post_init__(self) -> None:
        if not self.classes and self.popularity is None:
            raise ValueError("a workload needs a popularity or key classes")
        if not 0 <= self.scan_fraction + self.one_hit_fraction <= 1:
            raise ValueError("scan_fraction + one_hit_fraction must be in [0, 1]")
        if self.scan_fraction and self.scan_keys < 1:
            raise ValueError("scans need scan_keys >= 1")
        if len(self.key_classes()) > SCAN_CLASS:
            raise ValueError(f"at most {SCAN_CLASS} key classes")

    def key_classes(self) -> tuple[KeyClass, ...]:
        if self.classes:
            return tuple(self.classes)
        return (
            KeyClass(
                self.popularity,  # type: ignore[arg-type]  # not None without classes (__post_init__)
                self.object_size,
                "default",
                1.0,
                self.write_fraction,
                self.rotate_every_s,
                self.rotate_by,
                self.new_keys_per_s,
            ),
        )

    @property
    def keys(self) -> int:
        """Catalogue size (all classes)."""
        return sum(c.popularity.keys for c in self.key_classes())

    def sizes_of(self, keys: np.ndarray, seed: int) -> np.ndarray:
        """The size in bytes of each key (int64, at least 1): a pure function of key and seed."""
        classes = self.key_classes()
        keys = np.asarray(keys, dtype=np.int64)
        if len(classes) == 1 and isinstance(classes[0].object_size, Constant):  # the common case, at once
            return np.full(len(keys), _whole_bytes(np.float64(classes[0].object_size.value)), dtype=np.int64)
        if all(isinstance(c.object_size, Constant | Lognormal) for c in classes) and _compiled_sizes() is not None:
            return _lognormal_sizes_compiled(classes, keys, seed)
        owner = np.minimum(key_class(keys), len(classes) - 1)  # scans and one-hits: the last class's sizes
        sizes = np.empty(len(keys), dtype=np.float64)
        u = None  # each key's uniform number, for every key at once (the same numbers, one pass)
        for index, cls in enumerate(classes):
            mine = np.flatnonzero(owner == index)
            if not len(mine):
                continue
            if isinstance(cls.object_size, Constant):
                sizes[mine] = cls.object_size.value
            else:
                if u is None:
                    u = unit_interval(keys, salt=stable_id(f"sizes/{seed}"))
                sizes[mine] = cls.object_size.quantile(u[mine])
        return _whole_bytes(sizes)

    def batches(self, seed: int, total: int, chunk: int = DEFAULT_CHUNK) -> Iterator[RequestBatch]:
        """The first `total` requests of the stream of `seed`, in batches of `chunk`."""
        classes = self.key_classes()
        arrivals = self.arrivals.stream(rng_for(seed, "workload.arrivals"))
        class_rng = rng_for(seed, "workload.classes")
        overlay_rng = rng_for(seed, "workload.scans")
        op_rng = rng_for(seed, "workload.ops")
        key_rngs = [rng_for(seed, f"workload.keys.{c.name}") for c in classes]
        key_of_rank = [
            FeistelPermutation.keyed(c.popularity.keys, rng_for(seed, f"workload.scramble.{c.name}"))
            if c.popularity.scramble and not c.new_keys_per_s
            else None
            for c in classes
        ]
        cumulative_share = np.cumsum([c.share for c in classes])
        cumulative_share /= cumulative_share[-1]
        write_fraction = np.array([c.write_fraction for c in classes])
        scans_done = 0
        one_hits_done = 0
        for start in range(0, total, chunk):
            n = min(chunk, total - start)
            times = arrivals.take(n)
            owner = np.zeros(n, dtype=np.int64)
            if len(classes) == 1:  # class 0's ids are its local ids
                keys = classes[0].local_keys(classes[0].popularity.ranks(key_rngs[0], n), times, key_of_rank[0])
            else:
                keys = np.empty(n, dtype=np.int64)
                requests_of = _split_by_class(class_rng.random(n), cumulative_share, owner)
                for index, cls in enumerate(classes):
                    mine = requests_of[index]
                    if len(mine):
                        ranks = cls.popularity.ranks(key_rngs[index], len(mine))
                        local = cls.local_keys(ranks, times[mine], key_of_rank[index])
                        keys[mine] = (index << CLASS_SHIFT) | local
            if write_fraction.any():
                ops = (op_rng.random(n) < write_fraction[owner]).astype(np.int8)
            else:  # no writes: the ops' own stream has nothing to decide
                ops = np.zeros(n, dtype=np.int8)
            if self.scan_fraction or self.one_hit_fraction:
                u = overlay_rng.random(n)
                scan = u < self.scan_fraction
                one_hit = (u >= self.scan_fraction) & (u < self.scan_fraction + self.one_hit_fraction)
                position = scans_done + np.cumsum(scan)[scan] - 1
                keys[scan] = (SCAN_CLASS << CLASS_SHIFT) | (position % max(self.scan_keys, 1))
                keys[one_hit] = (ONE_HIT_CLASS << CLASS_SHIFT) | (one_hits_done + np.arange(int(one_hit.sum())))
                scans_done += int(scan.sum())
                one_hits_done += int(one_hit.sum())
                ops[scan | one_hit] = READ
            yield RequestBatch(times, keys, self.sizes_of(keys, seed), ops, start)
