"""Paired runs: the chosen scenario and 2022 with the same seeds and posterior particles.

Run i uses seed i + 1 and the i-th particle drawn from results/calibration/posterior.csv under
both policies (common random numbers), so that the paired difference carries the parameters'
uncertainty and not the noise of two unrelated draws.
"""

from __future__ import annotations

import atexit
import copy
import datetime as dt
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from omegaconf import OmegaConf

from app.scenario import BASELINE, BASELINE_LABEL, catalogue_policy, scenario_config, world_for
from sim import MobilisationModel
from sim.config import CONF_DIR, SimConfig
from sim.errors import ConfigError
from sim.parallel import exit_with_parent

PROJECT = CONF_DIR.parent
POSTERIOR = PROJECT / "results" / "calibration" / "posterior.csv"
PARAMETERS = CONF_DIR / "calibration" / "parameters.yaml"
MAX_RUNS = 50
SCALES = (0.001, 0.003, 0.01, 0.03, 0.1)


# ---- posterior particles (a small copy of what experiments/ does; the page may not import it) --
def posterior_columns(parameters: Path = PARAMETERS) -> dict[str, str]:
    """posterior.csv column -> config path, for the model's parameters (the observation
    operator's `observation.*` touch no run)."""
    params = OmegaConf.to_container(OmegaConf.load(parameters).parameters)
    assert isinstance(params, dict)
    return {name: str(p["path"]) for name, p in params.items()
            if not str(p["path"]).startswith("observation.")}


def draw_particles(n: int, path: Path = POSTERIOR, seed: int = 0) -> pd.DataFrame:
    """n particles drawn by weight (without replacement while there are enough)."""
    if not path.exists():
        raise ConfigError("posterior", f"{path} does not exist (python -m experiments.calibrate "
                          "writes it; untick 'over posterior particles' to run without)")
    posterior = pd.read_csv(path)
    weights = posterior["weight"].to_numpy(float) if "weight" in posterior else None
    if weights is not None:
        weights = weights / weights.sum()
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(posterior), size=n, replace=n > len(posterior), p=weights)
    return posterior.iloc[rows].reset_index(drop=True)


def set_path(config: SimConfig, path: str, value: float) -> None:
    """Set `behaviour.hazard_base` or `network.capacity_factor_by_exit.GE` on a config."""
    *parents, leaf = path.split(".")
    node = config
    for part in parents:
        node = getattr(node, part)
    if isinstance(node, dict):
        node[leaf] = float(value)
    elif hasattr(node, leaf):
        setattr(node, leaf, float(value))
    else:
        raise ConfigError("posterior", f"{path} is not a field of the configuration")


def with_particle(config: SimConfig, particle: pd.Series, columns: dict[str, str],
                  fixed: set[str]) -> SimConfig:
    """The config with the particle's values, except the paths the user fixed in the page."""
    out = copy.deepcopy(config)
    for column, path in columns.items():
        if column in particle.index and path not in fixed:
            set_path(out, path, float(particle[column]))
    return out


# ---- what one run leaves for the page --------------------------------------------------------
@dataclass
class RunResult:
    """A finished run's series, real-population equivalents (agent counts / scale)."""

    scenario: str
    seed: int
    departures: np.ndarray  # [T] men entering another country that day (left Russia)
    entries: np.ndarray  # [T, C] entries from Russia, fleeing and ordinary travellers
    queue: np.ndarray  # [T, G] people queued at the exit (fleeing and ordinary)
    outcomes: dict[str, float]


@dataclass
class MapFrames:
    """What the map draws for one run, day by day."""

    region_departed: np.ndarray  # [T, R] cumulative men who set off
    gate_crossed: np.ndarray  # [T, G] cumulative crossings of fleeing men
    gate_queue: np.ndarray  # [T, G]
    gate_open: np.ndarray  # [T, G] bool
    gate_draft: np.ndarray  # [T, G] probability of call-up
    country_present: np.ndarray  # [T, C] fleeing men present
    country_entered: np.ndarray  # [T, C] cumulative entries of fleeing men
    flow_region: np.ndarray  # per crosser: home region index
    flow_gate: np.ndarray  # per crosser: exit index
    flow_day: np.ndarray  # per crosser: day index of the crossing
    scale: float


