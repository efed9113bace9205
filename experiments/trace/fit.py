"""`kvsim trace fit`: a workload config fitted to a trace, with what could not be fitted in its comments.

    kvsim trace fit cluster52.twitter.zst --out workload.toml
    kvsim run workload.toml

What is fitted, from the passes of `kvsim trace stats` (experiments/trace/stats.py):

popularity   Zipf alpha and catalogue by maximum likelihood on the frequency of frequencies,
             with a share of one-hit-wonder requests beside the law (workload.one_hit_fraction)
             when the trace has more singletons than any Zipf law gives (popularity.py)
arrivals     Poisson at the trace's mean rate; diurnal (amplitude and peak of a day's cosine,
             fitted to the rate over time) when the trace spans two days or more
object_size  constant when every object has one size, else lognormal (median and sigma of the
             log sizes, each object counted once)
writes       workload.write_fraction: the share of writes
ttl          cluster.ttl: constant, or lognormal from the TTLs writes set
run          requests: the trace's (at most 10,000,000), no warm-up, one seed; one node, LRU,
             a sweep of capacities at 1%, 5%, 10%, 25% and 50% of the trace's objects

Then the check that says whether the model reproduces the trace: the LRU
miss-ratio curve of the fitted workload (its requests generated as `kvsim
run` would, as many as the trace has, up to 5,000,000) against the trace's
own, at 12 sizes from 0.1% to 100% of the objects: the largest gap is
written in the file.  When the Zipf law's gap is over GOOD_GAP (0.03), a
mixture of uniform key classes, a scan and one-hit wonders fitted to the
trace's reuse times (reuse_mix.py) is tried, and the config takes whichever
curve is closer, after a search of small moves judged on the curve itself
(refine_mix; on CloudPhysics, 0.146 for Zipf, 0.043 fitted, 0.028 refined).
What the model cannot express is said in comments: temporal locality
that independent requests do not have (a trace whose reuse distances bunch
up, as in periodic re-reads, gives a gap the popularity law cannot close),
a popularity that one Zipf law fits poorly (its KS distance), a request
rate that varies without a daily period, operations other than reads and
writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from experiments.analysis.mrc import lru_mrc
from experiments.trace.popularity import ZipfFit, fit_zipf
from experiments.trace.reuse_mix import ReuseMix, fit_reuse_mix, neighbours
from experiments.trace.stats import StatsPass, first_pass
from workloads import Constant, Diurnal, Lognormal, Poisson, Uniform, Workload, Zipf
from workloads.stream import KeyClass

DAY = 86_400.0
MAX_REQUESTS = 10_000_000  # run.requests at most (a longer trace still fits; the run is shorter)
CHECK_REQUESTS = 5_000_000  # requests of the model generated for the check, at most
SHARES = (1, 5, 10, 25, 50)  # the sweep's capacities, percent of the trace's objects
#: a trace beyond this many objects has its own curve drawn on a SHARDS sample
EXACT_CURVE_OBJECTS = 200_000
#: the largest gap between the LRU curves of the model and the trace that counts as reproducing it
GOOD_GAP = 0.03
#: the search after the reuse-time fit replays the model about 50 times: only on traces this short
REFINE_REQUESTS = 1_000_000
REFINE_ROUNDS = 3


@dataclass
class FittedWorkload:
    """What `kvsim trace fit` found: the [workload], [cluster] and [run] values, the check, the notes."""

    trace: str
    requests: int
    objects: int
    zipf: ZipfFit
    rate: float
    arrivals: str | dict
    object_size: int | dict
    write_fraction: float
    ttl: float | dict
    capacities: list[int]
    mrc_gap: float = 0.0  # the largest |model - trace| LRU miss ratio over the checked sizes
    mrc_gap_at: int = 0
    notes: list[str] = field(default_factory=list)
    mix: ReuseMix | None = None  # the reuse-time mixture, when it reproduces the curve better than Zipf

    def summary(self) -> str:
        zipf = self.zipf
        lines = [
            f"{self.trace}: {self.requests:,} requests, {self.objects:,} objects",
            f"popularity: Zipf alpha {zipf.alpha:.4f} over {zipf.catalogue:,} keys (KS {zipf.ks:.4f})"
            + (f", one-hit wonders {zipf.one_hit_fraction:.2%} of requests" if zipf.one_hit_fraction else ""),
            f"arrivals: {self.rate:,.1f} requests/s, {self.arrivals if isinstance(self.arrivals, str) else 'diurnal'}",
            f"LRU miss-ratio curve: the model within {self.mrc_gap:.4f} of the trace at every checked size",
        ]
        if self.mix:
            lines.insert(2, f"the config: {_mix_summary(self.mix)}")
        return "\n".join(lines + [f"note: {note}" for note in self.notes])


def fit_workload(trace, seconds_per_unit: float) -> FittedWorkload:
    """Fit every part of the module docstring to `trace` (read three times: two stats passes, one curve)."""
    first = first_pass(trace)
    state = StatsPass(first, trace.has_time)
    for batch in trace.chunks():
        state.feed(batch)
    zipf = fit_zipf(state.count, one_hits=True)
    if zipf.one_hit_fraction < 1e-4:  # nothing beyond the law: leave the key out of the config's meaning
        zipf = replace(zipf, one_hit_fraction=0.0)
    fitted = FittedWorkload(
        trace=str(trace.path),
        requests=first.requests,
        objects=first.objects,
        zipf=zipf,
        rate=1000.0,
        arrivals="poisson",
        object_size=fit_sizes(state.first_size) if trace.has_size else 1,
        write_fraction=state.writes / first.requests if trace.has_op else 0.0,
        ttl=fit_ttl(state) if trace.has_ttl else 0,
        capacities=sorted({max(1, round(first.objects * share / 100)) for share in SHARES}),
    )
    fit_arrivals(fitted, state, first, seconds_per_unit)
    if zipf.ks > 0.05:
        fitted.notes.append(
            f"one Zipf law fits the objects' request counts only roughly (KS distance {zipf.ks:.3f}; "
            "below 0.02 is close): the trace's popularity has another shape"
        )
    if first.requests > MAX_REQUESTS:
        fitted.notes.append(f"run.requests is {MAX_REQUESTS:,}, not the trace's {first.requests:,}")
    own = trace_curve(fitted, trace)
    check_curve(fitted, own)
    if fitted.mrc_gap > GOOD_GAP:
        fitted = fit_reuse(fitted, trace, own)
    if fitted.mrc_gap > GOOD_GAP:
        fitted.notes.append(
            f"the model's LRU miss ratio is {fitted.mrc_gap:.3f} from the trace's at {fitted.mrc_gap_at:,} objects: "
            "the trace has temporal locality (reuse bunched in time, bursts, re-reads at a period) that "
            "independent requests from a popularity law do not have"
        )
    return fitted


def fit_reuse(fitted: FittedWorkload, trace, own: np.ndarray) -> FittedWorkload:
    """The better of the Zipf fit and the reuse-time mixtures (reuse_mix.py), by the checked curve."""
    keys = np.concatenate(list(_first_keys(trace.chunks(), CHECK_REQUESTS)))
    best = fitted
    for cumulative in (False, True):
        candidate = replace(fitted, mix=fit_reuse_mix(keys, cumulative), notes=list(fitted.notes))
        check_curve(candidate, own)
        if candidate.mrc_gap < best.mrc_gap:
            best = candidate
    if best.mix is not None and best.mrc_gap > GOOD_GAP and best.requests <= REFINE_REQUESTS:
        best = refine_mix(best, own)
    return best


def refine_mix(fitted: FittedWorkload, own: np.ndarray) -> FittedWorkload:
    """Small moves of the mixture's terms (reuse_mix.neighbours), each kept when the checked gap falls.

    The least-squares fit matches the reuse times, which give the LRU curve only through the working-set
    model; this search matches the curve itself (on CloudPhysics: 0.043 to 0.026).
    """
    best = fitted
    for _ in range(REFINE_ROUNDS):
        start = best
        for mix in neighbours(start.mix):  # type: ignore[arg-type]  # (refined only with a mixture)
            if mix.scan_fraction + mix.one_hit_fraction >= 1:
                continue
            candidate = replace(start, mix=mix, notes=list(start.notes))
            check_curve(candidate, own)
            if candidate.mrc_gap < best.mrc_gap - 1e-4:
                best = candidate
        if best is start:
            break
    return best


def _first_keys(batches, limit: int):
    """The keys of the batches, cut after `limit` requests."""
    left = limit
    for batch in batches:
        if left <= 0:
            return
        yield batch.key[:left]
        left -= len(batch)


def fit_sizes(first_size: np.ndarray) -> int | dict:
    sizes = first_size[first_size > 0]
    if not len(sizes) or sizes.min() == sizes.max():
        return int(sizes[0]) if len(sizes) else 1
    logs = np.log(sizes.astype(np.float64))
    return {"dist": "lognormal", "median": float(np.exp(logs.mean())), "sigma": float(logs.std())}


def fit_ttl(state: StatsPass) -> float | dict:
    found = state.ttls.percentiles()
    if not found:
        return 0
    if found["p10"] == found["p90"]:
        return float(found["p50"])
    sigma = (np.log(found["p90"]) - np.log(max(found["p10"], 1e-9))) / 2.563  # 10th to 90th: 2.563 sigmas
    return {"dist": "lognormal", "median_s": float(found["p50"]), "sigma": float(sigma)}


def fit_arrivals(fitted: FittedWorkload, state: StatsPass, first, seconds_per_unit: float) -> None:
    """Poisson at the mean rate; a daily cosine when the trace spans two days. Notes on what is left."""
    span = (first.last_time - first.first_time) * seconds_per_unit
    if not state.has_time or span <= 0:
        fitted.notes.append("the trace has no timestamps (or one): workload.rate 1000/s is assumed, not fitted")
        return
    fitted.rate = first.requests / span
    per_bin = state.rate.astype(np.float64)
    mean = per_bin.mean()
    peak = per_bin.max() / mean if mean else 1.0
    if span >= 2 * DAY:
        times = (np.arange(len(per_bin)) + 0.5) * span / len(per_bin)
        phase = 2 * np.pi * times / DAY
        cos, sin = (per_bin * np.cos(phase)).mean() / mean * 2, (per_bin * np.sin(phase)).mean() / mean * 2
        amplitude = float(min(0.99, np.hypot(cos, sin)))
        fitted.arrivals = {
            "process": "diurnal",
            "amplitude": round(amplitude, 4),
            "period_s": DAY,
            "peak_s": round(float(np.arctan2(sin, cos) % (2 * np.pi) / (2 * np.pi) * DAY), 1),
        }
    elif peak > 2.0:
        fitted.notes.append(
            f"the request rate varies (its peak over 1/100 of the trace is {peak:.1f}x the mean) without a "
            "daily period to fit in the trace's span: the arrivals are Poisson at the mean rate"
        )


def model_workload(fitted: FittedWorkload) -> Workload:
    """The workload the config describes (as `kvsim run` builds it), for the check."""
    zipf = fitted.zipf
    arrivals = fitted.arrivals
    if isinstance(arrivals, dict):
        arrivals = Diurnal(fitted.rate, arrivals["amplitude"], arrivals["period_s"], arrivals["peak_s"])
    else:
        arrivals = Poisson(fitted.rate)
    size = fitted.object_size
    size = Lognormal(size["median"], size["sigma"]) if isinstance(size, dict) else Constant(size)
    mix = fitted.mix
    if mix is None:
        return Workload(
            Zipf(zipf.catalogue, zipf.alpha),
            arrivals,
            size,
            fitted.write_fraction,
            one_hit_fraction=zipf.one_hit_fraction,
        )
    classes = tuple(
        KeyClass(Uniform(c.keys), size, f"reuse{i}", c.share, fitted.write_fraction) for i, c in enumerate(mix.classes)
    )
    return Workload(
        None,
        arrivals,
        classes=classes,
        scan_fraction=mix.scan_fraction,
        scan_keys=mix.scan_keys,
        one_hit_fraction=mix.one_hit_fraction,
    )


def _capacities(fitted: FittedWorkload) -> tuple[np.ndarray, float | None]:
    """The 12 checked sizes, and the SHARDS rate of the curves (None: exact)."""
    capacities = np.unique(np.geomspace(max(1, fitted.objects // 1000), fitted.objects, 12).astype(np.int64))
    return capacities, None if fitted.objects <= EXACT_CURVE_OBJECTS else EXACT_CURVE_OBJECTS / fitted.objects


def trace_curve(fitted: FittedWorkload, trace) -> np.ndarray:
    """The trace's own LRU miss ratio at the checked sizes."""
    capacities, rate = _capacities(fitted)
    return lru_mrc(lambda: trace.chunks(), capacities, rate=rate).miss_ratio


