"""The plan's search, its settings and its memory arithmetic, without simulating anything."""

import pytest

from experiments.config import ConfigError, from_dict
from experiments.plan.estimate import Sample, required_hit_ratio
from experiments.plan.judge import Interval, outcome, worst_run
from experiments.plan.memory import Overhead, format_bytes, memory, overhead_of
from experiments.plan.search import Axis, Found, smallest_met
from experiments.plan.settings import settings


class Oracle:
    """A judge from a set of values that meet the targets; it remembers what it was asked."""

    def __init__(self, met):
        self.met = met
        self.asked = []

    def __call__(self, values, stage):
        self.asked += values
        return [self.met(value) for value in values]


@pytest.mark.parametrize("start", [1, 50, 137, 900, 1000])
def test_bisection_finds_the_exact_threshold_from_any_start_in_few_questions(start):
    judge = Oracle(lambda v: v >= 137)
    found = smallest_met(judge, Axis(1, 1000, geometric=True, resolution=0), start, monotone=True)
    assert found == Found(137, 136)
    assert len(judge.asked) <= 20 and len(set(judge.asked)) == len(judge.asked)


def test_a_relative_resolution_stops_within_one_step_of_the_threshold():
    judge = Oracle(lambda v: v >= 5321)
    found = smallest_met(judge, Axis(1, 100_000, resolution=0.01), 4000, monotone=True)
    assert judge.met(found.value) and not judge.met(found.below)
    assert found.value - found.below <= 0.01 * found.value


def test_nodes_step_by_one_and_the_range_ends_bound_the_answer():
    nodes = Axis(1, 64, geometric=False)
    assert smallest_met(Oracle(lambda v: v >= 9), nodes, 3, monotone=True) == Found(9, 8)
    assert smallest_met(Oracle(lambda v: True), nodes, 5, monotone=True) == Found(1, None)
    assert smallest_met(Oracle(lambda v: False), nodes, 5, monotone=True) == Found(None, 64)


def test_a_scan_finds_the_first_stretch_met_where_the_verdict_turns():
    """Met at 6..8 and from 20 on: the scan's grid misses 6 but its refinement finds it."""
    judge = Oracle(lambda v: 6 <= v <= 8 or v >= 20)
    nodes = Axis(1, 64, geometric=False)
    assert nodes.grid(12)[:5] == [1, 2, 3, 5, 7]
    assert smallest_met(judge, nodes, None, monotone=False, scan_points=12) == Found(6, 5)
    assert smallest_met(Oracle(lambda v: False), nodes, None, monotone=False) == Found(None, None)


def test_a_capacity_scan_refines_by_bisection():
    judge = Oracle(lambda v: 300 <= v <= 20_000)
    found = smallest_met(judge, Axis(1, 100_000, resolution=0), None, monotone=False, scan_points=10)
    assert found == Found(300, 299)


def test_a_verdict_needs_the_whole_interval_on_the_right_side_and_gives_up_on_a_wrong_mean():
    targets = {"hit_ratio": 0.8, "p99_ms": 20.0}
    good_p99 = Interval(15.0, 14.0, 16.0, 3)
    assert outcome({"hit_ratio": Interval(0.81, 0.805, 0.815, 3), "p99_ms": good_p99}, targets) == "met"
    assert outcome({"hit_ratio": Interval(0.802, 0.79, 0.814, 3), "p99_ms": good_p99}, targets) == "undecided"
    assert outcome({"hit_ratio": Interval(0.799, 0.79, 0.81, 3), "p99_ms": good_p99}, targets) == "not met"
    assert outcome({"hit_ratio": Interval(0.9, 0.89, 0.91, 3), "p99_ms": Interval(19.0, 17.0, 21.0, 3)}, targets) == (
        "undecided"
    )


def test_the_worst_failure_of_a_seed_is_each_metrics_worst():
    runs = [
        {"hit_ratio": 0.8, "byte_hit_ratio": 0.7, "p50_ms": 1, "p95_ms": 2, "p99_ms": 9, "p999_ms": 20},
        {"hit_ratio": 0.7, "byte_hit_ratio": 0.75, "p50_ms": 1, "p95_ms": 3, "p99_ms": 8, "p999_ms": 30},
    ]
    for run in runs:
        run.update(backend_rps=100.0, stale_ratio=0.0)
    worst, node = worst_run(runs, {"hit_ratio": 0.75})
    assert (worst["hit_ratio"], worst["byte_hit_ratio"], worst["p99_ms"], worst["p999_ms"]) == (0.7, 0.7, 9, 30)
    assert node == 1


