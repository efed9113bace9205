"""Checks of config values: the raw TOML value in, the checked value or Invalid out.

Each check is a function of one value, and what it returns is what the rest
of kvsim reads: mostly the value itself (a number, a word, a table of
parameters), a tuple for a list, and a `Capacity` for a capacity, parsed
here once.  `written` turns a checked value back into what a config writes
(TOML's numbers, strings, lists and tables): the form that tables,
manifests and fingerprints hold.

The parameterized checks (`integer`, `number`, `choice`, `distribution`) are
factories that return such a function and record in its `allowed`
attribute what it accepts, in words, for the documentation in
defaults.toml.  A check's message says what is allowed and what was given,
never which key: the caller knows the key and puts it in front
(experiments/config/loading.py turns Invalid into a ConfigError that names it).

The messages are a user interface: one line, the allowed values or ranges,
the value given, and a "did you mean" for a near miss.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, fields, is_dataclass
from decimal import Decimal
from typing import Any

from policies import PolicyError, policy_class
from policies.limits import MAX_CAPACITY, MAX_CAPACITY_TEXT


class Invalid(ValueError):
    """Raised by a check; ConfigError adds the key's name."""


def describe(value: Any) -> str:
    """A value as the user wrote it: TOML's inline tables as { key = value, ... }."""
    return (
        repr(value) if not isinstance(value, dict) else "{" + ", ".join(f"{k} = {v!r}" for k, v in value.items()) + "}"
    )


def did_you_mean(name: str, candidates) -> str:
    """' (did you mean 'x'?)' for the closest of `candidates` to a misspelt `name`, or ''."""
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def integer(low: int | None = None, high: int | None = None) -> Callable:
    def check(value):
        if isinstance(value, bool) or not isinstance(value, int):
            if not (isinstance(value, float) and value.is_integer()):
                raise Invalid(f"must be an integer{_range_text(low, high)}; got {describe(value)}")
        # Compared as given (1e300 stays a float here), so the message shows what was written.
        if (low is not None and value < low) or (high is not None and value > high):
            raise Invalid(f"must be an integer{_range_text(low, high)}; got {value}")
        return int(value)

    check.allowed = f"integer{_range_text(low, high)}"
    return check


def number(low: float | None = None, high: float | None = None, low_open: bool = False) -> Callable:
    def check(value):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise Invalid(f"must be a number{_range_text(low, high, low_open)}; got {describe(value)}")
        if low is not None and (value < low or (low_open and value == low)):
            raise Invalid(f"must be a number{_range_text(low, high, low_open)}; got {value}")
        if high is not None and value > high:
            raise Invalid(f"must be a number{_range_text(low, high, low_open)}; got {value}")
        return value

    check.allowed = f"number{_range_text(low, high, low_open)}"
    return check


def _range_text(low, high, low_open=False) -> str:
    low, high = _bound_text(low), _bound_text(high)
    if low is not None and high is not None:
        return f" in {'(' if low_open else '['}{low}, {high}]"
    if low is not None:
        return f" {'>' if low_open else '>='} {low}"
    if high is not None:
        return f" <= {high}"
    return ""


def _bound_text(bound):
    """A range's end as a message writes it: integers in full, other numbers short (1e+12)."""
    return f"{bound:g}" if isinstance(bound, float) else bound


def choice(*options: str) -> Callable:
    def check(value):
        if value not in options:
            raise Invalid(
                f"must be one of {', '.join(repr(o) for o in options)}; got {describe(value)}"
                f"{did_you_mean(str(value), options)}"
            )
        return value

    check.allowed = "one of " + ", ".join(f'"{o}"' for o in options)
    return check


def allowed(check) -> str:
    """What a check accepts, in words, for documentation."""
    return getattr(check, "allowed", "")


def text_or_empty(value):
    if not isinstance(value, str):
        raise Invalid(f"must be a string; got {describe(value)}")
    return value


def boolean(value):
    if not isinstance(value, bool):
        raise Invalid(f"must be true or false; got {describe(value)}")
    return value


