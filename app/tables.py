"""The ensemble's table for download: medians and 90 % bands over the runs, by date and series,
for 2022, the scenario and their paired difference; and the outcomes table as shown."""

from __future__ import annotations

import numpy as np
import pandas as pd

from app.runs import Comparison
from app.scenario import BASELINE_LABEL
from app.summary import band, outcome_rows


def _series(comp: Comparison, country_names: list[str],
            gate_ids: list[str]) -> dict[str, tuple[str, callable]]:
    """Series name -> (unit, run -> [T] values)."""
    out = {"left Russia (daily)": ("people a day", lambda r: r.departures),
           "left Russia (cumulative)": ("people", lambda r: np.cumsum(r.departures))}
    for c, name in enumerate(country_names):
        out[f"entries into {name} (fleeing and ordinary, daily)"] = (
            "people a day", lambda r, c=c: r.entries[:, c])
    for g, gate in enumerate(gate_ids):
        out[f"queue at {gate}"] = ("people", lambda r, g=g: r.queue[:, g])
    return out


def ensemble_table(comp: Comparison, country_names: list[str],
                   gate_ids: list[str]) -> pd.DataFrame:
    """Long table: date, series, unit, run set (2022, the scenario, the paired difference),
    runs, p05, median, p95."""
    pairs = comp.paired()
    frames = []
    for series, (unit, of) in _series(comp, country_names, gate_ids).items():
        own = np.vstack([of(a) for a, _ in pairs])
        base = np.vstack([of(b) for _, b in pairs])
        for label, stack in ((BASELINE_LABEL, base), (comp.scenario, own),
                             (f"{comp.scenario} minus 2022", own - base)):
            lo, mid, hi = band(stack)
            frames.append(pd.DataFrame({"date": comp.dates, "series": series, "unit": unit,
                                        "runs_of": label, "runs": len(stack), "p05": lo,
                                        "median": mid, "p95": hi}))
    return pd.concat(frames, ignore_index=True)


def outcomes_table(comp: Comparison) -> pd.DataFrame:
    """The outcomes as the page shows them: median (90 % interval), rounded to what the runs
    support."""
    rows = outcome_rows(comp, comp.resolution)
    return pd.DataFrame({"outcome": [r.words for r in rows], "2022": [r.baseline for r in rows],
                         comp.scenario: [r.scenario for r in rows],
                         "paired difference": [r.difference for r in rows],
                         "runs": len(comp.paired())})


def csv_text(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False, float_format="%.6g")
