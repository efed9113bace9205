"""`kvsim replay` and `kvsim mrc`: a trace through eviction policies, without a clock.

    inputs.py   a trace named on the command line and how to read it; capacities, counts and
                policy names from their flags' text (shared with `kvsim validate`)
    replay.py   every policy at every capacity from one read of the trace: miss ratios
    mrc.py      a policy's miss-ratio curve: computed, and written to its folder

The flags are declared in experiments/cli/trace.py, which calls these.
"""
