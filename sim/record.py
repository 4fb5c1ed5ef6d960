"""What a run records each day, in agent units (divide by the scale for the real population)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from sim.network import World

GATE_METRICS = ("crossed_fleeing", "crossed_normal", "queue_fleeing", "queue_normal",
                "wait_days_sum", "arrivals", "refused", "refused_entry", "stopped", "capacity",
                "served_fleeing", "arrived_normal", "normal_gave_up")
COUNTRY_METRICS = ("entered_fleeing", "entered_onward", "entered_normal", "onward_fleeing",
                   "returned_fleeing", "left_normal", "present_fleeing", "present_normal",
                   "refused_entry")
REGION_METRICS = ("departures", "at_home")

Tables = dict[str, dict[str, np.ndarray]]  # kind -> metric -> [B, T, places]


@dataclass
class RunRecord:
    """Everything a run produced, in agent units (divide by scale for the real population)."""

    dates: list[dt.date]
    gate: dict[str, np.ndarray]  # metric -> [T, G]
    country: dict[str, np.ndarray]  # metric -> [T, C]
    region: dict[str, np.ndarray]  # metric -> [T, R]


def new_records(start: dt.date, n_days: int, world: World,
                n_members: int) -> tuple[Tables, list[RunRecord]]:
    """Zeroed tables with a leading member axis, and each member's record as views onto them."""
    sizes = {"gate": (GATE_METRICS, world.n_gates),
             "country": (COUNTRY_METRICS, world.n_countries),
             "region": (REGION_METRICS, world.n_regions)}
    tables = {kind: {m: np.zeros((n_members, n_days, n)) for m in metrics}
              for kind, (metrics, n) in sizes.items()}
    dates = [start + dt.timedelta(days=t) for t in range(n_days)]
    records = [RunRecord(dates=dates, **{kind: {m: table[b] for m, table in by_metric.items()}
                                         for kind, by_metric in tables.items()})
               for b in range(n_members)]
    return tables, records
