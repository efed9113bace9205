"""Fuzzing what kvsim reads back and what a user types: damaged folders, extreme flags.

The companion of tests/experiments/test_fuzz.py (configs and traces), with
its judge: every command ends with exit status 0 and in-domain output, or 2
(3 for a plan whose targets nothing in its range meets) with one line on
stderr; never a traceback, never a hang.

* run files damaged (a field of any kind replaced by an edge value, text cut,
  bytes flipped): `kvsim run` again simulates those runs anew and writes the
  very tables of the undamaged folder;
* a folder's manifest, tables and curve damaged: `kvsim run` and `kvsim plot`;
* every command's flags given extreme values (0, -1, the bounds, 1e300,
  nan, 30 and 5000 digits, words, ranges backwards).

KVSIM_FUZZ_EXAMPLES sets the number of examples (CI: a short run).
"""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

from experiments.execute import runner
from experiments.plots.tables import config_damage
from tests.experiments.test_fuzz import ALARM, FUZZ, judge, run_cli, toml
from tests.trace_files import write_bin

#: the two tests that run (and plot) a whole experiment per example took 100 s each at CI's 25
#: fixed examples, the longest tests of the suite: CI runs 10 of each; a campaign
#: (KVSIM_FUZZ_EXAMPLES, which also draws new inputs) runs as many as it asks
WHOLE_RUNS = settings(FUZZ, max_examples=FUZZ.max_examples if "KVSIM_FUZZ_EXAMPLES" in os.environ else 10)

#: the finished experiment the folders are damaged from: four runs of a second each at most
CONFIG = {
    "name": "damaged",
    "run": {"requests": 600, "warmup": 100, "seeds": [1, 2]},
    "workload": {"keys": 300},
    "cluster": {"nodes": 2, "capacity": 20},
    "sweep": {"cluster.capacity": [20, 40]},
}
TABLES = ("results.csv", "summary.csv", "nodes.csv", "latency.csv", "timeseries.csv")

#: what a damaged JSON leaf or table cell becomes
EDGE_LEAVES = [
    None, True, "", "x", "0.5", [], {}, -1, 0, 1, 2**62, 2**63, 2**70, 10**400, -(10**400),
    1e300, -1e300, math.nan, math.inf, -math.inf, 0.5, 1e-300,
]  # fmt: skip
EDGE_CELLS = ["", "x", "nan", "inf", "-inf", "-1", "1e300", "9" * 30, "9" * 5000, "0", "0.5", '"', ",,", "True"]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    """A finished experiment's folder, never damaged itself: each example damages a copy."""
    folder = tmp_path_factory.mktemp("pristine")
    (folder / "config.toml").write_text(toml({k: v for k, v in CONFIG.items() if k != "name"}))
    status, _, stderr = run_cli(["run", str(folder / "config.toml"), "--out", str(folder / "out"), "--workers", "1"])
    assert status == 0, stderr
    return folder


def copy_of(pristine: Path, scratch: Path) -> tuple[Path, Path]:
    """A copy of the pristine experiment: (its config, its output folder)."""
    target = scratch / "copy"
    shutil.copytree(pristine, target)
    return target / "config.toml", target / "out"


def leaves(value, path=()):
    """Every (path, leaf) of a JSON value."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaves(item, (*path, index))
    else:
        yield path, value


def set_leaf(value, path, new):
    for step in path[:-1]:
        value = value[step]
    value[path[-1]] = new


@st.composite
def damaged_text(draw, text: str) -> str:
    """A file's text, damaged: a JSON leaf replaced, an entry removed, the text cut, or a character replaced."""
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    how = draw(st.sampled_from(["leaf", "drop", "cut", "flip"] if isinstance(data, (dict, list)) else ["cut", "flip"]))
    event(f"damage: {how}")
    if how == "leaf":
        path, _ = draw(st.sampled_from(list(leaves(data))))
        if path:
            set_leaf(data, path, draw(st.sampled_from(EDGE_LEAVES)))
        return json.dumps(data)
    if how == "drop":
        path, _ = draw(st.sampled_from(list(leaves(data))))
        holder = data
        for step in path[:-1]:
            holder = holder[step]
        if path:
            del holder[path[-1]]
        return json.dumps(data)
    if how == "cut":
        return text[: draw(st.integers(0, max(0, len(text) - 1)))]
    position = draw(st.integers(0, max(0, len(text) - 1)))
    return text[:position] + draw(st.sampled_from(["\x00", "}", "\u00e9", "9" * 400, "NaN"])) + text[position + 1 :]


