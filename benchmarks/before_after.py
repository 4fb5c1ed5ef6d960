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
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import HERE, ROOT, run_child

SCALES = {"full scale (1.0)": 1.0, "calibration scale (0.01)": 0.01}
ENSEMBLE = (0.01, 32)  # scale, members: this tree's benchmarks/ensemble_run.py on either tree
BUDGET = 1.10  # after / before at most


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


def ensemble_run(tree: Path, timeout: float) -> dict:
    """B members at the calibration scale through the tree's `sim.batch.run_members`."""
    scale, members = ENSEMBLE
    res = run_child([str(HERE / "ensemble_run.py"), "--scale", str(scale), "--members",
                     str(members)], timeout=timeout, env={"PYTHONPATH": str(tree)}, cwd=tree)
    return {"run_s": res.data["run_s"], "run_cpu_s": res.data["run_cpu_s"],
            "wall_s": res.wall_s, "cpu_s": res.user_s + res.sys_s,
            "peak_rss_mb": res.peak_rss_mb}


def before_after(baseline: str, repeats_full: int, repeats_cal: int,
                 timeout: float = 1800.0, log=print, repeats_ensemble: int = 1) -> dict:
    """Medians of `run_s`, wall time and peak memory, before (baseline) and after (this tree)."""
    repeats = {1.0: repeats_full, 0.01: repeats_cal}
    out: dict = {"baseline": baseline, "scales": {}}
    with tempfile.TemporaryDirectory() as tmp:
        before_tree = export(baseline, Path(tmp))
        for label, scale in SCALES.items():
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
        label = f"{ENSEMBLE[1]} members at scale {ENSEMBLE[0]} (run_members)"
        runs = {"before": [], "after": []}
        for i in range(repeats_ensemble):
            for side, tree in (("before", before_tree), ("after", ROOT)):
                runs[side].append(ensemble_run(tree, timeout))
                log(f"{label} {side} {i + 1}/{repeats_ensemble}: "
                    f"run {runs[side][-1]['run_s']:.2f} s, CPU {runs[side][-1]['run_cpu_s']:.2f} s")
        row = {side: {k: statistics.median(r[k] for r in rs) for k in rs[0]}
               for side, rs in runs.items()}
        row["runs"] = repeats_ensemble
        for key in ("run_s", "run_cpu_s", "wall_s", "cpu_s"):
            row[f"ratio_{key}"] = row["after"][key] / row["before"][key]
        out["scales"][label] = row
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
    worst = max(r["ratio_run_cpu_s"] for r in result["scales"].values())
    lines += ["", f"Slowest ratio of model.run()'s CPU time {worst:.2f}: "
              + ("within" if worst <= BUDGET else "OUTSIDE")
              + f" the budget of {BUDGET:.2f}.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--baseline", default="main")
    p.add_argument("--repeats-full", type=int, default=3)
    p.add_argument("--repeats-cal", type=int, default=5)
    p.add_argument("--repeats-ensemble", type=int, default=1)
    p.add_argument("--out-json", type=Path, default=HERE / "before_after.json")
    args = p.parse_args(argv)
    result = before_after(args.baseline, args.repeats_full, args.repeats_cal,
                          log=lambda m: print(m, file=sys.stderr, flush=True),
                          repeats_ensemble=args.repeats_ensemble)
    args.out_json.write_text(json.dumps(result, indent=1) + "\n")
    print(markdown(result))


if __name__ == "__main__":
    main()
