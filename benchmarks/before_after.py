"""Before and after: the full-scale and calibration-scale runs of this tree and of another git
revision (default `main`), side by side in one invocation, interleaved run by run so that the
machine's load falls on both alike.

    python benchmarks/before_after.py [--baseline main] [--repeats-full 3] [--repeats-cal 5]

Part of `make bench` (benchmarks/run.py --baseline REF); alone it is the quick check that a
change of the code did not slow the model down (the project's budget: within 10 %). Each run is
the revision's own benchmarks/project_run.py in a fresh process: the model built with its
defaults and `model.run()` timed (`run_s`), and the process's wall time.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import HERE, ROOT, run_child

SCALES = {"full scale (1.0)": 1.0, "calibration scale (0.01)": 0.01}
STARTUP = ["-m", "sim", "population.scale=1.0", "runs=1"]  # the command, in a fresh process
ENSEMBLE = (0.01, 32)  # scale, members: this tree's benchmarks/ensemble_run.py on either tree
BUDGET = 1.10  # after / before at most
GENERATION_PARTICLES = "results/calibration/posterior.csv"  # a generation starts from these


def export(ref: str, into: Path) -> Path:
    """The tree of `ref` (committed files only) in a folder."""
    archive = into / "tree.tar"
    subprocess.run(["git", "archive", "--format=tar", "-o", str(archive), ref], cwd=ROOT,
                   check=True)
    tree = into / "tree"
    with tarfile.open(archive) as tar:
        tar.extractall(tree, filter="data")
    return tree


def one_run(tree: Path, scale: float, seed: int, timeout: float) -> dict:
    res = run_child([str(tree / "benchmarks" / "project_run.py"), "--scale", str(scale),
                     "--seed", str(seed)], timeout=timeout,
                    env={"PYTHONPATH": str(tree)}, cwd=tree)
    return {"run_s": res.data["run_s"], "run_cpu_s": res.data.get("run_cpu_s", float("nan")),
            "wall_s": res.wall_s, "cpu_s": res.user_s + res.sys_s,
            "peak_rss_mb": res.peak_rss_mb}


def ensemble_run(tree: Path, timeout: float, members: int = ENSEMBLE[1],
                 posterior: str | None = None) -> dict:
    """B members at the calibration scale through the tree's `sim.batch.run_members` (over
    the particles of `posterior`, a file of this tree, if given)."""
    scale = ENSEMBLE[0]
    extra = ["--posterior", str(ROOT / posterior)] if posterior else []
    res = run_child([str(HERE / "ensemble_run.py"), "--scale", str(scale), "--members",
                     str(members), *extra], timeout=timeout, env={"PYTHONPATH": str(tree)},
                    cwd=tree)
    return {"run_s": res.data["run_s"], "run_cpu_s": res.data["run_cpu_s"],
            "wall_s": res.wall_s, "cpu_s": res.user_s + res.sys_s,
            "peak_rss_mb": res.peak_rss_mb}


def startup_run(tree: Path, work: Path, cache: Path, timeout: float) -> dict:
    """A fresh `python -m sim population.scale=1.0 runs=1` of `tree`, its outputs written to a
    folder under `work` (removed after) and its worlds cached in `cache`."""
    folder = work / f"run-{len(list(work.glob('run-*')))}"
    res = run_child([*STARTUP, f"hydra.run.dir={folder}"], timeout=timeout,
                    env={"PYTHONPATH": str(tree), "SIM_WORLD_CACHE": str(cache)}, cwd=tree,
                    reports=False)
    shutil.rmtree(folder, ignore_errors=True)
    return {"wall_s": res.wall_s, "cpu_s": res.user_s + res.sys_s,
            "peak_rss_mb": res.peak_rss_mb}


def startup_before_after(before_tree: Path, repeats: int, timeout: float, log=print) -> dict:
    """The command's fresh start-up before and after, interleaved: a first run of this tree
    with an empty world cache, then `repeats` runs of each with this tree's cache warm."""
    with tempfile.TemporaryDirectory() as tmp:
        work, cache = Path(tmp) / "runs", Path(tmp) / "world_cache"
        work.mkdir()
        cold = startup_run(ROOT, work, cache, timeout)
        log(f"start-up after, empty world cache: wall {cold['wall_s']:.2f} s")
        runs: dict[str, list[dict]] = {"before": [], "after": []}
        for i in range(repeats):
            for side, tree in (("before", before_tree), ("after", ROOT)):
                runs[side].append(startup_run(tree, work, cache, timeout))
                log(f"start-up {side} {i + 1}/{repeats}: wall {runs[side][-1]['wall_s']:.2f} s, "
                    f"peak {runs[side][-1]['peak_rss_mb']:.0f} MiB")
    row = {side: {k: statistics.median(r[k] for r in rs) for k in rs[0]}
           for side, rs in runs.items()}
    row.update(runs=repeats, after_empty_cache=cold, command="python -m " + " ".join(STARTUP[1:]))
    return row


