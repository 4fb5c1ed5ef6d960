"""The ensemble object, the posterior's one draw, the rounding and the names a policy may use."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from sim.config import load_config
from sim.ensemble import Ensemble, draw_members
from sim.errors import ConfigError, DataError
from sim.parallel import world_for
from sim.policy import canonical_targets
from sim.posterior import Posterior, systematic_resample
from sim.results import band, round_to_support, support_unit

SHORT = ["population.scale=0.001", "progress=false"]


@pytest.fixture(scope="module")
def world():
    return world_for(load_config(SHORT).network)


def test_the_draw_depends_on_runs_seed_and_posterior_only():
    posterior = Posterior.read()
    first = draw_members(5, 3, posterior)
    assert first == draw_members(5, 3, posterior)
    assert [d.seed for d in first] == [3, 4, 5, 6, 7]
    assert [d.particle for d in first] != [d.particle for d in draw_members(5, 4, posterior)]
    assert {d.particle for d in draw_members(3, 1, None)} == {-1}
    with pytest.raises(ConfigError, match="runs"):
        draw_members(0, 1, posterior)


def test_systematic_resampling_follows_the_weights():
    """Weights 0, 1, 3: a quarter of the draws on row 1, three quarters on row 2, none on 0."""
    rows = systematic_resample(np.array([0.0, 1.0, 3.0]), 400, seed=5)
    assert np.bincount(rows, minlength=3).tolist() == [0, 100, 300]


def test_a_particle_reaches_the_config_except_the_fixed_paths(tmp_path):
    file = tmp_path / "posterior.csv"
    pd.DataFrame({"hazard_base": [0.003], "capacity_KZ": [0.5], "persons_per_vehicle": [3.0],
                  "weight": [1.0]}).to_csv(file, index=False)
    posterior = Posterior.read(file)
    assert posterior.paths == {"hazard_base": "behaviour.hazard_base",
                               "capacity_KZ": "network.capacity_factor_by_exit.KZ"}
    config = load_config(SHORT)
    applied = posterior.apply(config, 0)
    assert applied.behaviour.hazard_base == 0.003
    assert applied.network.capacity_factor_by_exit["KZ"] == 0.5
    kept = posterior.apply(config, 0, fixed=frozenset({"behaviour.hazard_base"}))
    assert kept.behaviour.hazard_base == config.behaviour.hazard_base
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"hazard_base": [0.003], "weight": [-1.0]}).to_csv(bad, index=False)
    with pytest.raises(DataError, match=r"row 1, field 'weight': -1\.0 is a negative weight"):
        Posterior.read(bad)


@pytest.fixture(scope="module")
def pair():
    """The open borders and the historical policy, two runs each over the posterior."""
    posterior = Posterior.read()
    runs = [Ensemble(load_config([*SHORT, f"policy={p}"]), 2, posterior, parallel=1).run()
            for p in ("historical", "russia_closes")]
    return runs


def test_an_ensemble_against_itself_differs_by_exactly_zero(pair):
    historical, _ = pair
    diff = historical.diff(historical).set_index("outcome")
    finite = diff[["median", "p05", "p95"]].to_numpy(float)
    assert (finite[np.isfinite(finite)] == 0).all()
    assert len(historical.to_frame()) == 2


def test_diff_pairs_member_by_member(pair):
    historical, closed = pair
    diff = closed.diff(historical).set_index("outcome")
    own, base = closed.to_frame(), historical.to_frame()
    paired = (own.left_by_end - base.left_by_end).to_numpy()
    assert diff.loc["left_by_end", "median"] == pytest.approx(np.median(paired))
    assert diff.loc["left_by_end", "median"] < 0  # closing Russia's borders lowers the total
    other = Ensemble(load_config(SHORT), 2, Posterior.read(), parallel=1)
    other.draws = draw_members(2, 9, other.posterior)
    with pytest.raises(ValueError, match="do not pair"):
        closed.diff(other)


def test_reduce_gives_medians_and_rounded_intervals(pair):
    historical, _ = pair
    row = historical.reduce().set_index("outcome").loc["left_by_end"]
    values = historical.to_frame().left_by_end.to_numpy()
    lo, mid, hi = np.quantile(values, [0.05, 0.5, 0.95])
    assert (row["p05"], row["median"], row["p95"]) == pytest.approx((lo, mid, hi))
    unit = support_unit(lo, hi, historical.resolution)
    assert row["rounded_median"] % unit == 0 and unit >= 1000  # one agent: 1,000 men
    assert "2 runs (seeds 1-2)" in historical.describe_draws()
    assert "Only 2 runs" in historical.caveat()
    assert "men left Russia by 4 Oct" in historical.summary()


def test_band_is_nanquantile():
    rng = np.random.default_rng(1)
    stack = rng.normal(size=(9, 20))
    stack[rng.random(stack.shape) < 0.3] = np.nan
    stack[:, 0] = np.nan
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
        expected = np.nanquantile(stack, [0.05, 0.5, 0.95], axis=0)
    for got, want in zip(band(stack), expected, strict=True):
        np.testing.assert_allclose(got, want, equal_nan=True)


@pytest.mark.parametrize(("values", "lo", "hi", "resolution", "expected"), [
    ([633_760.0], 500_000, 900_000, 0, [630_000.0]),    # a tenth of the width: 10,000
    ([686_262.0], 686_262, 686_262, 0, [686_000.0]),    # one run: three significant digits
    ([12_345.0], 12_000, 12_400, 100, [12_300.0]),      # never finer than one agent (100)
])
def test_rounding_to_what_the_runs_support(values, lo, hi, resolution, expected):
    assert round_to_support(np.array(values), lo, hi, resolution).tolist() == expected


def test_targets_by_id_in_any_case_and_by_name(world):
    assert canonical_targets(["ge-01", "Verkhny Lars", "Dariali", "kazakhstan", "SVO",
                              "Moscow Sheremetyevo", "LAND", "fi"], world, "t") == [
        "GE-01", "GE-01", "GE-01", "KZ", "AIR-SVO", "AIR-SVO", "land", "FI"]
    with pytest.raises(ConfigError, match="did you mean 'Verkhny Lars'"):
        canonical_targets(["Verhkny Lars"], world, "policy.actions[0].targets")
    with pytest.raises(ConfigError, match=r"policy\.actions\[0\]\.targets.*'Atlantis'"):
        canonical_targets(["Atlantis"], world, "policy.actions[0].targets")


def test_a_policy_by_names_is_the_policy_by_ids(world):
    from sim.policy import compile_policy
    from sim.population import make_strata

    by_id = load_config([*SHORT, "policy=georgia_closes_lars"])
    by_name = dataclasses.replace(by_id, policy=dataclasses.replace(
        by_id.policy, actions=[dataclasses.replace(by_id.policy.actions[0],
                                                   targets=["Verkhny Lars"]),
                               *by_id.policy.actions[1:]]))
    strata = make_strata(list(by_id.population.age_bands))
    import datetime as dt

    start, end = dt.date(2022, 9, 14), dt.date(2022, 11, 30)
    a = compile_policy(by_id.policy, world, strata, start, end)
    b = compile_policy(by_name.policy, world, strata, start, end)
    np.testing.assert_array_equal(a.open, b.open)
