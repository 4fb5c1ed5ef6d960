"""What a policy's effect rests on: the comparison re-run at each assumption's low and high
value, and the report that puts the effects beside the assumptions."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from hydra import compose, initialize_config_dir

import analysis.config  # noqa: F401 - registers the config schemas
from analysis.assumptions import (
    CENTRAL,
    Assumption,
    assumptions_from,
    assumptions_markdown,
    effects_table,
    settings_of,
)
from sim.config import CONF_DIR
from sim.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
RUMOUR = "behaviour.restriction_rumour_weight"


def config(*overrides: str):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose("experiment/assumptions", overrides=list(overrides))


def comparison_rows(effects: dict[str, float]) -> pd.DataFrame:
    """A comparison.csv of two scenarios with the given effects of 'closes' (left_by_end)."""
    return pd.DataFrame([
        {"scenario": s, "scenario_label": s.capitalize(), "outcome": "left_by_end",
         "outcome_label": "Left", "unit": "people", "median": 0.0, "p05": 0.0, "p95": 0.0,
         "diff_median": d, "diff_p05": d - 10, "diff_p95": d + 10, "n_seeds": 5}
        for s, d in (("historical", 0.0), ("closes", effects["closes"]))])


def test_effects_table_puts_each_settings_effect_beside_the_configured_one():
    rumour = Assumption(RUMOUR, 0.0, 2.0, "news of a closure", 0.5, False)
    tables = {CENTRAL: comparison_rows({"closes": 40_000}),
              rumour.label("low"): comparison_rows({"closes": -20_000}),
              rumour.label("high"): comparison_rows({"closes": 240_000})}
    effects = effects_table(tables, [rumour], "left_by_end")
    row = effects[effects["scenario"] == "closes"].iloc[0]
    assert (row["effect_median"], row["at_low_median"], row["at_high_median"]) == \
        (40_000, -20_000, 240_000)
    assert row["swing"] == 260_000 and row["value"] == 0.5 and not row["calibrated"]
    text = assumptions_markdown(effects, [rumour], {
        "name": "t", "outcome_label": "Left", "baseline": "historical",
        "baseline_label": "Historical", "n_seeds": 5, "scale": 0.01, "parameters": ""})
    assert "### Closes: +40,000" in text
    assert f"`{RUMOUR}` = 0.5" in text and "-20,000" in text and "+240,000" in text
    assert "no, fixed" in text and "### Historical" not in text  # no effect of the baseline


def test_settings_run_the_central_comparison_and_each_end_of_each_assumption():
    a = Assumption(RUMOUR, 0.0, 2.0, "", 0.5, False)
    b = Assumption("behaviour.beta_draft", 2.0, 10.0, "", 6.0, False)
    assert settings_of([a, b]) == [
        (CENTRAL, []),
        ("restriction_rumour_weight_low", [f"{RUMOUR}=0.0"]),
        ("restriction_rumour_weight_high", [f"{RUMOUR}=2.0"]),
        ("beta_draft_low", ["behaviour.beta_draft=2.0"]),
        ("beta_draft_high", ["behaviour.beta_draft=10.0"])]


def test_the_shipped_assumptions_are_fixed_values_of_the_model():
    assumptions = assumptions_from(config())
    assert RUMOUR in {a.path for a in assumptions}
    assert all(not a.calibrated and a.low < a.value < a.high for a in assumptions)


@pytest.mark.parametrize(("override", "message"), [
    ("assumptions=[{path: behaviour.no_such_thing, low: 0, high: 1}]", "no_such_thing"),
    ("assumptions=[{path: behaviour.hazard_base, low: 0.0001, high: 0.01}]", "calibrated"),
    (f"assumptions=[{{path: {RUMOUR}, low: 2, high: 1}}]", "not below"),
])
def test_bad_assumptions_are_named_before_any_run(override, message):
    with pytest.raises(ConfigError, match=message):
        assumptions_from(config(override))


def test_compare_assumptions_end_to_end(tmp_path):
    """Two policies, one assumption, two seeds: the report's effect at the configured value is
    the plain comparison's, and without news of a restriction Finland's earlier closure sets
    off no rush (its effect falls from the low value to the high one)."""
    proc = subprocess.run(
        [sys.executable, "-m", "experiments.compare_assumptions", "seeds=2", "scale=0.001",
         "policies=[historical,finland_closes_earlier]", "posterior=null", "n_jobs=1",
         f"assumptions=[{{path: {RUMOUR}, low: 0.0, high: 2.0}}]", "progress=false",
         f"output_root={tmp_path}", "name=report"],
        capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    folder = tmp_path / "report"
    effects = pd.read_csv(folder / "assumptions.csv")
    finland = effects[effects["scenario"] == "finland_closes_earlier"].iloc[0]
    central = pd.read_csv(folder / "comparison" / "comparison.csv")
    plain = central[(central["scenario"] == "finland_closes_earlier")
                    & (central["outcome"] == "left_by_end")].iloc[0]
    assert finland["effect_median"] == pytest.approx(plain["diff_median"])
    assert finland["at_low_median"] < finland["effect_median"] < finland["at_high_median"]
    assert (folder / "settings" / "restriction_rumour_weight_high.csv").exists()
    assert "Finland closes a week earlier" in (folder / "assumptions.md").read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["report"]  # the settings' folders are gone


def test_a_bad_assumption_exits_2_without_a_folder(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "experiments.compare_assumptions",
         "assumptions=[{path: behaviour.no_such_thing, low: 0, high: 1}]",
         f"output_root={tmp_path / 'out'}"],
        capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "no_such_thing" in proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()