def generation_run(tree: Path, particles: Path, steps: int, timeout: float) -> dict:
    """One ABC generation (benchmarks/calibration_generation.py) with `tree`'s code: its wall
    and CPU time (this process and its two workers) and its particles (in a temporary file)."""
    out = Path(tempfile.mkstemp(suffix=".npz")[1])
    res = run_child([str(HERE / "calibration_generation.py"), "--particles", str(particles),
                     "--steps", str(steps), "--jobs", "2", "--out", str(out)],
                    timeout=timeout, env={"PYTHONPATH": str(tree)}, cwd=tree)
    import numpy as np

    with np.load(out) as f:
        particles_out = {"z": f["z"], "rho": f["rho"]}
    out.unlink()
    return {"wall_s": res.data["wall_s"], "cpu_s": res.data["cpu_s"],
            "simulations": res.data["simulations"], "peak_rss_mb": res.peak_rss_mb,
            "particles": particles_out}


def generation_before_after(before_tree: Path, repeats: int, steps: int, timeout: float,
                            log=print) -> dict:
    """A calibration generation before and after, interleaved; whether both gave the same
    particles and distances."""
    particles = ROOT / GENERATION_PARTICLES
    runs: dict[str, list[dict]] = {"before": [], "after": []}
    for i in range(repeats):
        for side, tree in (("before", before_tree), ("after", ROOT)):
            runs[side].append(generation_run(tree, particles, steps, timeout))
            log(f"ABC generation {side} {i + 1}/{repeats}: wall "
                f"{runs[side][-1]['wall_s']:.1f} s, CPU {runs[side][-1]['cpu_s']:.1f} s")
    import numpy as np

    same = all(np.array_equal(a["particles"][k], b["particles"][k])
               for a, b in zip(runs["before"], runs["after"], strict=True) for k in ("z", "rho"))
    row = {side: {k: statistics.median(r[k] for r in rs) for k in ("wall_s", "cpu_s",
                                                                    "simulations")}
           for side, rs in runs.items()}
    row.update(runs=repeats, steps=steps, same_particles=same, particles=GENERATION_PARTICLES)
    return row


def generation_markdown(g: dict) -> list[str]:
    b, a = g["before"], g["after"]
    return [f"### One ABC generation of the calibration (from `{g['particles']}`, at most "
            f"{g['steps']} Metropolis steps, 2 worker processes; medians of {g['runs']})", "",
            "| | wall s | CPU s (process and workers) | simulations |", "| --- | --- | --- | --- |",
            f"| before | {b['wall_s']:.1f} | {b['cpu_s']:.1f} | {b['simulations']:.0f} |",
            f"| after | {a['wall_s']:.1f} (×{a['wall_s'] / b['wall_s']:.2f}) | {a['cpu_s']:.1f} "
            f"(×{a['cpu_s'] / b['cpu_s']:.2f}) | {a['simulations']:.0f} |", "",
            "The same particles and distances before and after: "
            + ("yes." if g["same_particles"] else "NO."), ""]


