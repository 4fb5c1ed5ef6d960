"""Agent-based simulation of the exodus from Russia after the September 2022 mobilisation."""

from sim.config import SimConfig, load_config
from sim.model import MobilisationModel

__all__ = ["MobilisationModel", "SimConfig", "load_config"]
