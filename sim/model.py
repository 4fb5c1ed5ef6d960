"""`MobilisationModel`: one `step()` is one day of the exodus.

Places (regions, exits, countries) are Mesa agents, views onto the model's arrays
(`sim.agents`); people are arrays (`sim.population`). A day
runs in this order (docs/ODD.md, "Process overview and scheduling"):

1. information: exits' queues as known with a delay, today's policy;
2. men at home decide whether to flee (binomial draws of a daily hazard) and choose an exit;
3. people travelling to an exit that became unavailable to them re-plan;
4. arrivals at exits: restrictions are checked, the rest join the queue;
5. people in queues reconsider: stay, switch exit, or go home;
6. ordinary travellers join the queues;
7. each exit passes its capacity, first come first served; draft offices and exit bans at
   passport control, entry bans at the destination;
8. people abroad move on or return; ordinary travellers go home after their stay;
9. the day's figures are recorded.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import mesa
import numpy as np
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from sim.agents import CountryAgent, ExitAgent, RegionAgent, make_collector
from sim.behaviour import (
    RouteChoice,
    Timeline,
    categorical_draws,
    intensity_index,
    leave_probability,
    logit_choice,
    logsumexp_rows,
    make_timeline,
    peer_term,
)
from sim.border import pick_served, serve_queues, stochastic_round
from sim.config import SimConfig, load_config, parse_date, to_sim_config
from sim.network import AIR, World, build_world
from sim.policy import CompiledPolicy, compile_policy
from sim.population import People, State, Strata, initial_counts, make_strata

STREAMS = ("population", "departures", "routes", "travel", "reconsider", "normal", "border",
           "abroad", "prepare")

GATE_METRICS = ("crossed_fleeing", "crossed_normal", "queue_fleeing", "queue_normal",
                "wait_days_sum", "arrivals", "refused", "refused_entry", "stopped", "capacity",
                "served_fleeing", "arrived_normal", "normal_gave_up")
COUNTRY_METRICS = ("entered_fleeing", "entered_onward", "entered_normal", "onward_fleeing",
                   "returned_fleeing", "left_normal", "present_fleeing", "present_normal",
                   "refused_entry")
REGION_METRICS = ("departures", "at_home")
STAY, HOME = -1, -2  # outcomes of a choice that are not an exit


class departures_above:
    """A stopping rule for `MobilisationModel.run`: more than `limit` agents have left home."""

    def __init__(self, limit: float) -> None:
        self.limit = limit

    def __call__(self, model: MobilisationModel) -> bool:
        departures = model.record.region["departures"]
        t = model.day - 1
        return bool(departures[t].sum()) and departures[: t + 1].sum() > self.limit


def random_streams(seed: int) -> dict[str, np.random.Generator]:
    """Named generators spawned from one seed: a policy that changes what happens at one exit
    changes only the draws that depend on it (common random numbers across scenarios)."""
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {name: np.random.default_rng(child) for name, child in zip(STREAMS, children,
                                                                       strict=True)}


@dataclass
class RunRecord:
    """Everything a run produced, in agent units (divide by scale for the real population)."""

    dates: list[dt.date]
    gate: dict[str, np.ndarray]  # metric -> [T, G]
    country: dict[str, np.ndarray]  # metric -> [T, C]
    region: dict[str, np.ndarray]  # metric -> [T, R]


class MobilisationModel(mesa.Model):
    """The exodus after the 21 September 2022 mobilisation, one step per day.

    >>> from sim import MobilisationModel, load_config
    >>> model = MobilisationModel(load_config(["population.scale=0.001"]))
    >>> model.run()
    """

    def __init__(self, config: SimConfig | Any | None = None, *, rng: int | None = None,
                 world: World | None = None, collect: bool = True) -> None:
        """`collect=False` skips the DataCollector (batch runs read the record instead)."""
        cfg = to_sim_config(config) if config is not None else load_config()
        seed = cfg.seed if rng is None else int(rng)
        super().__init__(rng=seed)
        self.config, self.seed = cfg, seed
        self.start_date = parse_date(cfg.start, "start")
        self.end_date = parse_date(cfg.end, "end")
        self.n_days = (self.end_date - self.start_date).days + 1
        self.scale = cfg.population.scale
        self.world = world if world is not None else build_world(cfg.network)
        self.strata: Strata = make_strata(list(cfg.population.age_bands))
        self.policy: CompiledPolicy = compile_policy(cfg.policy, self.world, self.strata,
                                                     self.start_date, self.end_date)
        self.streams = random_streams(seed)
        self.timeline: Timeline = make_timeline(cfg.behaviour, self.start_date, self.n_days,
                                                self.world)
        self.routes = RouteChoice(self.world, self.strata, cfg.behaviour)
        self._init_state()
        w = self.world
        for i, code in enumerate(w.region_ids):
            RegionAgent(self, i, code)
        for i, exit_id in enumerate(w.gate_ids):
            ExitAgent(self, i, exit_id)
        for i, country in enumerate(w.country_ids):
            CountryAgent(self, i, country)
        self.collect = collect
        self.datacollector = make_collector(self)
        self.runtime_seconds = 0.0
        self.stopped_early = False  # by `run`'s stop condition

    # ----------------------------------------------------------------------------------------
    def _init_state(self) -> None:
        w, beh = self.world, self.config.behaviour
        self.initial_home = initial_counts(w, self.strata, self.config.population,
                                           self.streams["population"])
        self.at_home = self.initial_home.copy()
        self.left_home = np.zeros(w.n_regions, dtype=np.int64)  # cumulative, for the peer effect
        self.remembered_left = np.zeros(w.n_regions)  # departures as the peers remember them
        # [R, S] hazard each cell's men have been exposed to so far (readiness 1): the men who
        # remain are the less ready ones (behaviour.frailty_variance)
        self.cumulative_hazard = np.zeros_like(self.initial_home, dtype=float)
        self.people = People(capacity=max(1024, int(self.initial_home.sum() * 0.03)))
        self.normal_queue = np.zeros((w.n_gates, self.n_days), dtype=np.int64)
        self.wait_estimate = np.zeros((self.n_days + 1, w.n_gates))
        self.intensity = intensity_index(w, beh)
        s = self.strata
        self.stratum_multiplier = (np.asarray(beh.age_multiplier)[s.age]
                                   * np.where(s.military, beh.military_multiplier, 1.0)
                                   * np.asarray(beh.means_multiplier)[s.means]
                                   * np.asarray(beh.documents_multiplier)[s.documents])
        # accessibility is measured against the data's network with no queues and no policy
        rc = self.routes
        ref_exit = rc.exit_utility(np.zeros(w.n_gates))
        ref_strata = np.where(rc.base_available & w.gate_open[None, :], np.exp(rc.money_utility),
                              0.0)
        self.reference_access = (rc.exp_node[: w.n_regions] * np.exp(ref_exit)) @ ref_strata.T
        self.expected_capacity = (w.gate_capacity[None, :] * self.policy.capacity_factor
                                  * self.policy.open * self.scale)  # [T, G]
        stay = w.country_normal_stay_days
        inflow = np.bincount(w.gate_country, weights=w.gate_normal * w.gate_open,
                             minlength=w.n_countries)
        self.normal_abroad = np.round(inflow * stay * self.scale).astype(np.int64)
        self._onward_tables()
        n_t, n_g, n_c, n_r = self.n_days, w.n_gates, w.n_countries, w.n_regions
        self.record = RunRecord(
            dates=[self.start_date + dt.timedelta(days=t) for t in range(n_t)],
            gate={m: np.zeros((n_t, n_g)) for m in GATE_METRICS},
            country={m: np.zeros((n_t, n_c)) for m in COUNTRY_METRICS},
            region={m: np.zeros((n_t, n_r)) for m in REGION_METRICS},
        )
        self.day = 0
        self.state_counts = np.zeros(len(State) + 1, dtype=np.int64)

    def _onward_tables(self) -> None:
        """Per country: the onward links' destinations and their cumulative daily rates."""
        w, beh = self.world, self.config.behaviour
        rate = w.onward_rate * np.where(w.onward_is_return, beh.return_rate_factor,
                                        beh.onward_rate_factor)
        width = max(1, int(np.bincount(w.onward_from, minlength=w.n_countries).max()))
        self.onward_to = np.full((w.n_countries, width), -1, dtype=np.int64)
        rates = np.zeros((w.n_countries, width))
        fill = np.zeros(w.n_countries, dtype=np.int64)
        for f, to, r in zip(w.onward_from, w.onward_to, rate, strict=True):
            self.onward_to[f, fill[f]] = to
            rates[f, fill[f]] = r
            fill[f] += 1
        self.onward_cumulative = np.cumsum(rates, axis=1)
        self.onward_total = rates.sum(axis=1)

    # ----------------------------------------------------------------------------------------
    def step(self) -> None:
        t = self.day
        if t >= self.n_days:
            self.running = False
            return
        beh, pol = self.config.behaviour, self.policy
        known = max(t - beh.info_delay_days, 0)
        exit_u = self.routes.exit_utility(self.wait_estimate[known])
        stratum_u, available = self.routes.stratum_terms(pol, t, pol.draft_probability[known])
        region_w = self.routes.region_weights(pol, t, exit_u)
        stratum_w = self.routes.stratum_weights(stratum_u, available)
        choice = (exit_u, stratum_u, available)

        self._decide_and_depart(t, region_w, stratum_w)
        self._replan_travellers(t, choice)
        self._arrive(t, choice)
        self._reconsider_queues(t, choice)
        self._serve(t, choice)
        self._move_abroad(t)
        self._record_end_of_day(t)
        self.day += 1
        if self.collect:
            self.datacollector.collect(self)
        if self.day >= self.n_days:
            self.running = False

    def run(self, until: int | None = None,
            stop: Callable[[MobilisationModel], bool] | None = None) -> RunRecord:
        """Simulate from the current day up to and including day index `until` (the whole
        horizon if None), or until `stop(model)` is true after a day; returns the record.
        A run can be continued by calling `run` again."""
        started = time.perf_counter()
        last = self.n_days - 1 if until is None else min(int(until), self.n_days - 1)
        days = range(self.day, last + 1)
        # the matrices are small: BLAS threads only contend (20 ms instead of 0.1 ms a product
        # on a busy two-core machine), and sweeps already run one model per core
        with threadpool_limits(limits=1, user_api="blas"):
            for _ in tqdm(days, desc=f"{self.policy.name} seed {self.seed}", unit="day",
                          disable=not self.config.progress, leave=False):
                self.step()
                if stop is not None and stop(self):
                    self.stopped_early = True
                    break
        self.runtime_seconds += time.perf_counter() - started
        return self.record

    # ---- 2. decisions at home ----------------------------------------------------------------
    def _decide_and_depart(self, t: int, region_w: np.ndarray, stratum_w: np.ndarray) -> None:
        w, beh, tl = self.world, self.config.behaviour, self.timeline
        if tl.exposure[t] <= 0:
            return
        denom = region_w @ stratum_w.T  # [R, S]
        access = np.divide(denom, self.reference_access, out=np.zeros_like(denom),
                           where=self.reference_access > 0) ** beh.accessibility_weight
        rumour = tl.rumour[t] + beh.restriction_rumour_weight * self._restriction_news(t)
        remembered = self.left_home if beh.peer_memory_days is None else self.remembered_left
        peer = peer_term(remembered / np.maximum(self.initial_home.sum(axis=1), 1), beh)
        hazard = (beh.hazard_base * (1.0 + beh.rumour_weight * rumour)
                  * (tl.region_pressure(t) * self.intensity * (1.0 + peer))[:, None]
                  * self.stratum_multiplier[None, :] * access)
        at_risk = hazard * tl.exposure[t]
        p_leave = leave_probability(at_risk, self.cumulative_hazard, beh.frailty_variance)
        self.cumulative_hazard += at_risk
        leaving = self.streams["departures"].binomial(self.at_home, p_leave)
        self._remember_departures(leaving.sum(axis=1))
        cells_r, cells_s = np.nonzero(leaving)
        if len(cells_r) == 0:
            return
        n = leaving[cells_r, cells_s]
        weights = region_w[cells_r] * stratum_w[cells_s]
        cell, gate = categorical_draws(weights, n, self.streams["routes"])
        region, stratum = cells_r[cell], cells_s[cell]
        first_hour = 1.0 - tl.exposure[t]
        depart = t + first_hour + tl.exposure[t] * self.streams["travel"].random(len(gate))
        if beh.departure_lead_days > 0:  # days to get ready: money, papers, a ticket, a car
            depart += self.streams["prepare"].exponential(beh.departure_lead_days, len(gate))
        self.people.add(region=region, stratum=stratum, gate=gate, node=region,
                        state=np.full(len(gate), State.TRAVELLING),
                        t_depart=depart, t_arrive=depart + w.travel_days[region, gate])
        self.at_home -= leaving
        left = leaving.sum(axis=1)
        self.left_home += left
        self.record.region["departures"][t] = left

    def _remember_departures(self, left_today: np.ndarray) -> None:
        """Peers' memory of departures fades with `peer_memory_days` (one day's decay a day)."""
        memory = self.config.behaviour.peer_memory_days
        if memory is not None:
            self.remembered_left = self.remembered_left * np.exp(-1.0 / memory) + left_today

    def _restriction_news(self, t: int) -> float:
        """New restrictions seen in the last days, fading with `rumour_memory_days`."""
        ages = t - np.arange(t + 1)
        fade = np.exp(-ages / self.config.behaviour.rumour_memory_days)
        return float((self.policy.news[: t + 1] * fade).sum())

    # ---- 3. and re-routing in general ---------------------------------------------------------
    def _usable(self, idx: np.ndarray, t: int, available: np.ndarray) -> np.ndarray:
        """Whether each individual may still use the exit he is heading for or queuing at."""
        p = self.people
        gate, stratum = p.gate[idx], p.stratum[idx]
        ok = available[stratum, gate]
        local_only = self.policy.local_only[t, gate]
        if local_only.any():
            ok &= ~local_only | (self.world.gate_region[gate] == p.region[idx])
        return ok

    def _choose(self, idx: np.ndarray, from_nodes: np.ndarray, t: int, choice: tuple,
                stay_utility: np.ndarray | None = None) -> np.ndarray:
        """Each individual picks an exit reachable from his node, or going home, or (when
        `stay_utility` is given) staying in the queue he is in. Returns the exit, HOME or STAY.

        Exact nested form of the flat logit: individuals sharing (node, stratum, home region)
        share the exits' utilities, so each group's logsum is computed once; a man first draws
        among {switch, home, stay} (switch with the group's logsum as utility), then switchers
        draw their exit from the group's shares.
        """
        exit_u, stratum_u, available = choice
        p, beh, rng = self.people, self.config.behaviour, self.streams["reconsider"]
        n_strata, n_regions = self.strata.size, self.world.n_regions
        stratum, home = p.stratum[idx].astype(np.int64), p.region[idx].astype(np.int64)
        key = (from_nodes.astype(np.int64) * n_strata + stratum) * n_regions + home
        groups, member = np.unique(key, return_inverse=True)
        g_node = groups // (n_strata * n_regions)
        u = self.routes.group_utilities(g_node, (groups // n_regions) % n_strata,
                                        groups % n_regions, exit_u, stratum_u, available,
                                        self.policy, t)
        if stay_utility is not None:  # staying is its own option, not a switch to the same exit
            u[np.arange(len(groups)), g_node - n_regions] = -np.inf
        switch_u = logsumexp_rows(u)
        options = [switch_u[member], np.full(len(idx), beh.home_utility)]
        if stay_utility is not None:
            options.append(stay_utility)
        top = logit_choice(np.stack(options, axis=1), rng)
        result = np.where(top == 1, HOME, STAY)
        switching = np.flatnonzero(top == 0)
        counts = np.bincount(member[switching], minlength=len(groups))
        finite = np.isfinite(u)
        weights = np.where(finite, np.exp(u - np.where(np.isfinite(switch_u), switch_u,
                                                       0.0)[:, None]), 0.0)
        _, exits = categorical_draws(weights, counts, rng)
        result[switching[np.argsort(member[switching], kind="stable")]] = exits
        return result

    def _reroute(self, idx: np.ndarray, from_nodes: np.ndarray, t: int, choice: tuple) -> None:
        """Choose a new exit from `from_nodes` (regions or exit sites), or go home."""
        if len(idx) == 0:
            return
        picked = self._choose(idx, from_nodes, t, choice)
        self._send_home(idx[picked == HOME])
        go = picked >= 0
        self._travel(idx[go], from_nodes[go], picked[go], t)

    def _travel(self, idx: np.ndarray, from_nodes: np.ndarray, gates: np.ndarray,
                t: int) -> None:
        p = self.people
        p.gate[idx] = gates
        p.node[idx] = from_nodes
        p.state[idx] = State.TRAVELLING
        p.t_arrive[idx] = (t + self.streams["reconsider"].random(len(idx))
                           + self.world.travel_days[from_nodes, gates])

    def _send_home(self, idx: np.ndarray) -> None:
        if len(idx) == 0:
            return
        p = self.people
        p.state[idx] = State.WENT_HOME
        np.add.at(self.at_home, (p.region[idx], p.stratum[idx]), 1)

    def _site_node(self, gate: np.ndarray) -> np.ndarray:
        return self.world.n_regions + gate

    def _replan_travellers(self, t: int, choice: tuple) -> None:
        """People on the way to an exit that closed, or now bars them, re-plan from home."""
        p = self.people
        state = p.view("state")
        travelling = np.flatnonzero(state == State.TRAVELLING)
        queued = np.flatnonzero(state == State.QUEUED)
        blocked = travelling[~self._usable(travelling, t, choice[2])]
        self._reroute(blocked, p.region[blocked].astype(np.int64), t, choice)
        closed = queued[~self.policy.open[t, p.gate[queued]]]
        self.record.gate["refused"][t] += np.bincount(p.gate[closed],
                                                      minlength=self.world.n_gates)
        self._reroute(closed, self._site_node(p.gate[closed]), t, choice)
        closed_gates = ~self.policy.open[t]
        # ordinary travellers queued at an exit that closed do not cross there: they give up
        self.record.gate["normal_gave_up"][t] += np.where(closed_gates,
                                                          self.normal_queue.sum(axis=1), 0)
        self.normal_queue[closed_gates] = 0

    # ---- 4. arrivals --------------------------------------------------------------------------
    def _arrive(self, t: int, choice: tuple) -> None:
        p = self.people
        state, t_arrive = p.view("state"), p.view("t_arrive")
        arriving = np.flatnonzero((state == State.TRAVELLING) & (t_arrive < t + 1))
        if len(arriving) == 0:
            return
        gate, stratum = p.gate[arriving], p.stratum[arriving]
        allowed = self.policy.allowed[t, gate, stratum]
        local_only = self.policy.local_only[t, gate]
        allowed &= ~local_only | (self.world.gate_region[gate] == p.region[arriving])
        refused = arriving[~allowed]
        self.record.gate["refused"][t] += np.bincount(p.gate[refused],
                                                      minlength=self.world.n_gates)
        self._reroute(refused, self._site_node(p.gate[refused]), t, choice)
        joining = arriving[allowed]
        p.state[joining] = State.QUEUED
        p.queue_day[joining] = t
        self.record.gate["arrivals"][t] += np.bincount(p.gate[joining],
                                                       minlength=self.world.n_gates)

    # ---- 5. reconsidering in queues -------------------------------------------------------------
    def _queue_counts(self, queued: np.ndarray) -> np.ndarray:
        p, n_g = self.people, self.world.n_gates
        cohort = p.gate[queued].astype(np.int64) * self.n_days + p.queue_day[queued]
        return np.bincount(cohort, minlength=n_g * self.n_days).reshape(n_g, self.n_days)

    def _reconsider_queues(self, t: int, choice: tuple) -> None:
        p, beh = self.people, self.config.behaviour
        queued = np.flatnonzero(p.view("state") == State.QUEUED)
        rng = self.streams["reconsider"]
        thinking = queued[rng.random(len(queued)) < beh.reconsider_share]
        if len(thinking) == 0:
            return
        total = self.normal_queue + self._queue_counts(queued)
        ahead = np.cumsum(total, axis=1) - total * 0.5  # people ahead, mid-cohort
        gate, day = p.gate[thinking], p.queue_day[thinking]
        capacity = np.maximum(self.expected_capacity[t, gate], 1e-9)
        remaining = np.minimum(ahead[gate, day] / capacity, 1e3)
        _, stratum_u, _ = choice
        stay = (self.routes.static_exit_utility[gate] + stratum_u[p.stratum[thinking], gate]
                - beh.beta_wait * remaining + beh.switch_cost)
        nodes = self._site_node(gate)
        picked = self._choose(thinking, nodes, t, choice, stay_utility=stay)
        self._send_home(thinking[picked == HOME])
        switch = picked >= 0
        self._travel(thinking[switch], nodes[switch], picked[switch], t)

    # ---- 6.-7. ordinary traffic and service --------------------------------------------------
    def _serve(self, t: int, choice: tuple) -> None:
        w, p, pol, rec = self.world, self.people, self.policy, self.record
        n_g = w.n_gates
        rng_normal, rng_border = self.streams["normal"], self.streams["border"]
        normal_today = (w.gate_normal * pol.normal_factor[t] * pol.open[t] * self.scale
                        * self.timeline.normal_traffic[t]
                        * self._normal_joining_share(t))
        arrived_normal = rng_normal.poisson(normal_today)
        self.normal_queue[:, t] += arrived_normal
        rec.gate["arrived_normal"][t] = arrived_normal
        capacity = stochastic_round(w.gate_capacity * pol.capacity_factor[t] * self.scale,
                                    rng_border) * pol.open[t]
        queued = np.flatnonzero(p.view("state") == State.QUEUED)
        fleeing_counts = self._queue_counts(queued)
        normal_served, fleeing_served = serve_queues(capacity, w.gate_mode == AIR,
                                                     self.normal_queue, fleeing_counts,
                                                     rng_border)
        self.normal_queue -= normal_served
        self._normal_give_up(t)
        served = queued[pick_served(p.gate[queued], p.queue_day[queued], p.t_arrive[queued],
                                    fleeing_served)]
        gate, stratum = p.gate[served], p.stratum[served]
        rec.gate["capacity"][t] = capacity
        rec.gate["served_fleeing"][t] = np.bincount(gate, minlength=n_g)
        rec.gate["crossed_normal"][t] = normal_served.sum(axis=1)
        crossed_normal_by_country = np.bincount(w.gate_country,
                                                weights=rec.gate["crossed_normal"][t],
                                                minlength=w.n_countries)
        rec.country["entered_normal"][t] = crossed_normal_by_country
        self.normal_abroad += crossed_normal_by_country.astype(np.int64)

        # passport control on the Russian side: draft offices, then exit bans
        drafted = self.routes.eligible[stratum] & (rng_border.random(len(served))
                                                   < pol.draft_probability[t, gate])
        banned = ~drafted & pol.exit_banned[t, gate, stratum]
        stopped = served[drafted]
        p.state[stopped] = State.STOPPED
        rec.gate["stopped"][t] = np.bincount(gate[drafted], minlength=n_g)
        rec.gate["refused"][t] += np.bincount(gate[banned], minlength=n_g)
        self._reroute(served[banned], self._site_node(gate[banned]), t, choice)
        # the destination's entry rules
        out = ~drafted & ~banned
        refused_entry = out & pol.visa_ban[t, gate] & ~self.routes.exempt[stratum]
        crossing = out & ~refused_entry
        rec.gate["crossed_fleeing"][t] = np.bincount(gate[crossing], minlength=n_g)
        rec.gate["refused_entry"][t] = np.bincount(gate[refused_entry], minlength=n_g)
        rec.country["refused_entry"][t] = np.bincount(w.gate_country[gate[refused_entry]],
                                                      minlength=w.n_countries)
        self._reroute(served[refused_entry], self._site_node(gate[refused_entry]), t, choice)
        entered = served[crossing]
        p.state[entered] = State.ABROAD
        p.country[entered] = w.gate_country[p.gate[entered]]
        p.t_cross[entered] = t
        self._schedule_next_move(entered, t)
        rec.country["entered_fleeing"][t] = np.bincount(p.country[entered],
                                                        minlength=w.n_countries)
        wait = np.maximum(t + 0.5 - p.t_arrive[entered], 0.0)
        rec.gate["wait_days_sum"][t] = np.bincount(gate[crossing], weights=wait, minlength=n_g)

    def _normal_joining_share(self, t: int) -> np.ndarray:
        """[G] share of today's ordinary travellers who still set out for each land post, given
        its wait as known with the information delay. An ordinary trip can be put off: each
        traveller tolerates an exponentially distributed wait with mean `normal_patience_days`
        (the same patience after which a queued traveller gives up), so a known wait W keeps
        exp(-W / patience) of them; 1 with no queue. On air routes ticket holders board before
        the people waiting for a seat, so a queue there does not deter them."""
        known = max(t - self.config.behaviour.info_delay_days, 0)
        patience = float(self.config.network.normal_patience_days)
        share = np.exp(-self.wait_estimate[known] / patience)
        return np.where(self.world.gate_mode == AIR, 1.0, share)

    def _normal_give_up(self, t: int) -> None:
        """Ordinary travellers still queued `normal_patience_days` after joining leave the queue
        (another day, another route, or no trip: outside the model). Deterministic: no random
        draw, so common random numbers across scenarios are kept."""
        oldest_kept = t - self.config.network.normal_patience_days + 1
        if oldest_kept <= 0:
            return
        gave_up = self.normal_queue[:, :oldest_kept].sum(axis=1)
        self.record.gate["normal_gave_up"][t] += gave_up
        self.normal_queue[:, :oldest_kept] = 0

    # ---- 8. abroad ----------------------------------------------------------------------------
    def _schedule_next_move(self, idx: np.ndarray, t: int) -> None:
        """Draw the day each person will leave the country he has just entered.

        A geometric number of days (at least one) with the country's daily leaving probability:
        the same distribution as a Bernoulli draw every day, at one draw per arrival."""
        leave_p = 1.0 - np.exp(-self.onward_total[self.people.country[idx]])
        days = self.streams["abroad"].geometric(np.maximum(leave_p, 1e-12))
        never = leave_p <= 0
        self.people.t_next[idx] = np.where(never, -1, np.minimum(t + days, 2**31 - 1))

    def _move_abroad(self, t: int) -> None:
        w, p, rec = self.world, self.people, self.record
        rng = self.streams["abroad"]
        state = p.view("state")
        movers = np.flatnonzero((p.view("t_next") == t)
                                & ((state == State.ABROAD) | (state == State.ONWARD)))
        from_c = p.country[movers]
        # which link: proportional to the links' rates
        pick = rng.random(len(movers)) * self.onward_total[from_c]
        link = (pick[:, None] >= self.onward_cumulative[from_c]).sum(axis=1)
        link = np.minimum(link, self.onward_to.shape[1] - 1)
        to_c = self.onward_to[from_c, link]
        back = to_c == w.return_country
        p.state[movers[back]] = State.RETURNED
        p.state[movers[~back]] = State.ONWARD
        p.country[movers] = to_c
        p.t_cross[movers] = t
        self._schedule_next_move(movers[~back], t)
        n_c = w.n_countries
        rec.country["returned_fleeing"][t] = np.bincount(from_c[back], minlength=n_c)
        rec.country["onward_fleeing"][t] = np.bincount(from_c[~back], minlength=n_c)
        rec.country["entered_onward"][t] = np.bincount(to_c[~back], minlength=n_c)
        leaving = rng.binomial(self.normal_abroad, 1.0 / w.country_normal_stay_days)
        self.normal_abroad -= leaving
        rec.country["left_normal"][t] = leaving

    # ---- 9. records ----------------------------------------------------------------------------
    def _record_end_of_day(self, t: int) -> None:
        w, p, rec = self.world, self.people, self.record
        state = p.view("state")
        queued = np.flatnonzero(state == State.QUEUED)
        fleeing_q = np.bincount(p.gate[queued], minlength=w.n_gates)
        normal_q = self.normal_queue.sum(axis=1)
        rec.gate["queue_fleeing"][t] = fleeing_q
        rec.gate["queue_normal"][t] = normal_q
        self.wait_estimate[t + 1] = (fleeing_q + normal_q) / np.maximum(
            self.expected_capacity[t], 1e-9)
        here = (state == State.ABROAD) | (state == State.ONWARD)
        rec.country["present_fleeing"][t] = np.bincount(p.view("country")[here],
                                                        minlength=w.n_countries)
        rec.country["present_normal"][t] = self.normal_abroad
        rec.region["at_home"][t] = self.at_home.sum(axis=1)
        self.state_counts = np.bincount(state, minlength=len(State) + 1)

    # ---- invariants ---------------------------------------------------------------------------
    def people_accounted(self) -> int:
        """Men at home plus individuals not back home: equals the initial population."""
        state = self.people.view("state")
        return int(self.at_home.sum() + np.count_nonzero(state != State.WENT_HOME))
