"""`python -m experiments.compare_policies [key=value ...]`: every policy x the same seeds, then
medians, intervals and paired differences (conf/experiment/compare.yaml; analysis/comparison.py).

    python -m experiments.compare_policies                      # the catalogue, 20 seeds
    python -m experiments.compare_policies policies=[open,historical,russia_closes] seeds=5
    python -m experiments.compare_policies --config-name experiment/compare_close_day
    python -m experiments.compare_policies parallel=dask parallel.address=tcp://HOST:8786
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

import analysis.config  # noqa: F401 - registers the config schemas
from analysis.comparison import check_settings, compare
from sim.config import CONF_DIR
from sim.errors import InputError
from sim.preflight import preflight_command
from sim.run_folder import release_rejected
from sim.validation import INPUT_ERROR_EXIT


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="experiment/compare")
def main(cfg: DictConfig) -> None:
    try:
        compare(cfg)
    except InputError as err:
        logging.getLogger("experiments.compare_policies").error("invalid input: %s", err)
        release_rejected(Path(HydraConfig.get().runtime.output_dir))  # no folder left behind
        sys.exit(INPUT_ERROR_EXIT)


if __name__ == "__main__":
    try:  # composition errors: one line, exit code 2, before Hydra writes a folder
        sys.argv += preflight_command(sys.argv[1:], str(CONF_DIR), "experiment/compare",
                                          check_settings)
    except InputError as err:
        print(f"invalid input: {err}", file=sys.stderr)
        sys.exit(INPUT_ERROR_EXIT)
    main()
