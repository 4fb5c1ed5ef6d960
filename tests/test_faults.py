"""Faults: a sweep SIGKILLed at a random moment leaves no worker behind, and its re-run ends
with the same results as a sweep never interrupted."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SWEEP = ["-m", "policy=open,historical", "seed=1", "population.scale=0.001", "progress=false"]
# summary.json fields that describe the run, not its results
NOT_RESULTS = ("runtime_seconds",)


def sweep_command(folder: Path) -> list[str]:
    return [sys.executable, "-m", "sim", *SWEEP, f"hydra.sweep.dir={folder}"]


def results(folder: Path) -> dict[str, object]:
    """Every job's daily.csv bytes and summary.json (less its runtime), by job folder."""
    found: dict[str, object] = {}
    for daily in sorted(folder.glob("*/daily.csv")):
        job = daily.parent.name
        summary = json.loads((daily.parent / "summary.json").read_text())
        for key in NOT_RESULTS:
            summary.pop(key)
        found[job] = (daily.read_bytes(), summary)
    return found


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_sweep_killed_at_a_random_moment_resumes_to_identical_results(tmp_path):
    reference = tmp_path / "reference"
    started = time.perf_counter()
    done = subprocess.run(sweep_command(reference), cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    duration = time.perf_counter() - started
    assert done.returncode == 0, done.stderr[-2000:]
    expected = results(reference)
    assert len(expected) == 2

    moment = random.Random().uniform(0.3, 0.9) * duration
    interrupted = tmp_path / "interrupted"
    proc = subprocess.Popen(sweep_command(interrupted), cwd=ROOT, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(moment)
    os.kill(proc.pid, signal.SIGKILL)  # the launcher only, as the OOM killer would
    proc.wait()
    deadline = time.monotonic() + 15
    while group_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = group_alive(proc.pid)
    if left:
        os.killpg(proc.pid, signal.SIGKILL)
    assert not left, f"workers outlived the sweep killed after {moment:.1f} s"

    again = subprocess.run(sweep_command(interrupted), cwd=ROOT, capture_output=True,
                           text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    assert results(interrupted) == expected, f"killed after {moment:.1f} s of {duration:.1f}"
    report = json.loads((interrupted / "sweep_summary.json").read_text())
    assert report["complete"] == 2 and not report["failed"]
    assert not list(interrupted.glob("*/.*.tmp")), "a temporary file was kept as a result"