def check_curve(fitted: FittedWorkload, own: np.ndarray) -> None:
    """The largest gap between the model's LRU miss-ratio curve and the trace's (`own`), at 12 sizes."""
    capacities, rate = _capacities(fitted)
    requests = min(fitted.requests, CHECK_REQUESTS)
    model = model_workload(fitted)
    keys = (batch.key for batch in model.batches(1, requests))
    theirs = lru_mrc([(k, np.ones(len(k), dtype=np.int64)) for k in keys], capacities, rate=rate).miss_ratio
    gaps = np.abs(theirs - own)
    fitted.mrc_gap, fitted.mrc_gap_at = float(gaps.max()), int(capacities[gaps.argmax()])


def _mix_summary(mix: ReuseMix) -> str:
    parts = [f"{len(mix.classes)} uniform key classes fitted to the reuse times"]
    if mix.scan_keys:
        parts.append(f"a scan of {mix.scan_keys:,} keys with {mix.scan_fraction:.2%} of requests")
    if mix.one_hit_fraction:
        parts.append(f"one-hit wonders {mix.one_hit_fraction:.2%} of requests")
    return ", ".join(parts)


# -- the config file -----------------------------------------------------------------------------


def _toml(value) -> str:
    """A value as TOML writes it: numbers, strings, inline tables of them, lists."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value:_}" if abs(value) >= 10_000 else str(value)
    if isinstance(value, float):
        return repr(round(value, 6))
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{key} = {_toml(item)}" for key, item in value.items()) + " }"
    return "[" + ", ".join(_toml(item) for item in value) + "]"


def _comment(text: str, width: int = 88) -> list[str]:
    import textwrap

    return ["# " + line for line in textwrap.wrap(text, width - 2)]


def workload_toml(fitted: FittedWorkload) -> str:
    """The config `kvsim run` reads: a header saying what was fitted and what could not be, then the sections."""
    zipf = fitted.zipf
    name = "fit-" + "".join(c if c.isalnum() or c in "-_" else "-" for c in fitted.trace.rsplit("/", 1)[-1])
    lines = [f"# Fitted by `kvsim trace fit` to {fitted.trace}:"]
    lines += _comment(
        f"{fitted.requests:,} requests to {fitted.objects:,} objects.  Popularity: Zipf alpha {zipf.alpha:.4f} "
        f"over {zipf.catalogue:,} keys (maximum likelihood on how many objects were requested how many times; "
        f"KS distance {zipf.ks:.4f})"
        + (f", and {zipf.one_hit_fraction:.2%} of requests for one-hit wonders" if zipf.one_hit_fraction else "")
        + f".  The LRU miss-ratio curve of this workload is within {fitted.mrc_gap:.4f} of the trace's at 12 sizes "
        f"from 0.1% to 100% of its objects (largest gap at {fitted.mrc_gap_at:,} objects)."
        + (
            f"  The Zipf law's curve is further from the trace's, so the workload is instead {_mix_summary(fitted.mix)}"
            " (experiments/trace/reuse_mix.py): requests as independent as Zipf's, whose reuse times are the trace's."
            if fitted.mix
            else ""
        )
    )
    if fitted.notes:
        lines += ["#", "# Not fitted, or fitted only roughly:"]
        for note in fitted.notes:
            lines += _comment(f"- {note}")
    lines += ["", f"name = {_toml(name)}", "", "[run]"]
    lines += [f"requests = {_toml(min(fitted.requests, MAX_REQUESTS))}", "warmup = 0", "seeds = [1]", ""]
    lines += ["[workload]"]
    if fitted.mix is None:
        lines += [f"keys = {_toml(zipf.catalogue)}", 'popularity = "zipf"', f"alpha = {_toml(zipf.alpha)}"]
    lines += [f"rate = {_toml(fitted.rate)}", f"arrivals = {_toml(fitted.arrivals)}"]
    lines += [f"object_size = {_toml(fitted.object_size)}", f"write_fraction = {_toml(fitted.write_fraction)}"]
    one_hits = zipf.one_hit_fraction if fitted.mix is None else fitted.mix.one_hit_fraction
    lines += [f"one_hit_fraction = {_toml(one_hits)}"]
    if fitted.mix is not None and fitted.mix.scan_keys:
        lines += [f"scan_fraction = {_toml(fitted.mix.scan_fraction)}", f"scan_keys = {_toml(fitted.mix.scan_keys)}"]
    lines += [""]
    for i, cls in enumerate(fitted.mix.classes if fitted.mix else ()):
        lines += ["[[workload.classes]]", f'name = "reuse{i}"', f"share = {_toml(cls.share)}"]
        lines += [f"keys = {_toml(cls.keys)}", 'popularity = "uniform"', f"object_size = {_toml(fitted.object_size)}"]
        lines += [f"write_fraction = {_toml(fitted.write_fraction)}", ""]
    lines += ["[cluster]", "nodes = 1", f"capacity = {_toml(fitted.capacities[len(fitted.capacities) // 2])}"]
    lines += ['policy = "lru"', f"ttl = {_toml(fitted.ttl)}", ""]
    lines += [f"[sweep]                     # {', '.join(f'{s}%' for s in SHARES)} of the trace's objects"]
    lines += [f'"cluster.capacity" = {_toml(fitted.capacities)}', ""]
    return "\n".join(lines)
