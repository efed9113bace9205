"""Which nodes are up, over time: scheduled outages and random failures.

The schedule is known in advance (random failures are drawn from the seed,
per node, as alternating exponential up and down times), so a batch of
requests can be routed in one vectorized call per stretch of time in which
the set of alive nodes does not change.

A long run can hold many outages (the limit in experiments/config/limits.py allows
a hundred thousand changes), so no question here scans them all: each node
keeps its outages sorted by start, with the running maximum of their ends
(scheduled outages may overlap), and "is node n down at t" is one bisection.
Random failures are drawn ahead in growing steps (each node's own stream, so
how far ahead they are drawn never changes what is drawn).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Iterator

from sim.scenario import Outage
from workloads.rng import rng_for


class _NodeOutages:
    """One node's outages, by start time, and the latest end among those started so far."""

    def __init__(self) -> None:
        self.starts: list[float] = []
        self.ends_so_far: list[float] = []  # max(up_at) over outages[0..i]: covers overlaps

    def add(self, down_at: float, up_at: float) -> None:
        """Add an outage; random failures come in order, so this is an append but for a scheduled
        outage that starts after them."""
        index = bisect.bisect_right(self.starts, down_at)
        self.starts.insert(index, down_at)
        self.ends_so_far.insert(index, up_at)
        for i in range(index, len(self.starts)):  # the running maximum, from the new entry on
            self.ends_so_far[i] = max(self.ends_so_far[i], self.ends_so_far[i - 1] if i else -math.inf)

    def down_at(self, t: float) -> bool:
        index = bisect.bisect_right(self.starts, t) - 1
        return index >= 0 and t < self.ends_so_far[index]


class Membership:
    def __init__(
        self, nodes: int, failures: Iterable[Outage] = (), mtbf_s: float = 0.0, mttr_s: float = 0.0, seed: int = 0
    ) -> None:
        self.nodes = int(nodes)
        self.outages: list[Outage] = list(failures)  # the scheduled ones, and the random ones drawn so far
        self.mtbf_s, self.mttr_s = float(mtbf_s), float(mttr_s)
        self._rngs = [rng_for(seed, f"failures.node{n}") for n in range(self.nodes)] if self.mtbf_s else []
        self._next_failure = [rng.exponential(self.mtbf_s) for rng in self._rngs]
        self._known_until = 0.0
        self._by_node = [_NodeOutages() for _ in range(self.nodes)]
        self._changes: list[float] = []
        self._add(sorted(self.outages, key=lambda o: o.down_at))

    @property
    def static(self) -> bool:
        """True when every node is up all the time."""
        return not self.outages and not self.mtbf_s

    def _add(self, outages: list[Outage]) -> None:
        """Record outages (each node's in order of start) and their change times."""
        times = []
        for outage in outages:
            self._by_node[outage.node].add(outage.down_at, outage.up_at)
            times.append(outage.down_at)
            if math.isfinite(outage.up_at):
                times.append(outage.up_at)
        # Two sorted runs (the known times, the new ones): Timsort merges them in linear time.
        self._changes = sorted(set(self._changes).union(times)) if times else self._changes

    def _extend(self, horizon: float) -> None:
        """Draw random outages until every node's next failure lies beyond `horizon`."""
        if not self.mtbf_s or horizon <= self._known_until:
            return
        drawn = []
        for node, rng in enumerate(self._rngs):
            while self._next_failure[node] <= horizon:
                down = self._next_failure[node]
                up = down + rng.exponential(self.mttr_s)
                drawn.append(Outage(node, down, up))
                self._next_failure[node] = up + rng.exponential(self.mtbf_s)
        self._known_until = horizon
        self.outages += drawn
        self._add(drawn)

    def alive_at(self, t: float) -> tuple:
        """The nodes up at time t (an outage covers [down_at, up_at))."""
        self._extend(t)
        return tuple(n for n, outages in enumerate(self._by_node) if not outages.down_at(t))

    def changes_between(self, start: float, end: float) -> list[float]:
        """Times in (start, end] at which the alive set may change."""
        self._extend(end)
        low = bisect.bisect_right(self._changes, start)
        high = bisect.bisect_right(self._changes, end)
        return self._changes[low:high]

    def next_change_after(self, t: float) -> float | None:
        """The first time after t at which the alive set may change (None: never again)."""
        while True:
            index = bisect.bisect_right(self._changes, t)
            known = self._changes[index] if index < len(self._changes) else math.inf
            undrawn = min(self._next_failure, default=math.inf)  # every earlier failure is drawn
            if known < undrawn:
                return known
            if undrawn == math.inf:
                return None
            # Draw ahead in growing steps: one failure at a time would cost a merge per change.
            self._extend(max(undrawn, 2.0 * self._known_until))

    def change_times(self) -> Iterator[float]:
        """The times at which the alive set may change, in order; endless with random failures."""
        when = self.next_change_after(0.0)
        while when is not None:
            yield when
            when = self.next_change_after(when)
