"""Stable hashing and the small probabilistic counters that frequency-aware
policies use: a counting Bloom filter (W-TinyLFU's frequency estimate), a
Bloom filter and a count-min sketch (the TinyLFU admission filter).

Python's ``hash()`` of a string is salted per process, so it would make runs
irreproducible; every decision here goes through ``stable_hash``: a key's
64-bit id (an integer key itself, any other key its BLAKE2b-64 digest) mixed
by splitmix64's finaliser, both from workloads/hashing.py, the project's one
home of stable hashes.  Both give the same 64 bits in every process on every
machine.

Each structure derives its k probe positions from two hashes by double
hashing, ``h1 + i * h2`` (Kirsch and Mitzenmacher, "Less hashing, same
performance: building a better Bloom filter", ESA 2006).

The counting Bloom filter of W-TinyLFU reproduces libCacheSim's exactly: the
same size, the same number of probes, and the same hashes (XXH64 of the
8-byte object id with libCacheSim's two seeds, written out below), so an
integer-keyed W-TinyLFU makes libCacheSim's decisions to the request.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Hashable, Iterable
from typing import TYPE_CHECKING

from workloads.hashing import MASK64, splitmix64, stable_id

if TYPE_CHECKING:  # numpy is imported where it is used, by the bulk hashing of replay only
    import numpy as np
    import numpy.typing as npt

_P1, _P2, _P3 = 0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9
_P4, _P5 = 0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5


def xxh64_u64(value: int, seed: int) -> int:
    """XXH64 (Y. Collet's xxHash, 64-bit) of one 8-byte little-endian integer."""
    return _xxh64_finish(_xxh64_lane(value), seed)


def _xxh64_lane(value: int) -> int:
    """XXH64's round over the single 8-byte lane (independent of the seed)."""
    x = (value * _P2) & MASK64
    return ((((x << 31) | (x >> 33)) & MASK64) * _P1) & MASK64


def _xxh64_finish(lane: int, seed: int) -> int:
    h = ((seed + _P5 + 8) & MASK64) ^ lane
    h = ((((h << 27) | (h >> 37)) & MASK64) * _P1 + _P4) & MASK64
    h ^= h >> 33
    h = (h * _P2) & MASK64
    h ^= h >> 29
    h = (h * _P3) & MASK64
    return h ^ (h >> 32)


def _xxh64_finish_array(lane: npt.NDArray[np.uint64], seed: int) -> npt.NDArray[np.uint64]:
    """_xxh64_finish over a numpy uint64 array (arithmetic wraps mod 2**64)."""
    import numpy as np

    u = np.uint64
    h = lane ^ u((seed + _P5 + 8) & MASK64)
    h = ((h << u(27)) | (h >> u(37))) * u(_P1) + u(_P4)
    h ^= h >> u(33)
    h *= u(_P2)
    h ^= h >> u(29)
    h *= u(_P3)
    return h ^ (h >> u(32))


def key_id(key: Hashable) -> int:
    """An unsigned 64-bit id for any key: an integer key itself, any other its text's stable id."""
    if type(key) is int:
        return key & MASK64
    if not isinstance(key, (str, bytes, bytearray)):
        try:
            return operator.index(key) & MASK64  # type: ignore[arg-type]  # numpy integers, bool; others raise TypeError
        except TypeError:
            key = repr(key)  # tuples and the like: repr is stable for builtins
    return stable_id(key)


def stable_hash(key: Hashable) -> int:
    """A 64-bit hash of `key` that is the same in every process."""
    return splitmix64(key_id(key))


class _Probes:
    """The k probe positions of each key in a table of n slots, memoised.

    ``probes[key]`` hashes on first use; the memo is bounded (cleared when
    full), so memory stays flat however many distinct keys a trace has.
    Hashing is the slow part in Python, and popular keys come back often.
    """

    def __init__(self, n_slots: int, n_probes: int, memo_size: int = 1 << 17):
        self.n_slots = n_slots
        self.n_probes = n_probes
        self.memo: dict[Hashable, tuple[int, ...]] = {}
        self.memo_size = memo_size

    def __call__(self, key: Hashable) -> tuple[int, ...]:
        probes = self.memo.get(key)
        if probes is None:
            h = stable_hash(key)
            h1, h2 = h & 0xFFFFFFFF, (h >> 32) | 1
            n = self.n_slots
            probes = tuple([(h1 + i * h2) % n for i in range(self.n_probes)])
            if len(self.memo) >= self.memo_size:
                self.memo.clear()
            self.memo[key] = probes
        return probes


class CountingBloomFilter:
    """Counters at k positions per key; the estimate is the smallest of them.

    libCacheSim's "minimal increment" CBF, as W-TinyLFU uses it (its add in
    fact increments all k counters, and so does this one).  For `entries`
    keys and a false-positive rate `error`: ``-ln(error) / ln(2)**2`` counters
    per entry and ``ceil(ln(2) * that)`` probes (14.4 counters per entry and 10
    probes at error 0.001).  Probe i of a key is ``(a + i * b) mod n`` in 32-bit
    arithmetic, a and b the low 32 bits of XXH64 of its id with two seeds.

    One deviation: at most `max_counters` counters.  libCacheSim sizes the
    filter by the capacity, which for a capacity in bytes means billions of
    counters; past a few million, collisions are negligible either way.
    ``halve()`` ages the filter: every counter is divided by two.
    """

    SEED0, SEED1 = 0x12345678, 0x12344321  # libCacheSim's HASH_SEED0 and HASH_SEED1

    def __init__(self, entries: int, error: float = 0.001, max_counters: int = 1 << 22):
        per_entry = -math.log(error) / 0.480453013918201  # ln(2)**2, as libCacheSim writes it
        self.n_probes = math.ceil(0.693147180559945 * per_entry)
        n_counters = min(math.ceil(per_entry * entries), 2**31 - 1, max_counters)
        self.n_counters = max(n_counters, 2 * self.n_probes)
        self.counts = [0] * self.n_counters
        self.memo: dict[
            Hashable, list[int]
        ] = {}  # key -> its probe positions, from probe() (bounded: cleared when full)
        self.memo_size = 1 << 17
        self._probe_range = range(self.n_probes)

    def probe(self, key: Hashable) -> list[int]:
        lane = _xxh64_lane(key_id(key))
        a = _xxh64_finish(lane, self.SEED0) & 0xFFFFFFFF
        b = _xxh64_finish(lane, self.SEED1) & 0xFFFFFFFF
        n = self.n_counters
        probes = []
        for _ in self._probe_range:  # (a + i * b) mod 2**32 mod n, i = 0 .. k-1
            probes.append(a % n)
            a = (a + b) & 0xFFFFFFFF
        memo = self.memo
        if len(memo) >= self.memo_size:
            memo.clear()
        memo[key] = probes
        return probes

    def preload(self, keys: Iterable[Hashable]) -> None:
        """Hash many integer keys at once (numpy), ahead of their requests.

        Only a speed-up for replay: it fills the probe memo that ``add`` and
        ``estimate`` would otherwise fill one key at a time.
        """
        import numpy as np

        if not isinstance(keys, np.ndarray) or keys.dtype.kind not in "iu" or not len(keys):
            return  # only integer arrays (from traces) are worth it
        keys = np.unique(keys)
        keys = keys[: self.memo_size - len(self.memo)]
        with np.errstate(over="ignore"):
            x = keys.astype(np.uint64) * np.uint64(_P2)
            lane = ((x << np.uint64(31)) | (x >> np.uint64(33))) * np.uint64(_P1)
            a, b = (_xxh64_finish_array(lane, seed) & np.uint64(0xFFFFFFFF) for seed in (self.SEED0, self.SEED1))
            steps = np.arange(self.n_probes, dtype=np.uint64)
            probes = ((a[:, None] + steps * b[:, None]) & np.uint64(0xFFFFFFFF)) % np.uint64(self.n_counters)
        self.memo.update(zip(keys.tolist(), probes.tolist()))

    def add(self, key: Hashable) -> None:
        probes = self.memo.get(key) or self.probe(key)
        counts = self.counts
        for i in probes:
            counts[i] += 1

    def estimate(self, key: Hashable) -> int:
        probes = self.memo.get(key) or self.probe(key)
        return min(map(self.counts.__getitem__, probes))

    def halve(self) -> None:
        self.counts[:] = [c >> 1 for c in self.counts]


class BloomFilter:
    """Set membership with false positives only: k bits per key."""

    def __init__(self, entries: int, error: float = 0.01):
        per_entry = -math.log(error) / math.log(2) ** 2
        self.n_probes = max(1, round(math.log(2) * per_entry))
        self.n_bits = max(math.ceil(per_entry * max(entries, 1)), 2 * self.n_probes)
        self._probes = _Probes(self.n_bits, self.n_probes)
        self._bits = bytearray(self.n_bits)  # a byte per bit: faster to index than packed bits

    def add(self, key: Hashable) -> bool:
        """Set the key's bits; True if they were all set already (probably seen)."""
        bits = self._bits
        seen = True
        for i in self._probes(key):
            if not bits[i]:
                seen = False
                bits[i] = 1
        return seen

    def __contains__(self, key: Hashable) -> bool:
        bits = self._bits
        return all(bits[i] for i in self._probes(key))

    def clear(self) -> None:
        self._bits = bytearray(len(self._bits))


class CountMinSketch:
    """Frequency estimates in `depth` rows of `width` small counters (saturating at `max_count`).

    G. Cormode, S. Muthukrishnan, "An improved data stream summary: the
    count-min sketch and its applications", J. Algorithms 55(1), 2005.  Rows
    are laid out in one flat list; row r's counter for a key is at
    ``r * width + probe_r``.
    """

    def __init__(self, width: int, depth: int = 4, max_count: int = 15):
        self.width = max(int(width), 1)
        self.depth = depth
        self.max_count = max_count
        self._probes = _Probes(self.width, depth)
        self.counts = [0] * (self.width * depth)

    def _cells(self, key: Hashable) -> list[int]:
        width = self.width
        return [row * width + col for row, col in enumerate(self._probes(key))]

    def add(self, key: Hashable) -> None:
        counts, cap = self.counts, self.max_count
        for i in self._cells(key):
            if counts[i] < cap:
                counts[i] += 1

    def estimate(self, key: Hashable) -> int:
        counts = self.counts
        return min([counts[i] for i in self._cells(key)])

    def halve(self) -> None:
        self.counts = [c >> 1 for c in self.counts]
