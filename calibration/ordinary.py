"""The model's ordinary traffic against the official counts, country by country (the command is
`python -m experiments.ordinary_traffic`; docs/validation.md).

Each count of sim/data/ordinary_counts_2022.csv (border guards' daily entries of Russian
citizens before 21 September; the FSB's departures by destination in the third quarter of
2022) becomes an observation row with the modes it covers, and the observation operator
(calibration/observe.py, calibration/measure.py) measures the model exactly as the count was
made: road and air exits summed, rail added from the counted ordinary rail traffic, the days
before the simulated horizon at the model's own pre-announcement mean. The table gives, per
count, the count, the model's median over seeds and their ratio.

Like with like: the model's ordinary traffic is September's. A daily count describes September's
steady state (or the days after it that the model simulates) and is held to the +-25 % criterion;
a quarter's count is trips in a summer quarter (July and August are the beach and holiday season),
so it is a cross-check whose ratio is below 1 where summer is the high season, not a test of the
September baseline. Where a sourced monthly series gives the ratio of July and August's ordinary
traffic to September's (`season_factor`, its source in the row's notes and SOURCES.md), the
quarter's summer days are measured at the model's September steady state times that factor.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from calibration.measure import simulate_targets
from calibration.problem import make_problem
from sim.atomic import atomic_write_text
from sim.errors import DataError

COUNTS_COLUMNS = ("country", "measure", "modes", "period_start", "period_end", "value",
                  "direction", "basis", "who_reported", "outlet", "source_url_or_title", "notes")
MEASURES = ("daily_before", "quarter")
# the model's days before the announcement (conf/config.yaml start): a count of a steady
# state before the horizon is compared with the model's mean over them
PRE_ANNOUNCEMENT = ("2022-09-14", "2022-09-20")
TOLERANCE = 0.25  # the criterion: the model within +-25 % of every count of September's traffic
# what each measure describes; only September's steady state is held to the tolerance
DESCRIBES = {"daily_before": "September", "quarter": "summer quarter"}
SUMMER = (dt.date(2022, 7, 1), dt.date(2022, 8, 31))  # the days a season_factor applies to


def read_counts(path: Path) -> pd.DataFrame:
    """The counts file, checked: its columns, a known measure, a positive value per row."""
    if not path.is_file():
        raise DataError(str(path), "no such file")
    counts = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in COUNTS_COLUMNS if c not in counts.columns]
    if missing:
        raise DataError(str(path), f"missing column(s): {', '.join(missing)}", field=missing[0])
    for n, row in counts.iterrows():
        if row["measure"] not in MEASURES:
            raise DataError(str(path), f"unknown measure {row['measure']!r}", row=n + 1,
                            field="measure")
        try:
            if not float(row["value"]) > 0:
                raise ValueError
        except ValueError:
            raise DataError(str(path), f"{row['value']!r} is not a positive number",
                            row=n + 1, field="value") from None
    if "season_factor" not in counts.columns:
        counts["season_factor"] = ""
    for n, row in counts.iterrows():
        try:
            factor = float(row["season_factor"] or 1.0)
            if not 0 < factor < 100:
                raise ValueError
        except ValueError:
            raise DataError(str(path), f"season_factor {row['season_factor']!r} is not a "
                            "positive number below 100", row=n + 1, field="season_factor") from None
        if factor != 1.0 and row["measure"] != "quarter":
            raise DataError(str(path), "a season_factor applies to a quarter's summer days only",
                            row=n + 1, field="season_factor")
    counts["season_factor"] = [float(f or 1.0) for f in counts["season_factor"]]
    return counts


def summer_days(start: str, end: str) -> int:
    """How many of the days start..end (inclusive) fall in July and August 2022."""
    first = max(dt.date.fromisoformat(start), SUMMER[0])
    last = min(dt.date.fromisoformat(end), SUMMER[1])
    return max(0, (last - first).days + 1)


def as_observations(counts: pd.DataFrame) -> pd.DataFrame:
    """Observation rows (the reference schema) measuring what each count measured: a daily
    mean over its days, or a quarter's total; for a quarter with a season_factor, also the
    model's steady state (a daily mean over the days before the announcement)."""
    rows = []
    for n, c in counts.iterrows():
        if c["season_factor"] != 1.0:
            rows.append({
                "id": f"steady{n + 1:02d}", "use": "fit", "post_ids": "",
                "date": PRE_ANNOUNCEMENT[1], "period_start": PRE_ANNOUNCEMENT[0],
                "destination": "all (Russia total)" if c["country"] == "all" else c["country"],
                "modes": c["modes"], "crossing": "", "direction": c["direction"],
                "kind": "daily", "value": c["value"]})
        start, end = c["period_start"], c["period_end"]
        if c["measure"] == "daily_before" and end < PRE_ANNOUNCEMENT[0]:
            start, end = PRE_ANNOUNCEMENT  # an earlier ordinary day: the model's steady state
        rows.append({
            "id": f"count{n + 1:02d}", "use": "fit", "post_ids": "",
            "date": end, "period_start": start,
            "destination": "all (Russia total)" if c["country"] == "all" else c["country"],
            "modes": c["modes"], "crossing": "", "direction": c["direction"],
            "kind": "daily" if c["measure"] == "daily_before" else "period_total",
            "value": c["value"]})
    return pd.DataFrame(rows)


