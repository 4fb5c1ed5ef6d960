"""Agent-based simulation of the exodus from Russia after the September 2022 mobilisation.

The names below are imported when first used: a command that needs only the engine does not
pay for Mesa's or pandas' import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.config import SimConfig, load_config
    from sim.model import MobilisationModel
    from sim.parallel import ParallelConfig, run_many
    from sim.results import Results

__all__ = ["MobilisationModel", "ParallelConfig", "Results", "SimConfig", "load_config",
           "run_many"]
_HOME = {"MobilisationModel": "sim.model", "ParallelConfig": "sim.parallel",
         "Results": "sim.results", "SimConfig": "sim.config", "load_config": "sim.config",
         "run_many": "sim.parallel"}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(importlib.import_module(_HOME[name]), name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