def before_after(baseline: str, repeats_full: int, repeats_cal: int,
                 timeout: float = 1800.0, log=print, repeats_ensemble: int = 1,
                 before_tree: Path | None = None, repeats_generation: int = 0,
                 generation_steps: int = 3,
                 ensembles: list[tuple[int, str | None]] | None = None,
                 only: str = "all") -> dict:
    """Medians of `run_s`, wall time and peak memory, before (baseline) and after (this tree);
    the baseline's tree is exported from git unless given. `ensembles`: (members, posterior
    file or None) of the run_members workloads (default: 32 historical members)."""
    repeats = {1.0: repeats_full, 0.01: repeats_cal}
    out: dict = {"baseline": baseline, "scales": {}}
    with tempfile.TemporaryDirectory() as tmp:
        before_tree = before_tree or export(baseline, Path(tmp))
        for label, scale in (SCALES if only == "all" else {}).items():
            runs: dict[str, list[dict]] = {"before": [], "after": []}
            for i in range(repeats[scale]):
                for side, tree in (("before", before_tree), ("after", ROOT)):
                    runs[side].append(one_run(tree, scale, 1 + i, timeout))
                    log(f"{label} {side} {i + 1}/{repeats[scale]}: "
                        f"run {runs[side][-1]['run_s']:.2f} s, "
                        f"wall {runs[side][-1]['wall_s']:.2f} s")
            row = {side: {k: statistics.median(r[k] for r in rs) for k in rs[0]}
                   for side, rs in runs.items()}
            row["runs"] = repeats[scale]
            for key in ("run_s", "run_cpu_s", "wall_s", "cpu_s"):
                row[f"ratio_{key}"] = row["after"][key] / row["before"][key]
            out["scales"][label] = row
        for members, posterior in ([] if only == "generation" else
                                   ensembles or [(ENSEMBLE[1], None)]):
            label = (f"{members} members at scale {ENSEMBLE[0]} (run_members, "
                     + (f"particles of {posterior})" if posterior else "historical seeds)"))
            runs = {"before": [], "after": []}
            for i in range(repeats_ensemble):
                for side, tree in (("before", before_tree), ("after", ROOT)):
                    runs[side].append(ensemble_run(tree, timeout, members, posterior))
                    log(f"{label} {side} {i + 1}/{repeats_ensemble}: "
                        f"run {runs[side][-1]['run_s']:.2f} s, "
                        f"CPU {runs[side][-1]['run_cpu_s']:.2f} s")
            row = {side: {k: statistics.median(r[k] for r in rs) for k in rs[0]}
                   for side, rs in runs.items()}
            row["runs"] = repeats_ensemble
            row["members"] = members
            for key in ("run_s", "run_cpu_s", "wall_s", "cpu_s"):
                row[f"ratio_{key}"] = row["after"][key] / row["before"][key]
            out["scales"][label] = row
        if only == "all":
            out["startup"] = startup_before_after(before_tree, repeats_full, timeout, log)
        if repeats_generation and only in ("all", "generation"):
            out["generation"] = generation_before_after(before_tree, repeats_generation,
                                                        generation_steps, timeout, log)
    return out


