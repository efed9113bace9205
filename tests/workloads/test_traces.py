"""Trace readers: the three formats agree, keys are stable, memory is flat, bad files fail clearly."""

import hashlib
import os
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

from tests.trace_files import (
    LIBCACHESIM_DATA,
    block_io_trace,
    lirs_cases,
    lirs_file,
    oracle_records,
    write_bin,
    write_csv,
    write_txt,
)
from workloads.stream import READ, WRITE
from workloads.traces import (
    FORMATS,
    READERS,
    CSVTrace,
    OracleGeneralTrace,
    TextTrace,
    TraceError,
    detect_format,
    key_id,
    open_trace,
    read_trace,
)


def read_all(trace, chunk=1000):
    batches = list(trace.chunks(chunk))
    return {column: np.concatenate([getattr(b, column) for b in batches]) for column in ("key", "time", "size", "op")}


@pytest.fixture
def requests():
    rng = np.random.default_rng(11)
    n = 2500
    keys = rng.integers(0, 300, n) * 7919
    times = 1_000_000 + np.cumsum(rng.integers(0, 4, n))
    sizes = (keys % 97) * 512 + 512
    return keys, times, sizes


def test_three_formats_give_the_same_requests(tmp_path, requests):
    keys, times, sizes = requests
    csv = read_all(open_trace(write_csv(tmp_path / "t.csv", keys, times, sizes)))
    binary = read_all(open_trace(write_bin(tmp_path / "t.bin", keys, times, sizes)))
    text = read_all(open_trace(write_txt(tmp_path / "t.txt", keys)))
    for columns in (csv, binary, text):
        assert columns["key"].dtype == np.int64 and columns["key"].tolist() == keys.tolist()
    for columns in (csv, binary):
        assert columns["time"].tolist() == times.tolist() and columns["size"].tolist() == sizes.tolist()
    # A text trace has no timestamps (request numbers instead) and no sizes.
    assert text["time"].tolist() == list(range(len(keys))) and (text["size"] == 1).all()
    assert (csv["op"] == READ).all() and (binary["op"] == READ).all()


def test_batches_are_bounded_and_numbered(tmp_path, requests):
    keys, times, sizes = requests
    for path in (
        write_csv(tmp_path / "t.csv", keys, times, sizes),
        write_txt(tmp_path / "t.txt", keys),
        write_bin(tmp_path / "t.bin", keys, times, sizes),
    ):
        batches = list(read_trace(path, chunk=300))
        assert [len(b) for b in batches] == [300] * 8 + [100], path
        assert [b.start for b in batches] == list(range(0, 2500, 300))


def test_format_from_extension_or_named(tmp_path, requests):
    keys = requests[0]
    assert detect_format("a.CSV") == "csv" and detect_format("x.txt") == "txt"
    assert (
        detect_format("c.oracleGeneral.bin") == "oraclegeneral" and detect_format("c.oracleGeneral") == "oraclegeneral"
    )
    odd = write_txt(tmp_path / "keys.log", keys)
    with pytest.raises(TraceError, match=r"keys\.log: cannot tell the trace format.*'\.log'"):
        open_trace(odd)
    assert isinstance(open_trace(odd, "txt"), TextTrace)
    assert isinstance(open_trace(write_bin(tmp_path / "b.dat", keys), "oracleGeneral"), OracleGeneralTrace)
    with pytest.raises(TraceError, match="unknown trace format 'parquet'; valid: csv, txt, oraclegeneral, twitter"):
        open_trace(odd, "parquet")
    # A compression suffix is looked through (tests/workloads/test_compressed_traces.py reads them).
    assert detect_format("t.csv.zst") == "csv" and detect_format("c.oracleGeneral.bin.gz") == "oraclegeneral"
    with pytest.raises(TraceError, match=r"t\.csv\.lz4: lz4-compressed traces are not read"):
        open_trace(tmp_path / "t.csv.lz4")


def test_each_format_has_its_reader_in_a_module_of_its_own():
    # A reader registers itself with open_trace by being defined (Trace.__init_subclass__).
    assert {name: READERS[name] for name in ("csv", "txt", "oraclegeneral")} == {
        "csv": CSVTrace,
        "txt": TextTrace,
        "oraclegeneral": OracleGeneralTrace,
    }
    assert set(READERS) == set(FORMATS)
    assert len({reader.__module__ for reader in READERS.values()}) == len(FORMATS)