def text(value):
    if not isinstance(value, str) or not value.strip():
        raise Invalid(f"must be a non-empty string; got {describe(value)}")
    return value


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def simple_name(value):
    """A name that is also one folder's name (results/<name>/): letters, digits, '_', '-' and '.'."""
    if not isinstance(value, str) or not _NAME.match(value) or len(value) > 100:
        raise Invalid(
            "must be a simple name of at most 100 letters, digits, '_', '-' or '.', starting with a letter or "
            f"digit (it names the folder results/<name>/); got {describe(value)}"
        )
    return value


simple_name.allowed = "a simple name: letters, digits, '_', '-', '.'"


#: a seed at most (numpy's generators take any, but a seed is also a column and a file name),
#: and seeds a config may list (each one a run of every sweep point)
MAX_SEED, MAX_SEEDS = 2**63 - 1, 1000


def seed_list(value):
    what = f"a non-empty list of at most {MAX_SEEDS} integers from 0 to 2**63 - 1"
    if not isinstance(value, list) or not value:
        raise Invalid(f"must be {what}, e.g. [1, 2, 3]; got {describe(value)}")
    if len(value) > MAX_SEEDS:
        raise Invalid(f"must be {what}; got {len(value)} seeds")
    for seed in value:
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
            raise Invalid(f"must be {what}; got {describe(seed)} in it")
    if len(set(value)) != len(value):
        raise Invalid(f"must not repeat a seed; got {value}")
    return tuple(value)


seed_list.allowed = "list of integers from 0 to 2**63 - 1"


def string_list(value):
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise Invalid(f"must be a list of strings; got {describe(value)}")
    return tuple(value)


_UNITS = {
    "B": 1,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
    "KIB": 2**10,
    "MIB": 2**20,
    "GIB": 2**30,
    "TIB": 2**40,
}
_SIZE_PATTERN = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]+)\s*$")


def parse_bytes(value: str) -> int:
    """'64MiB' -> 67108864.  Units: B, KB, MB, GB, TB (powers of 1000), KiB, MiB, GiB, TiB.

    The number is read exactly (a decimal, not a float: "9007199254740993B" is
    that many bytes) and a fraction of a byte is dropped; one of more than 40
    digits stands for 10**41 bytes, beyond what any caller takes.
    """
    match = _SIZE_PATTERN.match(value) if isinstance(value, str) else None
    if not match or match.group(2).upper() not in _UNITS:
        given = shown(value) if isinstance(value, str) else repr(value)
        raise Invalid(f'must be a size such as "64MiB" (units B, KiB, MiB, GiB, TiB, KB, MB, GB, TB); got {given}')
    if len(match.group(1)) > 40:  # beyond any size the callers take (and beyond what int() reads of a decimal)
        return 10**41
    amount = int(Decimal(match.group(1)) * _UNITS[match.group(2).upper()])
    if amount < 1:
        raise Invalid(f"must be at least 1 byte; got {value!r}")
    return amount


@dataclass(frozen=True)
class Capacity:
    """A node's capacity, parsed once: `amount` objects, or bytes when `counts_bytes`.

    `written` is the capacity as the config (or the command line) wrote it:
    an integer of objects, or a size such as "64MiB".
    """

    amount: int
    counts_bytes: bool
    written: int | str

    @classmethod
    def objects(cls, amount: int) -> Capacity:
        return cls(amount, False, amount)

    @classmethod
    def in_bytes(cls, amount: int) -> Capacity:
        """`amount` bytes, written as "123B"."""
        return cls(amount, True, f"{amount}B")


def capacity(value) -> Capacity:
    """An integer counts objects; a string with a unit counts bytes; either at most MAX_CAPACITY."""
    message = 'must be a positive integer (objects) or a size such as "64MiB" (bytes)'
    if isinstance(value, str):
        try:
            amount = parse_bytes(value)
        except Invalid as error:
            raise Invalid(f"{message}; {error}") from None
        return _at_most_max(Capacity(amount, True, value))
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise Invalid(f"{message}; got {describe(value)}")
    return _at_most_max(Capacity.objects(value))


capacity.allowed = 'integer (objects) or size such as "64MiB" (bytes), from 1 to 2**50'


def shown(text: str, most: int = 60) -> str:
    """`text` quoted as a message shows it: whole up to `most` characters, else its start and its length."""
    return repr(text) if len(text) <= most else f"{text[: most - 20]!r}... ({len(text):,} characters)"


