"""Analytic results the simulator is checked against, and that notebooks plot.

All popularity arguments are probability vectors p (summing to 1) over the
catalogue, as returned by ``Zipf(...).pmf()``; request rates are p times the
total rate, and results that depend only on p take p alone.

* Che's approximation for LRU under the independent reference model (IRM):
  each key stays cached for a characteristic time T after its last request,
  where T solves sum_i (1 - exp(-p_i T)) = C; and its transient, a cold
  cache filling (a node back from a restart).
* FIFO and RANDOM under IRM: the same idea with sum_i p_i T / (1 + p_i T) = C.
* LFU (perfect, static) under IRM: the C most popular keys stay.
* TTL caches without a capacity limit, Poisson requests at rate r, TTL t.
* M/M/c queues (Erlang C) for the backend.
* The spread of key-space shares on a consistent-hash ring.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

#: Newton steps at most (a capacity of all keys but one takes about 20)
NEWTON_STEPS = 500


def _characteristic_time(
    occupancy: Callable[[np.ndarray, float], tuple[float, float]], capacity: float, p: np.ndarray
) -> float:
    """T > 0 with occupancy(p, T) = capacity, where occupancy(p, T) gives the expected number of keys
    cached and its derivative in T.

    Both occupancies here (Che's sum of 1 - exp(-p_i T), FIFO's sum of
    p_i T / (1 + p_i T)) rise from 0 to len(p), are concave in T and never
    exceed T (each term is at most p_i T).  So T = capacity is at or below
    the root, and Newton's method from there climbs to it without ever
    passing it: each tangent lies above a concave curve.  It takes 3 to 8
    passes over the catalogue where bisecting from a doubled bracket took
    15 to 25 (a capacity curve's theory line solves this at every point).
    """
    if not 0 < capacity < len(p):
        raise ValueError(f"capacity must be in (0, {len(p)}) keys; got {capacity}")
    t = float(capacity)
    for _ in range(NEWTON_STEPS):
        cached, slope = occupancy(p, t)
        step = (capacity - cached) / slope if slope > 0 else math.inf
        t += step
        if not math.isfinite(t):  # keys of popularity 0 (underflowed) can never fill it
            break
        if step <= 1e-13 * t:  # (rounding may leave a last step of either sign, as small)
            return t
    raise ValueError(f"no characteristic time fills {capacity} keys: too few keys have a popularity above 0")


def _che_occupancy(p: np.ndarray, t: float) -> tuple[float, float]:
    """Keys cached by LRU with characteristic time t: sum of 1 - exp(-p_i t), and its derivative."""
    stays = np.expm1(-p * t)  # exp(-p t) - 1, exact for small p t
    return -float(np.sum(stays)), float(np.sum(p * (1.0 + stays)))


def _fifo_occupancy(p: np.ndarray, t: float) -> tuple[float, float]:
    """Keys cached by FIFO with characteristic time t: sum of p_i t / (1 + p_i t), and its derivative."""
    odds = p * t
    return float(np.sum(odds / (1.0 + odds))), float(np.sum(p / (1.0 + odds) ** 2))


def che_time(p: np.ndarray, capacity: float) -> float:
    """LRU's characteristic time, in units of requests."""
    return _characteristic_time(_che_occupancy, capacity, np.asarray(p))


def che_hit_ratio(p: np.ndarray, capacity: float) -> float:
    """LRU hit ratio under IRM (Che, Tung, Wang 2002; Fricker, Robert, Roberts 2012)."""
    p = np.asarray(p)
    if capacity >= len(p):
        return 1.0
    t = che_time(p, capacity)
    return float(np.sum(p * -np.expm1(-p * t)))


def che_transient_hit_ratio(p: np.ndarray, capacity: float, requests: np.ndarray) -> np.ndarray:
    """A cold LRU cache filling: the hit ratio of the request that comes `requests` requests after it
    started empty (a node back from a restart), under IRM.

    Until the cache is full a request hits when its key was asked since the
    start: probability 1 - exp(-p_i n), each key's first-request-since-restart
    probability.  By Che's characteristic time T (in requests) the expected
    number of distinct keys seen reaches C: the cache is full, and behaves as
    in steady state, where a key hits when asked within the last T requests.
    So h(n) = sum_i p_i (1 - exp(-p_i min(n, T))).
    """
    p = np.asarray(p)
    horizon = np.minimum(np.asarray(requests, dtype=float), che_time(p, capacity) if capacity < len(p) else np.inf)
    return np.array([float(np.sum(p * -np.expm1(-p * n))) for n in np.atleast_1d(horizon)])


def fifo_hit_ratio(p: np.ndarray, capacity: float) -> float:
    """FIFO (and RANDOM) hit ratio under IRM (Gelenbe 1973; Fricker et al. 2012)."""
    p = np.asarray(p)
    if capacity >= len(p):
        return 1.0
    t = _characteristic_time(_fifo_occupancy, capacity, p)
    return float(np.sum(p * (p * t) / (1.0 + p * t)))


def lfu_hit_ratio(p: np.ndarray, capacity: int) -> float:
    """Perfect LFU under IRM keeps the C most popular keys: the sum of the C largest p."""
    p = np.sort(np.asarray(p))[::-1]
    return float(p[: int(capacity)].sum())


def ttl_hit_ratio(rate: float, ttl: float, reset_on_hit: bool = False) -> float:
    """Hit ratio of one key with Poisson requests at `rate` in a TTL cache without a capacity limit.

    Set on miss only (memcached): each miss starts a TTL window, during which
    requests hit; a renewal argument gives h = r t / (1 + r t).  Reset on hit:
    a request hits when the previous request was less than t ago,
    h = 1 - exp(-r t).
    """
    if reset_on_hit:
        return -math.expm1(-rate * ttl)
    return rate * ttl / (1.0 + rate * ttl)


def ttl_hit_ratio_catalogue(p: np.ndarray, total_rate: float, ttl: float, reset_on_hit: bool = False) -> float:
    """The request-weighted TTL hit ratio over a catalogue with popularity p."""
    rates = np.asarray(p) * total_rate
    if reset_on_hit:
        per_key = -np.expm1(-rates * ttl)
    else:
        per_key = rates * ttl / (1.0 + rates * ttl)
    return float(np.sum(np.asarray(p) * per_key))


def erlang_c(servers: int, offered_load: float) -> float:
    """Probability that an arrival waits in M/M/c, with offered load a = lambda / mu < c."""
    c, a = int(servers), float(offered_load)
    if not 0 <= a < c:
        raise ValueError(f"offered load must be in [0, {c}) for a stable queue; got {a}")
    # Erlang B by its stable recursion, then C = B / (1 - (a / c) (1 - B)).
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b / (1.0 - (a / c) * (1.0 - b))


def mmc_wait_tail(servers: int, arrival_rate: float, service_rate: float, t: float) -> float:
    """P(W > t) in M/M/c: C(c, a) exp(-(c mu - lambda) t)."""
    c = int(servers)
    return erlang_c(c, arrival_rate / service_rate) * math.exp(-(c * service_rate - arrival_rate) * t)


def mmc_response_quantile(servers: int, arrival_rate: float, service_rate: float, q: float) -> float:
    """The q-quantile of response time (wait + service) in M/M/c, solved numerically.

    The response time is the sum of the wait (an atom at 0 plus an exponential
    tail) and an independent exponential service; its survival function is
    closed-form, and the quantile is its root.
    """
    c, lam, mu = int(servers), float(arrival_rate), float(service_rate)
    waiting = erlang_c(c, lam / mu)
    theta = c * mu - lam  # rate of the waiting-time tail

    def survival(t: float) -> float:
        if abs(theta - mu) < 1e-12 * mu:
            hypo = (1.0 + mu * t) * math.exp(-mu * t)
        else:
            hypo = (theta * math.exp(-mu * t) - mu * math.exp(-theta * t)) / (theta - mu)
        return (1.0 - waiting) * math.exp(-mu * t) + waiting * hypo

    high = 1.0 / mu
    while survival(high) > 1.0 - q:
        high *= 2.0
    from scipy import optimize  # (here: its import takes half a second that the Che curves no longer need)

    return optimize.brentq(lambda t: survival(t) - (1.0 - q), 0.0, high, xtol=1e-14, rtol=1e-12)


def ring_share_cv(vnodes: int) -> float:
    """Approximate coefficient of variation of a node's key-space share with V virtual nodes.

    A node's share is a sum of V arcs of a ring cut at N V random points;
    arcs are nearly exponential, so the share's CV is close to 1/sqrt(V).
    """
    return 1.0 / math.sqrt(vnodes)


__all__ = [
    "che_hit_ratio",
    "che_time",
    "erlang_c",
    "fifo_hit_ratio",
    "lfu_hit_ratio",
    "mmc_response_quantile",
    "mmc_wait_tail",
    "ring_share_cv",
    "ttl_hit_ratio",
    "ttl_hit_ratio_catalogue",
]