def test_csv_columns_by_name_and_detection(tmp_path):
    path = tmp_path / "kv.csv"
    path.write_text(
        "timestamp,user,obj_id,value_size,operation\n"
        "10,a,5,100,get\n11,b,6,200,set\n12,a,5,100,GET\n13,c,7,300,delete\n"
    )
    detected = open_trace(path)  # timestamp, obj_id, operation are common names; value_size is not
    assert detected.columns == {"key": "obj_id", "time": "timestamp", "op": "operation"}
    assert not detected.has_size
    columns = read_all(detected)
    assert columns["key"].tolist() == [5, 6, 5, 7] and columns["time"].tolist() == [10, 11, 12, 13]
    assert columns["op"].tolist() == [READ, WRITE, READ, WRITE] and (columns["size"] == 1).all()
    chosen = open_trace(path, key="user", size="value_size", time=False)
    columns = read_all(chosen)
    assert chosen.has_size and not chosen.has_time
    assert columns["size"].tolist() == [100, 200, 100, 300]
    assert columns["key"][0] == columns["key"][2] == key_id("a") and columns["key"][1] == key_id("b")
    headerless = tmp_path / "plain.csv"
    headerless.write_text("1,42,10\n2,43,20\n")
    columns = read_all(open_trace(headerless, names=["time", "key", "size"]))
    assert columns["key"].tolist() == [42, 43] and columns["size"].tolist() == [10, 20]


def test_libcachesim_csv_ops_are_scsi_opcodes(tmp_path):
    path = write_csv(tmp_path / "t.csv", [1, 2, 3], ops=["28", "2a", "2A"])
    assert read_all(open_trace(path))["op"].tolist() == [READ, WRITE, WRITE]


def test_string_keys_map_to_stable_ids(tmp_path):
    expected = int.from_bytes(hashlib.blake2b(b"user:42", digest_size=8).digest(), "little", signed=True)
    assert key_id("user:42") == expected
    path = tmp_path / "keys.txt"
    path.write_text("user:42\n7\n007\n\nuser:42\n18446744073709551615\n héllo \n")
    keys = read_all(open_trace(path))["key"].tolist()
    # Integers stay integers (uint64 ids wrap as their 64 bits do); text is hashed; blank lines are skipped.
    assert keys == [expected, 7, 7, expected, -1, key_id("héllo")]
    as_text = read_all(open_trace(path, key_type="str"))["key"].tolist()
    assert as_text[1] == key_id("7") != as_text[2] == key_id("007")
    # The same ids in another process with another string-hash salt.
    code = "from workloads.traces import key_id; print(key_id('user:42'))"
    env = {
        **os.environ,
        "PYTHONHASHSEED": "12345",
        "PYTHONPATH": str(__import__("pathlib").Path(__file__).resolve().parents[2]),
    }
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert int(other.stdout) == expected


def test_float_looking_keys_are_text_after_integer_chunks(tmp_path):
    # The first chunk is all integers; the second has "1.5": it must be hashed from its text, not rounded.
    path = tmp_path / "k.csv"
    path.write_text("key\n1\n2\n3\n1.5\n2.0\n3\n")
    keys = read_all(open_trace(path), chunk=3)["key"].tolist()
    assert keys == [1, 2, 3, key_id("1.5"), key_id("2.0"), 3]


def test_memory_stays_flat_as_the_trace_grows(tmp_path):
    """Peak memory reading a trace 4x longer is about the same: nothing grows with the trace."""
    rng = np.random.default_rng(1)

    def peak(path, fmt):
        tracemalloc.start()
        count = 0
        for batch in open_trace(path, fmt).chunks(4096):
            assert len(batch) <= 4096
            count += len(batch)
        _, high = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return high, count

    for fmt in ("txt", "csv", "oraclegeneral"):
        peaks = {}
        for n in (100_000, 400_000):
            keys = rng.integers(0, 10**9, n)
            path = tmp_path / f"{fmt}{n}"
            {"txt": write_txt, "csv": write_csv, "oraclegeneral": write_bin}[fmt](path, keys)
            peaks[n], count = peak(path, fmt)
            assert count == n
        assert peaks[400_000] < 1.25 * peaks[100_000] + 100_000, (fmt, peaks)
        assert peaks[400_000] < 400_000 * 8 / 2, (fmt, peaks)  # half of the key column alone


