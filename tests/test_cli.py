"""`python -m sim` end to end: the results folder, the report's numbers against daily.csv and
the ensemble, the listings, names as policy targets, and bad input stopping before any
output."""

import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from sim.config import load_config, to_sim_config
from sim.ensemble import Ensemble
from sim.errors import ConfigError
from sim.posterior import Posterior
from sim.report import figure_text
from sim.results import round_to_support


def run_cli(tmp_path, *overrides: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sim", f"hydra.run.dir={tmp_path}", "progress=false",
         "population.scale=0.002", "parallel.backend=sequential", *overrides],
        capture_output=True, text=True, timeout=300)


def test_run_writes_daily_summary_and_config_snapshot(tmp_path):
    proc = run_cli(tmp_path, "seed=5", "runs=1")
    assert proc.returncode == 0, proc.stderr
    daily = pd.read_csv(tmp_path / "daily.csv")
    assert list(daily.columns) == ["date", "node", "name", "node_type", "metric", "kind",
                                   "value", "p05", "p95"]
    assert set(daily.kind) == {"flow", "stock", "mean"}
    assert (daily[daily.metric == "present_fleeing"].kind == "stock").all()
    assert (daily[daily.metric == "crossed_fleeing"].kind == "flow").all()
    names = dict(zip(daily.node, daily.name, strict=False))
    assert "Verkhny Lars" in names["GE-01"] and names["KZ"] == "Kazakhstan"
    assert names["AIR-SVO>TR"] == "Moscow Sheremetyevo → Turkey"
    assert names["RU-AD"] == "Republic of Adygea"
    assert {"land_post", "air_route", "country", "region"} <= set(daily.node_type)
    assert {"crossed_fleeing", "crossed_normal", "queue", "mean_wait_days", "refused",
            "stopped_at_border", "onward_departures", "returned_to_russia"} <= set(daily.metric)
    assert daily.date.min() == "2022-09-14" and daily.date.max() == "2022-11-30"
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["seed"] == 5 and summary["policy"] == "historical" and summary["runs"] == 1
    assert summary["left_russia"] > 0
    names = {d["id"]: d["name"] for d in summary["destinations"]}
    assert names["KZ"] == "Kazakhstan"
    assert any("Verkhny Lars" in e["name"] for e in summary["routes"]["top_exits"])
    # one run: the value is the run's, and flows sum to the totals of summary and runs.csv
    left = daily.query("metric == 'crossed_fleeing' and node_type != 'country'")
    runs = pd.read_csv(tmp_path / "runs.csv")
    assert left.value.sum() == pytest.approx(runs.left_by_end[0], rel=1e-5)
    assert left.value.sum() == pytest.approx(summary["figures"]["left_by_end"]["median"],
                                             rel=1e-5)
    for band in ("p05", "p95"):
        np.testing.assert_array_equal(daily.value.to_numpy(), daily[band].to_numpy())
    assert (tmp_path / ".hydra" / "config.yaml").exists()
    assert not list(tmp_path.glob("*.tmp"))


def test_invalid_policy_stops_before_writing_results(tmp_path):
    proc = run_cli(tmp_path, "policy.actions.0.targets=[NOWHERE]")
    assert proc.returncode != 0
    assert "NOWHERE" in proc.stderr + proc.stdout
    assert not (tmp_path / "daily.csv").exists()


@pytest.mark.parametrize(("override", "field"), [
    ("population.scale=0", "population.scale"),
    ("population.scale=1.5", "population.scale"),
    ("end=2022-09-01", "end"),
    ("behaviour.beta_wait=-1", "behaviour.beta_wait"),
    ("behaviour.reconsider_share=2", "behaviour.reconsider_share"),
    ("network.road_km_per_day=0", "network.road_km_per_day"),
])
def test_invalid_config_values_are_named(override, field):
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        load_config([override])


def test_wrongly_typed_override_is_rejected_by_the_schema():
    """load_config raises the project's own error, in one line naming the key and the value
    (it let Hydra's ConfigCompositionException out before)."""
    from sim.errors import InputError

    with pytest.raises(InputError) as err:
        load_config(["seed=abc"])
    message = str(err.value)
    assert "'abc'" in message and "seed" in message and "\n" not in message


def test_plain_dict_config_is_validated():
    with pytest.raises(ConfigError, match="start"):
        to_sim_config({"start": "not a date"})


def _reported(report: str, label: str) -> str:
    """The figure on the report's table row `label`."""
    match = re.search(rf"^\| {re.escape(label)} \| (.+) \|$", report, re.MULTILINE)
    assert match, label
    return match.group(1)


