"""Paired runs: the chosen scenario and 2022, as two ensembles drawn the same way.

The page's numbers come from the same ensemble object as `python -m sim` (`sim.ensemble`): run
i uses seed `seed + i` and the i-th particle drawn from results/calibration/posterior.csv under
both policies (common random numbers), so that the paired difference carries the parameters'
uncertainty and not the noise of two unrelated draws, and the page and the command line give
the same medians for the same policy, scale, runs and seed.
"""

from __future__ import annotations

import atexit
import datetime as dt
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from app.scenario import BASELINE, BASELINE_LABEL, catalogue_policy, scenario_config, world_for
from sim import MobilisationModel
from sim.config import SimConfig
from sim.ensemble import Ensemble
from sim.errors import ConfigError
from sim.parallel import run_many, stop_local_workers
from sim.posterior import Posterior
from sim.results import Results, people_per_agent

MAX_RUNS = 50
SCALES = (0.001, 0.003, 0.01, 0.03, 0.1)


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
    people_per_agent: float = 1.0  # what one crosser of the flows stands for


def result_of(results: Results, scenario: str, seed: int) -> RunResult:
    """What the page keeps of a run, in the names and units of `Results`."""
    return RunResult(
        scenario=scenario, seed=seed,
        departures=results.entered_fleeing.sum(axis=1),
        entries=results.entered_fleeing + results.entered_normal,
        queue=results.queue,
        outcomes=results.outcomes()["outcomes"])


def frames_of(model: MobilisationModel) -> MapFrames:
    """The map's layers of a finished run (its agents give the flows region -> exit)."""
    res = Results.of(model)
    people = model.people
    crossed = people.view("t_cross") >= 0
    return MapFrames(
        region_departed=np.cumsum(res.departures, axis=0),
        gate_crossed=np.cumsum(res.crossed_fleeing, axis=0),
        gate_queue=res.queue,
        gate_open=np.asarray(model.policy.open, dtype=bool),
        gate_draft=np.asarray(model.policy.draft_probability),
        country_present=res.present_fleeing,
        country_entered=np.cumsum(res.entered_fleeing, axis=0),
        flow_region=people.view("region")[crossed].astype(int),
        flow_gate=people.view("gate")[crossed].astype(int),
        flow_day=people.view("t_cross")[crossed].astype(int),
        scale=model.scale,
        people_per_agent=people_per_agent(model.scale))


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

    @property
    def resolution(self) -> float:
        """Men per agent: no figure of the comparison is finer."""
        return people_per_agent(self.scale)

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


def ensembles(config: SimConfig, n_runs: object, over_posterior: bool, fixed: set[str],
              parallel: int = 1) -> tuple[Ensemble, Ensemble]:
    """2022's ensemble and the scenario's, drawn the same way (the same seeds and particles),
    every member's configuration checked before anything runs."""
    n = check_runs(n_runs)
    baseline = scenario_config(catalogue_policy(BASELINE), config.population.scale,
                               {k.removeprefix("behaviour."): getattr(config.behaviour,
                                                                      k.removeprefix("behaviour."))
                                for k in fixed})
    baseline.seed = config.seed
    posterior = Posterior.read() if over_posterior else None
    pair = (Ensemble(baseline, n, posterior, fixed=frozenset(fixed), parallel=parallel,
                     label=BASELINE_LABEL),
            Ensemble(config, n, posterior, fixed=frozenset(fixed), parallel=parallel,
                     label=config.policy.name))
    for ens in pair:
        ens.members()  # a particle's value that does not fit the config stops here
    return pair


def first_frames(ens: Ensemble) -> tuple[MapFrames, list[dt.date]]:
    """The map's layers of the ensemble's first run, repeated here (its agents stay in the
    worker): the same config and seed give the same numbers."""
    config = ens.member_config(ens.draws[0])
    model = MobilisationModel(config, world=world_for(config))
    model.run()
    return frames_of(model), list(model.record.dates)


def workers() -> int:
    """Processes for the runs: both cores of the machine the issue targets (APP_WORKERS=1 runs
    them in the server's own process)."""
    return max(1, int(os.environ.get("APP_WORKERS", min(2, os.cpu_count() or 1))))


def _warm(_: int) -> int:
    world_for(catalogue_policy_config())
    return os.getpid()


def catalogue_policy_config() -> SimConfig:
    return scenario_config(catalogue_policy(BASELINE), 0.01)


def warm_workers() -> None:
    """Start the worker processes and build the world in each (the server calls this once, in
    the background, so that the first comparison does not wait ~5 s for them)."""
    if workers() > 1:
        run_many(_warm, list(range(2 * workers())), workers())
        atexit.register(stop_workers)


def stop_workers() -> None:
    """End the worker processes when the server exits normally (Ctrl-C). Killed by a signal,
    the server cannot: each worker then ends itself within a second (`run_many`'s workers
    watch their parent, `sim.parallel.exit_with_parent`)."""
    stop_local_workers()


def run_comparison(config: SimConfig, n_runs: object, over_posterior: bool = True,
                   fixed: set[str] | None = None,
                   progress: Callable[[float, str], None] | None = None) -> Comparison:
    """Run 2022 and the scenario `n_runs` times each, paired, on `workers()` processes;
    `progress(share, text)` as runs finish. Nothing runs if any configuration is invalid
    (ConfigError)."""
    base, own = ensembles(config, n_runs, over_posterior, fixed or set(), workers())
    started = time.perf_counter()
    name = config.policy.name
    comparison = Comparison(scenario=name, dates=[], scale=config.population.scale,
                            over_posterior=over_posterior,
                            first_config=own.member_config(own.draws[0]))
    total = 2 * own.runs
    for offset, ens in ((0, base), (own.runs, own)):
        def report(done: int, runs: int, offset: int = offset, label: str = ens.label) -> None:
            if progress is not None:
                progress((offset + done) / total, f"{label}: {done} of {runs} runs")

        ens.run(progress=report)
        comparison.runs += [result_of(r, ens.label, d.seed)
                            for d, r in zip(ens.draws, ens.results, strict=True)]
        comparison.frames[ens.label], comparison.dates = first_frames(ens)
    comparison.seconds = time.perf_counter() - started
    return comparison
