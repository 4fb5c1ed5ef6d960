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

import pytest

ROOT = Path(__file__).resolve().parents[1]
SWEEP = ["-m", "policy=open", "seed=1,2", "end=2022-10-15", "population.scale=0.001", "runs=1",
         "progress=false"]
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


# ---- the policy comparison --------------------------------------------------------------------
COMPARE = ["policies=[historical,open]", "seeds=2", "scale=0.001", "n_jobs=1", "plots=false",
           "progress=false"]
REPORT_FILES = ("comparison.csv", "runs.csv", "daily.csv")  # summary.md also holds the times


def compare_command(root: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "experiments.compare_policies", *COMPARE, "name=c",
            f"output_root={root}", *extra]


def test_a_comparison_killed_at_a_random_moment_resumes_to_identical_results(tmp_path):
    reference = tmp_path / "reference"
    started = time.perf_counter()
    done = subprocess.run(compare_command(reference), cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    duration = time.perf_counter() - started
    assert done.returncode == 0, done.stderr[-2000:]

    moment = random.Random().uniform(0.4, 0.95) * duration
    interrupted = tmp_path / "interrupted"
    proc = subprocess.Popen(compare_command(interrupted), cwd=ROOT, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(moment)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    stored = len(list((interrupted / ".c.runs").glob("*.pkl")))
    again = subprocess.run(compare_command(interrupted), cwd=ROOT, capture_output=True,
                           text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    if stored:  # the re-run took the stored runs instead of computing them again
        assert f"resuming: {stored} of 4 runs stored" in again.stdout + again.stderr
    for name in REPORT_FILES:
        assert (interrupted / "c" / name).read_bytes() == (reference / "c" / name).read_bytes(), \
            f"{name}: killed after {moment:.1f} s of {duration:.1f}"
    assert [p.name for p in interrupted.iterdir()] == ["c"]  # the stored runs are gone


def test_a_comparison_into_an_unwritable_folder_stops_before_any_run(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")  # even root cannot create a folder inside a file
    proc = subprocess.run(compare_command(blocker / "reports"), cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "cannot be written" in proc.stdout + proc.stderr
    assert "policies x seeds" not in proc.stderr  # no run started


def test_too_little_space_is_found_before_any_run(tmp_path, monkeypatch):
    import shutil

    from sim.errors import InputError
    from sim.validation import check_writable

    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(shutil, "disk_usage", lambda _: usage._replace(free=1_000_000))
    with pytest.raises(InputError, match=r"1 MB free, the results need about 5 MB"):
        check_writable(tmp_path / "out", need_bytes=5_000_000)
