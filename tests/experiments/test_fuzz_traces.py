"""Fuzzing the trace readers through the CLI: every format, every compression, damaged.

The companion of tests/experiments/test_fuzz.py (random text as a trace)
and test_fuzz_damaged.py (damaged folders and flags), with their judge: a
trace that was valid, then damaged, is replayed, drawn as a miss-ratio curve
or drives the timed model, and the command ends with exit status 0 and
in-domain numbers, or 2 with one line on stderr; never a traceback, never a
hang.  The damage is done where a user's file breaks:

* in the records, before compression: a field replaced by an edge value
  (empty, a word, nan, -1, 1e300, 30 and 400 digits), a line cut or doubled,
  a character flipped, the file cut short;
* in the compressed bytes: a byte flipped, the stream cut, bytes appended,
  another compression's header in front.

Each example names its format, compression and damage as hypothesis events
(--hypothesis-show-statistics counts them); KVSIM_FUZZ_EXAMPLES sets the
number of examples.
"""

from __future__ import annotations

import io
import json
import shutil

import numpy as np
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from experiments.output.domains import check_numbers
from tests.experiments.test_fuzz import FUZZ, check_tables, judge, run_cli, toml
from workloads.traces import COMPRESSIONS, FORMATS, write_trace
from workloads.traces.compression import open_compressed

#: a name's suffix for each format, and for each compression
FORMAT_SUFFIX = {
    "csv": ".csv",
    "txt": ".txt",
    "oraclegeneral": ".oracleGeneral",
    "twitter": ".twitter",
    "cachelib": ".cachelib",
    "msr": ".msr",
    "arc": ".arc",
}
COMPRESSION_SUFFIX = {None: "", "zstd": ".zst", "gzip": ".gz", "xz": ".xz", "bz2": ".bz2"}
#: what a damaged field of a text record becomes
EDGE_FIELDS = [
    "", "x", "nan", "inf", "-1", "-0", "1e300", "1.5", "9" * 30, "9" * 400, "0x10", " ", '"', "get", "Write",
    str(2**63), str(2**64), str(-(2**63) - 1),
]  # fmt: skip
#: the first bytes of each compression, put in front of another's stream
MAGIC = [b"\x28\xb5\x2f\xfd", b"\x1f\x8b", b"\xfd7zXZ\x00", b"BZh9"]


@pytest.fixture(scope="module")
def plain_traces(tmp_path_factory) -> dict[str, bytes]:
    """A valid trace of 300 requests in each format, uncompressed: the bytes each example damages."""
    rng = np.random.default_rng(11)
    n = 300
    keys = rng.zipf(1.3, n) % 120 * 7
    keys[50:70] = np.arange(1000, 1020)  # a run of consecutive keys (ARC's lines)
    times = 1_000 + np.cumsum(rng.integers(0, 3, n))
    sizes = keys % 50 * 40 + 40
    ops = (rng.random(n) < 0.2).astype(np.int8)
    ttls = np.where(ops == 1, rng.integers(0, 3600, n), 0)
    folder = tmp_path_factory.mktemp("plain")
    return {
        fmt: write_trace(folder / f"t{suffix}", keys, sizes=sizes, times=times, ops=ops, ttls=ttls).read_bytes()
        for fmt, suffix in FORMAT_SUFFIX.items()
    }


