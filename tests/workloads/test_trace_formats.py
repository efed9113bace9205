"""The public collections' formats: Twitter, CacheLib, MSR Cambridge, ARC; each read from a small sample written
here in its published layout, to the exact requests its schema says, and each kind of bad line named."""

import numpy as np
import pytest

from workloads.stream import READ, WRITE
from workloads.traces import (
    ArcTrace,
    CacheLibTrace,
    MSRTrace,
    TraceError,
    TraceWorkload,
    TwitterTrace,
    detect_format,
    key_id,
    open_trace,
    reader_options,
)

R, W = READ, WRITE


def read_all(trace, chunk=1000):
    batches = list(trace.chunks(chunk))
    columns = {c: np.concatenate([getattr(b, c) for b in batches]).tolist() for c in ("key", "time", "size", "op")}
    if batches[0].ttl is not None:
        columns["ttl"] = np.concatenate([b.ttl for b in batches]).tolist()
    return columns


def sample(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_each_format_is_told_by_its_suffix_anywhere_in_the_name():
    assert detect_format("cluster52.twitter.zst") == "twitter"
    assert detect_format("kvcache_traces_1.cachelib.csv.zst") == "cachelib"
    assert detect_format("hm_0.msr.csv.gz") == "msr"
    assert detect_format("P1.lis") == "arc" and detect_format("OLTP.arc.txt") == "arc"
    assert detect_format("plain.csv.gz") == "csv"  # no format suffix: the generic extension


# -- Twitter -------------------------------------------------------------------------------

TWITTER = (
    "0,nz:u:eeW511W3dcH3de3d15ec,22,1000,17,get,0\n"
    "0,nz:u:eeW511W3dcH3de3d15ec,22,1000,17,set,3600\n"
    "1,a:b,3,0,4,gets,0\n"
    "3,12345,5,7,17,incr,60\n"
    "4,a:b,3,20,4,delete,0\n"
)


def test_twitter_requests_as_the_schema_says(tmp_path):
    trace = open_trace(sample(tmp_path, "c.twitter", TWITTER))
    assert isinstance(trace, TwitterTrace) and trace.has_ttl and trace.seconds_per_unit == 1.0
    hashed, short = key_id("nz:u:eeW511W3dcH3de3d15ec"), key_id("a:b")
    assert read_all(trace) == {
        "key": [hashed, hashed, short, 12345, short],  # an integer key stays that integer
        "time": [0, 0, 1, 3, 4],
        "size": [1022, 1022, 3, 12, 23],  # key size + value size
        "op": [R, W, R, W, W],  # get, gets read; set, incr, delete write
        "ttl": [0, 3600, 0, 60, 0],
    }
    values_only = open_trace(trace.path, object_size="value")
    assert read_all(values_only)["size"] == [1000, 1000, 0, 7, 20]
    assert read_all(open_trace(trace.path, key_type="str"))["key"][3] == key_id("12345")


def test_twitter_keys_may_hold_commas(tmp_path):
    # The key is what lies between the first field and the last five.
    path = sample(tmp_path, "c.twitter", "5,a,b,,c,3,10,1,get,0\n6,plain,5,1,1,set,9\n")
    columns = read_all(open_trace(path))
    assert columns["key"] == [key_id("a,b,,c"), key_id("plain")]
    assert columns["size"] == [13, 6] and columns["ttl"] == [0, 9]


@pytest.mark.parametrize(
    "body, message",
    [
        ("1,k,1,2,3,get,0\n2,k,1,2\n", r"line 2: expected 7 comma-separated fields .*found 4"),
        ("1,k,1,2,3,get,0\n2,k,1,2,3,frobnicate,0\n", r"line 2: column 'operation': unknown op 'frobnicate'"),
        ("1,k,1,2,3,get,0\n\n2,k,1,x,3,get,0\n", r"line 3: column 'value_size': expected a non-negative integer"),
        (
            "1,k,1,2,3,get,0\n2,k,1,2,3,set,-5\n",
            r"line 2: column 'ttl': expected a non-negative integer \(ttl\), got -5",
        ),
        ("1,,1,2,3,get,0\n", r"line 1: empty key"),
    ],
)
def test_twitter_bad_lines_are_named(tmp_path, body, message):
    with pytest.raises(TraceError, match=r"c\.twitter: " + message):
        list(open_trace(sample(tmp_path, "c.twitter", body)).chunks(1))


# -- CacheLib ------------------------------------------------------------------------------


def test_cachelib_2022_layout_expands_op_count(tmp_path):
    path = sample(
        tmp_path,
        "kv.cachelib",
        "key,op,size,op_count,key_size\n1500000001,SET,80,1,40\n1500000001,GET,0,1,40\n1500000777,GET,150,18,70\n",
    )
    trace = open_trace(path)
    assert isinstance(trace, CacheLibTrace) and not trace.has_time and not trace.has_ttl
    columns = read_all(trace, chunk=7)
    assert columns["key"] == [1500000001] * 2 + [1500000777] * 18
    assert columns["size"] == [120, 40] + [220] * 18  # key size + value size
    assert columns["op"] == [W, R] + [R] * 18
    assert columns["time"] == list(range(20))  # no op_time: request numbers


def test_cachelib_2024_layout_by_header_names(tmp_path):
    path = sample(
        tmp_path,
        "kv.cachelib.csv",
        "op_time,key,key_size,op,op_count,size,cache_hits,ttl,usecase,sub_usecase\n"
        "700000000,0f1e2d3c4b5a6978,48,GET,1,90,1,0,11,12\n"
        "700000000,99aa88bb77cc66dd,24,GET,2,0,0,0,13,13\n"
        "700000002,0f1e2d3c4b5a6978,48,SET_LEASE,1,70,0,3600,11,12\n"
        "700000003,99aa88bb77cc66dd,24,GET_LEASE,1,10,1,0,13,13\n"
        "700000005,0f1e2d3c4b5a6978,48,DELETE,1,0,0,0,11,12\n",
    )
    trace = open_trace(path)
    assert trace.has_time and trace.has_ttl
    first, second = key_id("0f1e2d3c4b5a6978"), key_id("99aa88bb77cc66dd")
    assert read_all(trace) == {
        "key": [first, second, second, first, second, first],
        "time": [700000000, 700000000, 700000000, 700000002, 700000003, 700000005],
        "size": [138, 24, 24, 118, 34, 48],
        "op": [R, R, R, W, R, W],  # a DELETE writes
        "ttl": [0, 0, 0, 3600, 0, 0],
    }


def test_cachelib_without_a_header_is_the_first_layout(tmp_path):
    # key,op,size,op_count,key_size and, on any line, a ttl; fields after it are ignored, as CacheLib does.
    path = sample(tmp_path, "kv.cachelib", "42,GET,10,2,4\n43,SET,5,1,4,60\n44,GET,1,1,1,0,extra\n")
    trace = open_trace(path)
    assert trace.names == ("key", "op", "size", "op_count", "key_size", "ttl") and trace.has_ttl
    columns = read_all(trace)
    assert columns["key"] == [42, 42, 43, 44] and columns["size"] == [14, 14, 9, 2]
    assert columns["ttl"] == [0, 0, 60, 0] and columns["op"] == [R, R, W, R]


@pytest.mark.parametrize(
    "text, message",
    [
        ("key,op,size,key_size\n1,GET,1,1\n", r"line 1: no column 'op_count', which the cachelib format needs"),
        ("key,op,size,op_count,key_size\n1,GET,1,0,1\n", r"line 2: column 'op_count': a request is made at least once"),
        ("key,op,size,op_count,key_size\n1,GET,1,1\n", r"line 2: expected 5 comma-separated fields"),
        ("key,op,size,op_count,key_size\n1,PUT,1,1,1\n", r"line 2: column 'op': unknown op 'PUT'"),
        ("a,b,c\n1,2,3\n", r"line 1: neither a header naming the columns nor a line of 5 or 6 fields"),
    ],
)
def test_cachelib_bad_input_is_named(tmp_path, text, message):
    with pytest.raises(TraceError, match=r"kv\.cachelib: " + message):
        list(open_trace(sample(tmp_path, "kv.cachelib", text)).chunks())


# -- MSR Cambridge -----------------------------------------------------------------------------

MSR = (
    "128500000000000000,web,0,Write,7014912,4096,26\n"
    "128500000013320526,web,0,Read,1074696192,8192,113\n"
    "128500000020000000,web,0,Read,1074700288,512,90\n"
)


def test_msr_each_io_is_a_request_by_default(tmp_path):
    trace = open_trace(sample(tmp_path, "web_0.msr.csv", MSR))
    assert isinstance(trace, MSRTrace) and trace.seconds_per_unit == 1e-7
    columns = read_all(trace)
    assert columns["key"] == [7014912, 1074696192, 1074700288]  # byte offsets
    assert columns["size"] == [4096, 8192, 512] and columns["op"] == [W, R, R]
    assert (columns["time"][1] - columns["time"][0]) * trace.seconds_per_unit == pytest.approx(1.3320526)


def test_msr_blocks_are_every_block_an_io_touches(tmp_path):
    trace = open_trace(
        sample(tmp_path, "web_0.msr.csv", MSR + "128500000030000000,web,0,Read,4096,0,1\n"), block_size=4096
    )
    columns = read_all(trace)
    # 7014912 / 4096 = 1712.6: the write spans blocks 1712 and 1713; the empty I/O touches none.
    assert columns["key"] == [1712, 1713, 262377, 262378, 262378]
    assert columns["size"] == [4096] * 5 and columns["op"] == [W, W, R, R, R]
    assert columns["time"][:2] == [128500000000000000] * 2
    assert read_all(open_trace(trace.path, block_size=4096, key_type="int"))["key"] == columns["key"]


def test_msr_bad_input_is_named(tmp_path):
    for text, message in [
        ("Timestamp,Hostname,DiskNumber,Type,Offset,Size,ResponseTime\n1,h,0,Read,0,512,1\n", None),
        ("1,h,0,Read,0,512,1\n2,h,0,Trim,0,512,1\n", r"line 2: column 'Type': unknown op 'Trim'"),
        ("1,h,0,Read,0,512,1\n2,h,0,Read,-512,512,1\n", r"line 2: column 'Offset': expected a non-negative integer"),
        ("1,h,0,Read,0\n", r"line 1: expected 6 comma-separated fields"),
    ]:
        path = sample(tmp_path, "x.msr", text)
        if message is None:  # a header line is skipped
            assert read_all(open_trace(path))["key"] == [0]
        else:
            with pytest.raises(TraceError, match=r"x\.msr: " + message):
                list(open_trace(path).chunks())
    with pytest.raises(TraceError, match="block_size must be a positive whole number of bytes"):
        open_trace(path, block_size=0)


# -- ARC and plain block lists -------------------------------------------------------------------


def test_arc_lines_expand_to_runs_of_blocks(tmp_path):
    trace = open_trace(sample(tmp_path, "P9.lis", "100 3 0 1\n7\n\n5\t1\t0\t2\n  8 2 0 3\n"))
    assert isinstance(trace, ArcTrace) and not trace.has_size
    columns = read_all(trace)
    assert columns["key"] == [100, 101, 102, 7, 5, 8, 9]
    assert columns["time"] == list(range(7)) and columns["size"] == [1] * 7 and columns["op"] == [R] * 7
    # Block numbers are numbers; as text (key_type="str") they are hashed, as the txt reader hashes text.
    assert read_all(open_trace(trace.path, key_type="str"))["key"] == [key_id(str(k)) for k in columns["key"]]


def test_a_long_run_streams_in_bounded_chunks(tmp_path):
    """One line of 200,000 blocks: exact chunks, never the run at once."""
    trace = open_trace(sample(tmp_path, "big.arc", "0 200000 0 0\n1 1 0 1\n"))
    batches = list(trace.chunks(65536))
    assert [len(b) for b in batches] == [65536, 65536, 65536, 3393]
    keys = np.concatenate([b.key for b in batches])
    assert (keys[:200000] == np.arange(200000)).all() and keys[-1] == 1


@pytest.mark.parametrize(
    "text, message",
    [
        ("1 2 0 0\n3 0 0 0\n", r"line 2: column 'count': a record is of at least 1 block; got 0"),
        ("1 2 0 0 9\n", r"line 1: more than 4 space-separated fields"),
        ("1 2 0 0\nabc\n", r"line 2: column 'start': expected a non-negative integer \(block\), got 'abc'"),
    ],
)
def test_arc_bad_lines_are_named(tmp_path, text, message):
    with pytest.raises(TraceError, match=r"t\.arc: " + message):
        list(open_trace(sample(tmp_path, "t.arc", text)).chunks())


def test_reader_options_say_what_each_format_takes():
    """What a command line may pass to each reader (the rest is a TraceError from open_trace)."""
    assert reader_options("twitter") == ("key_type", "object_size")
    assert reader_options("msr") == ("block_size", "key_type") and reader_options("arc") == ("key_type",)
    assert reader_options("oraclegeneral") == ()
    assert "ttl" in reader_options("csv")


def test_a_format_with_a_time_unit_drives_the_simulator_in_it(tmp_path):
    """TraceWorkload(time_unit=None) takes the format's unit: MSR's 100 ns ticks, Twitter's seconds."""
    workload = TraceWorkload(sample(tmp_path, "web_0.msr.csv", MSR), time_unit=None)
    assert workload.seconds_per_unit == 1e-7
    times = np.concatenate([batch.time for batch in workload.batches(seed=1, total=10)])
    assert times.tolist() == pytest.approx([0.0, 1.3320526, 2.0])
    assert TraceWorkload(sample(tmp_path, "plain.csv", "key,time\n1,5\n"), time_unit=None).seconds_per_unit == 1.0
    backwards = sample(tmp_path, "t.twitter", "5,a,1,1,1,get,0\n\n4,b,1,1,1,get,0\n")
    with pytest.raises(TraceError, match=r"t\.twitter: line 3: timestamp goes back in time"):
        list(TraceWorkload(backwards, time_unit=None).batches(1, 10))
