"""Compressed traces and the writers: every format in every compression round-trips exactly, a compressed
trace replays and simulates as the plain one does, memory stays flat, and a broken stream is one clear error."""

import bz2
import gzip
import itertools
import lzma
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import zstandard

import workloads.traces.compression as streams
from experiments.analysis import replay
from experiments.analysis.replay import replay_batches
from policies import make_policy
from sim import BackendSpec, ClusterSpec, Scenario, run
from workloads import Constant
from workloads.stream import READ
from workloads.traces import (
    COMPRESSIONS,
    FORMATS,
    KEPT,
    TraceError,
    TraceWorkload,
    detect_compression,
    open_trace,
    write_batches,
    write_trace,
)

#: a name's suffix for each format, and for each compression ("" for none)
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
#: each compression's own library, to make files the way other tools do
COMPRESS = {
    "zstd": lambda data: zstandard.ZstdCompressor(write_checksum=True).compress(data),
    "gzip": gzip.compress,
    "xz": lzma.compress,
    "bz2": bz2.compress,
}


@pytest.fixture(scope="module")
def requests():
    """Requests with every column, runs of consecutive keys (ARC's lines) and repeats (CacheLib's op_count)."""
    rng = np.random.default_rng(23)
    n = 3000
    keys = rng.integers(0, 400, n) * 4099
    keys[100:140] = np.arange(50_000, 50_040)
    keys[200:230] = 777
    times = 5_000 + np.cumsum(rng.integers(0, 3, n))
    sizes = (keys % 89) * 64 + 64
    ops = (rng.random(n) < 0.3).astype(np.int8)
    ttls = np.where(ops == 1, rng.integers(0, 7200, n), 0)
    return {"key": keys, "time": times, "size": sizes, "op": ops, "ttl": ttls}


def read_all(trace, chunk=700):
    batches = list(trace.chunks(chunk))
    assert all(len(b) == chunk for b in batches[:-1])
    columns = {c: np.concatenate([getattr(b, c) for b in batches]) for c in ("key", "time", "size", "op")}
    columns["ttl"] = np.concatenate([b.ttl for b in batches]) if batches[0].ttl is not None else None
    return columns


@pytest.mark.parametrize("fmt, compression", list(itertools.product(FORMATS, COMPRESSION_SUFFIX)))
def test_every_format_in_every_compression_round_trips(tmp_path, requests, fmt, compression):
    path = tmp_path / f"t{FORMAT_SUFFIX[fmt]}{COMPRESSION_SUFFIX[compression]}"
    c = requests
    write_trace(path, c["key"], c["size"], c["time"], c["op"], ttls=c["ttl"])
    trace = open_trace(path)
    assert trace.format == fmt and trace.compression == compression
    back = read_all(trace)
    n = len(c["key"])
    defaults = {"time": np.arange(n), "size": np.ones(n), "op": np.full(n, READ), "ttl": None}
    for column in ("key", "time", "size", "op", "ttl"):
        expected = c[column] if column in KEPT[fmt] else defaults[column]
        if expected is None:
            assert back[column] is None, column
        else:
            assert back[column].tolist() == expected.tolist(), column


@pytest.mark.parametrize("fmt", FORMATS)
def test_columns_not_given_read_back_as_the_defaults(tmp_path, requests, fmt):
    keys = requests["key"]
    back = read_all(open_trace(write_trace(tmp_path / f"k{FORMAT_SUFFIX[fmt]}.gz", keys)))
    assert back["key"].tolist() == keys.tolist()
    assert back["time"].tolist() == list(range(len(keys))) and (back["size"] == 1).all() and (back["op"] == READ).all()


def test_compression_is_told_by_the_first_bytes(tmp_path, requests):
    plain = write_trace(tmp_path / "t.oracleGeneral.bin", requests["key"], requests["size"], requests["time"])
    data = plain.read_bytes()
    for compression, compress in COMPRESS.items():
        # Named as if plain, compressed by another tool: still read (and its format from the name).
        disguised = tmp_path / f"{compression}.oracleGeneral.bin"
        disguised.write_bytes(compress(data))
        assert detect_compression(disguised) == compression
        assert read_all(open_trace(disguised))["key"].tolist() == requests["key"].tolist()
    liar = tmp_path / "plain.oracleGeneral.zst"
    liar.write_bytes(data)
    with pytest.raises(TraceError, match=r"plain\.oracleGeneral\.zst: the name says zstd, but the file does not"):
        open_trace(liar)
    for name, magic in (("t.csv.lz4", b"\x04\x22\x4d\x18"), ("t.csv", b"PK\x03\x04")):
        (tmp_path / name).write_bytes(magic + bytes(40))
        with pytest.raises(TraceError, match=r"(lz4|zip)-compressed traces are not read; decompress it"):
            open_trace(tmp_path / name)


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_concatenated_streams_are_read_whole(tmp_path, compression, where_decompressed):
    """pzstd, pigz and pbzip2 write several frames or streams one after the other."""
    compress = COMPRESS[compression]
    path = tmp_path / f"keys.txt{COMPRESSION_SUFFIX[compression]}"
    path.write_bytes(compress(b"1\n2\n") + compress(b"3\n") + compress(b"4\n5\n"))
    assert open_trace(path).keys().tolist() == [1, 2, 3, 4, 5]


