"""The web page's logic without a browser: scenarios, checks, paired runs, rounding, map data."""

from __future__ import annotations

import datetime as dt
import io
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

from app.charts import action_marks, reported_daily_entries
from app.mapview import GEOJSON, _segments, day_of, map_figure, places
from app.messages import field_key, problem_of, prose_html
from app.routes import counted_destinations, few_runs_warning, uncounted, uncounted_caveat
from app.runs import daily_csv_of, run_comparison
from app.scenario import (
    BASELINE_LABEL,
    catalogue,
    catalogue_policy,
    custom_policy,
    data_world,
    droppable,
    policy_yaml,
    scenario_config,
)
from app.summary import fmt, outcome_rows, step_for
from sim.config import PolicyConfig, to_sim_config
from sim.dotted import set_path
from sim.errors import ConfigError
from sim.posterior import Posterior, parameter_paths


@pytest.fixture(scope="module", autouse=True)
def runs_in_this_process():
    """One process: worker start-up would cost more than these tiny runs (the browser tests
    run the page's default, two worker processes)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("APP_WORKERS", "1")
        yield


CLOSE_KZ = {"kind": "close", "targets": "KZ", "start": "2022-09-26", "end": ""}


def test_catalogue_starts_with_2022_and_holds_every_policy_file():
    names = catalogue()
    assert names[0] == "historical"
    assert {"finland_stays_open", "kazakhstan_closes", "open"} <= set(names)


@pytest.mark.parametrize(("action", "field", "value"), [
    ({**CLOSE_KZ, "targets": "XX-99"}, "targets", "XX-99"),
    ({**CLOSE_KZ, "kind": "capacity_factor", "factor": "-2"}, "factor", "-2"),
    ({**CLOSE_KZ, "kind": "capacity_factor", "factor": "lots"}, "factor", "lots"),
    ({**CLOSE_KZ, "kind": "draft_office", "probability": "1.5"}, "probability", "1.5"),
    ({**CLOSE_KZ, "start": "26/09/2022"}, "start", "26/09/2022"),
    ({**CLOSE_KZ, "end": "2022-09-01"}, "end", "2022-09-01"),
    ({**CLOSE_KZ, "start": "2023-01-05"}, "start", "2023-01-05"),
    ({**CLOSE_KZ, "kind": "exit_ban", "categories": "pilots"}, "categories", "pilots"),
    ({**CLOSE_KZ, "kind": "teleport"}, "kind", "teleport"),
])
def test_an_invalid_edit_names_its_field_and_value(action, field, value):
    with pytest.raises(ConfigError) as err:
        scenario_config(custom_policy("historical", [action]), 0.01)
    assert field in str(err.value) and value in str(err.value)


@pytest.mark.parametrize(("scale", "behaviour", "field"), [
    (0.0, {}, "population.scale"), (2.0, {}, "population.scale"),
    (0.01, {"beta_wait": "-1"}, "behaviour.beta_wait"),
    (0.01, {"hazard_base": "x"}, "behaviour.hazard_base"),
    (0.01, {"beta_time": "nan"}, "behaviour.beta_time"),
    (0.01, {"peer_weight": "inf"}, "behaviour.peer_weight"),
])
def test_invalid_runs_settings_are_refused(scale, behaviour, field):
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        scenario_config(catalogue_policy("open"), scale, behaviour)


@pytest.mark.parametrize("runs", [0, 51, "ten"])
def test_the_number_of_runs_is_checked_before_anything_runs(runs):
    cfg = scenario_config(catalogue_policy("open"), 0.001)
    with pytest.raises(ConfigError, match="runs"):
        run_comparison(cfg, runs, over_posterior=False)


def test_the_policy_yaml_the_page_builds_is_the_policy_it_ran():
    policy = custom_policy("finland_stays_open", [
        CLOSE_KZ,
        {"kind": "draft_office", "targets": "GE-01", "start": "2022-09-28",
         "end": "2022-10-10", "probability": "0.2"},
        {"kind": "exit_ban", "targets": "all", "start": "2022-10-01",
         "categories": "military_experience, age_16-26"},
    ], name="my_policy")
    ran = scenario_config(policy, 0.01).policy
    text = policy_yaml(policy)
    assert "conf/policy/my_policy.yaml" in text and "python -m sim policy=my_policy" in text
    reloaded = to_sim_config({"policy": OmegaConf.create(text)}).policy
    assert isinstance(reloaded, PolicyConfig)
    assert reloaded.name == "my_policy"
    assert reloaded.actions == ran.actions
    assert not any(a.id == "finland_tourist_ban" for a in reloaded.actions)  # base's drop kept


def test_dropping_a_base_action_opens_what_it_closed():
    assert "finland_tourist_ban" in droppable("historical")
    policy = custom_policy("historical", [], drop=["finland_tourist_ban"])
    ran = scenario_config(policy, 0.01).policy
    assert "finland_tourist_ban" not in [a.id for a in ran.actions]
    with pytest.raises(ConfigError, match="nowhere"):
        scenario_config(custom_policy("historical", [], drop=["nowhere"]), 0.01)


def test_posterior_particles_map_to_config_paths():
    columns = parameter_paths()
    assert columns["capacity_GE"] == "network.capacity_factor_by_exit.GE"
    assert "persons_per_vehicle" not in columns  # the observation operator touches no run
    posterior = Posterior.read()
    row = posterior.draw(4, seed=1)[0]
    cfg = posterior.apply(scenario_config(catalogue_policy("open"), 0.01), row,
                          fixed=frozenset({"behaviour.hazard_base"}))
    particle = posterior.table.iloc[row]
    assert cfg.network.capacity_factor_by_exit["GE"] == particle["capacity_GE"]
    assert cfg.behaviour.hazard_base == scenario_config(catalogue_policy("open"),
                                                        0.01).behaviour.hazard_base
    with pytest.raises(KeyError, match="nothing"):
        set_path(cfg, "behaviour.nothing", 1.0)


@pytest.fixture(scope="module")
def closing_kazakhstan():
    cfg = scenario_config(catalogue_policy("kazakhstan_closes"), 0.002)
    return run_comparison(cfg, 2, over_posterior=True)


def test_paired_runs_share_seeds_and_particles():
    """2022 against itself: every paired difference is exactly zero, on every day."""
    cfg = scenario_config(catalogue_policy("historical"), 0.002)
    comp = run_comparison(cfg, 2, over_posterior=True)
    pairs = comp.paired()
    assert len(pairs) == 2 and {own.seed for own, _ in pairs} == {1, 2}
    for own, base in pairs:
        np.testing.assert_array_equal(own.departures, base.departures)
        assert own.outcomes == base.outcomes
    assert pairs[0][0].outcomes != pairs[1][0].outcomes  # different seeds and particles
    for row in outcome_rows(comp, 500.0):
        assert "no clear difference" in row.sentence or "no runs" in row.sentence


def test_closing_kazakhstan_stops_entries_there(closing_kazakhstan):
    comp = closing_kazakhstan
    kz = data_world().country_ids.index("KZ")
    after = [i for i, d in enumerate(comp.dates) if d.isoformat() >= "2022-09-28"]
    for own, base in comp.paired():
        assert own.entries[after, kz].sum() < 0.6 * base.entries[after, kz].sum()
    frames = comp.frames["kazakhstan_closes"]
    gates_kz = data_world().gate_country == kz
    assert not frames.gate_open[after][:, gates_kz].any()
    assert comp.frames[BASELINE_LABEL].gate_open[after][:, gates_kz].any()


def test_the_daily_csv_offered_is_the_scenarios_first_run(closing_kazakhstan):
    comp = closing_kazakhstan
    daily = pd.read_csv(io.StringIO(daily_csv_of(comp.first_config)))
    assert {"node", "name", "node_type", "metric", "value"} <= set(daily.columns)
    entered = daily.query("metric == 'entered_fleeing' and node_type == 'country'")
    per_day = entered.groupby("date")["value"].sum().to_numpy()
    first = next(r for r in comp.of("kazakhstan_closes") if r.seed == 1)
    np.testing.assert_allclose(per_day, first.departures, rtol=1e-5)


def _traces(fig) -> dict[str, object]:
    return {t.name: t for t in fig.data if t.name}


def test_the_map_draws_every_layer_with_and_without_a_run(closing_kazakhstan):
    world = data_world()
    comp = closing_kazakhstan
    before = _traces(map_figure(world, 0, None, comp.dates))
    after = _traces(map_figure(world, 25, comp.frames["kazakhstan_closes"], comp.dates))
    assert set(after) - set(before) >= {"flow region→exit (width: men)", "flow exit→country"}
    pl = places(world)
    assert pl.region.shape == (world.n_regions, 2) and pl.site.shape == (world.n_gates, 2)
    assert np.all((pl.site[:, 1] > 35) & (pl.site[:, 1] < 72))  # every post and airport placed
    posts = after["land post (size, colour: queue)"]
    lars = list(posts.customdata[:, 1]).index("GE-01")  # hover: the post's name and id
    assert posts.customdata[lars, 0].startswith("Verkhny Lars")
    assert "%{customdata[0]}" in posts.hovertemplate and "queue" in posts.hovertemplate


def test_the_maps_scales_hold_over_the_whole_run(closing_kazakhstan):
    """The colour and size scales are the run's maxima, the same on every day: a day's map
    can be set beside another's."""
    world = data_world()
    comp = closing_kazakhstan
    frames = comp.frames["kazakhstan_closes"]
    days = [day_of(world, frames, t) for t in (3, 20, len(comp.dates) - 1)]
    assert len({(d.queue_top, d.present_top, d.share_top) for d in days}) == 1
    for t in (3, 20):
        fig = _traces(map_figure(world, t, frames, comp.dates))
        region = fig["region (size: men at risk)"].marker
        queue = fig["land post (size, colour: queue)"].marker
        assert region.cmax == pytest.approx(days[0].share_top * 100)
        assert queue.cmax == pytest.approx(days[0].queue_top)
        assert max(region.color) <= region.cmax + 1e-9


