"""The ensemble section of `make bench`: members per second and CPU-seconds per member.

Each (scale, B) cell is one fresh process (benchmarks/ensemble_run.py) stepping B members of
the historical run together in batches of up to `sim.batch.BATCH_SIZE`, on one core. A cell
whose estimated CPU time exceeds the budget is skipped and marked so (not extrapolated).
"""

from __future__ import annotations

from collections.abc import Callable

from common import HERE, run_child

SCALES = (0.003, 0.01, 0.1)
SIZES = (1, 10, 100, 1000)


def ensemble_grid(scales: tuple[float, ...] = SCALES, sizes: tuple[int, ...] = SIZES,
                  budget_s: float = 600.0, timeout: float = 1800.0,
                  log: Callable[[str], None] = print) -> list[dict]:
    """Measure every (scale, B) cell within `budget_s` CPU-seconds (estimated from the cell
    with the next smaller B at the same scale)."""
    cells = []
    for scale in scales:
        per_member = None
        for size in sizes:
            if per_member is not None and per_member * size > budget_s:
                cells.append({"scale": scale, "members": size, "skipped":
                              f"estimated {per_member * size:.0f} CPU-s > budget {budget_s:g}"})
                log(f"ensemble: scale {scale}, B={size} skipped (over budget)")
                continue
            log(f"ensemble: scale {scale}, B={size}")
            res = run_child([str(HERE / "ensemble_run.py"), "--scale", str(scale), "--members",
                             str(size)], timeout=timeout)
            cell = {**res.data, "wall_s": res.wall_s, "peak_rss_mb": res.peak_rss_mb,
                    "user_s": res.user_s}
            per_member = cell["cpu_s_per_member"]
            log(f"  {cell['members_per_s']:.2f} members/s, {per_member:.3f} CPU-s/member, "
                f"peak {cell['peak_rss_mb']:.0f} MiB")
            cells.append(cell)
    return cells


def markdown(cells: list[dict]) -> str:
    rows = ["## Ensembles (benchmarks/ensemble_run.py, one process, one core)", "",
            "| scale | B | run wall (s) | members/s | CPU-s/member | process wall (s) "
            "| peak MiB |", "|---|---|---|---|---|---|---|"]
    for c in cells:
        if "skipped" in c:
            rows.append(f"| {c['scale']:g} | {c['members']} | {c['skipped']} | | | | |")
            continue
        rows.append(f"| {c['scale']:g} | {c['members']} | {c['run_s']:.2f} | "
                    f"{c['members_per_s']:.2f} | {c['cpu_s_per_member']:.3f} | "
                    f"{c['wall_s']:.2f} | {c['peak_rss_mb']:.0f} |")
    return "\n".join(rows) + "\n"
