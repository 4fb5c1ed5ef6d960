"""`python -m experiments.crossval [by=destination|time] [out_dir=DIR] [work_dir=DIR]`: the
model's skill on destinations (or weeks) it was not fitted to, fold by fold
(conf/calibration/crossval.yaml; the folds are in calibration/crossval.py)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

import calibration.config  # noqa: F401 - registers the config schemas
import sim.parallel  # noqa: F401 - registers the `parallel` config group
from calibration.crossval import run_crossval
from calibration.paths import CONF_DIR
from sim.errors import InputError
from sim.preflight import preflight_command
from sim.run_folder import release_rejected
from sim.validation import INPUT_ERROR_EXIT

log = logging.getLogger("crossval")


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="crossval")
def main(cfg: DictConfig) -> None:
    try:
        s = run_crossval(cfg)
    except InputError as err:
        log.error("invalid input: %s", err)
        release_rejected(Path(HydraConfig.get().runtime.output_dir))  # only what Hydra wrote
        sys.exit(INPUT_ERROR_EXIT)
    o = s["overall"]
    log.info("out of fold (by %s, %d rows): median |log ratio| %.2f, %.0f%% inside the 90%% "
             "interval, %.0f%% inside the 50%% interval, WIS %.2f", s["by"], o["rows"],
             o["median_abs_log_ratio"], 100 * o["coverage_90"], 100 * o["coverage_50"],
             o["wis_log"])


if __name__ == "__main__":
    try:  # composition errors: one line, exit code 2, before Hydra writes a folder
        sys.argv += preflight_command(sys.argv[1:], str(CONF_DIR), "crossval")
    except InputError as err:
        print(f"invalid input: {err}", file=sys.stderr)
        sys.exit(INPUT_ERROR_EXIT)
    main()
