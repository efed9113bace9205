"""Belady's MIN: evict the object whose next request is furthest in the future.

L. A. Belady, "A study of replacement algorithms for a virtual-storage
computer", IBM Systems Journal 5(2), 1966.

No online policy can know the future, so MIN is the yardstick: with objects
of equal size it has the fewest misses of any policy (with varied sizes it is
a good heuristic, not the optimum, as in libCacheSim).  It is *offline*: it
must be given the whole request sequence first, ``prepare(keys)``, from which
it computes each request's next use itself (so it works on any trace, not
only on traces that carry next-access fields).  It then expects to see
exactly that sequence, one ``lookup`` per request, and checks that it does.
``replay`` prepares it; a timed model, which cannot know the future, must
refuse it (``Belady.offline`` is True).

As in libCacheSim, every missed object is inserted (even one never requested
again), and objects are ranked by their next request; ties between objects
never requested again are broken by insertion order - which of them goes
first never changes a hit or a miss, since none of them is requested again.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from policies.base import Kernel, Key, PolicyError, SizedPolicy, register

NEVER = float("inf")  # the next use of a key that is not requested again

#: Belady's heap entry: (-next use, request index, key)
_Entry = tuple[float, int, Key]


def _next_uses_numpy(keys: npt.NDArray[np.integer]) -> list[float]:
    """For each request, the index of the next request to the same key (NEVER if none).

    Sorting the request indices by key (stably) lists each key's requests in
    time order, one after another; each one's next use is its neighbour.
    """
    order = np.argsort(keys, kind="stable")
    same_key = keys[order[1:]] == keys[order[:-1]]
    next_use = np.full(len(keys), -1, dtype=np.int64)
    next_use[order[:-1][same_key]] = order[1:][same_key]
    result = next_use.tolist()
    return [NEVER if n < 0 else n for n in result]


class Foresight:
    """The future of an offline policy: ``prepare(keys)``, then one ``_advance(key)`` per request.

    Holds the prepared sequence and each request's next use (the index of
    the next request to the same key, NEVER if none); Belady and BeladySize
    (policies/beladysize.py) are written on it.
    """

    offline = True
    name: str  # the registry's, set by @register on the policy written on this
    _future: list[Key] | None = None
    _next_use: list[float]  # (set with _future by prepare)
    _t = 0

    def prepare(self, keys: Iterable[Key]) -> None:
        """Give the whole request sequence this policy will be asked about."""
        if isinstance(keys, np.ndarray) and keys.dtype.kind in "iu":
            future, next_use = keys.tolist(), _next_uses_numpy(keys)
        else:
            future = list(keys)
            next_use = [NEVER] * len(future)
            seen: dict[Key, float] = {}
            for i in range(len(future) - 1, -1, -1):  # walk back: the last sighting is the next use
                key = future[i]
                next_use[i] = seen.get(key, NEVER)
                seen[key] = i
        self._future, self._next_use, self._t = future, next_use, 0

    @property
    def prepared(self) -> bool:
        return self._future is not None

    def _advance(self, key: Key) -> float:
        """Move to the next request, which must be `key`; return its next use."""
        t = self._t
        if self._future is None:
            raise PolicyError(
                f"{self.name} is an offline policy: give it the whole request sequence with "
                "prepare(keys) before the first request (replay does this); it cannot run "
                "in a timed model, which does not know the future"
            )
        if t >= len(self._future):
            raise PolicyError(
                f"{self.name} was prepared with {len(self._future)} requests and got more; when "
                "replaying a trace in parts, prepare() it with the whole sequence first"
            )
        if self._future[t] != key:
            raise PolicyError(
                f"{self.name}: request {t} is {key!r} but the prepared sequence has "
                f"{self._future[t]!r} there; it must see exactly the prepared requests, in order"
            )
        self._t = t + 1
        return self._next_use[t]


@register("belady")
class Belady(Foresight, SizedPolicy):
    """The offline optimum (MIN); ``future`` may be given here or via ``prepare``."""

    summary = "Belady's optimum: evicts the key requested furthest in the future (needs the trace: replay only)."

    def __init__(self, capacity: int, future: Iterable[Key] | None = None):
        super().__init__(capacity)
        self._entry: dict[Key, _Entry] = {}  # cached key -> its live heap entry
        self._heap: list[_Entry] = []  # (-next use, request index, key): furthest next use on top
        self._future = None
        self._t = 0  # index of the next request
        self._current: tuple[Key, float] | None = None  # (key, next use) of the latest request, for its insert
        if future is not None:
            self.prepare(future)

    # -- the interface --------------------------------------------------------
    def lookup(self, key: Key) -> bool:
        next_use = self._advance(key)
        self._current = (key, next_use)
        if key in self.sizes:
            self._push(key, next_use)
            return True
        return False

    def insert(self, key: Key, size: int = 1) -> list[Key]:
        if self._current is None or self._current[0] != key:
            raise PolicyError(f"{self.name} inserts only the key of the latest request (its next use is known)")
        if key in self.sizes:
            self.remove(key)
        return self._insert_new(key, size, self._current[1])

    def access(self, key: Key, size: int = 1) -> bool:
        next_use = self._advance(key)
        if key in self.sizes:
            self._push(key, next_use)
            return True
        self._current = (key, next_use)
        self._insert_new(key, size, next_use)
        return False

    def _insert_new(self, key: Key, size: int, next_use: float) -> list[Key]:
        if size > self.capacity:
            return []
        evicted = self.evict_to(self.capacity - size)
        self.sizes[key] = size
        self.used += size
        self._push(key, next_use)
        return evicted

    def evict_to(self, units: int) -> list[Key]:
        """Evict the keys used furthest in the future until at most `units` are used."""
        evicted: list[Key] = []
        heap, entry_of = self._heap, self._entry
        while self.used > units:
            entry = heapq.heappop(heap)
            victim = entry[2]
            if entry_of.get(victim) is not entry:
                continue  # stale: the key was requested again, or removed
            del entry_of[victim]
            self.used -= self.sizes.pop(victim)
            evicted.append(victim)
        return evicted

    def _push(self, key: Key, next_use: float) -> None:
        entry = (-next_use, self._t, key)
        self._entry[key] = entry
        heapq.heappush(self._heap, entry)
        if len(self._heap) > 4 * len(self._entry) + 1024:  # drop stale entries now and then
            self._heap = [e for e in self._heap if self._entry.get(e[2]) is e]
            heapq.heapify(self._heap)

    def remove(self, key: Key) -> bool:
        if self._drop(key) is None:
            return False
        del self._entry[key]
        return True

    def keys(self) -> list[Key]:
        """Next victim first: furthest next use first."""
        return [entry[2] for entry in sorted(self._entry.values())]

    def next_use(self, key: Key) -> float | None:
        """The request index at which a cached key is next requested (inf: never)."""
        entry = self._entry.get(key)
        return None if entry is None else -entry[0]

    def make_kernel(self) -> Kernel:
        from policies._kernels.belady import BeladyKernel

        # Its future comes later, through the wrapper's prepare() (policies/compiled.py).
        return BeladyKernel(self.capacity)
