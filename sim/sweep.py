"""Shared machinery of sweeps: job bookkeeping, the sweep summary, and running many scenarios.

Hydra multirun (`python -m sim -m ...`) runs one job per folder. Three things make a long sweep
safe to interrupt and re-run:

- each job writes `job_status.json` (complete or failed, with the error) next to its outputs,
  with a fingerprint of its configuration and input data;
- a job whose folder already holds a complete `summary.json` with a matching fingerprint is
  skipped when the sweep is re-run into the same `hydra.sweep.dir` (`sim/__main__.py`);
- `SweepSummary`, a Hydra callback, writes `sweep_summary.csv` and `sweep_summary.json` at the
  end of the sweep, naming every failed job and its error.

Running many models from Python is `sim.parallel.run_many`.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import io
import json
import logging
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from sim.atomic import atomic_write_text
from sim.fingerprint import fingerprint

log = logging.getLogger(__name__)

SUMMARY_FILE = "summary.json"
OUTPUT_FILES = ("daily.csv", SUMMARY_FILE)  # a job's results, hashed in its job status
STATUS_FILE = "job_status.json"
SWEEP_SUMMARY_CSV = "sweep_summary.csv"
SWEEP_SUMMARY_JSON = "sweep_summary.json"
# summary.json keys without which a run's summary is not complete
SUMMARY_KEYS = ("policy", "seed", "left_russia", "left_russia_by_2022_10_04", "runtime_seconds")
# config keys that do not change a run's results (left out of the fingerprint)
NOT_RESULTS = ("progress",)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


# ---- job bookkeeping ---------------------------------------------------------------------------
def config_fingerprint(cfg: DictConfig | dict[str, Any]) -> str:
    """Hash of the fully resolved job configuration, the data it reads and the code.

    A re-run sweep reuses a job's results only when this matches, so that editing a config file,
    a policy that the job's policy builds on (`base:`, expanded here), a data table or the
    model's code between two runs of a sweep does not silently keep stale results.
    """
    from sim.config import to_sim_config
    from sim.provenance import code_version

    resolved = dataclasses.asdict(to_sim_config(cfg))  # interpolations and `base` expanded
    for key in NOT_RESULTS:
        resolved.pop(key, None)
    return fingerprint({"config": resolved, "code": code_version()},
                       resolved["network"]["data_dir"])


def read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in `path`, or None when it is missing, unreadable or not an object."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def summary_is_complete(folder: Path) -> bool:
    """Whether `folder` holds a readable summary.json with every headline figure."""
    summary = read_json(Path(folder) / SUMMARY_FILE)
    return summary is not None and all(key in summary for key in SUMMARY_KEYS)


def output_hashes(folder: Path) -> dict[str, str]:
    """sha256 of each result file present in `folder` (recorded when a job completes)."""
    hashes = {}
    for name in OUTPUT_FILES:
        path = Path(folder) / name
        if path.is_file():
            hashes[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return hashes


def job_is_complete(folder: Path, fingerprint: str) -> bool:
    """A job is complete when it was computed from this very config and every result file is
    still the one it wrote: a truncated, deleted or edited daily.csv makes it run again."""
    status = read_json(Path(folder) / STATUS_FILE)
    if (status is None or status.get("status") != "complete"
            or status.get("fingerprint") != fingerprint or not summary_is_complete(folder)):
        return False
    recorded = status.get("outputs")
    return (isinstance(recorded, dict) and set(recorded) == set(OUTPUT_FILES)
            and output_hashes(folder) == recorded)


def write_job_status(folder: Path, status: str, fingerprint: str, **fields: Any) -> None:
    """Record how the job ended (complete / failed / skipped-as-complete), atomically; a
    complete job records the content hash of its result files, re-checked on resume."""
    record = {"status": status, "fingerprint": fingerprint, "updated": _now(), **fields}
    if status == "complete":
        record["outputs"] = output_hashes(folder)
    atomic_write_text(Path(folder) / STATUS_FILE, json.dumps(record, indent=2, default=str) + "\n")


# ---- the sweep summary -------------------------------------------------------------------------
def _job_folders(sweep_dir: Path) -> list[Path]:
    """Every job folder under the sweep dir: those Hydra wrote a `.hydra/` snapshot into."""
    found = {p.parent.parent for p in sweep_dir.glob("**/.hydra/overrides.yaml")}
    return sorted(found)


def _overrides(folder: Path) -> str:
    """The job's overrides as written (read as plain YAML: a `${...}` there stays text)."""
    import yaml

    try:
        items = yaml.safe_load((folder / ".hydra" / "overrides.yaml").read_text("utf-8"))
    except (OSError, ValueError, yaml.YAMLError):
        return ""
    return " ".join(str(item) for item in items) if isinstance(items, list) else ""


