"""Admission filters: should a missed object enter the cache at all?

Eviction decides what leaves; admission decides what gets in.  A filter
wraps *any* policy, so "LRU with a size threshold" or "S3-FIFO behind a
TinyLFU doorkeeper" need no new policy class:

    >>> from policies import make_policy
    >>> cache = make_policy("lru", 100, admission="size", admission_params={"threshold": 10})
    >>> cache.insert("small", 4), "small" in cache
    ([], True)
    >>> cache.insert("large", 20), "large" in cache
    ([], False)

The wrapper (``Admitted``) sends every request to the filter (``record``), and
asks it (``admit``) before a key that is not cached is inserted; a refused key
evicts nothing.  As in libCacheSim, the filter is consulted only for keys not
already cached.  Filters live in their own registry: ``size``,
``probabilistic``, ``tinylfu`` and ``bloomfilter``; a filter object can also be passed as
``admission=`` directly.
"""

from __future__ import annotations

import random as _random
from collections.abc import Callable, Iterable
from typing import TypeVar

from policies.base import Kernel, Key, Policy, PolicyError, policy_parameters
from policies.limits import INT64_MAX, MAX_CAPACITY, check_int
from policies.sketch import BloomFilter, CountMinSketch

_ADMISSIONS: dict[str, type[Admission]] = {}
_A = TypeVar("_A", bound="type[Admission]")


def register_admission(name: str) -> Callable[[_A], _A]:
    """Class decorator: make an admission filter available under `name`."""

    def decorate(cls: _A) -> _A:
        cls.name = name
        _ADMISSIONS[name] = cls
        return cls

    return decorate


def available_admissions() -> list[str]:
    return sorted(_ADMISSIONS)


class Admission:
    """Base class of admission filters.  Built as ``cls(capacity, **params)``."""

    #: what the filter does, in one plain line for `kvsim policies`
    summary = ""

    name = "admission"

    def __init__(self, capacity: int):
        self.capacity = capacity

    def record(self, key: Key) -> None:
        """See one request (called for every request, hit or miss, before the lookup)."""

    def admit(self, key: Key, size: int) -> bool:
        """May `key` (not cached, `size` units) enter the cache now?"""
        raise NotImplementedError

    def params(self) -> dict[str, object]:
        return {}

    def make_kernel(self) -> Kernel | None:
        """This filter's C twin (policies/_kernels/admission.pyx), or None; see Policy.make_kernel."""
        return None


@register_admission("size")
class SizeAdmission(Admission):
    """Admit only objects strictly smaller than `threshold` (in capacity units).

    Same rule as libCacheSim's size admissioner (``size < threshold``).  Its
    default threshold is "no limit", which makes the filter a no-op, so here
    the threshold must be given.  With a capacity counting objects every size
    is 1, so the filter only means something for byte capacities.
    """

    summary = "Admits only objects smaller than a threshold (in capacity units)."

    def __init__(self, capacity: int, threshold: int):
        super().__init__(capacity)
        # Above the capacity every object passes the filter: the policy alone then decides.
        self.threshold = check_int("size admission: threshold", threshold, 1, MAX_CAPACITY + 1)

    def admit(self, key: Key, size: int) -> bool:
        return size < self.threshold

    def params(self) -> dict[str, object]:
        return {"threshold": self.threshold}

    def make_kernel(self) -> Kernel:
        from policies._kernels.admission import SizeAdmissionKernel

        return SizeAdmissionKernel(self.threshold)


@register_admission("probabilistic")
class ProbabilisticAdmission(Admission):
    """Admit each missed object with `probability` (libCacheSim's default 0.5).

    A cheap way to keep one-hit wonders out: an object requested k times gets
    in with probability 1 - (1 - p)**k.  The generator is the filter's own.
    """

    summary = "Admits each missed object with a fixed probability."

    def __init__(self, capacity: int, probability: float = 0.5, seed: int = 0):
        super().__init__(capacity)
        if not 0 < probability <= 1:
            raise ValueError(f"probabilistic admission: probability must be in (0, 1], got {probability!r}")
        self.probability = float(probability)
        self.seed = int(seed)
        self._random = _random.Random(self.seed).random

    def admit(self, key: Key, size: int) -> bool:
        return self._random() < self.probability

    def params(self) -> dict[str, object]:
        return {"probability": self.probability, "seed": self.seed}

    def make_kernel(self) -> Kernel:
        from policies._kernels.admission import ProbabilisticAdmissionKernel

        return ProbabilisticAdmissionKernel(self.probability, self.seed)  # a fresh generator, from the same seed


#: the largest tinylfu expected_items: its sketch and doorkeeper take memory in proportion
MAX_EXPECTED_ITEMS = 2**26


