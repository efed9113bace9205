"""What a run would need, estimated before it starts: refused up front when it is not sane.

A config can be valid key by key and still ask for something no machine
should try: a simulated span so long that float64 time loses the latencies
(workload.rate = 1e-300), failures every millisecond for hours, on/off phases
of a nanosecond, a latency distribution whose mean is infinite.  Each check
here estimates the quantity from the checked config, compares it with a
stated limit and, when it is over, says what was asked, what the limit is
and why, so the user can change the config instead of watching a hang.

Every key that multiplies the work or the memory of a run is bounded here,
as a product with what it multiplies (each key alone is bounded by its
check in experiments/config/schema.py):

    simulated span        requests / rate                     _span
    latencies, TTLs       their tails                         _latencies
    object sizes          their tails                         _sizes
    failures              nodes x span / (mtbf + mttr), the scheduled ones   _failures
    on/off phases         span / phase; the on rate; one phase's length      _phases
    bulk updates          span / every_s; x the entries each one scans       _updates
    key ids               new keys born, hot-set rotations x rotate_by       _key_ids
    queues                nodes x node_concurrency servers                   _queues
    the hash ring         nodes x vnodes points                              _ring
    the time series       rows (and the interval's index) over the span      _timeseries
    a trace in memory     requests x 25 bytes, to sort                       _sorting

and the sweep's points and runs by experiments/config/loading.py
(MAX_POINTS, MAX_RUNS).
"""

from __future__ import annotations

import math

import numpy as np

from experiments.config.build import latency_seconds, size_distribution, ttl_seconds
from experiments.config.schema import MAX_RATE, Config
from workloads import Distribution
from workloads.stream import MAX_OBJECT_BYTES

#: simulated seconds: float64 times keep a resolution of 2**-52 of their size,
#: about 22 ns at this span, well below any latency the model draws
MAX_SPAN_S = 1e8
#: seconds any single latency may reasonably take (a day)
MAX_LATENCY_S = 86_400.0
#: node failures and recoveries over a run: each is an event and a routing change (100,000 take
#: about 10 s of CPU on top of the requests)
MAX_MEMBERSHIP_CHANGES = 100_000
#: on/off phases drawn over a run: each costs 12 to 26 us to draw, so these are 25 to 50 s of CPU (a day
#: of 100 ms bursts is 1.7 million; 50 million, the bound before, let 100 requests in nanosecond
#: phases draw for 15 minutes)
MAX_ARRIVAL_PHASES = 2_000_000
#: memory for a trace put in time order before the run (workload.trace_disorder = "sort")
MAX_SORTED_BYTES = 4 << 30
SORTED_BYTES_PER_REQUEST = 25  # time, key, size (8 bytes each) and op (1)
#: how far into a distribution's tail the limits look
TAIL = 1.0 - 1e-6
#: bulk updates over a run: each is an event, and with invalidation a scan of every node's keys
MAX_BULK_UPDATES = 100_000
#: cached entries bulk updates may scan over a run (about a minute of work)
MAX_UPDATE_SCANS = 1e9
#: servers of all node queues together: each is a slot of a heap, in both request loops
MAX_QUEUE_SERVERS = 2**22
#: points of the consistent-hash ring (nodes x vnodes), each a hash and an owner
MAX_RING_POINTS = 2**22
#: rows of timeseries.csv a run may make: each is an interval of counters and a latency histogram
#: (a few KiB) kept until the run ends
MAX_TIMESERIES_ROWS = 100_000
#: intervals over the span at most: an interval's index must stay an exact integer
MAX_INTERVAL_INDEX = 2**52
#: a key class's ids: 40 bits (workloads/stream.py); new keys are born into them
CLASS_IDS = 2**40
#: how far a hot set may move in all (rotations x rotate_by ranks): its sum stays inside int64
MAX_ROTATION_RANKS = 2**62


def run_limits(config: Config) -> str | None:
    """Why the run of this point config must not start (a one-line reason), or None."""
    checks = (
        _span,
        _latencies,
        _sizes,
        _failures,
        _phases,
        _updates,
        _key_ids,
        _queues,
        _ring,
        _timeseries,
        _sorting,
    )
    for check in checks:
        reason = check(config)
        if reason:
            return reason
    return None


