"""Every number kvsim writes is finite and within its domain: the one check.

A simulator is used to decide things, and a wrong number that looks right is
the worst thing it can print.  Ratios live in [0, 1], counts are whole
numbers >= 0, times, rates and utilisations (offered load over capacity,
above 1 when overloaded) are >= 0, and nothing is NaN or infinite.  The
writers (run files, tables, replay and mrc output) pass their numbers
through ``check_numbers`` before anything reaches a file or the terminal; a
value outside its domain stops the command with a ResultError naming the
value, where it was computed and what is allowed, instead of being written.

The domain of a value is found by its name: exact names first, then by
suffix (``*_ratio``, ``*_ms``), so a new metric named by the house rules is
checked without being listed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

RATIO = "a ratio in [0, 1]"
COUNT = "a whole number >= 0"
NON_NEGATIVE = "a finite number >= 0"
FINITE = "a finite number"

#: exact names: what each value is
DOMAINS = {
    "requests": COUNT,
    "hits": COUNT,
    "misses": COUNT,
    "backend_requests": COUNT,
    "coalesced": COUNT,
    "expired": COUNT,
    "stale": COUNT,
    "timeouts": COUNT,
    "writes": COUNT,
    "node": COUNT,
    "capacity": COUNT,
    "share": RATIO,
    "probability": RATIO,
    "imbalance": NON_NEGATIVE,
    "t_start": NON_NEGATIVE,
    "t_end": NON_NEGATIVE,
    "utilisation": NON_NEGATIVE,
    "backend_rps": NON_NEGATIVE,
    "mean_ms": NON_NEGATIVE,
    "latency_ms": NON_NEGATIVE,
    # a living fleet (sim/metrics.py): its counts, its cost, fleet.csv's and restarts.csv's rows
    "cold_misses": COUNT,
    "gutter_hits": COUNT,
    "warm_hits": COUNT,
    "changes": COUNT,
    "node_seconds": NON_NEGATIVE,
    "byte_seconds": NON_NEGATIVE,
    "object_seconds": NON_NEGATIVE,
    "nodes": COUNT,
    "moved": NON_NEGATIVE,
    "moved_share": RATIO,
    "orphaned": COUNT,
    "restart": COUNT,
    # client groups' near caches (sim/near.py)
    "near_hits": COUNT,
    "near_stale": COUNT,
}

#: name endings: what a value so named is
SUFFIXES = (
    ("_ratio", RATIO),
    # offered load over capacity (sim/metrics.py): above 1 when more work arrives than servers can do
    ("_utilisation", NON_NEGATIVE),
    ("_ms", NON_NEGATIVE),
    ("_s", NON_NEGATIVE),
    ("_rps", NON_NEGATIVE),
    ("_bytes", COUNT),
)


class ResultError(ValueError):
    """A computed value outside its domain: reported in one line, nothing written."""


#: columns of summaries and plans: a metric's statistic, of the metric's domain (a CI half-width: >= 0)
STATISTICS = ("_mean", "_low", "_high")
#: statistics that are empty (NaN) where they cannot be computed, with a single seed
MAY_BE_EMPTY = ("_ci95", "_low", "_high")


def domain_of(name: str) -> str:
    """The domain of a value called `name` (FINITE when nothing more is known)."""
    if name.endswith("_ci95"):
        return NON_NEGATIVE
    for statistic in STATISTICS:
        if name.endswith(statistic):
            return domain_of(name.removesuffix(statistic))
    if name in DOMAINS:
        return DOMAINS[name]
    for suffix, domain in SUFFIXES:
        if name.endswith(suffix):
            return domain
    return FINITE


def within(value, domain: str) -> bool:
    """Whether `value` is a real number in `domain` (bools are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            value = float(value)  # numpy scalars
        except (TypeError, ValueError):
            return False
    if isinstance(value, float) and not math.isfinite(value):
        return False
    if domain == RATIO:
        return 0 <= value <= 1
    if domain == COUNT:
        return value >= 0 and float(value).is_integer()
    if domain == NON_NEGATIVE:
        return value >= 0
    return True


def check_numbers(values: Mapping, where: str, skip: tuple = ()) -> None:
    """Raise ResultError unless every number of `values` (by name) is within its domain.

    `where` says what the values belong to ("run 0003-s1", "mrc.csv row 4").
    Non-numeric entries (names, labels) are left alone, as are `skip`ped keys.
    """
    for name, value in values.items():
        if name in skip or isinstance(value, (str, list, dict, tuple)) or value is None:
            continue
        domain = domain_of(name)
        if not within(value, domain):
            raise ResultError(
                f"{where}: {name} = {value!r} is not {domain}; the inputs are beyond what the model "
                "represents (nothing was written)"
            )


def check_table(table, where: str) -> None:
    """`check_numbers` on every row of a table (a pandas DataFrame) about to be written.

    A confidence bound or half-width may be empty (NaN: one seed gives no
    interval); every other number must be within its domain.
    """
    for index, row in enumerate(table.to_dict("records")):
        values = {
            name: value
            for name, value in row.items()
            if not (name.endswith(MAY_BE_EMPTY) and isinstance(value, float) and math.isnan(value))
        }
        check_numbers(values, f"{where}, row {index + 1}")


def clip_bounds(table):
    """Confidence bounds (`*_low`, `*_high`) clipped to their metric's domain: a ratio's t-interval
    can reach below 0 or above 1, which no ratio can."""
    for column in table.columns:
        if column.endswith(("_low", "_high")):
            domain = domain_of(column)
            if domain == RATIO:
                table[column] = table[column].clip(0.0, 1.0)
            elif domain in (NON_NEGATIVE, COUNT):
                table[column] = table[column].clip(lower=0.0)
    return table
