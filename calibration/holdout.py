"""The model's forecast skill on figures it was not fitted to (the command is
`python -m experiments.holdout [split_date=YYYY-MM-DD]`).

The `fit` rows of an observations file dated after `split_date` are held out; the calibration
(calibration/pipeline.py, same settings) is fitted to the rest, and its posterior ensemble is
scored on the held-out rows by calibration/evaluate.py. The calibrated model of conf/ is not
touched (`conf_dir=null`) and the evaluation uses the calibration's own base model, so nothing
fitted to the held-out rows leaks in. The held-out days include the fall after Finland's entry
ban of 30 September, which a model fitted to 21-26 September has to forecast.

Writes, under `out_dir`: train.csv, test.csv, calibration/ (the usual report), evaluation/
(evaluation.csv, unmapped.csv) and holdout.md with training and test scores side by side.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

import pandas as pd
from omegaconf import DictConfig

import calibration.config  # noqa: F401 - the schemas of the configs composed here
from calibration.evaluate import run_evaluation_ensemble, score
from calibration.observe import read_observations
from calibration.paths import project_path
from calibration.pipeline import calibrate
from calibration.scores import coverage_error_sd
from sim.atomic import atomic_write_text

log = logging.getLogger("holdout")


def split_observations(path: Path, split_date: dt.date, out_dir: Path) -> tuple[Path, Path]:
    """train.csv: every row except the `fit` rows dated after `split_date` (claims and context
    stay, they are never fitted); test.csv: those held-out `fit` rows. Same schema as `path`."""
    # parsed and checked first (nothing is written for a bad file); the rows are copied as read
    held_ids = {o.id for o in read_observations(path)
                if o.use == "fit" and o.date is not None and o.date > split_date}
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    held_out = raw["id"].str.strip().isin(held_ids)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = []
    for name, rows in (("train", raw[~held_out]), ("test", raw[held_out])):
        target = out_dir / f"{name}.csv"
        atomic_write_text(target, rows.to_csv(index=False))
        files.append(target)
    log.info("%d fit rows held out (dated after %s), %d kept for training", int(held_out.sum()),
             split_date, int(((raw["use"] == "fit") & ~held_out).sum()))
    return files[0], files[1]


def run_holdout(cfg: DictConfig) -> dict:
    from hydra import compose

    out_dir = project_path(cfg.out_dir)
    split_date = dt.date.fromisoformat(str(cfg.split_date))
    train, test = split_observations(project_path(cfg.observations), split_date, out_dir)
    calibration_dir = out_dir / "calibration"
    # the interval's extra error from the training residuals: the main calibration's value
    # comes from this test, and must not feed back into it
    cal_cfg = compose("calibrate", overrides=[
        "predict.model_error=residuals", *cfg.calibrate_overrides, f"observations={train}",
        f"out_dir={calibration_dir}", f"work_dir={project_path(cfg.work_dir)}",
        "conf_dir=null"])
    trained = calibrate(cal_cfg)
    model_overrides = "[" + ",".join(f"'{o}'" for o in cal_cfg.model_overrides) + "]"
    eval_cfg = compose("evaluate", overrides=[
        *cfg.evaluate_overrides, f"observations={test}",
        f"posterior={calibration_dir / 'posterior.csv'}",
        f"calibration_summary={calibration_dir / 'summary.json'}",
        f"model_overrides={model_overrides}"])
    eval_cfg.parameters = cal_cfg.parameters  # a variant's parameters too
    folder = out_dir / "evaluation"
    problem, sims, n_particles, seeds = run_evaluation_ensemble(eval_cfg, folder)
    if sims is None:
        raise ValueError(f"no held-out fit row of {test} could be mapped (see "
                         f"{folder / 'unmapped.csv'})")
    tested = score(eval_cfg, folder, problem, sims, n_particles, seeds)
    summary = {"split_date": split_date.isoformat(), "train": trained["fit"], "test": tested,
               "calibrate_overrides": list(cfg.calibrate_overrides),
               "error_sd_used": trained["model_error_sd"],
               "error_sd_for_90_on_held_out": coverage_error_sd(problem, sims)}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=1))
    _write_report(out_dir, summary)
    return summary


def _write_report(out_dir: Path, summary: dict) -> None:
    rows = []
    for label, s in (("training rows (fitted)", summary["train"]),
                     ("held-out rows (not fitted)", summary["test"])):
        rows.append(f"| {label} | {s['rows']} | {s['groups']:.0f} | "
                    f"{s['median_abs_log_ratio']:.3f} | {100 * s['share_inside']:.0f}% | "
                    f"{100 * s['share_inside_model_only']:.0f}% | {s['ard']:.3f} |")
    text = "\n".join([
        "# Out-of-sample test",
        "",
        f"Calibrated on the `fit` rows dated up to {summary['split_date']}, scored on those "
        "dated after it (`python -m experiments.holdout`; extra calibration settings: "
        f"{summary['calibrate_overrides'] or 'none'}).",
        "",
        "| scored on | rows | targets | median abs log ratio | inside 90% interval of a report | "
        "inside 90% interval of the model | ARD |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        *rows,
        "",
        f"The intervals of a report add a lognormal error of log-sd {summary['error_sd_used']:.3f}"
        " (estimated from the training residuals). The held-out rows would have needed "
        f"{summary['error_sd_for_90_on_held_out']:.2f} for 90% of them to fall inside "
        "(split-conformal calibration of the intervals; if it exceeds the main calibration's "
        "`predict.model_error`, raise that to it: docs/calibration.md).",
        "",
        "Per row: `evaluation/evaluation.csv`; the calibration's report: `calibration/report.md` "
        "(written next to this file by the command; git keeps only this summary).",
        ""])
    (out_dir / "holdout.md").write_text(text)
