"""One run of this project's model, in its own process (started by `benchmarks/run.py`).

    python benchmarks/project_run.py --scale 1.0 [--seed 1] [--departures-out FILE.npz]

Reports (one JSON line, see `common.emit`): the time to import, to build the model (data, world,
policy, initial population) and to run it; the men simulated and the days; the individuals
created; and the agent-days in two senses:

- `men_days`: men simulated x days. Men at home are counts per (region, stratum) whose daily
  decisions are one binomial draw per cell, which is the same distribution as one Bernoulli draw
  per man (docs/ODD.md), so every man is simulated every day;
- `active_days`: individuals who acted x the days they were active (travelling, queued, abroad or
  onward at the end of a day), from the model's DataCollector.

`--departures-out` saves the departures per day and region (the moving agents that the Flee
comparison inserts into Flee) with the world's region ids.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import emit


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--departures-out", type=Path)
    parser.add_argument("overrides", nargs="*", help="extra Hydra overrides")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    import numpy as np

    from sim.config import load_config
    from sim.model import MobilisationModel

    t1, c1 = time.perf_counter(), time.process_time()
    cfg = load_config([f"population.scale={args.scale}", f"seed={args.seed}", "progress=false",
                       *args.overrides])
    model = MobilisationModel(cfg)
    t2, c2 = time.perf_counter(), time.process_time()
    model.run()
    t3, c3 = time.perf_counter(), time.process_time()

    series = model.datacollector.get_model_vars_dataframe()
    # the series are real-population figures: back to the individuals simulated
    active = ((series["travelling"] + series["queued"] + series["abroad"]) * model.scale).round()
    men = int(model.initial_home.sum())
    departures = model.record.region["departures"]
    if args.departures_out:
        args.departures_out.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(args.departures_out, departures=departures.astype(np.int64),
                            region_ids=np.array(model.world.region_ids),
                            start=str(model.start_date), scale=args.scale)
    emit({
        "scale": args.scale,
        "seed": args.seed,
        "import_s": t1 - t0,
        "build_s": t2 - t1,
        "run_s": t3 - t2,
        "build_cpu_s": c2 - c1,
        "run_cpu_s": c3 - c2,
        "model_runtime_s": model.runtime_seconds,
        "men": men,
        "days": model.n_days,
        "individuals": len(model.people),
        "departures": int(departures.sum()),
        "left_russia": int(model.record.gate["crossed_fleeing"].sum()),
        "men_days": men * model.n_days,
        "active_days": int(active.sum()),
    })


if __name__ == "__main__":
    main()
