"""`python -m experiments.calibrate [key=value ...]`: fit the model to the reported crossing
figures (conf/calibration/calibrate.yaml; the stages are in calibration/pipeline.py, the method
in docs/calibration.md). `parallel=dask parallel.address=tcp://HOST:8786` or `parallel=ray
parallel.address=HOST:6379` sends the runs to a cluster (docs/experiments.md)."""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

import calibration.config  # noqa: F401 - registers the config schemas
import sim.parallel  # noqa: F401 - registers the `parallel` config group
from calibration.paths import CONF_DIR
from calibration.pipeline import calibrate


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="calibrate")
def main(cfg: DictConfig) -> None:
    calibrate(cfg)


if __name__ == "__main__":
    main()
