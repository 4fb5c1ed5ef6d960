"""`python -m sim` end to end: the results folder, and bad input stopping before any output."""

import json
import subprocess
import sys

import pandas as pd
import pytest

from sim.config import load_config, to_sim_config
from sim.errors import ConfigError


def run_cli(tmp_path, *overrides: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sim", f"hydra.run.dir={tmp_path}", "progress=false",
         "population.scale=0.002", *overrides],
        capture_output=True, text=True, timeout=300)


def test_run_writes_daily_summary_and_config_snapshot(tmp_path):
    proc = run_cli(tmp_path, "seed=5")
    assert proc.returncode == 0, proc.stderr
    daily = pd.read_csv(tmp_path / "daily.csv")
    assert list(daily.columns) == ["date", "node", "name", "node_type", "metric", "value"]
    names = dict(zip(daily.node, daily.name, strict=False))
    assert "Verkhny Lars" in names["GE-01"] and names["KZ"] == "Kazakhstan"
    assert names["AIR-SVO>TR"] == "Moscow Sheremetyevo → Turkey"
    assert names["RU-AD"] == "Republic of Adygea"
    assert {"land_post", "air_route", "country", "region"} <= set(daily.node_type)
    assert {"crossed_fleeing", "crossed_normal", "queue", "mean_wait_days", "refused",
            "onward_departures", "returns"} <= set(daily.metric)
    assert daily.date.min() == "2022-09-14" and daily.date.max() == "2022-11-30"
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["seed"] == 5 and summary["policy"] == "historical"
    assert summary["left_russia"] > 0
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


def test_runs_writes_an_ensemble_whose_members_are_the_single_runs(tmp_path):
    """`runs=3`: one row per seed in ensemble.csv, each equal to that seed's single run, and a
    summary of medians and intervals; `runs=0` is bad input."""
    proc = run_cli(tmp_path / "ensemble", "seed=4", "runs=3")
    assert proc.returncode == 0, proc.stderr
    members = pd.read_csv(tmp_path / "ensemble" / "ensemble.csv")
    assert list(members.seed) == [4, 5, 6]
    single = run_cli(tmp_path / "single", "seed=5")
    assert single.returncode == 0, single.stderr
    alone = json.loads((tmp_path / "single" / "summary.json").read_text())
    assert round(members.left_russia[1]) == alone["left_russia"]
    summary = json.loads((tmp_path / "ensemble" / "summary.json").read_text())
    assert summary["runs"] == 3 and summary["seeds"] == [4, 6]
    left = summary["outcomes"]["left_by_end"]
    assert left["p05"] <= left["median"] <= left["p95"]
    bad = run_cli(tmp_path / "bad", "runs=0")
    assert bad.returncode == 2 and "runs" in bad.stderr
    assert not (tmp_path / "bad").exists()
