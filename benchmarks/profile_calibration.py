"""Where a calibration's time goes: `python benchmarks/profile_calibration.py` writes
benchmarks/profile_calibration.txt (about two minutes on two cores).

The workload is the calibration's late generations: 50 proposals around the particles of a
posterior (a Metropolis step: the survivors' covariance x 2.38^2 / d, reflected at the prior's
bounds), each simulated to the fit targets' last day at scale 0.01 with the calibration's cap,
in this process (CPU time; the pool's own cost is measured by
benchmarks/calibration_generation.py). Sections: the parts of a batch (set-up, stepping, the
observation operator), the CPU of a member by simulated day, CPU per member against the batch
size, early rejection at the last generation's tolerance, and cProfile of 64 posterior
particles through `sim.batch.run_members` (B = 32, the whole horizon).
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def proposals(problem, posterior, n: int, seed: int) -> list[dict[str, float]]:
    params = problem.params
    z = np.column_stack([[p.to_z(float(v)) for v in posterior[p.name]] for p in params])[:n]
    lo, hi = np.array([p.z_low for p in params]), np.array([p.z_high for p in params])
    cov = 2.38**2 / len(params) * np.cov(z, rowvar=False)
    moved = z + np.random.default_rng(seed).multivariate_normal(np.zeros(len(params)), cov,
                                                                size=len(z))
    u = np.mod((moved - lo) / (hi - lo), 2.0)
    moved = lo + np.where(u > 1.0, 2.0 - u, u) * (hi - lo)
    return [{p.name: p.from_z(float(v)) for p, v in zip(params, row, strict=True)}
            for row in moved]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posterior", default="results/calibration/posterior.csv")
    parser.add_argument("--out", type=Path, default=HERE / "profile_calibration.txt")
    args = parser.parse_args(argv)

    # this folder's profile.py would shadow the standard library's, which cProfile imports
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
    import cProfile
    import pstats

    import pandas as pd
    from omegaconf import OmegaConf

    from calibration.parameters import load_parameters
    from calibration.paths import CONF_DIR, PROJECT
    from calibration.problem import make_problem
    from sim.batch import Member, run_members
    from sim.engine import Ensemble, one_blas_thread

    cfg = OmegaConf.load(CONF_DIR / "calibrate.yaml")
    params = load_parameters(OmegaConf.load(CONF_DIR / "parameters.yaml").parameters)
    problem = make_problem(PROJECT / cfg.observations, list(cfg.model_overrides), params,
                           float(cfg.scale), int(cfg.max_extrapolated_days))
    problem.abort_departures = float(cfg.abort_departures)
    posterior = pd.read_csv(PROJECT / args.posterior)
    tolerance = float(posterior["distance"].max())
    values = proposals(problem, posterior, 50, seed=7)
    seeds = list(range(300, 350))
    problem.simulate_fit_batch(values[:2], seeds[:2])  # first-call costs out of the way
    lines = ["# Where a calibration generation's time goes", "", f"command: python benchmarks/"
             f"profile_calibration.py --posterior {args.posterior}", ""]

    # 1. the parts of a batch
    profile = cProfile.Profile(time.process_time)
    cpu = time.process_time()
    profile.enable()
    for i in range(0, 50, 25):
        problem.simulate_fit_batch(values[i: i + 25], seeds[i: i + 25])
    profile.disable()
    total = time.process_time() - cpu
    stats = pstats.Stats(profile)
    parts = {"Ensemble set-up (setup_member, stacking)": ("sim/engine.py", "__init__"),
             "stepping (Ensemble.run)": ("sim/engine.py", "run"),
             "observation operator (simulate_targets)": ("calibration/measure.py",
                                                         "simulate_targets")}
    lines += ["## 1. Two batches of 25 proposals, run to the fit targets' last day (CPU s)", "",
              f"total {total:.2f} CPU-s, {total / 50:.3f} a proposal"]
    for label, (path, name) in parts.items():
        seconds = sum(row[3] for (file, _, func), row in stats.stats.items()  # cumulative
                      if file.endswith(path) and func == name)
        lines.append(f"  {label}: {seconds:.2f} ({seconds / total:.0%})")

    # 2. CPU by simulated day
    setups = [problem.values_config(v, s) for v, s in zip(values[:25], seeds[:25], strict=True)]
    ensemble = Ensemble([c for c, _, _ in setups], worlds=[w for _, w, _ in setups])
    per_day = []
    with one_blas_thread():
        for _ in range(problem.fit_last_day + 1):
            cpu = time.process_time()
            ensemble.step()
            per_day.append(time.process_time() - cpu)
    share = np.cumsum(per_day) / np.sum(per_day)
    lines += ["", "## 2. A batch of 25 by simulated day", "",
              "share of the stepping's CPU done by the end of day "
              + ", ".join(f"{d}: {share[d]:.0%}" for d in (7, 10, 15, 20, 25, 40, 60)),
              "ms a day: " + " ".join(f"{1000 * s:.0f}" for s in per_day)]

    # 3. batch size
    lines += ["", "## 3. CPU per proposal against the batch size (50 proposals, whole runs)", ""]
    for size in (5, 10, 25, 50):
        cpu = time.process_time()
        for i in range(0, 50, size):
            problem.simulate_fit_batch(values[i: i + size], seeds[i: i + size])
        lines.append(f"  B = {size}: {(time.process_time() - cpu) / 50:.3f} CPU-s")

    # 4. early rejection
    lines += ["", f"## 4. Early rejection at the posterior's largest distance ({tolerance:.4f})",
              ""]
    losses = {}
    for label, tol in (("every run to its end", None), ("with the tolerance", tolerance)):
        cpu = time.process_time()
        sims = [s for i in range(0, 50, 25) for s in problem.simulate_fit_batch(
            values[i: i + 25], seeds[i: i + 25], None if tol is None else [tol] * 25)]
        losses[label] = np.array([problem.fit_loss(s) for s in sims])
        lines.append(f"  {label}: {time.process_time() - cpu:.2f} CPU-s")
    full, early = losses.values()
    kept = full <= tolerance
    same = np.array_equal(kept, early <= tolerance) and np.array_equal(full[kept], early[kept])
    lines.append(f"  kept {kept.sum()} of 50; the same kept proposals with the same distances: "
                 f"{same}")

    # 5. the engine with posterior particles
    particles = [{p.name: float(r[p.name]) for p in params}
                 for _, r in posterior.head(64).iterrows()]
    members = [Member(c, w) for c, w, _ in (problem.values_config(v, 1 + i)
                                              for i, v in enumerate(particles))]
    profile = cProfile.Profile(time.process_time)
    cpu = time.process_time()
    profile.enable()
    run_members(members, batch_size=32)
    profile.disable()
    seconds = time.process_time() - cpu
    text = io.StringIO()
    pstats.Stats(profile, stream=text).sort_stats("tottime").print_stats(30)
    lines += ["", "## 5. 64 posterior particles, the whole horizon, run_members(B=32): "
              f"{seconds / 64:.3f} CPU-s a member (with cProfile's overhead)", "",
              text.getvalue().strip()]
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines[:40]))


if __name__ == "__main__":
    main()
