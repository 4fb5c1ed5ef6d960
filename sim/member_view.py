"""One member of an `Ensemble`, read as a single run: its config, its record, its state."""

from __future__ import annotations

import datetime as dt

import numpy as np

from sim.behaviour import RouteChoice, Timeline
from sim.config import SimConfig
from sim.engine import Ensemble
from sim.network import World
from sim.policy import CompiledPolicy
from sim.population import People, State, Strata
from sim.record import RunRecord


class MemberView:
    """The member `number` of `ensemble` (its number in the batch, kept after others retire)."""

    def __init__(self, ensemble: Ensemble, number: int) -> None:
        self.ensemble, self.number = ensemble, number
        setup = ensemble.setups[number]
        self.config: SimConfig = setup.config
        self.seed: int = setup.seed
        self.world: World = setup.world
        self.policy: CompiledPolicy = setup.policy
        self.timeline: Timeline = setup.timeline
        self.routes: RouteChoice = setup.routes
        self.streams = setup.streams
        self.strata: Strata = ensemble.strata
        self.start_date: dt.date = ensemble.start_date
        self.end_date: dt.date = ensemble.end_date
        self.n_days: int = ensemble.n_days
        self.scale: float = setup.config.population.scale
        self.record: RunRecord = ensemble.records[number]

    @property
    def position(self) -> int:
        """Where the member is in the running ensemble's arrays."""
        found = np.flatnonzero(self.ensemble.member_ids == self.number)
        if len(found) == 0:
            raise LookupError(f"member {self.number} has left the ensemble")
        return int(found[0])

    @property
    def day(self) -> int:
        return self.ensemble.day

    def _state(self, name: str) -> np.ndarray:
        return getattr(self.ensemble.p, name)[self.position]

    initial_home = property(lambda self: self._state("initial_home"))
    at_home = property(lambda self: self._state("at_home"))
    left_home = property(lambda self: self._state("left_home"))
    remembered_left = property(lambda self: self._state("remembered_left"))
    cumulative_hazard = property(lambda self: self._state("cumulative_hazard"))
    normal_queue = property(lambda self: self._state("normal_queue"))
    wait_estimate = property(lambda self: self._state("wait_estimate"))
    normal_abroad = property(lambda self: self._state("normal_abroad"))
    expected_capacity = property(lambda self: self._state("expected_capacity"))

    @property
    def state_counts(self) -> np.ndarray:
        return self.ensemble.state_counts[self.number]

    @property
    def people(self) -> People:
        """The member's individuals (the ensemble's own table for an ensemble of one)."""
        people = self.ensemble.people
        if self.ensemble.size == 1:
            return people
        mine = people.view("member") == self.position
        own = People(capacity=max(1, int(mine.sum())))
        own.add(**{name: people.view(name)[mine] for name in People.FIELDS})
        return own

    def people_accounted(self) -> int:
        """Men at home plus individuals not back home: equals the initial population."""
        state = self.people.view("state")
        return int(self.at_home.sum() + np.count_nonzero(state != State.WENT_HOME))
