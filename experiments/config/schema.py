"""The config schema: every key kvsim understands, in the typed sections a checked config is made of.

(Over 450 lines: every key of every section is declared here, once, with its check and its doc.)

A config is a TOML file of sections (run, workload, cluster, network,
backend, updates, targets, near, autoscale) and an optional [sweep].  Each section is a frozen
dataclass here, and each of its fields a key, declared once, with
`key(default, check, doc)`: its default as a config writes it, the check a
raw value passes (which also gives the field's typed value), and the line
of documentation defaults.toml shows.  SCHEMA, every key by section, is read
off these classes, and loading, overrides, sweeps and defaults.toml
(experiments/config/defaults.py renders it; a test keeps the two in step)
go by it.  To add a key, add a field; to add a section, a class and its
entry in SECTION_TYPES.

A checked config is a `Config` of these sections: what everything after
loading reads (`config.cluster.capacity.amount`), never nested dicts.
`Config.written()` gives it back as a config writes it, for manifests,
fingerprints and run ids.

The checks themselves live in experiments/config/checks.py; this module
holds the ones that are about kvsim's own vocabulary: the forms of a
distribution (size, latency, TTL), the arrival processes, and lists of
tables such as [[workload.classes]].
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace

from experiments.config import fleet, near
from experiments.config.checks import (
    Capacity,
    Invalid,
    boolean,
    capacity,
    choice,
    describe,
    distribution,
    integer,
    number,
    policy_name,
    seed_list,
    simple_name,
    string_list,
    table,
    tagged_table,
    text,
    text_or_empty,
    written,
)
from experiments.config.keys import Key, key, keys_of, table_list
from sim.vocabulary import CHOICES  # the cluster's words (write policies, balancers, ...)
from workloads import Constant, Exponential, Lognormal, Pareto, UniformRange
from workloads.stream import MAX_OBJECT_BYTES, SCAN_CLASS
from workloads.traces import DISORDER
from workloads.traces import FORMATS as TRACE_FORMATS

#: upper bounds of the numeric keys.  Each key takes what the simulator holds exactly and
#: in sane time and memory; what several keys multiply together (phases, births, rows of a
#: time series, queue slots) is bounded as a whole by experiments/config/limits.py.
#: seconds: any simulated span is an instant beside this (31,700 years)
MAX_SECONDS = 1e12
#: milliseconds any single latency or timeout may take (a day)
MAX_MILLISECONDS = 86_400_000.0
#: requests (or new keys) a second: beyond it arrival gaps fall below float64's resolution
#: of simulated time within seconds
MAX_RATE = 1e12
#: requests a run may measure (warm-up included): counters and request indices stay 32-bit
MAX_REQUESTS = 2**31
#: keys a catalogue, a scan or a class may hold: a key class's ids are 40 bits (workloads/stream.py)
MAX_KEYS = 2**40
#: a Zipf exponent beyond this puts every request on the first key (2**-100 is below any ratio shown)
MAX_ALPHA = 100.0
#: a lognormal's sigma beyond this has no finite tail in float64; a Pareto shape beyond this is a constant
MAX_SIGMA, MAX_SHAPE = 100.0, 1e6
#: key classes a workload may have: class ids 62 and 63 mark scans and one-hit wonders
MAX_CLASSES = SCAN_CLASS
#: cache nodes a cluster may have
MAX_NODES = 4096
#: a class's share of the requests, relative to the others'
MAX_SHARE = 1e9
#: bounded loads' epsilon: beyond this no node is ever over its bound
MAX_EPSILON = 1e6
#: a diurnal period's shortest: the cycle's phase at any simulated time stays a finite number
MIN_PERIOD_S = 1e-6

_positive = number(0, low_open=True)
_non_negative = number(0)
_seconds = number(0, MAX_SECONDS)
_positive_seconds = number(0, MAX_SECONDS, low_open=True)
_milliseconds = number(0, MAX_MILLISECONDS)
_positive_milliseconds = number(0, MAX_MILLISECONDS, low_open=True)
_sigma = number(0, MAX_SIGMA)
_object_bytes = number(0, MAX_OBJECT_BYTES, low_open=True)

#: each family: dist name -> (the Distribution it builds, its parameters and their checks,
#: in the constructor's order)
SIZE_FORMS = {
    "constant": (Constant, {"bytes": integer(1, MAX_OBJECT_BYTES)}),
    "lognormal": (Lognormal, {"median": _object_bytes, "sigma": _sigma}),
    "pareto": (Pareto, {"min": _object_bytes, "shape": number(0, MAX_SHAPE, low_open=True)}),
}
LATENCY_FORMS = {
    "constant": (Constant, {"ms": _milliseconds}),
    "exponential": (Exponential, {"mean_ms": _positive_milliseconds}),
    "lognormal": (Lognormal, {"median_ms": _positive_milliseconds, "sigma": _sigma}),
}
TTL_FORMS = {
    "constant": (Constant, {"s": _seconds}),
    "exponential": (Exponential, {"mean_s": _positive_seconds}),
    "lognormal": (Lognormal, {"median_s": _positive_seconds, "sigma": _sigma}),
    "uniform": (UniformRange, {"low_s": _seconds, "high_s": _positive_seconds}),
}


def _checks(forms: dict) -> dict:
    """dist name -> its parameters' checks: what `distribution` needs of a family."""
    return {name: params for name, (_, params) in forms.items()}


