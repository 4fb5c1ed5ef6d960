"""The cost of keyed draws: CPU-seconds per member, named streams against keyed draws.

    PYTHONPATH=. python benchmarks/keyed_draws.py [--members 32] [--scale 0.01] [--repeats 3]

B members of the historical run (seeds 1..B, the configured parameters) stepped together in
one `sim.engine.Ensemble`, in this process, the two modes interleaved `repeats` times so that
they share the machine's load; CPU time (process time), not wall time. Also the cost of the
alternative that was not taken: a numpy `Generator(Philox(key))` built per (stage, day, place).
Writes benchmarks/keyed_draws.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from sim.config import load_config
from sim.engine import Ensemble

HERE = Path(__file__).resolve().parent


def one_run(mode: str, members: int, scale: float) -> tuple[float, float]:
    """(CPU-s of set-up, CPU-s of stepping) of `members` members drawing in `mode`."""
    configs = [load_config([f"population.scale={scale}", "progress=false", f"draws={mode}",
                            f"seed={seed}"]) for seed in range(1, members + 1)]
    started = time.process_time()
    ensemble = Ensemble(configs)
    built = time.process_time()
    ensemble.run()
    return built - started, time.process_time() - built


def generator_per_key(n: int = 20_000) -> float:
    """Microseconds to build one numpy Generator(Philox(key)) and draw one binomial."""
    started = time.process_time()
    for i in range(n):
        np.random.Generator(np.random.Philox(key=[i, 7])).binomial(50, 0.001)
    return (time.process_time() - started) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=32)
    parser.add_argument("--scale", type=float, default=0.01)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    one_run("keyed", 1, 0.001)  # imports (scipy.special on the first keyed draw) out of the way
    rows = []
    for repeat in range(args.repeats):
        for mode in ("streams", "keyed"):
            setup, stepping = one_run(mode, args.members, args.scale)
            rows.append({"repeat": repeat, "mode": mode, "setup_cpu_s": setup,
                         "stepping_cpu_s": stepping,
                         "cpu_s_per_member": (setup + stepping) / args.members})
            print(rows[-1], flush=True)
    summary = {mode: float(np.median([r["cpu_s_per_member"] for r in rows if r["mode"] == mode]))
               for mode in ("streams", "keyed")}
    out = {"members": args.members, "scale": args.scale, "runs": rows,
           "median_cpu_s_per_member": summary, "generator_per_key_us": generator_per_key()}
    print(json.dumps({k: v for k, v in out.items() if k != "runs"}))
    (HERE / "keyed_draws.json").write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