@register_admission("tinylfu")
class TinyLFUAdmission(Admission):
    """Admit a key once it has been requested `min_frequency` times recently.

    G. Einziger, R. Friedman, B. Manes, "TinyLFU: A highly efficient cache
    admission policy", ACM Trans. Storage 13(4), 2017.  Every request is
    recorded: the first sighting of a key only sets its bits in the
    *doorkeeper*, a Bloom filter, so one-hit wonders never reach the counters;
    later sightings increment a count-min sketch.  The estimate is sketch +
    doorkeeper.  After `sample_size` recorded requests the doorkeeper is
    cleared and every counter halved, so old popularity fades.

    With the default ``min_frequency=2`` this admits "anything seen before",
    like libCacheSim's bloomfilter admissioner (which keeps an exact set and
    never forgets).  `expected_items` sizes the sketch, by default the
    capacity, at most 65536 (pass it for caches that count bytes); the sample
    is 10 x that, and the doorkeeper is sized to hold a whole sample (at most
    10 x expected_items keys).
    """

    summary = "Admits a key once a frequency sketch has seen it often enough recently."

    def __init__(
        self,
        capacity: int,
        min_frequency: int = 2,
        expected_items: int | None = None,
        sample_size: int | None = None,
        false_positive_rate: float = 0.01,
    ):
        super().__init__(capacity)
        self.min_frequency = check_int("tinylfu admission: min_frequency", min_frequency, 1, 2**31 - 1)
        # The sketch and the doorkeeper are sized by expected_items: bounded, as memory is.
        self.expected_items = (
            check_int("tinylfu admission: expected_items", expected_items, 1, MAX_EXPECTED_ITEMS)
            if expected_items is not None
            else min(capacity, 1 << 16)
        )
        self.sample_size = (
            check_int("tinylfu admission: sample_size", sample_size, 1, INT64_MAX)
            if sample_size is not None
            else 10 * self.expected_items
        )
        if not 0 < false_positive_rate < 1:
            raise ValueError(f"tinylfu admission: false_positive_rate must be in (0, 1), got {false_positive_rate!r}")
        self.false_positive_rate = false_positive_rate
        # The doorkeeper holds the keys seen once within a sample: up to sample_size of them
        # (but memory is bounded by expected_items when a very long sample is asked for).
        self._doorkeeper = BloomFilter(min(self.sample_size, 10 * self.expected_items), false_positive_rate)
        self._sketch = CountMinSketch(max(self.expected_items, 64))
        self._recorded = 0

    def record(self, key: Key) -> None:
        if self._doorkeeper.add(key):  # seen before: now it counts
            self._sketch.add(key)
        self._recorded += 1
        if self._recorded >= self.sample_size:
            self._recorded = 0
            self._doorkeeper.clear()
            self._sketch.halve()

    @property
    def doorkeeper(self) -> BloomFilter:
        return self._doorkeeper

    @property
    def sketch(self) -> CountMinSketch:
        return self._sketch

    def estimate(self, key: Key) -> int:
        return self._sketch.estimate(key) + (key in self._doorkeeper)

    def admit(self, key: Key, size: int) -> bool:
        return self.estimate(key) >= self.min_frequency

    def params(self) -> dict[str, object]:
        return {
            "min_frequency": self.min_frequency,
            "expected_items": self.expected_items,
            "sample_size": self.sample_size,
        }

    def make_kernel(self) -> Kernel:
        from policies._kernels.admission import TinyLFUAdmissionKernel

        door, sketch = self._doorkeeper, self._sketch  # the kernel's are these, in C, empty as these are
        return TinyLFUAdmissionKernel(
            self.min_frequency,
            self.sample_size,
            door.n_bits,
            door.n_probes,
            sketch.width,
            sketch.depth,
            sketch.max_count,
        )


@register_admission("bloomfilter")
class BloomFilterAdmission(Admission):
    """Admit a key on its second vetting: one-hit wonders never enter.

    libCacheSim's ``bloomfilter`` admissioner (libCacheSim/cache/admission/
    bloomfilter.c), after the Bloom filters in front of Akamai's disk caches
    (B. Maggs and R. Sitaraman, "Algorithmic nuggets in content delivery",
    SIGCOMM CCR 45(3), 2015): an object is cached only once it has been asked
    for before.  Despite the name, libCacheSim keeps an exact set, and so do
    we: no false positives, and it never forgets, so its memory grows with the
    keys vetted (not with the cache).

    The set remembers the keys *vetted*, that is the misses the cache would
    have inserted: the first vetting of a key refuses it, every later one
    admits it.  In a replay every request of a key before its first admission
    is a miss, so this is "admit on the second request"; in the timed model
    two misses in flight for one key count twice.

    No difference from libCacheSim's C code is known: the same misses on every
    parity trace (tests/policies/test_admission_parity.py), ids past 2**32
    included.  The kernel remembers 64-bit key ids (a key's own id for an
    integer key, its stable hash otherwise).
    """

    summary = "Admits a key only on its second miss (libCacheSim's bloomfilter: an exact set of keys seen)."

    def __init__(self, capacity: int):
        super().__init__(capacity)
        self._seen: set[Key] = set()

    def admit(self, key: Key, size: int) -> bool:
        if key in self._seen:
            return True
        self._seen.add(key)
        return False

    @property
    def seen(self) -> int:
        """How many keys the filter remembers."""
        return len(self._seen)

    def make_kernel(self) -> Kernel:
        from policies._kernels.admission import BloomFilterAdmissionKernel

        return BloomFilterAdmissionKernel()  # empty, as this filter is when a replay binds it


