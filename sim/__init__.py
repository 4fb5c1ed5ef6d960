"""Agent-based simulation of the exodus from Russia after the September 2022 mobilisation."""

from sim.config import SimConfig, load_config
from sim.model import MobilisationModel
from sim.parallel import ParallelConfig, run_many
from sim.results import Results

__all__ = ["MobilisationModel", "ParallelConfig", "Results", "SimConfig", "load_config",
           "run_many"]