@WHOLE_RUNS
@given(data=st.data())
def test_damaged_run_files_are_simulated_again_into_the_same_tables(pristine, tmp_path_factory, data):
    scratch = tmp_path_factory.mktemp("fuzz")
    config, out = copy_of(pristine, scratch)
    files = sorted((out / "runs").glob("*.json"))
    for path in data.draw(st.lists(st.sampled_from(files), min_size=1, max_size=len(files), unique=True)):
        path.write_text(data.draw(damaged_text(path.read_text())), encoding="utf-8", errors="surrogatepass")
    # The figures are drawn from the tables and the manifest alone (plots.load), asserted below to be the
    # pristine's (the manifest but for its config's path, which no figure reads): they make the pristine's
    # figures, drawn cleanly once already.  Not drawing them again spares 85% of each example's time
    # (3.5 of 4 CPU seconds) and proves the same.
    with mock.patch.object(runner, "draw_figures", return_value=[]):
        status, _, stderr = run_cli(["run", str(config), "--out", str(out), "--workers", "1"])
    judge(status, stderr, None, "damaged run files")
    if status == 0:
        for name in TABLES:  # damaged runs simulated again: the same numbers as before
            assert (out / name).read_bytes() == (pristine / "out" / name).read_bytes(), name
        # and the same manifest, but for where its config was read from (the copy's own path)
        manifest, before = (json.loads((folder / "manifest.json").read_text()) for folder in (out, pristine / "out"))
        assert {**manifest, "source": None} == {**before, "source": None}
    shutil.rmtree(scratch)


@WHOLE_RUNS
@given(data=st.data())
def test_a_damaged_manifest_or_table_is_run_and_plotted_cleanly(pristine, tmp_path_factory, data):
    scratch = tmp_path_factory.mktemp("fuzz")
    config, out = copy_of(pristine, scratch)
    name = data.draw(st.sampled_from(["manifest.json", *TABLES]))
    path = out / name
    if name.endswith(".csv"):
        lines = path.read_text().splitlines()
        row = data.draw(st.integers(0, len(lines) - 1))
        cells = lines[row].split(",")
        cells[data.draw(st.integers(0, len(cells) - 1))] = data.draw(st.sampled_from(EDGE_CELLS))
        lines[row] = ",".join(cells)
        path.write_text("\n".join(lines) + "\n")
    else:
        path.write_text(data.draw(damaged_text(path.read_text())), encoding="utf-8", errors="surrogatepass")
    event(f"damaged {name}")
    command = data.draw(st.sampled_from(["plot", "run"]))
    args = ["plot", str(out)] if command == "plot" else ["run", str(config), "--out", str(out), "--workers", "1"]
    status, _, stderr = run_cli(args)
    judge(status, stderr, None, f"kvsim {command} after damaging {name}")
    shutil.rmtree(scratch)


@pytest.fixture(scope="module")
def curve(tmp_path_factory) -> Path:
    """A miss-ratio curve's folder, and the trace it was drawn from."""
    folder = tmp_path_factory.mktemp("curve")
    keys = np.random.default_rng(5).zipf(1.3, 3000) % 500
    trace = write_bin(folder / "t.bin", keys, sizes=np.full(len(keys), 100))
    status, _, stderr = run_cli(["mrc", str(trace), "--capacities", "10:400:10", "--out", str(folder / "mrc")])
    assert status == 0, stderr
    return folder