size_value = distribution(_checks(SIZE_FORMS), number_means="constant")
latency_value = distribution(_checks(LATENCY_FORMS), number_means="constant")
ttl_value = distribution(_checks(TTL_FORMS), number_means="constant")


def arrival_process(value):
    """ "poisson", or a table { process = "onoff" | "diurnal", ... }; the mean rate is workload.rate."""
    forms = (
        '"poisson"; { process = "onoff", mean_on_s, mean_off_s, off_ratio }; '
        '{ process = "diurnal", amplitude, period_s, peak_s }'
    )
    if value == "poisson":
        return value
    if not isinstance(value, dict) or value.get("process") not in ("onoff", "diurnal"):
        raise Invalid(f"must be {forms}; got {describe(value)}")
    fields = {
        "onoff": {"mean_on_s": _positive_seconds, "mean_off_s": _positive_seconds, "off_ratio": number(0, 1)},
        "diurnal": {
            "amplitude": number(0, 0.99),
            "period_s": number(MIN_PERIOD_S, MAX_SECONDS),
            "peak_s": _seconds,
        },
    }[value["process"]]
    return tagged_table(value, "process", fields)


def interval(value):
    """ "auto" (about 50 rows of timeseries.csv, whatever the span simulated), or seconds per row."""
    if value == "auto":
        return value
    try:
        return _positive_seconds(value)
    except Invalid:
        raise Invalid(f'must be "auto" or a number of seconds in (0, {MAX_SECONDS:g}]; got {describe(value)}') from None


interval.allowed = f'"auto" or number in (0, {MAX_SECONDS:g}]'


@dataclass(frozen=True)
class KeyClassTable:
    """One of [[workload.classes]]: a class of keys with its own popularity, sizes, writes and drift."""

    name: str = key("default", text, "the class's name (for updates.classes and results)")
    share: float = key(1.0, number(0, MAX_SHARE, low_open=True), "relative share of requests (normalized over classes)")
    keys: int = key(100_000, integer(1, MAX_KEYS), "catalogue size of the class")
    popularity: str = key("zipf", choice("zipf", "uniform"), "popularity law")
    alpha: float = key(0.9, number(0, MAX_ALPHA), "Zipf exponent")
    object_size: int | float | dict = key(1, size_value, "bytes per object, as workload.object_size")
    write_fraction: float = key(0.0, number(0, 1), "fraction of the class's requests that are writes")
    rotate_every_s: float = key(0.0, _seconds, "seconds between hot-set rotations (0: static)")
    rotate_by: int = key(0, integer(0, MAX_KEYS), "ranks the hot set moves at each rotation")
    new_keys_per_s: float = key(0.0, number(0, MAX_RATE), "new keys born per second, most popular when born (0: none)")
    ttl: float = key(
        -1, number(-1, MAX_SECONDS), "TTL in seconds for this class (-1: use cluster.ttl; 0: never expires)"
    )