def span_s(config: Config) -> float | None:
    """The simulated seconds a run spans (None when a trace's timestamps decide it)."""
    workload = config.workload
    if workload.trace and workload.trace_arrivals == "timestamps":
        return None
    requests = config.run.requests + config.run.warmup
    return requests / float(workload.rate)


def span_bound(config: Config) -> float | None:
    """A simulated span the run stays within but for a chance below 1e-9: for what must never overflow.

    Arrivals are random: N Poisson arrivals at rate r take N / r seconds on
    average, and up to about 1 + 25 / sqrt(N) times that (24 times for one
    request); slower phases stretch it (a diurnal trough runs at 1 - amplitude
    of the mean rate), and one on/off phase pair may last 21 times its mean.
    """
    span = span_s(config)
    if span is None:
        return None
    requests = config.run.requests + config.run.warmup
    bound = span * (1.0 + 25.0 / math.sqrt(requests))
    arrivals = config.workload.arrivals
    if isinstance(arrivals, dict) and arrivals["process"] == "diurnal":
        bound /= 1.0 - arrivals["amplitude"]
    if isinstance(arrivals, dict) and arrivals["process"] == "onoff":
        bound += 21.0 * (arrivals["mean_on_s"] + arrivals["mean_off_s"])
    return bound


def _span(config: Config) -> str | None:
    span = span_s(config)
    if span is not None and span > MAX_SPAN_S:
        return (
            f"workload.rate: {config.run.requests + config.run.warmup:,} requests at "
            f"{config.workload.rate:g}/s span {span:.3g} simulated seconds; at most {MAX_SPAN_S:.0e} "
            f"(beyond it float64 time cannot resolve the latencies): raise the rate or ask fewer requests"
        )
    return None


def _tail(distribution: Distribution) -> tuple[float, float]:
    """(mean, the TAIL quantile) of a distribution; inf or nan where they overflow."""
    with np.errstate(over="ignore", invalid="ignore"):
        try:
            mean = float(distribution.mean)
        except OverflowError:
            mean = math.inf
        return mean, float(distribution.quantile(np.array([TAIL]))[0])


def _latencies(config: Config) -> str | None:
    latencies = {
        "network.hit_latency": latency_seconds(config.network.hit_latency),
        "backend.latency": latency_seconds(config.backend.latency),
        "cluster.node_service": latency_seconds(config.cluster.node_service),
    }
    for key, distribution in latencies.items():
        mean, tail = _tail(distribution)
        if not (math.isfinite(mean) and math.isfinite(tail)) or max(mean, tail) > MAX_LATENCY_S:
            return (
                f"{key}: mean {mean:.3g} s and 99.9999th percentile {tail:.3g} s; each must be a finite time of "
                f"at most {MAX_LATENCY_S:g} s (a day): lower the median, sigma or mean"
            )
    ttl = ttl_seconds(config.cluster.ttl)
    if isinstance(ttl, Distribution):
        mean, tail = _tail(ttl)
        if not (math.isfinite(mean) and math.isfinite(tail)) or max(mean, tail) > MAX_SPAN_S:
            return f"cluster.ttl: mean {mean:.3g} s, 99.9999th percentile {tail:.3g} s; at most {MAX_SPAN_S:.0e} s"
    elif ttl > MAX_SPAN_S:
        return f"cluster.ttl: {ttl:g} s; at most {MAX_SPAN_S:.0e} s (use 0 for entries that never expire)"
    for index, key_class in enumerate(config.workload.classes):
        if key_class.ttl > MAX_SPAN_S:
            return (
                f"workload.classes[{index}].ttl: {key_class.ttl:g} s; at most {MAX_SPAN_S:.0e} s "
                "(use 0 for entries that never expire)"
            )
    return None


def _sizes(config: Config) -> str | None:
    workload = config.workload
    sections = [("workload.object_size", workload.object_size)] + [
        (f"workload.classes[{i}].object_size", c.object_size) for i, c in enumerate(workload.classes)
    ]
    for key, spec in sections:
        mean, tail = _tail(size_distribution(spec))
        if not (math.isfinite(mean) and math.isfinite(tail)) or max(mean, tail) > MAX_OBJECT_BYTES:
            return (
                f"{key}: mean {mean:.3g} bytes, 99.9999th percentile {tail:.3g}; objects may be at most 2**40 bytes "
                f"(1 TiB), so that sizes and their sums stay exact"
            )
    return None


