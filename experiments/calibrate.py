"""`python -m experiments.calibrate [key=value ...]`: fit the model to the reported crossing
figures (conf/calibration/calibrate.yaml; the stages are in calibration/pipeline.py, the method
in docs/calibration.md). `parallel=dask parallel.address=tcp://HOST:8786` or `parallel=ray
parallel.address=HOST:6379` sends the runs to a cluster (docs/experiments.md)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

import calibration.config  # noqa: F401 - registers the config schemas
import sim.parallel  # noqa: F401 - registers the `parallel` config group
from calibration.paths import CONF_DIR
from calibration.pipeline import calibrate
from sim.errors import InputError
from sim.preflight import preflight_command
from sim.run_folder import release_rejected
from sim.validation import INPUT_ERROR_EXIT


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="calibrate")
def main(cfg: DictConfig) -> None:
    try:
        calibrate(cfg)
    except InputError as err:
        logging.getLogger("calibrate").error("invalid input: %s", err)
        release_rejected(Path(HydraConfig.get().runtime.output_dir))  # if this call made it
        sys.exit(INPUT_ERROR_EXIT)


if __name__ == "__main__":
    try:  # composition errors: one line, exit code 2, before Hydra writes a folder
        sys.argv += preflight_command(sys.argv[1:], str(CONF_DIR), "calibrate")
    except InputError as err:
        print(f"invalid input: {err}", file=sys.stderr)
        sys.exit(INPUT_ERROR_EXIT)
    main()