@FUZZ
@given(name=st.sampled_from(["mrc.csv", "mrc.json"]), data=st.data())
def test_a_damaged_curve_is_plotted_cleanly(curve, tmp_path_factory, name, data):
    scratch = tmp_path_factory.mktemp("fuzz")
    folder = scratch / "mrc"
    shutil.copytree(curve / "mrc", folder)
    path = folder / name
    path.write_text(data.draw(damaged_text(path.read_text())), encoding="utf-8", errors="surrogatepass")
    status, _, stderr = run_cli(["plot", str(folder)])
    judge(status, stderr, None, f"kvsim plot after damaging {name}")
    shutil.rmtree(scratch)


# -- flags ------------------------------------------------------------------------------------

#: what a flag is given: numbers at and beyond every bound, words, ranges backwards
EDGE_FLAGS = [
    "0", "1", "2", "-1", "-5", "-5:100", "100:-5", "0:0", "1:1", "7:3", "1e300", "-1e300", "nan", "inf", "1.5",
    "0.5", "1e-300", "9" * 30, "9" * 5000, "", " ", "x", "64MiB", "0B", "1TiB", "9000000TiB", "1KiB:1GiB",
    "1:9223372036854775807", "2**62", str(2**62), str(2**62 + 1), str(2**63), "1024", "1025", "100000", "100001",
]  # fmt: skip
flag_values = st.one_of(st.sampled_from(EDGE_FLAGS), st.text(max_size=6))

#: each command's flags that take a value (validate's --memory starts a real server: small values only)
FLAGS = {
    "replay": ["--capacity", "--warmup", "--policy", "--format", "--time-unit", "--key-type"],
    "mrc": ["--capacities", "--points", "--warmup", "--shards", "--shards-size", "--policy"],
    "plan": ["--hit-ratio", "--p99-ms", "--backend-rps", "--range", "--survive", "--confidence", "--resolution",
             "--vary", "--entry-overhead", "--workers"],
    "run": ["--workers"],
    "validate": ["--rate", "--requests", "--value-size", "--seed", "--growth-factor", "--policy"],
}  # fmt: skip
#: what each command needs besides the fuzzed flags (a plan's range stays small: it is the runs' count)
BASE_FLAGS = {
    "replay": ["--policy", "lru", "--capacity", "10"],
    "mrc": ["--capacities", "10:100"],
    "plan": ["--hit-ratio", "0.3", "--range", "5:40", "--max-seeds", "3"],
    "run": ["--workers", "1"],
    "validate": ["--memory", "2MiB", "--rate", "1000000"],
}


#: the requests of the small trace the flags are tried on
TRACE_REQUESTS = 400


