"""`kvsim plan` end to end, on configs small enough to check by brute force."""

import json
import tomllib

import pandas as pd
import pytest
from scipy import optimize

import experiments
from experiments.cli import main
from experiments.output.tables import ci95
from experiments.plan import plan
from experiments.plan.judge import interval
from experiments.plan.memory import format_bytes
from experiments.plan.report import ANSWER_WIDTH, wrapped
from policies import policy_class
from sim import theory
from tests.experiments.conftest import write_config
from workloads import Zipf

TINY = """
name = "tiny"
[run]
requests = 4000
warmup = 1000
seeds = [1, 2, 3]
[workload]
keys = 500
alpha = 0.9
rate = 5000
[cluster]
nodes = 2
capacity = 20
"""

#: a plan that adds no seeds, so that a sweep's summary.csv gives the very intervals it judged by
FIXED_SEEDS = {"max_seeds": 3, "resolution": 0}


def brute_force(key: str, values: list) -> pd.DataFrame:
    """Every value of `key` swept over TINY, once per seed, as `kvsim run` does: its results table."""
    return experiments.run({**tomllib.loads(TINY), "sweep": {key: values}})


def lower_bounds(results: pd.DataFrame, key: str, metric: str) -> pd.Series:
    """Per value of `key`: the mean minus the half-width of its 95% interval over seeds (summary.csv's)."""
    grouped = results.groupby(key)[metric]
    return grouped.mean() - grouped.apply(ci95)


def printed_answer(capsys) -> str:
    """The answer `kvsim plan` printed (its lines before the first blank one) as one line, its width checked."""
    lines = capsys.readouterr().out.split("\n\n")[0].splitlines()
    assert all(len(line) <= ANSWER_WIDTH for line in lines), lines
    return " ".join(lines)


def test_lru_with_instant_fills_plans_the_capacity_that_ches_approximation_inverts_to():
    keys, alpha, target = 2000, 0.6, 0.8
    p = Zipf(keys, alpha).pmf()
    che = optimize.brentq(lambda c: theory.che_hit_ratio(p, c) - target, 1, keys - 1)
    config = {
        "run": {"requests": 60_000, "warmup": 10_000, "seeds": [1, 2, 3]},
        "workload": {"keys": keys, "alpha": alpha},
        "cluster": {"nodes": 1, "capacity": 100},
        "backend": {"latency": 0},
        "network": {"hit_latency": 0},
    }
    planned = plan(config, hit_ratio=target, resolution=0.002)
    assert planned.met and abs(planned.value - che) / che < 0.01, (planned.value, che)


def test_the_plan_is_the_smallest_passing_capacity_of_a_brute_force_sweep(tmp_path):
    path = write_config(tmp_path, TINY)
    planned = plan(path, hit_ratio=0.45, range="5:60", **FIXED_SEEDS)
    sweep = brute_force("cluster.capacity", list(range(5, 61)))
    bounds = lower_bounds(sweep, "cluster.capacity", "hit_ratio")
    passing = bounds[bounds >= 0.45]
    assert planned.value == passing.index.min() and planned.healthy.below == planned.value - 1
    assert len(planned.verdicts) < len(bounds) / 3  # and it asked far fewer questions


def test_a_scan_over_nodes_for_a_latency_target_matches_a_brute_force_sweep(tmp_path):
    """p99 against nodes is not monotone: it turns up here and there as keys move between nodes.

    The target is put inside the first turn of the brute-force curve, so that
    a value passes, the next one fails and a later one passes again: a
    bisection could land on the later one; the scan must find the first.
    """
    sweep = brute_force("cluster.nodes", list(range(1, 17)))
    grouped = sweep.groupby("cluster.nodes")["p99_ms"]
    upper = grouped.mean() + grouped.apply(ci95)
    turn = next(n for n in upper.index[1:] if upper[n] > upper[n - 1] and (upper.loc[n + 1 :] < upper[n - 1]).any())
    target = (upper[turn - 1] + upper[turn]) / 2
    answer = upper[upper <= target].index.min()
    assert answer < turn and upper[turn] > target and (upper.loc[turn + 1 :] <= target).any()  # the curve turns
    path = write_config(tmp_path, TINY)
    planned = plan(path, p99_ms=float(target), vary="cluster.nodes", range="1:16", **FIXED_SEEDS)
    assert planned.value == answer
    assert {v.stage for v in planned.verdicts} == {"scan"} and len(planned.verdicts) < 16