def _failures(config: Config) -> str | None:
    cluster = config.cluster
    if 2 * len(cluster.failures) > MAX_MEMBERSHIP_CHANGES:
        return (
            f"cluster.failures: {len(cluster.failures):,} outages make {2 * len(cluster.failures):,} failures and "
            f"recoveries; at most {MAX_MEMBERSHIP_CHANGES:,}"
        )
    span = span_s(config)
    if not cluster.mtbf_s or span is None:
        return None
    changes = 2 * cluster.nodes * span / (cluster.mtbf_s + cluster.mttr_s)
    if changes > MAX_MEMBERSHIP_CHANGES:
        return (
            f"cluster.mtbf_s: {cluster.nodes} nodes failing every {cluster.mtbf_s:g} s and repaired in "
            f"{cluster.mttr_s:g} s make about {changes:.3g} failures and recoveries in {span:.3g} simulated "
            f"seconds; at most {MAX_MEMBERSHIP_CHANGES:,}: raise mtbf_s or mttr_s"
        )
    return None


def _phases(config: Config) -> str | None:
    """On/off arrivals: how many phases, how fast the on phase must run, how long one phase may last.

    (Within a phase the arrivals are drawn as they are taken, so a phase's
    length costs no memory: workloads/arrivals.py.)
    """
    arrivals = config.workload.arrivals
    span = span_s(config)
    if not isinstance(arrivals, dict) or arrivals.get("process") != "onoff" or span is None:
        return None
    mean_on, mean_off = arrivals["mean_on_s"], arrivals["mean_off_s"]
    phases = 2 * span / (mean_on + mean_off)
    if phases > MAX_ARRIVAL_PHASES:
        return (
            f"workload.arrivals: on/off phases of {mean_on:g} s and {mean_off:g} s make "
            f"about {phases:.3g} phases in {span:.3g} simulated seconds; at most {MAX_ARRIVAL_PHASES:,}: lengthen them"
        )
    on_share = mean_on / (mean_on + mean_off)  # as experiments/config/build.py's arrivals() sets the on rate
    share_of_rate = on_share + (1.0 - on_share) * arrivals["off_ratio"]
    on_rate = config.workload.rate / share_of_rate if share_of_rate > 0 else math.inf
    if not on_rate <= MAX_RATE:
        return (
            f"workload.arrivals: a mean rate of {config.workload.rate:g}/s over phases of {mean_on:g} s on and "
            f"{mean_off:g} s off (off_ratio {arrivals['off_ratio']:g}) needs {on_rate:.3g} requests/s while on; "
            f"at most {MAX_RATE:g}: lengthen the on phase or raise off_ratio"
        )
    longest = max(mean_on, mean_off) * -math.log(1.0 - TAIL)
    if longest > MAX_SPAN_S:
        return (
            f"workload.arrivals: phases of mean {max(mean_on, mean_off):g} s last up to {longest:.3g} s (99.9999th "
            f"percentile); at most {MAX_SPAN_S:.0e} simulated seconds, as a run's span: shorten them"
        )
    return None


def _updates(config: Config) -> str | None:
    """Bulk updates: each is an event, and with invalidation each scans every node's cached keys."""
    updates, span = config.updates, span_s(config)
    if not updates.every_s or span is None:
        return None
    count = span / updates.every_s
    if count > MAX_BULK_UPDATES:
        return (
            f"updates.every_s: a bulk update every {updates.every_s:g} s makes {count:.3g} in {span:.3g} simulated "
            f"seconds; at most {MAX_BULK_UPDATES:,} (each is an event): update less often"
        )
    if updates.invalidate:
        entries = cached_entries(config) + near_entries(config)
        scans = count * entries
        if scans > MAX_UPDATE_SCANS:
            return (
                f"updates.every_s: {count:.3g} bulk updates that invalidate, each scanning up to "
                f"{entries:.3g} cached entries, make {scans:.3g} entries scanned; at most "
                f"{MAX_UPDATE_SCANS:.0e}: update less often, or set updates.invalidate = false"
            )
    return None


