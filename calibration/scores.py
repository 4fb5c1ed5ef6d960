"""Scores of simulated against observed figures: the calibration's distance, the error model of
a report (model x lognormal reporting error) and its intervals, and the summaries the report,
the evaluation and the held-out test print."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from calibration.observe import MappedObservations
    from calibration.problem import Problem


def signed_log1p(x: np.ndarray) -> np.ndarray:
    """log(1 + x), extended to negative x (a net figure) as -log(1 - x)."""
    x = np.asarray(x, float)
    return np.sign(x) * np.log1p(np.abs(x))


def log_ratio(simulated: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """log((sim + 1) / (obs + 1)): 500 and 200,000 weigh alike, zeros are allowed (and negative
    net figures, through `signed_log1p`)."""
    return signed_log1p(simulated) - signed_log1p(observed)


def weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    """Median where each value counts `weight` times (each group of duplicates counts once)."""
    values, weights = np.asarray(values, float), np.asarray(weights, float)
    if len(values) == 0:
        return float("nan")
    order = np.argsort(values)
    cum = np.cumsum(weights[order])
    half = 0.5 * cum[-1]
    i = int(np.searchsorted(cum, half))
    if np.isclose(cum[i], half) and i + 1 < len(values):
        return float(0.5 * (values[order][i] + values[order][i + 1]))
    return float(values[order][i])


def ard(simulated: np.ndarray, observed: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Averaged relative difference |sim - obs| / obs, the measure Flee reports (Suleimenova et
    al. 2017 average it over locations and days; here over targets, weighted)."""
    sim, obs = np.asarray(simulated, float), np.asarray(observed, float)
    w = np.ones_like(obs) if weights is None else np.asarray(weights, float)
    ok = obs > 0
    return float(np.average(np.abs(sim[ok] - obs[ok]) / obs[ok], weights=w[ok]))


LOSSES = ("mean_abs", "rms")


def loss(simulated: np.ndarray, observed: np.ndarray, weights: np.ndarray,
         kind: str = "mean_abs") -> float:
    """The calibration's distance on the log ratios: weighted mean absolute value (`mean_abs`,
    robust: a figure the model cannot produce at all - a 90-car morning queue at a post far
    below capacity, log ratio -4.5 - does not outweigh the rest) or root mean square (`rms`)."""
    r = log_ratio(simulated, observed)
    if kind == "mean_abs":
        return float(np.average(np.abs(r), weights=weights))
    if kind == "rms":
        return float(np.sqrt(np.average(r**2, weights=weights)))
    raise ValueError(f"loss: unknown kind {kind!r}; expected one of {list(LOSSES)}")


# -- the error model of a report and its intervals ----------------------------------------------


def model_error_sd(setting: Any, posterior: pd.DataFrame, problem: Problem | None = None,
                   sims: np.ndarray | None = None) -> float:
    """`predict.model_error`, the log-sd of the model/reporting error added to intervals:
    'residuals' - estimated from the fit targets' residuals (`residual_error_sd`);
    'tolerance' - the ABC's final tolerance (ABC is exact under a model error of that
    size, Wilkinson 2013; an upper bound, as it is the largest accepted RMS distance); a
    number; or 0 / null for the intervals of the model alone."""
    if setting in (None, 0, "none"):
        return 0.0
    if setting == "tolerance":
        d = posterior["distance"].to_numpy(float)
        return float(np.nanmax(d)) if np.isfinite(d).any() else 0.0
    if setting == "residuals":
        if problem is None or sims is None:
            raise ValueError("model_error 'residuals' needs the ensemble's runs")
        return residual_error_sd(problem, sims)
    return float(setting)


def coverage_error_sd(problem: Problem, sims: np.ndarray, interval: float = 0.9,
                      step: float = 0.01, largest: float = 3.0) -> float:
    """The smallest log-sd s (on a grid of `step`) at which the share of the fit targets inside
    the `interval` of a report (runs x lognormal error of log-sd s) reaches `interval`. On rows
    the calibration has not seen, this is split-conformal calibration of the intervals: their
    width is set by how far unseen reports fell from the model, not by its training residuals,
    which a fit with many parameters makes too small."""
    for s in np.arange(0.0, largest + step / 2, step):
        if fit_summary(target_table(problem, sims, interval, float(s)))["share_inside"] >= \
                interval - 1e-12:
            return float(s)
    return float(largest)


