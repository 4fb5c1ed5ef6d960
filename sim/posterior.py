"""The calibration's posterior, read as data: weighted particles and the config path of each.

The calibration (calibration/, above the core) writes results/calibration/posterior.csv - one
row per particle, a column per parameter and a `weight` - and names each parameter's field of
the configuration in conf/calibration/parameters.yaml. The core reads both as plain data (the
CSV with pandas, the YAML with `yaml.safe_load`: nothing is interpolated or executed), so that
an ensemble can run over the parameters' uncertainty without importing the calibration.

Particles are drawn one way everywhere (`Posterior.draw`): systematic resampling by weight,
seeded, so the command line, the page and the comparison draw the same particles for the same
number of runs and seed.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from sim.config import CONF_DIR, SimConfig
from sim.dotted import set_path
from sim.errors import ConfigError, DataError

PROJECT = CONF_DIR.parent
DEFAULT_POSTERIOR = "results/calibration/posterior.csv"
DEFAULT_PARAMETERS = "conf/calibration/parameters.yaml"
OBSERVATION_PREFIX = "observation."  # the observation operator's parameters touch no run


def project_file(path: str | Path) -> Path:
    """`path` as given if absolute, else relative to the project root (wherever we run from)."""
    p = Path(path)
    return p if p.is_absolute() else PROJECT / p


def check_posterior(posterior: pd.DataFrame, where: str, columns: list[str]) -> None:
    """A posterior file's particles are numbers: every cell of `columns` (and `weight`) finite,
    the weights not negative and not all zero. A DataError names the file, row and column."""
    if posterior.empty:
        raise DataError(where, "holds no particles")
    for column in [c for c in [*columns, "weight"] if c in posterior.columns]:
        values = pd.to_numeric(posterior[column], errors="coerce").to_numpy(float)
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            row = int(bad[0])
            raise DataError(where, f"{posterior[column].iloc[row]!r} is not a finite number",
                            row=row + 1, field=column)
        if column == "weight":
            if (values < 0).any():
                row = int(np.flatnonzero(values < 0)[0])
                raise DataError(where, f"{values[row]} is a negative weight", row=row + 1,
                                field="weight")
            if values.sum() <= 0:
                raise DataError(where, "every weight is zero: no particle to draw",
                                field="weight")


def systematic_resample(weights: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Row indices of n equally weighted draws by systematic resampling (one uniform offset,
    n evenly spaced positions on the cumulative weights): less noise than n independent draws,
    and the same rows for the same weights, n and seed."""
    w = np.asarray(weights, dtype=float)
    w = w / w.sum()
    rng = np.random.default_rng(seed)
    positions = (rng.random() + np.arange(n)) / n
    return np.minimum(np.searchsorted(np.cumsum(w), positions), len(w) - 1)


def parameter_paths(parameters: str | Path = DEFAULT_PARAMETERS) -> dict[str, str]:
    """Parameter name -> config path (e.g. 'behaviour.hazard_base'), for the model's
    parameters only (the `observation.*` ones are the calibration's)."""
    file = project_file(parameters)
    try:
        spec = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError("posterior_parameters", f"{file}: {err}") from None
    params = spec.get("parameters") if isinstance(spec, dict) else None
    if not isinstance(params, dict):
        raise ConfigError("posterior_parameters", f"{file} has no 'parameters' mapping")
    out = {}
    for name, entry in params.items():
        path = entry.get("path") if isinstance(entry, dict) else None
        if not isinstance(path, str) or not path:
            raise ConfigError("posterior_parameters", f"{file}: parameters.{name} has no path")
        if not path.startswith(OBSERVATION_PREFIX):
            out[str(name)] = path
    return out


@dataclass(frozen=True)
class Posterior:
    """Weighted particles (one row each) and the config path of each parameter column."""

    table: pd.DataFrame
    paths: dict[str, str]  # column -> config path
    source: str = ""

    @classmethod
    def read(cls, path: str | Path = DEFAULT_POSTERIOR,
             parameters: str | Path = DEFAULT_PARAMETERS) -> Posterior:
        file = project_file(path)
        if not file.is_file():
            raise ConfigError("posterior", f"{file} does not exist (python -m "
                              "experiments.calibrate writes it; posterior=null runs the "
                              "configured parameters)")
        try:
            table = pd.read_csv(file)
        except (OSError, ValueError) as err:
            raise ConfigError("posterior", f"{file}: {err}") from None
        paths = {c: p for c, p in parameter_paths(parameters).items() if c in table.columns}
        if not paths or table.empty:
            raise ConfigError("posterior", f"{file} has no particle with a column named as a "
                              f"parameter of {parameters}")
        check_posterior(table, str(file), list(paths))
        weights = (table["weight"].to_numpy(float) if "weight" in table
                   else np.ones(len(table)))
        table = table.assign(weight=weights)
        return cls(table, paths, str(path))

    def draw(self, n: int, seed: int) -> list[int]:
        """The rows of n particles for an ensemble of n runs whose first seed is `seed`."""
        return [int(i) for i in systematic_resample(self.table["weight"].to_numpy(), n, seed)]

    def values(self, row: int) -> dict[str, float]:
        """Config path -> value of particle `row`."""
        particle = self.table.iloc[row]
        return {path: float(particle[column]) for column, path in self.paths.items()}

    def apply(self, config: SimConfig, row: int, fixed: frozenset[str] = frozenset()
              ) -> SimConfig:
        """A copy of `config` with particle `row`'s values, except the paths in `fixed` (the
        values a user set on purpose)."""
        out = copy.deepcopy(config)
        for path, value in self.values(row).items():
            if path not in fixed:
                try:
                    set_path(out, path, value)
                except KeyError as err:
                    raise ConfigError("posterior", str(err)) from None
        return out