def cached_entries(config: Config) -> float:
    """The most entries the nodes can hold together: their capacities, and no more keys than requests."""
    cluster = config.cluster
    per_node = float(cluster.capacity.amount)  # objects, or bytes: a byte holds at most an object
    return min(cluster.nodes * per_node, float(config.run.requests + config.run.warmup) * cluster.replicas)


def near_entries(config: Config) -> float:
    """The most entries the client groups' near caches can hold together (sim/near.py): their capacities, and
    no more keys than reads."""
    near = config.near
    if not near.capacity:
        return 0.0
    return min(config.workload.clients * float(near.capacity.amount), float(config.run.requests + config.run.warmup))


def _key_ids(config: Config) -> str | None:
    """New keys and hot-set rotations stay inside a key class's ids and int64 over the longest run."""
    workload, span = config.workload, span_bound(config)
    if workload.trace or span is None:
        return None
    sections = [("workload", workload)] + [(f"workload.classes[{i}]", c) for i, c in enumerate(workload.classes)]
    if workload.classes:
        sections = sections[1:]
    for where, section in sections:
        births = section.new_keys_per_s * span
        if births + section.keys > CLASS_IDS:
            return (
                f"{where}.new_keys_per_s: {section.new_keys_per_s:g} new keys a second over a run of up to "
                f"{span:.3g} simulated seconds are {births:.3g} keys besides the {section.keys:,} of the catalogue; "
                f"a key class holds at most 2**40 keys (its ids): lower the rate or ask fewer requests"
            )
        if section.rotate_every_s and section.rotate_by:
            ranks = span / section.rotate_every_s * section.rotate_by
            if ranks > MAX_ROTATION_RANKS:
                return (
                    f"{where}.rotate_every_s: rotations every {section.rotate_every_s:g} s by {section.rotate_by:,} "
                    f"ranks move the hot set {ranks:.3g} ranks over a run of up to {span:.3g} s; at most 2**62 "
                    f"(the ranks stay exact): rotate less often or by fewer ranks"
                )
    return None


def _queues(config: Config) -> str | None:
    """Node queues: every server of every node is a slot of a heap, kept for the whole run."""
    cluster = config.cluster
    servers = cluster.nodes * cluster.node_concurrency
    if servers > MAX_QUEUE_SERVERS:
        return (
            f"cluster.node_concurrency: {cluster.nodes:,} nodes of {cluster.node_concurrency:,} workers are "
            f"{servers:,} queue servers; at most {MAX_QUEUE_SERVERS:,} in all"
        )
    return None


def _ring(config: Config) -> str | None:
    """The consistent-hash ring (consistent and bounded balancers): nodes x vnodes points, sorted."""
    cluster = config.cluster
    points = cluster.nodes * cluster.vnodes
    if cluster.balancer in ("consistent", "bounded") and points > MAX_RING_POINTS:
        return (
            f"cluster.vnodes: {cluster.nodes:,} nodes of {cluster.vnodes:,} virtual nodes are {points:,} points "
            f"on the hash ring; at most {MAX_RING_POINTS:,}: use fewer virtual nodes"
        )
    return None


def _timeseries(config: Config) -> str | None:
    """timeseries.csv: a fixed interval makes a row per interval with a measured arrival."""
    interval, span = config.run.interval, span_bound(config)
    if interval == "auto" or span is None:
        return None
    intervals = span / interval
    rows = min(intervals, config.run.requests)
    if intervals > MAX_INTERVAL_INDEX or rows > MAX_TIMESERIES_ROWS:
        return (
            f"run.interval: {interval:g} s over a run of up to {span:.3g} simulated seconds makes up to "
            f"{rows:.3g} rows of timeseries.csv; at most {MAX_TIMESERIES_ROWS:,} (each holds a latency "
            'histogram until the run ends): widen the interval, or use "auto"'
        )
    return None


def _sorting(config: Config) -> str | None:
    workload = config.workload
    if not workload.trace or workload.trace_disorder != "sort" or workload.trace_arrivals != "timestamps":
        return None
    requests = config.run.requests + config.run.warmup
    need = requests * SORTED_BYTES_PER_REQUEST
    if need > MAX_SORTED_BYTES:
        return (
            f"workload.trace_disorder: sorting {requests:,} requests takes about {need / 2**30:.1f} GiB in memory; "
            f'at most {MAX_SORTED_BYTES / 2**30:.0f} GiB: ask fewer requests, or use "clamp"'
        )
    return None
