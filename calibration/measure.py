"""The second half of the observation operator: a run measured the way each row was measured.

`calibration.observe` maps each row of an observations file to a `Target` (which series, which
days, which reduction; its docstring gives the conventions); `simulate_targets` evaluates every
target on one run's `Results`, in real-population units.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from calibration.observe import Geography, Target
from sim.results import Results


class Series:
    """The daily series of a run that targets need, computed once per run (agent units: the
    targets convert their sums with `Results.real`)."""

    def __init__(self, results: Results, geo: Geography) -> None:
        g, c = results.record.gate, results.record.country
        self.geo = geo
        # crossed_fleeing: let in by the destination; refused_entry: passed Russian control,
        # then turned back by the destination (sim/model.py, the border step)
        cf, cn = g["crossed_fleeing"], g["crossed_normal"]
        self.left_russia = cf + cn + g["refused_entry"]  # [T, G]
        self.entered_gate = cn + cf  # [T, G]
        self.entries_so_far = np.cumsum(self.entered_gate, axis=0)
        self.entered_from_russia = c["entered_fleeing"] + c["entered_normal"]  # [T, C]
        self.entered_onward = c["entered_onward"]
        self.back_to_russia = c["returned_fleeing"] + c["left_normal"]
        self.left_country = self.back_to_russia + c["onward_fleeing"]
        self.present = c["present_fleeing"] + c["present_normal"]
        # the two groups abroad, each as (people present, people leaving) by day: a cohort's
        # survival is followed in each (`cohort_present`)
        self.groups = ((c["present_fleeing"], c["returned_fleeing"] + c["onward_fleeing"]),
                       (c["present_normal"], c["left_normal"]))
        self.queue = g["queue_fleeing"] + g["queue_normal"]
        self.wait_sum, self.crossed_fleeing = g["wait_days_sum"], cf

    def daily(self, t: Target) -> np.ndarray:
        """[T] the row's direction as a daily count, before any reduction over days."""
        d = t.obs.direction
        if d == "left_russia":
            return self.left_russia[:, t.gates].sum(axis=1)
        # counted at the border with Russia: only those going back to Russia leave through it
        leaving = self.back_to_russia if t.at_russian_border else self.left_country
        if t.by_posts:
            # the model does not remember which post someone entered by: people leaving the
            # country are attributed to the posts in proportion to the entries so far
            countries = self._countries_of(t)
            entered = self.entered_gate[:, t.gates].sum(axis=1)
            share = self._share(t.gates, countries)
            back = share * self.back_to_russia[:, countries].sum(axis=1)
            left = share * leaving[:, countries].sum(axis=1)
        else:
            m = t.countries
            entered = self.entered_from_russia[:, m].sum(axis=1)
            back = self.back_to_russia[:, m].sum(axis=1)
            left = leaving[:, m].sum(axis=1)
            if not (t.all_russia or t.at_russian_border or d == "both_directions"):
                entered = entered + self.entered_onward[:, m].sum(axis=1)  # by other borders
        if d == "entered_destination":
            return entered
        if d == "left_destination_onward":
            return left
        if d == "both_directions":
            return entered + back
        return entered - left  # net

    def cohort_present(self, t: Target, baseline_days: int) -> float:
        """Those who arrived from `t.first` on and are still present at the end of `t.last`
        (agent units): everyone present then, less what is left of those present before.

        The model keeps no arrival dates, so the earlier stock is assumed to leave at the
        rate of everyone in its group (people fleeing; ordinary travellers, who leave at a rate
        of 1 / their mean stay whenever they came, so that for them it is exact in
        expectation). Days before the horizon take the group's mean rate of the baseline."""
        countries = self._countries_of(t) if t.by_posts else t.countries
        first = max(t.first, 0)
        remaining = 0.0
        for present, leaving in self.groups:
            stock = present[:, countries].sum(axis=1)
            out = leaving[:, countries].sum(axis=1)
            # the stock at the end of the day before `first`, and its daily survival after it
            # (before the horizon: the steady state of the baseline)
            before = float(stock[first - 1] if first > 0 else stock[0])
            at_risk = np.concatenate([[before], stock[first: t.last]])
            kept = 1.0 - np.divide(out[first: t.last + 1], at_risk,
                                   out=np.zeros_like(at_risk, dtype=float), where=at_risk > 0)
            survival = float(np.prod(np.clip(kept, 0.0, 1.0)))
            if t.extrapolated_days:
                base = stock[:baseline_days].mean()
                rate = out[:baseline_days].mean() / base if base > 0 else 0.0
                survival *= (1.0 - min(rate, 1.0)) ** t.extrapolated_days
            remaining += float(stock[t.last]) - before * survival
        if t.by_posts:
            remaining *= float(self._share(t.gates, countries)[t.last])
        return remaining

    def _countries_of(self, t: Target) -> np.ndarray:
        countries = np.zeros(self.geo.n_countries, dtype=bool)
        countries[np.unique(self.geo.gate_country[t.gates])] = True
        return countries

    def _share(self, gates: np.ndarray, countries: np.ndarray) -> np.ndarray:
        """[T] share of the countries' entries so far that came through `gates`."""
        into = np.isin(self.geo.gate_country, np.flatnonzero(countries))
        total = self.entries_so_far[:, into].sum(axis=1)
        own = self.entries_so_far[:, gates].sum(axis=1)
        return np.divide(own, total, out=np.ones_like(own), where=total > 0)


