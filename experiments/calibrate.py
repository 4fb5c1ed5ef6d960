"""`python -m experiments.calibrate`: fit the model to the reported crossing figures.

Why this shape: the data (sim/data/observations_2022.csv) are ~75 noisy, partly conflicting
counts, so one best point would hide how little some parameters are pinned down. The calibration
therefore produces a posterior by approximate Bayesian computation (ABC-SMC with MCMC
replenishment, `ReplenishmentABC`), polishes a point estimate from its best particle with an
optimiser that needs no service (scipy Nelder-Mead by default; differential evolution, or an
optuna study in any SQLAlchemy storage, as alternatives), and predicts every target as a median
with a 90 % interval over posterior particles x seeds.

Stages, each checkpointed under `work_dir` so that an interrupted run resumes:

1. ABC-SMC: one simulation per proposal with a fresh seed (the seed noise is part of the
   likelihood); the particle state is saved after every sweep (abc.npz).
2. Optimiser: seed-averaged loss with common random numbers (deterministic), every evaluation
   cached on disk, so a re-run replays the cache and continues.
3. Posterior predictive ensemble (ensemble.npz).
4. Report (experiments/calibration_report.py), posterior.csv, and the configured point written
   to conf/behaviour/calibrated.yaml and conf/network/calibrated.yaml: by default the posterior
   medoid (`posterior_medoid`, a typical member), or the optimiser's point (`conf_point`).

The loss is the weighted mean absolute log((sim + 1) / (obs + 1)) over `fit` rows (or its root
mean square, `loss=rms`); rows measuring the same quantity share one weight
(experiments/observe.py). Calibration runs simulate
only the days the targets need and stop once `abort_departures` men have left (a prior bound).
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import fcntl
import hashlib
import json
import logging
import math
import multiprocessing as mp
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from omegaconf import DictConfig, OmegaConf
from threadpoolctl import threadpool_limits

from experiments.forecast import Discrepancy, with_discrepancy
from experiments.observe import (
    Geography,
    MappedObservations,
    Target,
    ard,
    log_ratio,
    loss,
    map_observations,
    read_observations,
    signed_log1p,
    simulate_targets,
    weighted_median,
)
from sim.config import SimConfig, load_config, parse_datetime
from sim.errors import InputError
from sim.network import World, build_world, scaled_world, unscaled

# The model's matrix products are tiny (85 x 150 x 96); a multi-threaded BLAS spends ~100 times
# longer synchronising threads than computing them. Runs are parallel across processes instead.
threadpool_limits(1, user_api="blas")

log = logging.getLogger("calibrate")
PROJECT = Path(__file__).resolve().parents[1]
CONF_DIR = PROJECT / "conf" / "calibration"
OBS_PREFIX = "observation."
DEFAULT_PPV = 2.5  # persons per vehicle when it is not a calibrated parameter
ABORTED = 1e9  # every target's value in a run stopped for exceeding `abort_departures`


def project_path(path: str | Path) -> Path:
    """Config paths are relative to the project root, wherever the command runs from."""
    p = Path(path)
    return p if p.is_absolute() else PROJECT / p


# -- parameters ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """A calibrated parameter with a uniform prior on [low, high] (on the log for loguniform).

    Optimisers and the ABC kernel work on the transformed scale `z` (log10 for loguniform), where
    the prior is flat; `unit` maps z to [0, 1] for optimisers."""

    name: str
    path: str
    prior: str
    low: float
    high: float
    why: str = ""

    @property
    def log(self) -> bool:
        return self.prior == "loguniform"

    @property
    def z_low(self) -> float:
        return math.log10(self.low) if self.log else self.low

    @property
    def z_high(self) -> float:
        return math.log10(self.high) if self.log else self.high

    def from_z(self, z: float) -> float:
        return 10.0**z if self.log else z

    def to_z(self, x: float) -> float:
        return math.log10(x) if self.log else x

    def from_unit(self, u: float) -> float:
        u = min(max(u, 0.0), 1.0)
        return self.from_z(self.z_low + u * (self.z_high - self.z_low))

    def to_unit(self, x: float) -> float:
        return (self.to_z(x) - self.z_low) / (self.z_high - self.z_low)


def load_parameters(spec: Any) -> list[Param]:
    """Parameters from the `parameters` mapping of conf/calibration/parameters.yaml."""
    params = []
    for name, p in dict(spec).items():
        prior = str(p["prior"])
        if prior not in ("uniform", "loguniform"):
            raise ValueError(f"parameters.{name}.prior: {prior!r} is not uniform or loguniform")
        low, high = float(p["low"]), float(p["high"])
        if not low < high or (prior == "loguniform" and low <= 0):
            raise ValueError(f"parameters.{name}: bounds [{low}, {high}] are not valid")
        path = str(p["path"])
        if not path.startswith(("behaviour.", "network.", OBS_PREFIX)):
            raise ValueError(f"parameters.{name}.path: {path!r} is not behaviour.*, network.* "
                             f"or {OBS_PREFIX}*")
        params.append(Param(name, path, prior, low, high, str(p.get("why", "")).strip()))
    return params


# -- the problem: model + observations ------------------------------------------------------------

def neutral_world(cfg: SimConfig) -> World:
    """The world of the data's capacities (every factor at 1), to which each particle's factors
    are applied (`scaled_world`): rebuilding it per particle would cost more than the run."""
    return build_world(unscaled(cfg.network))


def posterior_medoid(posterior: pd.DataFrame, params: list[Param]) -> dict[str, float]:
    """The particle nearest the posterior's coordinate-wise median, on the scale where each
    prior is flat: a typical member of the posterior. The optimiser's point instead sits wherever
    the loss is lowest, which along directions the data do not inform (how long the pressure
    lasts after September, what drives it) is an accident of noise that a single run would
    then carry into every scenario."""
    unit = np.column_stack([[p.to_unit(float(v)) for v in posterior[p.name]] for p in params])
    w = posterior["weight"].to_numpy(float) if "weight" in posterior else np.ones(len(unit))
    median = np.array([weighted_median(unit[:, j], w) for j in range(unit.shape[1])])
    row = int(np.argmin(((unit - median) ** 2).sum(axis=1)))
    return {p.name: float(posterior[p.name].iloc[row]) for p in params}


def _split_path(path: str) -> tuple[str, str, str]:
    """'behaviour.beta_time' -> (behaviour, beta_time, ''); an element of a list or mapping field:
    'behaviour.documents_multiplier.0', 'network.capacity_factor_by_exit.KZ'."""
    group, _, rest = path.partition(".")
    field, _, key = rest.partition(".")
    return group, field, key


def get_field(cfg: SimConfig, path: str) -> float:
    """A parameter's value in a config; an absent mapping key is a factor of 1."""
    group, field, key = _split_path(path)
    value = getattr(getattr(cfg, group), field)
    if not key:
        return float(value)
    if isinstance(value, list):
        return float(value[int(key)])
    return float(value.get(key, 1.0))


