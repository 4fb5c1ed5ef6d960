"""The calibration's stages, each checkpointed under `work_dir` so that an interrupted run
resumes (the command is `python -m experiments.calibrate`; docs/calibration.md).

Why this shape: the data (sim/data/observations_2022.csv) are ~75 noisy, partly conflicting
counts, so one best point would hide how little some parameters are pinned down. The calibration
therefore produces a posterior by approximate Bayesian computation (ABC-SMC with MCMC
replenishment, `calibration.abc`), polishes a point estimate from its best particle with an
optimiser (`calibration.optimise`), and predicts every target as a median with a 90 % interval
over posterior particles x seeds (`calibration.ensemble`).

1. ABC-SMC: one simulation per proposal with a fresh seed (the seed noise is part of the
   likelihood); the particle state is saved after every sweep (abc.npz).
2. Optimiser: seed-averaged loss with common random numbers (deterministic), every evaluation
   cached on disk, so a re-run replays the cache and continues.
3. Posterior predictive ensemble (ensemble.npz).
4. Report (`calibration.report`), posterior.csv, and the configured point written to
   conf/behaviour/calibrated.yaml and conf/network/calibrated.yaml: by default the posterior
   medoid (`posterior_medoid`, a typical member), or the optimiser's point (`conf_point`).

The loss is the weighted mean absolute log((sim + 1) / (obs + 1)) over `fit` rows (or its root
mean square, `loss=rms`); rows measuring the same quantity share one weight
(`calibration.observe`). Every stage's runs go to `parallel` (`sim.parallel.run_many`): local
processes, or a Dask or Ray cluster.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from typing import Any

import numpy as np
import pandas as pd
from omegaconf import DictConfig, OmegaConf

from calibration.abc import run_abc
from calibration.calibrated_conf import write_calibrated_conf
from calibration.checkpoints import State, fingerprint
from calibration.ensemble import Extract, run_ensemble
from calibration.forecast import Discrepancy, PredictiveError
from calibration.optimise import run_optimiser
from calibration.parameters import load_parameters, posterior_medoid, resample
from calibration.paths import project_path
from calibration.problem import Problem, make_problem, point_values
from calibration.report import write_report
from calibration.scores import fit_summary, model_error_sd, unmapped_table
from sim.errors import InputError
from sim.parallel import as_parallel_config

log = logging.getLogger("calibrate")


def quiet_libraries() -> None:
    """Mesa logs every step at INFO, which Hydra's logging would write to disk for every run."""
    for name in ("MESA", "mesa"):
        logging.getLogger(name).setLevel(logging.WARNING)