def collect_jobs(sweep_dir: Path, since: float | None = None) -> list[dict[str, Any]]:
    """One row per job folder: its overrides, status, error and headline results.

    `since` (a POSIX time): jobs whose Hydra snapshot is older were not part of the last sweep
    (a sweep dir can hold jobs of earlier sweeps with other overrides); they are listed with
    `in_last_sweep` false.
    """
    rows = []
    for folder in _job_folders(Path(sweep_dir)):
        status = read_json(folder / STATUS_FILE) or {}
        summary = read_json(folder / SUMMARY_FILE) or {}
        state = status.get("status", "incomplete")
        if state == "complete" and not summary_is_complete(folder):
            state = "incomplete"  # summary.json deleted or damaged since
        mtime = (folder / ".hydra" / "overrides.yaml").stat().st_mtime
        rows.append({
            "job": str(folder.relative_to(sweep_dir)) if folder != sweep_dir else ".",
            "overrides": _overrides(folder),
            "status": state,
            "action": status.get("action", ""),
            "in_last_sweep": since is None or mtime >= since - 1.0,
            "error_type": status.get("error_type", ""),
            "error": status.get("error", ""),
            "seconds": status.get("seconds", ""),
            "left_russia": summary.get("left_russia", ""),
            "left_russia_by_2022_10_04": summary.get("left_russia_by_2022_10_04", ""),
            "stopped_at_border": summary.get("stopped_at_border", ""),
        })
    return rows


def write_sweep_summary(sweep_dir: Path, since: float | None = None) -> list[dict[str, Any]]:
    """Write sweep_summary.csv and sweep_summary.json into the sweep dir; returns the rows."""
    sweep_dir = Path(sweep_dir)
    rows = collect_jobs(sweep_dir, since)
    last = [r for r in rows if r["in_last_sweep"]]
    report = {
        "sweep_dir": str(sweep_dir),
        "written": _now(),
        "jobs": len(last),
        "complete": sum(r["status"] == "complete" for r in last),
        "ran": sum(r["action"] == "ran" for r in last),
        "skipped": sum(r["action"] == "skipped" for r in last),
        "failed": [{"job": r["job"], "error_type": r["error_type"], "error": r["error"]}
                   for r in last if r["status"] != "complete"],
        "all_jobs": rows,
    }
    atomic_write_text(sweep_dir / SWEEP_SUMMARY_JSON, json.dumps(report, indent=2) + "\n")
    if rows:
        buffer = io.StringIO()  # written in one piece, atomically
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
        atomic_write_text(sweep_dir / SWEEP_SUMMARY_CSV, buffer.getvalue())
    return rows


class SweepSummary(Callback):
    """Hydra callback: at the end of a multirun, write the sweep summary and log failures.

    Runs in the launching process whatever the launcher (joblib, SLURM, Ray), because the jobs
    themselves never raise (`sim/__main__.py` records their errors), so Hydra always reaches
    `on_multirun_end`. The outcome is kept in `SweepSummary.failed` for the exit code.
    """

    failed: list[dict[str, Any]] = []  # noqa: RUF012 - the last sweep's failures, per process
    started: float | None = None

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        SweepSummary.started = dt.datetime.now().timestamp()
        SweepSummary.failed = []

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        rows = write_sweep_summary(sweep_dir, since=SweepSummary.started)
        last = [r for r in rows if r["in_last_sweep"]]
        SweepSummary.failed = [r for r in last if r["status"] != "complete"]
        skipped = sum(r["action"] == "skipped" for r in last)
        log.info("sweep %s: %d jobs, %d complete (%d skipped as already complete), %d failed; "
                 "see %s", sweep_dir, len(last), len(last) - len(SweepSummary.failed), skipped,
                 len(SweepSummary.failed), sweep_dir / SWEEP_SUMMARY_CSV)
        for row in SweepSummary.failed:
            log.error("failed job %s: %s %s", row["job"], row["error_type"], row["error"])

    @classmethod
    def exit_code(cls) -> int:
        """0: all jobs complete; 2: every failure was bad input; 1: some other failure."""
        if not cls.failed:
            return 0
        return 2 if all(r["error_type"] in INPUT_ERRORS for r in cls.failed) else 1


INPUT_ERRORS = ("InputError", "DataError", "ConfigError")