def outcomes_of(model: MobilisationModel) -> dict[str, float]:
    rec, scale = model.record, model.scale
    dates = np.array(rec.dates, dtype="datetime64[D]")
    left = rec.country["entered_fleeing"].sum(axis=1) / scale
    crossed = rec.gate["crossed_fleeing"].sum()
    waits = rec.gate["wait_days_sum"].sum()
    return {
        "left_by_2022_10_04": float(left[dates <= np.datetime64("2022-10-04")].sum()),
        "left_by_end": float(left.sum()),
        "turned_back": float(rec.gate["refused"].sum() / scale),
        "called_up": float(rec.gate["stopped"].sum() / scale),
        "refused_entry": float(rec.country["refused_entry"].sum() / scale),
        "mean_wait_days": float(waits / crossed) if crossed > 0 else float("nan"),
    }


def result_of(model: MobilisationModel, scenario: str) -> RunResult:
    rec, scale = model.record, model.scale
    return RunResult(
        scenario=scenario, seed=model.seed,
        departures=rec.country["entered_fleeing"].sum(axis=1) / scale,
        entries=(rec.country["entered_fleeing"] + rec.country["entered_normal"]) / scale,
        queue=(rec.gate["queue_fleeing"] + rec.gate["queue_normal"]) / scale,
        outcomes=outcomes_of(model))


def frames_of(model: MobilisationModel) -> MapFrames:
    rec, scale = model.record, model.scale
    people = model.people  # who crossed where: the flows region -> exit
    crossed = people.view("t_cross") >= 0
    return MapFrames(
        region_departed=np.cumsum(rec.region["departures"], axis=0) / scale,
        gate_crossed=np.cumsum(rec.gate["crossed_fleeing"], axis=0) / scale,
        gate_queue=(rec.gate["queue_fleeing"] + rec.gate["queue_normal"]) / scale,
        gate_open=np.asarray(model.policy.open, dtype=bool),
        gate_draft=np.asarray(model.policy.draft_probability),
        country_present=rec.country["present_fleeing"] / scale,
        country_entered=np.cumsum(rec.country["entered_fleeing"], axis=0) / scale,
        flow_region=people.view("region")[crossed].astype(int),
        flow_gate=people.view("gate")[crossed].astype(int),
        flow_day=people.view("t_cross")[crossed].astype(int),
        scale=scale)


@dataclass
class Comparison:
    """Paired runs of a scenario and of 2022."""

    scenario: str
    dates: list[dt.date]
    scale: float
    runs: list[RunResult] = field(default_factory=list)
    frames: dict[str, MapFrames] = field(default_factory=dict)  # the first run of each
    first_config: SimConfig | None = None  # the scenario's first run, for its daily.csv
    seconds: float = 0.0
    over_posterior: bool = False

    def of(self, scenario: str) -> list[RunResult]:
        return [r for r in self.runs if r.scenario == scenario]

    def paired(self) -> list[tuple[RunResult, RunResult]]:
        base = {r.seed: r for r in self.of(BASELINE_LABEL)}
        return [(r, base[r.seed]) for r in self.of(self.scenario) if r.seed in base]


def daily_csv_of(config: SimConfig) -> str:
    """A run's daily.csv as `python -m sim` writes it, made when it is downloaded: the run is
    repeated (0.5 s at scale 0.01), which gives identical numbers, as the seed is the same."""
    from sim.outputs import daily_table

    model = MobilisationModel(config, world=world_for(config))
    model.run()
    return daily_table(model).to_csv(index=False, float_format="%.6g")


def check_runs(n_runs: object) -> int:
    try:
        n = int(n_runs)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError("runs", f"'{n_runs}' is not a whole number") from None
    if not 1 <= n <= MAX_RUNS:
        raise ConfigError("runs", f"{n} must be between 1 and {MAX_RUNS}")
    return n


