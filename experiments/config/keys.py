"""A config key declared once: its default, its check and its documentation; tables of keys.

A section of the schema (experiments/config/schema.py) is a frozen
dataclass whose fields are made by `key(default, check, doc)`; so are the
entries of a list of tables ([[workload.classes]]) and of a table of keys
(cluster.restarts = { ... }), whose checks `table_list` and `one_table`
make from the entry's class.  They live here, below the schema, so that a
module of related keys (experiments/config/fleet.py) can declare its
tables with them and the schema can use those tables.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from experiments.config.checks import Invalid, describe, did_you_mean


@dataclass(frozen=True)
class Key:
    """One config key: default, check, and the line of documentation shown in defaults.toml."""

    default: Any
    check: Callable[[Any], Any]
    doc: str


def key(default, check: Callable[[Any], Any], doc: str):
    """A section's field for a config key: its typed default, and the Key in the field's metadata."""
    try:
        typed = check(default)
    except Invalid:  # a default no config may write (up_at = inf: never back) stands as it is
        typed = default
    metadata = {"key": Key(default, check, doc)}
    if isinstance(typed, (dict, list)):  # a table of parameters: each instance gets its own
        return field(default_factory=lambda: copy.deepcopy(typed), metadata=metadata)
    return field(default=typed, metadata=metadata)


def keys_of(section: type) -> dict[str, Key]:
    """A section's keys by name, in declaration order."""
    return {item.name: item.metadata["key"] for item in fields(section)}


def table_list(entry: type, required: tuple = (), most: int | None = None, why: str = "") -> Callable:
    """A check for a list of tables ([[section.key]] in TOML), each an `entry` (a dataclass of keys),
    at most `most` of them (`why` says why)."""
    entry_keys = keys_of(entry)

    def check(value):
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise Invalid(
                f"must be a list of tables ([[...]] in TOML) with keys {', '.join(entry_keys)}; got {describe(value)}"
            )
        if most is not None and len(value) > most:
            raise Invalid(f"at most {most} tables ({why}); got {len(value)}")
        checked = []
        for index, item in enumerate(value):
            for name in item:
                if name not in entry_keys:
                    valid = ", ".join(entry_keys)
                    raise Invalid(f"[{index}]: unknown key {name!r}{did_you_mean(name, entry_keys)}; valid: {valid}")
            values = {}
            for name, spec in entry_keys.items():
                if name not in item:
                    if name in required:
                        raise Invalid(f"[{index}]: needs {name}")
                    continue  # the field's default
                try:
                    values[name] = spec.check(item[name])
                except Invalid as error:
                    raise Invalid(f"[{index}].{name}: {error}") from None
            checked.append(entry(**values))
        return tuple(checked)

    return check


def one_table(entry: type) -> Callable:
    """A check for one table of keys ({ every_s = 3600, down_s = 60 } in TOML): an `entry`, every key it
    leaves out taking its default."""
    entry_keys = keys_of(entry)

    def check(value):
        if not isinstance(value, dict):
            raise Invalid(f"must be a table {{ ... }} with keys {', '.join(entry_keys)}; got {describe(value)}")
        for name in value:
            if name not in entry_keys:
                raise Invalid(f"unknown key {name!r}{did_you_mean(name, entry_keys)}; valid: {', '.join(entry_keys)}")
        values = {}
        for name, item in value.items():
            try:
                values[name] = entry_keys[name].check(item)
            except Invalid as error:
                raise Invalid(f"{name} {error}") from None
        return entry(**values)

    check.allowed = "a table of " + ", ".join(entry_keys)
    return check
