"""The ensemble's answer, named: headline figures, routes (land posts by country, air by
destination, the busiest exits), dates by which half and 90 % had left, queues, and the routes
no fitted count constrains - each a median and a 90 % interval over the runs, with ids and
names. summary.json holds it (sim/outputs.py) and report.md puts it in words (sim/report.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.datasets import default_data_dir
from sim.names import exit_label, gate_names
from sim.network import AIR, World
from sim.results import band, supported

if TYPE_CHECKING:
    from sim.ensemble import Ensemble

TOP_EXITS = 10


def _figure(values: np.ndarray, ens: Ensemble, unit: str = "people") -> dict[str, Any]:
    lo, mid, hi = (float(x) for x in band(values))
    r_mid, r_lo, r_hi = supported(mid, lo, hi, ens.resolution if unit == "people" else 0.01)
    return {"median": mid, "p05": lo, "p95": hi,
            "rounded": {"median": r_mid, "p05": r_lo, "p95": r_hi}}


def counted_countries(world: World, data_dir: str | None = None) -> set[str]:
    """Destination ids that at least one fitted count (observations_2022.csv, use 'fit')
    names, by country name, id or post id: the routes the calibration constrains."""
    folder = Path(data_dir or default_data_dir())
    rows = pd.read_csv(folder / "observations_2022.csv", dtype=str).fillna("")
    rows = rows[rows["use"] == "fit"]
    text = " ".join(rows["destination"].str.casefold())
    posts = " ".join(rows["post_ids"])
    counted = set()
    for cid, name in zip(world.country_ids, world.country_names, strict=True):
        gate_posts = [g for g, c in zip(world.gate_ids, world.gate_country, strict=True)
                      if world.country_ids[c] == cid]
        if name.casefold() in text or any(g in posts for g in gate_posts):
            counted.add(cid)
    return counted


def answer(ens: Ensemble) -> dict[str, Any]:
    """The ensemble's answer, named: headline figures, routes, dates, queues and the routes no
    count constrains, each a median and a 90 % interval over the runs."""
    w = ens.results[0].world
    frame = ens.to_frame()
    reduced = ens.reduce().set_index("outcome")
    figures = {key: {"label": row["label"], "unit": row["unit"], "median": row["median"],
                     "p05": row["p05"], "p95": row["p95"],
                     "rounded": {"median": row["rounded_median"], "p05": row["rounded_p05"],
                                 "p95": row["rounded_p95"]}}
               for key, row in reduced.iterrows()}
    exits = frame[[f"exit_{g}" for g in w.gate_ids]].to_numpy(float)  # [runs, G]
    is_air = w.gate_mode == AIR
    counted = counted_countries(w, ens.config.network.data_dir)

    def by_country(mask: np.ndarray) -> list[dict[str, Any]]:
        rows = []
        for c, (cid, name) in enumerate(zip(w.country_ids, w.country_names, strict=True)):
            gates = mask & (w.gate_country == c)
            if gates.any():
                values = exits[:, gates].sum(axis=1)
                if values.max() > 0:
                    rows.append({"id": cid, "name": name, "counted": cid in counted,
                                 **_figure(values, ens)})
        return sorted(rows, key=lambda r: -r["median"])

    medians = np.median(exits, axis=0)
    top = [int(g) for g in np.argsort(-medians)[:TOP_EXITS] if medians[g] > 0]
    queues = np.stack([r.queue for r in ens.results])  # [runs, T, G]
    peak = queues.max(axis=1)  # [runs, G]
    peak_day = np.median(queues.argmax(axis=1), axis=0)
    top_queues = [int(g) for g in np.argsort(-np.median(peak, axis=0))[:TOP_EXITS]
                  if np.median(peak[:, g]) > 0]
    dates = ens.results[0].dates
    by_share = {}
    for key, share in (("half", 0.5), ("ninety_percent", 0.9)):
        days = [r.date_by_share(share) for r in ens.results]
        offsets = np.array([(d - dates[0]).days for d in days if d is not None], dtype=float)
        by_share[key] = ({"median": dates[int(np.round(np.median(offsets)))].isoformat(),
                          "p05": dates[int(np.floor(np.quantile(offsets, 0.05)))].isoformat(),
                          "p95": dates[int(np.ceil(np.quantile(offsets, 0.95)))].isoformat()}
                         if offsets.size else None)
    land, air = by_country(~is_air), by_country(is_air)
    destinations = by_country(np.ones(w.n_gates, dtype=bool))
    return {
        "figures": figures,
        "dates_by_which_left": by_share,
        "destinations": destinations,
        "routes": {
            "land_by_country": land,
            "air_by_destination": air,
            "top_exits": [{"id": w.gate_ids[g], "name": gate_names(w)[g],
                           "label": exit_label(w, g),
                           "country": w.country_names[int(w.gate_country[g])],
                           **_figure(exits[:, g], ens)} for g in top],
        },
        "peak_queues": [{"id": w.gate_ids[g], "name": gate_names(w)[g],
                         "label": exit_label(w, g), "day": dates[int(peak_day[g])].isoformat(),
                         **_figure(peak[:, g], ens)} for g in top_queues],
        "uncounted_routes": [{"id": d["id"], "name": d["name"], "median": d["median"],
                              "p05": d["p05"], "p95": d["p95"]}
                             for d in destinations if not d["counted"]],
    }


