"""Stage 1 of the calibration: the posterior by ABC-SMC with MCMC replenishment."""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import DictConfig

from calibration.checkpoints import State
from calibration.parameters import Param
from calibration.paths import project_path
from calibration.problem import FitJob, Problem, simulate_fit_batch
from sim.atomic import atomic_file
from sim.parallel import ParallelConfig, run_batched

log = logging.getLogger("calibrate")


class ReplenishmentABC:
    """ABC-SMC with MCMC replenishment (Drovandi & Pettitt 2011, Biometrics 67:225-233).

    Why not importance-weighted ABC-SMC (pyabc's scheme): with 15 parameters the weights
    prior / proposal-mixture degenerate within two generations (effective sample size 2-5 of
    100, also on a synthetic 15-parameter problem); here particles keep equal weights.

    Each generation drops the worst `alpha` share of the particles (the tolerance becomes the
    largest distance kept), resamples them from the survivors, and moves every resampled
    particle by R Metropolis steps (Gaussian random walk reflected at the prior's bounds,
    covariance `mcmc_scale` x the survivors' covariance - 2.38^2 / d by default - on the scale
    where the prior is flat) that are accepted when a fresh
    simulation lands within the tolerance. R is set so that a particle moves at least once with
    probability 1 - `c`, from the acceptance rate of the first step. The algorithm stops when
    that acceptance rate falls below `min_acceptance` (the tolerance no longer shrinks cheaply),
    after `generations`, or at the simulation budget - each the same on any machine - or, if
    one is set, at a wall-time budget (recorded in `stopped_by`: machine-dependent). Every
    simulation draws a new seed, so seed noise is part of the likelihood being approximated.

    The state (particles, distances, generation, step, random generator) is saved after every
    sweep of Metropolis steps: an interrupted run resumes, and with the same settings gives the
    same particles as an uninterrupted one.

    With `early_rejection`, `simulate` takes a third argument, the step's tolerance: a
    simulation may then stop once its distance is certain to exceed it and return anything
    whose distance exceeds it (`calibration.abc_reject`). Only the kept proposals' distances
    are used, so the particles are the same as without.
    """

    def __init__(self, params: list[Param], distance: Callable[[list[np.ndarray]], np.ndarray],
                 simulate: Callable[[list[dict[str, float]], list[int]], list[np.ndarray]],
                 path: Path, n: int, alpha: float, c: float, min_acceptance: float,
                 mcmc_scale: float | None, max_steps: int, seed: int,
                 early_rejection: bool = False) -> None:
        self.params, self.distance_of, self.simulate_many = params, distance, simulate
        self.early_rejection = early_rejection
        self.path, self.n, self.alpha, self.c = path, int(n), float(alpha), float(c)
        # Roberts, Gelman & Gilks' 2.38^2 / d unless told otherwise: Drovandi & Pettitt's 2 x the
        # covariance sends most proposals out of a bounded prior in 15 dimensions
        self.min_acceptance = float(min_acceptance)
        self.mcmc_scale = float(mcmc_scale) if mcmc_scale else 2.38**2 / len(params)
        self.max_steps = int(max_steps)
        self.lo = np.array([p.z_low for p in params])
        self.hi = np.array([p.z_high for p in params])
        self.rng = np.random.default_rng(seed)
        self.z = np.zeros((0, len(params)))
        self.rho = np.zeros(0)
        self.generation, self.sims, self.seconds = 0, 0, 0.0
        self.done = False
        self.stopped_by = "acceptance"  # (generations, simulation_budget, time_budget)
        self.history: list[dict[str, float]] = []
        # within a generation: the particles being moved, the steps taken and the plan
        self.moving: np.ndarray | None = None
        self.eps, self.step, self.steps, self.cov = math.inf, 0, 0, None
        self.accepted = 0
        if path.exists():
            self._load()

    # persistence ---------------------------------------------------------------------------
    def _save(self) -> None:
        state = {"z": self.z, "rho": self.rho,
                 "meta": np.array(json.dumps({
                     "generation": self.generation, "sims": self.sims, "seconds": self.seconds,
                     "done": self.done, "stopped_by": self.stopped_by,
                     "history": self.history, "eps": self.eps,
                     "step": self.step, "steps": self.steps, "accepted": self.accepted,
                     "rng": self.rng.bit_generator.state}, default=float))}
        if self.moving is not None:
            state["moving"] = self.moving
            state["cov"] = self.cov
        with atomic_file(self.path, "wb") as fh:
            np.savez(fh, **state)

    def _load(self) -> None:
        with np.load(self.path) as f:
            self.z, self.rho = f["z"], f["rho"]
            meta = json.loads(str(f["meta"]))
            self.moving = f.get("moving", None)
            self.cov = f.get("cov", None)
        for key in ("generation", "sims", "seconds", "done", "history", "eps", "step",
                    "steps", "accepted"):
            setattr(self, key, meta[key])
        self.stopped_by = meta.get("stopped_by", self.stopped_by)
        self.rng.bit_generator.state = meta["rng"]

    def reflect(self, z: np.ndarray) -> np.ndarray:
        """Fold proposals back into the prior's box. A reflected random walk is still
        symmetric, so with a flat prior the Metropolis ratio stays 1 inside the tolerance; in 15
        dimensions most unreflected steps would leave the box and be wasted."""
        width = self.hi - self.lo
        u = np.mod((z - self.lo) / width, 2.0)
        return self.lo + np.where(u > 1.0, 2.0 - u, u) * width

    # simulation ----------------------------------------------------------------------------
    def values(self, z: np.ndarray) -> dict[str, float]:
        return {p.name: p.from_z(float(v)) for p, v in zip(self.params, z, strict=True)}

    def _distances(self, zs: np.ndarray, tolerance: float | None = None) -> np.ndarray:
        """The proposals' distances; with a tolerance (and `early_rejection`), exact only
        where they are within it."""
        seeds = [int(s) for s in self.rng.integers(1, 2**31 - 1, size=len(zs))]
        values = [self.values(z) for z in zs]
        if self.early_rejection and tolerance is not None:
            sims = self.simulate_many(values, seeds, tolerance)
        else:
            sims = self.simulate_many(values, seeds)
        self.sims += len(zs)
        return self.distance_of(sims)

    # the algorithm -------------------------------------------------------------------------
    def run(self, max_generations: int, max_seconds: float | None, max_sims: int) -> None:
        """Run to `max_generations` (or the acceptance rule, or `max_sims` simulations: each
        the same on any machine); `max_seconds`, if given, may stop it earlier, and then
        `stopped_by` says so."""
        started, spent_before = time.perf_counter(), self.seconds

        def over_budget() -> bool:
            self.seconds = spent_before + time.perf_counter() - started
            if self.sims >= max_sims:
                self.stopped_by = "simulation_budget"
                return True
            if max_seconds is not None and self.seconds > max_seconds:
                self.stopped_by = "time_budget"
                return True
            return False

        if len(self.z) == 0:
            z = self.lo + self.rng.random((self.n, len(self.params))) * (self.hi - self.lo)
            self.z, self.rho = z, self._distances(z)
            self._record(acceptance=1.0, steps=0, t0=started)
            self._save()
            log.info("ABC: %d particles from the prior, median distance %.3f", self.n,
                     float(np.median(self.rho)))
        while not self.done:
            if self.moving is None:
                if self.generation >= max_generations:
                    self.stopped_by = "generations"
                    break
                if over_budget():
                    break
                self._start_generation()
            self._move(over_budget)
            if self.moving is not None:  # budget ran out mid-generation
                break
        self._save()

    def _start_generation(self) -> None:
        order = np.argsort(self.rho, kind="stable")
        self.z, self.rho = self.z[order], self.rho[order]
        keep = self.n - int(self.alpha * self.n)
        self.eps = float(self.rho[keep - 1])
        survivors = self.z[:keep]
        picks = self.rng.integers(0, keep, size=self.n - keep)
        self.z[keep:], self.rho[keep:] = survivors[picks], self.rho[:keep][picks]
        self.moving = np.arange(keep, self.n)
        cov = np.atleast_2d(np.cov(survivors, rowvar=False))
        self.cov = self.mcmc_scale * cov + 1e-12 * np.eye(len(self.params))
        self.step, self.steps, self.accepted = 0, 1, 0
        self.generation += 1
        self._save()

    def _move(self, over_budget: Callable[[], bool]) -> None:
        """Metropolis steps for the resampled particles; the first step sets how many."""
        assert self.moving is not None and self.cov is not None
        t0 = time.perf_counter()
        idx = self.moving
        while self.step < self.steps:
            proposal = self.reflect(self.z[idx] + self.rng.multivariate_normal(
                np.zeros(len(self.params)), self.cov, size=len(idx), method="cholesky"))
            rho = self._distances(proposal, self.eps)
            ok = rho <= self.eps
            self.z[idx[ok]], self.rho[idx[ok]] = proposal[ok], rho[ok]
            self.accepted += int(ok.sum())
            self.step += 1
            if self.step == 1:
                p = max(ok.mean(), 1e-3)
                self.steps = int(min(self.max_steps, max(1, math.ceil(
                    math.log(self.c) / math.log(1.0 - min(p, 0.999))))))
            self._save()
            if over_budget() and self.step < self.steps:
                log.info("ABC: budget reached in generation %d (step %d of %d)",
                         self.generation, self.step, self.steps)
                return
        acceptance = self.accepted / (len(idx) * self.steps)
        self._record(acceptance=acceptance, steps=self.steps, t0=t0)
        log.info("ABC generation %d: tolerance %.4f, acceptance %.3f, %d steps, %d unique of "
                 "%d, %d simulations, %.0f s", self.generation, self.eps, acceptance,
                 self.steps, len(np.unique(self.z, axis=0)), self.n, self.sims,
                 time.perf_counter() - t0)
        self.moving = None
        if acceptance < self.min_acceptance:
            log.info("ABC: acceptance %.3f below %.3f, stopping", acceptance,
                     self.min_acceptance)
            self.done = True
            self.stopped_by = "acceptance"
        self._save()

    def _record(self, acceptance: float, steps: int, t0: float) -> None:
        self.history.append({"generation": self.generation, "tolerance": self.eps,
                             "acceptance": acceptance, "steps": steps,
                             "median_distance": float(np.median(self.rho)),
                             "best_distance": float(np.min(self.rho)),
                             "unique": len(np.unique(self.z, axis=0)),
                             "simulations": self.sims,
                             "seconds": time.perf_counter() - t0})

    def posterior(self) -> pd.DataFrame:
        out = pd.DataFrame({p.name: [p.from_z(v) for v in self.z[:, i]]
                            for i, p in enumerate(self.params)})
        out["weight"] = 1.0 / len(out)
        out["distance"] = self.rho
        out["generation"] = self.generation
        return out


