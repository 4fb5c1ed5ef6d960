"""One results vocabulary, in real-population units: what a run produced, named once.

The model records agent counts (`RunRecord`, `sim.model`); at `population.scale` < 1 every agent
stands for 1 / scale men. `Results` is the only place that converts: the run's files
(`sim.outputs`), the policy comparison, the sensitivity analysis and the calibration's
observation operator all read their figures from here, under the names defined here.

Per exit and day [T, G]: crossed_fleeing (let into the destination), crossed_normal (ordinary
travellers), queue_fleeing, queue_normal, queue (both), refused (turned back at the exit: closed,
restricted or exit ban), stopped_at_border (called up at a draft office at the border),
capacity, refused_entry_at_exit, wait_days_sum (person-days waited by those crossing) and
mean_wait_days (days, not scaled). Per country and day [T, C]: entered_fleeing (first country
entered), entered_onward, entered_normal, onward_departures, returned_to_russia (men who had
left and came back), left_normal, present_fleeing, present_normal, refused_entry (by the
destination). Per region and day [T, R]: departures (men who decided to flee), at_home.

Each daily metric is a *flow* (people per day: sums over days are totals), a *stock* (people
present at the end of the day: never summed over days) or a *mean* (`METRIC_KIND`).
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



def to_real(agents: Any, scale: float) -> Any:
    """Agent counts (an array, or a sum of one) as real-population equivalents: at
    `population.scale` < 1 every agent stands for 1 / scale men. The one conversion."""
    return agents / float(scale)


def people_per_agent(scale: float) -> float:
    """How many men one agent stands for: the resolution of every figure of a run."""
    return to_real(1.0, scale)


# a daily mean wait counts towards the 'longest wait' only where this many people crossed that
# day (real-population equivalent), so that one unlucky traveller at a quiet post does not
WAIT_MIN_CROSSINGS = 100.0
INTERVAL = (0.05, 0.5, 0.95)  # the 90 % interval and the median of an ensemble


@dataclass(frozen=True)
class Outcome:
    key: str
    label: str  # in the words of the report
    unit: str


OUTCOMES = (
    Outcome("left_by_2022_09_24", "Men who left Russia by 24 Sep", "people"),
    Outcome("left_by_2022_10_04", "Men who left Russia by 4 Oct", "people"),
    Outcome("left_by_end", "Men who left Russia by the end", "people"),
    Outcome("abroad_at_end", "Men abroad at the end", "people"),
    Outcome("returned_to_russia", "Men who left and came back to Russia", "people"),
    Outcome("stopped_at_border", "Called up at the border", "people"),
    Outcome("refused_at_border", "Turned back at the border", "people"),
    Outcome("refused_entry", "Refused entry by the destination", "people"),
    Outcome("mean_wait_days", "Mean wait at the border", "days"),
    Outcome("peak_wait_days", "Longest mean wait at one exit on one day", "days"),
    Outcome("peak_queue", "Longest queue at one exit", "people"),
    Outcome("still_queued_at_end", "Still queuing at the end", "people"),
    Outcome("gave_up_at_border", "Gave up at the border and stayed in Russia", "people"),
)
OUTCOME_LABELS = {o.key: o.label for o in OUTCOMES}
DAILY_SERIES = {
    "departures": "Men leaving Russia per day",
    "stopped_at_border": "Called up at the border per day",
    "mean_wait_days": "Mean wait of those crossing (days)",
    "queued": "Men queuing at the border",
}
# what each metric of daily.csv is: a flow per day (sums over days are totals), a stock at the
# end of the day (never summed over days) or a mean (days)
METRIC_KIND = {
    "crossed_fleeing": "flow", "crossed_normal": "flow", "queue": "stock",
    "queue_fleeing": "stock", "mean_wait_days": "mean", "refused": "flow",
    "stopped_at_border": "flow", "capacity": "flow", "normal_gave_up": "flow",
    "entered_fleeing": "flow", "entered_onward": "flow", "entered_normal": "flow",
    "onward_departures": "flow", "returned_to_russia": "flow", "left_normal": "flow",
    "present_fleeing": "stock", "refused_entry": "flow", "departures": "flow",
}


class Results:
    """A run's record in real-population units (see the module's docstring for the names)."""

    def __init__(self, record: RunRecord, scale: float, world: World,
                 gave_up_agents: int = 0, men_at_risk_agents: float = 0.0) -> None:
        self.record, self.scale, self.world = record, float(scale), world
        self.gave_up_agents = gave_up_agents
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
        return to_real(agents, self.scale)

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
    stopped_at_border = cached_property(lambda self: self._gate("stopped"))
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
    returned_to_russia = cached_property(lambda self: self._country("returned_fleeing"))
    left_normal = cached_property(lambda self: self._country("left_normal"))
    present_fleeing = cached_property(lambda self: self._country("present_fleeing"))
    present_normal = cached_property(lambda self: self._country("present_normal"))
    refused_entry = cached_property(lambda self: self._country("refused_entry"))

    # ---- per region [T, R] ----------------------------------------------------------------------
    departures = cached_property(lambda self: self.real(self.record.region["departures"]))
    at_home = cached_property(lambda self: self.real(self.record.region["at_home"]))

    # ---- totals -------------------------------------------------------------------------------
    @property
    def gave_up_at_border(self) -> float:
        """Men who set off, gave up in a queue or before it and stayed in Russia."""
        return self.real(self.gave_up_agents)

    @property
    def men_at_risk(self) -> float:
        return self.real(self.men_at_risk_agents)

    def left_russia_by(self, day: str | dt.date) -> float:
        """Men let into another country up to and including `day`."""
        crossed = self.crossed_fleeing
        return float(crossed[self.dates64 <= np.datetime64(day)].sum())

    def abroad_on(self, day: str | dt.date) -> float:
        """Men who fled and were abroad (in any country but Russia) at the end of `day`."""
        index = int(np.searchsorted(self.dates64, np.datetime64(day), side="right")) - 1
        present = self.present_fleeing[max(index, 0)].copy()
        present[self.world.return_country] = 0.0
        return float(present.sum()) if index >= 0 else 0.0

    def date_by_share(self, share: float) -> dt.date | None:
        """The first day by whose end `share` of the men who left over the horizon had left."""
        left = np.cumsum(self.crossed_fleeing.sum(axis=1))
        if left[-1] <= 0:
            return None
        return self.dates[int(np.searchsorted(left, share * left[-1]))]

    def left_by_exit(self) -> np.ndarray:
        """[G] men let into another country through each exit over the horizon."""
        return self.crossed_fleeing.sum(axis=0)

    # ---- the published tables -----------------------------------------------------------------
    def gate_series(self) -> dict[str, np.ndarray]:
        """Per exit and day, the metrics of daily.csv."""
        return {"crossed_fleeing": self.crossed_fleeing, "crossed_normal": self.crossed_normal,
                "queue": self.queue, "queue_fleeing": self.queue_fleeing,
                "mean_wait_days": self.mean_wait_days, "refused": self.refused,
                "stopped_at_border": self.stopped_at_border, "capacity": self.capacity,
                "normal_gave_up": self.normal_gave_up}  # ordinary travellers who left the queue

    def country_series(self) -> dict[str, np.ndarray]:
        """Per country and day, the metrics of daily.csv."""
        return {"entered_fleeing": self.entered_fleeing, "entered_onward": self.entered_onward,
                "entered_normal": self.entered_normal,
                "onward_departures": self.onward_departures,
                "returned_to_russia": self.returned_to_russia,
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
            "left_by_2022_09_24": float(left_daily[dates <= np.datetime64("2022-09-24")].sum()),
            "left_by_2022_10_04": float(left_daily[dates <= np.datetime64("2022-10-04")].sum()),
            "left_by_end": float(left_daily.sum()),
            "abroad_at_end": self.abroad_on(self.dates[-1]),
            "returned_to_russia": float(self.returned_to_russia.sum()),
            "stopped_at_border": float(self.real(g["stopped"].sum())),
            "refused_at_border": float(self.real(g["refused"].sum())),
            "refused_entry": float(self.real(c["refused_entry"].sum())),
            "mean_wait_days": (float(wait_sum.sum() / crossed.sum()) if crossed.sum() > 0
                               else float("nan")),
            "peak_wait_days": float(np.nanmax(gate_wait)) if busy.any() else float("nan"),
            "peak_queue": float(queue_all.max()),
            "still_queued_at_end": float(queue_fleeing[-1].sum()),
            "gave_up_at_border": float(self.gave_up_at_border),
        }
        return {
            "outcomes": outcomes,
            "destinations": {k: float(v) for k, v in zip(self.world.country_ids,
                                                          by_destination, strict=True)},
            "exits": {k: float(v) for k, v in zip(self.world.gate_ids, self.left_by_exit(),
                                                   strict=True)},
            "dates": [d.isoformat() for d in self.dates],
            "series": {
                "departures": left_daily,
                "stopped_at_border": self.real(g["stopped"].sum(axis=1)),
                "mean_wait_days": daily_wait,
                "queued": queue_fleeing.sum(axis=1),
            },
        }


def run_outcomes(model: MobilisationModel) -> dict[str, Any]:
    """`Results.outcomes` of a finished model."""
    return Results.of(model).outcomes()


def support_unit(lower: float, upper: float, resolution: float = 0.0,
                 magnitude: float = 0.0) -> float:
    """The rounding unit an ensemble supports: a power of ten, one tenth of the 90 % interval's
    width; with no width (one run) three significant digits of `magnitude`; never finer than
    `resolution` (what one agent stands for)."""
    width = float(upper) - float(lower)
    if width > 0:
        unit = 10.0 ** np.floor(np.log10(width / 10.0))
    else:
        unit = 10.0 ** (np.floor(np.log10(abs(magnitude))) - 2) if magnitude else 1.0
    if resolution > 0:
        unit = max(unit, 10.0 ** np.ceil(np.log10(resolution)))
    return float(unit)


def round_to_support(values: np.ndarray, lower: float, upper: float,
                     resolution: float = 0.0) -> np.ndarray:
    """Round to the unit the ensemble supports (`support_unit`): an ensemble of tens or
    hundreds of runs does not support the digits below a tenth of its interval (no "633,760"
    from 5 seeds), and a run at scale 0.01 nothing finer than the 100 men an agent stands
    for."""
    values = np.asarray(values, dtype=float)
    finite = values[np.isfinite(values)]
    magnitude = float(np.abs(finite).max()) if finite.size else 0.0
    unit = support_unit(lower, upper, resolution, magnitude)
    return np.round(values / unit) * unit


def band(stack: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """5th percentile, median and 95th percentile over runs (axis), ignoring NaN (a day nobody
    crossed has no mean wait), with linear interpolation as `np.quantile`: vectorised, where
    `np.nanquantile` loops over the cells of a daily table one by one."""
    values = np.moveaxis(np.asarray(stack, dtype=float), axis, 0)
    ordered = np.sort(values, axis=0)  # NaN last
    count = np.isfinite(values).sum(axis=0)
    out = []
    for q in INTERVAL:
        position = q * np.maximum(count - 1, 0)
        below = np.floor(position).astype(int)
        above = np.minimum(below + 1, np.maximum(count - 1, 0))
        low = np.take_along_axis(ordered, below[None], axis=0)[0]
        high = np.take_along_axis(ordered, above[None], axis=0)[0]
        value = low + (position - below) * (high - low)
        out.append(np.where(count > 0, value, np.nan))
    lo, mid, hi = out
    return lo, mid, hi


def supported(median: float, low: float, high: float, resolution: float = 0.0
              ) -> tuple[float, float, float]:
    """The three figures rounded to what the runs support (`round_to_support`)."""
    values = np.array([median, low, high], dtype=float)
    if not np.isfinite(values).all():
        return float(median), float(low), float(high)
    mid, lo, hi = round_to_support(values, low, high, resolution)
    return float(mid), float(lo), float(hi)
