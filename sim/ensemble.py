"""One ensemble object: runs over (posterior particle, seed) pairs, reduced to medians and 90 %
intervals, compared by paired differences.

    ens = Ensemble(load_config(["policy=finland_closes_earlier", "population.scale=0.01"]),
                   runs=20, posterior=Posterior.read()).run()
    ens.reduce()                      # outcome, median, p05, p95, rounded figures
    ens.diff(Ensemble(baseline_config, runs=20, posterior=Posterior.read()).run())
    ens.to_frame(); ens.summary(); ens.plot(folder)

Run i of an ensemble whose config has seed s uses seed s + i and the i-th particle drawn from
the posterior (`Posterior.draw(runs, s)`): the draws depend on the number of runs, the seed and
the posterior only, so two ensembles of the same runs and seed pair up member by member (common
random numbers: the same particle and the same random streams under both policies), and the
command line, the page and Python give the same numbers for the same settings.

Members run through `sim.batch.run_members` in batches that `sim.parallel.run_many` distributes
(local processes, Dask or Ray); each batch's results come back as `Results`, the one vocabulary
of a run's figures.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.batch import Member, run_members
from sim.config import SimConfig
from sim.errors import ConfigError
from sim.parallel import ParallelConfig, as_parallel_config, run_many, world_for
from sim.posterior import Posterior
from sim.results import OUTCOMES, Outcome, Results, band, people_per_agent, supported

__all__ = ["DEFAULT_RUNS", "Draw", "Ensemble", "band", "draw_members", "supported"]

DEFAULT_RUNS = 20
MIN_RUNS_FOR_INTERVAL = 20  # below this a 90 % interval's ends rest on one or two runs


@dataclass(frozen=True)
class Draw:
    """Member `run` of an ensemble: its seed and its posterior particle (-1: the configured
    parameters)."""

    run: int
    seed: int
    particle: int = -1


def draw_members(runs: int, first_seed: int, posterior: Posterior | None) -> list[Draw]:
    """The one way an ensemble's members are drawn (see the module's docstring)."""
    if isinstance(runs, bool) or not isinstance(runs, int) or runs < 1:
        raise ConfigError("runs", f"{runs!r}: give a whole number of runs, at least 1")
    rows = posterior.draw(runs, first_seed) if posterior is not None else [-1] * runs
    return [Draw(i, first_seed + i, rows[i]) for i in range(runs)]


def _run_batch(members: Sequence[Member]) -> list[Results]:
    """In a worker: run a batch on this process's cached world (`world_for`)."""
    batch = [dataclasses.replace(m, world=world_for(m.config.network)) for m in members]
    return [run.results for run in run_members(batch)]


def _batches(members: list[Member], parallel: ParallelConfig) -> list[list[Member]]:
    """About two batches per worker, so that a slow batch does not leave a core idle."""
    workers = os.cpu_count() or 1 if parallel.n_jobs < 1 else parallel.n_jobs
    if parallel.backend == "sequential":
        workers = 1
    size = max(1, math.ceil(len(members) / (2 * workers)))
    return [members[i:i + size] for i in range(0, len(members), size)]


