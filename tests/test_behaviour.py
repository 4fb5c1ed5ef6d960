"""Decision submodels: the pressure timeline, logit draws, and the intensity index."""

import datetime as dt

import numpy as np
import pytest

from sim import draws
from sim.behaviour import intensity_index, make_timeline
from sim.config import BehaviourConfig, RumourConfig


def categorical_draws(weights, counts, rng):
    """The engine's draws for one member with one stream."""
    return draws.categorical_draws(weights, counts, np.zeros(len(weights), dtype=np.int64),
                                   [{"s": rng}], "s")


def logit_choice(utilities, rng):
    return draws.logit_choice(utilities, np.zeros(len(utilities), dtype=np.int64),
                              [{"s": rng}], "s")


def test_pressure_starts_at_the_announcement_hour():
    beh = BehaviourConfig(announcement="2022-09-21T09:00", pressure_decay_days=5.0,
                          pressure_floor=0.0)
    tl = make_timeline(beh, dt.date(2022, 9, 20), 3)
    assert tl.pressure[0] == 0.0 and tl.exposure[0] == 0.0
    assert tl.exposure[1] == pytest.approx(15 / 24)
    # midpoint of 09:00-24:00 is 7.5 h after the announcement
    assert tl.pressure[1] == pytest.approx(np.exp(-(7.5 / 24) / 5.0))
    assert tl.exposure[2] == 1.0
    assert tl.pressure[2] == pytest.approx(np.exp(-(15 / 24 + 0.5) / 5.0))


def test_pressure_drops_after_mobilisation_ends():
    beh = BehaviourConfig(announcement="2022-09-21T00:00", mobilisation_end="2022-10-28",
                          pressure_floor=0.2, pressure_after_end=0.5, pressure_decay_days=1.0)
    tl = make_timeline(beh, dt.date(2022, 10, 27), 3)
    assert tl.pressure[2] == pytest.approx(tl.pressure[1] * 0.5, rel=1e-3)


def test_rumours_apply_on_their_days_only():
    beh = BehaviourConfig(rumours=[RumourConfig(start="2022-09-22", end="2022-09-23",
                                                intensity=2.0)])
    tl = make_timeline(beh, dt.date(2022, 9, 21), 4)
    np.testing.assert_array_equal(tl.rumour, [0, 2, 2, 0])


def test_logit_choice_reproduces_logit_probabilities():
    rng = np.random.default_rng(3)
    u = np.log(np.array([[0.2, 0.3, 0.5]]))
    picks = logit_choice(np.repeat(u, 60_000, axis=0), rng)
    freq = np.bincount(picks, minlength=3) / len(picks)
    np.testing.assert_allclose(freq, [0.2, 0.3, 0.5], atol=0.01)


def test_logit_choice_never_picks_unavailable_options():
    rng = np.random.default_rng(4)
    u = np.array([[0.0, -np.inf, 1.0], [-np.inf, -np.inf, -np.inf]])
    picks = logit_choice(np.tile(u, (500, 1)), rng)
    assert set(picks[::2]) <= {0, 2}
    assert (picks[1::2] == -1).all()


def test_intensity_index_has_population_weighted_mean_one_before_the_exponent():
    class FakeWorld:
        region_deaths_per_100k = np.array([0.0, 2.0, 10.0])
        region_men = np.array([100, 300, 600])

    beh = BehaviourConfig(intensity_exponent=1.0, intensity_shrinkage=2.0)
    index = intensity_index(FakeWorld(), beh)
    assert np.average(index, weights=FakeWorld.region_men) == pytest.approx(1.0)
    assert index[0] < index[1] < index[2]


def test_categorical_draws_match_each_rows_shares():
    rng = np.random.default_rng(5)
    weights = np.array([[1.0, 0.0, 3.0], [0.0, 2.0, 0.0], [0.0, 0.0, 0.0], [5.0, 5.0, 0.0]])
    counts = np.array([40_000, 7, 0, 40_000])
    rows, cats = categorical_draws(weights, counts, rng)
    np.testing.assert_array_equal(np.bincount(rows, minlength=4), counts)
    assert (cats[rows == 1] == 1).all()
    assert not ((rows == 0) & (cats == 1)).any() and not ((rows == 3) & (cats == 2)).any()
    assert abs(np.mean(cats[rows == 0] == 2) - 0.75) < 0.01
    assert abs(np.mean(cats[rows == 3] == 0) - 0.5) < 0.01


def test_attractiveness_shift_moves_only_its_country(world):
    """A shift of a country's attractiveness adds beta_attractiveness x shift to the utility of
    that country's exits and nothing else."""
    from sim.behaviour import RouteChoice
    from sim.population import make_strata

    strata = make_strata(["16-26", "27-35", "36-49", "50-61"])
    plain = RouteChoice(world, strata, BehaviourConfig(beta_attractiveness=1.5))
    shifted = RouteChoice(world, strata, BehaviourConfig(beta_attractiveness=1.5,
                                                         attractiveness_shift={"GE": 0.4}))
    georgia = world.gate_country == world.country_ids.index("GE")
    change = shifted.static_exit_utility - plain.static_exit_utility
    np.testing.assert_allclose(change[georgia], 1.5 * 0.4)
    np.testing.assert_array_equal(change[~georgia], 0.0)


def test_a_more_attractive_destination_draws_more_men_to_its_posts():
    """Same seed, Georgia made more attractive: more men arrive at its post, fewer elsewhere."""
    from sim.model import MobilisationModel

    from .conftest import small_config

    def arrivals(*overrides: str) -> tuple[float, float]:
        model = MobilisationModel(small_config(*overrides))
        model.run()
        georgia = model.world.gate_country == model.world.country_ids.index("GE")
        came = model.record.gate["arrivals"]
        return came[:, georgia].sum(), came[:, ~georgia].sum()

    plain_ge, plain_rest = arrivals()
    shifted_ge, shifted_rest = arrivals("+behaviour.attractiveness_shift.GE=1.0")
    assert shifted_ge > 1.2 * plain_ge
    assert shifted_rest < plain_rest


def test_attractiveness_shift_of_an_unknown_country_is_named(world):
    from sim.behaviour import RouteChoice
    from sim.errors import ConfigError
    from sim.population import make_strata

    with pytest.raises(ConfigError, match=r"attractiveness_shift\.XX.*unknown country"):
        RouteChoice(world, make_strata(["16-26"]),
                    BehaviourConfig(attractiveness_shift={"XX": 0.1}))
