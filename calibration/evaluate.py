"""Scoring the calibrated model on any observations file of the reference schema (the command
is `python -m experiments.evaluate observations=PATH`).

The calibrated model is an ensemble: posterior particles (results/calibration/posterior.csv,
resampled by weight) x seeds, on top of the calibrated configuration (conf/config.yaml). Every
`fit` row of PATH is mapped by the observation operator (calibration/observe.py) - any
destination, post, kind, direction and date inside the horizon, not only the training rows - and
compared with the ensemble's median and 90 % interval. Rows that cannot be mapped are listed
with the reason. Writes evaluation.csv and unmapped.csv into Hydra's run folder.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import DictConfig

from calibration.ensemble import Extract, run_ensemble
from calibration.forecast import FORECAST_COLUMNS, Discrepancy, PredictiveError, summarise
from calibration.parameters import check_posterior, load_parameters, resample
from calibration.paths import project_path
from calibration.pipeline import quiet_libraries
from calibration.problem import make_problem, point_values
from calibration.scores import fit_summary, unmapped_table
from sim.errors import ConfigError, InputError
from sim.parallel import as_parallel_config

log = logging.getLogger("evaluate")
COLUMNS = ["id", "observed", "simulated", "lower", "upper", "log_ratio", "inside", "model_lower",
           "model_upper", "inside_model", "destination", "post_ids", "direction", "kind",
           "period_start", "date", "group", "weight", "extrapolated_days"]


def posterior_samples(cfg: DictConfig, problem) -> pd.DataFrame:
    """Particles to run: the calibration's posterior, or the configured point if there is none."""
    path = project_path(cfg.posterior) if cfg.posterior else None
    if path is not None and path.exists():
        posterior = pd.read_csv(path)
        if "weight" not in posterior:
            posterior["weight"] = 1.0
        known = {p.name for p in problem.params}
        check_posterior(posterior, str(path), sorted(known & set(posterior.columns)))
        unknown = set(posterior.columns) - known - {"weight", "distance", "generation", "chain"}
        if unknown:  # e.g. a variant's posterior scored without the variant's parameters
            raise InputError(f"{path}: columns {sorted(unknown)} are not parameters of this "
                             "evaluation (conf/calibration/parameters.yaml); score a variant's "
                             "posterior with its variant, e.g. +variant=documents")
        missing = known - set(posterior.columns)
        if missing:
            log.warning("posterior %s lacks %s: the configured values are used", path,
                        sorted(missing))
            for name, value in point_values(problem).items():
                if name in missing:
                    posterior[name] = value
        return resample(posterior, int(cfg.particles), int(cfg.seed))
    log.warning("no posterior at %s: evaluating the configured point only (seed noise only)",
                path)
    return pd.DataFrame([point_values(problem)]).assign(weight=1.0)


def predictive_error(cfg: DictConfig) -> PredictiveError:
    """The error a report may carry around the runs (calibration/forecast.py): the
    calibration's (its summary.json: the structural discrepancy and the countries it had fit
    rows of) with, on rows of the other countries, the cross-validation's error of a
    destination never fitted (`destination_discrepancy`); or a constant log-sd, or none."""
    if cfg.model_error != "calibration":
        return PredictiveError(float(cfg.model_error or 0.0))
    path = project_path(cfg.calibration_summary)
    if not path.exists():
        log.warning("no %s: intervals show the model's spread only", path)
        return PredictiveError()
    summary = json.loads(path.read_text())
    error = PredictiveError.of_summary(summary)
    if not cfg.get("destination_discrepancy"):
        return error
    unfitted_path = project_path(cfg.destination_discrepancy)
    if not unfitted_path.exists():
        log.warning("no %s: rows of destinations never fitted carry no further error",
                    unfitted_path)
        return error
    unfitted = Discrepancy.from_json(unfitted_path)
    discrepancy = dataclasses.replace(error.discrepancy or Discrepancy(base_sd=error.error_sd),
                                      unfitted_sd=unfitted.unfitted_sd,
                                      unfitted_fitted_on=unfitted.unfitted_fitted_on)
    origin = error.origin or dt.date.fromisoformat(summary["train_end"])
    return dataclasses.replace(error, discrepancy=discrepancy, origin=origin)


