"""The model's forecast skill on figures it was not fitted to, from rolling origins (the command
is `python -m experiments.holdout [split_date=YYYY-MM-DD] [out_dir=DIR] [work_dir=DIR]`).

For each origin (`origins`, and `split_date` itself), the `fit` rows of the observations file
dated after it are held out, the calibration (calibration/pipeline.py, same settings) is
fitted to the rest, and its posterior ensemble forecasts every held-out row. The calibrated
model of conf/ is never touched (`conf_dir=null`) and the forecasts use each calibration's own
base model, so nothing fitted to the held-out rows leaks in.

The intervals carry the model's structural error (calibration/forecast.py): a discrepancy
whose variance grows with the horizon, fitted to what was known at the forecast's origin, i.e.
to the earlier origins' forecasts of rows dated up to this origin. The first origin has no
earlier one: its intervals take the training residuals' error. The discrepancy fitted to every
origin's forecasts of every later row is written as `discrepancy.json`, for the calibration on
all rows (`predict.discrepancy`).

Writes, under `out_dir`: origin_<date>/ (train.csv, test.csv, calibration/, evaluation/
evaluation.csv per origin), holdout.md (the split's scores per country and horizon, the
rolling-origin table), summary.json and discrepancy.json. With `chains` of two seeds or more, each
origin's posteriors are pooled, and each chain is also scored alone at the split (its
evaluation in evaluation/chain_<seed>/, its median in holdout.md): one chain's score is a draw.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import DictConfig

import calibration.config  # noqa: F401 - the schemas of the configs composed here
from calibration.evaluate import run_evaluation_ensemble, score
from calibration.forecast import (
    Discrepancy,
    PredictiveError,
    horizon_bin,
    horizon_days,
    log1p_signed,
    markdown_table,
    model_log_sd,
    summarise,
)
from calibration.observe import read_observations
from calibration.paths import project_path
from calibration.pipeline import calibrate
from sim.atomic import atomic_write_text
from sim.errors import InputError

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


class OriginForecast:
    """One origin: the calibration on the rows up to it and its ensemble's forecast of every
    later fit row (model units, [runs, targets])."""

    def __init__(self, origin: dt.date, cfg: DictConfig) -> None:
        from hydra import compose

        self.origin = origin
        self.folder = project_path(cfg.out_dir) / f"origin_{origin.isoformat()}"
        work = project_path(cfg.work_dir) / f"origin_{origin.isoformat()}"
        train, test = split_observations(project_path(cfg.observations), origin, self.folder)
        calibration_dir = self.folder / "calibration"
        settings = ["predict.model_error=residuals", "predict.discrepancy=null",
                    *cfg.calibrate_overrides, f"observations={train}", "conf_dir=null"]
        self.cal_cfg = compose("calibrate", overrides=[
            *settings, f"out_dir={calibration_dir}", f"work_dir={work}"])
        if cfg.chains:
            self.trained = calibrate_chains(settings, list(cfg.chains), calibration_dir, work)
        else:
            self.trained = calibrate(self.cal_cfg)
        model_overrides = "[" + ",".join(f"'{o}'" for o in self.cal_cfg.model_overrides) + "]"
        self.eval_cfg = compose("evaluate", overrides=[
            *cfg.evaluate_overrides, f"observations={test}",
            f"posterior={calibration_dir / 'posterior.csv'}",
            f"calibration_summary={calibration_dir / 'summary.json'}",
            "destination_discrepancy=null",
            f"model_overrides={model_overrides}"])
        self.eval_cfg.parameters = self.cal_cfg.parameters  # a variant's parameters too
        self.eval_folder = self.folder / "evaluation"
        problem, sims, self.n_particles, self.seeds = run_evaluation_ensemble(
            self.eval_cfg, self.eval_folder)
        if sims is None:
            raise ValueError(f"no held-out fit row after {origin} could be mapped (see "
                             f"{self.eval_folder / 'unmapped.csv'})")
        self.problem, self.sims = problem, sims
        self.dates = [t.obs.date for t in problem.targets]
        self.weights = np.array([t.weight for t in problem.targets])
        observed = np.array([t.obs.value for t in problem.targets], dtype=float)
        self.residuals = np.log1p(observed) - log1p_signed(np.median(sims, axis=0))
        self.model_sd = model_log_sd(sims)
        self.horizons = horizon_days(self.dates, origin)

    def rows_up_to(self, last: dt.date | None) -> np.ndarray:
        return np.array([last is None or (d is not None and d <= last) for d in self.dates])

    def chain_errors(self, seeds: list[int], discrepancy: Discrepancy) -> list[dict]:
        """Each ABC chain's own forecast (its posterior alone, the same ensemble settings and
        discrepancy), scored like the pooled one into evaluation/chain_<seed>/evaluation.csv:
        its median |log ratio| on the held-out rows shows how far one chain's draw strays."""
        errors = []
        for seed in seeds:
            chain_cfg = copy.deepcopy(self.eval_cfg)
            chain_cfg.posterior = str(self.folder / "calibration" / f"chain_{seed}" /
                                      "posterior.csv")
            folder = self.folder / "evaluation" / f"chain_{seed}"
            problem, sims, n_particles, run_seeds = run_evaluation_ensemble(chain_cfg, folder)
            scored = score(chain_cfg, folder, problem, sims, n_particles, run_seeds,
                           error=PredictiveError(0.0, discrepancy, self.origin))
            errors.append({"chain": seed, "median_abs_log_ratio": scored["median_abs_log_ratio"]})
        return errors


