"""Keyed draws (`draws=keyed`, sim/keyed.py): a place's draws do not depend on what another
place drew, a member's do not depend on its batch, and every keyed draw has the distribution of
the stream draw it replaces."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from scipy import stats

from sim import inversion
from sim.engine import Ensemble
from sim.keyed import STAGES, KeyedDraws
from sim.philox import philox

from .conftest import small_config
from .test_ensemble import assert_same_record

CLOSED_EXIT, CLOSED_FROM = "GE-01", dt.date(2022, 9, 26)  # conf/policy/georgia_closes_lars.yaml


# ---- the generator ------------------------------------------------------------------------------
def test_philox_is_numpys_philox():
    """The vectorised rounds give numpy's own Philox4x64-10 words, key by key."""
    rng = np.random.default_rng(11)
    counters = rng.integers(1, 2**63, (50, 4), dtype=np.uint64)
    keys = rng.integers(0, 2**63, (50, 2), dtype=np.uint64)
    ours = philox(tuple(counters.T), tuple(keys.T))
    for i in range(50):
        before = [int(counters[i, 0]) - 1, *(int(c) for c in counters[i, 1:])]
        bitgen = np.random.Philox(counter=before, key=[int(k) for k in keys[i]])
        np.testing.assert_array_equal(ours[:, i], bitgen.random_raw(4))


def test_keyed_uniforms_are_uniform_and_independent_of_neighbours():
    """200,000 uniforms of consecutive places: uniform (Kolmogorov-Smirnov), and a place's
    uniform uncorrelated with the next place's and with the next day's at the same place."""
    draws = KeyedDraws([20221], n_regions=1, n_strata=1)
    places = np.arange(200_000)
    u = draws.unit("route", 3, np.zeros(len(places), dtype=np.int64), places)
    assert stats.kstest(u, "uniform").pvalue > 1e-3
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 0.01
    tomorrow = draws.unit("route", 4, np.zeros(len(places), dtype=np.int64), places)
    assert abs(np.corrcoef(u, tomorrow)[0, 1]) < 0.01
    other_stage = draws.unit("travel", 3, np.zeros(len(places), dtype=np.int64), places)
    assert abs(np.corrcoef(u, other_stage)[0, 1]) < 0.01
    assert len(set(STAGES.values())) == len(STAGES)


# ---- (c) distributions --------------------------------------------------------------------------
def chi_square_pvalue(draws: np.ndarray, pmf: np.ndarray) -> float:
    """Chi-square of draws against a pmf over 0..len(pmf)-1 (the tail pooled into the last)."""
    observed = np.bincount(np.minimum(draws, len(pmf) - 1), minlength=len(pmf))
    expected = pmf.copy()
    expected[-1] = 1.0 - pmf[:-1].sum()
    return stats.chisquare(observed, expected * len(draws)).pvalue


def keyed_uniforms(n: int, seed: int = 5) -> np.ndarray:
    return KeyedDraws([seed], 1, 1).unit("normal", 0, np.zeros(n, dtype=np.int64),
                                         np.arange(n))


@pytest.mark.parametrize("n, p", [(40, 0.1), (3000, 0.002), (500, 0.6)])
def test_keyed_binomials_are_binomial(n, p):
    draws = KeyedDraws([9], 1, 1).binomial("left_normal", 2, np.full((1, 20_000), n), p)[0]
    k = np.arange(int(n * p + 6 * np.sqrt(n * p * (1 - p))) + 2)
    assert chi_square_pvalue(draws, stats.binom.pmf(k, n, p)) > 1e-3


@pytest.mark.parametrize("mean", [0.3, 3.7, 250.0])
def test_keyed_poissons_are_poisson(mean):
    draws = KeyedDraws([9], 1, 1).poisson("normal", 2, np.full((1, 20_000), mean))[0]
    k = np.arange(int(mean + 6 * np.sqrt(mean)) + 3)
    assert chi_square_pvalue(draws, stats.poisson.pmf(k, mean)) > 1e-3


def test_keyed_departures_are_binomial_cell_by_cell():
    """The departures' cells (four strata to a Philox block) each draw their own binomial."""
    draws = KeyedDraws([3], n_regions=50, n_strata=96)
    at_home = np.full((1, 50, 96), 60)
    leaving = np.concatenate([draws.departures(day, np.array([0]), at_home,
                                               np.full(at_home.shape, 0.05)).ravel()
                              for day in range(5)])
    assert chi_square_pvalue(leaving, stats.binom.pmf(np.arange(10), 60, 0.05)) > 1e-3
    assert np.var(leaving) == pytest.approx(60 * 0.05 * 0.95, rel=0.05)


def test_other_keyed_draws_have_numpys_distributions():
    u = keyed_uniforms(20_000)
    draws = inversion.hypergeometric(u, np.full(len(u), 30), np.full(len(u), 45),
                                     np.full(len(u), 20))
    assert chi_square_pvalue(draws, stats.hypergeom.pmf(np.arange(21), 75, 30, 20)) > 1e-3
    geometric = inversion.geometric(u, np.full(len(u), 0.2))
    assert chi_square_pvalue(geometric - 1, stats.geom.pmf(np.arange(1, 30), 0.2)) > 1e-3
    assert stats.kstest(inversion.exponential(u, 2.5), "expon", args=(0, 2.5)).pvalue > 1e-3
    weights = np.array([[1.0, 0.0, 3.0, 6.0], [0.0, 0.0, 0.0, 2.0]])
    row = np.arange(len(u)) % 2
    chosen = inversion.categorical(weights, row, u)
    assert (chosen[row == 1] == 3).all() and not (chosen == 1).any()
    shares = np.bincount(chosen[row == 0], minlength=4) / np.sum(row == 0)
    np.testing.assert_allclose(shares, [0.1, 0.0, 0.3, 0.6], atol=0.015)


