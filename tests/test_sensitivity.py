"""Sensitivity analysis: parameters applied to the config, Morris then Sobol, the report."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir

from analysis.sensitivity import (
    parameters_from,
    select_influential,
    sensitivity,
    with_values,
)
from sim.config import CONF_DIR, load_config
from sim.errors import ConfigError

PARAMS = ("[{name:behaviour.hazard_base,low:0.002,high:0.008},"
          "{name:behaviour.beta_wait,low:0.1,high:0.8},"
          "{name:behaviour.info_delay_days,low:0,high:3}]")


def experiment(*overrides: str):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose("experiment/sensitivity", overrides=list(overrides))


def test_values_are_set_on_a_validated_copy():
    base = load_config(["population.scale=0.001"])
    names = ["behaviour.beta_wait", "behaviour.info_delay_days", "network.road_km_per_day"]
    cfg = with_values(base, names, np.array([0.7, 2.4, 650.0]))
    assert cfg.behaviour.beta_wait == 0.7
    assert cfg.behaviour.info_delay_days == 2 and isinstance(cfg.behaviour.info_delay_days, int)
    assert cfg.network.road_km_per_day == 650.0
    assert base.behaviour.beta_wait != 0.7  # the base is untouched
    with pytest.raises(ConfigError, match="beta_wait"):
        with_values(base, ["behaviour.beta_wait"], np.array([-1.0]))


@pytest.mark.parametrize(("params", "message"), [
    ("[{name:behaviour.nothing,low:0,high:1},{name:behaviour.beta_wait,low:0,high:1}]",
     "not a field"),
    ("[{name:behaviour.rumours,low:0,high:1},{name:behaviour.beta_wait,low:0,high:1}]",
     "not a number"),
    ("[{name:behaviour.beta_time,low:1,high:1},{name:behaviour.beta_wait,low:0,high:1}]",
     "below high"),
])
def test_bad_parameter_ranges_are_named(params, message):
    cfg = experiment(f"parameters={params}")
    with pytest.raises(ConfigError, match=message):
        parameters_from(cfg, load_config(["population.scale=0.001"]))


def test_the_strongest_parameters_on_any_outcome_are_chosen():
    morris = pd.DataFrame({
        "outcome": ["a", "a", "a", "b", "b", "b"],
        "parameter": ["x", "y", "z", "x", "y", "z"],
        "mu_star_normalised": [1.0, 0.1, 0.3, 0.2, 1.0, 0.1],
    })
    assert select_influential(morris, 2) == ["x", "y"]


def test_morris_then_sobol_end_to_end(tmp_path):
    cfg = experiment(
        "base_policy=open", "scale=0.001", 'model_overrides=["end=2022-10-10"]', "n_jobs=1",
        "progress=false", "morris.trajectories=2", "sobol.top=2", "sobol.n_base=4",
        "outcomes=[left_by_end,entered_KZ,mean_wait_days]", f"parameters={PARAMS}",
        "name=tiny", f"output_root={tmp_path}")
    folder = sensitivity(cfg)
    assert folder == tmp_path / "tiny"
    morris = pd.read_csv(folder / "morris.csv")
    assert len(morris) == 3 * 3  # parameters x outcomes
    assert {"mu", "mu_star", "sigma", "mu_star_conf", "mu_star_normalised"} <= set(morris)
    top = morris[morris.outcome == "left_by_end"].sort_values("mu_star").parameter.iloc[-1]
    assert top == "behaviour.hazard_base"  # the base hazard drives how many leave
    sobol = pd.read_csv(folder / "sobol.csv")
    assert sobol.parameter.nunique() == 2 and len(sobol) == 2 * 3
    assert len(pd.read_csv(folder / "samples_morris.csv")) == 2 * (3 + 1)
    assert len(pd.read_csv(folder / "samples_sobol.csv")) == 4 * (2 + 2)
    for name in ("morris.png", "sobol.png", "summary.md", "config.yaml"):
        assert (folder / name).exists(), name
    assert "Morris screening" in (folder / "summary.md").read_text()


def test_unknown_outcome_stops_before_any_run(tmp_path):
    cfg = experiment("outcomes=[left_by_end,happiness]", f"parameters={PARAMS}",
                     f"output_root={tmp_path}", "scale=0.001")
    with pytest.raises(ConfigError, match="happiness"):
        sensitivity(cfg)
    assert not list(tmp_path.iterdir())