class Ensemble:
    """`runs` members of one configuration, drawn over posterior particles and seeds."""

    def __init__(self, config: SimConfig, runs: int = DEFAULT_RUNS,
                 posterior: Posterior | None = None, *, fixed: frozenset[str] = frozenset(),
                 parallel: ParallelConfig | int = -1, label: str | None = None) -> None:
        self.config = config
        self.posterior = posterior
        self.fixed = frozenset(fixed)
        self.parallel = as_parallel_config(parallel)
        self.label = label or config.policy.name
        self.draws = draw_members(runs, int(config.seed), posterior)
        self.results: list[Results] = []
        self.seconds = 0.0

    @property
    def runs(self) -> int:
        return len(self.draws)

    @property
    def resolution(self) -> float:
        """Men per agent: no figure of the ensemble is finer."""
        return people_per_agent(self.config.population.scale)

    def member_config(self, draw: Draw) -> SimConfig:
        config = (self.posterior.apply(self.config, draw.particle, self.fixed)
                  if self.posterior is not None and draw.particle >= 0 else self.config)
        return dataclasses.replace(config, seed=draw.seed, progress=False)

    def members(self) -> list[Member]:
        return [Member(self.member_config(d)) for d in self.draws]

    def check(self) -> list[Member]:
        """Every member's configuration, its policy compiled against the world: bad input
        (a target that names nothing, a particle's path the config lacks) stops here, in this
        process, before any run."""
        from sim.config import parse_date
        from sim.policy import compile_policy
        from sim.population import make_strata

        members = self.members()
        config = members[0].config
        compile_policy(config.policy, world_for(config.network),
                       make_strata(list(config.population.age_bands)),
                       parse_date(config.start, "start"), parse_date(config.end, "end"))
        return members

    def run(self, progress: Callable[[int, int], None] | None = None) -> Ensemble:
        """Run every member (in order); `progress(done, total)` after each group of batches."""
        started = time.perf_counter()
        batches = _batches(self.check(), self.parallel)
        step = len(batches) if progress is None else max(1, len(batches) // 4)
        results: list[Results] = []
        for i in range(0, len(batches), step):
            for batch in run_many(_run_batch, batches[i:i + step], self.parallel,
                                  desc=self.label):
                results.extend(batch)
            if progress is not None:
                progress(len(results), self.runs)
        self.results = results
        self.seconds = time.perf_counter() - started
        return self

    # ---- the runs, one row each -------------------------------------------------------------
    @cached_property
    def outcomes(self) -> list[dict[str, Any]]:
        if len(self.results) != self.runs:
            raise RuntimeError("the ensemble has not run: call .run() first")
        return [r.outcomes() for r in self.results]

    def to_frame(self) -> pd.DataFrame:
        """One row per run: run, seed, particle, every outcome, entered_<country>,
        exit_<exit id> (men let in through that exit)."""
        rows = []
        for draw, out in zip(self.draws, self.outcomes, strict=True):
            row: dict[str, Any] = {"scenario": self.label, "run": draw.run, "seed": draw.seed,
                                   "particle": draw.particle, **out["outcomes"]}
            row.update({f"entered_{c}": v for c, v in out["destinations"].items()})
            row.update({f"exit_{g}": v for g, v in out["exits"].items()})
            rows.append(row)
        return pd.DataFrame(rows)

    def figures(self) -> list[Outcome]:
        """The outcomes, then entries by destination (in the words of a report)."""
        world = self.results[0].world
        return [*OUTCOMES, *(Outcome(f"entered_{c}", f"Entered {name}", "people")
                             for c, name in zip(world.country_ids, world.country_names,
                                                strict=True))]

    def _reduce(self, values: pd.DataFrame, outcomes: list[Outcome]) -> pd.DataFrame:
        rows = []
        for out in outcomes:
            column = values[out.key].to_numpy(float)
            lo, mid, hi = (float(x) for x in band(column))
            resolution = self.resolution if out.unit == "people" else 0.01
            r_mid, r_lo, r_hi = supported(mid, lo, hi, resolution)
            rows.append({"outcome": out.key, "label": out.label, "unit": out.unit,
                         "median": mid, "p05": lo, "p95": hi, "rounded_median": r_mid,
                         "rounded_p05": r_lo, "rounded_p95": r_hi,
                         "runs": int(np.isfinite(column).sum())})
        return pd.DataFrame(rows)

    def reduce(self) -> pd.DataFrame:
        """Per outcome: median and 90 % interval over the runs, raw and rounded to what the
        ensemble supports."""
        return self._reduce(self.to_frame(), self.figures())

    def diff(self, baseline: Ensemble) -> pd.DataFrame:
        """Per outcome: median and 90 % interval of the paired differences self - baseline,
        member by member (the same particle and seed in both)."""
        if [(d.seed, d.particle) for d in self.draws] != [
                (d.seed, d.particle) for d in baseline.draws]:
            raise ValueError("the ensembles were drawn differently (runs, seed or posterior): "
                             "their members do not pair")
        own, base = self.to_frame(), baseline.to_frame()
        outcomes = self.figures()
        keys = [o.key for o in outcomes]
        return self._reduce(own[keys] - base[keys], outcomes)

    # ---- by date ----------------------------------------------------------------------------
    def series(self) -> pd.DataFrame:
        """Per national daily series and day: median and 90 % band over the runs; with the
        cumulative number of men who had left ('left_cumulative')."""
        dates = pd.to_datetime(self.outcomes[0]["dates"])
        stacks = {name: np.vstack([o["series"][name] for o in self.outcomes])
                  for name in self.outcomes[0]["series"]}
        stacks["left_cumulative"] = np.cumsum(stacks["departures"], axis=1)
        frames = []
        for name, stack in stacks.items():
            lo, mid, hi = band(stack)
            frames.append(pd.DataFrame({"series": name, "date": dates, "p05": lo,
                                        "median": mid, "p95": hi}))
        return pd.concat(frames, ignore_index=True)

    def node_bands(self) -> dict[str, tuple[list[str], dict[str, tuple[np.ndarray, ...]]]]:
        """Per kind of node (gate, country, region): its ids and, per metric, the [T, N]
        median, 5th and 95th percentile over the runs (what daily.csv holds)."""
        first = self.results[0]
        kinds = {
            "gate": (first.world.gate_ids, [r.gate_series() for r in self.results]),
            "country": (first.world.country_ids, [r.country_series() for r in self.results]),
            "region": (first.world.region_ids,
                       [{"departures": r.departures} for r in self.results]),
        }
        out = {}
        for kind, (ids, per_run) in kinds.items():
            metrics = {}
            for metric in per_run[0]:
                lo, mid, hi = band(np.stack([run[metric] for run in per_run]))
                metrics[metric] = (mid, lo, hi)
            out[kind] = (list(ids), metrics)
        return out

    # ---- words and pictures -----------------------------------------------------------------
    def describe_draws(self) -> str:
        """How the runs were drawn, in words."""
        seeds = f"seeds {self.draws[0].seed}-{self.draws[-1].seed}" if self.runs > 1 else (
            f"seed {self.draws[0].seed}")
        if self.posterior is None:
            params = ("the configured parameters (no posterior: the interval is the seeds' "
                      "noise only, not the parameters' uncertainty)")
        else:
            distinct = len({d.particle for d in self.draws})
            params = (f"{distinct} particles drawn by weight from the posterior "
                      f"{self.posterior.source}")
        return f"{self.runs} run{'s' if self.runs > 1 else ''} ({seeds}) over {params}"

    def caveat(self) -> str:
        """What the interval is worth, in words ('' when it rests on enough runs)."""
        if self.runs == 1:
            return "One run: no interval; figures to three significant digits."
        if self.runs < MIN_RUNS_FOR_INTERVAL:
            return (f"Only {self.runs} runs: the 90 % interval's ends rest on one or two runs "
                    f"each (use at least {MIN_RUNS_FOR_INTERVAL}).")
        return ""

    def summary(self) -> str:
        """The headline figures in words."""
        from sim.report import headline_sentences

        return "\n".join(headline_sentences(self))

    def plot(self, folder: str | Path) -> list[Path]:
        """The report's plots (PNG) into `folder`; returns their paths."""
        from sim.report import plot_all

        return plot_all(self, Path(folder))
