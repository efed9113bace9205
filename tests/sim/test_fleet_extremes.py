"""The living fleet at the ends of its ranges: the two loops give the same answer, or the config is refused.

Hypothesis writes configs as a user would (experiments/config's keys and
their bounds) with a few of the fleet's features on, each of their numbers
at an end of its accepted range or just inside it: changes at the first
instant and after the run, a fleet grown by 4,096 nodes or shrunk to one,
capacities of one object and of the largest accepted, provisioning and
restarts of a nanosecond and of 10**8 s, copy rates of 0 and 10**12 a
second, watermarks of one part in a billion, an autoscaler whose band is
empty or spans everything, gutter pools and near caches of one object.  A
config kvsim accepts is run on the compiled loop and on the Python loop,
which must give equal RunResults or fail alike; one it refuses must be
refused with a ConfigError, whose message names the key.

CI runs a short budget; KVSIM_FUZZ_EXAMPLES sets the examples (a campaign:
KVSIM_FUZZ_EXAMPLES=1000).
"""

import os

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from experiments.config.build import scenario
from experiments.config.errors import ConfigError
from experiments.config.fleet import SPAN
from experiments.config.loading import from_dict
from experiments.config.sweep import points
from policies import PolicyError, engine
from policies.limits import MAX_CAPACITY
from sim.compiled_model import CompiledModel, Engine, refusal
from sim.model import Model

pytestmark = pytest.mark.skipif(Engine is None or engine() != "compiled", reason="the compiled engine is not running")

EXAMPLES = int(os.environ.get("KVSIM_FUZZ_EXAMPLES", "25"))
fuzz = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize="KVSIM_FUZZ_EXAMPLES" not in os.environ,  # (CI sees the same inputs every time)
    suppress_health_check=list(HealthCheck),
)

#: the run: 600 requests at 3,000/s over 200 keys, 0.23 s of simulated time
RATE, REQUESTS, WARMUP = 3000.0, 500, 100
RUN_S = (REQUESTS + WARMUP) / RATE

#: a time at each end of what a key accepts, and inside the run where things happen
TIMES = [1e-9, RUN_S / 3, RUN_S * 0.999, 2 * RUN_S, SPAN]
DURATIONS = [0.0, 1e-9, RUN_S / 10, RUN_S, SPAN]
COUNTS = [1, 2, 4096]
CAPACITIES = [1, 2, 50, MAX_CAPACITY]


def changes(draw, nodes: int) -> list[dict]:
    """[[cluster.changes]]: one to three, of each kind, at either end of their numbers."""
    tables = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["add", "remove", "remove_ids", "capacity"]))
        table: dict = {"at_s": draw(st.sampled_from(TIMES))}
        if kind == "add":
            table["add"] = draw(st.sampled_from(COUNTS))
            table["provision_s"] = draw(st.sampled_from(DURATIONS))
        elif kind == "remove":
            table["remove"] = draw(st.sampled_from([1, nodes - 1, nodes]))
        elif kind == "remove_ids":
            table["remove"] = draw(st.sampled_from([[0], [nodes - 1], list(range(nodes)), [4095]]))
        else:
            table["capacity"] = draw(st.sampled_from(CAPACITIES))
            if draw(st.booleans()):
                table["nodes"] = draw(st.sampled_from([[0], [nodes - 1], [4095]]))
        tables.append(table)
    return sorted(tables, key=lambda table: table["at_s"]) if draw(st.booleans()) else tables


def autoscale(draw) -> dict:
    if draw(st.booleans()):  # a schedule: the counts at their ends
        counts = draw(st.lists(st.sampled_from([1, 2, 3, 4096]), min_size=23, max_size=23))
        return {"mode": "schedule", "nodes_by_hour": [3, *counts], "provision_s": draw(st.sampled_from(DURATIONS))}
    interval = draw(st.sampled_from([1e-9, RUN_S / 20, RUN_S, SPAN]))
    low, high = draw(st.sampled_from([(0.0, 0.0), (0.0, 1e12), (0.5, 0.5), (1e12, 1e12), (0.2, 0.9)]))
    return {
        "mode": "reactive",
        "signal": draw(
            st.sampled_from(["backend_utilisation", "node_utilisation", "hit_ratio", "p99_ms", "request_rate"])
        ),
        "low": low,
        "high": high,
        "interval_s": interval,
        "window_s": interval * draw(st.sampled_from([1, 3])),
        "step": draw(st.sampled_from(COUNTS)),
        "min_nodes": draw(st.sampled_from([1, 3])),
        "max_nodes": draw(st.sampled_from([3, 4, 4096])),
        "cooldown_s": draw(st.sampled_from(DURATIONS)),
        "provision_s": draw(st.sampled_from(DURATIONS)),
    }


