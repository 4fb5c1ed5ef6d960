"""The calibration machinery: the ABC-SMC sampler on a problem with a known posterior, resuming,
the calibrated configuration files, and a tiny calibration and evaluation end to end."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

from calibration.abc import ReplenishmentABC
from calibration.calibrated_conf import write_calibrated_conf
from calibration.evaluate import evaluate
from calibration.parameters import Param, load_parameters
from calibration.paths import CONF_DIR
from calibration.pipeline import calibrate
from calibration.scores import weighted_median

ROOT = Path(__file__).resolve().parents[1]


# -- the sampler ------------------------------------------------------------------------------


def gaussian_problem(n_obs: int = 25, observed_mean: float = 1.0):
    """theta ~ U(-5, 5), y_i ~ N(theta, 1): the posterior of theta is ~N(ybar, 1/n)."""

    def simulate(values, seeds):
        return [np.random.default_rng(s).normal(v["theta"], 1.0, n_obs).mean()
                for v, s in zip(values, seeds, strict=True)]

    def distance(sims):
        return np.abs(np.asarray(sims) - observed_mean)

    return [Param("theta", "behaviour.theta", "uniform", -5.0, 5.0)], simulate, distance


def sampler(path: Path, **kw) -> ReplenishmentABC:
    params, simulate, distance = gaussian_problem()
    settings = dict(n=300, alpha=0.5, c=0.05, min_acceptance=0.0, mcmc_scale=None,
                    max_steps=20, seed=3) | kw
    return ReplenishmentABC(params, distance, simulate, path, **settings)


def test_abc_recovers_a_known_posterior(tmp_path):
    abc = sampler(tmp_path / "abc.npz")
    abc.run(max_generations=7, max_seconds=600, max_sims=10**6)
    theta = abc.posterior()["theta"]
    assert abc.eps < 0.05  # much narrower than the posterior (sd 0.2): ABC ~ exact
    assert theta.mean() == pytest.approx(1.0, abs=0.1)
    assert theta.std() == pytest.approx(1 / np.sqrt(25), rel=0.35)
    post = abc.posterior()
    assert len(post) == 300 and (post["distance"] <= abc.eps).all()  # every particle accepted


def test_abc_resumes_exactly_where_it_stopped(tmp_path):
    whole = sampler(tmp_path / "whole.npz")
    whole.run(max_generations=4, max_seconds=600, max_sims=10**6)
    first = sampler(tmp_path / "split.npz")
    first.run(max_generations=2, max_seconds=600, max_sims=10**6)
    again = sampler(tmp_path / "split.npz")  # a new process reading the checkpoint
    assert again.generation == 2
    again.run(max_generations=4, max_seconds=600, max_sims=10**6)
    assert np.array_equal(whole.z, again.z) and whole.sims == again.sims


def test_reflection_keeps_proposals_inside_the_prior(tmp_path):
    abc = sampler(tmp_path / "abc.npz")
    z = abc.reflect(np.array([[-5.5], [5.25], [0.0], [-16.0]]))
    assert np.allclose(z.ravel(), [-4.5, 4.75, 0.0, 4.0])


def test_reporting_error_widens_intervals_but_not_the_median():
    from calibration.scores import observation_draws

    runs = np.array([[100.0, 1e4], [200.0, 2e4], [150.0, 1.5e4]])
    assert observation_draws(runs, 0.0) is runs
    noisy = observation_draws(runs, 0.3, draws=400)
    assert noisy.shape == (1200, 2)
    assert np.median(noisy[:, 1]) == pytest.approx(1.5e4, rel=0.05)
    assert np.quantile(noisy[:, 1], 0.95) > runs[:, 1].max()


def test_parameters_and_transforms():
    params = load_parameters(OmegaConf.load(CONF_DIR / "parameters.yaml").parameters)
    names = {p.name for p in params}
    assert {"hazard_base", "capacity_factor", "normal_traffic_factor", "onward_rate_factor",
            "persons_per_vehicle"} <= names
    for p in params:
        assert p.from_unit(p.to_unit(p.low)) == pytest.approx(p.low)
        assert p.from_unit(p.to_unit(p.high)) == pytest.approx(p.high)
    hazard = next(p for p in params if p.name == "hazard_base")
    assert hazard.from_unit(0.5) == pytest.approx(np.sqrt(hazard.low * hazard.high))
    with pytest.raises(ValueError, match="bounds"):
        load_parameters({"x": {"path": "behaviour.x", "prior": "uniform", "low": 2, "high": 1}})


def test_calibrated_conf_inherits_the_defaults(tmp_path):
    conf = tmp_path / "conf"
    shutil.copytree(ROOT / "conf", conf)
    params = load_parameters(OmegaConf.load(CONF_DIR / "parameters.yaml").parameters)
    values = {p.name: p.from_unit(0.25) for p in params}
    write_calibrated_conf(conf, params, values, "test")
    text = (conf / "behaviour" / "calibrated.yaml").read_text()
    assert "defaults:\n  - default\n  - _self_" in text and "persons_per_vehicle" not in text
    from hydra import compose, initialize_config_dir

    from sim.config import to_sim_config

    with initialize_config_dir(config_dir=str(conf), version_base="1.3"):
        cfg = to_sim_config(compose("config", ["behaviour=calibrated", "network=calibrated"]))
    assert cfg.behaviour.hazard_base == pytest.approx(values["hazard_base"], rel=1e-5)
    assert cfg.network.capacity_factor == pytest.approx(values["capacity_factor"], rel=1e-5)
    assert cfg.behaviour.beta_draft == 6.0  # not calibrated: from default.yaml
    assert cfg.network.road_km_per_day == 700.0


def test_capacity_factors_by_exit_are_calibrated_and_written_as_a_mapping(tmp_path):
    """Per-country capacity factors: applied to the run's world, written under the network
    field with their keys quoted (a bare NO would be read as false)."""
    from calibration.problem import make_problem

    params = [Param("capacity_KZ", "network.capacity_factor_by_exit.KZ", "uniform", 0.3, 3.0),
              Param("capacity_NO", "network.capacity_factor_by_exit.NO", "uniform", 0.3, 3.0),
              Param("capacity_factor", "network.capacity_factor", "uniform", 0.5, 2.0)]
    problem = make_problem("sim/data/observations_2022.csv",
                           ["network=default", "behaviour=default"], params, 0.002, 31)
    cfg, world, _ = problem.values_config({"capacity_KZ": 0.5, "capacity_NO": 2.0,
                                           "capacity_factor": 0.8}, seed=1)
    country = np.array(world.country_ids)[world.gate_country]
    ratio = world.gate_capacity / problem.world.gate_capacity
    land = world.gate_mode == 0
    assert np.allclose(ratio[land & (country == "KZ")], 0.8 * 0.5)
    assert np.allclose(ratio[land & (country == "NO")], 0.8 * 2.0)
    assert np.allclose(ratio[land & ~np.isin(country, ["KZ", "NO"])], 0.8)
    assert cfg.network.capacity_factor_by_exit == {"KZ": 0.5, "NO": 2.0}
    assert problem.base.network.capacity_factor_by_exit == {}  # the base config is untouched

    conf = tmp_path / "conf"
    shutil.copytree(ROOT / "conf", conf)
    write_calibrated_conf(conf, params, {"capacity_KZ": 0.5, "capacity_NO": 2.0,
                                         "capacity_factor": 0.8}, "test")
    from hydra import compose, initialize_config_dir

    from sim.config import to_sim_config

    with initialize_config_dir(config_dir=str(conf), version_base="1.3"):
        written = to_sim_config(compose("config", ["network=calibrated"]))
    assert written.network.capacity_factor_by_exit == {"KZ": 0.5, "NO": 2.0}
    assert written.network.capacity_factor == pytest.approx(0.8)


def test_holdout_split_keeps_claims_and_holds_out_later_fit_rows(tmp_path):
    from calibration.holdout import split_observations

    path = tmp_path / "obs.csv"
    path.write_text(HAND_MADE)
    train, test = split_observations(path, dt.date(2022, 10, 2), tmp_path / "split")
    train_ids = list(pd.read_csv(train)["id"])
    test_ids = list(pd.read_csv(test)["id"])
    # fit rows dated after 2 Oct are held out; the claim h9 (4 Oct) is never fitted: it stays
    assert test_ids == ["h1", "h2", "h4", "h8", "h10"]
    assert train_ids == ["h3", "h5", "h6", "h7", "h9"]
    assert list(pd.read_csv(test).columns) == list(pd.read_csv(path).columns)


# -- end to end -------------------------------------------------------------------------------

TINY = ["scale=0.002", "n_workers=1", "abc.particles=12", "abc.generations=1",
        "abc.max_steps=2", "optimiser.max_evaluations=3", "optimiser.seeds=[1]",
        "predict.particles=3", "predict.seeds=1", "predict.scale=0.002", "log_every=1000"]


def calibration_config(tmp_path: Path, *overrides: str):
    cfg = OmegaConf.merge(OmegaConf.load(CONF_DIR / "parameters.yaml"),
                          OmegaConf.load(CONF_DIR / "calibrate.yaml"))
    for key in ("defaults", "hydra"):
        cfg.pop(key)
    return OmegaConf.merge(cfg, OmegaConf.from_dotlist([
        f"out_dir={tmp_path / 'out'}", f"work_dir={tmp_path / 'work'}",
        f"conf_dir={tmp_path / 'conf'}", *TINY, *overrides]))


HAND_MADE = """id,use,post_ids,date,period_start,destination,crossing,direction,kind,value
h1,fit,,2022-10-10,,Mongolia,all,entered_destination,daily,900
h2,fit,MN-01,2022-10-05,2022-09-25,Mongolia,Kyakhta,left_russia,period_total,30000
h3,fit,AIR-SVO,2022-09-28,,all (Russia total),Sheremetyevo,left_russia,daily,4000
h4,fit,,2022-10-20,2022-10-01,Belarus,all,net,period_total,5000
h5,fit,,2022-10-02,2022-09-22,Armenia,all,entered_destination,peak_daily,6000
h6,fit,KZ-01,2022-09-30,,Kazakhstan,Karaozek,left_russia,queue_vehicles,800
h7,fit,,2022-10-01,,Atlantis,all,entered_destination,daily,10
h8,fit,,2022-10-03,2022-09-30,Estonia,all land,both_directions,period_total,4000
h9,claim,,2022-10-04,2022-09-21,all (Russia total),all,left_russia,cumulative,700000
h10,fit,,2022-12-20,,Georgia,all,entered_destination,daily,5000
"""


@pytest.fixture(scope="module")
def tiny_calibration(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("calibration")
    shutil.copytree(ROOT / "conf", tmp / "conf")
    summary = calibrate(calibration_config(tmp))
    return tmp, summary


def test_tiny_calibration_end_to_end(tiny_calibration):
    tmp, summary = tiny_calibration
    out = tmp / "out"
    for name in ("posterior.csv", "targets.csv", "unmapped.csv", "departures.csv",
                 "report.md", "summary.json", "posteriors.png", "queue_verkhny_lars.png",
                 "fit_FI.png", "fit_GE.png", "fit_KZ.png", "fit_NO.png", "abc_generations.csv"):
        assert (out / name).exists(), name
    targets = pd.read_csv(out / "targets.csv")
    assert {"id", "observed", "simulated", "lower", "upper", "log_ratio"} <= set(targets.columns)
    assert (targets["lower"] <= targets["simulated"]).all()
    assert (targets["simulated"] <= targets["upper"]).all()
    assert len(pd.read_csv(out / "posterior.csv")) == 12
    # the configured point is what was written to conf/
    point = summary["point_estimate"]
    behaviour = OmegaConf.load(tmp / "conf" / "behaviour" / "calibrated.yaml")
    network = OmegaConf.load(tmp / "conf" / "network" / "calibrated.yaml")
    assert behaviour.hazard_base == pytest.approx(point["hazard_base"], rel=1e-5)
    kz = float(network.capacity_factor_by_exit.KZ)
    assert kz == pytest.approx(point["capacity_KZ"], rel=1e-5)
    # the headline share is the weighted share of fit targets inside their interval
    fit = targets[targets["use"] == "fit"]
    assert summary["fit"]["share_inside"] == pytest.approx(
        np.average(fit["inside"], weights=fit["weight"]))
    departures = pd.read_csv(out / "departures.csv")
    assert set(departures["by"]) == {"2022-09-24", "2022-10-04", "2022-11-30"}
    assert (departures["who"] == "people fleeing still abroad on that day").sum() == 1


def test_redrawn_report_keeps_the_calibrations_intervals(tiny_calibration):
    """`experiments.calibration_report` redraws every interval through the calibration's own
    predictive error: the tiny calibration draws with the structural discrepancy
    (predict.discrepancy), and a redraw that dropped it would narrow the intervals and lower
    the share inside them."""
    from calibration.report import redraw

    tmp, summary = tiny_calibration
    assert summary["discrepancy"]["base_sd"] > 0  # the path under test is the discrepancy's
    out = tmp / "out"
    before = pd.read_csv(out / "targets.csv")
    redraw([f"out_dir={out}", f"work_dir={tmp / 'work'}", *TINY])
    after = pd.read_csv(out / "targets.csv")
    for column in ("lower", "upper", "inside", "simulated"):
        np.testing.assert_allclose(after[column].to_numpy(float),
                                   before[column].to_numpy(float), rtol=1e-5)
    redrawn = json.loads((out / "summary.json").read_text())
    assert redrawn["fit"] == pytest.approx(summary["fit"])
    report = (out / "report.md").read_text()
    assert "structural discrepancy" in report and "log-sd 0.000" not in report


def test_calibration_resumes_from_its_checkpoints(tiny_calibration, caplog):
    tmp, summary = tiny_calibration
    before = pd.read_csv(tmp / "out" / "posterior.csv")
    with caplog.at_level("INFO", logger="calibrate"):
        again = calibrate(calibration_config(tmp))
    assert "resuming at generation 1" in caplog.text
    pd.testing.assert_frame_equal(before, pd.read_csv(tmp / "out" / "posterior.csv"))
    assert again["point_estimate"] == summary["point_estimate"]


def test_evaluate_scores_any_observations_file(tiny_calibration, tmp_path, capsys):
    calibrated, _ = tiny_calibration
    path = tmp_path / "hand_made.csv"
    path.write_text(HAND_MADE)
    cfg = OmegaConf.merge(OmegaConf.load(CONF_DIR / "parameters.yaml"),
                          OmegaConf.load(CONF_DIR / "evaluate.yaml"))
    for key in ("defaults", "hydra"):
        cfg.pop(key)
    cfg = OmegaConf.merge(cfg, OmegaConf.from_dotlist([
        f"observations={path}", f"posterior={calibrated / 'out' / 'posterior.csv'}",
        "particles=2", "seeds=2", "scale=0.002", "n_workers=1", "model_error=0.3",
        "model_overrides=[network=default,behaviour=default]"]))
    summary = evaluate(cfg, tmp_path / "run")
    table = pd.read_csv(tmp_path / "run" / "evaluation.csv")
    assert list(table.columns[:6]) == ["id", "observed", "simulated", "lower", "upper",
                                       "log_ratio"]
    assert set(table["id"]) == {"h1", "h2", "h3", "h4", "h5", "h6", "h8"}
    assert summary["rows"] == 7
    printed = capsys.readouterr().out
    assert "median |log ratio|" in printed and "ARD" in printed
    assert (table["lower"] <= table["model_lower"] + 1e-9).all()
    assert "h7: destination 'Atlantis'" in printed and "h10: date 2022-12-20" in printed
    unmapped = pd.read_csv(tmp_path / "run" / "unmapped.csv")
    assert set(unmapped["id"]) == {"h7", "h9", "h10"}


def test_evaluate_command_writes_into_the_hydra_run_folder(tiny_calibration, tmp_path):
    calibrated, _ = tiny_calibration
    path = tmp_path / "hand_made.csv"
    path.write_text(HAND_MADE)
    proc = subprocess.run(
        [sys.executable, "-m", "experiments.evaluate", f"observations={path}",
         f"posterior={calibrated / 'out' / 'posterior.csv'}", "particles=2", "seeds=1",
         "model_error=0",
         "scale=0.002", "n_workers=1", f"hydra.run.dir={tmp_path / 'run'}"],
        capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "run" / "evaluation.csv").exists()
    assert "inside the 90% interval" in proc.stdout


def test_evaluate_command_reports_a_bad_file(tmp_path):
    """strict=true stops on a malformed fit row and names it; the default lists it among the
    rows not scored, with its problem, and scores the rest."""
    path = tmp_path / "bad.csv"
    path.write_text(HAND_MADE.replace("2022-10-10", "10/10/2022"))
    base = [sys.executable, "-m", "experiments.evaluate", f"observations={path}",
            "particles=2", "seeds=1", "scale=0.002", "n_workers=1"]
    proc = subprocess.run([*base, "strict=true", f"hydra.run.dir={tmp_path / 'strict'}"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 2
    assert "row 1 (id 'h1'), field 'date'" in proc.stdout + proc.stderr
    assert not (tmp_path / "strict" / "evaluation.csv").exists()
    proc = subprocess.run([*base, f"hydra.run.dir={tmp_path / 'lenient'}"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "h1: malformed row" in proc.stdout and "10/10/2022" in proc.stdout
    scored = pd.read_csv(tmp_path / "lenient" / "evaluation.csv")
    assert "h1" not in set(scored["id"]) and "h2" in set(scored["id"])


def test_a_misspelt_parameter_path_is_named():
    from calibration.problem import make_problem

    params = [Param("typo", "behaviour.hazard_bsae", "uniform", 0.1, 1.0)]
    with pytest.raises(ValueError, match=r"parameters\.typo\.path.*hazard_bsae"):
        make_problem("sim/data/observations_2022.csv", ["network=default"], params, 0.002)


def test_a_list_element_is_calibrated_and_written_with_the_other_elements(tmp_path):
    from hydra import compose, initialize_config_dir

    from calibration.problem import make_problem
    from sim.config import to_sim_config

    params = [Param("documents_internal", "behaviour.documents_multiplier.0", "uniform", 0.1, 2)]
    problem = make_problem("sim/data/observations_2022.csv", ["behaviour=default"], params,
                           0.002)
    default = list(problem.base.behaviour.documents_multiplier)
    cfg, _, _ = problem.values_config({"documents_internal": 0.25}, seed=1)
    assert cfg.behaviour.documents_multiplier == [0.25, *default[1:]]
    assert problem.base.behaviour.documents_multiplier == default

    conf = tmp_path / "conf"
    shutil.copytree(ROOT / "conf", conf)
    write_calibrated_conf(conf, params, {"documents_internal": 0.25}, "test", problem.base)
    with initialize_config_dir(config_dir=str(conf), version_base="1.3"):
        written = to_sim_config(compose("config", ["behaviour=calibrated"]))
    assert written.behaviour.documents_multiplier == [0.25, *default[1:]]


def test_pooled_posteriors_give_every_chain_an_equal_share():
    """Chains of different sizes and weight scales: each contributes 1 / chains of the weight,
    in the proportions it had."""
    from calibration.holdout import pool_posteriors

    first = pd.DataFrame({"a": [1.0, 2.0, 3.0], "weight": [1.0, 1.0, 2.0]})
    second = pd.DataFrame({"a": [4.0], "weight": [7.0]})
    pooled = pool_posteriors([first, second], [11, 12])
    assert pooled["weight"].tolist() == pytest.approx([0.125, 0.125, 0.25, 0.5])
    assert pooled["chain"].tolist() == [11, 11, 11, 12]
    assert pooled["a"].tolist() == [1.0, 2.0, 3.0, 4.0]


@pytest.mark.parametrize(("setting", "message"), [
    ("chains=[5,5]", "chains: [5, 5] repeats a seed"),
    ("split_date=30.09.2022", "split_date: '30.09.2022' is not a date"),
])
def test_holdout_rejects_bad_settings_before_writing(tmp_path, setting, message):
    proc = subprocess.run(
        [sys.executable, "-m", "experiments.holdout", f"out_dir={tmp_path / 'out'}",
         f"work_dir={tmp_path / 'work'}", setting],
        capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 2
    assert message in proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("chains", [[], [1, 2]])
def test_holdout_command_end_to_end(tmp_path, chains):
    """Rolling origins: calibrate on the rows up to each origin (one calibration, or two ABC
    chains pooled), forecast the later ones with intervals whose discrepancy comes from the
    earlier origins only; the report gives the split's scores by destination and horizon and
    the rolling-origin table."""
    tiny = ",".join(f"'{o}'" for o in TINY)
    calibrated = [ROOT / "conf" / g / "calibrated.yaml" for g in ("behaviour", "network")]
    before = [p.read_text() for p in calibrated]
    proc = subprocess.run(
        [sys.executable, "-m", "experiments.holdout", "split_date=2022-09-28",
         "origins=['2022-09-26']", f"out_dir={tmp_path / 'out'}",
         f"work_dir={tmp_path / 'work'}", f"calibrate_overrides=[{tiny}]",
         "evaluate_overrides=['particles=2','seeds=1','scale=0.002','n_workers=1']",
         f"chains=[{','.join(map(str, chains))}]"],
        capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = tmp_path / "out"
    for origin in ("2022-09-26", "2022-09-28"):
        folder = out / f"origin_{origin}"
        test = pd.read_csv(folder / "test.csv")
        assert (test["use"] == "fit").all() and (test["date"] > origin).all()
        scored = pd.read_csv(folder / "evaluation" / "evaluation.csv")
        assert set(scored["id"]) <= set(test["id"]) and len(scored) >= 15
        assert {"horizon_days", "inside_50", "wis_log", "crps_log"} <= set(scored.columns)
        assert (scored["horizon_days"] >= 1).all()
        assert (scored["lower_50"] >= scored["lower"] - 1e-6).all()
        assert (scored["upper_50"] <= scored["upper"] + 1e-6).all()
        calibrations = [folder / "calibration" / f"chain_{c}" for c in chains]
        if chains:  # independent calibrations, pooled with equal shares of the weight
            pooled = pd.read_csv(folder / "calibration" / "posterior.csv")
            parts = [pd.read_csv(c / "posterior.csv") for c in calibrations]
            assert len(pooled) == sum(len(p) for p in parts)
            assert pooled.groupby("chain")["weight"].sum().to_numpy() == pytest.approx(
                [1 / len(chains)] * len(chains))
        for calibration_dir in calibrations or [folder / "calibration"]:
            trained_on = pd.read_csv(calibration_dir / "targets.csv")
            assert not set(trained_on["id"]) & set(scored["id"])
    summary = json.loads((out / "summary.json").read_text())
    assert summary["chains"] == chains
    # each pooled chain is also scored alone at the split, and the report shows the spread
    assert [e["chain"] for e in summary["chain_errors"]] == (chains if len(chains) > 1 else [])
    assert all(np.isfinite(e["median_abs_log_ratio"]) for e in summary["chain_errors"])
    assert ("Each chain alone" in (out / "holdout.md").read_text()) == (len(chains) > 1)
    for e in summary["chain_errors"]:  # scored like the pooled forecast, row by row
        rows = pd.read_csv(out / "origin_2022-09-28" / "evaluation" / f"chain_{e['chain']}" /
                           "evaluation.csv")
        assert {"horizon_days", "inside_50", "wis_log"} <= set(rows.columns)
        # evaluation.csv holds six significant figures (its weights too): up to ~5e-7 apart
        assert weighted_median(np.abs(rows["log_ratio"].to_numpy()), rows["weight"].to_numpy()
                               ) == pytest.approx(e["median_abs_log_ratio"], abs=1e-6)
    second = summary["rolling_origins"][1]
    assert "origins 2022-09-26" in json.dumps(summary) and second["origin"] == "2022-09-28"
    assert json.loads((out / "discrepancy.json").read_text())["base_sd"] >= 0
    report = (out / "holdout.md").read_text()
    assert "By destination" in report and "By horizon" in report and "Rolling origins" in report
    assert [p.read_text() for p in calibrated] == before  # conf/ is not touched (conf_dir=null)


def test_optuna_study_lives_in_its_storage_and_resumes(tmp_path):
    """The optuna optimiser keeps its study in the storage URL: a second run with a larger
    budget continues the same study instead of starting a new one."""
    optuna = pytest.importorskip("optuna")
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    settings = ["abc.enabled=false", "optimiser.name=optuna", f"optimiser.optuna.storage={storage}",
                "optimiser.optuna.study_name=t", "predict.particles=1"]
    calibrate(calibration_config(tmp_path, *settings, "optimiser.optuna.n_trials=3"))
    study = optuna.load_study(study_name="t", storage=storage)
    assert len(study.trials) == 3
    first = [t.params for t in study.trials]
    calibrate(calibration_config(tmp_path, *settings, "optimiser.optuna.n_trials=5"))
    study = optuna.load_study(study_name="t", storage=storage)
    assert len(study.trials) == 5
    assert [t.params for t in study.trials[:3]] == first  # the same study, continued
