"""Many members in one call: the seam every multi-run path goes through.

A *member* is one configuration (parameters, policy, seed) over a world; `run_members` runs a
batch of them and returns each member's `Results` in order. Calibration generations, posterior
ensembles, policy comparisons, sensitivity samples and the page's paired runs all call it, and
`sim.parallel.run_many` distributes batches, not single models.

This implementation steps each member alone; the ensemble engine replaces its body without
changing the interface.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sim.config import SimConfig
from sim.network import World
from sim.results import Results


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
                cap_departures: float | None = None) -> list[MemberRun]:
    """Run every member up to day index `until` (the whole horizon if None); a member stops
    early once more than `cap_departures` men (real-population units) have left home."""
    from sim.model import MobilisationModel, departures_above

    out = []
    for member in members:
        model = MobilisationModel(member.config, world=member.world, collect=False)
        stop = None if cap_departures is None else departures_above(
            cap_departures * member.config.population.scale)
        model.run(until=until, stop=stop)
        out.append(MemberRun(Results.of(model), model.stopped_early))
    return out