@dataclass(frozen=True)
class FailureTable:
    """One of [[cluster.failures]]: a node down for a while, back cold."""

    node: int = key(0, integer(0, MAX_NODES - 1), "node index, 0 .. nodes-1")
    down_at: float = key(0.0, _seconds, "seconds of simulated time when it fails")
    up_at: float = key(float("inf"), _seconds, "seconds when it comes back, cold (default: never)")


@dataclass(frozen=True)
class RunSection:
    """[run]: how much to simulate, and how often."""

    requests: int = key(200_000, integer(1, MAX_REQUESTS), "measured requests per run")
    warmup: int = key(50_000, integer(0, MAX_REQUESTS), "requests simulated before measuring (not counted)")
    seeds: tuple[int, ...] = key(
        [1, 2, 3], seed_list, "one run per seed and sweep point; same seed, same request stream"
    )
    interval: float | str = key(
        "auto",
        interval,
        'seconds per row of timeseries.csv; "auto": about 50 rows over the measured span, each a power of two '
        "of seconds",
    )
    timeout_ms: float = key(0.0, _milliseconds, "a client gives up after this long and counts a timeout (0: never)")
    imports: tuple[str, ...] = key(
        [],
        string_list,
        "modules to import first (from the current folder, as python -m finds them, or installed packages), so "
        'that the policies they register are known by name, e.g. ["mymodule"]',
    )


@dataclass(frozen=True)
class WorkloadSection:
    """[workload]: the requests, synthetic or from a trace."""

    keys: int = key(100_000, integer(1, MAX_KEYS), "catalogue size: keys are 0 .. keys-1")
    popularity: str = key("zipf", choice("zipf", "uniform"), "key popularity law")
    alpha: float = key(0.9, number(0, MAX_ALPHA), "Zipf exponent (0 is uniform)")
    rate: float = key(20_000, number(0, MAX_RATE, low_open=True), "mean requests per second")
    arrivals: str | dict = key(
        "poisson",
        arrival_process,
        '"poisson", or bursty { process = "onoff", mean_on_s, mean_off_s, off_ratio } '
        '(off rate / on rate), or { process = "diurnal", amplitude, period_s, peak_s }',
    )
    object_size: int | float | dict = key(
        1,
        size_value,
        'bytes per object: a number, or { dist = "lognormal", median = 4096, sigma = 1.0 }, or { dist = "pareto", min = 100, shape = 1.5 }',
    )
    write_fraction: float = key(
        0.0, number(0, 1), "fraction of requests that are writes (to the backend; see cluster.write_policy)"
    )
    rotate_every_s: float = key(0.0, _seconds, "popularity drift: seconds between hot-set rotations (0: static)")
    rotate_by: int = key(0, integer(0, MAX_KEYS), "ranks the hot set moves at each rotation")
    new_keys_per_s: float = key(
        0.0, number(0, MAX_RATE), "new keys born per second, the most popular when born; the oldest retire"
    )
    scan_fraction: float = key(0.0, number(0, 1), "fraction of requests that are sequential scans over scan_keys keys")
    scan_keys: int = key(0, integer(0, MAX_KEYS), "keys a scan cycles through (outside the catalogue)")
    one_hit_fraction: float = key(0.0, number(0, 1), "fraction of requests for keys requested exactly once")
    trace: str = key(
        "",
        text_or_empty,
        "replay a trace file as the request stream (a path, relative to the config "
        "file); empty: the synthetic workload described by the keys above",
    )
    trace_format: str = key(
        "auto",
        choice("auto", *TRACE_FORMATS),
        'the trace\'s format; "auto" goes by its name (.csv, .txt, .bin, and the known names of Twitter, '
        "CacheLib, MSR Cambridge and ARC traces), compressed or not",
    )
    trace_time_unit: str = key("s", choice("s", "ms", "us", "ns"), "unit of the trace's timestamps")
    trace_arrivals: str = key(
        "timestamps",
        choice("timestamps", "rate"),
        "arrivals from the trace's timestamps, or Poisson at workload.rate (needed for a trace without timestamps)",
    )
    trace_disorder: str = key(
        "error",
        choice(*DISORDER),
        'a timestamp earlier than the one before it: "error" names its line; "clamp" makes the request '
        'arrive with the previous one; "sort" puts the run\'s requests in time order first (in memory)',
    )
    trace_key_column: str = key("", text_or_empty, "CSV traces: the column holding the key (empty: detect)")
    classes: tuple[KeyClassTable, ...] = key(
        [],
        table_list(KeyClassTable, required=("name",), most=MAX_CLASSES, why="a key's top bits name its class"),
        "several key classes in one stream ([[workload.classes]]); replaces keys, popularity, "
        "alpha, object_size, write_fraction and the drift keys above",
    )
    clients: int = near.clients_key


