"""`python -m experiments.holdout [split_date=YYYY-MM-DD]`: the model's forecast skill on figures
it was not fitted to (conf/calibration/holdout.yaml; the test is in calibration/holdout.py)."""

from __future__ import annotations

import logging

import hydra
from omegaconf import DictConfig

import calibration.config  # noqa: F401 - registers the config schemas
import sim.parallel  # noqa: F401 - registers the `parallel` config group
from calibration.holdout import run_holdout
from calibration.paths import CONF_DIR

log = logging.getLogger("holdout")


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="holdout")
def main(cfg: DictConfig) -> None:
    s = run_holdout(cfg)
    log.info("held-out rows: median |log ratio| %.3f, %.0f%% inside the 90%% interval, "
             "ARD %.3f (training: %.3f, %.0f%%); log-sd for 90%% coverage of the held-out "
             "rows %.2f", s["test"]["median_abs_log_ratio"],
             100 * s["test"]["share_inside"], s["test"]["ard"],
             s["train"]["median_abs_log_ratio"], 100 * s["train"]["share_inside"],
             s["error_sd_for_90_on_held_out"])


if __name__ == "__main__":
    main()
