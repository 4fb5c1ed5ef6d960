"""Turning a run into files: the tidy `daily.csv` and `summary.json`.

Figures are real-population equivalents (`sim.results`), so that they compare directly with
reported ones; waits are in days. Files are written to a temporary name
and renamed, so a folder never holds a half-written result.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.atomic import atomic_write_text
from sim.datasets import default_data_dir
from sim.model import MobilisationModel
from sim.network import AIR
from sim.provenance import git_commit, package_version
from sim.results import Results


def node_names(model: MobilisationModel) -> dict[str, list[str]]:
    """Readable names beside the codes of daily.csv: exits ('AIR-SVO>TR' is 'Moscow
    Sheremetyevo → Turkey'), countries and regions, in the world's order."""
    w = model.world
    folder = Path(model.config.network.data_dir or default_data_dir())

    def names(file: str, key: str, column: str) -> dict[str, str]:
        table = pd.read_csv(folder / file, usecols=[key, column], dtype=str)
        return dict(zip(table[key], table[column], strict=True))

    posts, airports = names("posts.csv", "id", "name"), names("airports.csv", "id", "name")
    regions = names("regions.csv", "code", "name_en")
    gates = [posts.get(g) or f"{airports.get(s, s)} → {w.country_names[c]}"
             for g, s, c in zip(w.gate_ids, w.gate_site, w.gate_country, strict=True)]
    return {"gate": gates, "country": list(w.country_names),
            "region": [regions.get(r, r) for r in w.region_ids]}


def _tidy(dates: list, nodes: list[str], node_type: list[str] | str,
          metrics: dict[str, np.ndarray], names: list[str]) -> pd.DataFrame:
    n_t, n_n = len(dates), len(nodes)
    types = [node_type] * n_n if isinstance(node_type, str) else node_type
    frames = []
    for metric, values in metrics.items():
        frames.append(pd.DataFrame({
            "date": np.repeat(np.array(dates, dtype="datetime64[D]"), n_n),
            "node": np.tile(nodes, n_t),
            "name": np.tile(names, n_t),
            "node_type": np.tile(types, n_t),
            "metric": metric,
            "value": values.ravel(),
        }))
    return pd.concat(frames, ignore_index=True)


def daily_table(model: MobilisationModel) -> pd.DataFrame:
    """Tidy: date, node, name, node_type, metric, value (persons, real-population
    equivalent)."""
    w, res = model.world, Results.of(model)
    gate_types = np.where(w.gate_mode == AIR, "air_route", "land_post").tolist()
    names = node_names(model)
    parts = [
        _tidy(res.dates, w.gate_ids, gate_types, res.gate_series(), names["gate"]),
        _tidy(res.dates, w.country_ids, "country", res.country_series(), names["country"]),
        _tidy(res.dates, w.region_ids, "region", {"departures": res.departures},
              names["region"]),
    ]
    return pd.concat(parts, ignore_index=True)


def summary(model: MobilisationModel) -> dict[str, Any]:
    """Headline totals (real-population equivalents) and the run's provenance."""
    w, res = model.world, Results.of(model)
    entered = res.real(res.record.country["entered_fleeing"].sum(axis=0))
    by_destination = {c: round(float(v)) for c, v in zip(w.country_ids, entered, strict=True)
                      if v > 0}
    queue = res.queue
    peak_day = queue.argmax(axis=0)
    peaks = {w.gate_ids[g]: {"persons": round(float(queue[peak_day[g], g])),
                             "date": res.dates[peak_day[g]].isoformat()}
             for g in np.argsort(-queue.max(axis=0))[:10] if queue[:, g].max() > 0}
    g, c = res.record.gate, res.record.country
    return {
        "policy": model.policy.name,
        "seed": model.seed,
        "population_scale": model.scale,
        "start": model.start_date.isoformat(),
        "end": model.end_date.isoformat(),
        "men_at_risk": round(float(res.men_at_risk)),
        "decided_to_flee": round(float(res.real(res.record.region["departures"].sum()))),
        "left_russia": round(float(res.crossed_fleeing.sum())),
        "left_russia_by_2022_09_24": round(res.left_russia_by("2022-09-24")),
        "left_russia_by_2022_10_04": round(res.left_russia_by("2022-10-04")),
        "entered_by_destination": dict(sorted(by_destination.items(), key=lambda kv: -kv[1])),
        "stopped_at_border": round(float(res.real(g["stopped"].sum()))),
        "refused_at_border": round(float(res.real(g["refused"].sum()))),
        "refused_entry": round(float(res.real(c["refused_entry"].sum()))),
        "went_home": round(float(res.went_home)),
        "still_queued_at_end": round(float(res.real(g["queue_fleeing"][-1].sum()))),
        "peak_queues": peaks,
        "runtime_seconds": round(model.runtime_seconds, 3),
        "package_version": package_version(),
        "git_commit": git_commit(),
    }


def write_outputs(model: MobilisationModel, folder: Path) -> dict[str, Any]:
    """Write daily.csv and summary.json into `folder`; returns the summary."""
    folder = Path(folder)
    daily = daily_table(model)
    atomic_write_text(folder / "daily.csv", daily.to_csv(index=False, float_format="%.6g"))
    result = summary(model)
    atomic_write_text(folder / "summary.json", json.dumps(result, indent=2) + "\n")
    return result