def set_field(cfg: SimConfig, path: str, value: float) -> None:
    group, field, key = _split_path(path)
    section = getattr(cfg, group)
    if not key:
        setattr(section, field, value)
    elif isinstance(getattr(section, field), list):
        getattr(section, field)[int(key)] = value
    else:
        getattr(section, field)[key] = value


@dataclass
class Problem:
    """The model configuration, the neutral world and the mapped observations."""

    base: SimConfig
    world: World
    geo: Geography
    mapping: MappedObservations
    params: list[Param]
    baseline_days: int
    scale: float
    abort_departures: float | None = None
    loss_kind: str = "mean_abs"

    @property
    def targets(self) -> list[Target]:
        return self.mapping.targets

    @cached_property  # the mapping does not change: once, not per simulation
    def fit_index(self) -> np.ndarray:
        return np.array([i for i, t in enumerate(self.targets) if t.obs.use == "fit"], int)

    @cached_property
    def observed(self) -> np.ndarray:
        return np.array([t.obs.value for t in self.targets])

    @cached_property
    def weights(self) -> np.ndarray:
        return np.array([t.weight for t in self.targets])

    def values_config(self, values: dict[str, float], seed: int,
                      scale: float | None = None) -> tuple[SimConfig, World, float]:
        """The run's config, world and persons per vehicle for parameter values."""
        cfg = copy.deepcopy(self.base)
        cfg.seed = int(seed)
        cfg.progress = False
        cfg.population.scale = float(scale if scale is not None else self.scale)
        ppv = DEFAULT_PPV
        for p in self.params:
            if p.name not in values:
                continue
            v = float(values[p.name])
            if p.path == OBS_PREFIX + "persons_per_vehicle":
                ppv = v
            else:
                set_field(cfg, p.path, v)
        return cfg, scaled_world(self.world, cfg.network), ppv

    def run(self, values: dict[str, float], seed: int, scale: float | None = None,
            until: int | None = None, cap: float | None = None):
        """One simulation up to day `until` (all days if None); stops early once more than
        `cap` men (real-population units) have left home. Returns (record, persons per vehicle,
        scale, aborted)."""
        from sim.model import MobilisationModel

        cfg, world, ppv = self.values_config(values, seed, scale)
        model = MobilisationModel(cfg, world=world)
        if until is None and cap is None:
            return model.run(), ppv, cfg.population.scale, False
        last = model.n_days - 1 if until is None else min(until, model.n_days - 1)
        limit = math.inf if cap is None else cap * cfg.population.scale
        departures = model.record.region["departures"]
        for t in range(last + 1):
            model.step()
            if departures[t].sum() and departures[: t + 1].sum() > limit:
                return model.record, ppv, cfg.population.scale, True
        return model.record, ppv, cfg.population.scale, False

    @cached_property
    def fit_targets(self) -> list[Target]:
        return [self.targets[i] for i in self.fit_index]

    @cached_property
    def fit_last_day(self) -> int:
        return max(t.last for t in self.fit_targets)

    def simulate_fit(self, values: dict[str, float], seed: int) -> np.ndarray:
        """The `fit` targets only, simulating only the days they need; a run that exceeds
        `abort_departures` stops early and returns ABORTED for every target."""
        record, ppv, run_scale, aborted = self.run(values, seed, until=self.fit_last_day,
                                                   cap=self.abort_departures)
        if aborted:
            return np.full(len(self.fit_index), ABORTED)
        return simulate_targets(self.fit_targets, record, self.geo, run_scale, ppv,
                                self.baseline_days)

    def fit_loss(self, simulated_fit: np.ndarray) -> float:
        """Loss of the `fit` targets' simulated values (as from `simulate_fit`)."""
        i = self.fit_index
        return loss(simulated_fit, self.observed[i], self.weights[i], self.loss_kind)


