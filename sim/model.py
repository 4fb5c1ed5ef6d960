"""`MobilisationModel`: one `step()` is one day of the exodus, as a Mesa model.

A single run is the ensemble of one: the model steps a `sim.engine.Ensemble` of one member
and is a view onto it (the engine's docstring gives a day's order, docs/ODD.md the model).
Places (regions, exits, countries) are Mesa agents, views onto the member's arrays
(`sim.agents`); people are arrays (`sim.population`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import mesa
import numpy as np

from sim.agents import CountryAgent, ExitAgent, RegionAgent, make_collector
from sim.choice import HOME, STAY
from sim.config import SimConfig, load_config, to_sim_config
from sim.engine import Ensemble
from sim.member import STREAMS, random_streams
from sim.member_view import MemberView
from sim.network import World
from sim.record import COUNTRY_METRICS, GATE_METRICS, REGION_METRICS, RunRecord

__all__ = ["COUNTRY_METRICS", "GATE_METRICS", "HOME", "REGION_METRICS", "STAY", "STREAMS",
           "MobilisationModel", "RunRecord", "departures_above", "random_streams"]


class departures_above:
    """A stopping rule: more than `limit` agents have left home (for `MobilisationModel.run`,
    of the model; for `Ensemble.run`, of every member, a [B] bool)."""

    def __init__(self, limit: float | np.ndarray) -> None:
        self.limit = limit

    def __call__(self, model: Any) -> Any:
        if isinstance(model, Ensemble):
            t = model.day - 1
            departures = model.tables["region"]["departures"][model.member_ids]  # [B, T, R]
            today = departures[:, t].sum(axis=1)
            limit = np.broadcast_to(np.asarray(self.limit, dtype=float),
                                    (len(model.stopped_early),))[model.member_ids]
            return (today != 0) & (departures[:, : t + 1].sum(axis=(1, 2)) > limit)
        departures = model.record.region["departures"]
        t = model.day - 1
        return bool(departures[t].sum()) and departures[: t + 1].sum() > self.limit


class MobilisationModel(MemberView, mesa.Model):
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
        mesa.Model.__init__(self, rng=seed)
        MemberView.__init__(self, Ensemble([cfg], seeds=[seed], worlds=[world]), 0)
        w = self.world
        for i, code in enumerate(w.region_ids):
            RegionAgent(self, i, code)
        for i, exit_id in enumerate(w.gate_ids):
            ExitAgent(self, i, exit_id)
        for i, country in enumerate(w.country_ids):
            CountryAgent(self, i, country)
        self.collect = collect
        self.datacollector = make_collector(self)
        self.stopped_early = False  # by `run`'s stop condition

    def step(self) -> None:
        if self.day >= self.n_days:
            self.running = False
            return
        self.ensemble.step()
        if self.collect:
            self.datacollector.collect(self)
        if self.day >= self.n_days:
            self.running = False

    def run(self, until: int | None = None,
            stop: Callable[[MobilisationModel], bool] | None = None) -> RunRecord:
        """Simulate from the current day up to and including day index `until` (the whole
        horizon if None), or until `stop(model)` is true after a day; returns the record.
        A run can be continued by calling `run` again."""
        import time

        from threadpoolctl import threadpool_limits

        started = time.perf_counter()
        last = self.n_days - 1 if until is None else min(int(until), self.n_days - 1)
        days = range(self.day, last + 1)
        # the matrices are small: BLAS threads only contend (20 ms instead of 0.1 ms a product
        # on a busy two-core machine), and sweeps already run one model per core
        with threadpool_limits(limits=1, user_api="blas"):
            for _ in self._progress(days):
                self.step()
                if stop is not None and stop(self):
                    self.stopped_early = True
                    break
        self.ensemble.runtime_seconds += time.perf_counter() - started
        return self.record

    def _progress(self, days: range) -> Any:
        if not self.config.progress:
            return days
        from tqdm.auto import tqdm

        return tqdm(days, desc=f"{self.policy.name} seed {self.seed}", unit="day", leave=False)

    @property
    def runtime_seconds(self) -> float:
        return self.ensemble.runtime_seconds

    def _remember_departures(self, left_today: np.ndarray) -> None:
        """Peers' memory of departures fades with `peer_memory_days` (one day's decay a day)."""
        self.ensemble.p.remember_departures(left_today[None, :], np.array([self.position]))

    def _normal_joining_share(self, t: int) -> np.ndarray:
        return self.ensemble._normal_joining_share(t)[self.position]
