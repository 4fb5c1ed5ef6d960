"""The calibration report: per-target table, fit plots, posteriors, departure estimates.

Written by the calibration (`calibration.pipeline`) into results/calibration/; `python -m
experiments.calibration_report` (`redraw`) redraws it from the saved files (posterior.csv,
targets.csv and the ensemble checkpoint) without re-running anything.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import pandas as pd

from calibration.forecast import PredictiveError
from sim.results import round_to_support

ANNOUNCEMENT = dt.date(2022, 9, 21)
FINLAND_BAN = dt.date(2022, 9, 30)  # Finland bars Russian tourists
CLAIMS = [  # (by day, value, what was claimed or estimated: docs/estimates.md, compared only)
    ("2022-09-24", 261_000, "261,000 men left 21-24 Sep (FSB note, doubted by its source)"),
    ("2022-10-04", 300_000, "at least 300,000 (sum of published entries)"),
    ("2022-10-04", 700_000, "600,000-700,000 (Forbes' Kremlin sources; denied)"),
    ("2022-10-04", 1_000_000, "'up to 1 million' (rumour)"),
    ("2022-11-30", 400_000, "~400,000 fled the mobilisation by early Nov (Western officials, "
                            "est08); 355,000-700,000 (demographers' range, est07)"),
]
ABROAD_ON = "2022-11-30"  # men still abroad: no autumn-only estimate found (docs/estimates.md)
NO_ERROR = PredictiveError()  # the runs alone
NAMES = {"FI": "Finland", "GE": "Georgia", "KZ": "Kazakhstan", "NO": "Norway"}


def _band(ax, x, runs: np.ndarray, color: str, label: str,
          report_sd: np.ndarray | None = None) -> None:
    """Median and 90 % band of the model; with `report_sd` (a log-sd per day, as
    `PredictiveError.sd`), also the wider band of a report drawn as the targets' intervals."""
    if report_sd is not None and np.any(report_sd > 0):
        from calibration.forecast import predictive_draws

        noisy = signed_expm1(predictive_draws(runs, report_sd, draws=10))
        lo, hi = np.quantile(noisy, [0.05, 0.95], axis=0)
        ax.fill_between(x, lo, hi, color=color, alpha=0.10, lw=0,
                        label=f"{label}: 90 % of a report (runs x reporting error)")
    lo, med, hi = np.quantile(runs, [0.05, 0.5, 0.95], axis=0)
    ax.fill_between(x, lo, hi, color=color, alpha=0.3, lw=0,
                    label=f"{label}: 90 % over posterior particles and seeds")
    ax.plot(x, med, color=color, lw=1.8, label=f"{label}: median")


def signed_expm1(logs: np.ndarray) -> np.ndarray:
    """The inverse of log(1 + x) extended to negative x."""
    return np.sign(logs) * np.expm1(np.abs(logs))


def _dates(n: int, start: dt.date) -> np.ndarray:
    return np.array([start + dt.timedelta(days=t) for t in range(n)])


def _fmt_axis(ax, end: dt.date) -> None:
    ax.set_xlim(dt.date(2022, 9, 14), end)
    ax.xaxis.set_major_locator(mdates.WeekdayLocator(byweekday=mdates.WE))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
    ax.axvline(ANNOUNCEMENT, color="grey", ls=":", lw=1, label="21 Sep: mobilisation announced")
    ax.axvline(FINLAND_BAN, color="tab:purple", ls=":", lw=1,
               label="30 Sep: Finland bars Russian tourists")
    ax.grid(alpha=0.3)


