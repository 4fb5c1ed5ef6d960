"""One ABC generation of the calibration on every row, timed end to end (a child process).

    python benchmarks/calibration_generation.py --particles results/calibration/posterior.csv \
        --steps 3 --jobs 2 --out /tmp/generation.npz

The generation starts from the particles of a posterior file (their distances as the state's),
as the calibration's last generations do, and runs through `calibration.abc.run_abc` with the
calibration's settings (conf/calibration/calibrate.yaml: 100 particles, alpha 0.5, scale 0.01,
abort_departures) and `--jobs` local worker processes, its Metropolis steps capped at
`--steps`. Run with another tree first on PYTHONPATH to time that tree's code on the same
generation (benchmarks/before_after.py does). Reports one JSON line (`common.emit`): wall
time, the CPU time of this process and its workers, simulations; writes the particles and
distances to `--out` so that two trees' generations can be compared.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import emit


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--particles", required=True, help="a posterior.csv")
    parser.add_argument("--steps", type=int, default=3, help="Metropolis steps at most")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", default=None, help="npz of the particles and distances")
    args = parser.parse_args(argv)

    import pandas as pd
    import psutil
    from omegaconf import OmegaConf

    from calibration.abc import run_abc
    from calibration.parameters import load_parameters
    from calibration.paths import CONF_DIR, PROJECT
    from calibration.problem import make_problem
    from sim.parallel import ParallelConfig, stop_local_workers

    cfg = OmegaConf.load(CONF_DIR / "calibrate.yaml")
    params = load_parameters(OmegaConf.load(CONF_DIR / "parameters.yaml").parameters)
    problem = make_problem(PROJECT / cfg.observations, list(cfg.model_overrides), params,
                           float(cfg.scale), int(cfg.max_extrapolated_days))
    problem.abort_departures = float(cfg.abort_departures)
    problem.loss_kind = str(cfg.loss)
    posterior = pd.read_csv(args.particles)
    z = np.column_stack([[p.to_z(float(v)) for v in posterior[p.name]] for p in params])
    rho = posterior["distance"].to_numpy(float)
    generation = int(posterior["generation"].max())
    me = psutil.Process()

    def cpu_seconds() -> float:
        total = sum(me.cpu_times()[:2])
        for child in me.children(recursive=True):
            with contextlib.suppress(psutil.NoSuchProcess):  # a worker that just ended
                total += sum(child.cpu_times()[:2])
        return total

    # start the workers (their imports, the problem's first unpickling) before the clock
    from calibration.problem import FitJob, simulate_fit_batch
    from sim.parallel import run_batched

    warm = [FitJob(problem, {p.name: p.from_z(float(v))
                             for p, v in zip(params, z[i], strict=True)}, i) for i in range(2)]
    run_batched(simulate_fit_batch, warm, ParallelConfig(n_jobs=args.jobs), batch_size=1)

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        rng = np.random.default_rng(int(cfg.abc.seed))
        meta = {"generation": generation, "sims": 0, "seconds": 0.0, "done": False,
                "stopped_by": "generations", "history": [], "eps": float("inf"), "step": 0,
                "steps": 0, "accepted": 0, "rng": rng.bit_generator.state}
        np.savez(work / "abc.npz", z=z, rho=rho, meta=np.array(json.dumps(meta)))
        run_cfg = OmegaConf.merge(cfg, {"out_dir": str(work), "abc": {
            "generations": generation + 1, "max_steps": args.steps,
            "max_walltime_minutes": None}})
        state: dict = {}
        wall0, cpu0 = time.perf_counter(), cpu_seconds()
        out = run_abc(problem, run_cfg, ParallelConfig(n_jobs=args.jobs), work, state)
        cpu1 = cpu_seconds()  # before the workers are stopped
        wall = time.perf_counter() - wall0
        history = pd.read_csv(work / "abc_generations.csv").iloc[-1]
    stop_local_workers()
    if args.out:
        np.savez(args.out, z=out[[p.name for p in params]].to_numpy(),
                 rho=out["distance"].to_numpy())
    emit({"wall_s": wall, "cpu_s": cpu1 - cpu0, "simulations": int(history["simulations"]),
          "steps": int(history["steps"]), "acceptance": float(history["acceptance"]),
          "tolerance": float(history["tolerance"])})


if __name__ == "__main__":
    main()