def run_evaluation_ensemble(cfg: DictConfig, folder: Path):
    """Map the file's fit rows and run the ensemble on them. Returns (problem, runs
    [particles x seeds, targets] or None when no row could be mapped, number of particles,
    seeds); writes unmapped.csv."""
    quiet_libraries()
    params = load_parameters(cfg.parameters)
    problem = make_problem(cfg.observations, list(cfg.model_overrides), params,
                           float(cfg.scale), int(cfg.max_extrapolated_days), uses=("fit",),
                           strict=bool(cfg.strict))
    unmapped = unmapped_table(problem.mapping)
    folder.mkdir(parents=True, exist_ok=True)
    unmapped.to_csv(folder / "unmapped.csv", index=False)
    seeds = [int(cfg.seed) + i for i in range(int(cfg.seeds))]
    if not problem.targets:
        return problem, None, 0, seeds
    samples = posterior_samples(cfg, problem)
    until = max(t.last for t in problem.targets)
    ens = run_ensemble(problem, as_parallel_config(cfg.parallel), samples, seeds,
                       float(cfg.scale), Extract(), "evaluation", until=until)
    return problem, ens["targets"], len(samples), seeds


def check_settings(cfg: DictConfig) -> None:
    """The evaluation's numbers, before any folder exists or any run starts."""
    for name in ("particles", "seeds"):
        if int(cfg[name]) < 1:
            raise ConfigError(name, f"{cfg[name]}: at least 1")
    if not 0.0 < float(cfg.interval) < 1.0:
        raise ConfigError("interval", f"{cfg.interval}: a probability between 0 and 1, e.g. 0.9")
    if float(cfg.scale) <= 0.0 or float(cfg.scale) > 1.0:
        raise ConfigError("scale", f"{cfg.scale}: a population scale in (0, 1]")
    if not project_path(cfg.observations).is_file():
        raise ConfigError("observations", f"{project_path(cfg.observations)} does not exist")


def evaluate(cfg: DictConfig, folder: Path) -> dict:
    """Run the ensemble, score the fit rows, write evaluation.csv; returns the summary."""
    check_settings(cfg)
    problem, sims, n_particles, seeds = run_evaluation_ensemble(cfg, folder)
    if sims is None:  # nothing to score is bad input, not a result: exit code 2
        _print_unmapped(unmapped_table(problem.mapping))
        raise InputError(f"{cfg.observations}: no fit row could be mapped (listed above)")
    return score(cfg, folder, problem, sims, n_particles, seeds)


def score(cfg: DictConfig, folder: Path, problem, sims, n_particles: int,
          seeds: list[int], error: PredictiveError | None = None) -> dict:
    """Compare the ensemble's runs with the fit rows: evaluation.csv and a printed summary.
    `error`: the intervals' error (the configured one, `predictive_error`, if None)."""
    unmapped = unmapped_table(problem.mapping)
    if error is None:
        error = predictive_error(cfg)
    discrepancy, error_sd = error.discrepancy, error.error_sd
    table = error.table(problem, sims, float(cfg.interval))
    columns = COLUMNS + (FORECAST_COLUMNS if discrepancy is not None else [])
    table[columns].to_csv(folder / "evaluation.csv", index=False, float_format="%.6g")
    summary = fit_summary(table)
    if discrepancy is not None:
        overall = summarise(table[table["use"] == "fit"]).iloc[0]
        summary |= {k: float(overall[k]) for k in ("coverage_50", "width_90_log", "wis_log",
                                                     "crps_log")}
        error_sd = float(np.median(table["error_sd"]))
    print(f"\nScored {summary['rows']} fit rows ({summary['groups']:.0f} targets after "
          f"weighting conflicting duplicates as one) of {cfg.observations}")
    print(f"  ensemble: {n_particles} posterior particles x {len(seeds)} seeds, scale "
          f"{cfg.scale}")
    print(f"  median |log ratio|       {summary['median_abs_log_ratio']:.3f}")
    print(f"  inside the {100 * float(cfg.interval):.0f}% interval  "
          f"{100 * summary['share_inside']:.0f}%  (model x reporting error of log-sd "
          f"{error_sd:.2f}{' (median over rows)' if discrepancy else ''}; the model's spread "
          f"alone: {100 * summary['share_inside_model_only']:.0f}%)")
    if discrepancy is not None:
        print(f"  inside the 50% interval  {100 * summary['coverage_50']:.0f}%")
        print(f"  WIS, CRPS (log scale)    {summary['wis_log']:.3f}, {summary['crps_log']:.3f}")
    print(f"  ARD (mean |sim-obs|/obs) {summary['ard']:.3f}")
    print(f"  RMS log ratio            {summary['rms_log_ratio']:.3f}")
    _print_unmapped(unmapped)
    print(f"evaluation.csv and unmapped.csv in {folder}")
    return summary


def _print_unmapped(unmapped: pd.DataFrame) -> None:
    scored_uses = unmapped[unmapped["use"] == "fit"]
    n_other = len(unmapped) - len(scored_uses)
    print(f"\n{len(scored_uses)} fit rows could not be mapped"
          + (f" ({n_other} claim/context rows are not scored)" if n_other else ""))
    for _, r in scored_uses.iterrows():
        print(f"  {r['id']}: {r['reason']}")
