"""Fuzzing kvsim as a careless user would: whatever the input, a clean answer or a clean refusal.

For every config (values of the wrong type, out of range, at the edges of
float64, half-written tables) and every trace (random bytes, random text,
damaged records), a command ends in one of two ways:

* exit status 0, and every number it wrote is finite and in its domain
  (ratios in [0, 1], counts and times >= 0);
* exit status 2, one line on stderr naming what was wrong, and nothing
  written (no output directory).

Never a traceback, never a hang (each command runs under an alarm), never a
number that looks right and is not.  Each example records its outcome as a
hypothesis event; run with ``--hypothesis-show-statistics`` to count them,
and set KVSIM_FUZZ_EXAMPLES for a longer campaign than CI's.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import signal
import tempfile
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from experiments.cli import main
from experiments.config.schema import SCHEMA
from experiments.output.domains import check_numbers

EXAMPLES = int(os.environ.get("KVSIM_FUZZ_EXAMPLES", "25"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    # CI sees the same inputs every time; a campaign (KVSIM_FUZZ_EXAMPLES set) draws new ones, from
    # the seed pytest's --hypothesis-seed gives or a random one that a failure's report prints
    derandomize="KVSIM_FUZZ_EXAMPLES" not in os.environ,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
#: seconds a fuzzed command may take before it counts as a hang
ALARM = 60

#: small runs, so that every example is quick: the fuzz is about the inputs, not the run length
RUN = {"requests": 400, "warmup": 100, "seeds": [1]}


# -- inputs ----------------------------------------------------------------------------

EDGE_VALUES = [
    0, -1, 1, 2, 7, 2**31, 2**40 + 1, 2**63 - 1, -(2**63),
    0.5, 1e-300, 1e-9, 1e9, 1e300, -1e300, math.inf, -math.inf, math.nan,
    "", "x", "64MiB", "0B", "1e30B", "-5KiB", "lru", "zipf", "poisson",
    True, False, [], [1, 2], [0], {}, {"dist": "lognormal"}, {"dist": "nosuch"},
    {"dist": "lognormal", "median_ms": 1e300, "sigma": 1e300},
    {"dist": "constant", "ms": -1}, {"dist": "uniform", "low_s": 5, "high_s": 1},
    {"process": "onoff", "mean_on_s": 1e-9, "mean_off_s": 1e-9, "off_ratio": 0.0},
    {"process": "diurnal", "amplitude": 0.99, "period_s": 1e-9, "peak_s": 0},
]  # fmt: skip

numbers = st.one_of(
    st.integers(-(2**64), 2**64),
    st.floats(allow_nan=True, allow_infinity=True),
    st.builds(lambda m, e: m * 10.0**e, st.floats(-10, 10), st.integers(-300, 300)),
)
values = st.one_of(st.sampled_from(EDGE_VALUES), numbers, st.text(max_size=8))


def scaled_default(default):
    """A value of the key's own form, pushed to extremes: numbers scaled by 10**k, tables likewise."""
    if isinstance(default, bool) or not isinstance(default, (int, float, dict)):
        return st.just(default)
    if isinstance(default, dict):
        keys = [k for k, v in default.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
        return st.fixed_dictionaries({**{k: st.just(v) for k, v in default.items()}, **{k: values for k in keys}})
    return st.builds(lambda e: type(default)(default * 10.0**e) if default else e, st.integers(-300, 300))


DOTTED = {f"{section}.{key}": spec for section, keys in SCHEMA.items() for key, spec in keys.items()}
FUZZED_KEYS = sorted(k for k in DOTTED if k not in ("run.requests", "run.warmup", "run.seeds", "workload.trace"))


@st.composite
def configs(draw):
    """A config dict: the small run, then a few keys set to edge, random or extreme values of their form."""
    config = {"run": dict(RUN)}
    for dotted in draw(st.lists(st.sampled_from(FUZZED_KEYS), min_size=1, max_size=4, unique=True)):
        section, _, key = dotted.partition(".")
        value = draw(st.one_of(values, scaled_default(DOTTED[dotted].default)))
        config.setdefault(section, {})[key] = value
    if draw(st.booleans()):
        dotted = draw(st.sampled_from(FUZZED_KEYS))
        config["sweep"] = {dotted: draw(st.lists(values, min_size=1, max_size=3))}
    return config


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{ " + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + " }"


def toml(config: dict) -> str:
    lines = []
    for section, body in config.items():
        lines.append(f"[{section}]")
        lines += [f"{json.dumps(key)} = {toml_value(value)}" for key, value in body.items()]
    return "\n".join(lines) + "\n"


# -- running a command and judging its outcome ------------------------------------------


class Hang(Exception):
    pass


def _alarm(_signum, _frame):
    raise Hang


def run_cli(args: list[str]) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of `kvsim ARGS` in this process, under the alarm."""
    out, err = io.StringIO(), io.StringIO()
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(ALARM)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                status = main(args)
            except SystemExit as exit_:  # argparse's own refusals
                status = exit_.code
    except Hang:
        raise AssertionError(f"kvsim {' '.join(args)} ran past {ALARM} s") from None
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    return status, out.getvalue(), err.getvalue()


def judge(status: int, stderr: str, out: Path | None, what: str, also: tuple = ()) -> None:
    """The two acceptable endings (and the statuses `also` allows: a plan's 3); anything else fails the example."""
    assert "Traceback" not in stderr, f"{what}: traceback\n{stderr}"
    if status == 2:
        assert stderr.startswith("kvsim: error: ") and stderr.count("\n") == 1, f"{what}: not one line\n{stderr}"
        assert out is None or not out.exists(), f"{what}: refused, yet wrote {sorted(os.listdir(out))}"
        event("exit 2: a clean one-line error")
        return
    assert status == 0 or status in also, f"{what}: exit status {status}\n{stderr}"
    event(f"exit {status}: finite, in-domain output")


def check_tables(out: Path) -> None:
    """Every number of results.csv, summary.csv, nodes.csv and timeseries.csv within its domain."""
    for name in ("results.csv", "nodes.csv", "timeseries.csv"):
        frame = pd.read_csv(out / name)
        for row in frame.to_dict("records"):
            check_numbers(
                {
                    k: v
                    for k, v in row.items()
                    if k in frame.columns
                    and not k.startswith(("cluster.", "workload.", "backend.", "network.", "run.", "updates."))
                },
                f"{name}",
            )
    summary = pd.read_csv(out / "summary.csv")
    for column in summary.columns:
        if column.endswith("_mean"):
            for value in summary[column]:
                check_numbers({column.removesuffix("_mean"): value}, "summary.csv")


@FUZZ
@given(config=configs())
def test_any_config_gives_a_clean_run_or_a_clean_refusal(config):
    with tempfile.TemporaryDirectory(prefix="kvsim-fuzz-") as scratch:
        path = Path(scratch) / "fuzz.toml"
        path.write_text(toml(config))
        out = Path(scratch) / "out"
        status, _, stderr = run_cli(["run", str(path), "--out", str(out), "--workers", "1"])
        judge(status, stderr, out, f"config {config}")
        if status == 0:
            check_tables(out)


# -- traces ----------------------------------------------------------------------------------

trace_texts = st.one_of(
    st.binary(max_size=400).map(lambda b: b.decode("latin-1")),
    st.lists(st.one_of(numbers.map(str), st.text(max_size=6), st.sampled_from(["", " ", ",", "-1", "1e30"])), max_size=60).map("\n".join),
    st.lists(st.tuples(numbers, st.sampled_from(["r", "w", "get", "28", "x"]), numbers, numbers), max_size=40).map(
        lambda rows: "version,time,op,size,lbn\n" + "\n".join(f"1,{t},{o},{s},{k}" for t, o, s, k in rows)
    ),
)  # fmt: skip


@FUZZ
@given(
    text=trace_texts, suffix=st.sampled_from([".csv", ".txt", ".bin"]), capacity=st.sampled_from(["10", "1KiB", "1"])
)
def test_any_trace_replays_cleanly_or_is_refused_in_one_line(text, suffix, capacity):
    with tempfile.TemporaryDirectory(prefix="kvsim-fuzz-") as scratch:
        path = Path(scratch) / f"trace{suffix}"
        path.write_bytes(text.encode("latin-1", errors="replace"))
        status, stdout, stderr = run_cli(
            ["replay", str(path), "--policy", "lru,s3fifo", "--capacity", capacity, "--json"]
        )
        judge(status, stderr, None, f"trace {text!r} as {suffix}")
        if status == 0:
            for row in json.loads(stdout):
                check_numbers({k: v for k, v in row.items() if k != "capacity"}, "replay --json")


@FUZZ
@given(text=trace_texts, suffix=st.sampled_from([".csv", ".txt"]))
def test_any_trace_drives_the_timed_model_cleanly_or_is_refused(text, suffix):
    with tempfile.TemporaryDirectory(prefix="kvsim-fuzz-") as scratch:
        path = Path(scratch) / f"trace{suffix}"
        path.write_bytes(text.encode("latin-1", errors="replace"))
        config = Path(scratch) / "c.toml"
        config.write_text(
            toml(
                {
                    "run": {"requests": 50, "warmup": 0, "seeds": [1]},
                    "workload": {"trace": path.name, "trace_arrivals": "rate"},
                }
            )
        )
        out = Path(scratch) / "out"
        status, _, stderr = run_cli(["run", str(config), "--out", str(out), "--workers", "1"])
        judge(status, stderr, out, f"trace {text!r} as {suffix} in the timed model")
        if status == 0:
            check_tables(out)
