"""The posterior predictive ensemble: posterior particles x seeds, each run reduced to what the
report and the evaluation keep (real-population units)."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from calibration.measure import simulate_targets
from calibration.problem import Problem
from sim.parallel import ParallelConfig, run_batched
from sim.results import Results

log = logging.getLogger("calibrate")


def extract_run(problem: Problem, results: Results, ppv: float, countries: Sequence[str] = (),
                queue_post: str = "") -> dict[str, np.ndarray]:
    """What the report and the evaluation keep of one run (real-population units)."""
    geo, real = problem.geo, results.real
    out: dict[str, np.ndarray] = {
        "targets": simulate_targets(problem.targets, results, geo, ppv, problem.baseline_days),
    }
    c = results.record.country
    n_days = len(results.dates)
    entered = c["entered_fleeing"] + c["entered_normal"] + c["entered_onward"]
    cidx = geo.country_ids
    out["entered"] = real(np.stack([entered[:, cidx.index(k)] for k in countries], axis=1)) \
        if countries else np.zeros((n_days, 0))
    out["entered_fleeing"] = real(np.stack(
        [(c["entered_fleeing"] + c["entered_onward"])[:, cidx.index(k)] for k in countries],
        axis=1)) if countries else np.zeros((n_days, 0))
    g = results.record.gate
    out["left_all"] = real((g["crossed_fleeing"] + g["crossed_normal"]).sum(axis=1))
    out["left_fleeing"] = real(g["crossed_fleeing"].sum(axis=1))
    out["abroad_fleeing"] = real(c["present_fleeing"].sum(axis=1))  # stock, end of each day
    if queue_post:
        k = geo.gate_ids.index(queue_post)
        out["queue_vehicles"] = real(g["queue_fleeing"][:, k] + g["queue_normal"][:, k]) / ppv
    return out


@dataclass(frozen=True)
class Extract:
    """What to keep of a run: the report's countries and queue post (none: the targets)."""

    countries: tuple[str, ...] = ()
    queue_post: str = ""

    def __call__(self, problem: Problem, results: Results, ppv: float) -> dict:
        return extract_run(problem, results, ppv, self.countries, self.queue_post)


@dataclass(frozen=True)
class EnsembleJob:
    problem: Problem
    values: dict[str, float]
    seed: int
    scale: float | None
    until: int | None
    extract: Extract


def run_ensemble_job(job: EnsembleJob) -> dict[str, np.ndarray]:
    return run_ensemble_batch([job])[0]


def run_ensemble_batch(jobs: list[EnsembleJob]) -> list[dict[str, np.ndarray]]:
    """Jobs of one problem, scale and horizon, stepped together (`sim.batch.run_members`)."""
    out: list[dict[str, np.ndarray]] = []
    start = 0
    while start < len(jobs):  # consecutive jobs that can share an ensemble
        end = start + 1
        while end < len(jobs) and _batchable(jobs[start], jobs[end]):
            end += 1
        same, first = jobs[start:end], jobs[start]
        runs = first.problem.run_batch([j.values for j in same], [j.seed for j in same],
                                       first.scale, until=first.until)
        out.extend(j.extract(j.problem, results, ppv)
                   for j, (results, ppv, _) in zip(same, runs, strict=True))
        start = end
    return out


def _batchable(a: EnsembleJob, b: EnsembleJob) -> bool:
    return a.problem is b.problem and a.scale == b.scale and a.until == b.until


def run_ensemble(problem: Problem, parallel: ParallelConfig | int, samples: pd.DataFrame,
                 seeds: Sequence[int], scale: float, extract: Extract,
                 label: str = "ensemble", until: int | None = None) -> dict[str, Any]:
    """Every sample x seed (up to day `until`); stacked arrays [n_runs, ...] plus which sample
    each run used."""
    names = [p.name for p in problem.params]
    jobs = [EnsembleJob(problem, {n: float(row[n]) for n in names if n in row}, int(s), scale,
                        until, extract)
            for _, row in samples.iterrows() for s in seeds]
    t0 = time.perf_counter()
    results = run_batched(run_ensemble_batch, jobs, parallel, desc=label)
    log.info("%s: %d runs, %.0f s", label, len(jobs), time.perf_counter() - t0)
    stacked = {k: np.stack([r[k] for r in results]) for k in results[0]}
    stacked["sample"] = np.repeat(np.arange(len(samples)), len(seeds))
    return stacked