def test_draft_office_rings_lie_under_the_queues(closing_kazakhstan):
    """The rings are drawn before the posts and airports (Plotly draws later traces on top)."""
    comp = closing_kazakhstan
    names = [t.name for t in map_figure(data_world(), 20, comp.frames["kazakhstan_closes"],
                                        comp.dates).data]
    ring = names.index("draft office (ring: call-up probability)")
    assert ring < names.index("land post (size, colour: queue)") < names.index("airport")


def test_flow_widths_are_in_proportion_to_the_flows():
    a = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])
    b = a + 1
    segs, widths, top = _segments(a, b, np.array([10.0, 40.0, 0.0]), 8.0)
    assert top == 40.0 and len(segs) == 2  # the empty link is not drawn
    np.testing.assert_allclose(widths, [8.0, 2.0])


@pytest.mark.parametrize(("lo", "hi", "resolution", "step"), [
    (300_000, 910_000, 100, 10_000), (-13_000, 8_000, 100, 1_000), (0, 0, 100, 100),
    (0.4, 2.1, 0.01, 0.1), (1_000, 1_050, 100, 100),
])
def test_rounding_follows_the_spread_of_the_runs(lo, hi, resolution, step):
    assert step_for(lo, hi, resolution) == pytest.approx(step)


def test_numbers_in_words():
    assert fmt(1_234_567, 10_000, "people") == "1,230,000"
    assert fmt(-11_400, 1_000, "people", signed=True) == "−11,000"
    assert fmt(2_000, 1_000, "people", signed=True) == "+2,000"
    assert fmt(0.333, 0.01, "days") == "0.33"
    assert fmt(float("nan"), 1, "people") == "–"


