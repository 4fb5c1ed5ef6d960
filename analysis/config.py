"""The analyses' configuration schemas (structured configs): Hydra checks every key and type
of conf/experiment/*.yaml and of the command line against these before anything
runs. Values and their documentation are in the YAML files."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore

from sim.config import DrawMode
from sim.parallel import ParallelConfig


@dataclass
class CompareConfig:
    """conf/experiment/compare.yaml (`python -m experiments.compare_policies`)."""

    name: str = "comparison"
    output_root: str = "results/comparisons"
    policies: Any = "all"  # 'all' or a list of policy names
    variants: dict[str, Any] = field(default_factory=dict)  # name -> list of overrides
    baseline: str = "historical"
    seeds: Any = 20  # a number of seeds from first_seed, or a list of seeds
    first_seed: int = 1
    scale: float = 0.01
    draws: DrawMode = DrawMode.streams  # streams | keyed (sim/keyed.py), for every scenario
    model_overrides: list[str] = field(default_factory=list)
    posterior: str | None = None
    posterior_parameters: str = "conf/calibration/parameters.yaml"
    n_jobs: int = -1
    progress: bool = True
    plots: bool = True
    labels: dict[str, str] = field(default_factory=dict)
    parallel: ParallelConfig = field(default_factory=ParallelConfig)


@dataclass
class AssumptionConfig:
    path: str  # dotted field of the simulation config
    low: float
    high: float
    why: str = ""


@dataclass
class AssumptionsConfig(CompareConfig):
    """conf/experiment/assumptions.yaml (`python -m experiments.compare_assumptions`)."""

    outcome: str = "left_by_end"
    assumptions: list[AssumptionConfig] = field(default_factory=list)


@dataclass
class SensitivityParameter:
    name: str
    low: float | None = None  # None: the calibration prior's range (`priors`)
    high: float | None = None


@dataclass
class MorrisConfig:
    trajectories: int = 10
    levels: int = 4
    seed: int = 1


@dataclass
class SobolConfig:
    top: int = 3
    n_base: int = 64
    second_order: bool = False
    seed: int = 1


@dataclass
class SensitivityConfig:
    """conf/experiment/sensitivity.yaml (`python -m experiments.sensitivity`)."""

    name: str = "sensitivity"
    output_root: str = "results/sensitivity"
    base_policy: str = "historical"
    scale: float = 0.005
    seeds: list[int] = field(default_factory=lambda: [1])
    model_overrides: list[str] = field(default_factory=list)
    n_jobs: int = -1
    progress: bool = True
    outcomes: list[str] = field(default_factory=list)
    morris: MorrisConfig = field(default_factory=MorrisConfig)
    sobol: SobolConfig = field(default_factory=SobolConfig)
    priors: str | None = "conf/calibration/parameters.yaml"
    parameters: list[SensitivityParameter] = field(default_factory=list)
    parallel: ParallelConfig = field(default_factory=ParallelConfig)


def register_configs() -> None:
    cs = ConfigStore.instance()
    cs.store(name="compare_schema", node=CompareConfig)
    cs.store(name="sensitivity_schema", node=SensitivityConfig)
    cs.store(name="assumptions_schema", node=AssumptionsConfig)


register_configs()
