"""`python -m experiments.evaluate observations=PATH`: score the calibrated model on any
observations file of the reference schema (conf/calibration/evaluate.yaml; the scoring is in
calibration/evaluate.py). Writes evaluation.csv and unmapped.csv into Hydra's run folder."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

import calibration.config  # noqa: F401 - registers the config schemas
import sim.parallel  # noqa: F401 - registers the `parallel` config group
from calibration.evaluate import check_settings, evaluate
from calibration.paths import CONF_DIR
from sim.errors import InputError
from sim.preflight import preflight_command
from sim.run_folder import release_rejected
from sim.validation import INPUT_ERROR_EXIT


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="evaluate")
def main(cfg: DictConfig) -> None:
    folder = Path(HydraConfig.get().runtime.output_dir)
    try:
        evaluate(cfg, folder)
    except InputError as err:
        logging.getLogger("evaluate").error("invalid input: %s", err)
        release_rejected(folder)  # a rejected evaluation leaves no folder behind
        sys.exit(INPUT_ERROR_EXIT)


if __name__ == "__main__":
    try:  # composition errors: one line, exit code 2, before Hydra writes a folder
        sys.argv += preflight_command(sys.argv[1:], str(CONF_DIR), "evaluate",
                                          check_settings)
    except InputError as err:
        print(f"invalid input: {err}", file=sys.stderr)
        sys.exit(INPUT_ERROR_EXIT)
    main()