def test_reported_entries_and_shipped_outlines_cover_the_destinations():
    reported = reported_daily_entries()
    assert {"Georgia", "Kazakhstan"} <= set(reported["destination"])
    names = {f["properties"]["name"] for f in
             json.loads(GEOJSON.read_text(encoding="utf-8"))["features"]}
    assert {"Russia", "Kazakhstan", "Georgia", "Finland", "Mongolia", "Turkey"} <= names


def test_python_m_sim_runs_the_downloaded_policy_unchanged(tmp_path):
    """The YAML of 'Take it away', saved as policy/NAME.yaml in a config folder, selected with
    policy=NAME (here through Hydra's search path, so that conf/policy stays as it is)."""
    policy = custom_policy("historical", [CLOSE_KZ], name="page_built")
    (tmp_path / "conf" / "policy").mkdir(parents=True)
    (tmp_path / "conf" / "policy" / "page_built.yaml").write_text(policy_yaml(policy))
    out = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "sim", "policy=page_built", "population.scale=0.002",
         "runs=1", "progress=false", f"hydra.run.dir={out}",
         f"hydra.searchpath=[file://{tmp_path / 'conf'}]"],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["policy"] == "page_built"
    entered = {d["id"]: d["median"] for d in summary["destinations"]}
    assert "KZ" not in entered or entered["KZ"] < 0.5 * max(entered.values())