def test_a_compressed_trace_replays_and_simulates_as_the_plain_one(tmp_path, requests, where_decompressed):
    keys, sizes, times = requests["key"], requests["size"], requests["time"]
    plain = write_trace(tmp_path / "t.csv", keys, sizes, times)
    packed = write_trace(tmp_path / "t.csv.zst", keys, sizes, times)
    for name, capacity in (("lru", 120), ("s3fifo", 120), ("arc", 60)):
        expected = replay(make_policy(name, capacity), keys, sizes)
        for path in (plain, packed):
            counts = replay_batches(make_policy(name, capacity), open_trace(path).chunks(500))
            assert (counts.requests, counts.hits) == (expected.requests, expected.hits), (name, path)
    results = [
        run(
            Scenario(
                workload=TraceWorkload(path, time_unit="ms"),
                cluster=ClusterSpec(nodes=2, capacity=100_000, capacity_bytes=True, policy="lru"),
                backend=BackendSpec(latency=Constant(0.002)),
                requests=len(keys),
                warmup=0,
            ),
            seed=3,
        )
        for path in (plain, packed)
    ]
    assert results[0].requests == results[1].requests == len(keys)
    assert results[0].row() == results[1].row()  # hits, latency quantiles, every metric


@pytest.fixture(params=["here", "child"])
def where_decompressed(request, monkeypatch):
    """Each test that uses it runs twice: decompressing in this process, and in a child process."""
    monkeypatch.setattr(streams, "PARALLEL_FROM", 1 << 62 if request.param == "here" else 0)
    return request.param


def test_compressed_reading_memory_stays_flat(tmp_path, where_decompressed):
    """Reading a zstd trace holds a few blocks, never the trace: the same bound at 4x the length."""
    rng = np.random.default_rng(2)
    bound = 3 * (1 << 20) + 500_000  # a decoder's step, the block being read, the chunk, the buffer
    for n in (400_000, 1_600_000):  # 9.6 and 38.4 MB decompressed
        path = write_trace(tmp_path / f"m{n}.oracleGeneral.zst", rng.integers(0, 10**9, n))
        tracemalloc.start()
        count = sum(len(batch) for batch in open_trace(path).chunks(4096))
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert count == n and peak < bound, (n, peak, bound)


def children() -> set[int]:
    """This process's child processes (Linux)."""
    found = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        found |= {int(pid) for pid in (task / "children").read_text().split()}
    return found


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc")
def test_stopping_early_stops_the_decompressing_process(tmp_path, monkeypatch):
    monkeypatch.setattr(streams, "PARALLEL_FROM", 0)
    path = write_trace(tmp_path / "t.txt.gz", np.arange(2_000_000))
    before = children()
    batches = open_trace(path).chunks(1000)
    assert next(batches).key.tolist() == list(range(1000))
    assert len(children() - before) == 1  # the child decompresses ahead
    batches.close()
    assert children() == before


