"""Policy compilation: what each action does to the per-day arrays, and every bad input."""

import datetime as dt

import numpy as np
import pytest

from sim.config import ActionConfig, ActionKind, PolicyConfig
from sim.errors import ConfigError
from sim.policy import compile_policy
from sim.population import make_strata

START, END = dt.date(2022, 9, 14), dt.date(2022, 11, 30)
STRATA = make_strata(["16-26", "27-35", "36-49", "50-61"])


def compile_actions(world, *actions: ActionConfig):
    return compile_policy(PolicyConfig(name="t", actions=list(actions)), world, STRATA, START,
                          END)


def day(date: str) -> int:
    return (dt.date.fromisoformat(date) - START).days


def test_close_applies_between_its_dates_only(world):
    pol = compile_actions(world, ActionConfig(kind=ActionKind.close, targets=["GE-01"],
                                              start="2022-09-26", end="2022-09-30"))
    g = world.gate_index()["GE-01"]
    assert pol.open[day("2022-09-25"), g] and pol.open[day("2022-10-01"), g]
    assert not pol.open[day("2022-09-26"):day("2022-09-30") + 1, g].any()
    others = np.delete(pol.open, g, axis=1)
    assert (others == world.gate_open[np.arange(world.n_gates) != g]).all()


def test_country_target_covers_every_exit_into_that_country(world):
    pol = compile_actions(world, ActionConfig(kind=ActionKind.visa_ban, targets=["FI"],
                                              start="2022-09-30"))
    fi = world.country_index()["FI"]
    assert (pol.visa_ban[day("2022-09-30")] == (world.gate_country == fi)).all()
    assert not pol.visa_ban[day("2022-09-29")].any()


@pytest.mark.parametrize("target", ["SCHENGEN", "RU"])
def test_a_target_that_selects_no_exit_is_an_error(world, target):
    """A country with no border post of its own (reached only by moving on, or Russia itself):
    closing it used to change nothing but the closure rumours, silently."""
    with pytest.raises(ConfigError, match="select no exit"):
        compile_actions(world, ActionConfig(kind=ActionKind.close, targets=[target],
                                            start="2022-09-26"))


def test_capacity_factors_and_draft_offices_compose(world):
    g = world.gate_index()["GE-01"]
    pol = compile_actions(
        world,
        ActionConfig(kind=ActionKind.capacity_factor, targets=["GE-01"], start="2022-09-20",
                     factor=2.0),
        ActionConfig(kind=ActionKind.capacity_factor, targets=["all"], start="2022-09-20",
                     factor=0.5),
        ActionConfig(kind=ActionKind.draft_office, targets=["GE-01"], start="2022-09-20",
                     probability=0.5),
        ActionConfig(kind=ActionKind.draft_office, targets=["land"], start="2022-09-20",
                     probability=0.5))
    t = day("2022-09-21")
    assert pol.capacity_factor[t, g] == pytest.approx(1.0)
    assert pol.draft_probability[t, g] == pytest.approx(0.75)


def test_exit_ban_marks_only_its_categories(world):
    pol = compile_actions(world, ActionConfig(kind=ActionKind.exit_ban, targets=["all"],
                                              start="2022-09-26",
                                              categories=["military_experience"]))
    t = day("2022-09-26")
    assert (pol.exit_banned[t][:, STRATA.military]).all()
    assert not (pol.exit_banned[t][:, ~STRATA.military]).any()
    assert pol.news[t] == 1


@pytest.mark.parametrize(("action", "field", "value"), [
    (dict(kind=ActionKind.close, targets=["XX-99"], start="2022-09-26"), "targets", "XX-99"),
    (dict(kind=ActionKind.close, start="2022-09-26", end="2022-09-20"), "end", "2022-09-20"),
    (dict(kind=ActionKind.close, start="2022-08-01"), "start", "2022-08-01"),
    (dict(kind=ActionKind.close, start="2022-12-24"), "start", "2022-12-24"),
    (dict(kind=ActionKind.close, start="26 Sep"), "start", "26 Sep"),
    (dict(kind=ActionKind.capacity_factor, start="2022-09-26", factor=-1.0), "factor", "-1.0"),
    (dict(kind=ActionKind.draft_office, start="2022-09-26", probability=1.5), "probability",
     "1.5"),
    (dict(kind=ActionKind.exit_ban, start="2022-09-26", categories=["pilots"]), "categories",
     "pilots"),
    (dict(kind=ActionKind.exit_ban, start="2022-09-26"), "categories", "at least one"),
    (dict(kind=ActionKind.restrict, start="2022-09-26", categories=["local", "exempt"]),
     "categories", "local"),
    (dict(kind=ActionKind.close, start="2022-09-26", normal_traffic_factor=-0.5),
     "normal_traffic_factor", "-0.5"),
])
def test_invalid_actions_name_the_field_and_value(world, action, field, value):
    with pytest.raises(ConfigError) as err:
        compile_actions(world, ActionConfig(**action))
    message = str(err.value)
    assert "actions[0]" in message and field in message and value in message


def test_policy_base_puts_own_actions_first_and_drops_by_id():
    from sim.config import resolve_policy

    own = ActionConfig(kind=ActionKind.close, targets=["FI"], start="2022-09-23")
    resolved = resolve_policy(PolicyConfig(name="v", base="historical",
                                           drop=["finland_tourist_ban"], actions=[own]))
    assert resolved.base is None and resolved.actions[0] == own
    ids = [a.id for a in resolved.actions[1:]]
    assert "finland_tourist_ban" not in ids and "lars_draft_office" in ids


@pytest.mark.parametrize(("policy", "message"), [
    (PolicyConfig(name="v", base="no_such_policy"), "no_such_policy"),
    (PolicyConfig(name="v", base="historical", drop=["not_an_id"]), "not_an_id"),
    (PolicyConfig(name="historical", base="historical"), "circular"),
])
def test_policy_base_errors_name_the_problem(policy, message):
    from sim.config import resolve_policy

    with pytest.raises(ConfigError, match=message):
        resolve_policy(policy)
