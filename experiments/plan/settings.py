"""What a plan asks: its targets, the key it varies and over what range, and how sure it must be.

The question comes from a config's [plan] table, from the flags of
`kvsim plan`, or from keyword arguments in Python; a flag or a keyword
replaces the table's key of the same name.  Every key is checked here, and a
mistake is a ConfigError naming the key (plan.hit_ratio) or the flag
(--hit-ratio), what is allowed and what was given.

    [plan]
    hit_ratio = 0.95        # targets, any combination (see TARGETS)
    p99_ms = 20
    vary = "cluster.capacity"   # or "cluster.nodes", or "autoscale.max_nodes" (a reactive autoscaler's ceiling)
    range = "1000:1000000"      # or [1000, 1000000]; sizes such as "1MiB:4GiB" count bytes
    survive = 1                 # the targets must hold with the worst single node down
"""

from __future__ import annotations

from dataclasses import dataclass, field

from experiments.config import ConfigError
from experiments.config.checks import Invalid, capacity_text, choice, integer, number
from experiments.config.schema import Key
from experiments.plan.memory import entry_overhead

#: the keys that count nodes: whole numbers from 1 to 4096, searched in steps of one.  A reactive
#: autoscaler's max_nodes is planned like the node count: the fleet it may grow to at the peak.
NODE_COUNTS = ("cluster.nodes", "autoscale.max_nodes")

VARIED = ("cluster.capacity", *NODE_COUNTS)


@dataclass(frozen=True)
class Target:
    """A metric the plan must keep on the right side of a bound.

    at_least: a ratio must reach the bound (its CI's lower end is compared);
    otherwise the metric must stay under it (the CI's upper end is compared).
    with_nodes_monotone: whether adding nodes can only help it (p99 against
    nodes can turn: more nodes, each colder after a failure, or busier).
    """

    name: str
    label: str
    unit: str
    at_least: bool
    monotone_in_capacity: bool = True
    monotone_in_nodes: bool = True

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def describe(self, bound: float) -> str:
        """'hit ratio >= 0.95', 'p99 <= 20 ms'."""
        return f"{self.label} {'>=' if self.at_least else '<='} {format_value(bound, self.unit)}"


def format_value(value: float, unit: str) -> str:
    if unit == "ms":
        return f"{value:.3g} ms" if value < 100 else f"{value:,.0f} ms"
    if unit == "rps":
        return f"{value:,.0f} requests/s" if value >= 100 else f"{value:.3g} requests/s"
    return f"{value:.4g}"


#: the metrics a plan can target, in the order they are reported
TARGETS = {
    target.name: target
    for target in (
        Target("hit_ratio", "hit ratio", "", at_least=True),
        Target("byte_hit_ratio", "byte hit ratio", "", at_least=True),
        Target("p50_ms", "p50", "ms", at_least=False, monotone_in_nodes=False),
        Target("p95_ms", "p95", "ms", at_least=False, monotone_in_nodes=False),
        Target("p99_ms", "p99", "ms", at_least=False, monotone_in_nodes=False),
        Target("p999_ms", "p99.9", "ms", at_least=False, monotone_in_nodes=False),
        Target("backend_rps", "backend load", "rps", at_least=False),
        # More room keeps stale copies longer: staleness grows with capacity.
        Target("stale_ratio", "stale ratio", "", at_least=False, monotone_in_capacity=False, monotone_in_nodes=False),
    )
}

_RATIO = number(0, 1)
_LATENCY = number(0, low_open=True)

#: the keys of [plan] besides the targets
SCHEMA = {
    "vary": Key(
        "cluster.capacity",
        choice(*VARIED),
        "the key the plan varies: capacity per node, the node count, or a reactive autoscaler's most nodes",
    ),
    "range": Key(
        None,
        None,  # parse_range, which needs to know the varied key
        'the values tried: "LO:HI" or [LO, HI]; capacities with a unit ("1MiB:4GiB") count bytes '
        "(default: from one object per node to the run's whole footprint; 1 to 64 nodes)",
    ),
    "survive": Key(0, integer(0, 1), "1: the targets must also hold with the worst single node down"),
    "confidence": Key(0.95, number(0.5, 0.999), "the confidence of each target's interval over seeds"),
    "max_seeds": Key(10, integer(3, 100), "seeds a point may get when its interval straddles a target"),
    "resolution": Key(0.01, number(0, 0.5), "capacity: the answer's step, relative (0: one object or byte)"),
    "scan_points": Key(12, integer(3, 200), "values of the coarse scan where a target is not monotone"),
    "entry_overhead": Key(
        "redis", entry_overhead, 'bytes of memory per cached entry: "redis", "memcached", "none" or a number'
    ),
}
for _target in TARGETS.values():
    _check = _RATIO if _target.unit == "" else _LATENCY if _target.unit == "ms" else number(0, low_open=True)
    _bound = "at least" if _target.at_least else "at most"
    SCHEMA[_target.name] = Key(
        None, _check, f"target: the {_target.label} must be {_bound} this ({_target.unit or 'ratio'})"
    )


