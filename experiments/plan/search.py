"""The smallest value of the varied key that meets the targets, asking as few questions as it can.

The search knows nothing of caches: it asks `judge(values, stage)`, which
says for each value whether the targets are met there (simulating as it
must), and it walks a range of whole numbers (`Axis`).

Where every target can only improve as the value grows (a hit ratio with
capacity), "met" is monotone: met at v means met above v.  Then

1. bracket: judge the estimate; if met, step down, else up, each step
   further than the last (capacity: x1.1, x1.21, x1.46, ...; nodes: 1, 2,
   4, ...), until the verdict flips or the range ends;
2. bisect between the last value not met and the first met, until they are
   one step apart (`Axis.step`: the plan's resolution).

Where a target can turn (p99 against nodes, a stale ratio that grows with
capacity) a flip found by stepping could be the wrong one, so the range is
scanned on a coarse grid first, and the first grid value met is refined
against the one before it: every whole number in between for nodes, a
bisection for capacity (assuming the metric does not turn twice within one
grid step).  The answer is then the smallest value met that the scan could
see.

A search returns the answer and the value one step below it (not met), or
None for an answer when nothing in the range is met.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

#: the first outward step of a bracket, relative (capacity); each step squares it
GROWTH = 1.1

Judge = Callable[[list[int], str], list[bool]]


@dataclass(frozen=True)
class Axis:
    """The values a search may try: whole numbers in [low, high].

    geometric: capacities, whose steps scale with the value (a relative
    `resolution`; 0 means one unit); otherwise node counts, in steps of one.
    """

    low: int
    high: int
    geometric: bool = True
    resolution: float = 0.01

    def step(self, value: int) -> int:
        """How close the answer and the value below it must come."""
        return max(1, int(self.resolution * value)) if self.geometric else 1

    def clamp(self, value: float) -> int:
        return int(min(self.high, max(self.low, round(value))))

    def outward(self, start: int, up: bool):
        """The values a bracket tries from `start`, each further away, up to the range's end."""
        value, factor, offset = start, GROWTH, 1
        while (value < self.high) if up else (value > self.low):
            if self.geometric:
                target = start * factor if up else start / factor
                factor *= factor
            else:
                target = start + offset if up else start - offset
                offset *= 2
            moved = self.clamp(target)
            value = max(moved, value + 1) if up else min(moved, value - 1)
            yield value

    def between(self, below: int, above: int) -> int:
        """A value strictly between: the geometric middle of a wide capacity bracket, else the arithmetic."""
        if self.geometric and above > 2 * below > 0:
            middle = round(math.sqrt(below * above))
        else:
            middle = (below + above) // 2
        return min(above - 1, max(below + 1, middle))

    def grid(self, points: int, low: int | None = None) -> list[int]:
        """About `points` values from `low` (default: the range's low end) to the high end.

        Every whole number when they are that few; else log-spaced (capacity),
        or log-spaced and rounded (nodes).
        """
        low = self.low if low is None else low
        if self.high - low + 1 <= points:
            return list(range(low, self.high + 1))
        spaced = [round(v) for v in _geomspace(max(low, 1), self.high, points)]
        return sorted({low, *spaced, self.high})


def _geomspace(low: float, high: float, count: int) -> list[float]:
    ratio = (high / low) ** (1.0 / (count - 1))
    return [low * ratio**i for i in range(count)]


@dataclass(frozen=True)
class Found:
    """A search's result: the answer (None: nothing met) and the largest value tried below it that is not."""

    value: int | None
    below: int | None


def smallest_met(judge: Judge, axis: Axis, start: int | None, monotone: bool, scan_points: int = 12) -> Found:
    """The smallest value of `axis` that `judge` says is met (see the module docstring)."""
    if monotone and start is not None:
        below, above = bracket(judge, axis, axis.clamp(start))
        if above is None:
            return Found(None, below)
        if below is None:
            return Found(above, None)
        return Found(*bisect(judge, axis, below, above, "bisect"))
    return scan(judge, axis, scan_points)


def bracket(judge: Judge, axis: Axis, start: int) -> tuple[int | None, int | None]:
    """(a value not met, a value met) around the flip, stepping out from `start`; None past an end."""
    if judge([start], "start")[0]:
        above = start
        for value in axis.outward(start, up=False):
            if not judge([value], "bracket")[0]:
                return value, above
            above = value
        return None, above
    below = start
    for value in axis.outward(start, up=True):
        if judge([value], "bracket")[0]:
            return below, value
        below = value
    return below, None


def bisect(judge: Judge, axis: Axis, below: int, above: int, stage: str) -> tuple[int, int]:
    """Narrow a bracket (`below` not met, `above` met) to one step; returns (the value met, the one below)."""
    while above - below > axis.step(above):
        middle = axis.between(below, above)
        if judge([middle], stage)[0]:
            above = middle
        else:
            below = middle
    return above, below


def scan(judge: Judge, axis: Axis, points: int) -> Found:
    """Judge a coarse grid at once, then refine the first value met against the one before it."""
    grid = axis.grid(points)
    met = judge(grid, "scan")
    if not any(met):
        return Found(None, None)
    first = met.index(True)
    if first == 0:
        return Found(grid[0], None)
    below, above = grid[first - 1], grid[first]
    if axis.geometric:
        return Found(*bisect(judge, axis, below, above, "refine"))
    inside = list(range(below + 1, above))
    for value, ok in zip(inside, judge(inside, "refine") if inside else []):
        if ok:
            return Found(value, below)
        below = value
    return Found(above, below)
