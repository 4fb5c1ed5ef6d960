"""Many members in one call: the seam every multi-run path goes through.

A *member* is one configuration (parameters, policy, seed) over a world; `run_members` runs a
batch of them and returns each member's `Results` in order. Calibration generations, posterior
ensembles, policy comparisons, sensitivity samples and the page's paired runs all call it, and
`sim.parallel.run_many` distributes batches, not single models (`run_batches`).

Members that share the world's geometry and dates are stepped together by one
`sim.engine.Ensemble` (at most `batch_size` at once, to bound memory); each member draws from
its own streams, so its results are those of its single run, whatever batch it is in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.config import SimConfig
from sim.network import World
from sim.results import Results

if TYPE_CHECKING:
    from sim.engine import Ensemble

# a stopping rule over batches: (the ensemble after a day, the indices in `run_members`'s
# `members` of its running members) -> [running] bool, which of them stop now
MemberStop = Callable[["Ensemble", np.ndarray], np.ndarray]

BATCH_SIZE = 32  # members stepped together: CPU per member is flat from 10 to 40 (make bench),
# memory grows with it


@dataclass(frozen=True)
class Member:
    """One run of a batch: its config (seed included) and, optionally, its world (the data's
    world with the config's capacity and traffic factors applied; built if None)."""

    config: SimConfig
    world: World | None = None


@dataclass(frozen=True)
class MemberRun:
    """What a member produced: its results, and whether it was stopped early by the cap."""

    results: Results
    stopped_early: bool = False


def run_members(members: Sequence[Member], *, until: int | None = None,
                cap_departures: float | None = None,
                batch_size: int = BATCH_SIZE,
                stop: MemberStop | None = None) -> list[MemberRun]:
    """Run every member up to day index `until` (the whole horizon if None); a member stops
    early once more than `cap_departures` men (real-population units) have left home, or when
    `stop` says so after a day (given the ensemble and the indices in `members` of its running
    members: a member's figures up to that day are those of its whole run).
    Members are stepped together in ensembles of up to `batch_size`, grouped by their dates
    and geometry; the results come back in the members' order."""
    out: list[MemberRun | None] = [None] * len(members)
    for group in _groups(members):
        for start in range(0, len(group), batch_size):
            chunk = group[start: start + batch_size]
            runs = _run_ensemble([members[i] for i in chunk], until, cap_departures,
                                 None if stop is None else _of_chunk(stop, chunk))
            for i, run in zip(chunk, runs, strict=True):
                out[i] = run
    return out  # type: ignore[return-value]


def _groups(members: Sequence[Member]) -> list[list[int]]:
    """Members that can share an ensemble: same dates, age bands and network geometry."""
    from sim.network import unscaled

    groups: dict[str, list[int]] = {}
    for i, member in enumerate(members):
        c = member.config
        key = repr((c.start, c.end, tuple(c.population.age_bands), unscaled(c.network),
                    None if member.world is None else member.world.gate_ids))
        groups.setdefault(key, []).append(i)
    return list(groups.values())


def _of_chunk(stop: MemberStop, chunk: list[int]) -> Callable[[Ensemble], np.ndarray]:
    """`stop` for an ensemble of the members `chunk` (indices in `run_members`'s list)."""
    indices = np.asarray(chunk)
    return lambda ensemble: stop(ensemble, indices[ensemble.member_ids])


def _run_ensemble(members: Sequence[Member], until: int | None,
                  cap_departures: float | None,
                  also_stop: Callable[[Ensemble], np.ndarray] | None = None) -> list[MemberRun]:
    from sim.engine import Ensemble

    ensemble = Ensemble([m.config for m in members], worlds=[m.world for m in members])
    stop = also_stop
    if cap_departures is not None:
        from sim.model import departures_above  # the single-run model (and Mesa) only then

        above = departures_above(np.array(
            [cap_departures * m.config.population.scale for m in members]))
        stop = above if also_stop is None else (
            lambda e: above(e) | also_stop(e))
    ensemble.run(until=until, stop=stop)
    return [MemberRun(results_of(ensemble, i), bool(ensemble.stopped_early[i]))
            for i in range(len(members))]


def results_of(ensemble, member: int) -> Results:
    """A member's `Results` (in real-population units)."""
    setup = ensemble.setups[member]
    return Results(ensemble.records[member], setup.config.population.scale, setup.world,
                   ensemble.went_home_of(member), float(setup.initial_home.sum()))
