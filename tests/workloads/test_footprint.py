"""The footprint pass: requests, distinct objects and distinct bytes (first sizes) of a trace, in one streamed pass."""

import numpy as np
import pytest

from tests.trace_files import block_io_trace
from workloads.traces import Footprint, TraceError, footprint, open_trace, write_trace


def by_hand(keys, sizes) -> Footprint:
    """The footprint computed whole, in memory: each key's size at its first request."""
    _, first = np.unique(keys, return_index=True)
    return Footprint(len(keys), len(first), int(np.asarray(sizes)[first].sum()))


def test_the_first_size_of_each_object_counts(tmp_path):
    # Key 5 is first seen at 100 bytes, later 900: it counts 100.  Key 7 at 30.  Key -3 at 4.
    path = write_trace(tmp_path / "t.csv", [5, 7, 5, -3, 7, 5], sizes=[100, 30, 900, 4, 30, 900])
    assert footprint(path) == Footprint(requests=6, objects=3, bytes=134)
    assert footprint(path).mean_object_bytes == pytest.approx(134 / 3)


@pytest.mark.parametrize("chunk", [1, 7, 1000, 65536])
def test_a_block_io_trace_streamed_in_any_chunks(tmp_path, chunk):
    """Chunk borders do not matter: an object first seen in one chunk is not new in the next."""
    trace = block_io_trace(n_requests=20_000)
    path = write_trace(tmp_path / "b.oracleGeneral.zst", trace.keys, trace.sizes, trace.times)
    assert footprint(path, chunk=chunk) == by_hand(trace.keys, trace.sizes)


def test_every_format_agrees(tmp_path):
    rng = np.random.default_rng(8)
    keys = rng.integers(0, 2000, 30_000) * 3
    sizes = (keys % 1000) + 1
    expected = by_hand(keys, sizes)
    for name in ("t.csv.gz", "t.oracleGeneral.zst", "t.twitter.xz", "t.cachelib.bz2", "t.msr"):
        assert footprint(write_trace(tmp_path / name, keys, sizes)) == expected, name
    # Formats without sizes count every object as 1.
    counted = Footprint(expected.requests, expected.objects, expected.objects)
    for name in ("t.txt.zst", "t.arc.gz"):
        assert footprint(write_trace(tmp_path / name, keys)) == counted, name


def test_an_open_trace_or_a_path_with_options(tmp_path):
    path = tmp_path / "web.msr"
    path.write_text("1,h,0,Read,0,8192,1\n2,h,0,Read,4096,4096,1\n")
    assert footprint(path) == Footprint(2, 2, 12288)  # two requests, two offsets
    assert footprint(path, block_size=4096) == Footprint(3, 2, 8192)  # blocks 0, 1, then 1 again
    assert footprint(open_trace(path, block_size=4096)) == Footprint(3, 2, 8192)
    with pytest.raises(TraceError, match="no requests in the file"):
        empty = tmp_path / "e.csv"
        empty.write_text("key,size\n")
        footprint(empty)