def test_the_report_gives_the_ensembles_medians_and_daily_csv_its_bands(tmp_path):
    """`python -m sim runs=3`: every headline of report.md is the median and 90 % interval of
    runs.csv, rounded to what the runs support; runs.csv is the ensemble rerun in this process
    (the same draws), and daily.csv holds the ensemble's daily medians and bands."""
    proc = run_cli(tmp_path, "runs=3", "seed=2")
    assert proc.returncode == 0, proc.stderr
    report = (tmp_path / "report.md").read_text()
    runs = pd.read_csv(tmp_path / "runs.csv")
    assert list(runs.seed) == [2, 3, 4] and (runs.particle >= 0).all()
    for key, label in (("left_by_2022_09_24", "Men who left Russia by 24 Sep"),
                       ("left_by_2022_10_04", "Men who left Russia by 4 Oct"),
                       ("left_by_end", "Men who left Russia by the end"),
                       ("abroad_at_end", "Men abroad at the end")):
        lo, mid, hi = np.quantile(runs[key], [0.05, 0.5, 0.95])
        r_mid, r_lo, r_hi = round_to_support(np.array([mid, lo, hi]), lo, hi, 500.0)
        expected = f"{r_mid:,.0f} (90 %: {r_lo:,.0f} to {r_hi:,.0f})"
        assert _reported(report, label) == expected
    assert "Only 3 runs" in report and "(seeds 2-4)" in report
    for plot in ("by_date.png", "routes.png", "queues.png"):
        assert (tmp_path / plot).stat().st_size > 10_000
    ens = Ensemble(load_config(["population.scale=0.002", "seed=2"]), 3, Posterior.read(),
                   parallel=1).run()
    frame = ens.to_frame()
    np.testing.assert_allclose(frame.left_by_end, runs.left_by_end, rtol=1e-5)
    assert figure_text(json.loads((tmp_path / "summary.json").read_text())["figures"][
        "left_by_end"], runs=3) == _reported(report, "Men who left Russia by the end")
    daily = pd.read_csv(tmp_path / "daily.csv")
    ids, metrics = ens.node_bands()["gate"]
    median = metrics["crossed_fleeing"][0]
    gates = daily.query("metric == 'crossed_fleeing' and node_type != 'country' "
                        "and node_type != 'region'")
    table = gates.pivot(index="date", columns="node", values="value")[ids].to_numpy()
    np.testing.assert_allclose(table, median, rtol=1e-5, atol=1e-6)
    stacked = np.stack([r.crossed_fleeing for r in ens.results])
    assert (table >= stacked.min(axis=0) - 1e-6).all() and (
        table <= stacked.max(axis=0) + 1e-6).all()


def test_list_posts_prints_every_post_with_its_name():
    proc = subprocess.run([sys.executable, "-m", "sim", "list", "posts"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    posts = pd.read_csv("sim/data/posts.csv")
    for ident, name in zip(posts.id, posts.name, strict=True):
        line = next(line for line in proc.stdout.splitlines() if line.strip().startswith(ident))
        assert name[:40] in line
    assert "capacity_per_day" in proc.stdout and "status" in proc.stdout


@pytest.mark.parametrize("kind", ["airports", "countries", "policies"])
def test_the_other_listings(kind):
    proc = subprocess.run([sys.executable, "-m", "sim", "list", kind], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    expected = {"airports": "Moscow Sheremetyevo", "countries": "Kazakhstan",
                "policies": "georgia_closes_lars"}[kind]
    assert expected in proc.stdout


def test_a_policy_naming_verkhny_lars_runs(tmp_path):
    proc = run_cli(tmp_path, "runs=1", "policy=georgia_closes_lars",
                   "policy.actions.0.targets=[Verkhny Lars]")
    assert proc.returncode == 0, proc.stderr
    daily = pd.read_csv(tmp_path / "daily.csv")
    lars = daily.query("node == 'GE-01' and metric == 'crossed_fleeing'")
    assert lars[lars.date >= "2022-09-26"].value.sum() == 0
    assert lars[lars.date < "2022-09-26"].value.sum() > 0


def test_a_misspelt_target_gets_a_did_you_mean(tmp_path):
    proc = run_cli(tmp_path, "runs=1", "policy=georgia_closes_lars",
                   "policy.actions.0.targets=[Verkhny Lers]")
    assert proc.returncode == 2
    assert "did you mean 'Verkhny Lars'" in proc.stderr + proc.stdout
    assert not (tmp_path / "daily.csv").exists()


def test_an_unknown_policy_lists_the_valid_ones(tmp_path):
    proc = run_cli(tmp_path, "policy=georgia_closes")
    assert proc.returncode == 2
    assert "georgia_closes_lars" in proc.stderr and "historical" in proc.stderr


def test_run_folders_are_named_after_the_policy_and_the_overrides():
    from sim.run_folder import run_folder_name

    assert run_folder_name("open", "policy=open,runs=40,seed=3") == "open_runs=40,seed=3"
    assert run_folder_name("historical", "") == "historical"
    assert run_folder_name("open", "seed=1") != run_folder_name("open", "seed=2")
    long = run_folder_name("open", "policy.actions.0.targets=[../../etc]," + "x" * 200)
    assert len(long) <= 80 and "/" not in long and ".." not in long
