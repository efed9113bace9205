"""The model's calendar: the one way it schedules what must happen later.

A request's own work is arithmetic (sim/model.py); what must happen at a
later time is an entry on this calendar: the backend's answer filling the
cache, a miss reaching the backend after its node queue, a write landing,
an entry expiring.  An entry is (time, order, action, arguments); the
earliest runs first, and entries of the same time run in the order they
were scheduled.  Nothing else counts what is pending: it is the number of
entries (``pending``), so a run ends when the calendar is empty.

SimPy keeps what is rare and has a life of its own: failures and recoveries,
bulk updates (processes, sim/model.py).  Its queue and the calendar are
merged in time order, ours first at equal times, and SimPy is stepped only
when its next event is due: ``advance(now)`` runs both up to the time of the
next request, so runs of hits touch neither.

The compiled loop (sim/_compiled/engine.pyx) keeps the same calendar in C,
with the same order, the same merge with SimPy's queue and the same kinds of
entries; the tests hold the two loops to identical results.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from heapq import heappop, heappush

import simpy


class Calendar:
    """Actions at future times, merged in time order with a SimPy environment's queue."""

    def __init__(self, env: simpy.Environment):
        self.env = env
        self._entries: list = []  # a heap of (time, order, action, arguments)
        self._order = itertools.count()  # ties go in scheduling order
        self.now = 0.0  # the time of the entry being run (SimPy's env.now lags behind)
        self.due = env.peek()  # the time of the earliest thing scheduled, ours or SimPy's

    def at(self, when: float, action: Callable[..., object], *args: object) -> None:
        """Run ``action(*args)`` at time `when`."""
        heappush(self._entries, (when, next(self._order), action, args))
        if when < self.due:
            self.due = when

    @property
    def pending(self) -> int:
        """Entries not run yet: what a run waits for before it ends."""
        return len(self._entries)

    def _next_ours(self) -> float:
        return self._entries[0][0] if self._entries else math.inf

    def _run_ours(self) -> None:
        self.now, _, action, args = heappop(self._entries)
        action(*args)

    def advance(self, now: float) -> None:
        """Run everything scheduled up to `now`, ours and SimPy's, in time order; then set `due`."""
        env = self.env
        while True:
            ours, theirs = self._next_ours(), env.peek()
            if ours <= theirs:
                if ours > now:
                    self.due = ours
                    return
                self._run_ours()
            elif theirs > now:
                self.due = theirs
                return
            else:
                env.step()

    def drain(self) -> None:
        """After the last request: run our entries until none is left (the answers the last misses
        wait for, and what they schedule).

        SimPy is not stepped any more.  What its processes do after the last arrival (the fleet's
        changes, bulk updates, an autoscaler's ticks) changes no latency, and a run's fleet.csv keeps
        the changes up to its last arrival (sim/metrics.py); stepping them up to our last entry meant
        stepping restarts every second up to a near cache's invalidation due 10**8 s later.
        """
        while self._entries:
            self._run_ours()
        self.due = self.env.peek()
