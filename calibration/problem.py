"""The calibration problem: the model configuration, the neutral world, the mapped observations
and the calibrated parameters; one simulation of parameter values and a seed.

Calibration runs simulate only the days the targets need (`MobilisationModel.run(until=...)`)
and stop once `abort_departures` men have left home (a prior bound). The module-level job
functions run one simulation each on any `sim.parallel.run_many` backend.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from calibration.measure import simulate_targets
from calibration.observe import (
    Geography,
    MappedObservations,
    Target,
    map_observations,
    read_observations,
)
from calibration.parameters import DEFAULT_PPV, OBS_PREFIX, Param, get_field
from calibration.paths import project_path
from calibration.scores import loss
from sim.batch import Member, MemberStop, run_members
from sim.config import SimConfig, load_config, parse_datetime
from sim.dotted import set_path
from sim.network import World, build_world, scaled_world, unscaled
from sim.results import Results

ABORTED = 1e9  # every target's value in a run stopped early: more than `abort_departures` men
# left home, or the loss is certain to exceed the run's tolerance


def neutral_world(cfg: SimConfig) -> World:
    """The world of the data's capacities (every factor at 1), to which each particle's factors
    are applied (`scaled_world`): rebuilding it per particle would cost more than the run."""
    return build_world(unscaled(cfg.network))


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
                set_path(cfg, p.path, v)
        return cfg, scaled_world(self.world, cfg.network), ppv

    def run(self, values: dict[str, float], seed: int, scale: float | None = None,
            until: int | None = None, cap: float | None = None
            ) -> tuple[Results, float, bool]:
        """One simulation up to day `until` (all days if None); stops early once more than
        `cap` men (real-population units) have left home. Returns (results, persons per
        vehicle, aborted)."""
        (out,) = self.run_batch([values], [seed], scale, until, cap)
        return out

    def run_batch(self, values: Sequence[dict[str, float]], seeds: Sequence[int],
                  scale: float | None = None, until: int | None = None,
                  cap: float | None = None) -> list[tuple[Results, float, bool]]:
        """`run` for many (values, seed) pairs at once, stepped together (`run_members`)."""
        setups = [self.values_config(v, s, scale) for v, s in zip(values, seeds, strict=True)]
        return self._run_setups(setups, until, cap)

    def _run_setups(self, setups: list[tuple[SimConfig, World, float]], until: int | None,
                    cap: float | None, stop: MemberStop | None = None
                    ) -> list[tuple[Results, float, bool]]:
        runs = run_members([Member(cfg, world) for cfg, world, _ in setups], until=until,
                           cap_departures=cap, stop=stop)
        return [(run.results, ppv, run.stopped_early)
                for run, (_, _, ppv) in zip(runs, setups, strict=True)]

    @cached_property
    def fit_targets(self) -> list[Target]:
        return [self.targets[i] for i in self.fit_index]

    @cached_property
    def fit_last_day(self) -> int:
        return max(t.last for t in self.fit_targets)

    def simulate_fit(self, values: dict[str, float], seed: int) -> np.ndarray:
        """The `fit` targets only, simulating only the days they need; a run that exceeds
        `abort_departures` stops early and returns ABORTED for every target."""
        return self.simulate_fit_batch([values], [seed])[0]

    def simulate_fit_batch(self, values: Sequence[dict[str, float]], seeds: Sequence[int],
                           tolerances: Sequence[float | None] | None = None
                           ) -> list[np.ndarray]:
        """`simulate_fit` for many (values, seed) pairs, stepped together.

        A run given a tolerance stops, and returns ABORTED, as soon as its fit loss is certain
        to exceed it (`calibration.abc_reject`); then only whether its loss is within the
        tolerance is exact, not the loss. Tolerances at or above an aborted run's own loss are
        not used (the run would be kept if it were aborted later)."""
        setups = [self.values_config(v, s) for v, s in zip(values, seeds, strict=True)]
        usable = [math.inf if t is None or not self.aborted_loss > t else float(t)
                  for t in (tolerances or [None] * len(setups))]
        stop = None
        if any(math.isfinite(t) for t in usable):
            from calibration.abc_reject import BeyondTolerance

            stop = BeyondTolerance(self, usable, [ppv for _, _, ppv in setups])
        out = []
        for results, ppv, aborted in self._run_setups(setups, self.fit_last_day,
                                                      self.abort_departures, stop):
            out.append(np.full(len(self.fit_index), ABORTED) if aborted else
                       simulate_targets(self.fit_targets, results, self.geo, ppv,
                                        self.baseline_days))
        return out

    @property
    def aborted_loss(self) -> float:
        """The fit loss of a run stopped early (ABORTED for every target; of `loss_kind`,
        which may be set after the problem is made)."""
        return self.fit_loss(np.full(len(self.fit_index), ABORTED))

    def fit_loss(self, simulated_fit: np.ndarray) -> float:
        """Loss of the `fit` targets' simulated values (as from `simulate_fit`)."""
        i = self.fit_index
        return loss(simulated_fit, self.observed[i], self.weights[i], self.loss_kind)


def baseline_days(cfg: SimConfig) -> int:
    """Simulated days entirely before the announcement: the ordinary-traffic steady state."""
    start = dt.date.fromisoformat(cfg.start)
    announced = parse_datetime(cfg.behaviour.announcement, "behaviour.announcement").date()
    return max(0, (announced - start).days)


def make_problem(observations: str | Path, model_overrides: Sequence[str], params: list[Param],
                 scale: float, max_extrapolated_days: int = 31,
                 uses: Sequence[str] = ("fit", "claim"), strict: bool = True) -> Problem:
    base = load_config([*model_overrides, "progress=false"])
    for p in params:  # a misspelt path would otherwise set an attribute nothing reads
        if p.path.startswith(OBS_PREFIX):
            continue
        try:
            get_field(base, p.path)
        except (KeyError, ValueError, TypeError) as err:
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


# -- jobs for any backend of sim.parallel.run_many / run_batched ----------------------------------


@dataclass(frozen=True)
class FitJob:
    """The `fit` targets of parameter values and a seed (`Problem.simulate_fit`)."""

    problem: Problem
    values: dict[str, float]
    seed: int
    tolerance: float | None = None  # a run certain to exceed it stops early (ABORTED)


def simulate_fit(job: FitJob) -> np.ndarray:
    return job.problem.simulate_fit(job.values, job.seed)


def simulate_fit_batch(jobs: list[FitJob]) -> list[np.ndarray]:
    """A batch of `FitJob`s of one problem, stepped together (`sim.parallel.run_batched`)."""
    if not jobs:
        return []
    return jobs[0].problem.simulate_fit_batch([j.values for j in jobs], [j.seed for j in jobs],
                                              [j.tolerance for j in jobs])