def test_reading_is_lazy(tmp_path):
    """The first batches arrive before the reader has seen the (bad) end of the file."""
    path = tmp_path / "t.txt"
    path.write_bytes(b"".join(b"%d\n" % k for k in range(200_000)) + b"\xff\xfe garbage\n")
    batches = open_trace(path).chunks(1000)
    assert next(batches).key.tolist() == list(range(1000))
    with pytest.raises(TraceError, match=r"t\.txt: line 200001: not UTF-8 text"):
        list(batches)


# -- malformed input ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["empty.csv", "empty.txt", "empty.bin"])
def test_empty_file(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"")
    with pytest.raises(TraceError, match=rf"{name}: empty file \(expected .+\)"):
        open_trace(path)


def test_no_requests(tmp_path):
    header_only = tmp_path / "h.csv"
    header_only.write_text("version,time,op,size,lbn\n")
    blank = tmp_path / "blank.txt"
    blank.write_text("\n\n  \n")
    for path in (header_only, blank):
        with pytest.raises(TraceError, match="no requests in the file"):
            list(open_trace(path).chunks())


def test_missing_file():
    with pytest.raises(FileNotFoundError, match="nope.csv: no such trace file"):
        open_trace("nope.csv")


def test_truncated_binary_record(tmp_path):
    path = tmp_path / "t.bin"
    path.write_bytes(oracle_records([1, 2, 3]).tobytes() + b"\x01" * 10)
    with pytest.raises(
        TraceError,
        match=r"t\.bin: 82 bytes is not a whole number of 24-byte records: "
        r"record 4 is truncated \(10 of 24 bytes\)",
    ):
        open_trace(path)


def test_garbage_binary(tmp_path):
    records = oracle_records(range(10))
    records["next"][6] = -7  # neither -1 nor a later request
    path = tmp_path / "g.bin"
    records.tofile(path)
    with pytest.raises(TraceError, match=r"g\.bin: record 7: next access -7 is neither -1 nor a later request"):
        list(open_trace(path).chunks(4))
    random_bytes = tmp_path / "r.bin"
    random_bytes.write_bytes(np.random.default_rng(0).bytes(24 * 100))
    with pytest.raises(TraceError, match=r"r\.bin: record \d+: next access"):
        list(open_trace(random_bytes).chunks())
    text_as_binary = write_csv(tmp_path / "t.csv", range(10))
    with pytest.raises(TraceError, match=r"record 1: looks like text, not oracleGeneral"):
        list(open_trace(text_as_binary, "oraclegeneral").chunks())


