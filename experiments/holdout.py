"""`python -m experiments.holdout [split_date=YYYY-MM-DD] [out_dir=DIR] [work_dir=DIR]`: the
model's forecast skill on figures it was not fitted to, from rolling origins
(conf/calibration/holdout.yaml; the test is in calibration/holdout.py)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

import calibration.config  # noqa: F401 - registers the config schemas
import sim.parallel  # noqa: F401 - registers the `parallel` config group
from calibration.holdout import run_holdout
from calibration.paths import CONF_DIR
from sim.errors import InputError
from sim.preflight import preflight_command
from sim.run_folder import release_rejected
from sim.validation import INPUT_ERROR_EXIT

log = logging.getLogger("holdout")


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="holdout")
def main(cfg: DictConfig) -> None:
    try:
        s = run_holdout(cfg)
    except InputError as err:
        log.error("invalid input: %s", err)
        release_rejected(Path(HydraConfig.get().runtime.output_dir))  # only what Hydra wrote
        sys.exit(INPUT_ERROR_EXIT)
    log.info("held-out rows after %s: median |log ratio| %.3f, %.0f%% inside the 90%% "
             "interval, %.0f%% inside the 50%% interval (training: %.3f, %.0f%%)",
             s["split_date"], s["test"]["median_abs_log_ratio"],
             100 * s["test"]["share_inside"], 100 * s["test"]["coverage_50"],
             s["train"]["median_abs_log_ratio"], 100 * s["train"]["share_inside"])


if __name__ == "__main__":
    try:  # composition errors: one line, exit code 2, before Hydra writes a folder
        sys.argv += preflight_command(sys.argv[1:], str(CONF_DIR), "holdout")
    except InputError as err:
        print(f"invalid input: {err}", file=sys.stderr)
        sys.exit(INPUT_ERROR_EXIT)
    main()
