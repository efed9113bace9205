"""An experiment's figures drawn by a pool of forked processes: the same files as drawn here, one by one."""

import multiprocessing
import os
import threading

import matplotlib.pyplot as plt
import pytest

import experiments
from experiments.config import ConfigError
from experiments.plots import PLOTS, load, parallel
from tests.experiments.conftest import write_config

RUN = """
name = "parallel"
[run]
requests = 3000
warmup = 500
seeds = [1, 2]
interval = 0.05             # a time course: the timeseries figure is drawn too
[workload]
keys = 2000
rate = 5000
[cluster]
nodes = 2
[sweep]
"cluster.policy" = ["lru", "fifo"]
"""


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    directory = tmp_path_factory.mktemp("parallel")
    experiments.run(write_config(directory, RUN), out=directory / "out")
    return load(directory / "out")


def files(paths) -> dict:
    return {path.name: path.read_bytes() for path in paths}


def test_figures_drawn_side_by_side_are_the_bytes_drawn_one_after_another(tables, tmp_path, monkeypatch):
    figures = {name: PLOTS[name] for name in ("policy_compare", "latency_cdf", "node_load", "timeseries")}
    monkeypatch.setattr(parallel, "drawing_processes", lambda tasks: 3)
    side_by_side = parallel.draw_figures(tables, figures, tmp_path / "pool")
    monkeypatch.setattr(parallel, "drawing_processes", lambda tasks: 1)
    one_by_one = parallel.draw_figures(tables, figures, tmp_path / "here")
    # in the plan's order, each figure as PNG then SVG
    assert [path.name for path in side_by_side] == [
        f"{name}{suffix}" for name in figures for suffix in (".png", ".svg")
    ]
    assert files(side_by_side) == files(one_by_one)


#: the processes that built a `where_drawn` figure, one mark per figure built (a forked worker's own file)
DRAWN_BY = "drawn_by"


def where_drawn(tables):
    """A figure that leaves the id of the process drawing it in os.environ[DRAWN_BY]'s folder."""
    folder = os.environ[DRAWN_BY]
    with open(os.path.join(folder, str(os.getpid())), "a") as mark:
        mark.write("drawn\n")
    figure, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    return figure


def test_each_figure_is_drawn_by_a_forked_process_when_forking_pays(tables, tmp_path, monkeypatch):
    marks = tmp_path / "marks"
    marks.mkdir()
    monkeypatch.setenv(DRAWN_BY, str(marks))
    monkeypatch.setattr(parallel, "drawing_processes", lambda tasks: 2)
    written = parallel.draw_figures(tables, {"a": where_drawn, "b": where_drawn}, tmp_path)
    drawers = {int(mark.name): mark.read_text().count("drawn") for mark in marks.iterdir()}
    # two figures, each built once by a forked worker for both its files, none here
    assert os.getpid() not in drawers and sum(drawers.values()) == 2
    assert [path.name for path in written] == ["a.png", "a.svg", "b.png", "b.svg"]
    monkeypatch.setattr(parallel, "drawing_processes", lambda tasks: 1)
    for mark in marks.iterdir():
        mark.unlink()
    parallel.draw_figures(tables, {"a": where_drawn}, tmp_path)
    assert [mark.name for mark in marks.iterdir()] == [str(os.getpid())]


def failing(tables):
    raise ConfigError("this figure cannot be drawn from these tables")


def test_a_figure_failing_in_a_worker_is_the_same_error_here_and_writes_nothing(tables, tmp_path, monkeypatch):
    monkeypatch.setattr(parallel, "drawing_processes", lambda tasks: 2)
    with pytest.raises(ConfigError, match="cannot be drawn from these tables"):
        parallel.draw_figures(tables, {"node_load": PLOTS["node_load"], "broken": failing}, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_forking_pays_with_a_core_for_each_of_several_files(monkeypatch):
    monkeypatch.delenv(parallel.PROCESSES_VARIABLE, raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    assert parallel.drawing_processes(6) == 4
    assert parallel.drawing_processes(2) == 2
    assert parallel.drawing_processes(1) == 1  # one file: nothing to share
    monkeypatch.setenv(parallel.PROCESSES_VARIABLE, "2")  # the cores busy with other work: at most two
    assert parallel.drawing_processes(6) == 2
    monkeypatch.setenv(parallel.PROCESSES_VARIABLE, "1")
    assert parallel.drawing_processes(6) == 1
    monkeypatch.setenv(parallel.PROCESSES_VARIABLE, "many")  # not a count: no cap
    assert parallel.drawing_processes(6) == 4
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert parallel.drawing_processes(6) == 1  # one core


def test_no_fork_from_another_thread_than_the_main_one(monkeypatch):
    monkeypatch.delenv(parallel.PROCESSES_VARIABLE, raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    answers = []
    thread = threading.Thread(target=lambda: answers.append(parallel.drawing_processes(6)))
    thread.start()
    thread.join()
    assert answers == [1] and parallel.drawing_processes(6) == 2


def answer_in(queue):
    queue.put(parallel.drawing_processes(6))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="a forked daemonic process")
def test_no_fork_from_a_daemonic_process_which_may_not_have_children(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=answer_in, args=(queue,), daemon=True)
    child.start()
    answer = queue.get(timeout=60)
    child.join()
    assert answer == 1
