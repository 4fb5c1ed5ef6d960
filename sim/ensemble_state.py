"""The members' parameters and state, stacked along a leading member axis.

`MemberArrays` holds, for B members, what `sim.member.MemberSetup` computed for each (utilities'
constant parts, timelines, capacities, the initial population) and the state that changes from
day to day (men at home, hazards, queues, known waits). Every field has the member axis first,
so taking members out of a running ensemble is one `select`. Policies are kept once per distinct
policy and indexed per member (a policy's [T, G, S] arrays are too large to copy per member).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from sim.member import MemberSetup
from sim.network import World
from sim.policy import CompiledPolicy
from sim.population import Strata

POLICY_FIELDS = ("open", "capacity_factor", "draft_probability", "normal_factor", "local_only",
                 "visa_ban")  # [T, G]; `allowed` and `exit_banned` [T, G, S] are read per person
SHARED = ("eligible", "exempt", "onward_to", "policies")  # no member axis


@dataclass
class MemberArrays:
    # ---- constants per member ----
    policy_index: np.ndarray  # [B] into `policies`
    scale: np.ndarray  # [B]
    info_delay: np.ndarray  # [B] int
    normal_patience_days: np.ndarray  # [B] int
    beta_wait: np.ndarray
    beta_draft: np.ndarray
    neg_beta_time: np.ndarray
    hazard_base: np.ndarray
    rumour_weight: np.ndarray
    restriction_rumour_weight: np.ndarray
    rumour_memory_days: np.ndarray
    accessibility_weight: np.ndarray
    frailty_variance: np.ndarray
    peer_weight: np.ndarray
    peer_cap: np.ndarray  # NaN: no cap
    peer_memory_days: np.ndarray  # NaN: peers remember every departure
    departure_lead_days: np.ndarray
    reconsider_share: np.ndarray
    home_utility: np.ndarray
    switch_cost: np.ndarray
    static_exit_utility: np.ndarray  # [B, G]
    money_utility: np.ndarray  # [B, S, G]
    base_available: np.ndarray  # [B, S, G]
    exp_node_regions: np.ndarray  # [B, R, G] exp(node utility) from each home region
    exposure: np.ndarray  # [B, T]
    shock: np.ndarray  # [B, T]
    floor: np.ndarray  # [B, T]
    quota_factor: np.ndarray  # [B, T, R]
    rumour: np.ndarray  # [B, T]
    normal_traffic: np.ndarray  # [B, T]
    intensity: np.ndarray  # [B, R]
    stratum_multiplier: np.ndarray  # [B, S]
    reference_access: np.ndarray  # [B, R, S]
    expected_capacity: np.ndarray  # [B, T, G]
    gate_capacity: np.ndarray  # [B, G]
    gate_normal: np.ndarray  # [B, G]
    onward_cumulative: np.ndarray  # [B, C, W]
    onward_total: np.ndarray  # [B, C]
    initial_home: np.ndarray  # [B, R, S]
    # ---- state ----
    at_home: np.ndarray  # [B, R, S]
    left_home: np.ndarray  # [B, R] cumulative, for the peer effect
    remembered_left: np.ndarray  # [B, R] departures as the peers remember them
    # [B, R, S] hazard each cell's men have been exposed to so far (readiness 1): the men who
    # remain are the less ready ones (behaviour.frailty_variance)
    cumulative_hazard: np.ndarray
    normal_queue: np.ndarray  # [B, G, D]
    wait_estimate: np.ndarray  # [B, T + 1, G]
    normal_abroad: np.ndarray  # [B, C]
    # ---- shared ----
    eligible: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))  # [S]
    exempt: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))  # [S]
    onward_to: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), int))  # [C, W]
    policies: list[CompiledPolicy] = field(default_factory=list)

    def select(self, keep: np.ndarray) -> MemberArrays:
        """The members at `keep` (a bool mask or indices)."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return MemberArrays(**{name: (value if name in SHARED else value[keep])
                               for name, value in values.items()})

    # ---- the policy -------------------------------------------------------------------------
    def policy_today(self, t: int) -> dict[str, np.ndarray]:
        """Each [T, G] policy field on day t, per member ([B, G])."""
        return {name: self._stacked(name)[self.policy_index, t] for name in POLICY_FIELDS}

    def policy_cell(self, name: str, t: int, member: np.ndarray, gate: np.ndarray,
                    stratum: np.ndarray) -> np.ndarray:
        """A [T, G, S] policy field (`allowed`, `exit_banned`) on day t for individuals."""
        return self._stacked(name)[self.policy_index[member], t, gate, stratum]

    def available(self, t: int) -> np.ndarray:
        """[B, S, G] whether a man of each stratum may use each exit on day t: his documents
        and means, and the policy (computed once per distinct policy)."""
        allowed, banned = self._stacked("allowed")[:, t], self._stacked("exit_banned")[:, t]
        by_policy = (self._stacked("open")[:, t][:, None, :] & allowed.transpose(0, 2, 1)
                     & ~banned.transpose(0, 2, 1)
                     & (~self._stacked("visa_ban")[:, t][:, None, :]
                        | self.exempt[None, :, None]))  # [P, S, G]
        if len(self.policies) == 1:
            return self.base_available & by_policy[0]
        return self.base_available & by_policy[self.policy_index]

    def policy_on(self, name: str, days: np.ndarray) -> np.ndarray:
        """A policy field on each member's own day."""
        stacked = self._stacked(name)
        return stacked[self.policy_index, days]

    def _stacked(self, name: str) -> np.ndarray:
        cache = self.__dict__.setdefault("_stacked_cache", {})
        if name not in cache:
            cache[name] = np.stack([getattr(p, name) for p in self.policies])
        return cache[name]

    def restriction_news(self, t: int, members: np.ndarray) -> np.ndarray:
        """[A] new restrictions seen in the last days, fading with `rumour_memory_days`."""
        ages = t - np.arange(t + 1)
        out = np.empty(len(members))
        for i, m in enumerate(members):
            fade = np.exp(-ages / self.rumour_memory_days[m])
            news = self.policies[self.policy_index[m]].news
            out[i] = float((news[: t + 1] * fade).sum())
        return out

    # ---- behaviour with per-member parameters -----------------------------------------------
    def peer_term(self, share_gone: np.ndarray, members: np.ndarray) -> np.ndarray:
        """`sim.behaviour.peer_term` with each member's weight and cap ([A, R])."""
        linear = self.peer_weight[members][:, None] * share_gone
        cap = self.peer_cap[members][:, None]
        capped = np.isfinite(cap)
        if not capped.any():
            return linear
        safe = np.where(capped, cap, 1.0)
        return np.where(capped, safe * np.tanh(linear / safe), linear)

    def leave_probability(self, at_risk: np.ndarray, cumulative: np.ndarray,
                          members: np.ndarray) -> np.ndarray:
        """`sim.behaviour.leave_probability` with each member's frailty variance."""
        v = self.frailty_variance[members][:, None, None]
        frail = v > 0
        if frail.all():  # every member with the same branch: no masks
            log_ratio = np.log1p(v * (cumulative + at_risk)) - np.log1p(v * cumulative)
            return -np.expm1(-log_ratio / v)
        if not frail.any():
            return 1.0 - np.exp(-at_risk)
        out = np.empty_like(at_risk)
        rows = ~frail[:, 0, 0]
        if rows.any():
            out[rows] = 1.0 - np.exp(-at_risk[rows])
        if (~rows).any():
            vv = v[~rows]
            log_ratio = (np.log1p(vv * (cumulative[~rows] + at_risk[~rows]))
                         - np.log1p(vv * cumulative[~rows]))
            out[~rows] = -np.expm1(-log_ratio / vv)
        return out

    def remember_departures(self, left_today: np.ndarray, members: np.ndarray) -> None:
        """Peers' memory of departures fades with `peer_memory_days` (one day's decay a day)."""
        memory = self.peer_memory_days[members]
        fading = np.isfinite(memory)
        if fading.any():
            rows = members[fading]
            decay = np.array([np.exp(-1.0 / d) for d in memory[fading]])
            self.remembered_left[rows] = (self.remembered_left[rows] * decay[:, None]
                                          + left_today[fading])