def run_abc(problem: Problem, cfg: DictConfig, parallel: ParallelConfig, work: Path,
            state: State) -> pd.DataFrame:
    """Stage 1: the posterior (equally weighted particles of the last generation). Each
    generation's simulations go to `parallel`'s backend at once."""
    a = cfg.abc

    def simulate(values: list[dict[str, float]], seeds: list[int],
                 tolerance: float | None = None) -> list[np.ndarray]:
        jobs = [FitJob(problem, v, s, tolerance) for v, s in zip(values, seeds, strict=True)]
        # runs stopped early take unequal times: smaller batches, handed out as workers free
        # up, keep every worker busy to the end of a step (CPU per member is flat from 5 to
        # 32 members a batch at scale 0.01, benchmarks/profile_calibration.txt)
        return run_batched(simulate_fit_batch, jobs, parallel, desc="ABC",
                           batches_per_worker=1 if tolerance is None else 4)

    def distance(sims: list[np.ndarray]) -> np.ndarray:
        return np.array([problem.fit_loss(s) for s in sims])

    abc = ReplenishmentABC(problem.params, distance, simulate, work / "abc.npz",
                           n=int(a.particles), alpha=float(a.alpha), c=float(a.c),
                           min_acceptance=float(a.min_acceptance),
                           mcmc_scale=a.mcmc_scale, max_steps=int(a.max_steps),
                           seed=int(a.seed), early_rejection=True)
    if abc.generation or len(abc.z):
        log.info("ABC: resuming at generation %d (%d simulations, %.1f min so far)",
                 abc.generation, abc.sims, abc.seconds / 60)
    budget = a.get("max_walltime_minutes")
    abc.run(int(a.generations), None if budget is None else float(budget) * 60.0,
            int(a.max_simulations))
    state["abc_seconds"] = abc.seconds
    state["abc_stopped_by"] = abc.stopped_by
    if abc.stopped_by == "time_budget":
        log.warning("ABC stopped by its time budget (%s min) after %d generations: the "
                    "posterior depends on this machine's speed", budget, abc.generation)
    pd.DataFrame(abc.history).to_csv(project_path(cfg.out_dir) / "abc_generations.csv",
                                     index=False, float_format="%.5g")
    log.info("ABC: %d generations, %d simulations, tolerance %.4f, %.1f min", abc.generation,
             abc.sims, abc.eps, abc.seconds / 60)
    return abc.posterior()
