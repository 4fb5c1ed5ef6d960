"""Decisions: whether to flee today (a hazard), which exit to take (a multinomial logit), and
whether to stay in a queue, switch exit, or give up.

Utilities of exit g for a man of stratum s at node n are additive,

    U = -beta_time * travel_days[n, g]                       (node part, A)
        - beta_wait * known_wait[g] + attractiveness + air   (exit part, C, changes daily)
        + beta_size * ln(capacity[g])
        - beta_money * fare[g] / budget[means]
        - beta_draft * eligible[s] * known_draft[g]          (stratum part, B, changes daily)

and an exit is available only if it is open, the man's documents admit him to the destination,
he can afford the fare, and no restriction or exit ban applies to him. Because exp(U) factorises
into node x exit x stratum terms, the logit denominators for every (region, stratum) cell are one
matrix product, which keeps a day's decisions for 8,000 cells cheap.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from sim.config import BehaviourConfig, PressureCourse, parse_date, parse_datetime
from sim.destinations import destination_pull
from sim.errors import ConfigError
from sim.network import AIR, World
from sim.policy import CompiledPolicy
from sim.population import Strata


def intensity_index(world: World, beh: BehaviourConfig) -> np.ndarray:
    """[R] mobilisation intensity relative to the average man: the proxy (deaths of mobilised
    men per 100,000) shrunk towards zero-noise by a constant, normalised to a population-weighted
    mean of one, then raised to `intensity_exponent`."""
    raw = world.region_deaths_per_100k + beh.intensity_shrinkage
    mean = np.average(raw, weights=world.region_men)
    return (raw / mean) ** beh.intensity_exponent


@dataclass(frozen=True)
class Timeline:
    """Mobilisation pressure and exogenous rumours, per simulated day.

    The pressure in region r on day t is `shock[t] + floor[t] * quota_factor[t, r]`: the first
    shock of the announcement, fading, and what keeps fear up afterwards (a constant floor, or
    the share of the call-up still to come, lower where the region declared its quota met).
    """

    exposure: np.ndarray  # [T] share of the day after the announcement (0..1)
    shock: np.ndarray  # [T] the announcement's shock, fading with pressure_decay_days
    floor: np.ndarray  # [T] the lasting part of the pressure
    quota_factor: np.ndarray  # [T, R] 1, or quota_complete_factor once a region's quota is met
    rumour: np.ndarray  # [T] exogenous rumour intensity
    normal_traffic: np.ndarray  # [T] share of ordinary trips still made

    @property
    def pressure(self) -> np.ndarray:
        """[T] the national pressure (regions whose quota is not yet met)."""
        return self.shock + self.floor

    def region_pressure(self, t: int) -> np.ndarray:
        """[R] pressure in every region on day t."""
        return self.shock[t] + self.floor[t] * self.quota_factor[t]


def callup_remaining(world: World, dates: np.ndarray) -> np.ndarray:
    """Share of the call-up still to come on each date: 1 - called up / final number, with the
    reported cumulative numbers interpolated linearly between their dates (1 before the first,
    0 after the last)."""
    ordinal = np.array([d.toordinal() for d in world.callup_dates], dtype=float)
    called = np.asarray(world.callup_cumulative, dtype=float)
    final = called.max()
    if len(ordinal) == 0 or final <= 0:
        return np.ones(len(dates))
    day = np.array([d.toordinal() for d in dates], dtype=float)
    share = np.interp(day, ordinal, called / final, left=0.0, right=1.0)
    return 1.0 - share


def callup_pace(world: World, dates: np.ndarray) -> np.ndarray:
    """The call-up's daily pace on each date relative to its fastest: the reported cumulative
    numbers' increase per day over the interval between two reports that holds the date
    (0 before the first report and after the last)."""
    ordinal = np.array([d.toordinal() for d in world.callup_dates], dtype=float)
    called = np.asarray(world.callup_cumulative, dtype=float)
    if len(ordinal) < 2:
        return np.ones(len(dates))
    pace = np.maximum(np.diff(called) / np.diff(ordinal), 0.0)  # cumulative (datasets.py)
    if pace.max() <= 0:
        return np.zeros(len(dates))
    day = np.array([d.toordinal() for d in dates], dtype=float)
    interval = np.searchsorted(ordinal, day, side="right") - 1  # report at or before the date
    inside = (interval >= 0) & (interval < len(pace))
    return np.where(inside, pace[np.clip(interval, 0, len(pace) - 1)], 0.0) / pace.max()


def make_timeline(beh: BehaviourConfig, start: dt.date, n_days: int,
                  world: World | None = None) -> Timeline:
    """The daily pressure, exposure and rumours. `world` supplies the call-up course and the
    regions' quota dates (needed for `pressure_course: callup`)."""
    announced = parse_datetime(beh.announcement, "behaviour.announcement")
    end = parse_date(beh.mobilisation_end, "behaviour.mobilisation_end")
    day_start = np.array([dt.datetime.combine(start + dt.timedelta(days=t), dt.time())
                          for t in range(n_days)])
    since = np.array([(d - announced).total_seconds() / 86400.0 for d in day_start])
    exposure = np.clip(since + 1.0, 0.0, 1.0)
    mid = np.maximum(since + 1.0 - exposure / 2.0, 0.0)  # midpoint of the exposed part
    dates = np.array([start + dt.timedelta(days=t) for t in range(n_days)])
    shock = (1.0 - beh.pressure_floor) * np.exp(-mid / beh.pressure_decay_days)
    floor = np.full(n_days, beh.pressure_floor)
    n_regions = 1 if world is None else world.n_regions
    quota_factor = np.ones((n_days, n_regions))
    if beh.pressure_course != PressureCourse.constant:
        if world is None:
            raise ValueError(f"pressure_course '{beh.pressure_course.value}' needs the world's "
                             "call-up course")
        course = (callup_remaining if beh.pressure_course == PressureCourse.callup
                  else callup_pace)
        floor = floor * course(world, dates)
        for r, met in enumerate(world.region_quota_complete):
            if met is not None:
                quota_factor[dates >= met, r] = beh.quota_complete_factor
    after_end = np.where(dates > end, beh.pressure_after_end, 1.0)
    exposed = exposure > 0
    shock = np.where(exposed, shock * after_end, 0.0)
    floor = np.where(exposed, floor * after_end, 0.0)
    rumour = np.zeros(n_days)
    for i, r in enumerate(beh.rumours):
        r_start = parse_date(r.start, f"behaviour.rumours[{i}].start")
        r_end = parse_date(r.end, f"behaviour.rumours[{i}].end")
        rumour += np.where((dates >= r_start) & (dates <= r_end), r.intensity, 0.0)
    # trips booked before the announcement are still made: the fall is gradual
    tau = beh.normal_traffic_adjust_days
    adjusted = exposure if tau <= 0 else exposure * -np.expm1(-mid / tau)
    normal_traffic = 1.0 - adjusted * (1.0 - beh.normal_traffic_after_announcement)
    return Timeline(exposure=exposure, shock=shock, floor=floor, quota_factor=quota_factor,
                    rumour=rumour, normal_traffic=normal_traffic)


