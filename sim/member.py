"""One member of an ensemble, set up: what a config and a world fix before the first day.

Everything here is computed once per member (the policy's daily arrays, the timeline, the
utilities' constant parts, the initial population, the onward tables) and then stacked along a
leading member axis by `sim.engine.Ensemble`, so that a day's work is a few array operations
over all members. A member's random streams are its own (`random_streams(seed)`): its draws do
not depend on which other members share its batch.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from sim.behaviour import RouteChoice, Timeline, intensity_index, make_timeline
from sim.config import SimConfig, parse_date
from sim.network import World
from sim.policy import CompiledPolicy, compile_policy
from sim.population import Strata, initial_counts

STREAMS = ("population", "departures", "routes", "travel", "reconsider", "normal", "border",
           "abroad", "prepare")


def random_streams(seed: int) -> dict[str, np.random.Generator]:
    """Named generators spawned from one seed: a policy that changes what happens at one exit
    changes only the draws that depend on it (common random numbers across scenarios)."""
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {name: np.random.default_rng(child) for name, child in zip(STREAMS, children,
                                                                       strict=True)}


@dataclass
class MemberSetup:
    """A member's constants and its initial state (agent units, the config's scale)."""

    config: SimConfig
    seed: int
    world: World  # the data's world with this member's capacity and traffic factors
    policy: CompiledPolicy
    timeline: Timeline
    routes: RouteChoice
    streams: dict[str, np.random.Generator]
    initial_home: np.ndarray  # [R, S]
    intensity: np.ndarray  # [R]
    stratum_multiplier: np.ndarray  # [S]
    reference_access: np.ndarray  # [R, S]
    expected_capacity: np.ndarray  # [T, G]
    normal_abroad: np.ndarray  # [C] ordinary travellers abroad at the start
    onward_to: np.ndarray  # [C, W] destinations of each country's onward links (-1: none)
    onward_cumulative: np.ndarray  # [C, W] cumulative daily rates of those links
    onward_total: np.ndarray  # [C]


def setup_member(config: SimConfig, seed: int, world: World, strata: Strata,
                 policies: dict[str, CompiledPolicy] | None = None) -> MemberSetup:
    """A member's constants; `policies` caches compiled policies shared by several members."""
    start, end = parse_date(config.start, "start"), parse_date(config.end, "end")
    n_days = (end - start).days + 1
    key = repr((config.policy, config.start, config.end))
    cache = policies if policies is not None else {}
    if key not in cache:
        cache[key] = compile_policy(config.policy, world, strata, start, end)
    policy = cache[key]
    beh, scale = config.behaviour, config.population.scale
    streams = random_streams(seed)
    timeline = make_timeline(beh, start, n_days, world)
    routes = RouteChoice(world, strata, beh)
    initial_home = initial_counts(world, strata, config.population, streams["population"])
    multiplier = (np.asarray(beh.age_multiplier)[strata.age]
                  * np.where(strata.military, beh.military_multiplier, 1.0)
                  * np.asarray(beh.means_multiplier)[strata.means]
                  * np.asarray(beh.documents_multiplier)[strata.documents])
    # accessibility is measured against the data's network with no queues and no policy
    ref_exit = routes.exit_utility(np.zeros(world.n_gates))
    ref_strata = np.where(routes.base_available & world.gate_open[None, :],
                          np.exp(routes.money_utility), 0.0)
    reference_access = (routes.exp_node[: world.n_regions] * np.exp(ref_exit)) @ ref_strata.T
    expected_capacity = (world.gate_capacity[None, :] * policy.capacity_factor * policy.open
                         * scale)
    stay = world.country_normal_stay_days
    inflow = np.bincount(world.gate_country, weights=world.gate_normal * world.gate_open,
                         minlength=world.n_countries)
    normal_abroad = np.round(inflow * stay * scale).astype(np.int64)
    onward_to, onward_cumulative, onward_total = onward_tables(world, config)
    return MemberSetup(config=config, seed=seed, world=world, policy=policy, timeline=timeline,
                       routes=routes, streams=streams, initial_home=initial_home,
                       intensity=intensity_index(world, beh), stratum_multiplier=multiplier,
                       reference_access=reference_access, expected_capacity=expected_capacity,
                       normal_abroad=normal_abroad, onward_to=onward_to,
                       onward_cumulative=onward_cumulative, onward_total=onward_total)


def onward_tables(world: World, config: SimConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per country: the onward links' destinations and their cumulative daily rates."""
    beh = config.behaviour
    rate = world.onward_rate * np.where(world.onward_is_return, beh.return_rate_factor,
                                        beh.onward_rate_factor)
    width = max(1, int(np.bincount(world.onward_from, minlength=world.n_countries).max()))
    onward_to = np.full((world.n_countries, width), -1, dtype=np.int64)
    rates = np.zeros((world.n_countries, width))
    fill = np.zeros(world.n_countries, dtype=np.int64)
    for f, to, r in zip(world.onward_from, world.onward_to, rate, strict=True):
        onward_to[f, fill[f]] = to
        rates[f, fill[f]] = r
        fill[f] += 1
    return onward_to, np.cumsum(rates, axis=1), rates.sum(axis=1)


def same_geometry(a: World, b: World) -> bool:
    """Whether two worlds differ at most in capacities and ordinary traffic (what members of
    one batch may vary): the same places, travel times, fares and onward links."""
    if a is b:
        return True
    return (a.region_ids == b.region_ids and a.gate_ids == b.gate_ids
            and a.country_ids == b.country_ids
            and np.array_equal(a.travel_days, b.travel_days)
            and np.array_equal(a.gate_fare, b.gate_fare)
            and np.array_equal(a.gate_open, b.gate_open)
            and np.array_equal(a.region_men, b.region_men)
            and np.array_equal(a.onward_rate, b.onward_rate)
            and np.array_equal(a.country_attractiveness, b.country_attractiveness))


def dates_of(config: SimConfig) -> tuple[dt.date, dt.date]:
    return parse_date(config.start, "start"), parse_date(config.end, "end")