def calibrate(cfg: DictConfig) -> dict[str, Any]:
    """Run every stage (resuming from checkpoints) and write the report; returns the summary."""
    if cfg.conf_point not in ("medoid", "optimiser"):  # before hours of ABC, not after
        raise ValueError(f"conf_point: {cfg.conf_point!r} is not medoid or optimiser")
    if cfg.predict.get("discrepancy") and not project_path(cfg.predict.discrepancy).exists():
        raise InputError(f"predict.discrepancy: {project_path(cfg.predict.discrepancy)} does "
                         "not exist (written by `python -m experiments.holdout`; null: none)")
    quiet_libraries()
    out_dir, work = project_path(cfg.out_dir), project_path(cfg.work_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    OmegaConf.set_struct(cfg, False)
    params = load_parameters(cfg.parameters)
    problem = make_problem(cfg.observations, list(cfg.model_overrides), params, float(cfg.scale),
                           int(cfg.max_extrapolated_days))
    problem.abort_departures = float(cfg.abort_departures) if cfg.abort_departures else None
    problem.loss_kind = str(cfg.loss)
    fit = problem.mapping.of_use("fit")
    log.info("%d fit targets (%d groups), %d claims, %d rows not mapped; %d parameters",
             len(fit), round(sum(t.weight for t in fit)), len(problem.mapping.of_use("claim")),
             len(problem.mapping.unmapped), len(params))
    state = State(work, fingerprint(cfg, problem), bool(cfg.restart))
    try:
        return _run_stages(cfg, problem, state)
    finally:
        state.close()


def _run_stages(cfg: DictConfig, problem: Problem, state: State) -> dict[str, Any]:
    out_dir, work = project_path(cfg.out_dir), project_path(cfg.work_dir)
    params = problem.params
    timings = dict(state["timings"] or {})

    def record(stage: str, seconds: float) -> None:
        """Checkpoint the stage times. Their sum is what the calibration costs however often it
        was interrupted and resumed: ABC keeps its own clock in its checkpoint, the optimiser
        adds the time of its new evaluations, the ensemble is re-run on every invocation."""
        timings[stage] = seconds
        timings["total"] = sum(timings.get(k, 0.0) for k in ("abc", "optimiser", "predict"))
        state["timings"] = timings

    parallel = as_parallel_config(cfg.parallel)
    # 1. ABC-SMC
    t0 = time.perf_counter()
    if cfg.abc.enabled:
        posterior = run_abc(problem, cfg, parallel, work, state)
    else:
        posterior = pd.DataFrame([point_values(problem)]).assign(
            weight=1.0, distance=np.nan, generation=-1)
    record("abc", float(state["abc_seconds"] or time.perf_counter() - t0))
    posterior.to_csv(out_dir / "posterior.csv", index=False, float_format="%.12g")

    # 2. point optimiser, from the best particle
    t0 = time.perf_counter()
    if cfg.optimiser.start == "abc_best" and posterior["distance"].notna().any():
        start = posterior.sort_values("distance").iloc[0].to_dict()
    else:
        start = {p.name: p.from_unit(0.5) for p in params}
    if cfg.optimiser.name != "none":
        best, best_loss = run_optimiser(problem, cfg, parallel, work, start)
    else:
        best, best_loss = {p.name: float(start[p.name]) for p in params}, float("nan")
    record("optimiser", timings.get("optimiser", 0.0) + time.perf_counter() - t0)
    log.info("optimiser: loss %.4f  %s", best_loss,
             ", ".join(f"{k}={v:.4g}" for k, v in best.items()))
    optimum = best
    if cfg.conf_point == "medoid" and cfg.abc.enabled:
        best = posterior_medoid(posterior, params)
        log.info("configured point: the posterior medoid  %s",
                 ", ".join(f"{k}={v:.4g}" for k, v in best.items()))

    # 3. posterior predictive ensemble (+ the configured point with the same seeds)
    t0 = time.perf_counter()
    rs = cfg.report
    extract = Extract(tuple(rs.countries), str(rs.queue_post))
    samples = resample(posterior, int(cfg.predict.particles), int(cfg.predict.seed))
    seeds = [int(cfg.predict.seed) + i for i in range(int(cfg.predict.seeds))]
    ens = run_ensemble(problem, parallel, samples, seeds, float(cfg.predict.scale), extract,
                       "posterior predictive")
    point = run_ensemble(problem, parallel, pd.DataFrame([best]), seeds,
                         float(cfg.predict.scale), extract, "configured point")
    record("predict", time.perf_counter() - t0)
    np.savez_compressed(work / "ensemble.npz", **ens)
    error_sd = model_error_sd(cfg.predict.model_error, posterior, problem, ens["targets"])
    train_end = max(t.obs.date for t in problem.fit_targets)
    discrepancy = None
    if cfg.predict.get("discrepancy"):  # the rolling origins' structural error replaces it
        discrepancy = Discrepancy.from_json(project_path(cfg.predict.discrepancy))
    fitted = fitted_countries(problem)
    error = PredictiveError(error_sd, discrepancy, train_end if discrepancy else None, fitted)
    table = error.table(problem, ens["targets"])
    point_table = error.table(problem, point["targets"])
    summary = {
        "fit": fit_summary(table),
        "fit_point_estimate": fit_summary(point_table),
        "point_estimate": best,
        "point_kind": str(cfg.conf_point) if cfg.abc.enabled else "optimiser",
        "optimiser_point": optimum,
        "optimiser_loss": best_loss,
        "scale": float(cfg.scale),
        "predict": {"particles": int(cfg.predict.particles), "seeds": seeds,
                    "scale": float(cfg.predict.scale)},
        "abc_generations": int(posterior["generation"].max()),
        # generations | acceptance | simulation_budget | time_budget (the machine's speed)
        "abc_stopped_by": state["abc_stopped_by"] if cfg.abc.enabled else None,
        "model_error_sd": error_sd,
        "train_end": train_end.isoformat(),
        "fitted_countries": list(fitted),
        "discrepancy": dataclasses.asdict(discrepancy) if discrepancy else None,
        "timings_seconds": timings,
    }
    # 4. configuration and report
    if cfg.conf_dir:
        note = (f"{summary['point_kind']} point of the posterior, "
                f"{dt.date.today().isoformat()}")
        for path in write_calibrated_conf(project_path(cfg.conf_dir), params, best, note,
                                          problem.base):
            log.info("wrote %s", path)
    pd.DataFrame([best]).to_csv(out_dir / "point_estimate.csv", index=False)
    write_report(out_dir, problem, cfg, table, ens, posterior, summary,
                 unmapped_table(problem.mapping))
    s = summary["fit"]
    log.info("fit: median |log ratio| %.3f, %.0f%% inside the 90%% interval, ARD %.3f "
             "(%d rows, %.0f targets); report in %s; %.1f min",
             s["median_abs_log_ratio"], 100 * s["share_inside"], s["ard"], s["rows"],
             s["groups"], out_dir, timings["total"] / 60)
    return summary


def fitted_countries(problem: Problem) -> tuple[str, ...]:
    """The countries with a `fit` row of their own (a single-country destination): the
    destinations whose flows the calibration saw."""
    ids = problem.geo.country_ids
    return tuple(sorted({ids[int(np.flatnonzero(t.countries)[0])] for t in problem.fit_targets
                         if t.countries.sum() == 1}))