class Admitted(Policy):
    """A policy behind an admission filter; otherwise it behaves as the policy."""

    def __init__(self, policy: Policy, admission: Admission):
        # No Policy.__init__: capacity and `used` are the wrapped policy's.
        self.policy = policy
        self.admission = admission
        self.capacity = policy.capacity
        self.name = f"{policy.name}+{admission.name}"

    @property
    def used(self) -> int:  # type: ignore[override]  # read-only here: the wrapped policy's
        return self.policy.used

    @property
    def offline(self) -> bool:  # type: ignore[override]  # the wrapped policy's
        return self.policy.offline

    @property
    def timed(self) -> bool:  # type: ignore[override]  # the wrapped policy's
        return self.policy.timed

    def advance(self, now: float) -> None:
        self.policy.advance(now)

    def prepare(self, keys: Iterable[Key]) -> None:
        # Called only on an offline policy (replay checks `offline` first), and offline ones define prepare.
        self.policy.prepare(keys)  # type: ignore[attr-defined]

    def expect(self, keys: Iterable[Key]) -> None:
        self.policy.expect(keys)

    @property
    def prepared(self) -> bool:
        return getattr(self.policy, "prepared", True)

    @property
    def max_object_size(self) -> int:
        return self.policy.max_object_size

    def lookup(self, key: Key) -> bool:
        self.admission.record(key)
        return self.policy.lookup(key)

    def insert(self, key: Key, size: int = 1) -> list[Key]:
        if key not in self.policy and not self.admission.admit(key, size):
            return []
        return self.policy.insert(key, size)

    def remove(self, key: Key) -> bool:
        return self.policy.remove(key)

    @property
    def resizable(self) -> bool:
        return self.policy.resizable

    def evict_to(self, units: int) -> list[Key]:
        return self.policy.evict_to(units)

    def resize(self, capacity: int) -> list[Key]:
        """The wrapped policy's new capacity; the filter keeps its sketch as sized (it counts requests).

        The filter's `capacity` follows: AdaptSize's model reads it at its next window, as
        libCacheSim hands its admissioner the cache's size at every request.
        """
        evicted = self.policy.resize(capacity)
        self.capacity = self.admission.capacity = self.policy.capacity
        return evicted

    def __contains__(self, key: Key) -> bool:
        return key in self.policy

    def __len__(self) -> int:
        return len(self.policy)

    def keys(self) -> list[Key]:
        return self.policy.keys()

    def params(self) -> dict[str, object]:
        params = dict(self.policy.params())
        params["admission"] = self.admission.name
        params.update({f"admission_{k}": v for k, v in self.admission.params().items()})
        return params


def admission_class(name: str) -> type[Admission]:
    try:
        return _ADMISSIONS[name.lower()]
    except (KeyError, AttributeError):
        raise PolicyError(f"unknown admission {name!r}; valid: {', '.join(available_admissions())}") from None


def check_admission(admission: str | Admission | None, admission_params: dict[str, object] | None) -> None:
    """Raise PolicyError for an unknown admission name or parameter."""
    if admission is None:
        if admission_params:
            raise PolicyError("admission_params given without admission")
        return
    if isinstance(admission, Admission):
        if admission_params:
            raise PolicyError("admission_params given with an Admission object (it is already built)")
        return
    cls = admission_class(admission)
    allowed = policy_parameters(cls)
    for param in admission_params or {}:
        if param not in allowed:
            raise PolicyError(
                f"admission {cls.name!r} has no parameter {param!r}; valid: {', '.join(allowed) or 'none'}"
            )


def with_admission(
    policy: Policy, admission: str | Admission, admission_params: dict[str, object] | None = None
) -> Admitted:
    """Wrap `policy` in an admission filter given by name (with params) or as an object."""
    check_admission(admission, admission_params)
    if not isinstance(admission, Admission):
        try:
            admission = admission_class(admission)(policy.capacity, **(admission_params or {}))
        except TypeError as error:  # a required parameter is missing
            raise PolicyError(f"admission {admission!r}: {error}") from None
    return Admitted(policy, admission)