def calibrate_chains(settings: list[str], seeds: list[int], calibration_dir: Path,
                     work: Path) -> dict:
    """Independent calibrations (ABC seeds `seeds`, each in calibration_dir/chain_<seed>) whose
    posteriors are pooled into calibration_dir/posterior.csv, every chain with an equal share
    of the weight. Returns their summaries' training fit and model error, averaged."""
    from hydra import compose

    summaries, posteriors = [], []
    for seed in seeds:
        chain_cfg = compose("calibrate", overrides=[
            *settings, f"abc.seed={seed}", f"out_dir={calibration_dir / f'chain_{seed}'}",
            f"work_dir={work / f'chain_{seed}'}"])
        summaries.append(calibrate(chain_cfg))
        posteriors.append(pd.read_csv(calibration_dir / f"chain_{seed}" / "posterior.csv"))
    pooled = pool_posteriors(posteriors, seeds)
    calibration_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(calibration_dir / "posterior.csv",
                      pooled.to_csv(index=False, float_format="%.12g"))
    fit = {k: float(np.mean([s["fit"][k] for s in summaries])) for k in summaries[0]["fit"]}
    trained = {"fit": fit, "chains": seeds,
               "model_error_sd": float(np.mean([s["model_error_sd"] for s in summaries])),
               "chain_fits": [s["fit"] for s in summaries]}
    atomic_write_text(calibration_dir / "summary.json",
                      json.dumps(trained, indent=1, default=str))
    return trained


def pool_posteriors(posteriors: list[pd.DataFrame], seeds: list[int]) -> pd.DataFrame:
    """One weighted sample from several: each chain's weights rescaled to sum to 1 / chains,
    and a `chain` column naming its ABC seed."""
    parts = []
    for seed, post in zip(seeds, posteriors, strict=True):
        weight = post["weight"].to_numpy(float)
        parts.append(post.assign(weight=weight / weight.sum() / len(posteriors), chain=seed))
    return pd.concat(parts, ignore_index=True)


