"""What kvsim writes, and the rules every writer follows.

    tables.py   the tidy tables of an experiment (results.csv, summary.csv, nodes.csv,
                latency.csv, timeseries.csv), from its runs' records; confidence intervals
    domains.py  every number written is finite and within its domain: the one check
    outdir.py   an output folder: checked, locked for one writer, written atomically

Nothing here simulates or draws: the runner (experiments/execute), the
figures (experiments/plots) and every command that writes a folder build on it.
"""