@st.composite
def configs(draw):
    """A small run with a few of the fleet's features on, their numbers at the ends of their ranges."""
    nodes = draw(st.sampled_from([1, 3]))
    cluster: dict = {
        "nodes": nodes,
        "capacity": draw(st.sampled_from([1, 20])),
        "policy": draw(st.sampled_from(["lru", "fifo", "s3fifo", "wtinylfu"])),
        "balancer": draw(st.sampled_from(["consistent", "modulo", "rendezvous", "p2c", "bounded"])),
        "node_concurrency": draw(st.sampled_from([0, 1])),
        "node_service": {"dist": "constant", "ms": 0.1},
    }
    config: dict = {
        "run": {"requests": REQUESTS, "warmup": WARMUP, "seeds": [draw(st.integers(0, 1000))]},
        "workload": {"keys": 200, "alpha": 0.9, "rate": RATE, "write_fraction": draw(st.sampled_from([0.0, 0.1]))},
        "cluster": cluster,
        "backend": {"latency": {"dist": "lognormal", "median_ms": 2.0, "sigma": 0.5}, "concurrency": 2},
    }
    if draw(st.booleans()):  # entries that expire, at the ends of a TTL, looked for or swept
        cluster["ttl"] = draw(st.sampled_from([1e-9, RUN_S / 5, SPAN]))
        cluster["expiry"] = draw(st.sampled_from(["lazy", "active"]))
        cluster["ttl_mode"] = draw(st.sampled_from(["insert", "refresh"]))
    if draw(st.booleans()):  # random failures: a node fails every few ms, or once in 10**8 s
        cluster["mtbf_s"] = draw(st.sampled_from([RUN_S / 5, SPAN]))
        cluster["mttr_s"] = draw(st.sampled_from([1e-9, RUN_S / 10, SPAN]))
    if draw(st.booleans()):
        config["run"]["interval"] = RUN_S / 10
        config["targets"] = {
            "p99_ms": draw(st.sampled_from([1e-9, 5.0, 1e12])),
            "hit_ratio": draw(st.sampled_from([0.0, 1.0])),
        }
    features = draw(
        st.lists(
            st.sampled_from(["changes", "restarts", "autoscale", "failover", "warmup", "eviction", "near"]),
            min_size=1,
            max_size=3,
            unique=True,
        )
    )
    for feature in features:
        event(feature)
        if feature == "changes":
            cluster["changes"] = changes(draw, nodes)
        elif feature == "restarts":
            cluster["restarts"] = {
                "every_s": draw(st.sampled_from(DURATIONS[1:])),
                "down_s": draw(st.sampled_from(DURATIONS)),
                "gap_s": draw(st.sampled_from(DURATIONS)),
                "start_s": draw(st.sampled_from([0.0, *TIMES])),
                "order": draw(st.sampled_from(["id", "random"])),
            }
        elif feature == "autoscale":
            config["autoscale"] = autoscale(draw)
        elif feature == "failover":
            cluster["failures"] = [{"node": 0, "at_s": draw(st.sampled_from(TIMES[:3])), "for_s": RUN_S / 3}]
            cluster["failover"] = draw(st.sampled_from(["rehash", "backend", "gutter"]))
            if cluster["failover"] == "gutter":
                cluster["gutter"] = {
                    "nodes": draw(st.sampled_from(COUNTS)),
                    "capacity": draw(st.sampled_from(CAPACITIES)),
                    "ttl_s": draw(st.sampled_from([1e-9, RUN_S / 10, SPAN])),
                }
        elif feature == "warmup":
            strategy = draw(st.sampled_from(["read_through", "precopy"]))
            cluster["warmup"] = {"strategy": strategy}
            if strategy == "read_through":
                cluster["warmup"]["for_s"] = draw(st.sampled_from(DURATIONS))
            else:
                cluster["warmup"]["copy_rate"] = draw(st.sampled_from([0.0, 1e-9, 1000.0, 1e12]))
            cluster.setdefault("changes", [{"at_s": RUN_S / 3, "add": 1, "provision_s": RUN_S / 10}])
        elif feature == "eviction":
            high, low = draw(st.sampled_from([(1.0, 1e-9), (1.0, 0.999999999), (2e-9, 1e-9), (0.9, 0.5)]))
            cluster["eviction"] = {
                "high_watermark": high,
                "low_watermark": low,
                "cost_per_entry_s": draw(st.sampled_from([0.0, 1e-9, 86_400.0])),
            }
        else:
            config["workload"]["clients"] = draw(st.sampled_from([1, 3]))
            config["near"] = {
                "capacity": draw(st.sampled_from(CAPACITIES)),
                "policy": draw(st.sampled_from(["lru", "s3fifo"])),
                "ttl_s": draw(st.sampled_from([0.0, 1e-9, SPAN])),
                "invalidation_delay_s": draw(st.sampled_from([0.0, 1e-9, RUN_S / 10, SPAN])),
            }
            config["updates"] = {"every_s": draw(st.sampled_from([0.0, RUN_S / 4])), "invalidate": True}
    return config