@st.composite
def damaged_records(draw, data: bytes, fmt: str) -> bytes:
    """The records damaged as text (a field, a line, a character) or as bytes for the binary format."""
    if fmt == "oraclegeneral":
        how = draw(st.sampled_from(["none", "flip", "cut", "insert"]))
        event(f"records: {how}")
        if how == "none":
            return data
        position = draw(st.integers(0, len(data) - 1))
        if how == "cut":
            return data[:position]
        if how == "insert":
            return data[:position] + draw(st.binary(min_size=1, max_size=30)) + data[position:]
        field = draw(st.sampled_from([b"\xff" * 8, b"\x00" * 8, b"\x80" + b"\x00" * 7, b"\x7f" + b"\xff" * 7]))
        return data[:position] + field + data[position + len(field) :]
    lines = data.decode().split("\n")
    how = draw(st.sampled_from(["none", "field", "line", "char", "cut", "double"]))
    event(f"records: {how}")
    row = draw(st.integers(0, max(0, len(lines) - 2)))
    if how == "field":
        separator = " " if fmt in ("arc", "txt") else ","
        cells = lines[row].split(separator)
        cells[draw(st.integers(0, len(cells) - 1))] = draw(st.sampled_from(EDGE_FIELDS))
        lines[row] = separator.join(cells)
    elif how == "line":
        lines[row] = draw(st.text(max_size=20))
    elif how == "char":
        text = lines[row]
        position = draw(st.integers(0, max(0, len(text) - 1)))
        lines[row] = (
            text[:position] + draw(st.sampled_from(["\x00", "\u00e9", ",", " ", "\t", "-", "e"])) + text[position + 1 :]
        )
    elif how == "cut":
        lines = lines[:row] + [lines[row][: draw(st.integers(0, len(lines[row])))]]
    elif how == "double":
        lines.insert(row, lines[row])
    return "\n".join(lines).encode("utf-8", errors="surrogatepass")


def compressed(data: bytes, compression: str | None) -> bytes:
    """`data` compressed as kvsim's writers compress it."""
    buffer = io.BytesIO()
    with open_compressed(buffer, compression) as writer:
        writer.write(data)
    return buffer.getvalue()


@st.composite
def damaged_stream(draw, data: bytes, compression: str | None) -> bytes:
    """The compressed bytes damaged: a byte flipped, the stream cut, bytes appended, a wrong header in front."""
    if compression is None:
        return data
    how = draw(st.sampled_from(["none", "flip", "cut", "append", "header"]))
    event(f"stream: {how}")
    if how == "none" or not data:
        return data
    position = draw(st.integers(0, len(data) - 1))
    if how == "flip":
        return data[:position] + bytes([data[position] ^ draw(st.integers(1, 255))]) + data[position + 1 :]
    if how == "cut":
        return data[:position]
    if how == "append":
        return data + draw(st.binary(min_size=1, max_size=40))
    return draw(st.sampled_from(MAGIC)) + data


@st.composite
def damaged_traces(draw, plain: dict[str, bytes]) -> tuple[str, bytes]:
    """(a file name, its bytes): a trace of some format and compression, damaged in its records or its stream."""
    fmt = draw(st.sampled_from(FORMATS))
    compression = draw(st.sampled_from([None, *COMPRESSIONS]))
    event(f"{fmt}{COMPRESSION_SUFFIX[compression]}")
    records = draw(damaged_records(plain[fmt], fmt))
    data = draw(damaged_stream(compressed(records, compression), compression))
    return f"trace{FORMAT_SUFFIX[fmt]}{COMPRESSION_SUFFIX[compression]}", data


@FUZZ
@given(data=st.data())
def test_a_damaged_trace_of_any_format_and_compression_is_replayed_or_refused_in_one_line(
    plain_traces, tmp_path_factory, data
):
    scratch = tmp_path_factory.mktemp("fuzz")
    name, content = data.draw(damaged_traces(plain_traces))
    path = scratch / name
    path.write_bytes(content)
    command = data.draw(st.sampled_from(["replay", "mrc", "run"]))
    event(f"kvsim {command}")
    out = scratch / "out"
    if command == "replay":
        status, stdout, stderr = run_cli(["replay", str(path), "--policy", "lru,s3fifo", "--capacity", "20", "--json"])
        judge(status, stderr, None, f"kvsim replay {name}")
        if status == 0:
            for row in json.loads(stdout):
                check_numbers({k: v for k, v in row.items() if k != "capacity"}, "replay --json")
    elif command == "mrc":
        status, _, stderr = run_cli(["mrc", str(path), "--capacities", "5:60:5", "--out", str(out)])
        judge(status, stderr, out, f"kvsim mrc {name}")
    else:
        config = scratch / "c.toml"
        run = {"requests": 100, "warmup": 0, "seeds": [1]}
        config.write_text(toml({"run": run, "workload": {"trace": name, "trace_arrivals": "rate"}}))
        status, _, stderr = run_cli(["run", str(config), "--out", str(out), "--workers", "1"])
        judge(status, stderr, out, f"kvsim run over {name}")
        if status == 0:
            check_tables(out)
    shutil.rmtree(scratch)