def leave_probability(at_risk_hazard: np.ndarray, cumulative: np.ndarray,
                      frailty_variance: float) -> np.ndarray:
    """Probability that a man still at home leaves today, given today's hazard (for readiness 1)
    and the cell's cumulative hazard so far.

    With readiness Z ~ Gamma(mean 1, variance v) and each man leaving at rate Z x hazard, the
    men still at home after cumulative hazard H have Z ~ Gamma(shape 1/v, rate 1/v + H), and
    each of them leaves today with probability 1 - ((1 + v H) / (1 + v (H + h)))^(1/v)
    (the Laplace transform of that gamma), independently: today's departures stay an exact
    binomial draw. v = 0 gives 1 - exp(-h), identical men. The population's hazard is
    h / (1 + v H): it falls as the readiest leave.
    """
    if frailty_variance <= 0:
        return 1.0 - np.exp(-at_risk_hazard)
    v = frailty_variance
    log_ratio = np.log1p(v * (cumulative + at_risk_hazard)) - np.log1p(v * cumulative)
    return -np.expm1(-log_ratio / v)


def peer_term(share_gone: np.ndarray, beh: BehaviourConfig) -> np.ndarray:
    """The peer multiplier's increment: peer_weight x the (remembered) share of the region's men
    who left, saturating smoothly at peer_cap (tanh keeps its slope at zero equal to
    peer_weight, so a cap far above the values reached changes nothing)."""
    linear = beh.peer_weight * share_gone
    if beh.peer_cap is None:
        return linear
    return beh.peer_cap * np.tanh(linear / beh.peer_cap)


def shifted_attractiveness(world: World, beh: BehaviourConfig) -> np.ndarray:
    """[C] each country's pull (sim/destinations.py: the attractiveness of countries.csv, or
    from features) plus its `attractiveness_shift`."""
    values = destination_pull(world, beh)
    for country, shift in beh.attractiveness_shift.items():
        if country not in world.country_ids:
            raise ConfigError(f"behaviour.attractiveness_shift.{country}",
                              f"unknown country; the countries are {', '.join(world.country_ids)}")
        values[world.country_ids.index(country)] += float(shift)
    return values


