"""`kvsim validate` and the server models, checked against real redis-server and memcached.

The servers come from the distribution's packages (.ci/run installs them).
Without a binary, the tests that need it skip and say why; under CI
(KVSIM_CI=1, set by .ci/run) a missing server is a failure.  Every replay
here is small (about a second); the full agreement table is in the README.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from experiments.cli import main
from experiments.validate.servers import MemcachedServer, RedisServer
from policies.server_memory import memcached_chunk_sizes, memcached_class, memcached_item_bytes, redis_entry_bytes
from policies.server_memory import redis_table_bytes as table
from tests.experiments.conftest import kvsim_command, kvsim_env
from tests.trace_files import CLOUDPHYSICS, block_io_trace, write_bin, zipf_keys
from workloads.rng import rng_for

REDIS_TOLERANCE = 0.01  # the targets: |kvsim - real| hit ratio
MEMCACHED_TOLERANCE = 0.02


def need(binary: str) -> None:
    if shutil.which(binary):
        return
    if os.environ.get("KVSIM_CI"):
        pytest.fail(f"{binary} is not on PATH under CI: .ci/run installs redis-server and memcached")
    pytest.skip(f"{binary} is not on PATH: {INSTALL_SERVERS}")


#: what a skip says to do (the README's words too)
INSTALL_SERVERS = "apt-get install redis-server memcached (Debian, Ubuntu), brew install redis memcached (macOS)"


@pytest.mark.parametrize("binary", ["redis-server", "memcached"])
def test_a_missing_server_skips_naming_it_and_the_command_that_installs_it(binary, monkeypatch):
    monkeypatch.delenv("KVSIM_CI", raising=False)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(pytest.skip.Exception) as skipped:
        need(binary)
    assert str(
        skipped.value
    ) == f"{binary} is not on PATH: apt-get install redis-server memcached (Debian, Ubuntu), " + (
        "brew install redis memcached (macOS)"
    )


#: memory for each trace: a few thousand keys, well under the 10,000 the trace asks for.  Small
#: memories make Redis's connection buffers (tens of KiB, not modelled) a visible share.
MEMORY = {("redis", "fixed"): "8MiB", ("redis", "varied"): "8MiB", ("memcached", "fixed"): "8MiB"}
# memcached gives each slab class its first page whatever -m says: varied sizes (about ten
# classes) need -m well above ten pages before it evicts at all.
MEMORY["memcached", "varied"] = "12MiB"


#: the block-I/O traces: generated (tests/trace_files.py), and libCacheSim's CloudPhysics sample where ../shared has it
BLOCK_IO = ["block-io", *(["cloudphysics"] if CLOUDPHYSICS.exists() else [])]


@pytest.fixture(scope="module")
def traces(tmp_path_factory):
    """Zipf(0.9) over 30,000 keys, 30,000 requests (10,046 keys): values of 2000 bytes, or 1 to 8 KiB a key.

    And the block-I/O traces: values of 512 B to 68 KiB, most of 60 KiB or more.
    """
    folder = tmp_path_factory.mktemp("traces")
    keys = zipf_keys(30_000, keys=30_000, alpha=0.9, seed=3)
    distinct, which = np.unique(keys, return_inverse=True)
    sizes = np.clip(rng_for(3, "sizes").lognormal(np.log(2500), 0.6, len(distinct)), 1000, 8000).astype(np.int64)
    block_io = block_io_trace()
    return {
        "fixed": write_bin(folder / "fixed.bin", keys, sizes=np.full(len(keys), 2000)),
        "varied": write_bin(folder / "varied.bin", keys, sizes=sizes[which]),
        "block-io": write_bin(folder / "block-io.bin", block_io.keys, block_io.times, block_io.sizes),
        "cloudphysics": CLOUDPHYSICS,
    }


@pytest.fixture(autouse=True)
def scratch(tmp_path, monkeypatch) -> Path:
    """This test's own temporary folder, where the servers it starts keep their files (as $TMPDIR would
    put them): the test asserts about what it made, never about the system's temporary directory,
    where other kvsim processes validate at the same time."""
    folder = tmp_path / "scratch"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def server_dirs(scratch: Path) -> set:
    """The directories of the servers this test started and has not stopped (servers.py makes them)."""
    return set(scratch.glob("kvsim-redis-*")) | set(scratch.glob("kvsim-memcached-*"))


def validate(tmp_path, capsys, *args, rate=40_000) -> dict:
    """Run `kvsim validate` in process into tmp_path/validation; the report it wrote, after checking the server is gone."""
    scratch = Path(tempfile.gettempdir())  # this test's own (the `scratch` fixture)
    out = tmp_path / "validation"  # a new folder: tmp_path holds the scratch folder, which validate refuses
    assert main(["validate", *map(str, args), "--rate", str(rate), "--out", str(out)]) == 0
    report = json.loads((out / "validate.json").read_text())
    assert f"{report['server_hit_ratio']:.5f}" in capsys.readouterr().out
    assert not Path(f"/proc/{report['pid']}").exists() or sys.platform != "linux"  # the server has exited
    assert not server_dirs(scratch)  # its files are gone too
    assert report["server_counters_match"] and report["sets_refused"] == 0
    return report


@pytest.mark.parametrize("sizes", ["fixed", "varied"])
@pytest.mark.parametrize("policy", ["allkeys-lru", "allkeys-lfu", "allkeys-random"])
def test_redis_model_agrees_with_redis(traces, tmp_path, capsys, policy, sizes):
    need("redis-server")
    memory = MEMORY["redis", sizes]
    # Redis's LRU clock ticks once a second: a replay of one second leaves most keys tied, and
    # which side of a tick each request falls on decides what goes (+-0.01 run to run); at
    # 10,000 requests a second the replay spans 3 ticks, and runs agree within +-0.005.
    rate = 10_000 if policy == "allkeys-lru" else 40_000
    report = validate(tmp_path, capsys, "redis", traces[sizes], "--memory", memory, "--policy", policy, rate=rate)
    assert report["requests"] == 30_000 and report["model"] == "redis-" + policy.removeprefix("allkeys-")
    assert report["settings"]["maxmemory-policy"] == policy and report["server_evictions"] > 1000
    assert abs(report["difference"]) <= REDIS_TOLERANCE, report
    if sizes == "fixed":  # as many keys fit, give or take the connection buffers Redis resizes (tens of KiB)
        assert abs(report["model_keys"] - report["server_keys"]) * redis_entry_bytes(16, 2000) <= 64 * 1024


@pytest.mark.parametrize("sizes", ["fixed", "varied"])
def test_memcached_model_agrees_with_memcached(traces, tmp_path, capsys, sizes):
    need("memcached")
    report = validate(tmp_path, capsys, "memcached", traces[sizes], "--memory", MEMORY["memcached", sizes])
    assert report["settings"]["growth_factor"] == "1.25" and report["server_evictions"] > 1000
    assert abs(report["difference"]) <= MEMCACHED_TOLERANCE, report
    assert report["server_slabs_moved"] == 0  # a second's replay: page reassignment never starts


def test_three_memory_sizes_on_redis(traces, tmp_path, capsys):
    need("redis-server")
    ratios = []
    for memory in ("4MiB", "8MiB", "16MiB"):
        args = ("redis", traces["fixed"], "--memory", memory, "--policy", "allkeys-random")
        report = validate(tmp_path / memory, capsys, *args)
        assert abs(report["difference"]) <= REDIS_TOLERANCE, report
        ratios.append(report["server_hit_ratio"])
    assert ratios == sorted(ratios)


@pytest.mark.parametrize("trace", BLOCK_IO)
@pytest.mark.parametrize("server", ["redis", "memcached"])
def test_agreement_on_a_block_io_trace(traces, tmp_path, capsys, server, trace):
    need({"redis": "redis-server", "memcached": "memcached"}[server])
    # Redis gets 64 MiB: its values are of 60 KiB, so 16 MiB holds only about 200 keys, and the
    # connection buffers Redis resizes under load (not modelled) then move a dozen keys, 0.011 of
    # the hit ratio (seen once under CI's load). At 64 MiB (1,000 to 2,000 keys, 1,600 evictions
    # or more) eight runs beside three busy processes differed by 0.0004 at most.
    memory = "64MiB" if server == "redis" else "16MiB"
    report = validate(tmp_path, capsys, server, traces[trace], "--memory", memory, "--requests", "8000")
    tolerance = REDIS_TOLERANCE if server == "redis" else MEMCACHED_TOLERANCE
    assert report["requests"] == 8000 and abs(report["difference"]) <= tolerance, report
    assert report["server_evictions"] > 1000


def test_redis_memory_model_matches_used_memory():
    # Per key, what used_memory grows by from 2048 to 4096 keys (the bucket array aside).  The
    # server's cron resizes our connection's buffers now and then, which can fall between two
    # readings: the median of three measurements.
    need("redis-server")
    keys = [b"%016x" % i for i in range(4096)]
    with RedisServer(0) as server:  # maxmemory 0: no limit, no eviction
        server.warm_up(64, 1024)

        def growth(value: int) -> float:
            server.call(b"FLUSHALL", b"SYNC")
            for start in range(0, 2048, 64):
                server.set_many(keys[start : start + 64], [value] * 64)
            before = server.stats()["memory_used"]
            for start in range(2048, 4096, 64):
                server.set_many(keys[start : start + 64], [value] * 64)
            return (server.stats()["memory_used"] - before - (table(4096) - table(2048))) / 2048

        for value in (10, 45, 100, 300, 1000, 4000, 33_000):
            measured = sorted(growth(value) for _ in range(3))[1]
            assert abs(measured - redis_entry_bytes(16, value)) <= 0.5, (value, measured)


def test_memcached_slab_classes_are_the_servers():
    need("memcached")
    values = (10, 100, 1000, 10_000, 100_000)
    with MemcachedServer(64) as server:
        for value in values:
            assert server.set_many([b"%016x" % value], [value]) == 0
        found = server._stats(b"slabs")
    sizes = memcached_chunk_sizes()
    for value in values:  # each item in the class the model puts it in (memcached counts classes from 1)
        cls = memcached_class(memcached_item_bytes(16, value), sizes) + 1
        assert int(found[f"{cls}:chunk_size"]) == sizes[cls - 1] and found[f"{cls}:used_chunks"] == "1"
    assert int(found["active_slabs"]) == len(values)


@pytest.mark.parametrize(
    "args, message",
    [
        (["redis", "{trace}", "--memory", "lots"], "--memory must be a size"),
        (["memcached", "{trace}", "--memory", "64MiB", "--policy", "allkeys-lru"], "--policy applies to redis only"),
        (["memcached", "{trace}", "--memory", "1536KiB"], "whole MiB, at least 2MiB"),
        (["redis", "{trace}", "--memory", "64MiB", "--policy", "volatile-lru"], "--policy must be one of"),
        (["redis", "{trace}", "--memory", "64MiB", "--rate", "0"], "--rate must be a number from 1 to 1e+09"),
        (["redis", "{trace}", "--memory", "64MiB", "--requests", "ten"], "--requests must be an integer"),
        (["redis", "{trace}", "--memory", "64MiB", "--requests", "-5"], "--requests must be an integer from 1"),
        (["redis", "{trace}", "--memory", "64MiB", "--requests", "9" * 30], "--requests must be an integer from 1"),
        (["redis", "{trace}", "--memory", "2TiB"], "--memory may be at most 1TiB"),
        (["redis", "{trace}", "--memory", "64MiB", "--seed", str(2**63)], "--seed must be an integer from 0"),
        (
            ["redis", "{trace}", "--memory", "64MiB", "--value-size", str(512 * 2**20 + 1)],
            "--value-size must be a whole number of bytes from 0 to 536870912 for redis (its proto-max-bulk-len, "
            "512MiB: the longest value it accepts)",
        ),
        (
            ["memcached", "{trace}", "--memory", "64MiB", "--value-size", "1e12"],
            "--value-size must be a whole number of bytes from 0 to 1048576 for memcached (its item size max, -I 1m",
        ),
        (["memcached", "{trace}", "--memory", "64MiB", "--growth-factor", "1"], "--growth-factor must be a number > 1"),
        (["memcached", "{trace}", "--memory", "64MiB", "--growth-factor", "nan"], "--growth-factor must be a number"),
        (["redis", "{trace}", "--memory", "64MiB", "--growth-factor", "1.1"], "--growth-factor applies to memcached"),
        (["redis", "{missing}", "--memory", "64MiB"], "no such trace file"),
    ],
)
def test_bad_arguments_stop_with_one_line(traces, tmp_path, capsys, args, message):
    paths = {"trace": traces["fixed"], "missing": tmp_path / "nope.bin"}
    assert main(["validate", *[a.format(**paths) for a in args], "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert message in error and error.startswith("kvsim: error:") and len(error.strip().splitlines()) == 1, error
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "held, message",
    [
        ("validate.json", "holds another validation's report (validate.json); choose another --out, or pass --force"),
        ("notes.txt", "is not empty (it holds notes.txt); choose another --out, or pass --force"),
    ],
)
def test_a_folder_holding_anything_is_refused_before_the_server_starts(
    traces, tmp_path, capsys, monkeypatch, held, message
):
    """As `run` and `mrc` refuse another experiment's folder: one line, exit 2, the folder as it was.

    No server is on PATH, so the refusal comes before any server would start (this test needs none)."""
    out = tmp_path / "o"
    out.mkdir()
    (out / held).write_text("someone else's\n")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert main(["validate", "redis", str(traces["fixed"]), "--memory", "8MiB", "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert f"--out {out} {message}" in error and len(error.strip().splitlines()) == 1, error
    assert [path.name for path in out.iterdir()] == [held] and (out / held).read_text() == "someone else's\n"


def test_force_replaces_another_validations_report(traces, tmp_path, capsys):
    need("redis-server")
    out = tmp_path / "o"
    out.mkdir()
    (out / "validate.json").write_text('{"server": "memcached"}\n')
    args = ["validate", "redis", str(traces["fixed"]), "--memory", "8MiB", "--requests", "2000", "--out", str(out)]
    assert main([*args, "--force"]) == 0
    report = json.loads((out / "validate.json").read_text())
    assert report["requests"] == 2000 and report["settings"]["maxmemory-policy"] == "allkeys-lru"
    capsys.readouterr()
    assert main(args) == 2  # its own report too: a second run asks for --force
    assert "holds another validation's report" in capsys.readouterr().err


@pytest.mark.parametrize("server, package", [("redis", "redis-server"), ("memcached", "memcached")])
def test_a_missing_server_binary_is_named_with_its_package(traces, tmp_path, capsys, monkeypatch, server, package):
    monkeypatch.setenv("PATH", str(tmp_path))  # no server on PATH
    assert main(["validate", server, str(traces["fixed"]), "--memory", "8MiB", "--out", str(tmp_path / "o")]) == 2
    error = capsys.readouterr().err
    binary = {"redis": "redis-server", "memcached": "memcached"}[server]
    assert f"{binary} not found on PATH (Debian: apt-get install {package})" in error
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("server", ["redis", "memcached"])
def test_values_longer_than_the_server_takes_are_refused_sets_not_a_broken_connection(tmp_path, capsys, server):
    """A trace's value beyond what the server accepts (memcached's -I, Redis's proto-max-bulk-len) is a SET
    the server refuses: counted so, never sent (Redis would close the connection on it)."""
    need({"redis": "redis-server", "memcached": "memcached"}[server])
    limit = {"redis": RedisServer.max_value, "memcached": MemcachedServer.max_value}[server]
    keys = np.arange(200) % 50
    sizes = np.where(keys % 10 == 0, limit + 1, 100)  # keys 0, 10, 20, 30, 40: too long, each miss a SET
    trace = write_bin(tmp_path / "long-values.bin", keys, sizes=sizes)
    assert main(["validate", server, str(trace), "--memory", "8MiB", "--out", str(tmp_path / "o")]) == 0
    report = json.loads((tmp_path / "o" / "validate.json").read_text())
    assert report["sets_refused"] == 5 * 4 and report["server_hit_ratio"] == report["model_hit_ratio"]
    capsys.readouterr()


@pytest.mark.parametrize("factor", ["1.01", "1.1", "1.25", "2"])
def test_the_models_slab_classes_are_memcacheds_at_any_growth_factor(factor):
    """memcached -vv lists its classes: at most 63 (62 grown by -f, then the largest), even where -f is
    so close to 1 that the chunk never grows (1.01 at 96 bytes: 62 classes of 96 bytes)."""
    need("memcached")
    user = ["-u", "nobody"] if os.geteuid() == 0 else []
    command = ["memcached", "-f", factor, "-vv", "-p", "0", "-U", "0", *user]  # no port: it lists and waits
    try:
        listed = subprocess.run(command, capture_output=True, text=True, timeout=1).stderr
    except subprocess.TimeoutExpired as stopped:  # killed after its second: what it printed by then
        listed = (stopped.stderr or b"").decode()
    classes = dict(re.findall(r"slab class\s+(\d+): chunk size\s+(\d+)", listed))
    server = tuple(int(classes[index]) for index in sorted(classes, key=int))
    assert memcached_chunk_sizes(float(factor)) == server and len(server) <= 63


@pytest.mark.skipif(sys.platform != "linux", reason="finds the server's process in /proc")
def test_ctrl_c_stops_the_server_and_removes_its_files(tmp_path, scratch):
    need("redis-server")
    keys = zipf_keys(200_000, keys=50_000, seed=4)
    trace = write_bin(tmp_path / "long.bin", keys, sizes=np.full(len(keys), 100))
    command = kvsim_command("validate", "redis", trace, "--memory", "8MiB", "--rate", "2000", "--out", tmp_path / "o")
    run = subprocess.Popen(
        command,
        env={**kvsim_env(), "TMPDIR": str(scratch)},  # the server's files in this test's own folder
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # As from a terminal: a shell without job control starts background jobs ignoring
        # SIGINT, and a child would inherit that.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 60
    while not server_dirs(scratch) and time.monotonic() < deadline:
        time.sleep(0.05)
    started = server_dirs(scratch)
    assert started, "the server never started"
    children = Path(f"/proc/{run.pid}/task/{run.pid}/children").read_text().split()
    time.sleep(0.5)  # into the replay
    run.send_signal(signal.SIGINT)
    _, stderr = run.communicate(timeout=30)
    assert run.returncode == 130 and "the server was stopped and its files removed" in stderr, stderr
    assert not any(Path(f"/proc/{pid}").exists() for pid in children)
    assert not any(path.exists() for path in started)
    assert not (tmp_path / "o").exists()
