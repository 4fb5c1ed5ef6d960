"""`python -m experiments.sensitivity [key=value ...]`: which parameters drive the outcomes,
Morris screening then Sobol indices (conf/experiment/sensitivity.yaml; analysis/sensitivity.py).

    python -m experiments.sensitivity
    python -m experiments.sensitivity scale=0.002 morris.trajectories=4 sobol.top=2
"""

from __future__ import annotations

import logging
import sys

import hydra
from omegaconf import DictConfig

import analysis.config  # noqa: F401 - registers the config schemas
from analysis.sensitivity import sensitivity
from sim.config import CONF_DIR
from sim.errors import InputError
from sim.preflight import preflight_command
from sim.validation import INPUT_ERROR_EXIT


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="experiment/sensitivity")
def main(cfg: DictConfig) -> None:
    try:
        sensitivity(cfg)
    except InputError as err:
        logging.getLogger("experiments.sensitivity").error("invalid input: %s", err)
        sys.exit(INPUT_ERROR_EXIT)


if __name__ == "__main__":
    try:  # composition errors: one line, exit code 2, before Hydra writes a folder
        sys.argv += preflight_command(sys.argv[1:], str(CONF_DIR), "experiment/sensitivity")
    except InputError as err:
        print(f"invalid input: {err}", file=sys.stderr)
        sys.exit(INPUT_ERROR_EXIT)
    main()
