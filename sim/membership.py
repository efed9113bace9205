"""Which nodes are up, over time: scheduled outages and random failures.

The schedule is known in advance (random failures are drawn from the seed,
per node, as alternating exponential up and down times), so a batch of
requests can be routed in one vectorized call per stretch of time in which
the set of alive nodes does not change.
"""

from __future__ import annotations

import bisect
import math

from sim.scenario import Outage
from workloads.rng import rng_for


class Membership:
    def __init__(self, nodes: int, failures=(), mtbf_s: float = 0.0, mttr_s: float = 0.0, seed: int = 0):
        self.nodes = int(nodes)
        self.outages: list[Outage] = list(failures)  # the scheduled ones, and the random ones drawn so far
        self.mtbf_s, self.mttr_s = float(mtbf_s), float(mttr_s)
        self._rngs = [rng_for(seed, f"failures.node{n}") for n in range(self.nodes)] if self.mtbf_s else []
        self._next_failure = [rng.exponential(self.mtbf_s) for rng in self._rngs]
        self._known_until = 0.0
        self._changes: list[float] = []
        self._rebuild()

    @property
    def static(self) -> bool:
        """True when every node is up all the time."""
        return not self.outages and not self.mtbf_s

    def _extend(self, horizon: float) -> None:
        """Draw random outages until every node's next failure lies beyond `horizon`."""
        if not self.mtbf_s or horizon <= self._known_until:
            return
        for node, rng in enumerate(self._rngs):
            while self._next_failure[node] <= horizon:
                down = self._next_failure[node]
                up = down + rng.exponential(self.mttr_s)
                self.outages.append(Outage(node, down, up))
                self._next_failure[node] = up + rng.exponential(self.mtbf_s)
        self._known_until = horizon
        self._rebuild()

    def _rebuild(self) -> None:
        times = {o.down_at for o in self.outages} | {o.up_at for o in self.outages if math.isfinite(o.up_at)}
        self._changes = sorted(times)

    def alive_at(self, t: float) -> tuple:
        """The nodes up at time t (an outage covers [down_at, up_at))."""
        self._extend(t)
        down = {o.node for o in self.outages if o.down_at <= t < o.up_at}
        return tuple(n for n in range(self.nodes) if n not in down)

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
            self._extend(undrawn)

    def change_times(self):
        """The times at which the alive set may change, in order; endless with random failures."""
        when = self.next_change_after(0.0)
        while when is not None:
            yield when
            when = self.next_change_after(when)