def fit_discrepancy(earlier: list[OriginForecast], known_by: dt.date | None) -> Discrepancy:
    """The discrepancy from the earlier origins' forecasts of rows dated up to `known_by`
    (None: every row)."""
    parts = [(f.residuals[m], f.model_sd[m], f.horizons[m], f.weights[m])
             for f in earlier for m in [f.rows_up_to(known_by)] if m.any()]
    if not parts:
        return Discrepancy()
    r, sd, h, w = (np.concatenate(x) for x in zip(*parts, strict=True))
    label = (f"origins {', '.join(f.origin.isoformat() for f in earlier)}; "
             f"{len(r)} forecasts of rows dated up to {known_by or 'the last row'}")
    return Discrepancy.fit(r, sd, h, w, fitted_on=label)


def _iso_date(value: object, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise InputError(f"{field}: {value!r} is not a date (YYYY-MM-DD)") from None


def run_holdout(cfg: DictConfig) -> dict:
    chains = [int(c) for c in cfg.chains]
    if len(set(chains)) != len(chains):  # before any calibration writes its folder
        raise InputError(f"chains: {chains} repeats a seed; each chain needs its own (a repeated "
                         "seed would overwrite its folder and count one chain twice)")
    split = _iso_date(cfg.split_date, "split_date")
    dates = [_iso_date(o, "origins") for o in cfg.origins]
    origins = sorted({*(d for d in dates if d < split), split})
    out_dir = project_path(cfg.out_dir)
    forecasts = [OriginForecast(o, cfg) for o in origins]
    rolling, tables = [], {}
    for i, f in enumerate(forecasts):
        earlier = forecasts[:i]
        if earlier:
            disc = fit_discrepancy(earlier, f.origin)
        else:  # no forecast to learn from yet: the training residuals' error, not growing
            disc = Discrepancy(base_sd=float(f.trained["model_error_sd"]),
                               fitted_on="training residuals (first origin)")
        tested = score(f.eval_cfg, f.eval_folder, f.problem, f.sims, f.n_particles, f.seeds,
                       error=PredictiveError(0.0, disc, f.origin))
        table = pd.read_csv(f.eval_folder / "evaluation.csv", dtype={"post_ids": str})
        table["use"] = "fit"
        table["horizon"] = table["horizon_days"].map(horizon_bin)
        tables[f.origin] = table
        row = summarise(table).iloc[0].to_dict()
        rolling.append({"origin": f.origin.isoformat(),
                        "training_rows": f.trained["fit"]["rows"], **row,
                        "discrepancy_base_sd": disc.base_sd,
                        "discrepancy_growth_per_day": disc.growth_per_day,
                        "discrepancy_growth_mle": disc.growth_mle_per_day,
                        "test_summary": tested})
    split_disc = disc  # the loop's last origin is the split
    chain_errors = forecasts[-1].chain_errors(chains, split_disc) if len(chains) > 1 else []
    final = fit_discrepancy(forecasts, None)
    final.to_json(out_dir / "discrepancy.json")
    split_table = tables[split]
    summary = {
        "split_date": split.isoformat(),
        "origins": [o.isoformat() for o in origins],
        "train": forecasts[-1].trained["fit"],
        "test": rolling[-1]["test_summary"],
        "rolling_origins": [{k: v for k, v in r.items() if k != "test_summary"}
                            for r in rolling],
        "by_country": summarise(split_table, "destination").to_dict(orient="records"),
        "by_horizon": summarise(split_table, "horizon").to_dict(orient="records"),
        "discrepancy_all_origins": final.__dict__,
        "calibrate_overrides": list(cfg.calibrate_overrides),
        "chains": chains,
        "chain_errors": chain_errors,
    }
    atomic_write_text(out_dir / "summary.json", json.dumps(summary, indent=1, default=str))
    _write_report(out_dir, summary, split_table)
    return summary


def _write_report(out_dir: Path, summary: dict, split_table: pd.DataFrame) -> None:
    split = summary["split_date"]
    test = summary["test"]
    rolling = pd.DataFrame(summary["rolling_origins"])[
        ["origin", "training_rows", "rows", "median_abs_log_ratio", "coverage_50",
         "coverage_90", "width_90_log", "wis_log", "discrepancy_base_sd",
         "discrepancy_growth_per_day", "discrepancy_growth_mle"]]
    for col in ("discrepancy_growth_per_day", "discrepancy_growth_mle"):
        rolling[col] = rolling[col].map(lambda v: f"{v:.4f}")
    cols = ["rows", "targets", "median_abs_log_ratio", "coverage_50", "coverage_90",
            "width_90_log", "wis_log", "crps_log"]
    by_country = summarise(split_table, "destination")[["destination", *cols]]
    by_horizon = summarise(split_table, "horizon")[["horizon", *cols]]
    disc = summary["discrepancy_all_origins"]
    chains = (f"; the posteriors of {len(summary['chains'])} ABC chains pooled, seeds "
              f"{summary['chains']}" if summary.get("chains") else "")
    text = "\n".join([
        "# Forecast test: rolling origins",
        "",
        f"`python -m experiments.holdout split_date={split}` (extra calibration settings: "
        f"{summary['calibrate_overrides'] or 'none'}{chains}). Each origin: calibrated on the "
        "`fit` rows "
        "dated up to it, its posterior ensemble scored on every `fit` row dated after it. "
        "Intervals: the runs (posterior particles x seeds) times the structural discrepancy "
        "fitted to the earlier origins' forecasts of rows known by the origin "
        "(calibration/forecast.py); scores on log(1 + x).",
        "",
        f"## Held out after {split}",
        "",
        f"Training fit (rows up to {split}): median |log ratio| "
        f"{summary['train']['median_abs_log_ratio']:.3f}, "
        f"{100 * summary['train']['share_inside']:.0f}% inside the 90% interval.",
        f"Held-out rows: {test['rows']} scored, median |log ratio| "
        f"{test['median_abs_log_ratio']:.2f}, {100 * test['share_inside']:.0f}% inside the 90% "
        f"interval, {100 * test['coverage_50']:.0f}% inside the 50% interval.",
        *_chain_lines(summary),
        "",
        "By destination:",
        "",
        markdown_table(by_country),
        "",
        "By horizon (days after the split):",
        "",
        markdown_table(by_horizon),
        "",
        "## Rolling origins: how skill grows with data",
        "",
        markdown_table(rolling),
        "",
        "Each origin's rows run to the end of the data (29 Nov), so later origins are scored on "
        "fewer, later rows. width_90_log: the 90% interval's width on the log scale (1.0 = a "
        "factor of 2.7 between its ends); wis_log: weighted interval score (Bracher et al. "
        "2021) on log(1 + x), lower is better.",
        "",
        f"Discrepancy fitted to every origin's forecasts (`discrepancy.json`, used by the "
        f"calibration on every row): base log-sd {disc['base_sd']:.3f}, variance growing by "
        f"{disc['growth_per_day']:.4f} a day ({disc['fitted_on']}). The growth is the largest "
        "the forecasts cannot rule out (one-sided 95 % profile-likelihood bound; most likely: "
        f"{disc['growth_mle_per_day']:.4f}): forecasts of a few days cannot show how the error "
        "grows over two months, and the intervals must not assume it does not.",
        "",
        "Per row: `origin_<date>/evaluation/evaluation.csv`.",
        ""])
    atomic_write_text(out_dir / "holdout.md", text)


def _chain_lines(summary: dict) -> list[str]:
    """The pooled chains one by one: the spread a single chain's score would have had."""
    if not summary.get("chain_errors"):
        return []
    each = ", ".join(f"seed {e['chain']} {e['median_abs_log_ratio']:.2f}"
                     for e in summary["chain_errors"])
    return ["", f"Each chain alone (its posterior, the same ensemble settings), median |log "
                f"ratio| of the held-out rows: {each}; pooled "
                f"{summary['test']['median_abs_log_ratio']:.2f}. A score of one chain is one "
                "draw from this spread."]