def baseline_days(cfg: SimConfig) -> int:
    """Simulated days entirely before the announcement: the ordinary-traffic steady state."""
    start = dt.date.fromisoformat(cfg.start)
    announced = parse_datetime(cfg.behaviour.announcement, "behaviour.announcement").date()
    return max(0, (announced - start).days)


def compose_model_config(overrides: Sequence[str]) -> SimConfig:
    """`load_config`, also from inside a Hydra app (which holds the global Hydra instance that
    `load_config` would otherwise refuse to re-initialise)."""
    from hydra.core.global_hydra import GlobalHydra

    gh = GlobalHydra.instance()
    saved = gh.hydra if gh.is_initialized() else None
    gh.clear()
    try:
        return load_config(list(overrides))
    finally:
        if saved is not None:
            GlobalHydra.instance().initialize(saved)


def make_problem(observations: str | Path, model_overrides: Sequence[str], params: list[Param],
                 scale: float, max_extrapolated_days: int = 31,
                 uses: Sequence[str] = ("fit", "claim"), strict: bool = True) -> Problem:
    base = compose_model_config([*model_overrides, "progress=false"])
    for p in params:  # a misspelt path would otherwise set an attribute nothing reads
        if p.path.startswith(OBS_PREFIX):
            continue
        try:
            get_field(base, p.path)
        except (AttributeError, IndexError, ValueError, TypeError) as err:
            raise ValueError(f"parameters.{p.name}.path: {p.path!r} is not a field of the "
                             f"model's config (sim/config.py): {err}") from err
    world = neutral_world(base)
    geo = Geography.from_world(world)
    dates = [dt.date.fromisoformat(base.start) + dt.timedelta(days=t) for t in range(
        (dt.date.fromisoformat(base.end) - dt.date.fromisoformat(base.start)).days + 1)]
    n_base = baseline_days(base)
    mapping = map_observations(read_observations(project_path(observations), strict), geo, dates,
                               n_base, max_extrapolated_days, uses)
    return Problem(base=base, world=world, geo=geo, mapping=mapping, params=params,
                   baseline_days=n_base, scale=scale)


