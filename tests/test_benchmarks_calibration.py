"""The benchmarks' calibration workloads still run (speed is measured in benchmarks/, never
here)."""

from __future__ import annotations


def test_the_posterior_ensemble_workload_runs():
    """benchmarks/ensemble_run.py --posterior: members over the posterior's particles."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, str(root / "benchmarks" / "ensemble_run.py"),
                           "--scale", "0.001", "--members", "2", "--posterior",
                           str(root / "results" / "calibration" / "posterior.csv")],
                          capture_output=True, text=True, timeout=300, cwd=root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (line,) = [ln for ln in proc.stdout.splitlines() if ln.startswith("BENCH_JSON ")]
    out = json.loads(line[len("BENCH_JSON "):])
    assert out["members"] == 2 and out["posterior"] and out["cpu_s_per_member"] > 0
