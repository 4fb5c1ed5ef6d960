"""The end of the surge: heterogeneous readiness (gamma frailty), pressure that follows the
call-up, saturating peer effects with a memory, ordinary travel after the announcement; and
the forecast scores that test them (calibration/forecast.py). Hand-computed cases."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calibration.forecast import Discrepancy, forecast_scores, horizon_days, summarise
from sim import MobilisationModel, load_config
from sim.behaviour import (
    callup_pace,
    callup_remaining,
    leave_probability,
    make_timeline,
    peer_term,
)
from sim.config import BehaviourConfig, PressureCourse
from sim.network import build_world

SMALL = ["population.scale=0.002", "progress=false", "end=2022-10-20", "policy=open"]


@pytest.fixture(scope="module")
def world():
    return build_world(load_config(["progress=false"]).network)


# -- readiness to leave -------------------------------------------------------------------------

def test_frailty_hand_computed():
    # v = 1, H = 0, h = 1: the survivors' readiness is Exp(1), P(leave) = 1 - 1/(1 + 1) = 0.5
    assert leave_probability(np.array([1.0]), np.array([0.0]), 1.0)[0] == pytest.approx(0.5)
    # after H = 1 the men left are less ready: 1 - (2/3)^1
    assert leave_probability(np.array([1.0]), np.array([1.0]), 1.0)[0] == pytest.approx(1 / 3)
    # v = 0.5: 1 - (1 / (1 + 0.5))^2
    assert leave_probability(np.array([1.0]), np.array([0.0]), 0.5)[0] == pytest.approx(5 / 9)


@settings(deadline=None)
@given(h=st.floats(0.0, 3.0), cumulative=st.floats(0.0, 5.0))
def test_frailty_vanishing_gives_identical_men(h, cumulative):
    p0 = leave_probability(np.array([h]), np.array([cumulative]), 0.0)[0]
    assert p0 == pytest.approx(1 - np.exp(-h))
    tiny = leave_probability(np.array([h]), np.array([cumulative]), 1e-9)[0]
    assert tiny == pytest.approx(p0, abs=1e-6)


@settings(deadline=None)
@given(hazards=st.lists(st.floats(0.0, 2.0), min_size=1, max_size=20),
       variance=st.floats(0.01, 100.0))
def test_frailty_survival_composes_to_the_gamma_mixture(hazards, variance):
    """Staying home day after day has the probability of the gamma mixture over the whole
    cumulative hazard: the daily draws are exact, not an approximation."""
    cumulative, stay = 0.0, 1.0
    for h in hazards:
        stay *= 1 - leave_probability(np.array([h]), np.array([cumulative]), variance)[0]
        cumulative += h
    assert stay == pytest.approx((1 + variance * cumulative) ** (-1 / variance), rel=1e-9)


def test_frailty_lowers_departures_at_the_same_hazard():
    runs = {}
    for v in (0.0, 20.0):
        # the uncalibrated behaviour with a constant pressure floor: only readiness differs
        model = MobilisationModel(load_config([*SMALL, "behaviour=default",
                                               "behaviour.pressure_course=constant",
                                               f"behaviour.frailty_variance={v}"]))
        record = model.run()
        runs[v] = record.region["departures"].sum(axis=1)
        assert model.people_accounted() == model.initial_home.sum()
    assert runs[20.0].sum() < runs[0.0].sum()
    # the later weeks fall more than the first days: the readiest went first
    first, later = slice(7, 12), slice(20, 37)
    ratio_first = runs[20.0][first].sum() / runs[0.0][first].sum()
    ratio_later = runs[20.0][later].sum() / max(runs[0.0][later].sum(), 1)
    assert ratio_later < ratio_first


# -- pressure and the call-up ------------------------------------------------------------------

def test_callup_remaining_interpolates_the_reported_numbers(world):
    reports, called = list(world.callup_dates), world.callup_cumulative
    final = called.max()
    on_report = callup_remaining(world, np.array(reports))
    assert on_report == pytest.approx(1 - called / final)
    # halfway between the 4 Oct (200,000) and 14 Oct (222,000) reports: 211,000 called up
    i = reports.index(dt.date(2022, 10, 4))
    assert reports[i + 1] == dt.date(2022, 10, 14)
    halfway = callup_remaining(world, np.array([dt.date(2022, 10, 9)]))[0]
    assert halfway == pytest.approx(1 - (called[i] + called[i + 1]) / 2 / final)
    before_after = callup_remaining(world, np.array([dt.date(2022, 9, 20),
                                                     reports[-1] + dt.timedelta(days=1)]))
    assert list(before_after) == [1.0, 0.0]


def test_callup_pace_is_the_reported_increase_per_day(world):
    reports, called = list(world.callup_dates), world.callup_cumulative
    pace = np.diff(called) / np.array([(b - a).days for a, b in itertools.pairwise(reports)])
    i = reports.index(dt.date(2022, 10, 4))
    inside = callup_pace(world, np.array([dt.date(2022, 10, 9), dt.date(2022, 9, 20)]))
    assert inside == pytest.approx([pace[i] / pace.max(), 0.0])


def test_callup_pressure_falls_to_nothing_and_quota_regions_fall_first(world):
    beh = BehaviourConfig(pressure_course=PressureCourse.callup, pressure_floor=0.4,
                          quota_complete_factor=0.25, pressure_after_end=1.0)
    tl = make_timeline(beh, dt.date(2022, 9, 14), 78, world)
    day = {d: (d - dt.date(2022, 9, 14)).days for d in (dt.date(2022, 10, 20),
                                                        dt.date(2022, 11, 20))}
    assert tl.floor[day[dt.date(2022, 11, 20)]] == 0.0
    moscow, tver = world.region_ids.index("RU-MOW"), world.region_ids.index("RU-TVE")
    t = day[dt.date(2022, 10, 20)]
    pressure = tl.region_pressure(t)
    assert pressure[moscow] == pytest.approx(tl.shock[t] + 0.25 * tl.floor[t])
    assert pressure[tver] == pytest.approx(tl.shock[t] + tl.floor[t])
    constant = make_timeline(BehaviourConfig(pressure_floor=0.4, pressure_after_end=1.0),
                             dt.date(2022, 9, 14), 78)
    assert constant.floor[day[dt.date(2022, 11, 20)]] == pytest.approx(0.4)


def test_callup_course_cuts_the_late_flow():
    late = slice(35, None)  # from 19 Oct
    totals = {}
    for course in ("constant", "callup"):
        record = MobilisationModel(load_config([
            *SMALL, "end=2022-11-30", f"behaviour.pressure_course={course}"])).run()
        totals[course] = record.region["departures"].sum(axis=1)[late].sum()
    assert totals["callup"] < totals["constant"]


# -- peers ---------------------------------------------------------------------------------------

@settings(deadline=None)
@given(share=st.floats(0.0, 1.0), weight=st.floats(0.0, 100.0), cap=st.floats(0.1, 50.0))
def test_peer_term_is_bounded_by_its_cap(share, weight, cap):
    beh = BehaviourConfig(peer_weight=weight, peer_cap=cap)
    value = float(peer_term(np.array([share]), beh)[0])
    assert 0.0 <= value <= cap + 1e-12
    assert value <= weight * share + 1e-12  # never above the linear term


def test_peer_term_without_cap_is_linear_and_with_a_far_cap_nearly_so():
    share = np.array([0.0, 0.01, 0.05])
    assert peer_term(share, BehaviourConfig(peer_weight=20.0)) == pytest.approx(20 * share)
    far = peer_term(share, BehaviourConfig(peer_weight=20.0, peer_cap=1000.0))
    assert far == pytest.approx(20 * share, rel=1e-5)


def test_peer_memory_fades_departures():
    model = MobilisationModel(load_config([*SMALL, "behaviour.peer_memory_days=5"]))
    model._remember_departures(np.full(model.world.n_regions, 100.0))
    model._remember_departures(np.zeros(model.world.n_regions))
    assert model.remembered_left == pytest.approx(100 * np.exp(-1 / 5))


# -- ordinary travel ---------------------------------------------------------------------------

def test_ordinary_travel_after_the_announcement():
    normal = {}
    for share in (1.0, 0.5):
        record = MobilisationModel(load_config([
            *SMALL, f"behaviour.normal_traffic_after_announcement={share}",
            "behaviour.normal_traffic_adjust_days=0"])).run()
        normal[share] = record.gate["arrived_normal"].sum(axis=1)  # trips made (Poisson)
    before = slice(0, 7)  # 14-20 Sep: identical draws, identical crossings
    assert np.array_equal(normal[1.0][before], normal[0.5][before])
    after = slice(14, None)
    assert normal[0.5][after].sum() == pytest.approx(0.5 * normal[1.0][after].sum(), rel=0.1)


def test_ordinary_travel_falls_gradually():
    """Share of ordinary trips on the days after the announcement (21 Sep 09:00): 1 - (1 - f)
    x exposure x (1 - exp(-m / tau)), m the midpoint of the day's exposed part."""
    beh = BehaviourConfig(normal_traffic_after_announcement=0.4, normal_traffic_adjust_days=5.0,
                          pressure_course=PressureCourse.constant)
    tl = make_timeline(beh, dt.date(2022, 9, 20), 6)
    exposed = 15.0 / 24.0  # of 21 Sep
    mids = np.array([exposed / 2, exposed + 0.5, exposed + 1.5])
    expected = [1.0, 1 - 0.6 * exposed * (1 - np.exp(-mids[0] / 5)),
                *(1 - 0.6 * (1 - np.exp(-mids[1:] / 5)))]
    assert tl.normal_traffic[:4] == pytest.approx(expected)
    at_once = make_timeline(dataclasses.replace(beh, normal_traffic_adjust_days=0.0),
                            dt.date(2022, 9, 20), 6)
    assert at_once.normal_traffic[2:] == pytest.approx(0.4)