def point_values(problem: Problem) -> dict[str, float]:
    """The base config's own values of the parameters (e.g. the calibrated point)."""
    out = {}
    for p in problem.params:
        if p.path.startswith(OBS_PREFIX):
            out[p.name] = DEFAULT_PPV
        else:
            out[p.name] = get_field(problem.base, p.path)
    return out


# -- parallel runs ------------------------------------------------------------------------------

_PROBLEM: Problem | None = None


def _simulate_fit_task(task: tuple[dict[str, float], int]) -> np.ndarray:
    values, seed = task
    assert _PROBLEM is not None
    return _PROBLEM.simulate_fit(values, seed)


def _run_task(task: tuple[dict[str, float], int, float | None, int | None, Callable]) -> Any:
    values, seed, scale, until, extract = task
    assert _PROBLEM is not None
    record, ppv, run_scale, _ = _PROBLEM.run(values, seed, scale, until=until)
    return extract(_PROBLEM, record, ppv, run_scale)


class Pool:
    """A fork pool whose workers inherit the problem (the world is built once)."""

    def __init__(self, problem: Problem, n_workers: int) -> None:
        global _PROBLEM
        _PROBLEM = problem
        self.n = max(1, int(n_workers))
        self._pool = mp.get_context("fork").Pool(self.n) if self.n > 1 else None

    def map(self, fn: Callable, tasks: list) -> list:
        if self._pool is None:
            return [fn(t) for t in tasks]
        return self._pool.map(fn, tasks, chunksize=1)

    def imap(self, fn: Callable, tasks: list):
        if self._pool is None:
            return (fn(t) for t in tasks)
        return self._pool.imap(fn, tasks, chunksize=1)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool.join()


# -- checkpoints --------------------------------------------------------------------------------


def fingerprint(cfg: DictConfig, problem: Problem) -> str:
    """What the checkpoints depend on: observations, parameters, model and scale."""
    obs_text = project_path(cfg.observations).read_text(encoding="utf-8")
    data_dir = Path(problem.base.network.data_dir or PROJECT / "sim" / "data")
    data = "".join(p.read_text(encoding="utf-8") for p in sorted(data_dir.glob("*.csv"))
                   if p.name != "observations_2022.csv")
    spec = json.dumps({"params": [dataclasses.asdict(p) | {"why": ""} for p in problem.params],
                       "overrides": list(cfg.model_overrides), "scale": cfg.scale,
                       "loss": cfg.loss, "abort_departures": cfg.abort_departures,
                       "max_extrapolated_days": cfg.max_extrapolated_days,
                       "abc": OmegaConf.to_container(cfg.abc)},
                      sort_keys=True)
    return hashlib.sha256((obs_text + data + spec).encode()).hexdigest()[:16]