def markdown(result: dict) -> str:
    lines = [f"## Before and after (baseline `{result['baseline']}`, interleaved runs)", "",
             "Medians; CPU times are steadier than wall times when other processes share the "
             "cores.", "",
             "| workload | runs each | model.run() wall before → after | model.run() CPU | "
             "process wall | process CPU | peak MiB |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for label, r in result["scales"].items():
        b, a = r["before"], r["after"]

        def cell(key: str, b: dict = b, a: dict = a) -> str:
            return f"{b[key]:.2f} s → {a[key]:.2f} s (×{a[key] / b[key]:.2f})"

        lines.append(f"| {label} | {r['runs']} | {cell('run_s')} | {cell('run_cpu_s')} | "
                     f"{cell('wall_s')} | {cell('cpu_s')} | "
                     f"{b['peak_rss_mb']:.0f} → {a['peak_rss_mb']:.0f} |")
    for label, r in result["scales"].items():
        if "members" in r:
            b, a = (r[side]["run_cpu_s"] / r["members"] for side in ("before", "after"))
            lines.append(f"- {label}: {b:.3f} → {a:.3f} CPU-s a member (×{a / b:.2f})")
    if result["scales"]:
        worst = max(r["ratio_run_cpu_s"] for r in result["scales"].values())
        lines += ["", f"Slowest ratio of model.run()'s CPU time {worst:.2f}: "
                  + ("within" if worst <= BUDGET else "OUTSIDE")
                  + f" the budget of {BUDGET:.2f}.", ""]
    if "startup" in result:
        lines += startup_markdown(result["startup"])
    if "generation" in result:
        lines += generation_markdown(result["generation"])
    return "\n".join(lines)


def startup_markdown(s: dict) -> list[str]:
    b, a, cold = s["before"], s["after"], s["after_empty_cache"]
    return [f"### Start-up: a fresh `{s['command']}` (outputs written, medians of {s['runs']})",
            "", "| | wall s | CPU s | peak MiB |", "| --- | --- | --- | --- |",
            f"| before | {b['wall_s']:.2f} | {b['cpu_s']:.2f} | {b['peak_rss_mb']:.0f} |",
            f"| after, world cached | {a['wall_s']:.2f} (×{a['wall_s'] / b['wall_s']:.2f}) | "
            f"{a['cpu_s']:.2f} (×{a['cpu_s'] / b['cpu_s']:.2f}) | {a['peak_rss_mb']:.0f} |",
            f"| after, empty world cache (one run) | {cold['wall_s']:.2f} | {cold['cpu_s']:.2f} "
            f"| {cold['peak_rss_mb']:.0f} |", "",
            "CPU and peak memory as `wait4` reports them for the command's process (before, "
            "the run went to a worker process; after, it runs in the command's process).", ""]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--baseline", default="main")
    p.add_argument("--repeats-full", type=int, default=3)
    p.add_argument("--repeats-cal", type=int, default=5)
    p.add_argument("--repeats-ensemble", type=int, default=1)
    p.add_argument("--repeats-generation", type=int, default=1,
                   help="ABC generations of the calibration (0: none)")
    p.add_argument("--generation-steps", type=int, default=3)
    p.add_argument("--ensemble-members", default=str(ENSEMBLE[1]),
                   help="comma-separated numbers of members, e.g. 32,1000")
    p.add_argument("--ensemble-posterior", default=None,
                   help="also run each over this posterior's particles, e.g. "
                        + GENERATION_PARTICLES)
    p.add_argument("--only", choices=("all", "ensembles", "generation"), default="all",
                   help="only the ensembles or only the generation (no scales, no start-up)")
    p.add_argument("--out-json", type=Path, default=HERE / "before_after.json")
    args = p.parse_args(argv)
    sources = [None] + ([args.ensemble_posterior] if args.ensemble_posterior else [])
    ensembles = [(int(n), source) for n in args.ensemble_members.split(",") for source in sources]
    result = before_after(args.baseline, args.repeats_full, args.repeats_cal,
                          log=lambda m: print(m, file=sys.stderr, flush=True),
                          repeats_ensemble=args.repeats_ensemble,
                          repeats_generation=args.repeats_generation,
                          generation_steps=args.generation_steps,
                          ensembles=ensembles, only=args.only)
    if "generation" in result:  # the particles are for the comparison, not the record
        for side in ("before", "after"):
            result["generation"][side].pop("particles", None)
    args.out_json.write_text(json.dumps(result, indent=1) + "\n")
    print(markdown(result))


if __name__ == "__main__":
    main()
