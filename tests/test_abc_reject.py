"""Early rejection of ABC proposals (calibration/abc_reject.py): the same particles as running
every proposal to its end."""

from __future__ import annotations

import math

import numpy as np
import pytest
from omegaconf import OmegaConf

from calibration.abc import ReplenishmentABC
from calibration.parameters import Param


@pytest.fixture(scope="module")
def problem():
    from calibration.parameters import load_parameters
    from calibration.problem import make_problem

    params = load_parameters(OmegaConf.load("conf/calibration/parameters.yaml").parameters)
    problem = make_problem("sim/data/observations_2022.csv",
                           ["network=calibrated", "behaviour=calibrated", "policy=historical"],
                           params, scale=0.002)
    problem.abort_departures = 3e6
    return problem


@pytest.mark.parametrize("kind", ["mean_abs", "rms"])
def test_runs_stopped_beyond_the_tolerance_are_exactly_the_rejected_ones(problem, kind):
    """Six parameter sets around the calibrated point: with a tolerance between their losses,
    the runs kept are the same with the same losses, and the others stopped early."""
    from calibration.problem import point_values

    problem.loss_kind = kind
    rng = np.random.default_rng(4)
    point = point_values(problem)
    values = [{p.name: p.from_unit(float(np.clip(p.to_unit(point[p.name]) + e, 0, 1)))
               for p, e in zip(problem.params, rng.normal(0, 0.1, len(problem.params)),
                               strict=True)}
              for _ in range(6)]
    seeds = list(range(11, 17))
    full = [problem.fit_loss(s) for s in problem.simulate_fit_batch(values, seeds)]
    tolerance = float(np.median(full))
    early_sims = problem.simulate_fit_batch(values, seeds, [tolerance] * 6)
    early = np.array([problem.fit_loss(s) for s in early_sims])
    kept = np.array(full) <= tolerance
    assert 0 < kept.sum() < 6
    np.testing.assert_array_equal(early <= tolerance, kept)
    np.testing.assert_array_equal(early[kept], np.array(full)[kept])
    assert np.all(early[~kept] == problem.aborted_loss)  # stopped early, not run to the end
    problem.loss_kind = "mean_abs"


def test_a_tolerance_an_aborted_run_would_meet_is_not_used(problem):
    """A run stopped by the cap is kept if its loss is within the tolerance: then no bound
    may reject it, and every run goes to its end."""
    values = {p.name: p.from_unit(0.5) for p in problem.params}
    (full,) = problem.simulate_fit_batch([values], [3])
    (loose,) = problem.simulate_fit_batch([values], [3], [problem.aborted_loss])
    np.testing.assert_array_equal(full, loose)


def test_the_abc_with_early_rejection_keeps_the_same_particles(tmp_path):
    """A toy problem whose simulation stops (returns inf) once it is beyond the tolerance:
    the particles and distances equal those of full simulations."""
    params = [Param("a", "x.a", "uniform", 0.0, 1.0), Param("b", "x.b", "uniform", 0.0, 1.0)]
    calls = {"stopped": 0}

    def simulate(values, seeds, tolerance=None):
        out = []
        for v, s in zip(values, seeds, strict=True):
            d = abs(v["a"] - 0.3) + abs(v["b"] - 0.6) + np.random.default_rng(s).normal(0, 0.01)
            if tolerance is not None and d > tolerance:
                calls["stopped"] += 1
                d = math.inf
            out.append(d)
        return out

    def distance(sims):
        return np.abs(np.asarray(sims, dtype=float))

    runs = []
    for early in (False, True):
        abc = ReplenishmentABC(params, distance, simulate, tmp_path / f"{early}.npz", n=20,
                               alpha=0.5, c=0.05, min_acceptance=0.0, mcmc_scale=None,
                               max_steps=3, seed=1, early_rejection=early)
        abc.run(max_generations=3, max_seconds=None, max_sims=10**6)
        runs.append(abc)
    assert calls["stopped"] > 0
    np.testing.assert_array_equal(runs[0].z, runs[1].z)
    np.testing.assert_array_equal(runs[0].rho, runs[1].rho)
    assert runs[0].history[-1]["acceptance"] == runs[1].history[-1]["acceptance"]