def outcome(model_class, built, seed):
    """The run's result, or its error as (type, message): what the two loops must share."""
    try:
        return model_class(built, seed).run()
    except (PolicyError, ValueError, MemoryError) as error:
        return type(error).__name__, str(error)


def found(cluster: dict, **sections) -> dict:
    """A config the fuzzer found a fault with (kept as an example: each now runs in a moment)."""
    return {
        "run": {"requests": REQUESTS, "warmup": WARMUP, "seeds": [1]},
        "workload": {"keys": 200, "alpha": 0.9, "rate": RATE, "write_fraction": 0.1},
        "cluster": {"nodes": 1, "capacity": 20, "node_concurrency": 1, "node_service": {"dist": "constant", "ms": 0.1}}
        | cluster,
        "backend": {"latency": {"dist": "lognormal", "median_ms": 2.0, "sigma": 0.5}, "concurrency": 2},
    } | sections


#: restarts down for a nanosecond every 10**8 s: after the run, no later walk changed anything, and the
#: search for the next change never ended (at 10**8 s a float64 time steps by 1.5e-8 s)
LOST_IN_THE_CLOCK = found({"restarts": {"every_s": 1e8, "down_s": 1e-9, "start_s": RUN_S * 0.999}})
#: a lone node restarted back to back: down again as it comes back, so it never does, and the search
#: for an instant that changes something never ended, in the run
NEVER_BACK = found({"restarts": {"every_s": RUN_S / 10, "down_s": RUN_S / 10, "start_s": RUN_S / 4}})
#: 4,096 nodes added at once, each asking which ids were taken: 10 s for this run
THOUSANDS = found({"nodes": 3}, autoscale={"mode": "schedule", "nodes_by_hour": [3] + [4096] * 23})
#: a near cache's invalidation due 10**8 s after the last write: the drain stepped the restarts, every
#: RUN_S, all the way there
LONG_DRAIN = found(
    {"restarts": {"every_s": RUN_S, "down_s": 1e-3}},
    workload={"keys": 200, "alpha": 0.9, "rate": RATE, "write_fraction": 0.1, "clients": 1},
    near={"capacity": 5, "invalidation_delay_s": SPAN},
)


@fuzz
@given(config=configs())
@example(config=LOST_IN_THE_CLOCK)
@example(config=NEVER_BACK)
@example(config=THOUSANDS)
@example(config=LONG_DRAIN)
def test_both_loops_agree_on_a_living_fleet_at_the_ends_of_its_ranges(config):
    agree_or_refuse(config)


def agree_or_refuse(config: dict) -> None:
    """A config kvsim refuses: one line naming the key.  One it accepts: the same outcome on both loops
    (unless the compiled loop declines it, and the run would say why)."""
    try:
        point = points(from_dict(config))[0]
    except ConfigError as error:
        event("refused")
        message = str(error)
        assert "\n" not in message.strip() and "." in message.split(":")[0], message  # one line, naming a key
        return
    built = scenario(point.config)
    if refusal(built) is not None:
        event("the compiled loop declines")
        return
    compiled, python = outcome(CompiledModel, built, point.seed), outcome(Model, built, point.seed)
    event("both ran" if not isinstance(compiled, tuple) else "both failed alike")
    assert compiled == python
    if not isinstance(compiled, tuple):
        assert compiled.latency_histogram == python.latency_histogram
        assert compiled.timeseries == python.timeseries