def ordinary_traffic_table(counts_path: Path, out_dir: Path, model_overrides: list[str],
                           scale: float, seeds: list[int]) -> pd.DataFrame:
    """Run the model (its configured point) with `seeds` and measure every count; write
    ordinary_traffic.csv and .md into `out_dir`; return the table."""
    counts = read_counts(counts_path)
    observations = as_observations(counts).to_csv(index=False)
    with tempfile.TemporaryDirectory() as tmp:  # every check before out_dir exists
        obs_path = Path(tmp) / "ordinary_counts_as_observations.csv"
        obs_path.write_text(observations)
        problem = make_problem(obs_path, model_overrides, [], scale, max_extrapolated_days=100,
                               uses=("fit",))
    if problem.mapping.unmapped:
        u = problem.mapping.unmapped[0]
        raise DataError(str(counts_path), f"cannot be measured: {u.reason}", row=u.obs.row)
    until = max(t.last for t in problem.targets)
    runs = []
    for seed in seeds:
        results, ppv, _ = problem.run({}, seed, until=until)
        values = dict(zip([t.id for t in problem.targets],
                          simulate_targets(problem.targets, results, problem.geo, ppv,
                                           problem.baseline_days), strict=True))
        runs.append([seasonal(values, n, c) for n, c in counts.iterrows()])
    runs_array = np.array(runs)
    model = np.median(runs_array, axis=0)
    table = counts[["country", "measure", "modes", "period_start", "period_end", "value",
                    "season_factor", "basis", "outlet", "source_url_or_title"]].copy()
    table.insert(2, "describes", table["measure"].map(DESCRIBES))
    table["value"] = table["value"].astype(float)
    table["model"] = model
    table["model_min"], table["model_max"] = runs_array.min(axis=0), runs_array.max(axis=0)
    table["ratio"] = table["model"] / table["value"]
    table["within_25pct"] = (table["ratio"] - 1).abs() <= TOLERANCE
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out_dir / "ordinary_counts_as_observations.csv", observations)
    atomic_write_text(out_dir / "ordinary_traffic.csv",
                      table.to_csv(index=False, float_format="%.4g"))
    atomic_write_text(out_dir / "ordinary_traffic.md", markdown(table, scale, seeds))
    return table


def seasonal(values: dict[str, float], n: int, count: pd.Series) -> float:
    """The model's value of count `n`: as measured, plus, for a quarter with a season_factor,
    its summer days' excess over the September steady state."""
    value = float(values[f"count{n + 1:02d}"])
    factor = count["season_factor"]
    if factor != 1.0:
        steady = float(values[f"steady{n + 1:02d}"])
        value += (factor - 1.0) * steady * summer_days(count["period_start"], count["period_end"])
    return value


def summary(table: pd.DataFrame) -> str:
    """The criterion's line: how many counts of September's traffic are within the tolerance."""
    september = table[table["describes"] == "September"]
    return (f"{int(september['within_25pct'].sum())} of {len(september)} counts of September's "
            f"traffic within {TOLERANCE:.0%}; the summer quarters are cross-checks")


def significant(x: float, digits: int = 3) -> str:
    """`x` to `digits` significant figures, with thousands separators: the seeds' spread
    supports no more."""
    return f"{float(f'{x:.{digits}g}'):,.0f}"


def markdown(table: pd.DataFrame, scale: float, seeds: list[int]) -> str:
    lines = [f"Model: the configured point, scale {scale:g}, median of seeds {seeds}.", "",
             "| country | count | describes | modes | period | counted | model (seeds' range) "
             "| model / counted | source |", "|" + " --- |" * 9]
    for _, r in table.iterrows():
        what = "a day" if r["measure"] == "daily_before" else "trips in the quarter"
        describes = r["describes"] + (f", July-August x{r['season_factor']:g}"
                                      if r["season_factor"] != 1.0 else "")
        lines.append(f"| {r['country']} | {what} | {describes} | {r['modes']} | "
                     f"{r['period_start']} to {r['period_end']} | {r['value']:,.0f} | "
                     f"{significant(r['model'])} ({significant(r['model_min'])}–"
                     f"{significant(r['model_max'])}) | {r['ratio']:.2f} | {r['outlet']}: "
                     f"{r['source_url_or_title']} |")
    return "\n".join(lines) + "\n\n" + summary(table) + "\n"
