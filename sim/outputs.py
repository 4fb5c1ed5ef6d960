"""Turning runs into files: the tidy `daily.csv`, `runs.csv` and `summary.json`.

Figures are real-population equivalents (`sim.results`), so that they compare directly with
reported ones; waits are in days. daily.csv says of every metric whether it is a daily *flow*
(sum it over days), a *stock* at the end of the day (never sum it over days) or a *mean*. Files
are written to a temporary name and renamed, so a folder never holds a half-written result.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.answer import answer
from sim.atomic import atomic_write_text
from sim.names import gate_names, region_names, short_name
from sim.network import AIR, World
from sim.provenance import git_commit, package_version
from sim.report import write_report
from sim.results import METRIC_KIND, Results

if TYPE_CHECKING:
    from sim.ensemble import Ensemble
    from sim.model import MobilisationModel

def provenance() -> dict[str, Any]:
    """What produced the files: the package's version and the code's git commit."""
    return {"package_version": package_version(), "git_commit": git_commit()}


def node_names(world: World) -> dict[str, list[str]]:
    """Readable names beside the codes of daily.csv: exits ('AIR-SVO>TR' is 'Moscow
    Sheremetyevo → Turkey'), countries and regions, in the world's order."""
    return {"gate": gate_names(world), "country": list(world.country_names),
            "region": region_names(world)}


def _tidy(dates: list, nodes: list[str], node_type: list[str] | str,
          metrics: dict[str, tuple[np.ndarray, ...]], names: list[str]) -> pd.DataFrame:
    """One row per date, node and metric; `metrics` maps a metric to its [T, N] value (and,
    for an ensemble, its [T, N] 5th and 95th percentiles)."""
    n_t, n_n = len(dates), len(nodes)
    types = [node_type] * n_n if isinstance(node_type, str) else node_type
    frames = []
    for metric, arrays in metrics.items():
        frame = pd.DataFrame({
            "date": np.repeat(np.array(dates, dtype="datetime64[D]"), n_n),
            "node": np.tile(nodes, n_t),
            "name": np.tile(names, n_t),
            "node_type": np.tile(types, n_t),
            "metric": metric,
            "kind": METRIC_KIND[metric],
            "value": arrays[0].ravel(),
        })
        if len(arrays) == 3:
            frame["p05"], frame["p95"] = arrays[1].ravel(), arrays[2].ravel()
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _gate_types(world: World) -> list[str]:
    return np.where(world.gate_mode == AIR, "air_route", "land_post").tolist()


def daily_table(model: MobilisationModel) -> pd.DataFrame:
    """One run, tidy: date, node, name, node_type, metric, kind, value (persons,
    real-population equivalent)."""
    w, res = model.world, Results.of(model)
    names = node_names(w)
    one = {"gate": res.gate_series(), "country": res.country_series(),
           "region": {"departures": res.departures}}
    return pd.concat([
        _tidy(res.dates, w.gate_ids, _gate_types(w), _single(one["gate"]), names["gate"]),
        _tidy(res.dates, w.country_ids, "country", _single(one["country"]), names["country"]),
        _tidy(res.dates, w.region_ids, "region", _single(one["region"]), names["region"]),
    ], ignore_index=True)


def _single(metrics: dict[str, np.ndarray]) -> dict[str, tuple[np.ndarray, ...]]:
    return {k: (v,) for k, v in metrics.items()}


def ensemble_daily_table(ens: Ensemble) -> pd.DataFrame:
    """The ensemble, tidy: date, node, name, node_type, metric, kind, value (the median over
    the runs), p05, p95 (the 90 % band; with one run all three are the run's value)."""
    w = ens.results[0].world
    names = node_names(w)
    bands = ens.node_bands()
    dates = ens.results[0].dates
    return pd.concat([
        _tidy(dates, w.gate_ids, _gate_types(w), bands["gate"][1], names["gate"]),
        _tidy(dates, w.country_ids, "country", bands["country"][1], names["country"]),
        _tidy(dates, w.region_ids, "region", bands["region"][1], names["region"]),
    ], ignore_index=True)


def summary(ens: Ensemble, found: dict[str, Any] | None = None) -> dict[str, Any]:
    """summary.json: the run's settings and provenance, the headline medians that a sweep's
    summary lists, and the whole answer (`answer`)."""
    found = found or answer(ens)
    fig = found["figures"]
    policy = ens.config.policy
    return {
        "policy": policy.name,
        "description": policy.description,
        "seed": ens.draws[0].seed,
        "runs": ens.runs,
        "seeds": [d.seed for d in ens.draws],
        "particles": [d.particle for d in ens.draws],
        "posterior": ens.posterior.source if ens.posterior is not None else None,
        "draws": ens.describe_draws(),
        "population_scale": ens.config.population.scale,
        "start": ens.config.start,
        "end": ens.config.end,
        # medians over the runs, for a sweep's summary table
        "men_at_risk": round(float(np.median([r.men_at_risk for r in ens.results]))),
        "decided_to_flee": round(float(np.median([r.departures.sum() for r in ens.results]))),
        "left_russia": round(fig["left_by_end"]["median"]),
        "left_russia_by_2022_09_24": round(fig["left_by_2022_09_24"]["median"]),
        "left_russia_by_2022_10_04": round(fig["left_by_2022_10_04"]["median"]),
        "abroad_at_end": round(fig["abroad_at_end"]["median"]),
        "stopped_at_border": round(fig["stopped_at_border"]["median"]),
        **found,
        "actions": [{"kind": a.kind.value, "targets": list(a.targets),
                     "target_names": [short_name(n) for n in _target_names(ens, a.targets)],
                     "start": a.start, "end": a.end} for a in policy.actions],
        "runtime_seconds": round(ens.seconds, 3),
        **provenance(),
    }


def _target_names(ens: Ensemble, targets: list[str]) -> list[str]:
    from sim.policy import canonical_targets

    w = ens.results[0].world
    countries = dict(zip(w.country_ids, w.country_names, strict=True))
    ids = canonical_targets(list(targets), w, "policy")
    return [w.site_names.get(t) or countries.get(t) or t for t in ids]


def write_outputs(ens: Ensemble, folder: Path) -> dict[str, Any]:
    """daily.csv, runs.csv, summary.json, report.md and the plots into `folder`; returns the
    summary."""
    folder = Path(folder)
    atomic_write_text(folder / "daily.csv",
                      ensemble_daily_table(ens).to_csv(index=False, float_format="%.6g"))
    atomic_write_text(folder / "runs.csv", ens.to_frame().to_csv(index=False,
                                                                 float_format="%.6g"))
    result = summary(ens)
    atomic_write_text(folder / "summary.json", json.dumps(result, indent=2, default=str) + "\n")
    write_report(ens, result, folder)
    return result
