"""The same population as plain Mesa: one `mesa.Agent` object per man, stepped every day.

    python benchmarks/plain_mesa.py --scale 0.01 [--seed 1]

This is the baseline a straightforward Mesa implementation would give: every man at risk is an
Agent; each day `AgentSet.shuffle_do("step")` calls every agent. A man at home draws his
decision with the project's hazard (same formula and parameters: pressure, rumours, intensity,
peer effect, stratum multipliers, accessibility) and, if he leaves, picks an exit with the
project's logit probabilities; he then travels for the project's travel time and crosses; abroad
he moves on or returns at the project's onward rates. The daily probabilities per (region,
stratum) cell are computed once a day with numpy, as in the project.

What it leaves out, and so what makes it *faster* than a full per-agent version of the model
would be: queues and capacities (everybody crosses on arrival, so known waits are zero), draft
offices and bans at the border, re-planning and reconsidering. Its agent-days per second are an
upper bound for plain Mesa on this model.

Reports agents x days as its agent-days (every agent's `step` is called every day).
"""

from __future__ import annotations

import argparse
import bisect
import sys
import time
from pathlib import Path

import mesa
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import emit

HOME, TRAVELLING, ABROAD, RETURNED = 0, 1, 2, 3


class Man(mesa.Agent):
    """One man at risk of call-up."""

    def __init__(self, model: PlainMesaModel, region: int, stratum: int) -> None:
        super().__init__(model)
        self.region = region
        self.stratum = stratum
        self.state = HOME
        self.gate = -1
        self.country = -1
        self.arrive = 0.0

    def step(self) -> None:
        m = self.model
        state = self.state
        if state == HOME:
            if m.random.random() < m.p_leave[self.region][self.stratum]:
                self.gate = m.choose_exit(self.region, self.stratum)
                depart = m.day + m.first_hour + m.exposure * m.random.random()
                self.arrive = depart + m.travel[self.region][self.gate]
                self.state = TRAVELLING
                m.departed_today[self.region] += 1
        elif state == TRAVELLING:
            if self.arrive < m.day + 1:
                self.state = ABROAD
                self.country = m.gate_country[self.gate]
                m.crossed += 1
        elif state == ABROAD:
            p = m.p_move[self.country]
            if p > 0.0 and m.random.random() < p:
                self.country = m.pick_onward(self.country)
                if self.country == m.return_country:
                    self.state = RETURNED