def test_departure_lead_delays_setting_off_by_its_mean():
    """Men who decide set off after an exponential number of days (mean departure_lead_days);
    with no lead the run is unchanged draw for draw (the `prepare` stream is not touched)."""
    def set_off(lead: float) -> np.ndarray:
        model = MobilisationModel(load_config([*SMALL, "population.scale=0.01", "end=2022-09-21",
                                               f"behaviour.departure_lead_days={lead}"]))
        model.run()
        return model.people.view("t_depart").copy()

    base_depart = set_off(0.0)
    lead_depart = set_off(4.0)
    n = len(base_depart)
    assert n == len(lead_depart) > 500  # the same decisions (day one)
    delay = lead_depart - base_depart
    assert (delay >= 0).all()
    # an exponential's sample mean: sd = mean / sqrt(n); four of them is a one-in-15,000 miss
    assert abs(delay.mean() - 4.0) < 4 * 4.0 / np.sqrt(n)
    again = set_off(0.0)
    assert np.array_equal(again, base_depart)


# -- forecast scores ---------------------------------------------------------------------------

def test_discrepancy_grows_with_the_horizon():
    d = Discrepancy(base_sd=0.3, growth_per_day=0.01)
    assert d.sd(np.array([0, 9, -3])) == pytest.approx([0.3, np.sqrt(0.09 + 0.09), 0.3])
    origin = dt.date(2022, 9, 30)
    assert list(horizon_days([dt.date(2022, 9, 25), dt.date(2022, 10, 4), None], origin)) == \
        [0, 4, 0]


