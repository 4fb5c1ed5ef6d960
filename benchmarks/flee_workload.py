"""Flee 3.1 on this project's network, with this project's moving agents (in its own process).

    python benchmarks/flee_workload.py --departures FILE.npz --folder DIR [--seed 1]

The network is exported with `sim.flee_export.export_flee` (historical policy: its closures;
regions become conflict zones on the announcement day). The departures per day and region of a
run of this project at the same scale (`project_run.py --departures-out`) are inserted into
Flee as new agents at their home region on the day they left, so Flee moves the same number of
agents over the same days on the same network, with its own rules (route choice by distance and
location scores, 700 km a day, camps as sinks with a small move chance).

Reports Flee's agent-days: the agents that `Ecosystem.evolve` steps, summed over days (Flee
steps every agent every day, wherever it is).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import emit


def export_network(folder: Path, scale: float, seed: int = 1) -> tuple[dict[str, Path], int]:
    """Export the historical network at `scale`; returns the files and the number of days."""
    from sim.behaviour import make_timeline
    from sim.config import load_config, parse_date
    from sim.flee_export import export_flee
    from sim.network import build_world
    from sim.policy import compile_policy
    from sim.population import make_strata

    cfg = load_config([f"population.scale={scale}", f"seed={seed}", "progress=false"])
    start, end = parse_date(cfg.start, "start"), parse_date(cfg.end, "end")
    world = build_world(cfg.network)
    policy = compile_policy(cfg.policy, world, make_strata(list(cfg.population.age_bands)),
                            start, end)
    timeline = make_timeline(cfg.behaviour, start, policy.n_days, world)
    announcement_day = int(np.argmax(timeline.exposure > 0))
    paths = export_flee(world, folder, policy, network=cfg.network, scale=scale,
                        start_date=start, announcement_day=announcement_day)
    return paths, policy.n_days


def run_flee(paths: dict[str, Path], departures: np.ndarray, region_ids: list[str],
             seed: int = 1) -> dict:
    """Insert `departures[t, r]` agents at region r on day t; step Flee through every day."""
    random.seed(seed)
    np.random.seed(seed)
    t0 = time.perf_counter()
    from sim.flee_export import load_flee_ecosystem

    eco, ig, lm = load_flee_ecosystem(paths)
    homes = [lm[r] for r in region_ids]
    t1, c1 = time.perf_counter(), time.process_time()
    agent_days = 0
    for t in range(departures.shape[0]):
        ig.AddNewConflictZones(eco, t)
        for home, n in zip(homes, departures[t].tolist(), strict=True):
            for _ in range(n):
                eco.addAgent(home, attributes={})
        eco.enact_border_closures(t)
        agent_days += len(eco.agents)
        eco.evolve()
    t2, c2 = time.perf_counter(), time.process_time()
    in_camps = sum(loc.numAgents for loc in eco.locations if loc.camp)
    return {"read_s": t1 - t0, "run_s": t2 - t1, "run_cpu_s": c2 - c1, "agents": len(eco.agents),
            "days": int(departures.shape[0]), "agent_days": agent_days, "in_camps": in_camps}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--departures", type=Path, required=True)
    parser.add_argument("--folder", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    saved = np.load(args.departures)
    scale = float(saved["scale"])
    t0 = time.perf_counter()
    paths, n_days = export_network(args.folder, scale, args.seed)
    t1 = time.perf_counter()
    departures = saved["departures"][:n_days]
    result = run_flee(paths, departures, [str(r) for r in saved["region_ids"]], args.seed)
    emit({"scale": scale, "seed": args.seed, "export_s": t1 - t0, **result})


if __name__ == "__main__":
    main()