def residual_error_sd(problem: Problem, sims: np.ndarray) -> float:
    """The log-sd s of an extra error such that the fit targets' standardised residuals
    log_ratio / sqrt(model_sd^2 + s^2) have the median absolute value of a standard normal
    (0.6745): the model's spread plus s then explains how far reports typically fall from the
    model's median. Robust to the few targets the model cannot fit at all."""
    from scipy.optimize import brentq

    fit = problem.fit_index
    logs = signed_log1p(sims[:, fit])
    model_sd = (np.quantile(logs, 0.95, axis=0) - np.quantile(logs, 0.05, axis=0)) / 3.29
    r = np.abs(log_ratio(np.median(sims[:, fit], axis=0), problem.observed[fit]))
    w = problem.weights[fit]

    def excess(s: float) -> float:
        return weighted_median(r / np.sqrt(model_sd**2 + s**2 + 1e-12), w) - 0.6745

    if excess(0.0) <= 0:
        return 0.0
    return float(brentq(excess, 0.0, 20.0, xtol=1e-4))


def observation_draws(sims: np.ndarray, error_sd: float, draws: int = 40,
                      seed: int = 0) -> np.ndarray:
    """What an agency would report: each run's value with a lognormal error of log-sd
    `error_sd` ([runs x draws, targets]). ABC with tolerance eps is exact inference under a model
    error of that size (Wilkinson 2013), so the predictive of an observation includes it."""
    if error_sd <= 0:
        return sims
    rng = np.random.default_rng(seed)
    z = signed_log1p(sims)[:, None, :] + error_sd * rng.standard_normal(
        (sims.shape[0], draws, sims.shape[1]))
    return (np.sign(z) * np.expm1(np.abs(z))).reshape(-1, sims.shape[1])


def target_table(problem: Problem, sims: np.ndarray, interval: float = 0.9,
                 error_sd: float = 0.0) -> pd.DataFrame:
    """Per target: observed, median over runs, the 90 % interval of an observation (model x
    reporting error, `lower`/`upper`) and of the model alone (`model_lower`/`model_upper`), and
    the log ratio of the median."""
    lo_q, hi_q = (1 - interval) / 2, 1 - (1 - interval) / 2
    med = np.median(sims, axis=0)
    m_lower, m_upper = np.quantile(sims, lo_q, axis=0), np.quantile(sims, hi_q, axis=0)
    noisy = observation_draws(sims, error_sd)
    lower, upper = np.quantile(noisy, lo_q, axis=0), np.quantile(noisy, hi_q, axis=0)
    rows = []
    for i, t in enumerate(problem.targets):
        o = t.obs
        rows.append({
            "id": o.id, "use": o.use, "destination": o.destination,
            "post_ids": ";".join(o.post_ids), "direction": o.direction, "kind": o.kind,
            "period_start": o.period_start.isoformat() if o.period_start else "",
            "date": o.date.isoformat() if o.date else "",
            "observed": o.value, "simulated": med[i], "lower": lower[i], "upper": upper[i],
            "log_ratio": float(log_ratio(med[i], o.value)),
            "inside": bool(lower[i] <= o.value <= upper[i]),
            "model_lower": m_lower[i], "model_upper": m_upper[i],
            "inside_model": bool(m_lower[i] <= o.value <= m_upper[i]),
            "group": t.group, "weight": t.weight, "extrapolated_days": t.extrapolated_days,
        })
    return pd.DataFrame(rows)


def fit_summary(table: pd.DataFrame) -> dict[str, float]:
    """Headline scores over `fit` rows, duplicates weighted as one target."""
    fit = table[table["use"] == "fit"]
    if fit.empty:
        return {"rows": 0, "groups": 0}
    w = fit["weight"].to_numpy(float)
    return {
        "rows": len(fit),
        "groups": float(w.sum()),
        "median_abs_log_ratio": weighted_median(np.abs(fit["log_ratio"].to_numpy()), w),
        "share_inside": float(np.average(fit["inside"].to_numpy(float), weights=w)),
        "share_inside_model_only": float(np.average(fit["inside_model"].to_numpy(float),
                                                    weights=w)),
        "ard": ard(fit["simulated"].to_numpy(), fit["observed"].to_numpy(), w),
        "rms_log_ratio": float(np.sqrt(np.average(fit["log_ratio"].to_numpy() ** 2,
                                                  weights=w))),
    }


def unmapped_table(mapping: MappedObservations) -> pd.DataFrame:
    return pd.DataFrame([{"id": u.obs.id, "use": u.obs.use, "destination": u.obs.destination,
                          "direction": u.obs.direction, "kind": u.obs.kind,
                          "date": u.obs.date.isoformat() if u.obs.date else "",
                          "reason": u.reason} for u in mapping.unmapped],
                        columns=["id", "use", "destination", "direction", "kind", "date",
                                 "reason"])