def test_discrepancy_fit_recovers_known_parameters():
    rng = np.random.default_rng(3)
    h = rng.integers(1, 60, 4000).astype(float)
    model_sd = np.full(len(h), 0.1)
    residuals = rng.normal(0, np.sqrt(0.1**2 + 0.25**2 + 0.01 * h))
    fitted = Discrepancy.fit(residuals, model_sd, h)
    assert fitted.base_sd == pytest.approx(0.25, rel=0.2)
    assert fitted.growth_mle_per_day == pytest.approx(0.01, rel=0.2)
    # forecasts of every horizon up to 59 days: the bound is close to the most likely growth
    assert fitted.growth_mle_per_day <= fitted.growth_per_day < 1.3 * fitted.growth_mle_per_day


def test_discrepancy_growth_short_horizons_cannot_rule_out_is_kept():
    """Residuals of 1-6-day forecasts with no growth: the most likely growth is near 0, but the
    intervals use the largest growth whose profile deviance is within chi2(1, 0.9) of the
    best (here computed by brute force over a grid of base_sd)."""
    rng = np.random.default_rng(5)
    h = rng.integers(1, 7, 120).astype(float)
    model_sd = np.full(len(h), 0.1)
    residuals = rng.normal(0, np.sqrt(0.1**2 + 0.2**2), len(h))
    fitted = Discrepancy.fit(residuals, model_sd, h)
    assert fitted.growth_mle_per_day < 0.2 * fitted.growth_per_day
    assert fitted.longest_horizon_days == 6.0

    def profile(growth: float) -> float:
        base2 = np.linspace(0.0, 0.2, 4001)[:, None]
        var = model_sd**2 + base2 + growth * h + 1e-8
        return float(np.min(np.sum(np.log(var) + residuals**2 / var, axis=1)))

    best = profile(fitted.growth_mle_per_day)
    assert profile(fitted.growth_per_day) - best == pytest.approx(2.7055, abs=0.02)
    assert fitted.sd(np.array([60.0]))[0] > 2 * fitted.sd(np.array([0.0]))[0]