class State:
    """state.json in the work folder: the fingerprint and which stages are done."""

    def __init__(self, folder: Path, key: str, restart: bool) -> None:
        self.path = folder / "state.json"
        folder.mkdir(parents=True, exist_ok=True)
        # one calibration per work folder: a second one would overwrite the first's checkpoints
        self._lock = (folder.parent / f".{folder.name}.lock").open("w")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SystemExit(f"another calibration is using {folder}; wait for it or stop it"
                             ) from None
        old = json.loads(self.path.read_text()) if self.path.exists() else None
        if restart or old is None:
            for f in folder.iterdir():
                if f.is_file() and f.suffix != ".lock":
                    f.unlink()
            self.data: dict[str, Any] = {"fingerprint": key}
            self.save()
        elif old.get("fingerprint") != key:
            raise SystemExit(
                f"{folder} holds checkpoints of a different calibration (observations, data, "
                f"parameters or settings changed). Re-run with restart=true to start over.")
        else:
            self.data = old

    def close(self) -> None:
        """Release the work folder for the next calibration."""
        fcntl.flock(self._lock, fcntl.LOCK_UN)
        self._lock.close()

    def save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=2, default=float))
        os.replace(tmp, self.path)

    def __getitem__(self, key: str) -> Any:
        return self.data.get(key)

    def __setitem__(self, key: str, value: Any) -> None:
        self.data[key] = value
        self.save()