def plot_country(folder: Path, code: str, k: int, ens: dict[str, np.ndarray],
                 table: pd.DataFrame, start: dt.date, full_gates: set[str],
                 error: PredictiveError = NO_ERROR) -> Path:
    """Daily and cumulative entries with 90 % bands and the observed figures."""
    entered = ens["entered"][:, :, k]
    fleeing = ens["entered_fleeing"][:, :, k]
    n_t = entered.shape[1]
    x = _dates(n_t, start)
    end = dt.date(2022, 10, 15)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4.6))
    _band(ax1, x, entered, "tab:blue", "all entries", error.sd(list(x)))
    ax1.plot(x, np.median(fleeing, axis=0), color="tab:red", lw=1, ls="--",
             label="of whom fleeing (median)")
    rows = table[(table["use"] == "fit")
                 & (table["destination"].isin([code, NAMES.get(code, code)]))
                 & (table["direction"] == "entered_destination")
                 & (table["post_ids"].fillna("").isin(["", *full_gates]))]
    first = True
    for _, r in rows.iterrows():
        d = dt.date.fromisoformat(r["date"])
        s = dt.date.fromisoformat(r["period_start"]) if r["period_start"] else d
        style = dict(color="k", zorder=5)
        if r["kind"] == "daily":
            mid = s + (d - s) / 2
            ax1.plot([mid], [r["observed"]], "o", ms=5, **style,
                     label="reported (daily)" if first else None)
            first = False
        elif r["kind"] in ("period_total", "cumulative"):
            days = (d - s).days + 1
            ax1.plot([s, d + dt.timedelta(days=1)], [r["observed"] / days] * 2, lw=2.2,
                     color="darkorange", zorder=4)
        elif r["kind"] == "peak_daily":
            ax1.plot([s, d + dt.timedelta(days=1)], [r["observed"]] * 2, lw=1.5, ls="-.",
                     color="purple", zorder=4)
    ax1.plot([], [], lw=2.2, color="darkorange", label="reported period total / days")
    if (rows["kind"] == "peak_daily").any():
        ax1.plot([], [], lw=1.5, ls="-.", color="purple", label="reported peak day")
    ax1.set_title(f"{NAMES.get(code, code)}: entries per day")
    ax1.set_ylabel("persons per day")
    _fmt_axis(ax1, end)
    ax1.legend(fontsize=7, loc="upper right")
    # cumulative since the announcement
    t0 = (ANNOUNCEMENT - start).days
    cum = np.cumsum(entered[:, t0:], axis=1)
    _band(ax2, x[t0:], cum, "tab:blue", "all entries since 21 Sep", error.sd(list(x[t0:])))
    starts = rows[(rows["period_start"] == ANNOUNCEMENT.isoformat())
                  & rows["kind"].isin(["period_total", "cumulative"])]
    ax2.plot([dt.date.fromisoformat(d) for d in starts["date"]], starts["observed"], "o",
             color="k", label="reported since 21 Sep")
    ax2.set_title(f"{NAMES.get(code, code)}: cumulative entries since 21 September")
    ax2.set_ylabel("persons")
    _fmt_axis(ax2, end)
    # the y range of the days shown, not of the whole horizon (which runs to 30 November)
    shown = x[t0:] <= end
    top = max(float(np.quantile(cum[:, shown], 0.95, axis=0).max()) * 1.2,
              float(starts["observed"].max()) * 1.2 if len(starts) else 0.0)
    ax2.set_ylim(0, top)
    ax2.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    path = folder / f"fit_{code}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_queue(folder: Path, post: str, ens: dict[str, np.ndarray], table: pd.DataFrame,
               start: dt.date, error: PredictiveError = NO_ERROR) -> Path:
    q = ens["queue_vehicles"]
    x = _dates(q.shape[1], start)
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    _band(ax, x, q, "tab:green", "model", error.sd(list(x)))
    obs = table[(table["use"] == "fit") & (table["kind"] == "queue_vehicles")
                & (table["post_ids"] == post)]
    ax.plot([dt.date.fromisoformat(d) for d in obs["date"]], obs["observed"], "o", color="k",
            label="reported")
    ax.set_title(f"Queue at {post} (Verkhny Lars), vehicles at the end of the day")
    ax.set_ylabel("vehicles")
    _fmt_axis(ax, dt.date(2022, 10, 10))
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = folder / "queue_verkhny_lars.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_posteriors(folder: Path, posterior: pd.DataFrame, params: list,
                    point: dict[str, float]) -> Path:
    n = len(params)
    cols = 5
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.0 * cols, 2.3 * rows))
    w = posterior["weight"].to_numpy(float)
    for ax, p in zip(np.ravel(axes), params, strict=False):
        v = posterior[p.name].to_numpy(float)
        bins = (np.logspace(np.log10(p.low), np.log10(p.high), 21) if p.log
                else np.linspace(p.low, p.high, 21))
        ax.hist(v, bins=bins, weights=w, color="tab:blue", alpha=0.7)
        if p.log:
            ax.set_xscale("log")
            ticks = [p.low, float(np.sqrt(p.low * p.high)), p.high]
            ax.set_xticks(ticks, [f"{t:.2g}" for t in ticks])
            ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlim(p.low, p.high)
        if p.name in point:
            ax.axvline(point[p.name], color="tab:red", lw=1.5)
        ax.set_title(p.name, fontsize=9)
        ax.set_yticks([])
        ax.tick_params(labelsize=7)
    for ax in np.ravel(axes)[n:]:
        ax.axis("off")
    fig.suptitle("Posterior of each parameter (histogram: last ABC-SMC generation, weighted; "
                 "x-range: the prior's; red line: the configured point)", fontsize=10)
    fig.tight_layout()
    path = folder / "posteriors.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def departures_table(ens: dict[str, np.ndarray], start: dt.date) -> pd.DataFrame:
    """Departures from Russia since the announcement and the men still abroad at the end,
    median and 90 % interval, rounded to what the ensemble supports."""
    t0 = (ANNOUNCEMENT - start).days
    rows = []

    def row(by: str, who: str, values: np.ndarray, claims: str) -> dict:
        lo, med, hi = round_to_support(np.quantile(values, [0.05, 0.5, 0.95]),
                                       *np.quantile(values, [0.05, 0.95]))
        return {"by": by, "who": who, "median": med, "lower_90": lo, "upper_90": hi,
                "claims": claims}

    for day in sorted({c[0] for c in CLAIMS}):
        t = (dt.date.fromisoformat(day) - start).days
        claims = "; ".join(c[2] for c in CLAIMS if c[0] == day)
        for label, key in (("everyone crossing (fleeing + ordinary travellers)", "left_all"),
                           ("people fleeing only", "left_fleeing")):
            if t < ens[key].shape[1]:
                rows.append(row(day, label, ens[key][:, t0: t + 1].sum(axis=1), claims))
    t = (dt.date.fromisoformat(ABROAD_ON) - start).days
    if "abroad_fleeing" in ens and t < ens["abroad_fleeing"].shape[1]:
        rows.append(row(ABROAD_ON, "people fleeing still abroad on that day",
                        ens["abroad_fleeing"][:, t],
                        "no autumn-only estimate found; Georgia ~100,000 (president, 13 Nov), "
                        "Kazakhstan ~100,000 (obs038, 29 Nov)"))
    return pd.DataFrame(rows)