@pytest.mark.parametrize(
    "body, message",
    [
        (
            b"1,2,28,512,10\n1,3,2a,abc,11\n",
            r"line 3: column 'size': expected a non-negative integer \(size\), got 'abc'",
        ),
        (b"1,2,28,512,10\n1,x,2a,5,11\n", r"line 3: column 'time': expected a number \(time\), got 'x'"),
        (b"1,2,28,512,10\n1,3,2a,-5,11\n", r"line 3: column 'size': expected a non-negative integer \(size\), got -5"),
        (b"1,2,28,512,10\n1,3,2a,5\n", r"line 3: column 'lbn': empty key"),
        (b"1,2,28,512,10\n1,3,2a,5,11,12\n", r"line 3: expected 5 fields \(as many as the header names\), found 6"),
        (b"1,2,28,512,10\n1,3,zz,5,11\n", r"line 3: column 'op': unknown op 'zz' \(expected one of .*write"),
        (b"1,2,28,512,10\n1,3,2a,5,\xff\xfe\n", r"line 3: not UTF-8 text"),
        (
            b"1,2,28,512,10\n\n1,3,2a,5.5,11\n",
            r"line 4: column 'size': expected a non-negative integer \(size\), got 5.5",
        ),
    ],
)
def test_malformed_csv_names_the_line(tmp_path, body, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(b"version,time,op,size,lbn\n" + body)
    with pytest.raises(TraceError, match=r"bad\.csv: " + message):
        list(open_trace(path).chunks(1))


def test_csv_header_problems(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(TraceError, match=r"h\.csv: no column 'lbn' for the key in the header; columns: a, b"):
        open_trace(path, key="lbn")
    with pytest.raises(
        TraceError,
        match=r"h\.csv: cannot tell which column holds the key \(columns: a, b\); "
        r"name it: key=COLUMN",
    ):
        open_trace(path)
    with pytest.raises(TraceError, match=r"no column 'tme' for the time .*did you mean 'time'"):
        open_trace(write_csv(tmp_path / "t.csv", [1]), time="tme")
    garbage = tmp_path / "g.csv"
    garbage.write_bytes(np.random.default_rng(3).bytes(500))
    with pytest.raises(TraceError, match=r"g\.csv: line 1: (not UTF-8 text|control characters)"):
        open_trace(garbage)


def test_malformed_text(tmp_path):
    cases = {
        b"1\n2\n\xff\n": r"line 3: not UTF-8 text",
        b"1\n2\nx\x00y\n": r"line 3: control characters in a key",
        b"1\n\n2\nabc\n": None,  # text keys are fine in auto mode
    }
    for body, message in cases.items():
        path = tmp_path / "k.txt"
        path.write_bytes(body)
        if message is None:
            assert len(read_all(open_trace(path))["key"]) == 3
            with pytest.raises(TraceError, match=r"k\.txt: line 4: expected an integer key, got 'abc'"):
                list(open_trace(path, key_type="int").chunks())
        else:
            with pytest.raises(TraceError, match=r"k\.txt: " + message):
                list(open_trace(path).chunks())
    garbage = tmp_path / "g.txt"
    garbage.write_bytes(np.random.default_rng(4).bytes(3000))
    with pytest.raises(TraceError, match=r"g\.txt: line \d+: (not UTF-8 text|control characters)"):
        list(open_trace(garbage).chunks())


def test_bad_options(tmp_path):
    path = write_csv(tmp_path / "t.csv", [1, 2])
    with pytest.raises(TraceError, match="key_type must be one of auto, int, str"):
        CSVTrace(path, key_type="float")
    with pytest.raises(TraceError, match="oraclegeneral reader"):
        open_trace(write_bin(tmp_path / "t.bin", [1]), key="lbn")


# -- block-I/O and LIRS traces: generated, and the real ones where ../shared has them ----------

BLOCK_IO_CASES = ["block-io", *(["cloudphysics"] if LIBCACHESIM_DATA.is_dir() else [])]


def block_io_files(case, folder):
    """A block-I/O trace in the three formats: its (csv, oracleGeneral, txt) files, requests and objects."""
    if case == "cloudphysics":  # libCacheSim's sample, as its SOURCE.txt counts it
        files = [LIBCACHESIM_DATA / f"cloudPhysicsIO{suffix}" for suffix in (".csv", ".oracleGeneral.bin", ".txt")]
        return files, 113_872, 48_974
    trace = block_io_trace()
    files = [
        write_csv(folder / "b.csv", trace.keys, trace.times, trace.sizes, trace.csv_ops()),
        write_bin(folder / "b.oracleGeneral.bin", trace.keys, trace.times, trace.sizes),
        write_txt(folder / "b.txt", trace.keys),
    ]
    return files, len(trace.keys), len(np.unique(trace.keys))


@pytest.mark.parametrize("case", BLOCK_IO_CASES)
def test_a_block_io_trace_in_three_formats(tmp_path, case):
    files, requests, objects = block_io_files(case, tmp_path)
    csv, binary, text = (read_all(open_trace(path), 1 << 14) for path in files)
    assert len(csv["key"]) == len(binary["key"]) == len(text["key"]) == requests
    assert len(np.unique(binary["key"])) == objects
    assert (csv["key"] == binary["key"]).all() and (text["key"] == binary["key"]).all()
    assert (csv["time"] == binary["time"]).all()
    # The CSV logs reads and writes; the binary has no op column, so every request reads.
    assert set(np.unique(csv["op"])) == {READ, WRITE} and (binary["op"] == READ).all()


@pytest.mark.parametrize("case", lirs_cases())
def test_lirs_traces_read_whole(tmp_path, case):
    path, requests = lirs_file(case, tmp_path)
    assert open_trace(path).count() == requests
