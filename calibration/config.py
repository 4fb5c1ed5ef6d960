"""The calibration commands' configuration schemas (structured configs): Hydra checks every key
and type of conf/calibration/{calibrate,evaluate,holdout,crossval}.yaml, of a variant and of the
command line against these before anything runs. Values and their documentation are in the YAML."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore

from sim.parallel import ParallelConfig


@dataclass
class AbcConfig:
    enabled: bool = True
    particles: int = 200
    alpha: float = 0.5
    c: float = 0.05
    min_acceptance: float = 0.08
    mcmc_scale: float | None = None
    max_steps: int = 30
    generations: int = 14
    # None: no time budget; a number may stop ABC early (machine-dependent: said in the summary)
    max_walltime_minutes: float | None = None
    max_simulations: int = 30000
    seed: int = 2022


@dataclass
class OptunaConfig:
    storage: str = "sqlite:///results/tmp/calibration/optuna.db"
    study_name: str = "mobilisation-exodus"
    n_trials: int = 400
    seed: int = 7


@dataclass
class OptimiserConfig:
    name: str = "nelder-mead"
    start: str = "abc_best"
    seeds: list[int] = field(default_factory=lambda: [101, 102])
    max_evaluations: int = 120
    initial_step: float = 0.05
    de_popsize: int = 6
    de_generations: int = 10
    optuna: OptunaConfig = field(default_factory=OptunaConfig)


@dataclass
class PredictConfig:
    particles: int = 50
    seeds: int = 3
    scale: float = 0.01
    seed: int = 2022
    model_error: Any = "residuals"  # residuals | tolerance | a number | 0
    discrepancy: str | None = None  # discrepancy.json of the rolling-origin forecasts


@dataclass
class ReportConfig:
    countries: list[str] = field(default_factory=list)
    queue_post: str = ""


@dataclass
class CalibrateConfig:
    """conf/calibration/calibrate.yaml (`python -m experiments.calibrate`)."""

    observations: str = "sim/data/observations_2022.csv"
    model_overrides: list[str] = field(default_factory=list)
    scale: float = 0.01
    loss: str = "mean_abs"
    max_extrapolated_days: int = 31
    abort_departures: float | None = None
    out_dir: str = "results/calibration"
    work_dir: str = "results/tmp/calibration"
    conf_dir: str | None = "conf"
    conf_point: str = "medoid"
    restart: bool = False
    n_workers: int = 2
    log_every: int = 10
    abc: AbcConfig = field(default_factory=AbcConfig)
    optimiser: OptimiserConfig = field(default_factory=OptimiserConfig)
    predict: PredictConfig = field(default_factory=PredictConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    parameters: dict[str, Any] = field(default_factory=dict)  # parameters.yaml: name -> spec
    parallel: ParallelConfig = field(default_factory=ParallelConfig)
    # a variant (conf/calibration/variant/) serves the evaluation too: its evaluation keys
    posterior: str | None = None
    calibration_summary: str | None = None


@dataclass
class EvaluateConfig:
    """conf/calibration/evaluate.yaml (`python -m experiments.evaluate`)."""

    observations: str = "sim/data/observations_2022.csv"
    posterior: str | None = "results/calibration/posterior.csv"
    model_overrides: list[str] = field(default_factory=list)
    particles: int = 50
    seeds: int = 3
    scale: float = 0.01
    seed: int = 2022
    n_workers: int = 2
    interval: float = 0.9
    model_error: Any = "calibration"  # calibration | a number | 0
    calibration_summary: str = "results/calibration/summary.json"
    # destination_discrepancy.json of the cross-validation over destinations: the further error
    # of a row whose destination the calibration had no fit row of (null: none)
    destination_discrepancy: str | None = None
    max_extrapolated_days: int = 31
    strict: bool = False
    parameters: dict[str, Any] = field(default_factory=dict)
    parallel: ParallelConfig = field(default_factory=ParallelConfig)
    # a variant (conf/calibration/variant/) serves the calibration too: its calibration keys
    out_dir: str | None = None
    work_dir: str | None = None
    conf_dir: str | None = None


@dataclass
class HoldoutConfig:
    """conf/calibration/holdout.yaml (`python -m experiments.holdout`)."""

    observations: str = "sim/data/observations_2022.csv"
    split_date: str = "2022-09-30"
    origins: list[str] = field(default_factory=list)  # earlier forecast origins
    out_dir: str = "results/calibration/holdout"
    work_dir: str = "results/tmp/holdout"
    calibrate_overrides: list[str] = field(default_factory=list)
    evaluate_overrides: list[str] = field(default_factory=list)
    # ABC seeds of independent calibrations whose posteriors are pooled at every origin (empty:
    # one calibration with the calibration's own seed). One ABC-SMC run of 100 particles leaves
    # the test's score depending on its seed (docs/calibration.md section 6); pooled chains
    # depend on it less, at the cost of one calibration per chain
    chains: list[int] = field(default_factory=list)


@dataclass
class CrossvalConfig:
    """conf/calibration/crossval.yaml (`python -m experiments.crossval`)."""

    observations: str = "sim/data/observations_2022.csv"
    by: str = "destination"  # destination | time
    min_fit_rows: int = 3
    pool_small: bool = True
    folds: list[str] = field(default_factory=list)  # only these folds (empty: every fold)
    # true: score the folds' existing calibrations again (their posterior.csv and summary.json
    # in out_dir) without calibrating; a fold without them is an error
    rescore: bool = False
    origins: list[str] = field(default_factory=list)  # by=time: the forecast origins
    out_dir: str = "results/calibration/crossval"
    work_dir: str = "results/tmp/crossval"
    calibrate_overrides: list[str] = field(default_factory=list)
    evaluate_overrides: list[str] = field(default_factory=list)
    n_workers: int = 2
    parallel: ParallelConfig = field(default_factory=ParallelConfig)


def register_configs() -> None:
    cs = ConfigStore.instance()
    cs.store(name="calibrate_schema", node=CalibrateConfig)
    cs.store(name="evaluate_schema", node=EvaluateConfig)
    cs.store(name="holdout_schema", node=HoldoutConfig)
    cs.store(name="crossval_schema", node=CrossvalConfig)


register_configs()
