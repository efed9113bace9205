"""Running an experiment: its runs simulated somewhere, saved one file each, then its tables and figures.

    runner.py        the body of `kvsim run` and `experiments.run`: the output folder, the
                     manifest, the runs, the tables, the figures
    executors.py     where runs are simulated: this process, a local pool, a Dask cluster
    runs.py          one file per finished run, verified before it is trusted (resume)
    dask_cluster.py  a real Dask scheduler and workers on this machine, for tests and `kvsim bench`

It reads checked configs (experiments/config) and writes through
experiments/output; it knows no command line.
"""