@dataclass(frozen=True)
class ClusterSection:
    """[cluster]: the cache nodes, their policy and capacity, and how requests find them."""

    nodes: int = key(4, integer(1, MAX_NODES), "cache nodes")
    capacity: Capacity = key(
        2_500, capacity, 'per node: an integer counts objects; a size such as "64MiB" counts bytes'
    )
    policy: str = key("lru", policy_name, 'eviction policy (`kvsim policies` lists them) or "package.module:Class"')
    policy_params: dict = key({}, table, "keyword parameters of the policy, e.g. { bits = 2 } for clock")
    balancer: str = key(
        "consistent",
        choice(*CHOICES["balancer"]),
        "how reads pick a node: hashing (modulo, consistent ring, rendezvous), random spray, "
        "power of two choices (p2c), consistent hashing with bounded loads",
    )
    vnodes: int = key(160, integer(1, 10_000), "virtual nodes per node on the consistent-hash ring")
    bound_epsilon: float = key(
        0.25, number(0, MAX_EPSILON), "bounded loads: no node takes more than (1 + epsilon) x the mean load"
    )
    replicas: int = key(1, integer(1, MAX_NODES), "copies of each key; reads go to one, fills and invalidations to all")
    ttl: float | dict = key(
        0,
        ttl_value,
        "seconds from insertion until an entry expires (0: never), or drawn per insert: "
        '{ dist = "uniform", low_s, high_s }, exponential (mean_s), lognormal (median_s, sigma)',
    )
    ttl_mode: str = key(
        "insert",
        choice(*CHOICES["ttl_mode"]),
        '"insert": TTL set when stored (memcached); "refresh": every hit restarts it',
    )
    expiry: str = key(
        "lazy",
        choice(*CHOICES["expiry"]),
        '"lazy": an expired entry is dropped when looked up; "active": when it expires, freeing space',
    )
    node_concurrency: int = key(
        0, integer(0, 1_000_000), "requests a node serves at once; more wait in a FCFS queue (0: no node queue)"
    )
    node_service: float | dict = key(
        {"dist": "constant", "ms": 0.0},
        latency_value,
        "time a node spends on each request (ms), with node_concurrency > 0",
    )
    write_policy: str = key(
        "invalidate",
        choice(*CHOICES["write_policy"]),
        "what a write does when it lands: delete cached copies (cache-aside), write "
        "through (copies and the key's home nodes get the new value), or nothing "
        "(copies stay stale until they expire)",
    )
    failures: tuple[FailureTable, ...] = key(
        [],
        table_list(FailureTable, required=("node", "down_at")),
        "scheduled outages ([[cluster.failures]] node, down_at, up_at in seconds); a node comes back cold",
    )
    mtbf_s: float = key(0.0, _seconds, "random failures: mean seconds between a node's failures (0: none)")
    mttr_s: float = key(60.0, _positive_seconds, "random failures: mean seconds to repair")
    # -- a living fleet (experiments/config/fleet.py, sim/fleet.py) ------------------------------
    changes: tuple[fleet.ChangeTable, ...] = key(
        [],
        fleet.changes,
        "planned changes of the fleet ([[cluster.changes]] at_s, and add, remove or capacity)",
    )
    restarts: fleet.RestartsTable = key(
        {}, fleet.restarts, "rolling restarts: { every_s, down_s, order, gap_s, start_s } (every_s 0: none)"
    )
    failover: str = key(
        CHOICES["failover"][0],
        choice(*CHOICES["failover"]),
        "where a down node's keys go: rehashed to the nodes up, straight to the backend, or to the gutter pool",
    )
    gutter: fleet.GutterTable = key({}, fleet.gutter, "[cluster.gutter]: nodes, capacity, policy, ttl_s")
    warmup: fleet.WarmupTable = key(
        {},
        fleet.warmup,
        'how a joining or returning node is warmed: { strategy = "cold" | "read_through" | "precopy", for_s, copy_rate }',
    )
    eviction: fleet.EvictionTable = key(
        {}, fleet.eviction, "batch eviction: { high_watermark, low_watermark, cost_per_entry_s } (0: off)"
    )


