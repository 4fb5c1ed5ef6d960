"""`python -m experiments.compare_assumptions [key=value ...]`: the policy comparison re-run
with each fixed, uncalibrated assumption at a low and a high value, every policy's effect shown
beside them (conf/experiment/assumptions.yaml; analysis/assumptions.py).

    python -m experiments.compare_assumptions                     # every policy, 20 seeds
    python -m experiments.compare_assumptions seeds=5 'policies=[historical,finland_closes_earlier]'
"""

from __future__ import annotations

import logging
import sys

import hydra
from omegaconf import DictConfig

import analysis.config  # noqa: F401 - registers the config schemas
from analysis.assumptions import run_assumptions
from sim.config import CONF_DIR
from sim.errors import InputError
from sim.preflight import preflight_command
from sim.validation import INPUT_ERROR_EXIT

CONFIG = "experiment/assumptions"


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name=CONFIG)
def main(cfg: DictConfig) -> None:
    try:
        folder = run_assumptions(cfg)
    except InputError as err:  # Hydra writes no folder here (hydra.run.dir: ., no .hydra/)
        logging.getLogger("experiments.compare_assumptions").error("invalid input: %s", err)
        sys.exit(INPUT_ERROR_EXIT)
    print(f"report in {folder / 'assumptions.md'}")


if __name__ == "__main__":
    try:  # composition errors: one line, exit code 2, before Hydra writes a folder
        preflight_command(sys.argv[1:], str(CONF_DIR), CONFIG)
    except InputError as err:
        print(f"invalid input: {err}", file=sys.stderr)
        sys.exit(INPUT_ERROR_EXIT)
    main()
