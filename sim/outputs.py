"""Turning a run into files: the tidy `daily.csv` and `summary.json`.

Counts are expanded to the real population (agent counts / population.scale) so that figures
compare directly with reported ones; waits are in days. Files are written to a temporary name
and renamed, so a folder never holds a half-written result.
"""

from __future__ import annotations

import json
import os
import tempfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.model import MobilisationModel
from sim.network import AIR
from sim.population import State

UNSCALED = {"mean_wait_days"}


def package_version() -> str:
    try:
        return version("mobilisation-exodus")
    except PackageNotFoundError:
        return "unknown"


def gate_frame(model: MobilisationModel) -> dict[str, np.ndarray]:
    """Per exit and day, the published metrics (agent units), [T, G] each."""
    g = model.record.gate
    crossed = g["crossed_fleeing"]
    mean_wait = np.divide(g["wait_days_sum"], crossed, out=np.full_like(crossed, np.nan),
                          where=crossed > 0)
    return {
        "crossed_fleeing": crossed,
        "crossed_normal": g["crossed_normal"],
        "queue": g["queue_fleeing"] + g["queue_normal"],
        "queue_fleeing": g["queue_fleeing"],
        "mean_wait_days": mean_wait,
        "refused": g["refused"],
        "stopped": g["stopped"],
        "capacity": g["capacity"],
    }


def country_frame(model: MobilisationModel) -> dict[str, np.ndarray]:
    c = model.record.country
    return {
        "entered_fleeing": c["entered_fleeing"],
        "entered_onward": c["entered_onward"],
        "entered_normal": c["entered_normal"],
        "onward_departures": c["onward_fleeing"],
        "returns": c["returned_fleeing"],
        "left_normal": c["left_normal"],
        "present_fleeing": c["present_fleeing"],
        "refused_entry": c["refused_entry"],
    }


def _tidy(dates: list, nodes: list[str], node_type: list[str] | str,
          metrics: dict[str, np.ndarray], scale: float) -> pd.DataFrame:
    n_t, n_n = len(dates), len(nodes)
    types = [node_type] * n_n if isinstance(node_type, str) else node_type
    frames = []
    for metric, values in metrics.items():
        factor = 1.0 if metric in UNSCALED else 1.0 / scale
        frames.append(pd.DataFrame({
            "date": np.repeat(np.array(dates, dtype="datetime64[D]"), n_n),
            "node": np.tile(nodes, n_t),
            "node_type": np.tile(types, n_t),
            "metric": metric,
            "value": values.ravel() * factor,
        }))
    return pd.concat(frames, ignore_index=True)


def daily_table(model: MobilisationModel) -> pd.DataFrame:
    """Tidy: date, node, node_type, metric, value (persons, real-population equivalent)."""
    w, rec = model.world, model.record
    gate_types = np.where(w.gate_mode == AIR, "air_route", "land_post").tolist()
    parts = [
        _tidy(rec.dates, w.gate_ids, gate_types, gate_frame(model), model.scale),
        _tidy(rec.dates, w.country_ids, "country", country_frame(model), model.scale),
        _tidy(rec.dates, w.region_ids, "region", {"departures": rec.region["departures"]},
              model.scale),
    ]
    return pd.concat(parts, ignore_index=True)


def summary(model: MobilisationModel) -> dict[str, Any]:
    """Headline totals (real-population equivalents) and the run's provenance."""
    w, rec, scale = model.world, model.record, model.scale
    entered = rec.country["entered_fleeing"].sum(axis=0) / scale
    by_destination = {c: round(float(v)) for c, v in zip(w.country_ids, entered, strict=True)
                      if v > 0}
    queue = (rec.gate["queue_fleeing"] + rec.gate["queue_normal"]) / scale
    peak_day = queue.argmax(axis=0)
    peaks = {w.gate_ids[g]: {"persons": round(float(queue[peak_day[g], g])),
                             "date": rec.dates[peak_day[g]].isoformat()}
             for g in np.argsort(-queue.max(axis=0))[:10] if queue[:, g].max() > 0}
    crossed = rec.gate["crossed_fleeing"] / scale
    dates = np.array(rec.dates, dtype="datetime64[D]")

    def left_by(day: str) -> int:
        return round(float(crossed[dates <= np.datetime64(day)].sum()))

    return {
        "policy": model.policy.name,
        "seed": model.seed,
        "population_scale": scale,
        "start": model.start_date.isoformat(),
        "end": model.end_date.isoformat(),
        "men_at_risk": round(float(model.initial_home.sum() / scale)),
        "decided_to_flee": round(float(rec.region["departures"].sum() / scale)),
        "left_russia": round(float(crossed.sum())),
        "left_russia_by_2022_09_24": left_by("2022-09-24"),
        "left_russia_by_2022_10_04": left_by("2022-10-04"),
        "entered_by_destination": dict(sorted(by_destination.items(), key=lambda kv: -kv[1])),
        "stopped_at_border": round(float(rec.gate["stopped"].sum() / scale)),
        "refused_at_border": round(float(rec.gate["refused"].sum() / scale)),
        "refused_entry": round(float(rec.country["refused_entry"].sum() / scale)),
        "went_home": round(float(np.count_nonzero(
            model.people.view("state") == State.WENT_HOME) / scale)),
        "still_queued_at_end": round(float(rec.gate["queue_fleeing"][-1].sum() / scale)),
        "peak_queues": peaks,
        "runtime_seconds": round(model.runtime_seconds, 3),
        "package_version": package_version(),
    }


def current_umask() -> int:
    """The process's umask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_text(path: Path, text: str) -> None:
    """Write to a temporary file in the same folder, then rename over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~current_umask())  # mkstemp's 0600 would hide results from others
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_outputs(model: MobilisationModel, folder: Path) -> dict[str, Any]:
    """Write daily.csv and summary.json into `folder`; returns the summary."""
    folder = Path(folder)
    daily = daily_table(model)
    atomic_write_text(folder / "daily.csv", daily.to_csv(index=False, float_format="%.6g"))
    result = summary(model)
    atomic_write_text(folder / "summary.json", json.dumps(result, indent=2) + "\n")
    return result
