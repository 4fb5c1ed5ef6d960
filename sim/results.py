"""One results vocabulary, in real-population units: what a run produced, named once.

The model records agent counts (`RunRecord`, `sim.model`); at `population.scale` < 1 every agent
stands for 1 / scale men. `Results` is the only place that converts: the run's files
(`sim.outputs`), the policy comparison, the sensitivity analysis and the calibration's
observation operator all read their figures from here, under the names defined here.

Per exit and day [T, G]: crossed_fleeing (let into the destination), crossed_normal (ordinary
travellers), queue_fleeing, queue_normal, queue (both), refused (turned back at the exit: closed,
restricted or exit ban), stopped (called up at the border), capacity, refused_entry_at_exit,
wait_days_sum (person-days waited by those crossing) and mean_wait_days (days, not scaled).
Per country and day [T, C]: entered_fleeing (first country entered), entered_onward,
entered_normal, onward_departures, returns (back to Russia), left_normal, present_fleeing,
present_normal, refused_entry (by the destination). Per region and day [T, R]: departures (men
who decided to flee), at_home.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from sim.model import MobilisationModel, RunRecord
    from sim.network import World

# a daily mean wait counts towards the 'longest wait' only where this many people crossed that
# day (real-population equivalent), so that one unlucky traveller at a quiet post does not
WAIT_MIN_CROSSINGS = 100.0


@dataclass(frozen=True)
class Outcome:
    key: str
    label: str  # in the words of the report
    unit: str


OUTCOMES = (
    Outcome("left_by_2022_10_04", "Men who left Russia by 4 Oct", "people"),
    Outcome("left_by_end", "Men who left Russia by the end", "people"),
    Outcome("stopped_at_border", "Called up at the border", "people"),
    Outcome("refused_at_border", "Turned back at the border", "people"),
    Outcome("refused_entry", "Refused entry by the destination", "people"),
    Outcome("mean_wait_days", "Mean wait at the border", "days"),
    Outcome("peak_wait_days", "Longest mean wait at one exit on one day", "days"),
    Outcome("peak_queue", "Longest queue at one exit", "people"),
    Outcome("still_queued_at_end", "Still queuing at the end", "people"),
    Outcome("went_home", "Gave up and went home", "people"),
)
OUTCOME_LABELS = {o.key: o.label for o in OUTCOMES}
DAILY_SERIES = {
    "departures": "Men leaving Russia per day",
    "stopped": "Called up at the border per day",
    "mean_wait_days": "Mean wait of those crossing (days)",
    "queued": "Men queuing at the border",
}


class Results:
    """A run's record in real-population units (see the module's docstring for the names)."""

    def __init__(self, record: RunRecord, scale: float, world: World,
                 went_home_agents: int = 0, men_at_risk_agents: float = 0.0) -> None:
        self.record, self.scale, self.world = record, float(scale), world
        self.went_home_agents = went_home_agents
        self.men_at_risk_agents = men_at_risk_agents

    @classmethod
    def of(cls, model: MobilisationModel) -> Results:
        from sim.population import State

        state = model.people.view("state")
        return cls(model.record, model.scale, model.world,
                   int(np.count_nonzero(state == State.WENT_HOME)),
                   float(model.initial_home.sum()))

    def real(self, agents: Any) -> Any:
        """Agent counts (an array, or a sum of one) as real-population equivalents."""
        return agents / self.scale

    # ---- time ---------------------------------------------------------------------------------
    @property
    def dates(self) -> list[dt.date]:
        return self.record.dates

    @cached_property
    def dates64(self) -> np.ndarray:
        return np.array(self.record.dates, dtype="datetime64[D]")

    # ---- per exit [T, G] ------------------------------------------------------------------------
    def _gate(self, metric: str) -> np.ndarray:
        return self.real(self.record.gate[metric])

    crossed_fleeing = cached_property(lambda self: self._gate("crossed_fleeing"))
    crossed_normal = cached_property(lambda self: self._gate("crossed_normal"))
    queue_fleeing = cached_property(lambda self: self._gate("queue_fleeing"))
    queue_normal = cached_property(lambda self: self._gate("queue_normal"))
    refused = cached_property(lambda self: self._gate("refused"))
    stopped = cached_property(lambda self: self._gate("stopped"))
    capacity = cached_property(lambda self: self._gate("capacity"))
    refused_entry_at_exit = cached_property(lambda self: self._gate("refused_entry"))
    wait_days_sum = cached_property(lambda self: self._gate("wait_days_sum"))
    normal_gave_up = cached_property(lambda self: self._gate("normal_gave_up"))

    @cached_property
    def queue(self) -> np.ndarray:
        g = self.record.gate
        return self.real(g["queue_fleeing"] + g["queue_normal"])

    @cached_property
    def mean_wait_days(self) -> np.ndarray:
        """Mean wait of those crossing, per exit and day (NaN where nobody crossed)."""
        g = self.record.gate
        crossed = g["crossed_fleeing"]
        return np.divide(g["wait_days_sum"], crossed, out=np.full_like(crossed, np.nan),
                         where=crossed > 0)

    # ---- per country [T, C] ---------------------------------------------------------------------
    def _country(self, metric: str) -> np.ndarray:
        return self.real(self.record.country[metric])

    entered_fleeing = cached_property(lambda self: self._country("entered_fleeing"))
    entered_onward = cached_property(lambda self: self._country("entered_onward"))
    entered_normal = cached_property(lambda self: self._country("entered_normal"))
    onward_departures = cached_property(lambda self: self._country("onward_fleeing"))
    returns = cached_property(lambda self: self._country("returned_fleeing"))
    left_normal = cached_property(lambda self: self._country("left_normal"))
    present_fleeing = cached_property(lambda self: self._country("present_fleeing"))
    present_normal = cached_property(lambda self: self._country("present_normal"))
    refused_entry = cached_property(lambda self: self._country("refused_entry"))

    # ---- per region [T, R] ----------------------------------------------------------------------
    departures = cached_property(lambda self: self.real(self.record.region["departures"]))
    at_home = cached_property(lambda self: self.real(self.record.region["at_home"]))

    # ---- totals -------------------------------------------------------------------------------
    @property
    def went_home(self) -> float:
        return self.real(self.went_home_agents)

    @property
    def men_at_risk(self) -> float:
        return self.real(self.men_at_risk_agents)

    def left_russia_by(self, day: str | dt.date) -> float:
        """Men let into another country up to and including `day`."""
        crossed = self.crossed_fleeing
        return float(crossed[self.dates64 <= np.datetime64(day)].sum())

    # ---- the published tables -----------------------------------------------------------------
    def gate_series(self) -> dict[str, np.ndarray]:
        """Per exit and day, the metrics of daily.csv."""
        return {"crossed_fleeing": self.crossed_fleeing, "crossed_normal": self.crossed_normal,
                "queue": self.queue, "queue_fleeing": self.queue_fleeing,
                "mean_wait_days": self.mean_wait_days, "refused": self.refused,
                "stopped": self.stopped, "capacity": self.capacity,
                "normal_gave_up": self.normal_gave_up}  # ordinary travellers who left the queue

    def country_series(self) -> dict[str, np.ndarray]:
        """Per country and day, the metrics of daily.csv."""
        return {"entered_fleeing": self.entered_fleeing, "entered_onward": self.entered_onward,
                "entered_normal": self.entered_normal,
                "onward_departures": self.onward_departures, "returns": self.returns,
                "left_normal": self.left_normal, "present_fleeing": self.present_fleeing,
                "refused_entry": self.refused_entry}

    def outcomes(self) -> dict[str, Any]:
        """The comparison's and the sensitivity analysis' outcomes (`OUTCOMES`), entries by
        destination and daily series (`DAILY_SERIES`).

        'Left Russia' counts the men let into another country: a man refused entry at a closed
        destination crossed passport control but is back at the exit, re-planning, and would be
        counted twice if he then left elsewhere.
        """
        dates = self.dates64
        entered = self.entered_fleeing  # [T, C], first country entered
        left_daily = entered.sum(axis=1)
        crossed, wait_sum = self.crossed_fleeing, self.wait_days_sum
        queue_fleeing = self.queue_fleeing
        queue_all = queue_fleeing + self.queue_normal
        daily_wait = np.divide(wait_sum.sum(axis=1), crossed.sum(axis=1),
                               out=np.full(len(dates), np.nan), where=crossed.sum(axis=1) > 0)
        busy = crossed >= WAIT_MIN_CROSSINGS
        gate_wait = np.divide(wait_sum, crossed, out=np.full_like(crossed, np.nan), where=busy)
        by_destination = entered.sum(axis=0)
        g, c = self.record.gate, self.record.country
        outcomes = {
            "left_by_2022_10_04": float(left_daily[dates <= np.datetime64("2022-10-04")].sum()),
            "left_by_end": float(left_daily.sum()),
            "stopped_at_border": float(self.real(g["stopped"].sum())),
            "refused_at_border": float(self.real(g["refused"].sum())),
            "refused_entry": float(self.real(c["refused_entry"].sum())),
            "mean_wait_days": (float(wait_sum.sum() / crossed.sum()) if crossed.sum() > 0
                               else float("nan")),
            "peak_wait_days": float(np.nanmax(gate_wait)) if busy.any() else float("nan"),
            "peak_queue": float(queue_all.max()),
            "still_queued_at_end": float(queue_fleeing[-1].sum()),
            "went_home": float(self.went_home),
        }
        return {
            "outcomes": outcomes,
            "destinations": {k: float(v) for k, v in zip(self.world.country_ids,
                                                          by_destination, strict=True)},
            "dates": [d.isoformat() for d in self.dates],
            "series": {
                "departures": left_daily,
                "stopped": self.real(g["stopped"].sum(axis=1)),
                "mean_wait_days": daily_wait,
                "queued": queue_fleeing.sum(axis=1),
            },
        }


def run_outcomes(model: MobilisationModel) -> dict[str, Any]:
    """`Results.outcomes` of a finished model."""
    return Results.of(model).outcomes()


def round_to_support(values: np.ndarray, lower: float, upper: float) -> np.ndarray:
    """Round to a unit of one tenth of the 90 % interval's width (a power of ten): an ensemble of
    tens or hundreds of runs does not support the digits below it (no "633,760" from 5 seeds)."""
    width = max(float(upper) - float(lower), 1e-12)
    unit = 10.0 ** np.floor(np.log10(width / 10.0))
    return np.round(np.asarray(values, dtype=float) / unit) * unit