def test_inversion_is_the_exact_quantile():
    """The draw is the smallest k with F(k) >= u, F from scipy.stats, over wide parameters."""
    rng = np.random.default_rng(4)
    u = rng.random(5000)
    n, p = rng.integers(0, 20_000, 5000), rng.random(5000) * rng.choice([1e-4, 0.01, 1], 5000)
    np.testing.assert_array_equal(inversion.binomial(u, n, p), stats.binom.ppf(u, n, p))
    mean = rng.random(5000) * rng.choice([0.1, 10, 3000], 5000)
    np.testing.assert_array_equal(inversion.poisson(u, mean), stats.poisson.ppf(u, mean))
    good, bad = rng.integers(1, 60, 5000), rng.integers(1, 60, 5000)
    sample = rng.integers(0, good + bad + 1)
    np.testing.assert_array_equal(inversion.hypergeometric(u, good, bad, sample),
                                  stats.hypergeom.ppf(u, good + bad, good, sample))


# ---- (a) a policy at one exit leaves the other places' draws unchanged --------------------------
def keyed_run(policy: str, draws: str = "keyed") -> Ensemble:
    ensemble = Ensemble([small_config(f"draws={draws}", f"policy={policy}")])
    if draws == "keyed":
        ensemble.draws.log = []
    ensemble.run()
    return ensemble


@pytest.fixture(scope="module")
def base_and_closed() -> tuple[Ensemble, Ensemble]:
    return keyed_run("historical"), keyed_run("georgia_closes_lars")


def logged(ensemble: Ensemble) -> tuple[dict, dict]:
    """Every uniform a run drew: by (stage, day, word, place, item), and the departures'
    [R, S] uniforms by day."""
    by_key, departures = {}, {}
    for stage, day, word, _seeds, place, item, u in ensemble.draws.log:
        if stage == "departures":
            departures[day] = u[0]
            continue
        for key, value in zip(zip(np.ravel(place).tolist(), np.ravel(item).tolist(), strict=True),
                              u.tolist(), strict=True):
            by_key[(stage, day, word, *key)] = value
    return by_key, departures


def test_a_policy_at_one_exit_leaves_every_other_places_draws_unchanged(base_and_closed):
    base, closed = base_and_closed
    world = base.world
    gate = world.gate_ids.index(CLOSED_EXIT)
    start = (CLOSED_FROM - base.start_date).days
    others = np.arange(world.n_gates) != gate
    # the policy acts: the exit passes nobody from its start, and the flows elsewhere move
    assert closed.tables["gate"]["capacity"][0, start:, gate].sum() == 0
    assert base.tables["gate"]["capacity"][0, start:, gate].sum() > 0
    assert not np.array_equal(base.tables["gate"]["arrivals"][0, :, others],
                              closed.tables["gate"]["arrivals"][0, :, others])
    # the draws themselves: every uniform drawn at the same key in both runs is the same, and
    # the regions' departure uniforms are the same every day
    base_draws, base_departures = logged(base)
    closed_draws, closed_departures = logged(closed)
    shared = base_draws.keys() & closed_draws.keys()
    after = [k for k in shared if k[1] >= start]
    assert len(after) > 1000
    assert all(base_draws[k] == closed_draws[k] for k in shared)
    assert base_departures.keys() == closed_departures.keys()
    for day, u in base_departures.items():
        np.testing.assert_array_equal(u, closed_departures[day], err_msg=f"day {day}")
    # and what they decide where nothing else changed: every other exit's capacity, every day
    # (its rounding), and its ordinary travellers on the policy's first day (known waits are
    # still yesterday's)
    np.testing.assert_array_equal(base.tables["gate"]["capacity"][0][:, others],
                                  closed.tables["gate"]["capacity"][0][:, others])
    np.testing.assert_array_equal(base.tables["gate"]["arrived_normal"][0, start, others],
                                  closed.tables["gate"]["arrived_normal"][0, start, others])


def test_with_named_streams_the_other_exits_draws_shift():
    """Why keyed draws exist: with named streams the same policy changes the draws at exits
    it does not touch (a stage's numbers are taken in sequence)."""
    base, closed = keyed_run("historical", "streams"), keyed_run("georgia_closes_lars", "streams")
    gate = base.world.gate_ids.index(CLOSED_EXIT)
    others = np.arange(base.world.n_gates) != gate
    assert not np.array_equal(base.tables["gate"]["capacity"][0][:, others],
                              closed.tables["gate"]["capacity"][0][:, others])


# ---- (b) identity -------------------------------------------------------------------------------
# seeds, policies, capacities and the branch without preparation time; two members share a seed
KEYED_MEMBERS = [
    ["seed=1"],
    ["seed=9", "policy=georgia_closes_lars", "network.capacity_factor=0.8"],
    ["seed=1", "policy=russia_closes", "behaviour.departure_lead_days=0"],
]


def test_keyed_members_stepped_together_equal_their_single_runs():
    configs = [small_config("draws=keyed", *m) for m in KEYED_MEMBERS]
    together = Ensemble(configs)
    together.run()
    for i, config in enumerate(configs):
        alone = Ensemble([config])
        alone.run()
        assert_same_record(alone.records[0], together.records[i], str(KEYED_MEMBERS[i]))


def test_an_ensemble_draws_one_way():
    with pytest.raises(ValueError, match="draw the same way"):
        Ensemble([small_config("draws=keyed"), small_config()])