class RouteChoice:
    """Exit utilities and availability; see the module docstring for the form."""

    def __init__(self, world: World, strata: Strata, beh: BehaviourConfig) -> None:
        self.world, self.strata, self.beh = world, strata, beh
        self.node_utility = -beh.beta_time * world.travel_days  # [N, G]
        self.exp_node = np.exp(self.node_utility)
        # ln(capacity) is the size term of an aggregate alternative: splitting a crossing into
        # two posts of half the capacity leaves the choice between countries unchanged
        self.static_exit_utility = (
            beh.beta_attractiveness * shifted_attractiveness(world, beh)[world.gate_country]
            + beh.beta_air * (world.gate_mode == AIR)
            + beh.beta_size * np.log(np.maximum(world.gate_capacity, 1.0)))
        budget = np.asarray(beh.budget_rub)[strata.means]  # [S]
        self.money_utility = -beh.beta_money * world.gate_fare[None, :] / budget[:, None]
        required = world.country_documents[world.gate_country]
        self.base_available = ((strata.documents[:, None] >= required[None, :])
                               & (world.gate_fare[None, :] <= budget[:, None]))  # [S, G]
        self.exempt = strata.documents == 3
        self.eligible = strata.military

    def exit_utility(self, known_wait: np.ndarray) -> np.ndarray:
        """[G] the part of utility that depends only on the exit."""
        return self.static_exit_utility - self.beh.beta_wait * known_wait

    def stratum_terms(self, policy: CompiledPolicy, day: int,
                      known_draft: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """([S, G] utility, [S, G] availability) of the stratum-dependent part on `day`."""
        utility = self.money_utility - self.beh.beta_draft * np.outer(self.eligible, known_draft)
        available = (self.base_available & policy.open[day][None, :]
                     & policy.allowed[day].T & ~policy.exit_banned[day].T
                     & (~policy.visa_ban[day][None, :] | self.exempt[:, None]))
        return utility, available

    def region_weights(self, policy: CompiledPolicy, day: int, exit_u: np.ndarray) -> np.ndarray:
        """[R, G] exp(node + exit utility) from each home region, zero where `local` bars it."""
        n_regions = self.world.n_regions
        weights = self.exp_node[:n_regions] * np.exp(exit_u)[None, :]
        local_only = policy.local_only[day]
        if local_only.any():
            barred = local_only[None, :] & (np.arange(n_regions)[:, None]
                                            != self.world.gate_region[None, :])
            weights = np.where(barred, 0.0, weights)
        return weights

    @staticmethod
    def stratum_weights(utility: np.ndarray, available: np.ndarray) -> np.ndarray:
        return np.where(available, np.exp(utility), 0.0)

    def group_utilities(self, nodes: np.ndarray, strata_idx: np.ndarray, home: np.ndarray,
                        exit_u: np.ndarray, stratum_u: np.ndarray, available: np.ndarray,
                        policy: CompiledPolicy, day: int) -> np.ndarray:
        """[k, G] utilities of every exit for k (node, stratum, home region) groups; -inf where
        unavailable. `local` restrictions compare the home region with the exit's region."""
        u = self.node_utility[nodes] + exit_u[None, :] + stratum_u[strata_idx]
        ok = available[strata_idx]
        local_only = policy.local_only[day]
        if local_only.any():
            ok = ok & ~(local_only[None, :] & (home[:, None] != self.world.gate_region[None, :]))
        return np.where(ok, u, -np.inf)


def logsumexp_rows(u: np.ndarray) -> np.ndarray:
    """log(sum(exp(u))) per row; -inf for rows with no finite entry.

    Utilities are finite or -inf (unavailable): then the row's maximum is that of its finite
    entries and exp(-inf) is 0, so no masks are needed (the same floats, in half the time);
    rows with NaN or +inf take the masked path."""
    top = u.max(axis=1) if u.shape[1] else np.full(len(u), -np.inf)
    if not (np.isnan(top) | (top == np.inf)).any():
        safe_top = np.where(np.isfinite(top), top, 0.0)
        total = np.exp(u - safe_top[:, None]).sum(axis=1)
        with np.errstate(divide="ignore"):
            return np.where(total > 0, np.log(total) + safe_top, -np.inf)
    finite = np.isfinite(u)
    top = np.max(np.where(finite, u, -np.inf), axis=1)
    safe_top = np.where(np.isfinite(top), top, 0.0)
    total = np.where(finite, np.exp(u - safe_top[:, None]), 0.0).sum(axis=1)
    with np.errstate(divide="ignore"):
        return np.where(total > 0, np.log(total) + safe_top, -np.inf)