def _magnitude(amount: int) -> str:
    """A whole number in three digits: 9.9e+18."""
    return f"{amount:.3g}"


def _at_most_max(checked: Capacity) -> Capacity:
    """`checked`, or Invalid when it is beyond what a cache may hold (policies/limits.py)."""
    if checked.amount > MAX_CAPACITY:
        written = str(checked.written)
        unit = "bytes" if checked.counts_bytes else "objects"
        amount = f" ({_magnitude(checked.amount)} {unit})" if len(written) <= 40 else ""
        raise Invalid(
            f"a capacity may be at most {MAX_CAPACITY_TEXT}, so that the caches' sums stay exact; "
            f"got {shown(written)}{amount}"
        )
    return checked


_OBJECTS = re.compile(r"^\s*[-+]?[0-9]+\s*$")


def capacity_text(text: str) -> Capacity:
    """A capacity as a command line or a plan's range writes it: "1000" objects, "64MiB" bytes."""
    text = text.strip()
    if _OBJECTS.match(text):
        value = int(text) if len(text) <= 40 else int(text[0] + "9" * 40)  # as long: as far beyond (and int() reads it)
        if value < 1:
            raise Invalid(f"a capacity must be at least 1; got {shown(text)}")
        if value > MAX_CAPACITY:
            raise Invalid(
                f"a capacity may be at most {MAX_CAPACITY_TEXT}, so that the caches' sums stay exact; got {shown(text)}"
            )
        return _at_most_max(Capacity(value, False, value))
    try:
        amount = parse_bytes(text)
    except Invalid as error:
        raise Invalid(f"{shown(text)} is neither a whole number of objects nor a size: {error}") from None
    return _at_most_max(Capacity(amount, True, text))


def written(value):
    """A checked value as a config writes it: Capacity as written, tuples as lists, tables as dicts."""
    if isinstance(value, Capacity):
        return value.written
    if is_dataclass(value):
        return {item.name: written(getattr(value, item.name)) for item in fields(value)}
    if isinstance(value, (list, tuple)):
        return [written(item) for item in value]
    if isinstance(value, dict):
        return {name: written(item) for name, item in value.items()}
    return value


def policy_name(value):
    if not isinstance(value, str):
        raise Invalid(f"must be a policy name (see `kvsim policies`) or 'package.module:Class'; got {describe(value)}")
    try:
        policy_class(value)
    except PolicyError as error:
        raise Invalid(str(error)) from None
    return value


def table(value):
    if not isinstance(value, dict):
        raise Invalid(f"must be a table, e.g. {{ bits = 2 }}; got {describe(value)}")
    return value


def distribution(fields: dict[str, dict[str, Callable]], number_means: str | None = None) -> Callable:
    """A check for a table { dist = NAME, ... } whose other keys depend on NAME.

    `fields` maps each dist name to its required parameters and their checks.
    When `number_means` names a dist, a bare number is accepted as that dist's
    single parameter (object_size = 4096 is a constant 4096 bytes).
    """
    forms = "; ".join(f'{{ dist = "{name}", {", ".join(params)} }}' for name, params in fields.items())

    def check(value):
        if number_means and isinstance(value, (int, float)) and not isinstance(value, bool):
            ((param, param_check),) = fields[number_means].items()
            return param_check(value)
        if not isinstance(value, dict) or "dist" not in value:
            bare = "a number, or " if number_means else ""
            raise Invalid(f"must be {bare}a table: {forms}; got {describe(value)}")
        name = value["dist"]
        if name not in fields:
            raise Invalid(f"dist must be one of {', '.join(repr(n) for n in fields)}; got {name!r}")
        return tagged_table(value, "dist", fields[name])

    return check


def tagged_table(value: dict, tag: str, params: dict) -> dict:
    """Check a table whose `tag` key (already checked) names its form: exactly `params`, each checked."""
    name = value[tag]
    for key in value:
        if key != tag and key not in params:
            raise Invalid(f"{tag} {name!r} takes {', '.join(params)}; got unknown {key!r}")
    checked = {tag: name}
    for key, param_check in params.items():
        if key not in value:
            raise Invalid(f"{tag} {name!r} needs {key}")
        try:
            checked[key] = param_check(value[key])
        except Invalid as error:
            raise Invalid(f"{key} {error}") from None
    return checked
