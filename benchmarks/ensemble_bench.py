"""The ensemble section of `make bench`: members per second and CPU-seconds per member.

Each (scale, B) cell is one fresh process (benchmarks/ensemble_run.py) stepping B members of
the historical run together in batches of up to `sim.batch.BATCH_SIZE`, on one core; with a
baseline tree (another git revision, exported by benchmarks/before_after.py) the same cell is
run on it just before, so that before and after share the machine's load. A cell whose
estimated CPU time exceeds the budget is skipped and marked so (not extrapolated).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from common import HERE, run_child

SCALES = (0.003, 0.01, 0.1)
SIZES = (1, 10, 100, 1000)


def one_cell(scale: float, size: int, timeout: float, tree: Path | None = None) -> dict:
    """B members at a scale in a fresh process of `tree` (this tree if None)."""
    env = None if tree is None else {"PYTHONPATH": str(tree)}
    res = run_child([str(HERE / "ensemble_run.py"), "--scale", str(scale), "--members",
                     str(size)], timeout=timeout, env=env, cwd=tree)
    return {**res.data, "wall_s": res.wall_s, "peak_rss_mb": res.peak_rss_mb,
            "user_s": res.user_s}


def ensemble_grid(scales: tuple[float, ...] = SCALES, sizes: tuple[int, ...] = SIZES,
                  budget_s: float = 600.0, timeout: float = 1800.0,
                  log: Callable[[str], None] = print,
                  baseline_tree: Path | None = None) -> list[dict]:
    """Measure every (scale, B) cell within `budget_s` CPU-seconds (estimated from the cell
    with the next smaller B at the same scale), and the baseline's if a tree is given."""
    cells = []
    for scale in scales:
        per_member = before_per_member = None
        for size in sizes:
            if per_member is not None and per_member * size > budget_s:
                cells.append({"scale": scale, "members": size, "skipped":
                              f"estimated {per_member * size:.0f} CPU-s > budget {budget_s:g}"})
                log(f"ensemble: scale {scale}, B={size} skipped (over budget)")
                continue
            log(f"ensemble: scale {scale}, B={size}")
            before = None
            if baseline_tree is not None and (before_per_member is None
                                              or before_per_member * size <= budget_s):
                before = one_cell(scale, size, timeout, baseline_tree)
                before_per_member = before["cpu_s_per_member"]
            cell = one_cell(scale, size, timeout)
            per_member = cell["cpu_s_per_member"]
            if before is not None:
                cell["before"] = before
            log(f"  {cell['members_per_s']:.2f} members/s, {per_member:.3f} CPU-s/member"
                + ("" if before is None else f" (before {before['cpu_s_per_member']:.3f})")
                + f", peak {cell['peak_rss_mb']:.0f} MiB")
            cells.append(cell)
    return cells


def markdown(cells: list[dict], baseline: str | None = None) -> str:
    versus = f" against `{baseline}`" if baseline else ""
    rows = [f"## Ensembles (benchmarks/ensemble_run.py, one process, one core){versus}", "",
            "`python benchmarks/ensemble_run.py --scale S --members B`: B historical members "
            "(seeds 1..B) through `sim.batch.run_members`; *run* excludes imports and the "
            "world; before = the same cell on the baseline's tree, run just before.", "",
            "| scale | B | run wall (s) | members/s | CPU-s/member | before CPU-s/member "
            "| after / before | process wall (s) | peak MiB |",
            "|---|---|---|---|---|---|---|---|---|"]
    for c in cells:
        if "skipped" in c:
            rows.append(f"| {c['scale']:g} | {c['members']} | {c['skipped']} | | | | | | |")
            continue
        b = c.get("before")
        before = f"{b['cpu_s_per_member']:.3f}" if b else "not run"
        ratio = f"×{c['cpu_s_per_member'] / b['cpu_s_per_member']:.2f}" if b else ""
        rows.append(f"| {c['scale']:g} | {c['members']} | {c['run_s']:.2f} | "
                    f"{c['members_per_s']:.2f} | {c['cpu_s_per_member']:.3f} | {before} | "
                    f"{ratio} | {c['wall_s']:.2f} | {c['peak_rss_mb']:.0f} |")
    return "\n".join(rows) + "\n"
