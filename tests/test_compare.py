"""Policy comparison: common random numbers, paired differences, and the report end to end."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

from analysis.comparison import (
    Job,
    Scenario,
    catalogue,
    comparison_table,
    run_job,
    scenarios_from,
    seeds_from,
)
from sim.config import load_config
from sim.errors import ConfigError
from sim.parallel import run_many
from sim.results import Outcome

ROOT = Path(__file__).resolve().parents[1]
SHORT = ["population.scale=0.001", "progress=false", "end=2022-10-10"]  # open policy only


def _job(name: str, seed: int, *overrides: str) -> Job:
    return Job(name, seed, load_config([*overrides, f"seed={seed}"]))


def test_same_policy_same_seed_identical_even_in_other_processes():
    jobs = [_job("open", 4, "policy=open", *SHORT) for _ in range(3)]
    here = run_job(jobs[0])
    there = run_many(run_job, jobs[1:], 2)
    for other in there:
        assert other["outcomes"] == here["outcomes"]
        for name, series in here["series"].items():
            np.testing.assert_array_equal(series, other["series"][name], err_msg=name)
    different_seed = run_job(_job("open", 5, "policy=open", *SHORT))
    assert different_seed["outcomes"] != here["outcomes"]


def test_policy_on_one_post_leaves_runs_identical_until_it_starts():
    """georgia_closes_lars = historical + closing Verkhny Lars from 26 Sep: with the same seed,
    every daily figure is the same up to 25 Sep and differs after."""
    base = ["population.scale=0.002", "progress=false"]
    hist = run_job(_job("historical", 3, "policy=historical", *base))
    lars = run_job(_job("georgia_closes_lars", 3, "policy=georgia_closes_lars", *base))
    dates = np.array(hist["dates"])
    before = dates < "2022-09-26"
    for name in ("departures", "stopped_at_border", "queued"):
        np.testing.assert_array_equal(hist["series"][name][before],
                                      lars["series"][name][before], err_msg=name)
    assert not np.array_equal(hist["series"]["departures"], lars["series"]["departures"])
    assert lars["destinations"]["GE"] < hist["destinations"]["GE"]


def test_paired_differences_use_the_same_seed():
    runs = pd.DataFrame({
        "scenario": ["base"] * 3 + ["more"] * 3,
        "seed": [1, 2, 3, 1, 2, 3],
        "x": [100.0, 200.0, 300.0, 110.0, 210.0, 310.0],
    })
    scenarios = [Scenario("base", "Base", ()), Scenario("more", "More", ())]
    table = comparison_table(runs, scenarios, "base", [Outcome("x", "X", "people")])
    more = table[table.scenario == "more"].iloc[0]
    assert more["median"] == 210.0
    # unpaired the spread would be +-200; paired by seed the effect is exactly +10
    assert more.diff_median == more.diff_p05 == more.diff_p95 == 10.0
    base = table[table.scenario == "base"].iloc[0]
    assert base.diff_median == base.diff_p05 == base.diff_p95 == 0.0


def test_scenarios_from_the_experiment_config():
    cfg = OmegaConf.create({"policies": "all", "variants": {
        "closes_23": ["policy=russia_closes", "policy.actions.0.start=2022-09-23"]},
        "baseline": "historical", "labels": {"open": "All open"}})
    scenarios = scenarios_from(cfg)
    assert [s.name for s in scenarios] == [*catalogue(), "closes_23"]
    assert scenarios[0].label == "All open" and scenarios[0].overrides == ("policy=open",)
    cfg.policies = ["open"]  # the baseline is added: every difference is taken from it
    assert [s.name for s in scenarios_from(cfg)] == ["historical", "open", "closes_23"]
    cfg.policies = "everything"
    with pytest.raises(ConfigError, match="policies"):
        scenarios_from(cfg)
    assert seeds_from(OmegaConf.create({"seeds": 3, "first_seed": 7})) == [7, 8, 9]
    assert seeds_from(OmegaConf.create({"seeds": [2, 5], "first_seed": 1})) == [2, 5]


def test_compare_policies_end_to_end(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "experiments.compare_policies", "policies=[historical,open]",
         "seeds=2", "scale=0.001", "n_jobs=1", "progress=true", "name=tiny",
         f"output_root={tmp_path}"],
        capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "policies x seeds" in proc.stderr  # progress over the sweep
    report = tmp_path / "tiny"
    assert [p.name for p in tmp_path.iterdir()] == ["tiny"]  # renamed into place, no leftovers
    table = pd.read_csv(report / "comparison.csv")
    assert set(table.scenario) == {"historical", "open"}
    required = {"left_by_2022_10_04", "left_by_end", "stopped_at_border", "refused_at_border",
                "mean_wait_days", "peak_wait_days", "still_queued_at_end", "entered_KZ"}
    assert required <= set(table.outcome)
    hist = table[table.scenario == "historical"]
    assert (hist[["diff_median", "diff_p05", "diff_p95"]] == 0).all().all()  # no NaN either
    assert (table.n_seeds[table.outcome == "left_by_end"] == 2).all()
    opened = table[(table.scenario == "open") & (table.outcome == "stopped_at_border")].iloc[0]
    assert opened["median"] == 0 and opened.diff_median < 0  # no draft offices when open
    runs = pd.read_csv(report / "runs.csv")
    assert len(runs) == 4 and set(runs.seed) == {1, 2}
    # the reported change is the median of the differences paired by seed
    paired = (runs[runs.scenario == "open"].set_index("seed")["left_by_end"]
              - runs[runs.scenario == "historical"].set_index("seed")["left_by_end"])
    left = table[(table.scenario == "open") & (table.outcome == "left_by_end")].iloc[0]
    assert left.diff_median == pytest.approx(paired.median())
    for plot in ("departures_per_day", "destinations", "stopped_at_border", "queue_waits",
                 "change_from_baseline"):
        assert (report / f"{plot}.png").stat().st_size > 10_000, plot
    summary = (report / "summary.md").read_text()
    assert "What happened in 2022" in summary and "| --- |" in summary


def test_unknown_policy_stops_before_any_run(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "experiments.compare_policies", "policies=[historical,nowhere]",
         "seeds=1", "scale=0.001", f"output_root={tmp_path}"],
        capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 2
    assert "nowhere" in proc.stdout + proc.stderr
    assert not list(tmp_path.iterdir())


def test_posterior_replicates_share_a_particle_across_policies(tmp_path):
    """With a posterior, seed i runs particle i under every policy (paired by parameters as
    well as random numbers), and the particle's values reach the model."""
    from analysis.comparison import build_jobs, posterior_draws

    posterior = tmp_path / "posterior.csv"
    pd.DataFrame({"hazard_base": [0.0003, 0.006], "capacity_KZ": [0.5, 2.0],
                  "persons_per_vehicle": [2.5, 3.0], "weight": [1.0, 1.0]}).to_csv(
        posterior, index=False)
    draws, columns = posterior_draws(posterior, "conf/calibration/parameters.yaml", 4, seed=1)
    assert dict(columns) == {"hazard_base": "behaviour.hazard_base",
                             "capacity_KZ": "network.capacity_factor_by_exit.KZ"}
    scenarios = [Scenario("open", "open", ("policy=open",)),
                 Scenario("slow", "slow queues", ("policy=open", "behaviour.beta_wait=2.0"))]
    jobs = build_jobs(scenarios, [1, 2, 3, 4], 0.001, SHORT[1:], draws, columns)
    by_seed: dict[int, list[Job]] = {}
    for job in jobs:
        by_seed.setdefault(job.seed, []).append(job)
    assert len(jobs) == 8 and {j.particle for j in jobs} == {0, 1}
    for pair in by_seed.values():
        assert {j.scenario for j in pair} == {"open", "slow"}
        assert len({j.particle for j in pair}) == 1  # the same particle under both policies
        hazard = pair[0].config.behaviour.hazard_base
        assert all(j.config.behaviour.hazard_base == hazard for j in pair)
        assert pair[0].config.network.capacity_factor_by_exit["KZ"] == (
            0.5 if hazard == 0.0003 else 2.0)
    low = next(j for j in jobs if j.scenario == "open" and j.config.behaviour.hazard_base < 1e-3)
    high = next(j for j in jobs if j.scenario == "open" and j.config.behaviour.hazard_base > 1e-3)
    assert run_job(low)["outcomes"]["left_by_end"] < run_job(high)["outcomes"]["left_by_end"]
