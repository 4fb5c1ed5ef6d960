"""Cross-validation of the calibration over destinations and over time (the command is
`python -m experiments.crossval [by=destination|time] out_dir=DIR work_dir=DIR`).

A *fold* is a training file and a test file cut from one observations file:

- by destination, one fold per destination with at least `min_fit_rows` `fit` rows (the
  destinations with fewer are held out together, as the fold `others`): the training file
  lacks every row whose destination contains a held-out country - its own `fit` rows and
  every aggregate row that includes it ('Georgia+Kazakhstan+Finland', all of Russia's exits,
  any destination the model cannot resolve, which might include it) - and the test file holds
  the held-out countries' own `fit` rows;
- by time, one fold per origin (the rolling origins of the forecast test,
  calibration/holdout.py): the training file lacks the `fit` rows dated after the origin,
  which the test file holds.

Every fold is calibrated on its training file alone (calibration/pipeline.py, `conf_dir=null`:
the configured model is never touched) and its posterior ensemble forecasts the test rows
(calibration/evaluate.py), the folds in parallel through `sim.parallel.run_many`. The rows are
then scored as the forecast test scores them (calibration/forecast.py): a destination fold's
intervals carry its own training residuals' error (no growth: the rows lie inside the
training period); a time fold's carry the structural discrepancy fitted to the earlier
origins' forecasts of rows known by its origin, as in the forecast test.

Writes, under `out_dir`: <fold>/ (train.csv, test.csv, calibration/, evaluation/
evaluation.csv), crossval.csv (every out-of-fold row, with its fold), crossval.md (scores per
destination and overall) and summary.json.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from omegaconf import DictConfig

import calibration.config  # noqa: F401 - the schemas of the configs composed here
from calibration.evaluate import run_evaluation_ensemble, score
from calibration.forecast import (
    Discrepancy,
    PredictiveError,
    fit_extra_sd,
    horizon_days,
    log1p_signed,
    markdown_table,
    model_log_sd,
    summarise,
)
from calibration.holdout import fit_discrepancy, split_observations
from calibration.observe import Geography, Observation, read_observations, resolve_destination
from calibration.paths import project_path
from calibration.pipeline import calibrate
from sim.atomic import atomic_write_text
from sim.errors import InputError
from sim.parallel import as_parallel_config, effective_jobs, run_many

log = logging.getLogger("crossval")
BY = ("destination", "time")
OTHERS = "others"
SCORE_COLUMNS = ["rows", "targets", "median_abs_log_ratio", "coverage_50", "coverage_90",
                 "width_90_log", "wis_log", "crps_log"]


# -- the folds ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fold:
    """A named split: the model countries it holds out (by destination) or its origin (by
    time), and its training and test files."""

    name: str
    train: Path
    test: Path
    countries: tuple[str, ...] = ()
    origin: dt.date | None = None


def row_countries(obs: Observation, geo: Geography) -> set[str] | None:
    """The model countries a row's destination covers (every one for all of Russia's exits);
    None when the model cannot resolve it, so it may contain any."""
    mask, _, _ = resolve_destination(obs.destination, geo)
    if mask is None:
        return None
    return {geo.country_ids[i] for i in np.flatnonzero(mask)}


def fit_rows_by_country(observations: Iterable[Observation], geo: Geography) -> dict[str, int]:
    """`fit` rows per country, counting only rows about one country (an aggregate row is no
    destination's own)."""
    counts: dict[str, int] = {}
    for obs in observations:
        countries = row_countries(obs, geo)
        if obs.use == "fit" and countries is not None and len(countries) == 1:
            (country,) = countries
            counts[country] = counts.get(country, 0) + 1
    return counts


def destination_groups(counts: dict[str, int], min_fit_rows: int,
                       pool_small: bool) -> dict[str, tuple[str, ...]]:
    """Fold name -> the countries it holds out: every country with at least `min_fit_rows` rows
    alone; the others together as `others` (if `pool_small`), largest first."""
    big = sorted((c for c, n in counts.items() if n >= min_fit_rows),
                 key=lambda c: (-counts[c], c))
    groups = {c: (c,) for c in big}
    small = tuple(sorted(c for c, n in counts.items() if n < min_fit_rows))
    if pool_small and small:
        groups[OTHERS] = small
    return groups


def split_by_destination(path: Path, countries: Iterable[str], geo: Geography,
                         out_dir: Path) -> tuple[Path, Path]:
    """train.csv: every row whose destination cannot contain a held-out country; test.csv: the
    held-out countries' own `fit` rows (one country each). Rows are copied as read."""
    held = set(countries)
    observations = read_observations(path)  # parsed and checked before anything is written
    dropped, tested = set(), set()
    for obs in observations:
        covered = row_countries(obs, geo)
        if covered is None or covered & held:
            dropped.add(obs.id)
            if obs.use == "fit" and covered is not None and len(covered) == 1:
                tested.add(obs.id)
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    ids = raw["id"].str.strip()
    out_dir.mkdir(parents=True, exist_ok=True)
    train, test = out_dir / "train.csv", out_dir / "test.csv"
    atomic_write_text(train, raw[~ids.isin(dropped)].to_csv(index=False))
    atomic_write_text(test, raw[ids.isin(tested)].to_csv(index=False))
    log.info("fold %s: %d fit rows held out, %d rows containing it dropped from training",
             "+".join(sorted(held)), len(tested), len(dropped))
    return train, test


def make_folds(cfg: DictConfig, geo: Geography) -> list[Fold]:
    """The folds of `cfg.by`, restricted to `cfg.folds` if given (names as in the output)."""
    path = project_path(cfg.observations)
    out_dir = project_path(cfg.out_dir)
    if cfg.by not in BY:
        raise InputError(f"by: {cfg.by!r} is not one of {list(BY)}")
    wanted = [str(f) for f in cfg.folds]
    if cfg.by == "destination":
        counts = fit_rows_by_country(read_observations(path), geo)
        groups = destination_groups(counts, int(cfg.min_fit_rows), bool(cfg.pool_small))
        names = {f"destination_{g}": g for g in groups}
    else:
        origins = sorted({_iso_date(o, "origins") for o in cfg.origins})
        if not origins:
            raise InputError("origins: by=time needs at least one origin")
        names = {f"origin_{o.isoformat()}": o for o in origins}
    unknown = [f for f in wanted if f not in names]
    if unknown:
        raise InputError(f"folds: {unknown} are not folds of by={cfg.by} (these are: "
                         f"{sorted(names)})")
    folds = []
    for name, key in names.items():
        if wanted and name not in wanted:
            continue
        folder = out_dir / name
        if cfg.by == "destination":
            held = groups[key]
            train, test = split_by_destination(path, held, geo, folder)
            folds.append(Fold(name, train, test, countries=held))
        else:
            train, test = split_observations(path, key, folder)
            folds.append(Fold(name, train, test, origin=key))
    return folds


def _iso_date(value: object, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise InputError(f"{field}: {value!r} is not a date (YYYY-MM-DD)") from None


# -- one fold: calibrate, forecast ---------------------------------------------------------------


@dataclass
class FoldJob:
    """What a worker needs to run a fold: the composed calibration and evaluation configs."""

    fold: Fold
    calibrate_cfg: DictConfig
    evaluate_cfg: DictConfig
    evaluation_dir: Path
    rescore: bool = False  # reuse the fold's calibration (posterior.csv, summary.json)


@dataclass
class FoldForecast:
    """A fold's calibration summary and its ensemble's runs of the test rows; the residuals
    `calibration.holdout.fit_discrepancy` reads (like its `OriginForecast`)."""

    fold: Fold
    trained: dict[str, Any]
    evaluate_cfg: DictConfig
    evaluation_dir: Path
    problem: Any
    sims: np.ndarray
    n_particles: int
    seeds: list[int]

    def __post_init__(self) -> None:
        targets = self.problem.targets
        self.dates = [t.obs.date for t in targets]
        self.weights = np.array([t.weight for t in targets])
        observed = np.array([t.obs.value for t in targets], dtype=float)
        self.residuals = np.log1p(observed) - log1p_signed(np.median(self.sims, axis=0))
        self.model_sd = model_log_sd(self.sims)
        self.origin = self.fold.origin or dt.date.fromisoformat(self.trained["train_end"])
        self.horizons = horizon_days(self.dates, self.origin)

    def rows_up_to(self, last: dt.date | None) -> np.ndarray:
        return np.array([last is None or (d is not None and d <= last) for d in self.dates])


def run_fold(job: FoldJob) -> FoldForecast:
    """Calibrate on the fold's training rows and run its posterior ensemble on the test rows
    (a job of `run_many`: module level, its arguments pickle)."""
    try:
        trained = previous_calibration(job) if job.rescore else calibrate(job.calibrate_cfg)
        problem, sims, n_particles, seeds = run_evaluation_ensemble(job.evaluate_cfg,
                                                                    job.evaluation_dir)
    except InputError as err:  # as a plain InputError: a DataError does not unpickle
        raise InputError(f"fold {job.fold.name}: {err}") from None
    if sims is None:
        raise InputError(f"fold {job.fold.name}: no held-out fit row could be mapped (see "
                         f"{job.evaluation_dir / 'unmapped.csv'})")
    return FoldForecast(job.fold, trained, job.evaluate_cfg, job.evaluation_dir, problem, sims,
                        n_particles, seeds)


def previous_calibration(job: FoldJob) -> dict[str, Any]:
    """The summary of the fold's calibration that is already there (`rescore=true`)."""
    folder = project_path(job.calibrate_cfg.out_dir)
    for name in ("summary.json", "posterior.csv"):
        if not (folder / name).is_file():
            raise InputError(f"fold {job.fold.name}: rescore=true, but {folder / name} does "
                             "not exist (run the fold's calibration first: rescore=false)")
    return json.loads((folder / "summary.json").read_text())


def fold_jobs(cfg: DictConfig, folds: list[Fold]) -> list[FoldJob]:
    """Compose each fold's calibration and evaluation (in this process: Hydra's compose needs
    the command's global state, the workers get plain configs)."""
    from hydra import compose

    in_parallel = min(len(folds), effective_jobs(as_parallel_config(cfg.parallel).n_jobs)) > 1
    workers = ["n_workers=1"] if in_parallel else []  # folds in parallel: runs of each alone
    jobs = []
    for fold in folds:
        folder = project_path(cfg.out_dir) / fold.name
        calibration_dir = folder / "calibration"
        cal_cfg = compose("calibrate", overrides=[
            "predict.model_error=residuals", "predict.discrepancy=null",
            *cfg.calibrate_overrides, *workers, f"observations={fold.train}", "conf_dir=null",
            f"out_dir={calibration_dir}",
            f"work_dir={project_path(cfg.work_dir) / fold.name}"])
        model_overrides = "[" + ",".join(f"'{o}'" for o in cal_cfg.model_overrides) + "]"
        eval_cfg = compose("evaluate", overrides=[
            *cfg.evaluate_overrides, *workers, f"observations={fold.test}",
            f"posterior={calibration_dir / 'posterior.csv'}",
            f"calibration_summary={calibration_dir / 'summary.json'}",
            "destination_discrepancy=null",
            f"model_overrides={model_overrides}"])
        eval_cfg.parameters = cal_cfg.parameters  # a variant's parameters too
        jobs.append(FoldJob(fold, cal_cfg, eval_cfg, folder / "evaluation", bool(cfg.rescore)))
    return jobs


# -- scoring ------------------------------------------------------------------------------------


def fold_discrepancy(forecast: FoldForecast, earlier: list[FoldForecast],
                     others: list[FoldForecast]) -> Discrepancy:
    """The error of a fold's intervals: by time, fitted to the earlier origins' forecasts of
    rows known by its origin (the forecast test's); by destination, or for the first origin,
    its own training residuals' log-sd, not growing - and, by destination, the error of a
    destination never fitted, from the `others` folds' out-of-fold rows (never its own)."""
    if forecast.fold.origin is not None and earlier:
        return fit_discrepancy(earlier, forecast.fold.origin)  # type: ignore[arg-type]
    base = Discrepancy(base_sd=float(forecast.trained["model_error_sd"]),
                       fitted_on=f"training residuals of fold {forecast.fold.name}")
    if forecast.fold.countries and others:
        base = dataclasses.replace(base, **unfitted_error(others))
    return base


def unfitted_error(folds: list[FoldForecast]) -> dict[str, Any]:
    """`Discrepancy`'s unfitted-destination fields fitted to destination folds' out-of-fold
    residuals: the log-sd that, added to each fold's own (its runs' spread and its training
    error), makes them most likely."""
    residuals = np.concatenate([f.residuals for f in folds])
    known = np.concatenate([np.sqrt(f.model_sd**2 + float(f.trained["model_error_sd"]) ** 2)
                            for f in folds])
    weights = np.concatenate([f.weights for f in folds])
    return {"unfitted_sd": fit_extra_sd(residuals, known, weights),
            "unfitted_fitted_on": (f"out-of-fold rows of folds "
                                   f"{', '.join(f.fold.name for f in folds)} "
                                   f"({len(residuals)} rows)")}


def score_folds(forecasts: list[FoldForecast]) -> pd.DataFrame:
    """Score every fold's test rows (evaluation.csv in its folder, calibration/evaluate.py's
    columns and the forecast scores); returns them all, with `fold`, `discrepancy_sd` and, by
    destination, `unfitted_sd`."""
    tables = []
    ordered = sorted(forecasts, key=lambda f: (f.fold.origin or dt.date.min, f.fold.name))
    for i, f in enumerate(ordered):
        earlier = ordered[:i] if f.fold.origin is not None else []
        others = [o for o in ordered if o is not f and o.fold.countries]
        disc = fold_discrepancy(f, earlier, others)
        # by destination every test row is of a held-out country: unfitted by construction
        fitted = (tuple(c for c in f.problem.geo.country_ids if c not in f.fold.countries)
                  if f.fold.countries else None)
        score(f.evaluate_cfg, f.evaluation_dir, f.problem, f.sims, f.n_particles, f.seeds,
              error=PredictiveError(0.0, disc, f.origin, fitted))
        table = pd.read_csv(f.evaluation_dir / "evaluation.csv", dtype={"post_ids": str})
        table.insert(0, "fold", f.fold.name)
        table["use"] = "fit"
        table["discrepancy_base_sd"] = disc.base_sd
        table["unfitted_sd"] = disc.unfitted_sd
        tables.append(table)
    return pd.concat(tables, ignore_index=True)


def country_of_rows(table: pd.DataFrame, geo: Geography) -> pd.Series:
    """Each row's model country id (the rows of a test file are about one country each)."""
    def one(name: str) -> str:
        mask, _, _ = resolve_destination(name, geo)
        return geo.country_ids[int(np.flatnonzero(mask)[0])] if mask is not None else name
    return table["destination"].map(one)


def run_crossval(cfg: DictConfig, geo: Geography | None = None) -> dict[str, Any]:
    """Make the folds, run them through `run_many`, score them; write the tables."""
    if geo is None:
        geo = model_geography(cfg)
    folds = make_folds(cfg, geo)
    if not folds:
        raise InputError(f"{cfg.observations}: no fold (no destination with fit rows)")
    jobs = fold_jobs(cfg, folds)
    # one fold at a time (one fold, or one process): in this process, its runs in parallel
    one_at_a_time = min(len(folds), effective_jobs(as_parallel_config(cfg.parallel).n_jobs)) == 1
    forecasts = run_many(run_fold, jobs, 1 if one_at_a_time else cfg.parallel, desc="folds")
    table = score_folds(forecasts)
    table["country"] = country_of_rows(table, geo)
    out_dir = project_path(cfg.out_dir)
    destination_folds = [f for f in forecasts if f.fold.countries]
    if len(destination_folds) > 1:  # the error of a destination never fitted, for every model
        # calibrated on all rows (experiments.evaluate's destination_discrepancy): from every fold
        Discrepancy(**unfitted_error(destination_folds)).to_json(
            out_dir / "destination_discrepancy.json")
    atomic_write_text(out_dir / "crossval.csv", table.to_csv(index=False, float_format="%.6g"))
    overall = summarise(table)
    summary = {
        "by": str(cfg.by),
        "folds": [{"fold": f.fold.name, "held_out": list(f.fold.countries),
                   "origin": f.fold.origin.isoformat() if f.fold.origin else None,
                   "training": f.trained["fit"],
                   "model_error_sd": f.trained["model_error_sd"]} for f in forecasts],
        "overall": overall.iloc[0].to_dict(),
        "by_country": summarise(table, "country").to_dict(orient="records"),
        "by_fold": summarise(table, "fold").to_dict(orient="records"),
        "calibrate_overrides": list(cfg.calibrate_overrides),
        "evaluate_overrides": list(cfg.evaluate_overrides),
    }
    atomic_write_text(out_dir / "summary.json", json.dumps(summary, indent=1, default=str))
    _write_report(out_dir, summary, table)
    return summary


def model_geography(cfg: DictConfig) -> Geography:
    """The calibration's model geography (its `model_overrides`), to resolve destinations."""
    from hydra import compose

    from calibration.problem import neutral_world
    from sim.config import load_config

    cal = compose("calibrate", overrides=list(cfg.calibrate_overrides))
    return Geography.from_world(neutral_world(load_config([*cal.model_overrides,
                                                           "progress=false"])))


def _write_report(out_dir: Path, summary: dict, table: pd.DataFrame) -> None:
    by_country = summarise(table, "country")[["country", *SCORE_COLUMNS]]
    overall = summarise(table).assign(country="all")[["country", *SCORE_COLUMNS]]
    trained = pd.DataFrame([{"fold": f["fold"], "training_rows": f["training"]["rows"],
                             "training_median": f["training"]["median_abs_log_ratio"],
                             "coverage_90_training": f["training"]["share_inside"]}
                            for f in summary["folds"]])
    error = table.groupby("fold", sort=False)[["discrepancy_base_sd", "unfitted_sd"]].first()
    error = error.rename(columns={"discrepancy_base_sd": "error_sd"})
    if summary["by"] != "destination":
        error = error.drop(columns="unfitted_sd")
    folds = trained.merge(error.reset_index(), on="fold").merge(
        summarise(table, "fold")[["fold", "rows", "median_abs_log_ratio", "coverage_90"]],
        on="fold")
    what = ("each destination's fit rows held out (with every row whose destination contains "
            "it), the model calibrated on the rest" if summary["by"] == "destination" else
            "the fit rows dated after each origin held out, the model calibrated on the rest")
    text = "\n".join([
        f"# Cross-validation by {summary['by']}",
        "",
        f"`python -m experiments.crossval by={summary['by']}` (calibration settings: "
        f"{summary['calibrate_overrides'] or 'as configured'}; ensemble: "
        f"{summary['evaluate_overrides'] or 'as configured'}). Folds: {what}; each held-out row "
        "scored on the fold's posterior ensemble, on log(1 + x). These are out-of-fold "
        "scores: no figure of a row's own destination (or, by time, after its origin) was "
        "shown to the calibration that forecast it.",
        "",
        "Out of fold, per destination and overall:",
        "",
        markdown_table(pd.concat([by_country, overall], ignore_index=True)),
        "",
        "Per fold: its training fit (in sample), the log-sd of the error its intervals carry "
        "(by time, after the first origin: the discrepancy's base; by destination, with "
        "unfitted_sd, the further error of a destination never fitted, fitted to the other "
        "folds' out-of-fold rows only) and its out-of-fold rows"
        + (" (a row is scored once from every origin before it)" if summary["by"] == "time"
           else "") + ":",
        "",
        markdown_table(folds),
        "",
        "width_90_log: the 90 % interval's width on the log scale; wis_log: weighted interval "
        "score (Bracher et al. 2021) on log(1 + x), lower is better. Per row: crossval.csv and "
        "<fold>/evaluation/evaluation.csv.",
        ""])
    atomic_write_text(out_dir / "crossval.md", text)