def test_uncounted_routes_are_those_without_a_fitted_count():
    world = data_world()
    counted = counted_destinations()
    assert {"Kazakhstan", "Georgia", "Finland"} <= counted and "Belarus" not in counted
    names = uncounted(list(world.country_names), list(world.country_kind))
    assert {"Belarus", "Abkhazia"} <= set(names)
    assert not set(names) & counted and "Russia" not in names
    assert "Belarus" in uncounted_caveat(list(world.country_names), list(world.country_kind))


@pytest.mark.parametrize(("runs", "warned"), [(1, True), (19, True), (20, False), (50, False)])
def test_fewer_than_20_runs_are_warned_of(runs, warned):
    assert bool(few_runs_warning(runs)) is warned


@pytest.mark.parametrize(("action", "key"), [
    ({**CLOSE_KZ, "targets": "XX-99"}, "action-1-targets"),
    ({**CLOSE_KZ, "kind": "capacity_factor", "factor": "-2"}, "action-1-value"),
    ({**CLOSE_KZ, "kind": "draft_office", "probability": "1.5"}, "action-1-value"),
    ({**CLOSE_KZ, "end": "2022-09-01"}, "action-1-end"),
    ({**CLOSE_KZ, "start": "26/09/2022"}, "action-1-start"),
])
def test_an_invalid_edit_is_shown_beside_its_field(action, key):
    with pytest.raises(ConfigError) as err:
        scenario_config(custom_policy("historical", [CLOSE_KZ, action]), 0.01)
    problem = problem_of(err.value)
    assert problem.field == key
    assert problem.beside and not problem.beside.startswith("config")
    assert problem.beside in problem.message


def test_fields_of_the_runs_settings_are_found_too():
    assert field_key("behaviour.beta_wait") == "behaviour-beta_wait"
    assert field_key("runs") == "runs" and field_key("policy.name") == "name"
    assert field_key("somewhere.else") == ""


def test_prose_escapes_html_and_renders_tables():
    out = prose_html("| a | b |\n|---|---|\n| <script>x</script> | 1 |")
    assert "<table>" in out and "<script>" not in out and "&lt;script&gt;" in out


def test_the_scenarios_own_actions_are_marked_on_the_charts():
    def marks(name):
        return action_marks(scenario_config(catalogue_policy(name), 0.01).policy)

    assert marks("kazakhstan_closes") == [(dt.date(2022, 9, 26), "close KZ")]
    assert marks("finland_stays_open") == [(dt.date(2022, 9, 30), "without finland_tourist_ban")]
    assert marks("historical") == []


def test_the_ensemble_table_holds_medians_and_bands_of_every_series(closing_kazakhstan):
    from app.tables import ensemble_table, outcomes_table

    comp = closing_kazakhstan
    world = data_world()
    table = ensemble_table(comp, list(world.country_names), list(world.gate_ids))
    assert (table["p05"] <= table["median"] + 1e-9).all()
    assert (table["median"] <= table["p95"] + 1e-9).all()
    assert set(table["runs_of"]) == {"2022", "kazakhstan_closes", "kazakhstan_closes minus 2022"}
    # hand-checked: the median of the cumulative departures on the last day, over the runs
    last = table[(table["series"] == "left Russia (cumulative)")
                 & (table["runs_of"] == "kazakhstan_closes")].iloc[-1]
    totals = [r.departures.sum() for r in comp.of("kazakhstan_closes")]
    assert last["median"] == pytest.approx(np.median(totals))
    assert last["runs"] == len(totals)
    outcomes = outcomes_table(comp)
    assert list(outcomes.columns) == ["outcome", "2022", "kazakhstan_closes",
                                      "paired difference", "runs"]


def test_the_page_and_the_command_line_give_identical_medians(tmp_path):
    """The same policy, scale, runs and seed: the page's run function and `python -m sim` draw
    the same (particle, seed) pairs and report the same medians, to the last digit."""
    out = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "sim", "policy=kazakhstan_closes", "population.scale=0.002",
         "runs=3", "seed=1", "progress=false", "parallel.backend=sequential",
         f"hydra.run.dir={out}"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    comp = run_comparison(scenario_config(catalogue_policy("kazakhstan_closes"), 0.002), 3,
                          over_posterior=True)
    runs = comp.of("kazakhstan_closes")
    assert [r.seed for r in runs] == summary["seeds"] == [1, 2, 3]
    for key in ("left_by_2022_09_24", "left_by_2022_10_04", "left_by_end", "abroad_at_end",
                "stopped_at_border", "mean_wait_days"):
        page = float(np.median([r.outcomes[key] for r in runs]))
        assert page == pytest.approx(summary["figures"][key]["median"], rel=1e-12), key