def test_the_answer_is_reproduced_by_kvsim_run_and_one_step_below_is_not(tmp_path, capsys):
    path = write_config(tmp_path, TINY)
    assert main(["plan", str(path), "--hit-ratio", "0.5", "--out", str(tmp_path / "plan"), "--workers", "1"]) == 0
    answer = json.loads((tmp_path / "plan" / "plan.json").read_text())
    printed = printed_answer(capsys)
    value, below = answer["answer"]["value"], answer["answer"]["below"]
    assert printed.startswith(f"2 nodes x {value:,} objects") and f"{below:,} objects per node do not" in printed
    points = pd.read_csv(tmp_path / "plan" / "plan.csv")
    for capacity, met in ((value, True), (below, False)):
        seeds = int(points[points["cluster.capacity"] == capacity]["seeds"].iloc[0])
        overrides = {"cluster.capacity": capacity, "run.seeds": list(range(1, seeds + 1))}
        toml = TINY.replace("capacity = 20", f"capacity = {capacity}").replace("[1, 2, 3]", str(overrides["run.seeds"]))
        out = tmp_path / f"run{capacity}"
        assert main(["run", str(write_config(tmp_path, toml, f"c{capacity}.toml")), "--out", str(out)]) == 0
        summary = pd.read_csv(out / "summary.csv").iloc[0]
        low = summary["hit_ratio_mean"] - summary["hit_ratio_ci95"]
        assert bool(low >= 0.5) == met, (capacity, low)
        if met:
            high = summary["hit_ratio_mean"] + summary["hit_ratio_ci95"]
            assert f"({summary['hit_ratio_mean']:.4f}, CI {low:.4f}-{high:.4f})" in printed


def test_the_answer_names_one_size_per_node_on_lines_that_fit(tmp_path, capsys):
    """The capacity in bytes once, exactly (what a config takes), and the memory a node takes once, in
    binary units: never the capacity again as "2.22 MiB (2,327,176 B)" beside "2.3 MiB each"."""
    toml = TINY.replace("capacity = 20", 'capacity = "4KiB"').replace("rate = 5000", "rate = 5000\nobject_size = 200")
    out = tmp_path / "plan"
    args = ["--hit-ratio", "0.5", "--p99-ms", "100", "--range", "1KiB:64KiB", "--max-seeds", "3", "--workers", "1"]
    assert main(["plan", str(write_config(tmp_path, toml)), *args, "--out", str(out)]) == 0
    printed = printed_answer(capsys)  # every line at most ANSWER_WIDTH long
    planned = json.loads((out / "plan.json").read_text())
    value, memory = int(planned["answer"]["healthy"]["value"]), planned["answer"]["memory"]
    assert printed == planned["paragraph"] and len(printed) > ANSWER_WIDTH  # wrapped, not cut
    per_node = format_bytes(memory["bytes_per_node"])
    setup = printed.split(" meet ")[0]
    assert setup.startswith(
        f"2 nodes x {value:,} B ({per_node} each: {memory['objects_per_node']:,.0f} objects of 200 B"
    )
    assert setup.count(f"{value:,}") == 1 and format_bytes(value) != per_node and format_bytes(value) not in setup


def test_a_long_answer_wraps_between_words_and_never_inside_a_number_and_its_unit():
    paragraph = " ".join(f"{n} nodes x {n * 1000:,} B (2.3 MiB each, p99 {n} ms over 6 seeds);" for n in range(40))
    lines = wrapped(paragraph, width=60).splitlines()
    assert max(map(len, lines)) <= 60 and len(lines) > len(paragraph) // 60
    assert " ".join(lines) == paragraph
    unit = ("B", "KiB", "MiB", "GiB", "TiB", "ms", "s", "objects", "nodes", "node", "seeds")
    assert not [line for line in lines if line.split()[0] in unit]  # no line starts with a unit


def test_a_target_no_value_in_the_range_meets_exits_3_with_the_best_reached(tmp_path, capsys):
    path = write_config(tmp_path, TINY)
    out = tmp_path / "plan"
    assert main(["plan", str(path), "--hit-ratio", "0.99", "--range", "10:40", "--out", str(out)]) == 3
    printed = printed_answer(capsys)
    assert printed.startswith("No capacity per node from 10 to 40 objects meets hit ratio >= 0.99: the best is hit")
    assert "at 40 objects" in printed
    answer = json.loads((out / "plan.json").read_text())["answer"]
    assert answer["met"] is False and answer["value"] is None
    assert (out / "plan.png").stat().st_size > 5000 and (out / "results.csv").exists()