@dataclass(frozen=True)
class Settings:
    """A checked question.

    targets: metric name -> bound, in TARGETS order.
    low, high: the range of the varied key (None: the default, found from the workload).
    counts_bytes: for capacity, whether the values count bytes (None: as cluster.capacity does).
    """

    targets: dict = field(default_factory=dict)
    vary: str = "cluster.capacity"
    low: int | None = None
    high: int | None = None
    counts_bytes: bool | None = None
    survive: int = 0
    confidence: float = 0.95
    max_seeds: int = 10
    resolution: float = 0.01
    scan_points: int = 12
    entry_overhead: str | int = "redis"

    @property
    def varies_nodes(self) -> bool:
        """Whether the varied key counts nodes (the node count, or the autoscaler's most nodes)."""
        return self.vary in NODE_COUNTS

    @property
    def varies_autoscaler(self) -> bool:
        return self.vary.startswith("autoscale.")

    @property
    def monotone(self) -> bool:
        """Whether every target can only improve as the varied key grows: then bisection is safe."""
        attribute = "monotone_in_nodes" if self.varies_nodes else "monotone_in_capacity"
        return all(getattr(TARGETS[name], attribute) for name in self.targets)

    def as_dict(self) -> dict:
        return {
            "targets": dict(self.targets),
            "vary": self.vary,
            "range": None if self.low is None else [self.low, self.high],
            "counts_bytes": self.counts_bytes,
            "survive": self.survive,
            "confidence": self.confidence,
            "max_seeds": self.max_seeds,
            "resolution": self.resolution,
            "scan_points": self.scan_points,
            "entry_overhead": self.entry_overhead,
        }


def settings(table: dict | None = None, flags: dict | None = None) -> Settings:
    """The checked question of a [plan] `table`, with `flags` ({key: value}) replacing its keys.

    A value from the table is named plan.KEY in errors, one from the flags
    --KEY (as the command line spells it), so a message points at what to fix.
    """
    named = {key: (value, f"plan.{key}") for key, value in (table or {}).items()}
    named.update(
        {key: (value, "--" + key.replace("_", "-")) for key, value in (flags or {}).items() if value is not None}
    )
    checked = {}
    for key, (value, where) in named.items():
        if key not in SCHEMA:
            raise ConfigError(f"unknown key {where!r}; valid in [plan]: {', '.join(SCHEMA)}")
        if key != "range":
            checked[key] = _check(SCHEMA[key].check, value, where)
    vary = checked.get("vary", SCHEMA["vary"].default)
    low = high = counts_bytes = None
    if "range" in named:
        low, high, counts_bytes = parse_range(*named["range"], vary)
    targets = {name: checked.pop(name) for name in TARGETS if name in checked}
    if not targets:
        flags_text = ", ".join(target.flag for target in TARGETS.values())
        raise ConfigError(f"a plan needs at least one target: [plan] hit_ratio = 0.95, or a flag ({flags_text})")
    return Settings(targets=targets, low=low, high=high, counts_bytes=counts_bytes, **checked)


def _check(check, value, where: str):
    try:
        return check(value)
    except Invalid as error:
        raise ConfigError(f"{where}: {error}") from None


def parse_range(value, where: str, vary: str) -> tuple[int, int, bool | None]:
    """(low, high, counts bytes) of "LO:HI" or [LO, HI].

    Capacities: both ends whole numbers of objects, or both sizes with a unit
    (bytes).  Nodes: whole numbers from 1 to 4096.
    """
    if isinstance(value, str) and value.count(":") == 1:
        ends = value.split(":")
    elif isinstance(value, list) and len(value) == 2:
        ends = [str(end) for end in value]
    else:
        raise ConfigError(f'{where}: must be "LO:HI" or [LO, HI]; got {value!r}')
    if vary in NODE_COUNTS:
        low, high = (_check(integer(1, 4096), _whole(end), where) for end in ends)
        counts_bytes = None
    else:
        low_end, high_end = (_check(capacity_text, end, where) for end in ends)
        if low_end.counts_bytes != high_end.counts_bytes:
            raise ConfigError(f"{where}: both ends must count objects, or both bytes; got {value!r}")
        low, high, counts_bytes = low_end.amount, high_end.amount, low_end.counts_bytes
    if low > high:
        raise ConfigError(f"{where}: LO must not exceed HI; got {value!r}")
    return low, high, counts_bytes


def _whole(text: str):
    try:
        return int(text)
    except ValueError:
        return text  # the check names it
