"""The bench's reading figures for compressed traces: what they time, and the floor they are read against."""

import numpy as np

from experiments.bench.traces import report_compressed
from workloads.traces import open_trace
from workloads.traces.measure import compressed_read_cost


def test_compressed_read_cost_times_both_reads_and_zstds_own_decompression(tmp_path):
    figures = compressed_read_cost(tmp_path, requests=30_000, repeat=1)
    plain, packed = (tmp_path / f"zipf-30000.oracleGeneral{suffix}" for suffix in ("", ".zst"))
    same = [np.concatenate([b.key for b in open_trace(path).chunks()]) for path in (plain, packed)]
    assert len(same[0]) == 30_000 and np.array_equal(*same)  # the two files hold the same requests
    assert figures["zstd_bytes"] < figures["plain_bytes"] == 30_000 * 24
    for name in ("read_plain_cpu_s", "read_zstd_cpu_s", "decompress_cpu_s"):
        assert figures[name] > 0
    assert figures["read_floor_ratio"] == figures["decompress_cpu_s"] / figures["read_plain_cpu_s"]
    lines = report_compressed(
        {f"compressed_{k}": v for k, v in figures.items()}
        | {"compressed_replay_ratio": 1.2, "compressed_replay_zstd_s": 1.2, "compressed_replay_plain_s": 1.0}
    )
    text = "\n".join(lines)
    assert "zstd decompression / plain read" in text and f"{figures['read_floor_ratio']:.2f}" in text
