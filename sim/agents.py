"""The model's places as Mesa agents: views onto the model's arrays, in real-population units.

People are arrays (`sim.population`), and the day's figures are written by the model's
vectorised steps into its record (`RunRecord`); each agent reads its own row of those arrays,
so agents cost nothing while the model runs and tell the truth whenever they are read (as of
the last day simulated: 0 before the first). The `DataCollector` reports the model's headline
series and every place's figures, indexed by date (`DatedCollector`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import mesa
import numpy as np
import pandas as pd

from sim.results import to_real

if TYPE_CHECKING:
    from sim.model import MobilisationModel


class PlaceAgent(mesa.Agent):
    """A place with an index into the model's arrays; figures of the last day simulated."""

    model: MobilisationModel

    def __init__(self, model: MobilisationModel, index: int, name: str) -> None:
        super().__init__(model)
        self.index, self.name = index, name

    def _today(self, table: dict, metric: str) -> float:
        m = self.model
        return float(to_real(table[metric][m.day - 1, self.index], m.scale)) if m.day else 0.0


class RegionAgent(PlaceAgent):
    """A federal subject: its men at risk at home and those who decided to flee."""

    @property
    def men_at_home(self) -> float:
        return float(to_real(self.model.at_home[self.index].sum(), self.model.scale))

    @property
    def left_home(self) -> float:
        """Men who have decided to flee so far (some came back home later)."""
        return float(to_real(self.model.left_home[self.index], self.model.scale))

    @property
    def departures_today(self) -> float:
        return self._today(self.model.record.region, "departures")


class ExitAgent(PlaceAgent):
    """A land border post, or an air route from one airport to one country: its queue, its
    capacity and the day's flows."""

    @property
    def queue(self) -> float:
        """People queuing at the end of the day, fleeing and ordinary travellers."""
        g = self.model.record.gate
        return self._today(g, "queue_fleeing") + self._today(g, "queue_normal")

    @property
    def queue_fleeing(self) -> float:
        return self._today(self.model.record.gate, "queue_fleeing")

    @property
    def capacity_today(self) -> float:
        return self._today(self.model.record.gate, "capacity")

    @property
    def crossed_today(self) -> float:
        """People fleeing let into the destination through this exit today."""
        return self._today(self.model.record.gate, "crossed_fleeing")

    @property
    def crossed_normal_today(self) -> float:
        return self._today(self.model.record.gate, "crossed_normal")

    @property
    def refused_today(self) -> float:
        return self._today(self.model.record.gate, "refused")

    @property
    def stopped_today(self) -> float:
        """Men called up at passport control today."""
        return self._today(self.model.record.gate, "stopped")


class CountryAgent(PlaceAgent):
    """A destination, a transit country, or Russia itself (for returns): its stock."""

    @property
    def present(self) -> float:
        """Men who fled present in the country at the end of the day."""
        return self._today(self.model.record.country, "present_fleeing")

    @property
    def entered_today(self) -> float:
        return self._today(self.model.record.country, "entered_fleeing")


def _daily(table: str, metric: str):
    def column(model: MobilisationModel) -> np.ndarray:
        return to_real(getattr(model.record, table)[metric], model.scale)
    return column


# Each agent type's figures for every day at once, from the record the agents' properties read
# (tests/test_agents.py checks they equal collecting every agent every day).
AGENT_COLUMNS: dict[type, dict[str, Callable[[MobilisationModel], np.ndarray]]] = {
    RegionAgent: {
        "men_at_home": _daily("region", "at_home"),
        "left_home": lambda m: to_real(np.cumsum(m.record.region["departures"], axis=0),
                                       m.scale),
        "departures_today": _daily("region", "departures"),
    },
    ExitAgent: {
        "queue": lambda m: to_real(m.record.gate["queue_fleeing"]
                                   + m.record.gate["queue_normal"], m.scale),
        "queue_fleeing": _daily("gate", "queue_fleeing"),
        "capacity_today": _daily("gate", "capacity"),
        "crossed_today": _daily("gate", "crossed_fleeing"),
        "crossed_normal_today": _daily("gate", "crossed_normal"),
        "refused_today": _daily("gate", "refused"),
        "stopped_today": _daily("gate", "stopped"),
    },
    CountryAgent: {
        "present": _daily("country", "present_fleeing"),
        "entered_today": _daily("country", "entered_fleeing"),
    },
}


class DatedCollector(mesa.DataCollector):
    """Mesa's DataCollector, its tables indexed by date (and agent name).

    The model reporters are collected every day as usual. The agents' figures are views onto
    the model's record, which already holds every day: rather than calling some 260 agents'
    properties every day (which would double the time of a small run), the agent-type tables
    are read from the record for the days collected, with the very values those properties
    give."""

    def __init__(self, model: MobilisationModel, model_reporters: dict) -> None:
        super().__init__(model_reporters=model_reporters)
        self._model = model

    def get_model_vars_dataframe(self) -> pd.DataFrame:
        frame = super().get_model_vars_dataframe()
        return frame.set_index("date") if "date" in frame else frame

    def get_agenttype_vars_dataframe(self, agent_type: type) -> pd.DataFrame:
        """One row per day collected and agent of that type, indexed by (date, name)."""
        m = self._model
        days = len(self.model_vars.get("date", []))
        agents = sorted(m.agents_by_type[agent_type], key=lambda a: a.index)
        names = [a.name for a in agents]
        index = pd.MultiIndex.from_product([self.model_vars["date"][:days], names],
                                           names=["date", "name"])
        columns = {name: column(m)[:days].ravel() for name, column in
                   AGENT_COLUMNS[agent_type].items()}
        return pd.DataFrame(columns, index=index)


def make_collector(model: MobilisationModel) -> DatedCollector:
    """The model's headline series, real-population units; the places' tables by type."""
    def real(agents: float) -> float:
        return float(to_real(agents, model.scale))

    from sim.population import State

    return DatedCollector(model, model_reporters={
        "date": lambda m: m.record.dates[m.day - 1],
        "decided_to_flee": lambda m: real(m.record.region["departures"][: m.day].sum()),
        "travelling": lambda m: real(m.state_counts[State.TRAVELLING]),
        "queued": lambda m: real(m.state_counts[State.QUEUED]),
        "left_russia": lambda m: real(m.record.gate["crossed_fleeing"][: m.day].sum()),
        "stopped": lambda m: real(m.state_counts[State.STOPPED]),
        "abroad": lambda m: real(m.state_counts[State.ABROAD] + m.state_counts[State.ONWARD]),
    })
