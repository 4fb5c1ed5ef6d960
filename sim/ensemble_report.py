"""`python -m sim runs=N`: an ensemble of N seeds of one scenario, and its report.

The members (seeds seed, seed + 1, ..., seed + N - 1) are stepped together in batches on the
local cores (`sim.parallel.run_batched`); each member is reduced to its outcomes as soon as it
is done. The folder gets `ensemble.csv` (one row per member) and `summary.json` (each outcome's
median and 90 % interval over the members, rounded to what the ensemble supports).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from sim.atomic import atomic_write_text
from sim.config import SimConfig


def member_outcomes(configs: list[SimConfig]) -> list[dict[str, Any]]:
    """A batch of members stepped together, each reduced to its outcomes (a worker's job)."""
    from sim.batch import Member, run_members
    from sim.parallel import world_for

    runs = run_members([Member(c, world_for(c.network)) for c in configs])
    out = []
    for config, run in zip(configs, runs, strict=True):
        result = run.results.outcomes()
        out.append({"seed": config.seed, **result["outcomes"],
                    "left_russia": float(run.results.crossed_fleeing.sum()),
                    **{f"entered_{k}": v for k, v in result["destinations"].items()}})
    return out


def run_ensemble(cfg: SimConfig, folder: Path, n_jobs: int = -1) -> dict[str, Any]:
    """Run `cfg.runs` seeds of `cfg`, write ensemble.csv and summary.json; the summary."""
    from sim.parallel import ParallelConfig, run_batched
    from sim.results import round_to_support

    started = time.perf_counter()
    configs = [dataclasses.replace(cfg, seed=cfg.seed + i, runs=1, progress=False)
               for i in range(cfg.runs)]
    rows = run_batched(member_outcomes, configs, ParallelConfig(n_jobs=n_jobs),
                       desc="members", progress=cfg.progress)
    columns = list(rows[0])
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(folder / "ensemble.csv", text.getvalue())
    outcomes: dict[str, dict[str, float]] = {}
    for name in columns[1:]:
        values = np.array([row[name] for row in rows], dtype=float)
        values = values[np.isfinite(values)]
        if len(values) == 0:
            continue
        low, mid, high = np.percentile(values, [5, 50, 95])
        rounded = round_to_support(np.array([low, mid, high]), low, high)
        outcomes[name] = {"median": float(rounded[1]), "p05": float(rounded[0]),
                          "p95": float(rounded[2])}
    summary = {
        "policy": cfg.policy.name, "runs": cfg.runs,
        "seeds": [cfg.seed, cfg.seed + cfg.runs - 1],
        "population_scale": cfg.population.scale, "start": cfg.start, "end": cfg.end,
        "left_russia": outcomes["left_russia"]["median"],
        "left_russia_by_2022_10_04": outcomes["left_by_2022_10_04"]["median"],
        "stopped_at_border": outcomes["stopped_at_border"]["median"],
        "outcomes": outcomes,
        "runtime_seconds": round(time.perf_counter() - started, 3),
    }
    atomic_write_text(folder / "summary.json", json.dumps(summary, indent=2) + "\n")
    return summary
