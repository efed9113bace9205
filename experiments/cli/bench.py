"""`kvsim bench`: its flags, and the report it prints (the measurements are experiments/bench's)."""

from __future__ import annotations

import sys

from experiments.cli.commands import summary

#: experiments.bench.SECTIONS' names, in its order, for `kvsim bench -h`: that module imports every
#: section's (pandas, the engine), which only the measuring needs (a test holds the two equal)
SECTION_NAMES = (
    "des",
    "des_memory",
    "replay",
    "policies",
    "mrc",
    "shards",
    "readers",
    "streaming",
    "memory",
    "grid",
    "compressed",
    "miniature",
    "trace_stats",
    "sweep",
    "dask",
    "configs",
    "servers",
)


def add_bench_command(commands) -> None:
    bench_parser = commands.add_parser("bench", help=summary("bench"), description=summary("bench").capitalize() + ".")
    bench_parser.add_argument("--quick", action="store_true", help="smaller runs: a minute or two")
    bench_parser.add_argument("--json", action="store_true", help="print one JSON object of figures")
    bench_parser.add_argument(
        "--only", metavar="SECTIONS", default=None, help=f"comma-separated subset of: {', '.join(SECTION_NAMES)}"
    )
    bench_parser.set_defaults(handler=command_bench)


def command_bench(args) -> int:
    import json

    from experiments import bench
    from experiments.config import ConfigError

    sections = bench.SECTIONS
    if args.only:
        sections = tuple(name.strip() for name in args.only.split(","))
        unknown = [name for name in sections if name not in bench.SECTIONS]
        if unknown:
            raise ConfigError(f"--only: unknown section {unknown[0]!r}; valid: {', '.join(bench.SECTIONS)}")
    progress = None if args.json else (lambda text: print(text, file=sys.stderr, flush=True))
    figures = bench.run_bench(quick=args.quick, sections=sections, progress=progress)
    print(json.dumps(figures, indent=2) if args.json else bench.report(figures))
    return 0
