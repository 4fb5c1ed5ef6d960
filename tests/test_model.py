"""Invariants of whole runs, and behaviour that must change when a policy changes."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from sim.config import ActionConfig, ActionKind
from sim.model import MobilisationModel
from sim.network import AIR
from sim.outputs import daily_table
from sim.population import State

from .conftest import small_config
from .invariants import run_checked


def with_actions(cfg, *actions: ActionConfig, name: str = "variant"):
    cfg.policy.actions = [*cfg.policy.actions, *actions]
    cfg.policy.name = name
    return cfg


def without_kind(cfg, kind: ActionKind):
    cfg.policy.actions = [a for a in cfg.policy.actions if a.kind is not kind]
    cfg.policy.name = f"no_{kind.value}"  # a plain name: it would name a run folder
    return cfg


def test_invariants_hold_every_day_of_the_historical_run():
    """People conserved, capacity respected, closed exits silent, stocks equal to flows."""
    model = run_checked(MobilisationModel(small_config()))
    assert model.record.gate["crossed_fleeing"].sum() > 0
    assert model.record.gate["normal_gave_up"].sum() > 0  # ordinary demand above capacity


def test_ordinary_demand_above_capacity_does_not_queue_for_ever():
    """An exit whose ordinary demand exceeds its capacity: those not served within their
    patience give up, so its queue stays within patience x demand (it used to grow all run)."""
    cfg = with_actions(small_config("policy=open", "population.scale=0.05"), ActionConfig(
        kind=ActionKind.capacity_factor, targets=["AIR-SVO>KZ"], start="2022-09-14",
        factor=0.5))
    model = run_checked(MobilisationModel(cfg))
    g = model.world.gate_index()["AIR-SVO>KZ"]
    rec = model.record.gate
    patience = model.config.network.normal_patience_days
    assert rec["normal_gave_up"][:, g].sum() > 0
    assert rec["queue_normal"][:, g].max() <= (patience + 1) * rec["arrived_normal"][:, g].max()


def test_ordinary_travellers_put_off_trips_to_a_known_queue():
    """Each ordinary traveller tolerates an exponential wait with mean `normal_patience_days`:
    at a land post's known wait W, exp(-W / patience) of a day's ordinary travellers set out. The
    day's arrivals are Poisson, so their sum is within 4 SE of the hand-computed expectation,
    and far from what they would be with no one put off."""
    cfg = with_actions(small_config("policy=open", "population.scale=0.05"), ActionConfig(
        kind=ActionKind.capacity_factor, targets=["GE-01"], start="2022-09-14", factor=0.3))
    model = run_checked(MobilisationModel(cfg))
    g = model.world.gate_index()["GE-01"]
    days = np.arange(model.n_days)
    known = np.maximum(days - model.config.behaviour.info_delay_days, 0)
    setting_out = np.exp(-model.wait_estimate[known, g] / cfg.network.normal_patience_days)
    assert setting_out.min() < 0.8  # the queue is long enough to matter
    pol = model.policy
    would_travel = (model.world.gate_normal[g] * pol.normal_factor[days, g] * pol.open[days, g]
                    * model.scale * model.timeline.normal_traffic[days])
    expected = (would_travel * setting_out).sum()
    arrived = model.record.gate["arrived_normal"][:, g].sum()
    assert abs(arrived - expected) < 4 * np.sqrt(expected)
    assert would_travel.sum() - arrived > 4 * np.sqrt(would_travel.sum())
    # ticket holders board first on air routes: a queue of people waiting for seats does not
    # deter them
    air = model.world.gate_mode == AIR
    model.wait_estimate[:] = 5.0
    assert (model._normal_joining_share(model.n_days - 1)[air] == 1.0).all()


def test_states_add_up_to_the_departures(historical_run):
    m = historical_run
    state = m.people.view("state")
    decided = m.record.region["departures"].sum()
    assert len(state) >= decided  # re-departures after going home make new individuals too
    crossed = m.record.gate["crossed_fleeing"].sum()
    stopped = m.record.gate["stopped"].sum()
    out = np.isin(state, [State.ABROAD, State.ONWARD, State.RETURNED]).sum()
    # everyone who crossed (was let out and let in) is abroad, moved on, or came back
    assert crossed == out
    assert stopped == np.count_nonzero(state == State.STOPPED)


def test_same_seed_same_outputs_and_other_seed_differs():
    a = MobilisationModel(small_config("seed=7"))
    b = MobilisationModel(small_config("seed=7"))
    c = MobilisationModel(small_config("seed=8"))
    for m in (a, b, c):
        run_checked(m)
    pd.testing.assert_frame_equal(daily_table(a), daily_table(b))
    assert not daily_table(a).equals(daily_table(c))


def test_closing_a_post_stops_every_crossing_there_from_that_date():
    cfg = with_actions(small_config(), ActionConfig(kind=ActionKind.close, targets=["GE-01"],
                                                    start="2022-09-26"))
    model = MobilisationModel(cfg)
    run_checked(model)
    g = model.world.gate_index()["GE-01"]
    t = (dt.date(2022, 9, 26) - model.start_date).days
    rec = model.record.gate
    assert rec["crossed_fleeing"][:t, g].sum() > 0
    assert rec["crossed_fleeing"][t:, g].sum() == 0
    assert rec["crossed_normal"][t:, g].sum() == 0


def test_a_policy_on_one_post_leaves_the_run_identical_until_it_starts():
    base = MobilisationModel(small_config("policy=open", "seed=3"))
    varied = MobilisationModel(with_actions(small_config("policy=open", "seed=3"), ActionConfig(
        kind=ActionKind.close, targets=["FI-01"], start="2022-09-27")))
    for m in (base, varied):
        run_checked(m)
    t = (dt.date(2022, 9, 27) - base.start_date).days
    for metric, values in base.record.gate.items():
        np.testing.assert_array_equal(values[:t], varied.record.gate[metric][:t], metric)
    assert not np.array_equal(base.record.gate["crossed_fleeing"][t:],
                              varied.record.gate["crossed_fleeing"][t:])


def test_removing_draft_offices_never_lowers_departures():
    with_office, without = 0.0, 0.0
    for seed in (1, 2, 3):
        a = MobilisationModel(small_config(f"seed={seed}"))
        b = MobilisationModel(without_kind(small_config(f"seed={seed}"), ActionKind.draft_office))
        run_checked(a)
        run_checked(b)
        with_office += a.record.gate["crossed_fleeing"].sum()
        without += b.record.gate["crossed_fleeing"].sum()
        assert b.record.gate["stopped"].sum() == 0
        assert a.record.gate["stopped"].sum() > 0
    assert without >= with_office


def test_finnish_visa_ban_cuts_entries_to_finland():
    open_run = MobilisationModel(small_config("policy=open"))
    banned = MobilisationModel(with_actions(small_config("policy=open"), ActionConfig(
        kind=ActionKind.visa_ban, targets=["FI"], start="2022-09-30", normal_traffic_factor=0.3)))
    for m in (open_run, banned):
        run_checked(m)
    fi = open_run.world.country_index()["FI"]
    t = (dt.date(2022, 9, 30) - open_run.start_date).days + 2
    entered = {name: (m.record.country["entered_fleeing"][t:, fi].sum()
                      + m.record.country["entered_normal"][t:, fi].sum())
               for name, m in (("open", open_run), ("banned", banned))}
    assert entered["banned"] < 0.6 * entered["open"]


def test_exit_ban_for_everyone_stops_departures_after_it_starts():
    cfg = with_actions(small_config(), ActionConfig(kind=ActionKind.exit_ban, targets=["all"],
                                                    start="2022-09-26", categories=["all"]))
    model = MobilisationModel(cfg)
    run_checked(model)
    t = (dt.date(2022, 9, 26) - model.start_date).days
    assert model.record.gate["crossed_fleeing"][t:].sum() == 0
    assert model.record.region["departures"][t + 1:].sum() == 0


@pytest.mark.parametrize("scale", ["0.002", "0.02"])
def test_totals_scale_with_the_population(scale):
    model = MobilisationModel(small_config(f"population.scale={scale}"))
    run_checked(model)
    per_capita = model.record.gate["crossed_fleeing"].sum() / model.initial_home.sum()
    assert 0.002 < per_capita < 0.1