class PlainMesaModel(mesa.Model):
    """One Agent per man; the project's hazard and exit choice without queues."""

    def __init__(self, cfg) -> None:
        from sim.behaviour import RouteChoice, intensity_index, make_timeline
        from sim.config import parse_date
        from sim.network import build_world
        from sim.policy import compile_policy
        from sim.population import initial_counts, make_strata

        super().__init__(rng=cfg.seed)
        self.cfg, beh = cfg, cfg.behaviour
        start, end = parse_date(cfg.start, "start"), parse_date(cfg.end, "end")
        self.n_days = (end - start).days + 1
        w = self.world = build_world(cfg.network)
        s = self.strata = make_strata(list(cfg.population.age_bands))
        self.policy = compile_policy(cfg.policy, w, s, start, end)
        self.timeline = make_timeline(beh, start, self.n_days, w)  # the call-up course
        rc = self.routes = RouteChoice(w, s, beh)
        counts = initial_counts(w, s, cfg.population, np.random.default_rng(cfg.seed))
        self.initial = np.maximum(counts.sum(axis=1), 1)
        self.intensity = intensity_index(w, beh)
        self.stratum_multiplier = (np.asarray(beh.age_multiplier)[s.age]
                                   * np.where(s.military, beh.military_multiplier, 1.0)
                                   * np.asarray(beh.means_multiplier)[s.means])
        ref_exit = rc.exit_utility(np.zeros(w.n_gates))
        ref_strata = np.where(rc.base_available & w.gate_open[None, :],
                              np.exp(rc.money_utility), 0.0)
        self.reference_access = (rc.exp_node[: w.n_regions] * np.exp(ref_exit)) @ ref_strata.T
        self.travel = w.travel_days[: w.n_regions].tolist()
        self.gate_country = w.gate_country.tolist()
        self.return_country = int(w.return_country)
        rate = w.onward_rate * np.where(w.onward_is_return, beh.return_rate_factor,
                                        beh.onward_rate_factor)
        total = np.bincount(w.onward_from, weights=rate, minlength=w.n_countries)
        self.p_move = (1.0 - np.exp(-total)).tolist()
        self.onward = {c: ([], []) for c in range(w.n_countries)}
        for f, to, r in zip(w.onward_from.tolist(), w.onward_to.tolist(), rate.tolist(),
                            strict=True):
            targets, cumulative = self.onward[f]
            targets.append(to)
            cumulative.append((cumulative[-1] if cumulative else 0.0) + r)
        self.left_home = np.zeros(w.n_regions)
        self.departed_today = [0] * w.n_regions
        self.crossed = 0
        self.day = 0
        for r, st in zip(*np.nonzero(counts), strict=True):
            for _ in range(int(counts[r, st])):
                Man(self, int(r), int(st))

    def _daily_probabilities(self, t: int) -> None:
        """p_leave[r][s] and the logit weights of exits, as in `MobilisationModel`."""
        beh, pol, tl, rc = self.cfg.behaviour, self.policy, self.timeline, self.routes
        known = max(t - beh.info_delay_days, 0)
        exit_u = rc.exit_utility(np.zeros(self.world.n_gates))  # no queues here
        stratum_u, available = rc.stratum_terms(pol, t, pol.draft_probability[known])
        self.region_w = rc.region_weights(pol, t, exit_u)
        self.stratum_w = rc.stratum_weights(stratum_u, available)
        self.exits_cdf: dict[tuple[int, int], list[float]] = {}
        self.exposure = float(tl.exposure[t])
        self.first_hour = 1.0 - self.exposure
        if self.exposure <= 0:
            self.p_leave = np.zeros_like(self.reference_access).tolist()
            return
        denom = self.region_w @ self.stratum_w.T
        access = np.divide(denom, self.reference_access, out=np.zeros_like(denom),
                           where=self.reference_access > 0) ** beh.accessibility_weight
        fade = np.exp(-(t - np.arange(t + 1)) / beh.rumour_memory_days)
        rumour = tl.rumour[t] + beh.restriction_rumour_weight * float(
            (pol.news[: t + 1] * fade).sum())
        peer = self.left_home / self.initial
        hazard = (beh.hazard_base * tl.pressure[t] * (1.0 + beh.rumour_weight * rumour)
                  * (self.intensity * (1.0 + beh.peer_weight * peer))[:, None]
                  * self.stratum_multiplier[None, :] * access)
        self.p_leave = (1.0 - np.exp(-hazard * self.exposure)).tolist()

    def choose_exit(self, region: int, stratum: int) -> int:
        """A draw from the logit probabilities of exits for this (region, stratum) today."""
        cdf = self.exits_cdf.get((region, stratum))
        if cdf is None:
            cdf = np.cumsum(self.region_w[region] * self.stratum_w[stratum]).tolist()
            self.exits_cdf[region, stratum] = cdf
        gate = bisect.bisect_right(cdf, self.random.random() * cdf[-1])
        return min(gate, len(cdf) - 1)

    def pick_onward(self, country: int) -> int:
        targets, cumulative = self.onward[country]
        i = bisect.bisect_right(cumulative, self.random.random() * cumulative[-1])
        return targets[min(i, len(targets) - 1)]

    def step(self) -> None:
        self._daily_probabilities(self.day)
        self.departed_today = [0] * self.world.n_regions
        self.agents.shuffle_do("step")
        self.left_home += np.asarray(self.departed_today)
        self.day += 1


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, required=True)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    from sim.config import load_config

    cfg = load_config([f"population.scale={args.scale}", f"seed={args.seed}", "progress=false"])
    t0 = time.perf_counter()
    model = PlainMesaModel(cfg)
    t1, c1 = time.perf_counter(), time.process_time()
    for _ in range(model.n_days):
        model.step()
    t2, c2 = time.perf_counter(), time.process_time()
    agents = len(model.agents)
    emit({
        "scale": args.scale,
        "seed": args.seed,
        "build_s": t1 - t0,
        "run_s": t2 - t1,
        "run_cpu_s": c2 - c1,
        "agents": agents,
        "days": model.n_days,
        "agent_days": agents * model.n_days,
        "departures": int(model.left_home.sum()),
        "crossed": model.crossed,
    })


if __name__ == "__main__":
    main()
