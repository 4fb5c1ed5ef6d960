"""`python -m sim`: answer for one scenario in words and pictures, in its results folder.

By default an ensemble (`sim.ensemble`): `runs` runs at population.scale 0.01 over posterior
particles and seeds, reduced to medians and 90 % intervals in report.md, plots, summary.json,
runs.csv and daily.csv (sim/outputs.py, sim/report.py); `population.scale=1.0 runs=1` is one
full-scale run. The folder is named after the policy and the overrides
(`sim.run_folder.run_folder_name`).
`python -m sim list posts|airports|countries|policies` lists what a policy can name.

With `-m` (Hydra multirun) every job gets its own folder under the sweep dir and runs on the
configured launcher (joblib on the local cores by default; see docs/experiments.md). A sweep
job never raises: a failure is written to the job's `job_status.json` and named in the sweep's
`sweep_summary.csv`, so one bad job does not lose the others; a job whose folder already holds
complete results of the same configuration is skipped, so a re-run sweep resumes.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import traceback
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from sim.atomic import remove_temporaries_of_killed_writers
from sim.config import CONF_DIR, to_sim_config
from sim.ensemble import Ensemble
from sim.errors import InputError
from sim.outputs import write_outputs
from sim.parallel import (
    ParallelConfig,
    as_parallel_config,
    exit_with_parent,
    start_loky_workers_watching_their_parent,
)
from sim.posterior import Posterior
from sim.preflight import preflight
from sim.run_folder import release_rejected
from sim.sweep import (
    SUMMARY_FILE,
    SweepSummary,
    config_fingerprint,
    job_is_complete,
    read_json,
    write_job_status,
)
from sim.validation import INPUT_ERROR_EXIT

log = logging.getLogger("sim")


def build_ensemble(cfg: DictConfig, parallel: ParallelConfig | None = None) -> Ensemble:
    """The ensemble of the command's config: bad input raises before anything runs."""
    config = to_sim_config(cfg)
    posterior = (Posterior.read(str(cfg.posterior), str(cfg.posterior_parameters))
                 if cfg.get("posterior") else None)
    return Ensemble(config, cfg.runs, posterior,
                    parallel=parallel or as_parallel_config(cfg.parallel))


def run_scenario(cfg: DictConfig, folder: Path, parallel: ParallelConfig | None = None) -> dict:
    """Validate, run and write one scenario's ensemble; nothing is written if validation
    fails."""
    ensemble = build_ensemble(cfg, parallel).run()
    result = write_outputs(ensemble, folder)
    print(ensemble.summary())
    return result


def run_sweep_job(cfg: DictConfig, folder: Path) -> dict:
    """One job of a multirun: skipped if already complete, its failure recorded, not raised."""
    exit_with_parent()  # a SIGKILLed sweep must not leave this worker running
    overrides = list(HydraConfig.get().overrides.task)
    try:
        fingerprint = config_fingerprint(cfg)
    except Exception as err:  # an unresolvable interpolation, say: a failure of this job only
        fingerprint = ""
        return _failed(folder, fingerprint, overrides, err, 0.0)
    if remove_temporaries_of_killed_writers(folder):  # the folder is this job's alone
        log.info("removed the temporary files of an interrupted earlier run: %s", folder)
    if job_is_complete(folder, fingerprint):
        previous = read_json(folder / SUMMARY_FILE) or {}
        write_job_status(folder, "complete", fingerprint, action="skipped", overrides=overrides,
                         seconds=0.0)
        log.info("already complete, skipped: %s", folder)
        return previous
    for stale in (SUMMARY_FILE, "daily.csv"):  # from another config: must not look current
        (folder / stale).unlink(missing_ok=True)
    started = time.perf_counter()
    try:
        # the sweep's launcher already spreads the jobs over the cores
        result = run_scenario(cfg, folder, ParallelConfig(backend="sequential"))
    except Exception as err:  # reported in job_status.json and the sweep summary
        return _failed(folder, fingerprint, overrides, err, time.perf_counter() - started)
    write_job_status(folder, "complete", fingerprint, action="ran", overrides=overrides,
                     seconds=round(time.perf_counter() - started, 3))
    _log_result(result, folder)
    return result


def _failed(folder: Path, fingerprint: str, overrides: list[str], err: Exception,
            seconds: float) -> dict:
    kind = "invalid input" if isinstance(err, InputError) else "failed"
    log.error("%s (%s): %s", kind, " ".join(overrides), err)
    write_job_status(folder, "failed", fingerprint, action="ran", overrides=overrides,
                     seconds=round(seconds, 3), error_type=type(err).__name__, error=str(err),
                     traceback=traceback.format_exc())
    return {"status": "failed", "error_type": type(err).__name__, "error": str(err)}


def _log_result(result: dict, folder: Path) -> None:
    log.info("report in %s", folder / "report.md")


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def main(cfg: DictConfig) -> dict:
    hydra_cfg = HydraConfig.get()
    folder = Path(hydra_cfg.runtime.output_dir)
    if hydra_cfg.mode == RunMode.MULTIRUN:
        return run_sweep_job(cfg, folder)
    try:
        result = run_scenario(cfg, folder)
    except InputError as err:  # found only with the world (a policy's targets, a data file)
        log.error("invalid input: %s", err)
        release_rejected(folder)  # only what this process wrote (sim/run_folder.py)
        sys.exit(INPUT_ERROR_EXIT)
    _log_result(result, folder)
    return result


def policies_hint(message: str) -> str:
    """For a policy that does not exist: the nearest names and every valid one."""
    import difflib

    from sim.listing import policy_names

    missing = re.search(r"Could not find 'policy/([^']*)'|no policy '([^']*)'", message)
    if not missing:
        return ""
    names = policy_names()
    near = difflib.get_close_matches(missing.group(1) or missing.group(2), names, n=1)
    hint = f"; did you mean '{near[0]}'?" if near else ""
    return f"{hint} The policies are: {', '.join(names)} (python -m sim list policies)"


def list_command(argv: list[str]) -> int:
    """`python -m sim list KIND`."""
    from sim.listing import KINDS, print_listing

    if len(argv) != 1 or argv[0] not in KINDS:
        print(f"usage: python -m sim list {'|'.join(KINDS)}", file=sys.stderr)
        return INPUT_ERROR_EXIT
    print_listing(argv[0])
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["list"]:
        sys.exit(list_command(sys.argv[2:]))
    try:  # composition and config errors: one line, exit code 2, before any folder exists
        sys.argv += preflight(sys.argv[1:])  # and the run folder claimed for this process
    except InputError as err:
        print(f"invalid input: {err}{policies_hint(str(err))}", file=sys.stderr)
        sys.exit(INPUT_ERROR_EXIT)
    if any(a in ("-m", "--multirun") for a in sys.argv[1:]):  # as preflight tells a sweep
        start_loky_workers_watching_their_parent()  # its workers (hydra-joblib-launcher)
    main()
    # after a multirun: non-zero when a job failed (its results are in sweep_summary.csv)
    sys.exit(SweepSummary.exit_code())