@dataclass(frozen=True)
class NetworkSection:
    """[network]: between the clients and the nodes."""

    hit_latency: float | dict = key(
        {"dist": "lognormal", "median_ms": 0.2, "sigma": 0.3},
        latency_value,
        "client <-> node round trip, paid by every request (ms)",
    )


@dataclass(frozen=True)
class BackendSection:
    """[backend]: the store behind the cache."""

    latency: float | dict = key(
        {"dist": "lognormal", "median_ms": 5.0, "sigma": 0.5},
        latency_value,
        "backend service time (ms): lognormal (median_ms, sigma), exponential (mean_ms) or constant (ms)",
    )
    concurrency: int = key(64, integer(1, 1_000_000), "requests the backend serves at once; more wait in a FCFS queue")
    coalesce: bool = key(
        False,
        boolean,
        "a miss for a key already being fetched waits for that fetch instead of asking the backend again",
    )


@dataclass(frozen=True)
class UpdatesSection:
    """[updates]: values that change at once, in bulk."""

    every_s: float = key(
        0.0,
        _seconds,
        "seconds between bulk updates that change values at once, as when a recommender model is retrained (0: none)",
    )
    classes: tuple[KeyClassTable, ...] = key(
        [],
        string_list,
        'key classes whose values change at each update (names from workload.classes; "default" without classes)',
    )
    invalidate: bool = key(
        True, boolean, "drop the changed classes' cached entries at each update (else they go stale)"
    )


#: each section's name in a config, and its class
SECTION_TYPES = {
    "run": RunSection,
    "workload": WorkloadSection,
    "cluster": ClusterSection,
    "network": NetworkSection,
    "backend": BackendSection,
    "updates": UpdatesSection,
    "targets": fleet.TargetsSection,
    "near": near.NearSection,
    "autoscale": fleet.AutoscaleSection,
}

SCHEMA: dict[str, dict[str, Key]] = {name: keys_of(section) for name, section in SECTION_TYPES.items()}

TOP_LEVEL = {"name": Key("experiment", simple_name, "the experiment's name: results go to results/<name>/ by default")}
SECTIONS = tuple(SCHEMA) + ("sweep", "plan")


@dataclass(frozen=True)
class Config:
    """A checked config: every section, every key filled in (defaults where the config says nothing)."""

    run: RunSection = field(default_factory=RunSection)
    workload: WorkloadSection = field(default_factory=WorkloadSection)
    cluster: ClusterSection = field(default_factory=ClusterSection)
    network: NetworkSection = field(default_factory=NetworkSection)
    backend: BackendSection = field(default_factory=BackendSection)
    updates: UpdatesSection = field(default_factory=UpdatesSection)
    targets: fleet.TargetsSection = field(default_factory=fleet.TargetsSection)
    near: near.NearSection = field(default_factory=near.NearSection)
    autoscale: fleet.AutoscaleSection = field(default_factory=fleet.AutoscaleSection)

    def replace(self, values: dict) -> Config:
        """A copy with dotted keys set to checked `values` ({"cluster.capacity": Capacity(...)})."""
        sections: dict[str, dict] = {}
        for dotted, value in values.items():
            name, _, item = dotted.partition(".")
            sections.setdefault(name, {})[item] = copy.deepcopy(value)
        return replace(self, **{name: replace(getattr(self, name), **items) for name, items in sections.items()})

    def written(self) -> dict:
        """The config as a config file writes it: {section: {key: value}}, in the schema's order."""
        return written(self)


def all_keys() -> list[str]:
    """Every dotted key of the schema, in declaration order."""
    return list(TOP_LEVEL) + [f"{section}.{key}" for section, keys in SCHEMA.items() for key in keys]


def schema_key(dotted: str) -> Key:
    """The Key of a dotted name ("cluster.capacity", or a top-level "name")."""
    section, _, key = dotted.partition(".")
    if not key:
        return TOP_LEVEL[section]
    return SCHEMA[section][key]
