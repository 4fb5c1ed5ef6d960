"""`Ensemble`: B members of the exodus stepped together, one `step()` a day for all of them.

Members share the world's geometry (places, travel times, fares) and the simulated dates; each
has its own config (behaviour parameters, capacity and traffic factors, policy) and seed. Their
state is held in arrays with a leading member axis ([B, R, S] men at home, [B, G, D] ordinary
queues, ...), and the individuals who acted of every member are one `People` table with a
member index; queues are first come first served within each (member, exit). Each member draws
from its own named streams (`sim.draws`), or with `draws=keyed` by keys of its own seed
(`sim.keyed`), so a member's figures equal its single run's, whatever else is in the batch.
A day runs in this order (docs/ODD.md, "Process overview and scheduling"):

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

import time
from collections.abc import Callable, Sequence

import numpy as np

from sim.border import pick_served_by_member, serve_queues_by_member
from sim.choice import HOME, DayChoice, choose_exits
from sim.config import SimConfig
from sim.draws import StreamDraws
from sim.ensemble_state import MemberArrays, stack_members
from sim.keyed import KeyedDraws
from sim.member import MemberSetup, dates_of, same_geometry, setup_member
from sim.network import AIR, World
from sim.population import People, State, make_strata
from sim.record import new_records
from sim.world_cache import load_world


class Ensemble:
    """B members over one world geometry; `step()` simulates one day of every member still
    running, `retire(mask)` takes members out (their records and people are kept)."""

    def __init__(self, configs: Sequence[SimConfig], seeds: Sequence[int] | None = None,
                 worlds: Sequence[World | None] | None = None) -> None:
        if not configs:
            raise ValueError("an ensemble needs at least one member")
        seeds = [c.seed for c in configs] if seeds is None else [int(s) for s in seeds]
        worlds = list(worlds) if worlds is not None else [None] * len(configs)
        first = configs[0]
        self.start_date, self.end_date = dates_of(first)
        for c in configs:
            if dates_of(c) != (self.start_date, self.end_date):
                raise ValueError("the members of an ensemble share their start and end dates")
            if list(c.population.age_bands) != list(first.population.age_bands):
                raise ValueError("the members of an ensemble share their age bands")
            if c.draws != first.draws:
                raise ValueError("the members of an ensemble draw the same way (`draws`)")
        built_for: dict[str, World] = {}  # members without a world: built once per network
        for i, (c, w) in enumerate(zip(configs, worlds, strict=True)):
            if w is None:
                key = repr(c.network)
                if key not in built_for:
                    built_for[key] = load_world(c.network)
                worlds[i] = built_for[key]
        built = worlds[0]
        for w in worlds:
            if not same_geometry(w, built):
                raise ValueError("the members of an ensemble share the world's geometry")
        self.world, self.configs, self.seeds = built, list(configs), seeds
        self.n_days = (self.end_date - self.start_date).days + 1
        self.strata = make_strata(list(first.population.age_bands))
        policies: dict = {}
        with one_blas_thread():  # a small product per member (its reference accessibility)
            self.setups: list[MemberSetup] = [
                setup_member(c, s, w, self.strata, policies)
                for c, s, w in zip(configs, seeds, worlds, strict=True)]
        self.tables, self.records = new_records(self.start_date, self.n_days, built,
                                                len(configs))
        self.member_ids = np.arange(len(configs))  # position in the batch -> member number
        self.p: MemberArrays = stack_members(self.setups, self.strata, built, self.n_days)
        self.draws = (StreamDraws([s.streams for s in self.setups])
                      if first.draws == "streams"
                      else KeyedDraws(seeds, built.n_regions, self.strata.size))
        self.people = People(capacity=max(1024, int(self.p.initial_home.sum() * 0.03)))
        self.day = 0
        self._strata_kept: tuple | None = None  # see _strata_utilities
        self.runtime_seconds = 0.0
        self.stopped_early = np.zeros(len(configs), dtype=bool)
        self._state_counts = np.zeros((len(configs), len(State) + 1), dtype=np.int64)
        self._state_counts_stale = False  # counted when read (batch runs never read them)
        self.went_home = np.zeros(len(configs), dtype=np.int64)  # at retirement

    @property
    def size(self) -> int:
        """Members still running."""
        return len(self.member_ids)

    # ---- running ------------------------------------------------------------------------------
    def run(self, until: int | None = None,
            stop: Callable[[Ensemble], np.ndarray] | None = None) -> None:
        """Simulate up to and including day index `until` (the whole horizon if None); after
        each day, members for which `stop(self)` ([B] bool) is true stop early."""
        started = time.perf_counter()
        last = self.n_days - 1 if until is None else min(int(until), self.n_days - 1)
        with one_blas_thread():
            while self.day <= last and self.size:
                self.step()
                if stop is not None:
                    stopping = stop(self)
                    if stopping.any():
                        self.stopped_early[self.member_ids[stopping]] = True
                        self.retire(stopping)
        self.runtime_seconds += time.perf_counter() - started

    def step(self) -> None:
        t = self.day
        if t >= self.n_days:
            return
        p = self.p
        known = np.maximum(t - p.info_delay, 0)
        b = np.arange(self.size)
        exit_u = p.static_exit_utility - p.beta_wait[:, None] * p.wait_estimate[b, known]
        pol = p.policy_today(t)
        stratum_u, available, stratum_w = self._strata_utilities(t, known)
        region_w = p.exp_node_regions * np.exp(exit_u)[:, None, :]
        local_only = pol["local_only"]
        if local_only.any():
            barred = local_only[:, None, :] & self._other_region[None, :, :]
            region_w = np.where(barred, 0.0, region_w)
        choice = DayChoice(exit_u, stratum_u, available, pol)
        self._decide_and_depart(t, region_w, stratum_w)
        self._replan_travellers(t, choice)
        self._arrive(t, choice)
        self._reconsider_queues(t, choice)
        self._serve(t, choice)
        self._move_abroad(t)
        self._record_end_of_day(t)
        self.day += 1

    def _strata_utilities(self, t: int, known: np.ndarray) -> tuple[np.ndarray, ...]:
        """[B, S, G] each stratum's utility of each exit, whether he may use it, and the
        weight exp(utility) where he may (0 elsewhere). They change only when a policy does:
        yesterday's arrays are kept while the draft probabilities as known and the exits
        available are the same (the same arithmetic on the same inputs: the same floats)."""
        p = self.p
        draft_known = p.policy_on("draft_probability", known)
        available = p.available(t)
        kept = self._strata_kept
        if (kept is not None and kept[0] is p and np.array_equal(kept[1], draft_known)
                and np.array_equal(kept[2], available)):
            return kept[3:]
        stratum_u = p.money_utility - p.beta_draft[:, None, None] * (
            p.eligible[None, :, None] * draft_known[:, None, :])
        stratum_w = np.where(available, np.exp(stratum_u), 0.0)
        self._strata_kept = (p, draft_known, available, stratum_u, available, stratum_w)
        return stratum_u, available, stratum_w

    @property
    def _other_region(self) -> np.ndarray:  # [R, G] exits outside each home region (`local`)
        return np.arange(self.world.n_regions)[:, None] != self.world.gate_region[None, :]

    # ---- members ------------------------------------------------------------------------------
    def retire(self, mask: np.ndarray) -> None:
        """Take the members at `mask` (positions in the batch) out of the running ensemble."""
        self.state_counts  # noqa: B018 - counted while the retiring members' people are here
        keep = ~mask
        people = self.people
        member = people.view("member")
        state = people.view("state")
        gone = self.member_ids[mask]
        self.went_home[gone] = np.bincount(member[state == State.WENT_HOME],
                                           minlength=self.size)[mask]
        self.p = self.p.select(keep)
        self.draws = self.draws.select(keep)
        renumber = np.cumsum(keep) - 1
        people.keep(keep[member])
        people.member[: people.n] = renumber[people.member[: people.n]]
        self.member_ids = self.member_ids[keep]

    def went_home_of(self, member: int) -> int:
        """Individuals of a member who went back home (at its retirement, or now)."""
        position = np.flatnonzero(self.member_ids == member)
        if len(position) == 0:
            return int(self.went_home[member])
        state = self.people.view("state")
        return int(np.count_nonzero((state == State.WENT_HOME)
                                    & (self.people.view("member") == position[0])))

    def _record(self, kind: str, metric: str, t: int, values: np.ndarray) -> None:
        """Write a [B, ...] day's figures into the running members' records."""
        if self.size == 1:
            self.tables[kind][metric][self.member_ids[0], t] = values[0]
        else:
            self.tables[kind][metric][self.member_ids, t] = values

    def _add_record(self, kind: str, metric: str, t: int, values: np.ndarray) -> None:
        if self.size == 1:
            self.tables[kind][metric][self.member_ids[0], t] += values[0]
        else:
            self.tables[kind][metric][self.member_ids, t] += values

    def _bincount(self, member: np.ndarray, index: np.ndarray, size: int,
                  weights: np.ndarray | None = None) -> np.ndarray:
        """[B, size] counts (or sums of `weights`) of items by (member, index)."""
        if self.size == 1:  # the ensemble of one: no member key
            return np.bincount(index, weights=weights, minlength=size)[None]
        key = member.astype(np.int64) * size + index
        return np.bincount(key, weights=weights, minlength=self.size * size).reshape(
            self.size, size)

    # ---- 2. decisions at home ----------------------------------------------------------------
    def _decide_and_depart(self, t: int, region_w: np.ndarray, stratum_w: np.ndarray) -> None:
        p, w = self.p, self.world
        exposure = p.exposure[:, t]
        act = np.flatnonzero(exposure > 0)
        if len(act) == 0:
            return
        sel = slice(None) if len(act) == self.size else act  # no copies when all are exposed
        denom = np.empty((len(act), *p.at_home.shape[1:]))  # [A, R, S]
        for i, m in enumerate(act):  # a product per member: BLAS, as in the single run
            np.matmul(region_w[m], stratum_w[m].T, out=denom[i])
        ref = p.reference_access[sel]
        ratio = np.divide(denom, ref, out=np.zeros_like(denom), where=ref > 0)
        access = power_by_member(ratio, p.accessibility_weight[sel])
        news = p.restriction_news(t, act)
        rumour = p.rumour[sel, t] + p.restriction_rumour_weight[sel] * news
        remembered = np.where(np.isnan(p.peer_memory_days[sel])[:, None], p.left_home[sel],
                              p.remembered_left[sel])
        share = remembered / np.maximum(p.initial_home[sel].sum(axis=2), 1)
        peer = p.peer_term(share, act)
        pressure = p.shock[sel, t][:, None] + p.floor[sel, t][:, None] * p.quota_factor[sel, t]
        hazard = ((p.hazard_base[sel] * (1.0 + p.rumour_weight[sel] * rumour))[:, None, None]
                  * (pressure * p.intensity[sel] * (1.0 + peer))[:, :, None]
                  * p.stratum_multiplier[sel][:, None, :] * access)
        at_risk = hazard * exposure[sel][:, None, None]
        p_leave = p.leave_probability(at_risk, p.cumulative_hazard[sel], act)
        p.cumulative_hazard[sel] += at_risk
        leaving = self.draws.departures(t, act, p.at_home[sel], p_leave)
        left = leaving.sum(axis=2)
        p.remember_departures(left, act)
        cells_b, cells_r, cells_s = np.nonzero(leaving)
        if len(cells_r) == 0:
            return
        n = leaving[cells_b, cells_r, cells_s]
        member_of_cell = act[cells_b]
        weights = region_w[member_of_cell, cells_r] * stratum_w[member_of_cell, cells_s]
        cell, gate, key = self.draws.routes(t, weights, n, member_of_cell, cells_r, cells_s)
        member, region, stratum = member_of_cell[cell], cells_r[cell], cells_s[cell]
        exposed = exposure[member]
        first_hour = 1.0 - exposed
        depart = t + first_hour + exposed * self.draws.uniforms("travel", t, member, key)
        lead = p.departure_lead_days[member]
        if (lead > 0).any():  # days to get ready: money, papers, a ticket, a car
            ready = lead > 0
            depart[ready] += self.draws.exponential("prepare", t, member[ready], key[ready],
                                                    lead[ready])
        self.people.add(member=member, region=region, stratum=stratum, gate=gate, node=region,
                        key=key,
                        state=np.full(len(gate), State.TRAVELLING),
                        t_depart=depart, t_arrive=depart + w.travel_days[region, gate])
        p.at_home[sel] -= leaving
        p.left_home[sel] += left
        self.tables["region"]["departures"][self.member_ids[act], t] = left

    # ---- 3. and re-routing in general ---------------------------------------------------------
    def _usable(self, idx: np.ndarray, t: int, choice: DayChoice) -> np.ndarray:
        """Whether each individual may still use the exit he is heading for or queuing at."""
        people, pol = self.people, choice[3]
        member, gate = people.member[idx], people.gate[idx]
        ok = choice[2][member, people.stratum[idx], gate]
        local_only = pol["local_only"][member, gate]
        if local_only.any():
            ok &= ~local_only | (self.world.gate_region[gate] == people.region[idx])
        return ok

    def _choose(self, idx: np.ndarray, from_nodes: np.ndarray, t: int, choice: DayChoice,
                stay_utility: np.ndarray | None = None) -> np.ndarray:
        """Each individual's new exit, HOME or STAY (`sim.choice.choose_exits`)."""
        people = self.people
        return choose_exits(people.member[idx].astype(np.int64),
                            people.stratum[idx].astype(np.int64),
                            people.region[idx].astype(np.int64), from_nodes, choice, self.p,
                            self.world, self.draws, self.strata.size, stay_utility,
                            t, people.key[idx])

    def _reroute(self, idx: np.ndarray, from_nodes: np.ndarray, t: int, choice: DayChoice) -> None:
        """Choose a new exit from `from_nodes` (regions or exit sites), or go home."""
        if len(idx) == 0:
            return
        picked = self._choose(idx, from_nodes, t, choice)
        self._send_home(idx[picked == HOME])
        go = picked >= 0
        self._travel(idx[go], from_nodes[go], picked[go], t)

    def _travel(self, idx: np.ndarray, from_nodes: np.ndarray, gates: np.ndarray,
                t: int) -> None:
        people = self.people
        people.gate[idx] = gates
        people.node[idx] = from_nodes
        people.state[idx] = State.TRAVELLING
        people.t_arrive[idx] = (t + self.draws.uniforms("travel_on", t, people.member[idx],
                                                        people.key[idx], from_nodes)
                                + self.world.travel_days[from_nodes, gates])

    def _send_home(self, idx: np.ndarray) -> None:
        if len(idx) == 0:
            return
        people = self.people
        people.state[idx] = State.WENT_HOME
        np.add.at(self.p.at_home, (people.member[idx], people.region[idx],
                                   people.stratum[idx]), 1)

    def _site_node(self, gate: np.ndarray) -> np.ndarray:
        return self.world.n_regions + gate.astype(np.int64)

    def _replan_travellers(self, t: int, choice: DayChoice) -> None:
        """People on the way to an exit that closed, or now bars them, re-plan from home."""
        people, n_g, pol = self.people, self.world.n_gates, choice[3]
        state = people.view("state")
        travelling = np.flatnonzero(state == State.TRAVELLING)
        queued = np.flatnonzero(state == State.QUEUED)
        blocked = travelling[~self._usable(travelling, t, choice)]
        self._reroute(blocked, people.region[blocked].astype(np.int64), t, choice)
        closed = queued[~pol["open"][people.member[queued], people.gate[queued]]]
        self._add_record("gate", "refused", t,
                         self._bincount(people.member[closed], people.gate[closed], n_g))
        self._reroute(closed, self._site_node(people.gate[closed]), t, choice)
        closed_gates = ~pol["open"]  # [B, G]
        # ordinary travellers queued at an exit that closed do not cross there: they give up
        self._add_record("gate", "normal_gave_up", t,
                         np.where(closed_gates, self.p.normal_queue.sum(axis=2), 0))
        self.p.normal_queue[closed_gates] = 0

    # ---- 4. arrivals --------------------------------------------------------------------------
    def _arrive(self, t: int, choice: DayChoice) -> None:
        people, pol, n_g = self.people, choice[3], self.world.n_gates
        state, t_arrive = people.view("state"), people.view("t_arrive")
        arriving = np.flatnonzero((state == State.TRAVELLING) & (t_arrive < t + 1))
        if len(arriving) == 0:
            return
        member, gate = people.member[arriving], people.gate[arriving]
        allowed = self.p.policy_cell("allowed", t, member, gate, people.stratum[arriving])
        local_only = pol["local_only"][member, gate]
        allowed &= ~local_only | (self.world.gate_region[gate] == people.region[arriving])
        refused = arriving[~allowed]
        self._add_record("gate", "refused", t,
                         self._bincount(people.member[refused], people.gate[refused], n_g))
        self._reroute(refused, self._site_node(people.gate[refused]), t, choice)
        joining = arriving[allowed]
        people.state[joining] = State.QUEUED
        people.queue_day[joining] = t
        self._add_record("gate", "arrivals", t,
                         self._bincount(people.member[joining], people.gate[joining], n_g))

    # ---- 5. reconsidering in queues -------------------------------------------------------------
    def _window(self, queued: np.ndarray, t: int) -> tuple[int, int]:
        """The days (lo, hi) on which someone still queuing joined: older and later cohorts
        are empty, so a queue's arithmetic over this window is the same as over all days."""
        normal_days = np.flatnonzero(self.p.normal_queue[:, :, : t + 1].any(axis=(0, 1)))
        lo = t if len(normal_days) == 0 else int(normal_days[0])
        if len(queued):
            lo = min(lo, int(self.people.queue_day[queued].min()))
        return lo, t + 1

    def _queue_counts(self, queued: np.ndarray, window: tuple[int, int]) -> np.ndarray:
        """[B, G, W] people fleeing queued by (member, exit, day they joined - window start)."""
        people, n_g = self.people, self.world.n_gates
        lo, hi = window
        cohort = people.gate[queued].astype(np.int64) * (hi - lo) + people.queue_day[queued] - lo
        return self._bincount(people.member[queued], cohort, n_g * (hi - lo)).reshape(
            self.size, n_g, hi - lo)

    def _reconsider_queues(self, t: int, choice: DayChoice) -> None:
        people, p = self.people, self.p
        queued = np.flatnonzero(people.view("state") == State.QUEUED)
        member = people.member[queued]
        thinking = queued[self.draws.uniforms("think", t, member, people.key[queued])
                          < p.reconsider_share[member]]
        if len(thinking) == 0:
            return
        lo, hi = window = self._window(queued, t)
        total = p.normal_queue[:, :, lo:hi] + self._queue_counts(queued, window)
        ahead = np.cumsum(total, axis=2) - total * 0.5  # people ahead, mid-cohort
        member = people.member[thinking]
        gate, day = people.gate[thinking], people.queue_day[thinking] - lo
        capacity = np.maximum(p.expected_capacity[member, t, gate], 1e-9)
        remaining = np.minimum(ahead[member, gate, day] / capacity, 1e3)
        stay = (p.static_exit_utility[member, gate]
                + choice[1][member, people.stratum[thinking], gate]
                - p.beta_wait[member] * remaining + p.switch_cost[member])
        nodes = self._site_node(gate)
        picked = self._choose(thinking, nodes, t, choice, stay_utility=stay)
        self._send_home(thinking[picked == HOME])
        switch = picked >= 0
        self._travel(thinking[switch], nodes[switch], picked[switch], t)

    # ---- 6.-7. ordinary traffic and service --------------------------------------------------
    def _serve(self, t: int, choice: DayChoice) -> None:
        w, people, p, pol = self.world, self.people, self.p, choice[3]
        n_g, size = w.n_gates, self.size
        normal_today = (p.gate_normal * pol["normal_factor"] * pol["open"] * p.scale[:, None]
                        * p.normal_traffic[:, t][:, None] * self._normal_joining_share(t))
        arrived_normal = self.draws.poisson("normal", t, normal_today)
        p.normal_queue[:, :, t] += arrived_normal
        self._record("gate", "arrived_normal", t, arrived_normal)
        wanted = p.gate_capacity * pol["capacity_factor"] * p.scale[:, None]
        floor = np.floor(wanted)
        capacity = (floor + (self.draws.place_uniforms("capacity", t, (size, n_g))
                             < wanted - floor)).astype(np.int64) * pol["open"]
        queued = np.flatnonzero(people.view("state") == State.QUEUED)
        lo, hi = window = self._window(queued, t)
        fleeing_counts = self._queue_counts(queued, window)
        normal_served, fleeing_served = serve_queues_by_member(
            capacity, self.world.gate_mode == AIR, p.normal_queue[:, :, lo:hi], fleeing_counts,
            self.draws.streams, self.draws.mixed_cohorts(t, lo))
        p.normal_queue[:, :, lo:hi] -= normal_served
        self._normal_give_up(t)
        served = queued[pick_served_by_member(people.member[queued], people.gate[queued],
                                    people.queue_day[queued] - lo, people.t_arrive[queued],
                                    fleeing_served)]
        member, gate, stratum = people.member[served], people.gate[served], people.stratum[served]
        self._record("gate", "capacity", t, capacity)
        self._record("gate", "served_fleeing", t, self._bincount(member, gate, n_g))
        crossed_normal = normal_served.sum(axis=2)
        self._record("gate", "crossed_normal", t, crossed_normal)
        by_country = self._bincount(np.repeat(np.arange(size), n_g),
                                    np.tile(w.gate_country, size), w.n_countries,
                                    weights=crossed_normal.astype(float).ravel())
        self._record("country", "entered_normal", t, by_country)
        p.normal_abroad += by_country.astype(np.int64)

        # passport control on the Russian side: draft offices, then exit bans
        draft_draw = self.draws.uniforms("draft", t, member, people.key[served])
        drafted = self.p.eligible[stratum] & (draft_draw
                                              < pol["draft_probability"][member, gate])
        banned = ~drafted & self.p.policy_cell("exit_banned", t, member, gate, stratum)
        stopped = served[drafted]
        people.state[stopped] = State.STOPPED
        self._record("gate", "stopped", t, self._bincount(member[drafted], gate[drafted], n_g))
        self._add_record("gate", "refused", t,
                         self._bincount(member[banned], gate[banned], n_g))
        self._reroute(served[banned], self._site_node(gate[banned]), t, choice)
        # the destination's entry rules
        out = ~drafted & ~banned
        refused_entry = out & pol["visa_ban"][member, gate] & ~self.p.exempt[stratum]
        crossing = out & ~refused_entry
        self._record("gate", "crossed_fleeing", t,
                     self._bincount(member[crossing], gate[crossing], n_g))
        self._record("gate", "refused_entry", t,
                     self._bincount(member[refused_entry], gate[refused_entry], n_g))
        self._record("country", "refused_entry", t,
                     self._bincount(member[refused_entry],
                                    w.gate_country[gate[refused_entry]], w.n_countries))
        self._reroute(served[refused_entry], self._site_node(gate[refused_entry]), t, choice)
        entered = served[crossing]
        people.state[entered] = State.ABROAD
        people.country[entered] = w.gate_country[people.gate[entered]]
        people.t_cross[entered] = t
        self._schedule_next_move(entered, t)
        self._record("country", "entered_fleeing", t,
                     self._bincount(member[crossing], people.country[entered], w.n_countries))
        wait = np.maximum(t + 0.5 - people.t_arrive[entered], 0.0)
        self._record("gate", "wait_days_sum", t,
                     self._bincount(member[crossing], gate[crossing], n_g, weights=wait))

    def _normal_joining_share(self, t: int) -> np.ndarray:
        """[B, G] share of today's ordinary travellers who still set out for each land post,
        given its wait as known with the information delay. An ordinary trip can be put off:
        each traveller tolerates an exponentially distributed wait with mean
        `normal_patience_days` (the same patience after which a queued traveller gives up), so
        a known wait W keeps exp(-W / patience) of them; 1 with no queue. On air routes ticket
        holders board before the people waiting for a seat, so a queue there does not deter
        them."""
        p = self.p
        known = np.maximum(t - p.info_delay, 0)
        wait = p.wait_estimate[np.arange(self.size), known]
        share = np.exp(-wait / p.normal_patience_days[:, None].astype(float))
        return np.where(self.world.gate_mode == AIR, 1.0, share)

    def _normal_give_up(self, t: int) -> None:
        """Ordinary travellers still queued `normal_patience_days` after joining leave the queue
        (another day, another route, or no trip: outside the model). Deterministic: no random
        draw, so common random numbers across scenarios are kept."""
        p = self.p
        oldest_kept = t - p.normal_patience_days + 1  # [B]
        if (oldest_kept <= 0).all():
            return
        old = np.arange(self.n_days)[None, :] < oldest_kept[:, None]  # [B, D]
        gave_up = np.where(old[:, None, :], p.normal_queue, 0).sum(axis=2)
        self._add_record("gate", "normal_gave_up", t, gave_up)
        p.normal_queue[np.broadcast_to(old[:, None, :], p.normal_queue.shape)] = 0

    # ---- 8. abroad ----------------------------------------------------------------------------
    def _schedule_next_move(self, idx: np.ndarray, t: int) -> None:
        """Draw the day each person will leave the country he has just entered.

        A geometric number of days (at least one) with the country's daily leaving probability:
        the same distribution as a Bernoulli draw every day, at one draw per arrival."""
        people = self.people
        member = people.member[idx]
        leave_p = 1.0 - np.exp(-self.p.onward_total[member, people.country[idx]])
        clipped = np.maximum(leave_p, 1e-12)
        days = self.draws.geometric("stay_abroad", t, member, people.key[idx], clipped)
        never = leave_p <= 0
        people.t_next[idx] = np.where(never, -1, np.minimum(t + days, 2**31 - 1))

    def _move_abroad(self, t: int) -> None:
        w, people, p = self.world, self.people, self.p
        state = people.view("state")
        movers = np.flatnonzero((people.view("t_next") == t)
                                & ((state == State.ABROAD) | (state == State.ONWARD)))
        member, from_c = people.member[movers], people.country[movers]
        # which link: proportional to the links' rates
        pick = (self.draws.uniforms("onward", t, member, people.key[movers])
                * p.onward_total[member, from_c])
        link = (pick[:, None] >= p.onward_cumulative[member, from_c]).sum(axis=1)
        link = np.minimum(link, p.onward_to.shape[1] - 1)
        to_c = p.onward_to[from_c, link]
        back = to_c == w.return_country
        people.state[movers[back]] = State.RETURNED
        people.state[movers[~back]] = State.ONWARD
        people.country[movers] = to_c
        people.t_cross[movers] = t
        self._schedule_next_move(movers[~back], t)
        n_c = w.n_countries
        self._record("country", "returned_fleeing", t,
                     self._bincount(member[back], from_c[back], n_c))
        self._record("country", "onward_fleeing", t,
                     self._bincount(member[~back], from_c[~back], n_c))
        self._record("country", "entered_onward", t,
                     self._bincount(member[~back], to_c[~back], n_c))
        leaving = self.draws.binomial("left_normal", t, p.normal_abroad,
                                      1.0 / w.country_normal_stay_days)
        p.normal_abroad -= leaving
        self._record("country", "left_normal", t, leaving)

    # ---- 9. records ----------------------------------------------------------------------------
    def _record_end_of_day(self, t: int) -> None:
        w, people, p = self.world, self.people, self.p
        state, member = people.view("state"), people.view("member")
        of = (lambda mask: member[mask]) if self.size > 1 else (lambda mask: member)  # unread
        fleeing_q = self._bincount(of(queued := state == State.QUEUED),
                                   people.view("gate")[queued], w.n_gates)
        normal_q = p.normal_queue.sum(axis=2)
        self._record("gate", "queue_fleeing", t, fleeing_q)
        self._record("gate", "queue_normal", t, normal_q)
        p.wait_estimate[:, t + 1] = (fleeing_q + normal_q) / np.maximum(
            p.expected_capacity[:, t], 1e-9)
        here = (state == State.ABROAD) | (state == State.ONWARD)
        self._record("country", "present_fleeing", t,
                     self._bincount(of(here), people.view("country")[here], w.n_countries))
        self._record("country", "present_normal", t, p.normal_abroad)
        self._record("region", "at_home", t, p.at_home.sum(axis=2))
        self._state_counts_stale = True

    @property
    def state_counts(self) -> np.ndarray:
        """[members, states] individuals by state at the end of the last day each member ran."""
        if self._state_counts_stale:
            state = self.people.view("state").astype(np.int64)
            self._state_counts[self.member_ids] = self._bincount(
                self.people.view("member"), state, len(State) + 1)
            self._state_counts_stale = False
        return self._state_counts


def one_blas_thread():
    """A context in which BLAS uses one thread. The engine's matrices are small: BLAS threads
    only contend (20 ms instead of 0.1 ms a product on a busy two-core machine), and batches
    already run one process per core."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def power_by_member(values: np.ndarray, exponents: np.ndarray) -> np.ndarray:
    """values[b] ** exponents[b], each with a scalar exponent (as a single run computes it:
    numpy takes faster, differently rounded paths for some scalar exponents)."""
    if len(np.unique(exponents)) == 1:
        return values ** float(exponents[0])
    out = np.empty_like(values)
    for exponent in np.unique(exponents):
        rows = exponents == exponent
        out[rows] = values[rows] ** float(exponent)
    return out