# -- broken streams and other bad input -----------------------------------------------------------


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_a_truncated_stream_names_the_record(tmp_path, compression, where_decompressed):
    keys = np.arange(200_000)
    whole = write_trace(tmp_path / f"t.oracleGeneral{COMPRESSION_SUFFIX[compression]}", keys).read_bytes()
    cut = tmp_path / f"cut.oracleGeneral{COMPRESSION_SUFFIX[compression]}"
    cut.write_bytes(whole[: len(whole) * 2 // 3])
    with pytest.raises(TraceError) as raised:
        list(open_trace(cut).chunks())
    assert type(raised.value).__name__ in ("TraceError", "StreamError")
    message = str(raised.value)
    assert message.startswith(f"{cut}: record ") and f"the {compression} stream ends early" in message, message
    # The records before the break were read: the break is past the first one.
    assert int(message.split("record ")[1].split(":")[0].replace(",", "")) > 1


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_a_corrupt_stream_names_the_line(tmp_path, compression, where_decompressed):
    whole = write_trace(tmp_path / f"t.csv{COMPRESSION_SUFFIX[compression]}", np.arange(100_000)).read_bytes()
    middle = len(whole) // 2
    broken = tmp_path / f"bad.csv{COMPRESSION_SUFFIX[compression]}"
    broken.write_bytes(whole[:middle] + bytes([whole[middle] ^ 0x5A]) + whole[middle + 1 :])
    with pytest.raises(TraceError, match=rf"bad\.csv\.\w+: line [\d,]+: the {compression} stream is corrupt \(.+\)"):
        list(open_trace(broken).chunks())


def test_unknown_inner_format(tmp_path):
    path = tmp_path / "trace.zst"
    path.write_bytes(COMPRESS["zstd"](b"1\n2\n"))
    with pytest.raises(TraceError, match=r"trace\.zst: cannot tell the trace format from the extension '\(none\)' "):
        open_trace(path)
    assert open_trace(path, "txt").keys().tolist() == [1, 2]


@pytest.mark.parametrize("fmt", ["csv", "txt", "oraclegeneral", "twitter", "msr", "arc"])
def test_an_empty_compressed_trace(tmp_path, fmt):
    path = tmp_path / f"e{FORMAT_SUFFIX[fmt]}.gz"
    path.write_bytes(gzip.compress(b""))
    with pytest.raises(TraceError, match=r"e\.\w+\.gz: (no requests in the file after decompression|line 1: empty)"):
        list(open_trace(path).chunks())


def test_a_compressed_csv_missing_its_columns(tmp_path):
    path = tmp_path / "kv.cachelib.zst"
    path.write_bytes(COMPRESS["zstd"](b"key,op,size\n1,GET,5\n"))
    with pytest.raises(TraceError, match=r"kv\.cachelib\.zst: line 1: no column 'op_count', 'key_size'"):
        open_trace(path)
    csv = tmp_path / "t.csv.xz"
    csv.write_bytes(lzma.compress(b"a,b\n1,2\n"))
    with pytest.raises(TraceError, match=r"t\.csv\.xz: cannot tell which column holds the key"):
        open_trace(csv)


def test_writers_refuse_what_a_format_cannot_hold(tmp_path):
    with pytest.raises(TraceError, match=r"request 2: time 4294967296 does not fit oracleGeneral's 32-bit time"):
        write_trace(tmp_path / "t.oracleGeneral.zst", [1, 2], times=[0, 1 << 32])
    with pytest.raises(TraceError, match=r"request 3: key -1: an MSR offset is a byte offset"):
        write_trace(tmp_path / "t.msr.gz", [0, 5, -1])
    with pytest.raises(TraceError, match=r"request 1: op 2 \(a op must be 0 or 1\)"):
        write_trace(tmp_path / "t.csv", [1], ops=[2])
    assert not list(tmp_path.iterdir())  # a failed write leaves nothing behind


def test_the_same_requests_give_the_same_bytes_in_any_process(tmp_path, requests):
    """A written trace is a function of its requests: no time, file name or salt in the file."""
    c = requests
    np.savez(tmp_path / "requests.npz", **{name: c[name] for name in ("key", "size", "time", "op")})
    names = ["t.csv", "t.twitter.gz", "t.cachelib.zst", "t.msr.xz", "t.arc.bz2", "t.oracleGeneral.gz"]
    (tmp_path / "here").mkdir()
    for name in names:
        write_trace(tmp_path / "here" / name, c["key"], c["size"], c["time"], c["op"])
    code = (
        "import sys, numpy as np; from pathlib import Path; from workloads.traces import write_trace\n"
        "c = np.load(sys.argv[1]); folder = Path(sys.argv[2]); folder.mkdir()\n"
        "for name in sys.argv[3:]: write_trace(folder / name, c['key'], c['size'], c['time'], c['op'])\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    command = [sys.executable, "-c", code, str(tmp_path / "requests.npz"), str(tmp_path / "there"), *names]
    subprocess.run(command, check=True, env=env)
    for name in names:
        assert (tmp_path / "here" / name).read_bytes() == (tmp_path / "there" / name).read_bytes(), name


def test_a_conversion_streams_batches(tmp_path, requests):
    """write_batches turns a trace into another format batch by batch, keeping what both formats keep."""
    c = requests
    source = open_trace(write_trace(tmp_path / "s.twitter.zst", c["key"], c["size"], c["time"], c["op"], ttls=c["ttl"]))
    target = write_batches(tmp_path / "t.cachelib.bz2", source.chunks(512))
    back = read_all(open_trace(target))
    for column in ("key", "time", "size", "op", "ttl"):
        assert back[column].tolist() == c[column].tolist(), column
