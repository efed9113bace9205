"""experiments/configs/defaults.toml, rendered from the schema.

The shipped defaults.toml lists every config key with its documentation,
its default and what it accepts.  It is generated from SCHEMA so the two
cannot drift apart; a test renders it again and compares.

    python -m experiments.config.defaults > experiments/configs/defaults.toml
"""

from __future__ import annotations

import math
import textwrap

from experiments.config.checks import allowed
from experiments.config.schema import SCHEMA, TOP_LEVEL

HEADER = """\
# defaults.toml: every key kvsim understands, with its default value.
#
# Each key is preceded by what it does, its unit and what it accepts.  A config
# file needs only the keys it changes; anything left out takes the value shown.
# Latencies are in milliseconds, times in seconds, sizes in bytes.
#
# Generated from the schema in experiments/config/schema.py by
#     python -m experiments.config.defaults > experiments/configs/defaults.toml
"""

EXAMPLES = {
    "workload.classes": """\
# Example (several key classes in one stream):
# [[workload.classes]]
# name = "users"          # required
# share = 0.7
# keys = 1_000_000
# alpha = 0.6
# object_size = 512
# ttl = 3600              # seconds; -1 uses cluster.ttl
""",
    "cluster.changes": """\
# Example (two nodes join at 1 hour after 2 minutes of provisioning; the newest leaves at 2 hours):
# [[cluster.changes]]
# at_s = 3600
# add = 2
# provision_s = 120
# [[cluster.changes]]
# at_s = 7200
# remove = 1              # or a list of node ids, e.g. [0, 3]; or capacity = "32MiB" (nodes = [ids])
""",
    "cluster.failures": """\
# Example (node 0 down from 10 to 20 minutes, then back, cold):
# [[cluster.failures]]
# node = 0
# down_at = 600
# up_at = 1200
""",
}


def toml_value(value) -> str:
    """A Python value as TOML (the small subset configs use)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isinf(value):
            return "inf"
        return repr(value)
    if isinstance(value, int):
        return f"{value:_}" if abs(value) >= 10_000 else str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }" if value else "{}"
    raise TypeError(f"cannot write {value!r} as TOML")


def comment(text: str) -> str:
    return "\n".join("# " + line for line in textwrap.wrap(text, 78))


def render() -> str:
    parts = [HEADER]
    for key, spec in TOP_LEVEL.items():
        parts.append(comment(spec.doc))
        parts.append(f"{key} = {toml_value(spec.default)}\n")
    for section, keys in SCHEMA.items():
        parts.append(f"[{section}]\n")
        for key, spec in keys.items():
            dotted = f"{section}.{key}"
            accepts = allowed(spec.check)
            parts.append(comment(spec.doc + (f". Accepts: {accepts}." if accepts else ".")))
            if dotted in EXAMPLES:
                parts.append(EXAMPLES[dotted].rstrip())
            parts.append(f"{key} = {toml_value(spec.default)}\n")
    parts.append("""\
# [sweep] varies dotted keys over a grid (every combination), and
# [sweep.zip] varies keys together (lists of equal length). For example:
# [sweep]
# "cluster.capacity" = [1_000, 10_000]
# [sweep.zip]
# "cluster.nodes" = [2, 4, 8]
# "workload.rate" = [10_000, 20_000, 40_000]
""")
    return "\n".join(parts)


if __name__ == "__main__":
    print(render(), end="")
