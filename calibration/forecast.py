"""Forecast scores and the model's structural discrepancy (a library; no command).

The calibrated model's runs (posterior particles x seeds) carry the parameters' uncertainty and
the model's own noise, not its structural error: the mechanisms it lacks. Scored on rows it was
not fitted to, the runs alone are overconfident, more so the further ahead they forecast. Here
that error is a `Discrepancy` on the log scale whose variance grows linearly with the horizon
(a random walk in the log of the flows, the simplest model of a misfit that accumulates):

    sd(h) = sqrt(base_sd^2 + growth_per_day * h),  h = days after the last training date

fitted by maximum likelihood to the residuals of rolling-origin forecasts, i.e. to how far
figures the calibration had not seen fell from the runs (`experiments.holdout`). A predictive
draw is a run's value times a lognormal error of that sd.

Scores follow the forecast hubs (COVID-19 and FluSight, Bracher et al. 2021, PLoS Comput Biol
17:e1008618): quantiles of the predictive distribution, coverage of the central 50 % and 90 %
intervals, their width, the weighted interval score (WIS) and the CRPS, from `scoringrules`.
Both are computed on log(1 + x), as recommended for counts spanning orders of magnitude
(Bosse et al. 2023, PLoS Comput Biol 19:e1011393): a factor of two costs the same for
Kazakhstan's 400,000 as for Israel's 6,500.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from calibration.scores import target_table, weighted_median
from sim.atomic import atomic_write_text

# chi-square(1) quantile 0.90: a one-sided 95 % profile-likelihood bound
CHI2_1_90 = 2.705543
MAX_GROWTH = 10.0  # log-variance a day: beyond any forecast worth making
# central intervals of the WIS (the hubs use 23 quantiles; the ensembles here support fewer)
WIS_ALPHAS = np.array([0.1, 0.2, 0.5, 0.8])
HORIZON_BINS: tuple[tuple[int, float, str], ...] = (
    (0, 0, "0 (inside the training period)"),
    (1, 7, "1-7 days"),
    (8, 30, "8-30 days"),
    (31, np.inf, "more than 30 days"),
)


@dataclass(frozen=True)
class Discrepancy:
    """Log-scale structural error of the model: variance base_sd^2 + growth_per_day x h.

    `growth_per_day` is the largest growth the forecasts it was fitted to cannot rule out (the
    one-sided 95 % profile-likelihood bound), not the most likely one: fitted to forecasts of 1-6
    days, the most likely growth can be zero while forecasts of two months need it; forecasts of
    every horizon bring the bound down to the most likely value (`growth_mle_per_day`).
    """

    base_sd: float = 0.0
    growth_per_day: float = 0.0
    fitted_on: str = ""  # which residuals (origins, rows) it was fitted to
    growth_mle_per_day: float = 0.0
    longest_horizon_days: float = 0.0  # the longest horizon among those residuals
    # the further log-sd of a row whose destination no fit row constrained (a country the
    # calibration never saw), fitted to the destination folds' out-of-fold residuals
    unfitted_sd: float = 0.0
    unfitted_fitted_on: str = ""

    def sd(self, horizon_days: np.ndarray, unfitted: np.ndarray | None = None) -> np.ndarray:
        """The log-sd of a report `horizon_days` after the last training date; `unfitted`
        ([rows] bool) marks the rows of destinations the calibration had no fit row of."""
        h = np.maximum(np.asarray(horizon_days, dtype=float), 0.0)
        variance = self.base_sd**2 + self.growth_per_day * h
        if unfitted is not None:
            variance = variance + self.unfitted_sd**2 * np.asarray(unfitted, dtype=float)
        return np.sqrt(variance)

    @classmethod
    def fit(cls, residuals: np.ndarray, model_sd: np.ndarray, horizons: np.ndarray,
            weights: np.ndarray | None = None, fitted_on: str = "") -> Discrepancy:
        """Maximum likelihood under residual ~ N(0, model_sd^2 + base_sd^2 + growth x h),
        weighted (conflicting duplicates count as one), both parameters >= 0; then the growth's
        upper bound: the largest growth whose profile likelihood (base_sd re-fitted) is within
        chi2(1, 0.90) / 2 of the maximum."""
        from scipy.optimize import brentq, minimize, minimize_scalar

        r = np.asarray(residuals, dtype=float)
        m2 = np.asarray(model_sd, dtype=float) ** 2
        h = np.maximum(np.asarray(horizons, dtype=float), 0.0)
        w = np.ones_like(r) if weights is None else np.asarray(weights, dtype=float)
        if len(r) == 0:
            return cls(fitted_on=fitted_on)

        def deviance(base2: float, growth: float) -> float:
            return normal_deviance(r, m2 + base2 + growth * h, w)

        best = None
        for start in ((np.log(0.05), np.log(1e-4)), (np.log(0.3), np.log(1e-2)),
                      (np.log(1e-4), np.log(0.05))):
            res = minimize(lambda theta: deviance(*np.exp(theta)), np.array(start),
                           method="Nelder-Mead",
                           options={"xatol": 1e-6, "fatol": 1e-9, "maxiter": 4000})
            if best is None or res.fun < best.fun:
                best = res
        base2, growth = np.exp(best.x)
        growth = float(growth) if growth > 1e-8 else 0.0  # a float cannot tell these from 0

        def profile_excess(g: float) -> float:
            fitted = minimize_scalar(lambda lb: deviance(np.exp(lb), g), bounds=(-25.0, 5.0),
                                     method="bounded")
            return min(fitted.fun, deviance(0.0, g)) - best.fun - CHI2_1_90

        # the bound lies above the most likely growth (where the excess is -CHI2_1_90): bracket
        # it, or keep the bracket's end if not even a growth of MAX_GROWTH can be ruled out
        high = max(growth, 1e-6)
        excess = profile_excess(high)
        while excess < 0 and high < MAX_GROWTH:
            high *= 4.0
            excess = profile_excess(high)
        upper = brentq(profile_excess, growth, high, xtol=1e-7) if excess > 0 else high
        return cls(base_sd=float(np.sqrt(base2)) if base2 > 1e-8 else 0.0,
                   growth_per_day=float(upper), fitted_on=fitted_on,
                   growth_mle_per_day=growth, longest_horizon_days=float(h.max()))

    def to_json(self, path: Path) -> None:
        atomic_write_text(path, json.dumps(dataclasses.asdict(self), indent=1))

    @classmethod
    def from_json(cls, path: Path) -> Discrepancy:
        return cls(**json.loads(Path(path).read_text()))


def fit_extra_sd(residuals: np.ndarray, known_sd: np.ndarray,
                 weights: np.ndarray | None = None) -> float:
    """Maximum-likelihood log-sd s >= 0 of an error added to a known one: residual ~
    N(0, known_sd^2 + s^2), weighted (conflicting duplicates count as one)."""
    from scipy.optimize import minimize_scalar

    r = np.asarray(residuals, dtype=float)
    known2 = np.asarray(known_sd, dtype=float) ** 2
    w = np.ones_like(r) if weights is None else np.asarray(weights, dtype=float)
    if len(r) == 0:
        return 0.0

    fitted = minimize_scalar(lambda log_s2: normal_deviance(r, known2 + np.exp(log_s2), w),
                             bounds=(-25.0, 5.0), method="bounded")
    if normal_deviance(r, known2, w) <= fitted.fun:
        return 0.0
    return float(np.sqrt(np.exp(fitted.x)))


def normal_deviance(residuals: np.ndarray, variance: np.ndarray,
                    weights: np.ndarray) -> float:
    """-2 log-likelihood (+ a constant) of residuals ~ N(0, variance), weighted; the variance
    floored so that a zero-spread row cannot dominate."""
    var = variance + 1e-8
    return float(np.sum(weights * (np.log(var) + residuals**2 / var)))


def horizon_days(dates: list[dt.date | None], origin: dt.date) -> np.ndarray:
    """Days from the last training date to each row's date (0 for rows inside training)."""
    return np.array([max((d - origin).days, 0) if d is not None else 0 for d in dates],
                    dtype=float)


