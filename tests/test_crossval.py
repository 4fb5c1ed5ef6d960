"""Cross-validation over destinations: the folds (a fold drops its destination's rows and every
aggregate row containing it), and the command end to end on a tiny setting."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from calibration.crossval import OTHERS, destination_groups, split_by_destination
from calibration.observe import Geography, read_observations

ROOT = Path(__file__).resolve().parents[1]
GEO = Geography(gate_ids=["AA-01", "BB-01", "CC-01"], gate_site=["AA-01", "BB-01", "CC-01"],
                gate_is_air=np.array([False, False, False]), gate_country=np.array([0, 1, 2]),
                country_ids=["AA", "BB", "CC", "RU"],
                country_names=["Alphaland", "Betaland", "Gammaland", "Russia"],
                return_country=3)
HEADER = "id,use,post_ids,date,period_start,destination,direction,kind,value\n"
ROWS = [
    "a1,fit,,2022-09-25,,Alphaland,entered_destination,daily,100",
    "a2,fit,AA-01,2022-09-26,,AA,entered_destination,daily,120",
    "b1,fit,,2022-09-25,,Betaland,entered_destination,daily,50",
    "ab,fit,,2022-09-26,2022-09-21,Alphaland+Betaland,entered_destination,period_total,900",
    "bc,fit,,2022-09-26,2022-09-21,Betaland+Gammaland,entered_destination,period_total,700",
    "all,claim,,2022-10-04,2022-09-21,all (Russia total),left_russia,cumulative,700000",
    "eu,context,,2022-10-04,2022-09-21,EU (all land borders),entered_destination,daily,5",
    "a3,claim,,2022-09-30,2022-09-21,Alphaland,entered_destination,period_total,800",
    "c1,fit,,2022-09-25,,Gammaland,entered_destination,daily,30",
]


def test_a_destination_fold_drops_its_rows_and_every_aggregate_containing_it(tmp_path):
    path = tmp_path / "obs.csv"
    path.write_text(HEADER + "\n".join(ROWS) + "\n")
    train, test = split_by_destination(path, ["AA"], GEO, tmp_path / "fold")
    trained = {o.id for o in read_observations(train)}
    tested = {o.id for o in read_observations(test)}
    # its own fit rows are the test; its claim, the aggregates with it, all of Russia and a
    # destination the model cannot resolve (it may contain it) are in neither
    assert tested == {"a1", "a2"}
    assert trained == {"b1", "bc", "c1"}
    # the held-out country appears nowhere in training, not even inside an aggregate
    assert not any("Alpha" in o.destination or o.destination.startswith("all")
                   for o in read_observations(train))


def test_folds_are_the_destinations_with_enough_rows_and_the_rest_together():
    counts = {"FI": 34, "GE": 29, "KZ": 24, "NO": 5, "LV": 2, "TR": 2, "EE": 1}
    groups = destination_groups(counts, 3, pool_small=True)
    assert list(groups) == ["FI", "GE", "KZ", "NO", OTHERS]
    assert groups[OTHERS] == ("EE", "LV", "TR")
    assert OTHERS not in destination_groups(counts, 3, pool_small=False)


TINY = ["scale=0.002", "abc.particles=12", "abc.generations=1", "abc.max_steps=2",
        "optimiser.name=none", "predict.particles=3", "predict.seeds=1", "predict.scale=0.002",
        "log_every=1000"]


def test_crossval_command_end_to_end(tmp_path):
    """Two folds, run in parallel: each calibrated without its destination's rows and scored
    on them; the tables per destination and overall are written."""
    tiny = ",".join(f"'{o}'" for o in TINY)
    calibrated = [ROOT / "conf" / g / "calibrated.yaml" for g in ("behaviour", "network")]
    before = [p.read_text() for p in calibrated]
    command = [sys.executable, "-m", "experiments.crossval", f"out_dir={tmp_path / 'out'}",
               f"work_dir={tmp_path / 'work'}", f"calibrate_overrides=[{tiny}]",
               "evaluate_overrides=['particles=2','seeds=1','scale=0.002']",
               "folds=[destination_NO,destination_others]", "n_workers=2"]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = tmp_path / "out"
    for fold, countries in (("destination_NO", {"Norway"}),
                            ("destination_others", {"Estonia", "Latvia", "Israel"})):
        test = pd.read_csv(out / fold / "test.csv")
        train = pd.read_csv(out / fold / "train.csv")
        assert (test["use"] == "fit").all() and set(test["destination"]) <= countries
        assert not set(train["destination"]) & countries
        assert not train["destination"].str.startswith("all").any()
        trained_on = pd.read_csv(out / fold / "calibration" / "targets.csv")
        assert not set(trained_on["destination"]) & countries
        scored = pd.read_csv(out / fold / "evaluation" / "evaluation.csv")
        assert set(scored["id"]) <= set(test["id"]) and len(scored) >= 3
        assert not set(scored["id"]) & set(trained_on["id"])
        assert {"inside", "inside_50", "wis_log", "log_ratio"} <= set(scored.columns)
    rows = pd.read_csv(out / "crossval.csv")
    assert set(rows["fold"]) == {"destination_NO", "destination_others"}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["overall"]["rows"] == len(rows)
    assert {r["country"] for r in summary["by_country"]} == set(rows["country"])
    assert "NO" in set(rows["country"])
    report = (out / "crossval.md").read_text()
    assert "| NO |" in report and "| all |" in report
    assert [p.read_text() for p in calibrated] == before  # conf/ is not touched
    # each fold's intervals carry the other fold's out-of-fold error; all of it is written
    # for the calibration on every row
    unfitted = json.loads((out / "destination_discrepancy.json").read_text())
    assert unfitted["unfitted_sd"] >= 0.0
    assert "destination_NO" in unfitted["unfitted_fitted_on"]
    assert (rows["error_sd"] >= rows["unfitted_sd"] - 1e-9).all()
    # scored again from the folds' calibrations, without calibrating
    posterior = out / "destination_NO" / "calibration" / "posterior.csv"
    stamp = posterior.stat().st_mtime_ns
    proc = subprocess.run([*command, "rescore=true"], capture_output=True, text=True,
                          timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert posterior.stat().st_mtime_ns == stamp
    assert len(pd.read_csv(out / "crossval.csv")) == len(rows)


def test_crossval_by_time_runs_the_rolling_origins(tmp_path):
    """by=time: each origin calibrated on the rows up to it; the later origin's intervals carry
    the discrepancy fitted to the earlier origin's forecasts."""
    tiny = ",".join(f"'{o}'" for o in TINY)
    proc = subprocess.run(
        [sys.executable, "-m", "experiments.crossval", "by=time",
         "origins=['2022-09-28','2022-09-30']", f"out_dir={tmp_path / 'out'}",
         f"work_dir={tmp_path / 'work'}", f"calibrate_overrides=[{tiny}]",
         "evaluate_overrides=['particles=2','seeds=1','scale=0.002']", "n_workers=2"],
        capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = pd.read_csv(tmp_path / "out" / "crossval.csv")
    for origin in ("2022-09-28", "2022-09-30"):
        fold = rows[rows["fold"] == f"origin_{origin}"]
        assert len(fold) >= 10 and (fold["date"] > origin).all()
        trained = pd.read_csv(tmp_path / "out" / f"origin_{origin}" / "calibration" /
                              "targets.csv")
        assert (trained.loc[trained["use"] == "fit", "date"] <= origin).all()
    first = rows[rows["fold"] == "origin_2022-09-28"]["discrepancy_base_sd"].iloc[0]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["folds"][0]["model_error_sd"] == pytest.approx(first, rel=1e-4)
    assert "Cross-validation by time" in (tmp_path / "out" / "crossval.md").read_text()


@pytest.mark.parametrize(("setting", "message"), [
    ("by=space", "by: 'space' is not one of"),
    ("folds=[destination_XX]", "folds: ['destination_XX'] are not folds"),
])
def test_crossval_rejects_bad_settings_before_writing(tmp_path, setting, message):
    proc = subprocess.run(
        [sys.executable, "-m", "experiments.crossval", f"out_dir={tmp_path / 'out'}",
         f"work_dir={tmp_path / 'work'}", setting],
        capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert message in proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()