@pytest.fixture(scope="module")
def small_inputs(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("inputs")
    keys = np.random.default_rng(6).zipf(1.3, TRACE_REQUESTS) % 100
    config = folder / "c.toml"
    config.write_text(toml({"run": {"requests": 500, "warmup": 100, "seeds": [1]}, "workload": {"keys": 200}}))
    return {"trace": write_bin(folder / "t.bin", keys, sizes=np.full(len(keys), 100)), "config": config}


def paced_seconds(flags: list[str], requests: int) -> float:
    """How long `kvsim validate` paces a replay of `requests` requests for these flags (argparse: a flag's
    last value wins; values it refuses: 0, it stops at once)."""
    values = dict(zip(flags[::2], flags[1::2]))
    try:
        rate = float(values.get("--rate", "1e6"))
        asked = int(values.get("--requests", requests))
    except ValueError:
        return 0.0
    return min(asked, requests) / rate if 1 <= rate <= 1e9 and asked >= 1 else 0.0


@FUZZ
@given(command=st.sampled_from(sorted(FLAGS)), data=st.data())
def test_any_flag_value_is_a_clean_run_or_a_one_line_refusal(small_inputs, tmp_path_factory, command, data):
    scratch = tmp_path_factory.mktemp("fuzz")
    chosen = data.draw(st.lists(st.sampled_from(FLAGS[command]), min_size=1, max_size=3, unique=True))
    given_flags = [item for flag in chosen for item in (flag, data.draw(flag_values))]
    if command == "validate" and "--policy" in chosen:
        chosen.remove("--policy")  # (a policy only for redis: the server is drawn below)
    target = [str(small_inputs["trace"])] if command in ("replay", "mrc") else [str(small_inputs["config"])]
    if command == "validate":
        server = data.draw(st.sampled_from(["redis", "memcached"]))
        if shutil.which({"redis": "redis-server", "memcached": "memcached"}[server]) is None:
            return
        target = [server, str(small_inputs["trace"])]
    out = scratch / "out"
    outs = [] if command == "replay" else ["--out", str(out)]
    args = [command, *target, *BASE_FLAGS[command], *given_flags, *outs]
    # A replay paced slowly on purpose (--rate 1: 400 requests in 400 s) is the run the user asked
    # for, not a hang (a campaign drew it): the alarm judges only replays that should end well before it.
    assume(command != "validate" or paced_seconds([*BASE_FLAGS[command], *given_flags], TRACE_REQUESTS) <= ALARM / 2)
    event(f"{command}")
    status, _, stderr = run_cli(args)
    judge(status, stderr, None, f"kvsim {' '.join(a[:40] for a in args)}", also=(3,) if command == "plan" else ())
    shutil.rmtree(scratch)


@pytest.mark.parametrize("row", [0, 1], ids=["header", "first row"])
def test_a_swept_column_emptied_in_a_table_is_named_by_plot(pristine, tmp_path, row):
    # Found by a long campaign: the header's or a row's swept cell emptied crashed the figures.
    config, out = copy_of(pristine, tmp_path)
    path = out / "summary.csv"
    lines = path.read_text().splitlines()
    cells = lines[row].split(",")
    cells[0] = ""
    lines[row] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    status, _, stderr = run_cli(["plot", str(out)])
    assert status == 2 and "summary.csv: the swept column" in stderr and len(stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("table,row,value", [("latency.csv", 1, "x"), ("summary.csv", 2, "True")])
def test_a_word_where_a_table_holds_numbers_is_named_by_plot(pristine, tmp_path, table, row, value):
    # Found by a long campaign: a word in a numeric column crashed the figures' arithmetic.
    config, out = copy_of(pristine, tmp_path)
    path = out / table
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    column = next(i for i, name in enumerate(header) if name in ("probability", "hit_ratio_mean"))
    cells = lines[row].split(",")
    cells[column] = value
    lines[row] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    status, _, stderr = run_cli(["plot", str(out)])
    assert status == 2 and f"{table}: column {header[column]!r} holds {value!r}" in stderr
    assert len(stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "damage,named",
    [
        (lambda config: config["cluster"].pop("nodes"), "its config has no key cluster.nodes"),
        (lambda config: config["backend"]["latency"].pop("dist"), "its config's backend.latency: must be"),
        (lambda config: config.pop("network"), "its config has no section 'network'"),
    ],
    ids=["a key removed", "a latency without its dist", "a section removed"],
)
def test_a_manifest_whose_config_lost_a_key_is_named_by_plot(pristine, tmp_path, damage, named):
    # Found by a long campaign: valid JSON whose config missed a key the figures read (cluster.nodes,
    # backend.latency's dist) crashed them with a KeyError; kvsim writes every key, so one missing is damage.
    config, out = copy_of(pristine, tmp_path)
    path = out / "manifest.json"
    manifest = json.loads(path.read_text())
    damage(manifest["config"])
    path.write_text(json.dumps(manifest))
    status, _, stderr = run_cli(["plot", str(out)])
    assert status == 2 and "manifest.json: damaged" in stderr and named in stderr, stderr
    assert len(stderr.strip().splitlines()) == 1


def test_a_whole_manifest_passes_the_config_check(pristine):
    manifest = json.loads((pristine / "out" / "manifest.json").read_text())
    assert config_damage(manifest["config"]) is None
