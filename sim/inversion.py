"""Draws by inversion: a variate from one uniform, X = min{k : F(k) > u}.

A keyed draw (`sim.keyed`) has one uniform per key, so every distribution is drawn by inverting
its distribution function: the draw at a key is then a function of its parameters and its
uniform only, and a small change of the parameters moves it only when the uniform lies in the
part of the distribution that moved (the coupling that common random numbers want). Discrete
distributions are inverted exactly up to the floating-point accuracy of their distribution
functions: binomial and Poisson from scipy.special's incomplete beta and gamma functions,
starting from a Cornish-Fisher guess of the quantile and stepping to the smallest k with
F(k) > u, a few steps (Devroye 1986, "Non-Uniform Random Variate Generation", ch. III.2); the
hypergeometric from its probabilities over its (small: a day's service at one exit) support.
scipy is imported on the first keyed draw: runs with named streams never pay for it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Cdf = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (k, positions) -> F(k) there


def search(u: np.ndarray, guess: np.ndarray, low: np.ndarray, high: np.ndarray,
           cdf: Cdf) -> np.ndarray:
    """The smallest integer k in [low, high] with F(k) > u (high if none), from a guess."""
    k = np.clip(np.round(guess), low, high)
    for step, moving in ((-1.0, lambda k, at: (k > low[at]) & (cdf(k - 1, at) > u[at])),
                         (1.0, lambda k, at: (k < high[at]) & (cdf(k, at) <= u[at]))):
        at = np.arange(len(u))
        while len(at):
            move = moving(k[at], at)
            at = at[move]
            k[at] += step
    return k.astype(np.int64)


def binomial(u: np.ndarray, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Binomial(n, p) by inversion; n = 0 or p = 0 gives 0."""
    from scipy import special

    n, p = np.broadcast_to(n, u.shape).astype(np.float64), np.broadcast_to(p, u.shape)
    out = np.zeros(u.shape, dtype=np.int64)
    with np.errstate(divide="ignore"):
        zero = np.exp(n * np.log1p(-p))  # F(0); most cells of a day draw nobody
    rest = np.flatnonzero((u >= zero) & (n > 0) & (p > 0))
    if len(rest) == 0:
        return out
    u, n, p = u[rest], n[rest], p[rest]
    z = special.ndtri(u)
    guess = n * p + np.sqrt(n * p * (1 - p)) * z + (1 - 2 * p) * (z * z - 1) / 6 - 0.5
    whole = n.astype(np.int64)
    out[rest] = search(u, guess, np.zeros_like(n), n,
                       lambda k, at: special.bdtr(k, whole[at], p[at]))
    return out


def poisson(u: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Poisson(mean) by inversion; mean 0 gives 0."""
    from scipy import special

    mean = np.broadcast_to(mean, u.shape).astype(np.float64)
    out = np.zeros(u.shape, dtype=np.int64)
    rest = np.flatnonzero((u >= np.exp(-mean)) & (mean > 0))
    if len(rest) == 0:
        return out
    u, mean = u[rest], mean[rest]
    z = special.ndtri(u)
    guess = mean + np.sqrt(mean) * z + (z * z - 1) / 6 - 0.5
    out[rest] = search(u, guess, np.zeros_like(mean), np.full_like(mean, np.inf),
                       lambda k, at: special.pdtr(k, mean[at]))
    return out


def hypergeometric(u: np.ndarray, good: np.ndarray, bad: np.ndarray,
                   sample: np.ndarray) -> np.ndarray:
    """How many of `sample` taken without replacement from good + bad are good (numpy's
    `hypergeometric(ngood, nbad, nsample)`), by inversion: each draw's probabilities over its
    support [max(0, sample - bad), min(good, sample)] from log-gamma functions, their running
    sum searched for u (rows of the longest support, in chunks that bound the memory)."""
    from scipy import special

    good, bad, sample = (np.asarray(a, dtype=np.int64) for a in (good, bad, sample))
    low, high = np.maximum(0, sample - bad), np.minimum(good, sample)
    out = low.copy()
    wide = np.flatnonzero(high > low)
    chunk = max(1, 2_000_000 // max(1, int((high - low).max(initial=0)) + 1))
    for start in range(0, len(wide), chunk):
        at = wide[start: start + chunk]
        g, b, n = (a[at, None].astype(np.float64) for a in (good, bad, sample))
        k = low[at, None] + np.arange(int((high[at] - low[at]).max()) + 1)[None, :]
        inside = k <= high[at, None]
        k = np.where(inside, k, low[at, None]).astype(np.float64)
        log_pmf = (_log_choose(special, g, k) + _log_choose(special, b, n - k)
                   - _log_choose(special, g + b, n))
        cdf = np.cumsum(np.where(inside, np.exp(log_pmf), 0.0), axis=1)
        beyond = (cdf <= u[at, None]) & inside  # F(k) <= u: k is below the draw
        out[at] = np.minimum(low[at] + beyond.sum(axis=1), high[at])
    return out


def _log_choose(special, n: np.ndarray, k: np.ndarray) -> np.ndarray:
    return special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1)


def geometric(u: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Trials up to the first success (1, 2, ...), as numpy's `geometric`, by inversion."""
    with np.errstate(divide="ignore"):
        trials = np.ceil(np.log1p(-u) / np.log1p(-p))
    return np.maximum(trials, 1).astype(np.int64)


def exponential(u: np.ndarray, mean: np.ndarray) -> np.ndarray:
    return -mean * np.log1p(-u)


def categorical(weights: np.ndarray, row: np.ndarray, u: np.ndarray) -> np.ndarray:
    """For each draw, the category of row `row` of non-negative `weights` ([k, G]) whose
    cumulative share first exceeds its uniform `u`: one searchsorted over the rows' shares laid
    end to end (row j occupies [j, j + 1)), as `sim.draws.categorical_draws` does."""
    n_cat = weights.shape[1]
    if len(row) == 0:
        return np.zeros(0, dtype=np.int64)
    cumulative = np.cumsum(weights, axis=1)
    totals = cumulative[:, -1:]
    shares = cumulative / np.where(totals > 0, totals, 1.0) + np.arange(len(weights))[:, None]
    position = np.searchsorted(shares.ravel(), row + u, side="right")
    return np.minimum(position - row * n_cat, n_cat - 1)
