"""`python -m experiments.holdout [split_date=YYYY-MM-DD] [out_dir=DIR] [work_dir=DIR]`: the
model's forecast skill on figures it was not fitted to, from rolling origins
(conf/calibration/holdout.yaml; the test is in calibration/holdout.py)."""

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
    log.info("held-out rows after %s: median |log ratio| %.3f, %.0f%% inside the 90%% "
             "interval, %.0f%% inside the 50%% interval (training: %.3f, %.0f%%)",
             s["split_date"], s["test"]["median_abs_log_ratio"],
             100 * s["test"]["share_inside"], 100 * s["test"]["coverage_50"],
             s["train"]["median_abs_log_ratio"], 100 * s["train"]["share_inside"])


if __name__ == "__main__":
    main()