def log1p_signed(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.log1p(np.abs(x))


def model_log_sd(sims: np.ndarray) -> np.ndarray:
    """[targets] the runs' spread on log(1 + x), from their 90 % range (robust to outliers)."""
    logs = log1p_signed(sims)
    return (np.quantile(logs, 0.95, axis=0) - np.quantile(logs, 0.05, axis=0)) / 3.29


def predictive_draws(sims: np.ndarray, error_sd: np.ndarray | float, draws: int = 40,
                     seed: int = 0) -> np.ndarray:
    """[runs x draws, targets] on log(1 + x): every run with a normal error of `error_sd` (a
    number, or one per target). Deterministic for a seed (common random numbers across the
    targets and across scored ensembles)."""
    logs = log1p_signed(sims)
    sd = np.broadcast_to(np.asarray(error_sd, dtype=float), (sims.shape[1],))
    if not np.any(sd > 0):
        return logs
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((sims.shape[0], draws, sims.shape[1]))
    return (logs[:, None, :] + sd[None, None, :] * noise).reshape(-1, sims.shape[1])


def forecast_scores(sims: np.ndarray, observed: np.ndarray, error_sd: np.ndarray | float,
                    seed: int = 0) -> pd.DataFrame:
    """Per target: median, 50 % and 90 % intervals (natural units), whether the observation
    falls inside, the 90 % interval's width on the log scale, WIS and CRPS on log(1 + x)."""
    import scoringrules as sr

    draws = predictive_draws(sims, error_sd, seed=seed)
    obs_log = np.log1p(np.asarray(observed, dtype=float))
    levels = np.concatenate([WIS_ALPHAS / 2, [0.5], 1 - WIS_ALPHAS[::-1] / 2])
    q = np.quantile(draws, levels, axis=0)  # [levels, targets]
    k = len(WIS_ALPHAS)
    lower, median, upper = q[:k].T, q[k], q[k + 1:][::-1].T  # [targets, K] by alpha
    # WIS = (|y - m| / 2 + sum_k alpha_k / 2 x IS_k) / (K + 1/2) (Bracher et al. 2021), from
    # scoringrules' interval scores: its weighted_interval_score (0.11, numpy backend) mixes
    # the targets' medians when given a batch of them (a point forecast that hits scores > 0)
    interval_scores = sr.interval_score(obs_log, lower, upper, WIS_ALPHAS,
                                        backend="numpy")
    # [targets, K] even for one target (scoringrules drops a batch axis of length one)
    interval_scores = np.asarray(interval_scores, dtype=float).reshape(len(obs_log), -1)
    wis = (0.5 * np.abs(obs_log - median) + (interval_scores * WIS_ALPHAS / 2)
           .sum(axis=1)) / (len(WIS_ALPHAS) + 0.5)
    crps = np.atleast_1d(np.asarray(sr.crps_ensemble(obs_log, draws.T, backend="numpy"),
                                    dtype=float))
    i90, i50 = int(np.flatnonzero(WIS_ALPHAS == 0.1)[0]), int(np.flatnonzero(WIS_ALPHAS == 0.5)[0])

    def natural(v: np.ndarray) -> np.ndarray:
        return np.sign(v) * np.expm1(np.abs(v))

    return pd.DataFrame({
        "pred_median": natural(median),
        "lower": natural(lower[:, i90]), "upper": natural(upper[:, i90]),
        "lower_50": natural(lower[:, i50]), "upper_50": natural(upper[:, i50]),
        "inside": (lower[:, i90] <= obs_log) & (obs_log <= upper[:, i90]),
        "inside_50": (lower[:, i50] <= obs_log) & (obs_log <= upper[:, i50]),
        "width_90_log": upper[:, i90] - lower[:, i90],
        "wis_log": np.asarray(wis, dtype=float),
        "crps_log": np.asarray(crps, dtype=float),
    })


FORECAST_COLUMNS = ["horizon_days", "error_sd", "lower_50", "upper_50", "inside_50",
                    "width_90_log", "wis_log", "crps_log"]


def with_discrepancy(table: pd.DataFrame, sims: np.ndarray, dates: list[dt.date | None],
                     discrepancy: Discrepancy, origin: dt.date, seed: int = 0,
                     unfitted: np.ndarray | None = None) -> pd.DataFrame:
    """A target table (one row per target, `observed` column) with its 90 % interval replaced
    by the runs x the discrepancy at each row's horizon after `origin` (and, on the rows
    `unfitted` marks, its unfitted destinations' error), and the forecast hubs' scores added
    (FORECAST_COLUMNS)."""
    horizons = horizon_days(dates, origin)
    sd = discrepancy.sd(horizons, unfitted)
    scores = forecast_scores(sims, table["observed"].to_numpy(float), sd, seed=seed)
    table = table.copy()
    table["horizon_days"], table["error_sd"] = horizons, sd
    for col in ("lower", "upper", "inside", *FORECAST_COLUMNS[2:]):
        table[col] = scores[col].to_numpy()
    return table


@dataclass(frozen=True)
class PredictiveError:
    """How far a report may fall from the model's runs: the one predictive path of the
    calibration, its redrawn report and the evaluation. With a structural `discrepancy`, a
    log-sd growing with the days after `origin` (the last training date); without, a constant
    log-sd `error_sd` (0: the runs alone)."""

    error_sd: float = 0.0
    discrepancy: Discrepancy | None = None
    origin: dt.date | None = None
    # the countries the calibration had fit rows of (None: every destination counts as fitted)
    fitted_countries: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.discrepancy is not None and self.origin is None:
            raise ValueError("a discrepancy needs the origin its horizons count from")

    @classmethod
    def of_summary(cls, summary: dict) -> PredictiveError:
        """The error a calibration's summary.json records it drew its intervals with."""
        discrepancy = summary.get("discrepancy")
        fitted = summary.get("fitted_countries")
        fitted = tuple(fitted) if fitted is not None else None
        if discrepancy and summary.get("train_end"):
            return cls(float(summary.get("model_error_sd", 0.0)), Discrepancy(**discrepancy),
                       dt.date.fromisoformat(summary["train_end"]), fitted)
        return cls(float(summary.get("model_error_sd", 0.0)), fitted_countries=fitted)

    def unfitted_rows(self, problem) -> np.ndarray | None:
        """[targets] whether a row's destination includes a country the calibration had no fit
        row of (None when no such error applies)."""
        if (self.discrepancy is None or self.discrepancy.unfitted_sd <= 0
                or self.fitted_countries is None):
            return None
        fitted = np.isin(np.asarray(problem.geo.country_ids), list(self.fitted_countries))
        return np.array([bool((t.countries & ~fitted).any()) for t in problem.targets],
                        dtype=bool)

    def sd(self, dates: list[dt.date | None],
           unfitted: np.ndarray | None = None) -> np.ndarray:
        """The log-sd of a report dated on each of `dates` (of an unfitted destination where
        `unfitted` says so)."""
        if self.discrepancy is None:
            return np.full(len(dates), self.error_sd)
        return self.discrepancy.sd(horizon_days(dates, self.origin), unfitted)

    def table(self, problem, sims: np.ndarray, interval: float = 0.9) -> pd.DataFrame:
        """Per target: `target_table`'s columns with the intervals of a report; with a
        discrepancy, also the forecast hubs' scores (FORECAST_COLUMNS)."""
        if self.discrepancy is None:
            return target_table(problem, sims, interval, self.error_sd)
        return with_discrepancy(target_table(problem, sims, interval, 0.0), sims,
                                [t.obs.date for t in problem.targets], self.discrepancy,
                                self.origin, unfitted=self.unfitted_rows(problem))

    def describe(self) -> str:
        """One sentence for a report: what widens the runs into the interval of a report."""
        if self.discrepancy is None:
            return (f"a lognormal model/reporting error of log-sd {self.error_sd:.3f} "
                    "(predict.model_error)")
        d = self.discrepancy
        unfitted = (f"; a further log-sd of {d.unfitted_sd:.3f} on rows of destinations the "
                    "calibration had no fit row of (destination_discrepancy)"
                    if d.unfitted_sd > 0 else "")
        return (f"the model's structural discrepancy (predict.discrepancy): log-sd "
                f"{d.base_sd:.3f} on the training rows, its variance growing by "
                f"{d.growth_per_day:.4f} a day after {self.origin.isoformat()}{unfitted}")


def horizon_bin(h: float) -> str:
    for low, high, label in HORIZON_BINS:
        if low <= h <= high:
            return label
    return HORIZON_BINS[-1][2]


def summarise(table: pd.DataFrame, by: str | list[str] | None = None) -> pd.DataFrame:
    """Scores per group (or overall): rows, targets (duplicates weighted as one), median
    |log ratio|, coverage of the 50 % and 90 % intervals, mean 90 % width on the log scale,
    mean WIS and CRPS (log scale). Weighted means use the rows' weights."""
    def one(g: pd.DataFrame) -> pd.Series:
        w = g["weight"].to_numpy(float)
        median = weighted_median(np.abs(g["log_ratio"].to_numpy(float)), w)
        return pd.Series({
            "rows": len(g), "targets": float(w.sum()), "median_abs_log_ratio": median,
            "coverage_50": float(np.average(g["inside_50"].astype(float), weights=w)),
            "coverage_90": float(np.average(g["inside"].astype(float), weights=w)),
            "width_90_log": float(np.average(g["width_90_log"], weights=w)),
            "wis_log": float(np.average(g["wis_log"], weights=w)),
            "crps_log": float(np.average(g["crps_log"], weights=w)),
        })

    if table.empty:
        return pd.DataFrame()
    if by is None:
        return one(table).to_frame().T
    return table.groupby(by, sort=False).apply(one, include_groups=False).reset_index()


def markdown_table(frame: pd.DataFrame) -> str:
    """A pipe table with scores rounded to what a few dozen rows support."""
    def fmt(v: object, col: str) -> str:
        if isinstance(v, float):
            if col.startswith("coverage"):
                return f"{100 * v:.0f}%"
            if col in ("rows", "targets"):
                return f"{v:.0f}"
            return f"{v:.2f}"
        return str(v)

    cols = list(frame.columns)
    lines = ["| " + " | ".join(cols) + " |", "| " + " | ".join("---" for _ in cols) + " |"]
    lines += ["| " + " | ".join(fmt(r[c], c) for c in cols) + " |" for _, r in frame.iterrows()]
    return "\n".join(lines)