def _or_nan(value: float | None) -> float:
    return np.nan if value is None else float(value)


def stack_members(setups: Sequence[MemberSetup], strata: Strata, world: World,
                  n_days: int) -> MemberArrays:
    """The members' constants and initial state, stacked (member axis first)."""
    policies: list[CompiledPolicy] = []
    index: list[int] = []
    for s in setups:
        found = next((i for i, p in enumerate(policies) if p is s.policy), None)
        if found is None:
            policies.append(s.policy)
            found = len(policies) - 1
        index.append(found)

    def beh(name: str) -> np.ndarray:
        return np.array([float(getattr(s.config.behaviour, name)) for s in setups])

    def each(get) -> np.ndarray:
        return np.stack([get(s) for s in setups])

    n_r = world.n_regions
    initial = each(lambda s: s.initial_home)
    return MemberArrays(
        policy_index=np.array(index),
        scale=np.array([s.config.population.scale for s in setups], dtype=float),
        info_delay=np.array([int(s.config.behaviour.info_delay_days) for s in setups]),
        normal_patience_days=np.array([int(s.config.network.normal_patience_days)
                                       for s in setups]),
        beta_wait=beh("beta_wait"), beta_draft=beh("beta_draft"),
        neg_beta_time=-beh("beta_time"), hazard_base=beh("hazard_base"),
        rumour_weight=beh("rumour_weight"),
        restriction_rumour_weight=beh("restriction_rumour_weight"),
        rumour_memory_days=beh("rumour_memory_days"),
        accessibility_weight=beh("accessibility_weight"),
        frailty_variance=beh("frailty_variance"), peer_weight=beh("peer_weight"),
        peer_cap=np.array([_or_nan(s.config.behaviour.peer_cap) for s in setups]),
        peer_memory_days=np.array([_or_nan(s.config.behaviour.peer_memory_days)
                                   for s in setups]),
        departure_lead_days=beh("departure_lead_days"),
        reconsider_share=beh("reconsider_share"), home_utility=beh("home_utility"),
        switch_cost=beh("switch_cost"),
        static_exit_utility=each(lambda s: s.routes.static_exit_utility),
        money_utility=each(lambda s: s.routes.money_utility),
        base_available=each(lambda s: s.routes.base_available),
        exp_node_regions=each(lambda s: s.routes.exp_node[:n_r]),
        exposure=each(lambda s: s.timeline.exposure), shock=each(lambda s: s.timeline.shock),
        floor=each(lambda s: s.timeline.floor),
        quota_factor=each(lambda s: s.timeline.quota_factor),
        rumour=each(lambda s: s.timeline.rumour),
        normal_traffic=each(lambda s: s.timeline.normal_traffic),
        intensity=each(lambda s: s.intensity),
        stratum_multiplier=each(lambda s: s.stratum_multiplier),
        reference_access=each(lambda s: s.reference_access),
        expected_capacity=each(lambda s: s.expected_capacity),
        gate_capacity=each(lambda s: s.world.gate_capacity),
        gate_normal=each(lambda s: s.world.gate_normal),
        onward_cumulative=each(lambda s: s.onward_cumulative),
        onward_total=each(lambda s: s.onward_total),
        initial_home=initial, at_home=initial.copy(),
        left_home=np.zeros((len(setups), n_r), dtype=np.int64),
        remembered_left=np.zeros((len(setups), n_r)),
        cumulative_hazard=np.zeros(initial.shape),
        normal_queue=np.zeros((len(setups), world.n_gates, n_days), dtype=np.int64),
        wait_estimate=np.zeros((len(setups), n_days + 1, world.n_gates)),
        normal_abroad=each(lambda s: s.normal_abroad),
        eligible=strata.military, exempt=strata.documents == 3,
        onward_to=setups[0].onward_to, policies=policies)
