"""recsys_full: the recsys day at the article's scale, beside the scaled-down recsys it must stay the twin of.

How long the full day takes is measured by `kvsim bench` (its configs
section runs every shipped experiment as shipped), never here.
"""

from experiments import configs as shipped
from experiments import run
from experiments.config import load

#: what the article sizes: requests a day, users, items, cache entries
DAY_REQUESTS, USERS, ITEMS, ENTRIES = 100_000_000, 10_000_000, 1_000_000, 1_000_000


def written(name: str) -> dict:
    return load(shipped.path(name)).config.written()


def test_recsys_full_is_the_articles_day_and_recsys_in_everything_else():
    full, small = written("recsys_full"), written("recsys")
    assert full["run"]["requests"] + full["run"]["warmup"] == DAY_REQUESTS
    assert abs(full["workload"]["rate"] * 86_400 / DAY_REQUESTS - 1) < 0.001  # a day of them, on average
    users, items = full["workload"]["classes"]
    assert (users["name"], users["keys"], items["name"], items["keys"]) == ("users", USERS, "items", ITEMS)
    assert full["cluster"]["nodes"] * full["cluster"]["capacity"] == ENTRIES
    assert full["updates"]["every_s"] == 3600  # a new model every hour
    # New items are born as often per item of the catalogue as in recsys.
    growth = ITEMS / small["workload"]["classes"][1]["keys"]
    assert items["new_keys_per_s"] == small["workload"]["classes"][1]["new_keys_per_s"] * growth
    # Everything else is recsys's: the same classes, skews, sizes, TTL, day, backend latency, updates.
    scaled = {
        ("run",): ("requests", "warmup", "seeds"),
        ("workload",): ("rate",),
        ("workload", "classes", 0): ("keys",),
        ("workload", "classes", 1): ("keys", "new_keys_per_s"),
        ("cluster",): ("capacity",),
        ("backend",): ("concurrency",),  # the backend's pool grows with the load
    }
    for config in (full, small):
        for where, keys in scaled.items():
            table = config
            for step in where:
                table = table[step]
            for key in keys:
                del table[key]
    assert full == small


def test_recsys_says_what_scaling_changes_and_recsys_full_what_it_is():
    small = shipped.path("recsys").read_text()
    assert "absolute rate" in small and "recsys_full" in small
    full = shipped.path("recsys_full").read_text()
    assert full.startswith("# recsys_full: ") and "10^8 requests" in full and "absolute" in full


def test_recsys_full_runs_end_to_end_at_reduced_size(tmp_path):
    results = run("recsys_full", out=tmp_path, **{"run.requests": 20_000, "run.warmup": 2_000})
    assert list(results["requests"]) == [20_000] and 0 < results["hit_ratio"].iloc[0] < 1
    assert (tmp_path / "timeseries.csv").read_text().count("\n") >= 2  # its header and a row of 300 s
