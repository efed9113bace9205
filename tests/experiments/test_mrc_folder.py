"""The folder of `kvsim mrc`: what curve it holds, who may replace it, and `kvsim plot` redrawing it."""

import json

import numpy as np
import pytest

from experiments.cli import main
from tests.experiments.conftest import kvsim
from tests.trace_files import write_csv, zipf_keys


@pytest.fixture
def trace(tmp_path):
    keys = zipf_keys(4000, keys=500, alpha=0.9, seed=3)
    return write_csv(tmp_path / "t.csv", keys, np.arange(len(keys)), (keys % 37) * 100 + 100)


def files(out):
    return {path.name: path.read_bytes() for path in sorted(out.iterdir()) if not path.name.startswith(".")}


def test_a_second_curve_into_the_same_folder_is_refused_without_force(tmp_path, trace, capsys):
    out = tmp_path / "curve"
    assert main(["mrc", str(trace), "--capacities", "10:400", "--points", "8", "--out", str(out)]) == 0
    first = files(out)
    assert sorted(first) == ["mrc.csv", "mrc.json", "mrc.png", "mrc.svg"]
    manifest = json.loads(first["mrc.json"])
    assert manifest["curve"]["policy"] == "lru" and manifest["about"]["method"] == "stack"
    capsys.readouterr()

    # Another policy: refused in one line, the folder untouched.
    assert main(["mrc", str(trace), "--policy", "fifo", "--capacities", "10:400", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "holds another miss-ratio curve (lru on t.csv, 8 capacities)" in err
    assert "--force" in err and files(out) == first

    # The same command again recomputes its own curve in place: the same bytes.
    assert main(["mrc", str(trace), "--capacities", "10:400", "--points", "8", "--out", str(out)]) == 0
    assert files(out) == first

    # --force replaces it.
    assert main(["mrc", str(trace), "--policy", "fifo", "--capacities", "10:400", "--out", str(out), "--force"]) == 0
    assert json.loads((out / "mrc.json").read_text())["curve"]["policy"] == "fifo"


def test_mrc_does_not_write_into_an_experiment_or_an_unknown_curve(tmp_path, trace, capsys):
    experiment = tmp_path / "experiment"
    experiment.mkdir()
    (experiment / "manifest.json").write_text("{}")
    assert main(["mrc", str(trace), "--capacities", "10,20", "--out", str(experiment)]) == 2
    assert "holds an experiment's results" in capsys.readouterr().err
    assert sorted(p.name for p in experiment.iterdir() if not p.name.startswith(".")) == ["manifest.json"]
    unknown = tmp_path / "old"
    unknown.mkdir()
    (unknown / "mrc.csv").write_text("capacity,miss_ratio\n10,0.5\n")  # no mrc.json: whose curve is it?
    assert main(["mrc", str(trace), "--capacities", "10,20", "--out", str(unknown)]) == 2
    assert "without a readable mrc.json" in capsys.readouterr().err


def test_kvsim_plot_redraws_an_mrc_folder(tmp_path, trace):
    out = tmp_path / "curve"
    assert kvsim("mrc", trace, "--capacities", "1KiB:1MiB", "--points", "6", "--out", out).returncode == 0
    drawn = {name: data for name, data in files(out).items() if name in ("mrc.png", "mrc.svg")}
    for name in drawn:
        (out / name).unlink()
    done = kvsim("plot", out)
    assert done.returncode == 0, done.stderr
    assert "redrew mrc" in done.stdout
    assert {name: (out / name).read_bytes() for name in drawn} == drawn  # the same figure, byte for byte
    svg = (out / "mrc.svg").read_text()
    assert "KiB" in svg and "cache capacity (bytes)" in svg


def test_plot_on_a_folder_with_neither_says_both_commands(tmp_path):
    done = kvsim("plot", tmp_path)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "no experiment here (no manifest.json) and no miss-ratio curve (no mrc.csv)" in done.stderr
    assert "kvsim mrc TRACE --out" in done.stderr


@pytest.mark.parametrize(
    ("row", "column", "cell", "said"),
    [
        (3, 0, "\x0070", "row 4: capacity = '\\x0070' is not a positive number"),
        (2, 1, "1e300", "row 3: miss_ratio = 1e+300 is not a ratio from 0 to 1"),
        (1, 2, "", "row 2: byte_miss_ratio = nan is not a ratio from 0 to 1"),
        (5, 0, "1", "the capacities are not ascending"),
    ],
)
def test_a_damaged_curve_cell_is_named_in_one_line(tmp_path, trace, row, column, cell, said):
    out = tmp_path / "curve"
    assert kvsim("mrc", trace, "--capacities", "10:100:10", "--out", out).returncode == 0
    lines = (out / "mrc.csv").read_text().splitlines()
    cells = lines[row].split(",")
    cells[column] = cell
    lines[row] = ",".join(cells)
    (out / "mrc.csv").write_text("\n".join(lines) + "\n")
    done = kvsim("plot", out)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert said in done.stderr and "run `kvsim mrc` again" in done.stderr


def test_a_damaged_about_in_mrc_json_still_draws_the_curve(tmp_path, trace):
    out = tmp_path / "curve"
    assert kvsim("mrc", trace, "--capacities", "10:100:10", "--out", out).returncode == 0
    manifest = json.loads((out / "mrc.json").read_text())
    manifest["about"] |= {"rate": "fast", "policy": 7, "count_bytes": "yes"}
    (out / "mrc.json").write_text(json.dumps(manifest))
    done = kvsim("plot", out)
    assert done.returncode == 0, done.stderr
    assert "?" in (out / "mrc.svg").read_text()  # the policy's name was damaged: the title says so