def test_wis_of_a_point_forecast_is_the_absolute_log_error():
    """All quantiles at m: each interval score is (2/alpha)|y - m|, weighted alpha/2, plus
    half the absolute error, over K + 1/2: the WIS is |y - m| (on log(1 + x))."""
    sims = np.full((10, 2), 999.0)
    scores = forecast_scores(sims, np.array([999.0, 99.0]), 0.0)
    assert scores["wis_log"].to_numpy() == pytest.approx([0.0, np.log(1000 / 100)])
    assert scores["crps_log"].to_numpy() == pytest.approx([0.0, np.log(1000 / 100)])
    assert list(scores["inside"]) == [True, False]


def test_coverage_of_a_calibrated_forecast():
    """Observations drawn from the predictive distribution fall inside its 50 % and 90 %
    intervals about half and nine times in ten."""
    rng = np.random.default_rng(0)
    n_targets = 400
    sims = np.expm1(rng.normal(8.0, 0.0001, (60, n_targets)))
    observed = np.expm1(8.0 + rng.normal(0, 0.5, n_targets))
    table = forecast_scores(sims, observed, 0.5)
    table["weight"], table["log_ratio"] = 1.0, np.log(table["pred_median"] / observed)
    overall = summarise(table).iloc[0]
    assert overall["coverage_50"] == pytest.approx(0.5, abs=0.07)
    assert overall["coverage_90"] == pytest.approx(0.9, abs=0.05)


def test_forecast_scores_take_the_median_of_an_even_number_of_rows_as_the_mean_of_the_middle_two():
    """|log ratio| 0.1, 0.2, 0.3, 0.5: median 0.25, the definition every other score of the
    project uses (scores.weighted_median), not the lower of the two middle rows; with a pair
    of duplicates weighted as one target (0.5 each), 0.1 counts once and the median is 0.4."""
    table = pd.DataFrame({"log_ratio": [0.1, -0.3, 0.5, 0.2], "weight": 1.0, "inside_50": True,
                          "inside": True, "width_90_log": 1.0, "wis_log": 0.1, "crps_log": 0.1})
    assert summarise(table).iloc[0]["median_abs_log_ratio"] == pytest.approx(0.25)
    table["log_ratio"], table["weight"] = [0.1, 0.1, 0.4, 0.9], [0.5, 0.5, 1.0, 1.0]
    assert summarise(table).iloc[0]["median_abs_log_ratio"] == pytest.approx(0.4)


@settings(max_examples=30, deadline=None)
@given(st.floats(0.0, 2.0))
def test_wider_discrepancy_widens_the_intervals(sd):
    rng = np.random.default_rng(1)
    sims = np.expm1(rng.normal(5.0, 0.3, (40, 50)))
    observed = np.expm1(rng.normal(5.0, 1.0, 50))
    narrow = forecast_scores(sims, observed, sd)
    wide = forecast_scores(sims, observed, sd + 0.5)
    assert wide["width_90_log"].mean() > narrow["width_90_log"].mean()