# -- stage 1: ABC-SMC -----------------------------------------------------------------------------


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
    after `generations`, or at the wall-time or simulation budget. Every simulation draws a new
    seed, so seed noise is part of the likelihood being approximated.

    The state (particles, distances, generation, step, random generator) is saved after every
    sweep of Metropolis steps: an interrupted run resumes, and with the same settings gives the
    same particles as an uninterrupted one.
    """

    def __init__(self, params: list[Param], distance: Callable[[list[np.ndarray]], np.ndarray],
                 simulate: Callable[[list[dict[str, float]], list[int]], list[np.ndarray]],
                 path: Path, n: int, alpha: float, c: float, min_acceptance: float,
                 mcmc_scale: float | None, max_steps: int, seed: int) -> None:
        self.params, self.distance_of, self.simulate_many = params, distance, simulate
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
                     "done": self.done, "history": self.history, "eps": self.eps,
                     "step": self.step, "steps": self.steps, "accepted": self.accepted,
                     "rng": self.rng.bit_generator.state}, default=float))}
        if self.moving is not None:
            state["moving"] = self.moving
            state["cov"] = self.cov
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with tmp.open("wb") as fh:
            np.savez(fh, **state)
        os.replace(tmp, self.path)

    def _load(self) -> None:
        with np.load(self.path) as f:
            self.z, self.rho = f["z"], f["rho"]
            meta = json.loads(str(f["meta"]))
            self.moving = f.get("moving", None)
            self.cov = f.get("cov", None)
        for key in ("generation", "sims", "seconds", "done", "history", "eps", "step",
                    "steps", "accepted"):
            setattr(self, key, meta[key])
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

    def _distances(self, zs: np.ndarray) -> np.ndarray:
        seeds = [int(s) for s in self.rng.integers(1, 2**31 - 1, size=len(zs))]
        sims = self.simulate_many([self.values(z) for z in zs], seeds)
        self.sims += len(zs)
        return self.distance_of(sims)

    # the algorithm -------------------------------------------------------------------------
    def run(self, max_generations: int, max_seconds: float, max_sims: int) -> None:
        started, spent_before = time.perf_counter(), self.seconds

        def over_budget() -> bool:
            self.seconds = spent_before + time.perf_counter() - started
            return self.seconds > max_seconds or self.sims >= max_sims

        if len(self.z) == 0:
            z = self.lo + self.rng.random((self.n, len(self.params))) * (self.hi - self.lo)
            self.z, self.rho = z, self._distances(z)
            self._record(acceptance=1.0, steps=0, t0=started)
            self._save()
            log.info("ABC: %d particles from the prior, median distance %.3f", self.n,
                     float(np.median(self.rho)))
        while not self.done:
            if self.moving is None:
                if self.generation >= max_generations or over_budget():
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
            rho = self._distances(proposal)
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


def run_abc(problem: Problem, cfg: DictConfig, pool: Pool, work: Path,
            state: State) -> pd.DataFrame:
    """Stage 1: the posterior (equally weighted particles of the last generation)."""
    a = cfg.abc

    def simulate(values: list[dict[str, float]], seeds: list[int]) -> list[np.ndarray]:
        return pool.map(_simulate_fit_task, list(zip(values, seeds, strict=True)))

    def distance(sims: list[np.ndarray]) -> np.ndarray:
        return np.array([problem.fit_loss(s) for s in sims])

    abc = ReplenishmentABC(problem.params, distance, simulate, work / "abc.npz",
                           n=int(a.particles), alpha=float(a.alpha), c=float(a.c),
                           min_acceptance=float(a.min_acceptance),
                           mcmc_scale=a.mcmc_scale, max_steps=int(a.max_steps),
                           seed=int(a.seed))
    if abc.generation or len(abc.z):
        log.info("ABC: resuming at generation %d (%d simulations, %.1f min so far)",
                 abc.generation, abc.sims, abc.seconds / 60)
    abc.run(int(a.generations), float(a.max_walltime_minutes) * 60.0, int(a.max_simulations))
    state["abc_seconds"] = abc.seconds
    pd.DataFrame(abc.history).to_csv(project_path(cfg.out_dir) / "abc_generations.csv",
                                     index=False, float_format="%.5g")
    log.info("ABC: %d generations, %d simulations, tolerance %.4f, %.1f min", abc.generation,
             abc.sims, abc.eps, abc.seconds / 60)
    return abc.posterior()


# -- stage 2: point optimiser ---------------------------------------------------------------------


class CachedObjective:
    """Seed-averaged loss on the unit cube; every evaluation is appended to a cache file, so an
    interrupted optimiser replays its path from disk and continues (the objective is
    deterministic: fixed seeds, common random numbers)."""

    def __init__(self, problem: Problem, pool: Pool, seeds: Sequence[int], path: Path,
                 log_every: int = 10) -> None:
        self.problem, self.pool, self.seeds, self.path = problem, pool, list(seeds), path
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
        tasks = [(self.values(u), s) for u in todo for s in self.seeds]
        sims = self.pool.map(_simulate_fit_task, tasks) if tasks else []
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


def run_optimiser(problem: Problem, cfg: DictConfig, pool: Pool, work: Path,
                  start: dict[str, float]) -> tuple[dict[str, float], float]:
    """The point estimate: (values, seed-averaged loss)."""
    from scipy import optimize

    name = str(cfg.optimiser.name)
    params = problem.params
    u0 = np.array([p.to_unit(start[p.name]) for p in params])
    # the losses depend on the seeds they average over: a cache per set of seeds
    seeds_tag = "-".join(str(int(s)) for s in cfg.optimiser.seeds)
    objective = CachedObjective(problem, pool, cfg.optimiser.seeds,
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
    """An optuna study in any SQLAlchemy storage: several machines may share it, and a re-run
    continues until the study holds `n_trials` finished trials."""
    import optuna

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
    finished = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
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
        study.optimize(trial_objective, n_trials=remaining, n_jobs=1)
    return np.array([study.best_params[n] for n in names])


# -- stage 3: posterior predictive ensemble -------------------------------------------------------


def resample(posterior: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """Systematic resampling of weighted particles: n equally weighted draws."""
    w = posterior["weight"].to_numpy(float)
    w = w / w.sum()
    rng = np.random.default_rng(seed)
    positions = (rng.random() + np.arange(n)) / n
    idx = np.minimum(np.searchsorted(np.cumsum(w), positions), len(w) - 1)
    return posterior.iloc[idx].reset_index(drop=True)


def extract_run(problem: Problem, record, ppv: float, scale: float,
                countries: Sequence[str] = (), queue_post: str = "") -> dict[str, np.ndarray]:
    """What the report and the evaluation keep of one run (real-population units)."""
    geo = problem.geo
    out: dict[str, np.ndarray] = {
        "targets": simulate_targets(problem.targets, record, geo, scale, ppv,
                                    problem.baseline_days),
    }
    c = record.country
    entered = c["entered_fleeing"] + c["entered_normal"] + c["entered_onward"]
    cidx = geo.country_ids
    out["entered"] = np.stack([entered[:, cidx.index(k)] for k in countries], axis=1) / scale \
        if countries else np.zeros((len(record.dates), 0))
    out["entered_fleeing"] = np.stack(
        [(c["entered_fleeing"] + c["entered_onward"])[:, cidx.index(k)] for k in countries],
        axis=1) / scale if countries else np.zeros((len(record.dates), 0))
    g = record.gate
    out["left_all"] = (g["crossed_fleeing"] + g["crossed_normal"]).sum(axis=1) / scale
    out["left_fleeing"] = g["crossed_fleeing"].sum(axis=1) / scale
    out["abroad_fleeing"] = c["present_fleeing"].sum(axis=1) / scale  # stock, end of each day
    if queue_post:
        k = geo.gate_ids.index(queue_post)
        out["queue_vehicles"] = (g["queue_fleeing"][:, k] + g["queue_normal"][:, k]) / scale / ppv
    return out


class _Extract:
    """Picklable extractor with its report settings."""

    def __init__(self, countries: Sequence[str], queue_post: str) -> None:
        self.countries, self.queue_post = list(countries), queue_post

    def __call__(self, problem: Problem, record, ppv: float, scale: float) -> dict:
        return extract_run(problem, record, ppv, scale, self.countries, self.queue_post)


def run_ensemble(problem: Problem, pool: Pool, samples: pd.DataFrame, seeds: Sequence[int],
                 scale: float, extract: Callable, label: str = "ensemble",
                 until: int | None = None) -> dict[str, Any]:
    """Every sample x seed (up to day `until`); stacked arrays [n_runs, ...] plus which sample
    each run used."""
    names = [p.name for p in problem.params]
    tasks = [({n: float(row[n]) for n in names if n in row}, int(s), scale, until, extract)
             for _, row in samples.iterrows() for s in seeds]
    results = []
    t0 = time.perf_counter()
    for i, res in enumerate(pool.imap(_run_task, tasks), start=1):
        results.append(res)
        if i % max(1, len(tasks) // 10) == 0 or i == len(tasks):
            log.info("%s: %d/%d runs, %.0f s", label, i, len(tasks), time.perf_counter() - t0)
    stacked = {k: np.stack([r[k] for r in results]) for k in results[0]}
    stacked["sample"] = np.repeat(np.arange(len(samples)), len(seeds))
    return stacked


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


# -- stage 4: writing the calibrated configuration ------------------------------------------------


def write_calibrated_conf(conf_dir: Path, params: list[Param], values: dict[str, float],
                          note: str, base: SimConfig | None = None) -> list[Path]:
    """conf/{behaviour,network}/calibrated.yaml: inherit the group's default.yaml, override only
    the calibrated values. An element of a list field is written as the whole list, the other
    elements from `base` (the calibration's model config)."""
    written = []
    for group in ("behaviour", "network"):
        chosen = {p.path.split(".", 1)[1]: values[p.name] for p in params
                  if p.path.startswith(group + ".")}
        if not chosen:
            continue
        lines = [f"# Calibrated {group} parameters, written by `python -m experiments.calibrate`",
                 f"# ({note}). Everything else comes from default.yaml; the posterior and its",
                 "# report are in results/calibration/, the method in docs/calibration.md.",
                 "defaults:", "  - default", "  - _self_", ""]
        nested: dict[str, dict[str, float]] = {}
        for key, v in chosen.items():
            field, _, sub = key.partition(".")
            if sub:  # a mapping field, e.g. network.capacity_factor_by_exit.KZ
                nested.setdefault(field, {})[sub] = v
            else:
                lines.append(f"{key}: {float(v):.6g}")
        for field, entries in nested.items():
            if all(k.isdigit() for k in entries):
                if base is None:
                    raise ValueError(f"{group}.{field}: writing list elements needs the base "
                                     "config")
                items = [float(x) for x in getattr(getattr(base, group), field)]
                for k, v in entries.items():
                    items[int(k)] = float(v)
                lines.append(f"{field}: [{', '.join(f'{x:.6g}' for x in items)}]")
                continue
            lines.append(f"{field}:")
            lines += [f"  \"{k}\": {float(v):.6g}" for k, v in entries.items()]  # NO: Norway
        path = conf_dir / group / "calibrated.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text("\n".join(lines) + "\n")
        os.replace(tmp, path)
        written.append(path)
    return written


def quiet_libraries() -> None:
    """Mesa logs every step at INFO, which Hydra's logging would write to disk for every run."""
    for name in ("MESA", "mesa"):
        logging.getLogger(name).setLevel(logging.WARNING)


# -- the command ----------------------------------------------------------------------------------


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
    from experiments import calibration_report

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

    pool = Pool(problem, int(cfg.n_workers))
    try:
        # 1. ABC-SMC
        t0 = time.perf_counter()
        if cfg.abc.enabled:
            posterior = run_abc(problem, cfg, pool, work, state)
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
            best, best_loss = run_optimiser(problem, cfg, pool, work, start)
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
        extract = _Extract(list(rs.countries), str(rs.queue_post))
        samples = resample(posterior, int(cfg.predict.particles), int(cfg.predict.seed))
        seeds = [int(cfg.predict.seed) + i for i in range(int(cfg.predict.seeds))]
        ens = run_ensemble(problem, pool, samples, seeds, float(cfg.predict.scale), extract,
                           "posterior predictive")
        point = run_ensemble(problem, pool, pd.DataFrame([best]), seeds,
                             float(cfg.predict.scale), extract, "configured point")
        record("predict", time.perf_counter() - t0)
    finally:
        pool.close()
    np.savez_compressed(work / "ensemble.npz", **ens)
    error_sd = model_error_sd(cfg.predict.model_error, posterior, problem, ens["targets"])
    table = target_table(problem, ens["targets"], error_sd=error_sd)
    point_table = target_table(problem, point["targets"], error_sd=error_sd)
    train_end = max(t.obs.date for t in problem.fit_targets)
    discrepancy = None
    if cfg.predict.get("discrepancy"):  # the rolling origins' structural error replaces it
        path = project_path(cfg.predict.discrepancy)
        if not path.exists():
            raise InputError(f"predict.discrepancy: {path} does not exist (written by "
                             "`python -m experiments.holdout`; null: no discrepancy)")
        discrepancy = Discrepancy.from_json(path)
        dates = [t.obs.date for t in problem.targets]
        table = with_discrepancy(target_table(problem, ens["targets"]), ens["targets"], dates,
                                 discrepancy, train_end)
        point_table = with_discrepancy(target_table(problem, point["targets"]),
                                       point["targets"], dates, discrepancy, train_end)
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
        "model_error_sd": error_sd,
        "train_end": train_end.isoformat(),
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
    calibration_report.write_report(out_dir, problem, cfg, table, ens, posterior, summary,
                                    unmapped_table(problem.mapping))
    s = summary["fit"]
    log.info("fit: median |log ratio| %.3f, %.0f%% inside the 90%% interval, ARD %.3f "
             "(%d rows, %.0f targets); report in %s; %.1f min",
             s["median_abs_log_ratio"], 100 * s["share_inside"], s["ard"], s["rows"],
             s["groups"], out_dir, timings["total"] / 60)
    return summary


def main() -> None:
    import hydra

    @hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="calibrate")
    def _main(cfg: DictConfig) -> None:
        calibrate(cfg)

    _main()


if __name__ == "__main__":
    sys.exit(main())