def test_a_failure_no_value_in_the_range_survives_exits_3_after_the_healthy_answer(tmp_path):
    path = write_config(tmp_path, TINY)
    planned = plan(path, hit_ratio=0.45, survive=1, range="5:40", max_seeds=3)
    assert planned.exit_code == 3 and planned.healthy.value is not None and planned.survive.value is None
    healthy, _, failed = planned.paragraph.partition(" With the worst node down (of 2, from ")
    assert healthy.startswith(f"2 nodes x {planned.healthy.value:,} objects") and failed
    assert "with a node down, no capacity per node from 5 to 40 objects meets hit ratio >= 0.45" in failed


def test_an_interrupted_plan_resumes_and_ends_as_an_uninterrupted_one(tmp_path, monkeypatch):
    path = write_config(tmp_path, TINY)
    whole = plan(path, out=tmp_path / "whole", hit_ratio=0.5)
    import experiments.execute.executors as executors

    finish = executors.run_point
    calls = []

    def interrupted(point):
        calls.append(point)
        if len(calls) > 7:
            raise KeyboardInterrupt
        return finish(point)

    monkeypatch.setattr(executors, "run_point", interrupted)
    with pytest.raises(KeyboardInterrupt):
        plan(path, out=tmp_path / "again", hit_ratio=0.5)
    monkeypatch.setattr(executors, "run_point", finish)
    assert len(list((tmp_path / "again" / "runs").glob("*.json"))) == 7
    resumed = plan(path, out=tmp_path / "again", hit_ratio=0.5)
    assert resumed.ran == whole.ran - 7
    for name in ("plan.json", "plan.csv", "results.csv", "plan.svg"):
        assert (tmp_path / "again" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes(), name


def test_surviving_the_worst_node_needs_more_and_holds_at_every_single_failure(tmp_path):
    path = write_config(tmp_path, TINY)
    planned = plan(path, out=tmp_path / "plan", hit_ratio=0.45, survive=1, max_seeds=3)
    assert planned.met and planned.value > planned.healthy.value
    at = planned.question.sample.measured_from  # the first measured request of seed 1
    assert f"With the worst node down (of 2, from {at:.3g} s on) the hit ratio is " in planned.paragraph
    for capacity, met in ((planned.value, True), (planned.survive.below, False)):
        runs = []
        for node in (0, 1):
            config = tomllib.loads(TINY)
            config["cluster"] |= {"capacity": capacity, "failures": [{"node": node, "down_at": at}]}
            runs.append(experiments.run(config))
        worst = [min(run["hit_ratio"].iloc[seed] for run in runs) for seed in range(3)]  # per seed
        found = interval(worst, 0.95)
        assert bool(found.low >= 0.45) == met, (capacity, found)


def test_bad_input_exits_2_in_one_line_and_writes_nothing(tmp_path, capsys):
    path = write_config(tmp_path, TINY)
    one_node = write_config(tmp_path, TINY.replace("nodes = 2", "nodes = 1"), "one.toml")
    bad_table = write_config(tmp_path, TINY + '[plan]\nhit_ratio = 0.5\nvary = "nodes"\n', "bad.toml")
    # a sweep the plan sets aside, and a range the Redis model cannot hold: one line, not the note and the error
    redis_sweep = TINY.replace("capacity = 20", 'capacity = "2MiB"\npolicy = "redis-lru"')
    swept = write_config(tmp_path, redis_sweep + '[sweep]\n"cluster.nodes" = [1, 2]\n', "swept.toml")
    out = tmp_path / "out"
    cases = [
        ([str(path)], "a plan needs at least one target"),
        ([str(path), "--hit-ratio", "2"], "--hit-ratio: must be a number in [0, 1]; got 2.0"),
        ([str(path), "--p99-ms", "5", "--range", "9:3"], "--range: LO must not exceed HI"),
        ([str(one_node), "--hit-ratio", "0.5", "--survive", "1"], "a cluster of one node cannot lose one"),
        ([str(bad_table)], "plan.vary: must be one of"),
        ([str(path), "--p99-ms", "5", "--range", "-5:100"], "--range: a capacity must be at least 1; got '-5'"),
        (
            [str(path), "--p99-ms", "5", "--range", "1:9223372036854775807"],
            "--range: a capacity may be at most 2**50 (1 PiB, or as many objects)",
        ),
        ([str(path), "--p99-ms", "5", "--range", "1:99999999999999999999TiB"], "--range: a capacity may be at most"),
        ([str(path), "--p99-ms", "5", "--entry-overhead", "9" * 20], "--entry-overhead: must be"),
        ([str(swept), "--p99-ms", "5", "--range", "1KiB:2MiB"], "the range asked reaches cluster.capacity = '1024B'"),
    ]
    for args, message in cases:
        assert main(["plan", *args, "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()


def test_a_plan_table_in_the_config_is_the_question_and_kvsim_run_ignores_it(tmp_path):
    path = write_config(tmp_path, TINY + "[plan]\nhit_ratio = 0.5\nrange = [10, 60]\n")
    planned = plan(path)
    assert planned.question.settings.targets == {"hit_ratio": 0.5} and planned.question.high == 60
    assert len(experiments.run(path)) == 3


SERVER = """
name = "server"
[run]
requests = 10_000
warmup = 10_000
seeds = [1, 2, 3]
[workload]
keys = 50_000
alpha = 0.7
object_size = 200
rate = 20_000
[cluster]
nodes = 1
capacity = "4MiB"
policy = "{policy}"
"""


def test_a_plain_plan_of_a_server_model_starts_where_the_server_does(tmp_path, capsys):
    """No --range: Redis's model starts above its memory with no key, memcached's at -m 2 MiB (each used
    to exit 2 below it, or answer "4 nodes x 1 B"); the memory per node is the server's own limit."""
    for policy, least in (("redis-lru", "1014 KiB"), ("memcached", "2 MiB")):
        path = write_config(tmp_path, SERVER.format(policy=policy), f"{policy}.toml")
        out = tmp_path / policy
        args = ["--hit-ratio", "0.2", "--max-seeds", "3", "--out", str(out), "--workers", "1"]
        assert main(["plan", str(path), *args]) == 0
        printed = printed_answer(capsys)
        planned = json.loads((out / "plan.json").read_text())
        value, memory = planned["answer"]["healthy"]["value"], planned["answer"]["memory"]
        assert value >= policy_class(policy).least_capacity(True), printed
        low = min(pd.read_csv(out / "plan.csv")["cluster.capacity"].str.removesuffix("B").astype(int))
        assert low >= policy_class(policy).least_capacity(True)
        assert printed.startswith("1 node x ") and (f"+ {least} of Redis's own" in printed) == (policy == "redis-lru")
        if policy == "redis-lru":  # maxmemory holds the baseline: the memory is the limit itself
            assert memory["bytes_per_node"] == value and memory["fixed_bytes_per_node"] > 2**19
        else:  # one slab class of 200-byte values: no page beyond -m
            assert memory["bytes_per_node"] == value and memory["fixed_bytes_per_node"] == 0


def test_memcacheds_answer_is_reproduced_by_kvsim_run_and_one_step_below_is_not(tmp_path, capsys):
    path = write_config(tmp_path, SERVER.format(policy="memcached"))
    out = tmp_path / "plan"
    assert main(["plan", str(path), "--hit-ratio", "0.4", "--out", str(out), "--workers", "1"]) == 0
    answer = json.loads((out / "plan.json").read_text())["answer"]["healthy"]
    assert answer["below"] is not None and answer["value"] > 2 * 2**20  # above memcached's least -m
    capsys.readouterr()
    points = pd.read_csv(out / "plan.csv")
    for capacity, met in ((answer["value"], True), (answer["below"], False)):
        seeds = int(points[points["cluster.capacity"] == f"{capacity}B"]["seeds"].iloc[0])
        toml = SERVER.format(policy="memcached").replace('"4MiB"', f'"{capacity}B"')
        toml = toml.replace("[1, 2, 3]", str(list(range(1, seeds + 1))))
        run_out = tmp_path / f"run{capacity}"
        assert main(["run", str(write_config(tmp_path, toml, f"c{capacity}.toml")), "--out", str(run_out)]) == 0
        summary = pd.read_csv(run_out / "summary.csv").iloc[0]
        assert bool(summary["hit_ratio_mean"] - summary["hit_ratio_ci95"] >= 0.4) == met, (capacity, summary)
    capsys.readouterr()


def test_a_zero_width_range_draws_its_one_point_without_warnings(tmp_path, capsys, recwarn):
    path = write_config(tmp_path, TINY)
    assert main(["plan", str(path), "--hit-ratio", "0.3", "--range", "30:30", "--out", str(tmp_path / "p")]) == 0
    assert not [w for w in recwarn if issubclass(w.category, UserWarning)], [str(w.message) for w in recwarn]
    assert (tmp_path / "p" / "plan.png").exists()
    capsys.readouterr()
