"""The benchmark workloads still run (`make bench` broke unnoticed once, when the pressure came
to need the world's call-up course): each at a tiny scale, in its own process, as
`benchmarks/run.py` starts them. Speed itself is measured by `make bench`, never here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
MARKER = "BENCH_JSON "


def workload(script: str, *args: str) -> dict:
    proc = subprocess.run([sys.executable, str(BENCH / script), *args], capture_output=True,
                          text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (line,) = [ln for ln in proc.stdout.splitlines() if ln.startswith(MARKER)]
    return json.loads(line[len(MARKER):])


def test_project_flee_and_plain_mesa_workloads_run(tmp_path):
    departures = tmp_path / "departures.npz"
    project = workload("project_run.py", "--scale", "0.001", "--departures-out", str(departures))
    assert project["individuals"] > 0 and departures.exists()
    flee = workload("flee_workload.py", "--departures", str(departures),
                    "--folder", str(tmp_path / "flee"))
    assert flee["agents"] > 0 and flee["agent_days"] > 0
    mesa = workload("plain_mesa.py", "--scale", "0.0005")
    assert mesa["agents"] > 0 and mesa["departures"] > 0


def test_the_ensemble_workload_runs():
    """benchmarks/ensemble_run.py: three members stepped together, in batches of two."""
    out = workload("ensemble_run.py", "--scale", "0.001", "--members", "3", "--batch-size", "2")
    assert out["members"] == 3 and out["cpu_s_per_member"] > 0
    assert out["left_russia_mean"] > 0


def test_the_ensemble_grid_runs_each_cell_before_and_after(monkeypatch):
    """benchmarks/ensemble_bench.py with a baseline tree (here this tree itself): every cell
    measured on both, and the table gives their ratio."""
    monkeypatch.syspath_prepend(str(BENCH))
    from ensemble_bench import ensemble_grid, markdown

    cells = ensemble_grid((0.001,), (1, 2), budget_s=60.0, timeout=300.0, log=lambda m: None,
                          baseline_tree=ROOT)
    assert [c["members"] for c in cells] == [1, 2]
    assert all(c["before"]["cpu_s_per_member"] > 0 for c in cells)
    table = markdown(cells, "main")
    assert table.count("| ×") == 2 and "against `main`" in table