def test_memory_from_objects_or_bytes_with_overhead_and_replicas():
    overhead = Overhead(64, "test")
    by_objects = memory(4, 1000, False, 100.0, overhead, replicas=2)
    assert by_objects.bytes_per_node == 1000 * (100 + 64)
    assert (by_objects.total_objects, by_objects.total_bytes, by_objects.distinct_objects) == (4000, 656_000, 2000)
    by_bytes = memory(2, 1_000_000, True, 1000.0, overhead)
    assert (by_bytes.objects_per_node, by_bytes.bytes_per_node) == (1000, 1_064_000)
    assert format_bytes(1536) == "1.5 KiB" and format_bytes(3 * 2**30) == "3 GiB"
    # The server models' own accounting: Redis charges 192 B for a 16-byte key and a 100-byte value
    # (policies/server_memory.py's example), 92 B beyond the value; memcached the 192 B chunk it lands in.
    assert overhead_of("redis", 100.0).bytes == 92 and overhead_of("memcached", 100.0).bytes == 92
    assert overhead_of("none", 100.0).bytes == 0 and overhead_of(64, 100.0).bytes == 64


def test_the_formulas_turn_latency_and_backend_targets_into_a_hit_ratio():
    config = from_dict({"backend": {"latency": 10}, "network": {"hit_latency": 0}}).config
    stream = Sample(1, 1000, 100, 100, 1, 1.0, 0.0, 0.0, 1.0)  # 1000 requests/s, no writes
    need, _ = required_hit_ratio(config, settings({}, {"p99_ms": 5.0}), stream)
    assert need == pytest.approx(0.99)  # every miss takes 10 ms: at most 1% may miss
    need, reasons = required_hit_ratio(config, settings({}, {"backend_rps": 100.0}), stream)
    assert need == pytest.approx(0.9) and "backend load <= 100" in reasons[0]
    need, _ = required_hit_ratio(config, settings({}, {"p99_ms": 20.0}), stream)
    assert need == 0.0  # even every miss is fast enough


@pytest.mark.parametrize(
    "table, flags, message",
    [
        ({}, {}, "a plan needs at least one target"),
        ({"hit_ratio": 1.5}, {}, "plan.hit_ratio: must be a number in [0, 1]; got 1.5"),
        ({}, {"hit_ratio": -1.0}, "--hit-ratio: must be a number in [0, 1]; got -1.0"),
        ({"hit_ratio": 0.9, "hitratio": 0.9}, {}, "unknown key 'plan.hitratio'"),
        ({"p99_ms": 10, "range": "50:10"}, {}, "plan.range: LO must not exceed HI"),
        ({"p99_ms": 10, "range": "1MiB:1000"}, {}, "both ends must count objects, or both bytes"),
        ({"p99_ms": 10}, {"range": "1:x"}, "--range: 'x' is neither a whole number of objects nor a size"),
        ({"p99_ms": 10, "vary": "cluster.nodes", "range": [0, 4]}, {}, "plan.range: must be an integer in [1, 4096]"),
        ({"p99_ms": 10, "vary": "nodes"}, {}, "plan.vary: must be one of 'cluster.capacity', 'cluster.nodes'"),
        ({"p99_ms": 10, "entry_overhead": "mysql"}, {}, 'plan.entry_overhead: must be "redis", "memcached", "none"'),
    ],
)
def test_bad_questions_name_the_key_or_flag(table, flags, message):
    with pytest.raises(ConfigError) as error:
        settings(table, flags)
    assert message in str(error.value)


def test_flags_replace_the_tables_keys():
    asked = settings({"hit_ratio": 0.9, "survive": 1, "range": "10:20"}, {"hit_ratio": 0.5, "p99_ms": 20.0})
    assert asked.targets == {"hit_ratio": 0.5, "p99_ms": 20.0} and asked.survive == 1
    assert (asked.low, asked.high, asked.counts_bytes) == (10, 20, False)
    assert settings({"hit_ratio": 0.5, "range": "1KiB:1MiB"}).counts_bytes is True