def _md_table(df: pd.DataFrame, floatfmt: str = "{:,.0f}") -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "| " + " | ".join("---" for _ in cols) + " |"]
    for _, r in df.iterrows():
        cells = []
        for c in cols:
            v = r[c]
            if isinstance(v, float):
                cells.append(floatfmt.format(v) if abs(v) >= 10 else f"{v:.3g}")
            else:
                cells.append(str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def family_table(table: pd.DataFrame) -> pd.DataFrame:
    """Fit per destination x direction x kind family (group-weighted)."""
    fit = table[table["use"] == "fit"].copy()
    fit["abs_lr"] = fit["log_ratio"].abs()
    fit["family"] = fit["destination"] + " / " + fit["direction"] + " / " + fit["kind"]
    out = fit.groupby("family").apply(lambda g: pd.Series({
        "targets": g["weight"].sum(),
        "mean_log_ratio": np.average(g["log_ratio"], weights=g["weight"]),
        "median_abs_log_ratio": g["abs_lr"].median(),
        "share_inside": np.average(g["inside"].astype(float), weights=g["weight"]),
    }), include_groups=False).reset_index()
    return out


def write_report(folder: Path, problem: Any, cfg: Any, table: pd.DataFrame,
                 ens: dict[str, np.ndarray], posterior: pd.DataFrame, summary: dict[str, Any],
                 unmapped: pd.DataFrame) -> None:
    """Everything in results/calibration/."""
    folder.mkdir(parents=True, exist_ok=True)
    start = dt.date.fromisoformat(problem.base.start)
    table.to_csv(folder / "targets.csv", index=False, float_format="%.6g")
    unmapped.to_csv(folder / "unmapped.csv", index=False)
    geo = problem.geo
    error = PredictiveError.of_summary(summary)
    for k, code in enumerate(cfg.report.countries):
        ci = geo.country_ids.index(code)
        gates = [g for g, c in zip(geo.gate_ids, geo.gate_country, strict=True) if c == ci]
        plot_country(folder, code, k, ens, table, start, {";".join(gates)}, error)
    plot_queue(folder, str(cfg.report.queue_post), ens, table, start, error)
    plot_posteriors(folder, posterior, problem.params, summary.get("point_estimate", {}))
    dep = departures_table(ens, start)
    dep.to_csv(folder / "departures.csv", index=False)
    fam = family_table(table)
    fam.to_csv(folder / "fit_by_family.csv", index=False, float_format="%.4g")
    summary = dict(summary, departures=dep.to_dict(orient="records"))
    (folder / "summary.json").write_text(json.dumps(summary, indent=2, default=float) + "\n")
    write_markdown(folder, table, dep, fam, summary, unmapped, posterior, problem.params)


POSTERIOR_IN_WORDS = (
    "How to read the posterior plot: one panel per calibrated parameter. The bars are the "
    "weighted particles of the last ABC-SMC generation, i.e. the values that reproduce the "
    "reported figures; the x-axis spans the prior (log scale for log-uniform priors), so a "
    "narrow pile means the data pin the parameter down and bars spread over the whole axis "
    "mean they do not. The red line is the configured point that `make run` uses. The table "
    "above gives the same in numbers (median and 90 % interval).")


def write_markdown(folder: Path, table: pd.DataFrame, dep: pd.DataFrame, fam: pd.DataFrame,
                   summary: dict[str, Any], unmapped: pd.DataFrame, posterior: pd.DataFrame,
                   params: list) -> None:
    s, sp = summary["fit"], summary.get("fit_point_estimate", {})
    post_rows = []
    w = posterior["weight"].to_numpy(float)
    configured, optimum = summary["point_estimate"], summary.get("optimiser_point", {})
    for p in params:
        v = posterior[p.name].to_numpy(float)
        order = np.argsort(v)
        cw = np.cumsum(w[order]) / w.sum()
        q = [v[order][min(np.searchsorted(cw, a), len(v) - 1)] for a in (0.05, 0.5, 0.95)]
        post_rows.append({"parameter": p.name, "prior": f"{p.prior} [{p.low:g}, {p.high:g}]",
                          "median": f"{q[1]:.4g}", "90% interval": f"{q[0]:.4g} - {q[2]:.4g}",
                          "configured point": f"{configured.get(p.name, np.nan):.4g}",
                          "optimiser": f"{optimum.get(p.name, np.nan):.4g}"})
    fit_rows = table[table["use"] == "fit"][["id", "destination", "post_ids", "direction",
                                            "kind", "period_start", "date", "observed",
                                            "simulated", "lower", "upper", "log_ratio",
                                            "inside"]]
    t = summary.get("timings_seconds", {})
    text = f"""# Calibration report

Generated by `python -m experiments.calibrate`; method and discussion in docs/calibration.md.

## Fit to the training figures (`fit` rows; conflicting duplicates weighted as one target)

| ensemble | rows | targets | median abs log ratio | inside 90% interval of a report | \
inside 90% interval of the model | ARD | RMS log ratio |
| --- | --- | --- | --- | --- | --- | --- | --- |
| posterior predictive ({summary['predict']['particles']} particles x \
{len(summary['predict']['seeds'])} seeds) | {s['rows']} | {s['groups']:.0f} | \
{s['median_abs_log_ratio']:.3f} | {100 * s['share_inside']:.0f}% | \
{100 * s['share_inside_model_only']:.0f}% | {s['ard']:.3f} | {s['rms_log_ratio']:.3f} |
| configured point ({summary.get('point_kind', 'optimiser')}; what `make run` uses), \
{len(summary['predict']['seeds'])} seeds | {sp.get('rows', 0)} | \
{sp.get('groups', 0):.0f} | {sp.get('median_abs_log_ratio', np.nan):.3f} | \
{100 * sp.get('share_inside', np.nan):.0f}% | \
{100 * sp.get('share_inside_model_only', np.nan):.0f}% | {sp.get('ard', np.nan):.3f} | \
{sp.get('rms_log_ratio', np.nan):.3f} |

log ratio = log((simulated median + 1) / (observed + 1)); ARD = mean |sim - obs| / obs.
Interval of a report = the model's runs (posterior particles x seeds) x \
{PredictiveError.of_summary(summary).describe()}, see docs/calibration.md; interval of the
model = the runs alone.

Time: ABC {t.get('abc', 0) / 60:.1f} min, optimiser {t.get('optimiser', 0) / 60:.1f} min,
predictive ensemble {t.get('predict', 0) / 60:.1f} min; sum of the stages \
{t.get('total', 0) / 60:.1f} min (2 cores; a fresh run adds about 10 s of set-up and the report).

## Departures from Russia since 21 September (model) and the claims

{_md_table(dep)}

## Fit by family

{_md_table(fam, "{:.3f}")}

## Parameters

{_md_table(pd.DataFrame(post_rows))}

![posteriors](posteriors.png)

{POSTERIOR_IN_WORDS}

## Figures

![Finland](fit_FI.png)
![Georgia](fit_GE.png)
![Kazakhstan](fit_KZ.png)
![Norway](fit_NO.png)
![Verkhny Lars queue](queue_verkhny_lars.png)

## Every target

{_md_table(fit_rows)}

## Claims (compared, never fitted)

{_md_table(table[table["use"] == "claim"][["id", "destination", "direction", "kind",
                                            "period_start", "date", "observed", "simulated",
                                            "lower", "upper", "log_ratio"]])}

## Rows not mapped (fit and claim rows only; context rows are never scored)

{_md_table(unmapped[unmapped["use"] != "context"]) if len(unmapped) else "none"}
"""
    (folder / "report.md").write_text(text)


def redraw(argv: list[str]) -> Path:
    """Redraw the report from results/calibration and the saved ensemble (`variant=NAME` for
    a variant's report), its intervals drawn through the calibration's own predictive error
    (the discrepancy or model error its summary.json records); the point estimate's scores
    are kept as they were."""
    from hydra import compose, initialize_config_dir

    import calibration.config  # noqa: F401 - the schema of the config composed here
    from calibration.parameters import load_parameters
    from calibration.paths import CONF_DIR, project_path
    from calibration.problem import make_problem
    from calibration.scores import fit_summary, unmapped_table

    overrides = [f"+{a.lstrip('+')}" if a.lstrip("+").startswith("variant=") else a
                 for a in argv]
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("calibrate", overrides=overrides)
    out, work = project_path(cfg.out_dir), project_path(cfg.work_dir)
    problem = make_problem(cfg.observations, list(cfg.model_overrides),
                           load_parameters(cfg.parameters), float(cfg.scale),
                           int(cfg.max_extrapolated_days))
    ens = dict(np.load(work / "ensemble.npz"))
    summary = json.loads((out / "summary.json").read_text())
    posterior = pd.read_csv(out / "posterior.csv")
    # the intervals as the calibration drew them (its summary records the error it used)
    table = PredictiveError.of_summary(summary).table(problem, ens["targets"])
    summary["fit"] = fit_summary(table)
    write_report(out, problem, cfg, table, ens, posterior, summary,
                 unmapped_table(problem.mapping))
    return out