def prepare(config: SimConfig, n_runs: object, over_posterior: bool,
            fixed: set[str]) -> list[tuple[int, SimConfig, SimConfig]]:
    """(seed, 2022 config, scenario config) per run, every one validated before any runs."""
    n = check_runs(n_runs)
    baseline = scenario_config(catalogue_policy(BASELINE), config.population.scale,
                               {k.removeprefix("behaviour."): getattr(config.behaviour,
                                                                      k.removeprefix("behaviour."))
                                for k in fixed})
    particles = draw_particles(n) if over_posterior else None
    columns = posterior_columns() if over_posterior else {}
    jobs = []
    for i in range(n):
        seed = i + 1
        pair = []
        for cfg in (baseline, config):
            run_cfg = copy.deepcopy(cfg)
            run_cfg.seed = seed
            if particles is not None:
                run_cfg = with_particle(run_cfg, particles.iloc[i], columns, fixed)
            pair.append(run_cfg)
        jobs.append((seed, pair[0], pair[1]))
    return jobs


def run_one(label: str, config: SimConfig, with_frames: bool
            ) -> tuple[RunResult, MapFrames | None, list[dt.date]]:
    """One run, in a worker process: what the page needs of it (the model stays there)."""
    exit_with_parent()  # a killed server must not leave its workers running
    model = MobilisationModel(config, world=world_for(config))
    model.run()
    return (result_of(model, label), frames_of(model) if with_frames else None,
            list(model.record.dates))


def workers() -> int:
    """Processes for the runs: both cores of the machine the issue targets (APP_WORKERS=1 runs
    them in the server's own process)."""
    return max(1, int(os.environ.get("APP_WORKERS", min(2, os.cpu_count() or 1))))


def _warm() -> int:
    exit_with_parent()  # from its first task on, the worker ends with the server
    world_for(catalogue_policy_config())
    return os.getpid()


def catalogue_policy_config() -> SimConfig:
    return scenario_config(catalogue_policy(BASELINE), 0.01)


def warm_workers() -> None:
    """Start the worker processes and build the world in each (the server calls this once, in
    the background, so that the first comparison does not wait ~5 s for them)."""
    if workers() > 1:
        Parallel(n_jobs=workers())(delayed(_warm)() for _ in range(2 * workers()))
        atexit.register(stop_workers)


def stop_workers() -> None:
    """End the worker processes when the server exits normally (Ctrl-C). Killed by a signal,
    the server cannot: each worker then ends itself within a second (`exit_with_parent`)."""
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor().shutdown(wait=False, kill_workers=True)


def run_comparison(config: SimConfig, n_runs: object, over_posterior: bool = True,
                   fixed: set[str] | None = None,
                   progress: Callable[[float, str], None] | None = None) -> Comparison:
    """Run 2022 and the scenario `n_runs` times each, paired, on `workers()` processes;
    `progress(share, text)` after each run. Nothing runs if any configuration is invalid
    (ConfigError)."""
    jobs = prepare(config, n_runs, over_posterior, fixed or set())
    started = time.perf_counter()
    name = config.policy.name
    comparison = Comparison(scenario=name, dates=[], scale=config.population.scale,
                            over_posterior=over_posterior, first_config=jobs[0][2])
    tasks = [(label, cfg, seed == jobs[0][0]) for seed, base_cfg, own_cfg in jobs
             for label, cfg in ((BASELINE_LABEL, base_cfg), (name, own_cfg))]
    n_jobs = workers()
    if n_jobs > 1:
        # loky keeps its workers between calls: each builds the world once (app.scenario)
        results = Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(run_one)(*task) for task in tasks)
    else:
        results = (run_one(*task) for task in tasks)
    for done, (result, frames, dates) in enumerate(results, start=1):
        comparison.dates = dates
        comparison.runs.append(result)
        if frames is not None:
            comparison.frames[result.scenario] = frames
        if progress is not None:
            progress(done / len(tasks), f"{result.scenario} run {result.seed} of {len(jobs)}")
    comparison.seconds = time.perf_counter() - started
    return comparison
