"""Calibrated parameters and their priors, shared by the calibration, the sensitivity analysis
and the policy comparison over posterior particles (conf/calibration/parameters.yaml).

Each parameter is a dotted path into the simulation config (`sim.dotted`) or, with the prefix
`observation.`, a parameter of the observation operator (persons per vehicle)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from calibration.scores import weighted_median
from sim.dotted import get_path
from sim.posterior import check_posterior, systematic_resample

OBS_PREFIX = "observation."
DEFAULT_PPV = 2.5  # persons per vehicle when it is not a calibrated parameter


@dataclass(frozen=True)
class Param:
    """A calibrated parameter with a uniform prior on [low, high] (on the log for loguniform).

    Optimisers and the ABC kernel work on the transformed scale `z` (log10 for loguniform), where
    the prior is flat; `unit` maps z to [0, 1] for optimisers."""

    name: str
    path: str
    prior: str
    low: float
    high: float
    why: str = ""

    @property
    def log(self) -> bool:
        return self.prior == "loguniform"

    @property
    def z_low(self) -> float:
        return math.log10(self.low) if self.log else self.low

    @property
    def z_high(self) -> float:
        return math.log10(self.high) if self.log else self.high

    def from_z(self, z: float) -> float:
        return 10.0**z if self.log else z

    def to_z(self, x: float) -> float:
        return math.log10(x) if self.log else x

    def from_unit(self, u: float) -> float:
        u = min(max(u, 0.0), 1.0)
        return self.from_z(self.z_low + u * (self.z_high - self.z_low))

    def to_unit(self, x: float) -> float:
        return (self.to_z(x) - self.z_low) / (self.z_high - self.z_low)


def load_parameters(spec: Any) -> list[Param]:
    """Parameters from the `parameters` mapping of conf/calibration/parameters.yaml."""
    params = []
    for name, p in dict(spec).items():
        prior = str(p["prior"])
        if prior not in ("uniform", "loguniform"):
            raise ValueError(f"parameters.{name}.prior: {prior!r} is not uniform or loguniform")
        low, high = float(p["low"]), float(p["high"])
        if not low < high or (prior == "loguniform" and low <= 0):
            raise ValueError(f"parameters.{name}: bounds [{low}, {high}] are not valid")
        path = str(p["path"])
        if not path.startswith(("behaviour.", "network.", OBS_PREFIX)):
            raise ValueError(f"parameters.{name}.path: {path!r} is not behaviour.*, network.* "
                             f"or {OBS_PREFIX}*")
        params.append(Param(name, path, prior, low, high, str(p.get("why", "")).strip()))
    return params


def posterior_medoid(posterior: pd.DataFrame, params: list[Param]) -> dict[str, float]:
    """The particle nearest the posterior's coordinate-wise median, on the scale where each
    prior is flat: a typical member of the posterior. The optimiser's point instead sits wherever
    the loss is lowest, which along directions the data do not inform (how long the pressure
    lasts after September, what drives it) is an accident of noise that a single run would
    then carry into every scenario."""
    unit = np.column_stack([[p.to_unit(float(v)) for v in posterior[p.name]] for p in params])
    w = posterior["weight"].to_numpy(float) if "weight" in posterior else np.ones(len(unit))
    median = np.array([weighted_median(unit[:, j], w) for j in range(unit.shape[1])])
    row = int(np.argmin(((unit - median) ** 2).sum(axis=1)))
    return {p.name: float(posterior[p.name].iloc[row]) for p in params}


def resample(posterior: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """Systematic resampling of weighted particles: n equally weighted draws (the one draw of
    every ensemble, `sim.posterior.systematic_resample`)."""
    if n < 1:
        from sim.errors import ConfigError

        raise ConfigError("particles", f"{n}: at least one particle")
    check_posterior(posterior, "posterior", [])
    idx = systematic_resample(posterior["weight"].to_numpy(float), n, seed)
    return posterior.iloc[idx].reset_index(drop=True)


def get_field(cfg: Any, path: str) -> float:
    """A parameter's value in a config; an absent mapping key is a factor of 1."""
    return float(get_path(cfg, path, default=1.0))


def ranges_of(params: list[Param]) -> dict[str, tuple[float, float]]:
    """Each parameter's config path and prior range: what the sensitivity analysis varies."""
    return {p.path: (p.low, p.high) for p in params if not p.path.startswith(OBS_PREFIX)}