def _window(series: np.ndarray, t: Target, baseline_days: int) -> np.ndarray:
    """The series over the row's days; days before the horizon take the baseline mean."""
    first = max(t.first, 0)
    values = series[first: t.last + 1]
    if t.extrapolated_days:
        base = float(series[:baseline_days].mean())
        values = np.concatenate([np.full(t.extrapolated_days, base), values])
    return values


def simulate_targets(targets: Sequence[Target], results: Results, geo: Geography,
                     persons_per_vehicle: float, baseline_days: int) -> np.ndarray:
    """Each target's simulated value, in real-population units (persons, vehicles, hours)."""
    s = Series(results, geo)
    real = results.real
    out = np.empty(len(targets))
    for i, t in enumerate(targets):
        kind = t.obs.kind
        if kind == "queue_vehicles":
            q = s.queue[:, t.gates].sum(axis=1)
            before = q[t.last - 1] if t.last > 0 else q[t.last]
            out[i] = real(0.5 * (before + q[t.last])) / persons_per_vehicle
            continue
        if kind == "queue_hours":
            w = s.wait_sum[t.first: t.last + 1, t.gates].sum()
            n = s.crossed_fleeing[t.first: t.last + 1, t.gates].sum()
            out[i] = 24.0 * w / n if n > 0 else 0.0
            continue
        if kind == "cumulative" and t.obs.direction == "net":
            # a stock: everyone present on the day, or, from a start date, those who came
            # since then and are still there
            if t.obs.period_start is None:
                out[i] = real(s.present[t.last, t.countries].sum())
            else:
                out[i] = real(s.cohort_present(t, baseline_days))
            continue
        values = _window(s.daily(t), t, baseline_days)
        if kind == "daily":
            value = values.mean()
        elif kind == "peak_daily":
            value = values.max()
        else:  # period_total, cumulative, period_total_vehicles
            value = values.sum()
        if kind == "period_total_vehicles":
            value /= persons_per_vehicle
        out[i] = real(value) + rail_traffic(t, len(values))
    return out


def rail_traffic(t: Target, days: int) -> float:
    """What a count that includes rail adds for it (real persons): the country's ordinary
    daily rail traffic, which the model does not simulate, each way (the ordinary traveller
    who came by train goes home by train), over the row's days."""
    if not t.rail_daily or t.obs.kind == "period_total_vehicles":
        return 0.0
    per_day = {"net": 0.0, "both_directions": 2.0}.get(t.obs.direction, 1.0) * t.rail_daily
    return per_day * (1 if t.obs.kind in ("daily", "peak_daily") else days)
