"""The workload and the cluster at the ends of their ranges: the two loops agree, or the config is refused.

The fleet's fuzzer (test_fleet_extremes.py) for what every run has: the
catalogue (one key to 2**40, Zipf exponents 0 to 100, uniform), the arrival
processes (Poisson, on/off phases of a nanosecond to 10**8 s, diurnal
cycles at full amplitude), sizes (one byte to the largest capacity),
writes, drift, new keys, scans and one-hit wonders at shares of 0 to 1, key
classes with their own TTLs, every timed policy and balancer, replicas up
to the node count, node and backend service times of zero and of a day,
TTLs of a nanosecond and of 10**8 s.  An accepted config runs on the
compiled loop and on the Python loop, which must agree; a refused one is
refused in one line naming the key.

CI runs a short budget; KVSIM_FUZZ_EXAMPLES sets a campaign.
"""

from hypothesis import given
from hypothesis import strategies as st

from experiments.config.fleet import SPAN
from experiments.config.schema import MAX_ALPHA, MAX_KEYS, MAX_RATE
from policies import policy_class
from policies.compiled import compiled_names
from policies.limits import MAX_CAPACITY
from tests.sim.test_fleet_extremes import agree_or_refuse, fuzz, pytestmark  # noqa: F401 (the same budget and skip)

#: what a timed model can run: every built-in policy but the offline one
TIMED_POLICIES = [name for name in compiled_names() if not policy_class(name).offline]

RATE, REQUESTS = 3000.0, 400
RUN_S = REQUESTS / RATE
KEYS = [1, 2, 200, 10**7, MAX_KEYS]
SHARES = [0.0, 0.5, 1.0]
SECONDS = [1e-9, RUN_S / 5, SPAN]
SIZES = [1, 4096, {"dist": "lognormal", "median": 512, "sigma": 3.0}, 2**40]  # (2**40: the largest object)
LATENCIES = [
    {"dist": "constant", "ms": 0.0},
    {"dist": "exponential", "mean_ms": 1e-6},
    {"dist": "lognormal", "median_ms": 2.0, "sigma": 0.5},
    {"dist": "constant", "ms": 86_400_000.0},
]


def pick(draw, values):
    return draw(st.sampled_from(values))


def drift(draw, section: dict) -> None:
    """Some of a workload's (or a class's) dynamics, each at an end of its range."""
    kind = pick(draw, ["static", "rotating", "new keys"])  # (one kind of drift at a time)
    if kind == "rotating":
        section["rotate_every_s"], section["rotate_by"] = pick(draw, SECONDS), pick(draw, [1, 200, MAX_KEYS])
    elif kind == "new keys":
        section["new_keys_per_s"] = pick(draw, [1e-9, 1000.0, MAX_RATE])
    if draw(st.booleans()):
        section["write_fraction"] = pick(draw, SHARES)


@st.composite
def configs(draw):
    workload: dict = {
        "keys": pick(draw, KEYS),
        "popularity": pick(draw, ["zipf", "uniform"]),
        "alpha": pick(draw, [0.0, 0.5, 1.0, 3.0, MAX_ALPHA]),
        "rate": pick(draw, [RATE, MAX_RATE]),
        "object_size": pick(draw, SIZES),
    }
    arrivals = pick(draw, ["poisson", "onoff", "diurnal"])
    if arrivals == "onoff":
        on, off = pick(draw, [1e-9, RUN_S / 5, SPAN]), pick(draw, [1e-9, RUN_S / 5, SPAN])
        workload["arrivals"] = {"process": "onoff", "mean_on_s": on, "mean_off_s": off, "off_ratio": pick(draw, SHARES)}
    elif arrivals == "diurnal":
        workload["arrivals"] = {
            "process": "diurnal",
            "amplitude": 0.99,
            "period_s": pick(draw, [1.0, SPAN]),
            "peak_s": 0,
        }
    drift(draw, workload)
    if draw(st.booleans()):
        workload["scan_fraction"], workload["scan_keys"] = pick(draw, SHARES), pick(draw, [1, 1000, MAX_KEYS])
    if draw(st.booleans()):
        workload["one_hit_fraction"] = pick(draw, SHARES)
    if draw(st.booleans()):  # two classes in place of the one catalogue
        classes = []
        for name in ("a", "b"):
            table = {"name": name, "share": pick(draw, [1e-9, 1.0]), "keys": pick(draw, KEYS[:4])}
            table["alpha"], table["object_size"] = pick(draw, [0.0, 1.2, MAX_ALPHA]), pick(draw, SIZES)
            if draw(st.booleans()):
                table["ttl"] = pick(draw, SECONDS)
            drift(draw, table)
            classes.append(table)
        workload = {"rate": workload["rate"], "classes": classes}
        if draw(st.booleans()):
            workload["arrivals"] = {"process": "diurnal", "amplitude": 0.99, "period_s": 1.0, "peak_s": 0}
    nodes = pick(draw, [1, 3, 64])
    cluster = {
        "nodes": nodes,
        "capacity": pick(draw, [1, 50, MAX_CAPACITY, "1B", "64KiB"]),
        "policy": pick(draw, TIMED_POLICIES),
        "balancer": pick(draw, ["consistent", "modulo", "rendezvous", "random", "p2c", "bounded"]),
        "replicas": pick(draw, [1, nodes]),
        "vnodes": pick(draw, [1, 160]),
        "ttl": pick(draw, [0, *SECONDS]),
        "ttl_mode": pick(draw, ["insert", "refresh"]),
        "expiry": pick(draw, ["lazy", "active"]),
        "write_policy": pick(draw, ["invalidate", "update", "none"]),
        "node_concurrency": pick(draw, [0, 1, 1024]),
        "node_service": pick(draw, LATENCIES),
    }
    return {
        "run": {
            "requests": pick(draw, [1, 2, REQUESTS]),
            "warmup": pick(draw, [0, 100]),
            "seeds": [draw(st.integers(0, 99))],
        },
        "workload": workload,
        "cluster": cluster,
        "backend": {
            "latency": pick(draw, LATENCIES),
            "concurrency": pick(draw, [1, 64]),
            "coalesce": draw(st.booleans()),
        },
        "network": {"hit_latency": pick(draw, LATENCIES[:3])},
    }


@fuzz
@given(config=configs())
def test_both_loops_agree_on_workloads_and_clusters_at_the_ends_of_their_ranges(config):
    agree_or_refuse(config)
