"""Stage 2 of the calibration: a point estimate by an optimiser that needs no service (scipy
Nelder-Mead by default, differential evolution) or an optuna study in any SQLAlchemy storage.

The objective is the seed-averaged loss with common random numbers (deterministic); every
evaluation is cached on disk, so a re-run replays the cache and continues."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from calibration.paths import project_path
from calibration.problem import FitJob, Problem, simulate_fit_batch
from sim.parallel import ParallelConfig, run_batched

log = logging.getLogger("calibrate")


class CachedObjective:
    """Seed-averaged loss on the unit cube; every evaluation is appended to a cache file, so an
    interrupted optimiser replays its path from disk and continues (the objective is
    deterministic: fixed seeds, common random numbers)."""

    def __init__(self, problem: Problem, parallel: ParallelConfig, seeds: Sequence[int],
                 path: Path, log_every: int = 10) -> None:
        self.problem, self.parallel, self.seeds, self.path = (problem, parallel, list(seeds),
                                                              path)
        self.cache: dict[str, float] = {}
        if path.exists():
            for line in path.read_text().splitlines():
                rec = json.loads(line)
                self.cache[rec["key"]] = rec["loss"]
        self.calls, self.new, self.best, self.best_u = 0, 0, math.inf, None
        self.log_every = log_every

    def values(self, u: Sequence[float]) -> dict[str, float]:
        return {p.name: p.from_unit(float(x)) for p, x in zip(self.problem.params, u,
                                                              strict=True)}

    @staticmethod
    def key(u: Sequence[float]) -> str:
        return ",".join(f"{min(max(float(x), 0.0), 1.0):.10f}" for x in u)

    def many(self, us: Sequence[Sequence[float]]) -> list[float]:
        """Evaluate several points, seeds in parallel; cached points cost nothing."""
        todo = [u for u in us if self.key(u) not in self.cache]
        jobs = [FitJob(self.problem, self.values(u), s) for u in todo for s in self.seeds]
        sims = run_batched(simulate_fit_batch, jobs, self.parallel, desc="optimiser")
        k = len(self.seeds)
        with self.path.open("a") as fh:
            for i, u in enumerate(todo):
                runs = sims[i * k:(i + 1) * k]
                value = float(np.mean([self.problem.fit_loss(s) for s in runs]))
                self.cache[self.key(u)] = value
                fh.write(json.dumps({"key": self.key(u), "loss": value}) + "\n")
                self.new += 1
        out = [self.cache[self.key(u)] for u in us]
        for u, v in zip(us, out, strict=True):
            self.calls += 1
            if v < self.best:
                self.best, self.best_u = v, np.clip(np.asarray(u, float), 0, 1)
            if self.calls % self.log_every == 0:
                log.info("optimiser: %d evaluations (%d new), best loss %.4f", self.calls,
                         self.new, self.best)
        return out

    def __call__(self, u: Sequence[float]) -> float:
        return self.many([u])[0]


def run_optimiser(problem: Problem, cfg: DictConfig, parallel: ParallelConfig, work: Path,
                  start: dict[str, float]) -> tuple[dict[str, float], float]:
    """The point estimate: (values, seed-averaged loss)."""
    from scipy import optimize

    name = str(cfg.optimiser.name)
    params = problem.params
    u0 = np.array([p.to_unit(start[p.name]) for p in params])
    # the losses depend on the seeds they average over: a cache per set of seeds
    seeds_tag = "-".join(str(int(s)) for s in cfg.optimiser.seeds)
    objective = CachedObjective(problem, parallel, cfg.optimiser.seeds,
                                work / f"cache_{name}_seeds{seeds_tag}.jsonl",
                                cfg.log_every)
    if name == "nelder-mead":
        step = float(cfg.optimiser.initial_step)
        simplex = np.vstack([u0] + [np.clip(u0 + step * np.eye(len(u0))[i] * (
            1 if u0[i] + step <= 1 else -1), 0, 1) for i in range(len(u0))])
        objective.many(list(simplex))  # the first simplex in parallel
        res = optimize.minimize(objective, u0, method="Nelder-Mead",
                                bounds=[(0, 1)] * len(u0),
                                options={"maxfev": int(cfg.optimiser.max_evaluations),
                                         "initial_simplex": simplex, "xatol": 1e-3,
                                         "fatol": 1e-3})
        best_u = res.x
    elif name == "differential-evolution":
        def vectorised(us: np.ndarray) -> np.ndarray:
            return np.array(objective.many(list(us.T)))

        res = optimize.differential_evolution(
            vectorised, [(0, 1)] * len(u0), popsize=int(cfg.optimiser.de_popsize),
            maxiter=int(cfg.optimiser.de_generations), seed=11, x0=u0, polish=False,
            vectorized=True, updating="deferred", tol=1e-3)
        best_u = res.x
    elif name == "optuna":
        best_u = _run_optuna(problem, cfg, objective, u0)
    else:
        raise ValueError(f"optimiser.name: unknown optimiser {name!r}")
    if objective.best_u is not None and objective.best < objective(best_u):
        best_u = objective.best_u
    best = objective.values(best_u)
    return best, objective(best_u)


def _run_optuna(problem: Problem, cfg: DictConfig, objective: CachedObjective,
                u0: np.ndarray) -> np.ndarray:
    """An optuna study in any SQLAlchemy storage: several processes or machines may share it,
    and together they stop at `n_trials` finished trials (optuna's MaxTrialsCallback, counted
    in the storage), however many work on it; a re-run continues until the study holds them."""
    import optuna
    from optuna.study import MaxTrialsCallback
    from optuna.trial import TrialState

    oc = cfg.optimiser.optuna
    storage = str(oc.storage)
    if storage.startswith("sqlite:///"):
        project_path(storage.removeprefix("sqlite:///")).parent.mkdir(parents=True,
                                                                      exist_ok=True)
        storage = "sqlite:///" + str(project_path(storage.removeprefix("sqlite:///")))
    study = optuna.create_study(study_name=str(oc.study_name), storage=storage,
                                load_if_exists=True, direction="minimize",
                                sampler=optuna.samplers.TPESampler(seed=int(oc.seed)))
    names = [p.name for p in problem.params]
    finished = [t for t in study.trials if t.state == TrialState.COMPLETE]
    if not finished:
        study.enqueue_trial(dict(zip(names, map(float, u0), strict=True)))
    remaining = int(oc.n_trials) - len(finished)
    log.info("optuna: study %r in %s, %d trials done, %d to go", oc.study_name, storage,
             len(finished), max(0, remaining))

    def trial_objective(trial: optuna.Trial) -> float:
        u = [trial.suggest_float(n, 0.0, 1.0) for n in names]
        return objective(u)

    if remaining > 0:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        # n_trials bounds this process; the callback stops it once the study as a whole (other
        # processes' trials included) holds n_trials complete trials
        study.optimize(trial_objective, n_trials=remaining, n_jobs=1, callbacks=[
            MaxTrialsCallback(int(oc.n_trials), states=(TrialState.COMPLETE,))])
    return np.array([study.best_params[n] for n in names])
