"""The world: regions, exits (land posts and air routes), countries, and the links between them.

Built in one pass from the data tables into a networkx graph (the documented structure) and into
the dense arrays the model runs on. An *exit* (called a gate in the code) is the unit that has a
capacity and a queue: a land border post, or one air route airport -> destination country.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.config import NetworkConfig
from sim.errors import ConfigError, DataError

if TYPE_CHECKING:  # networkx and the tables' readers (pandas, pandera) only to build a world
    import networkx as nx

    from sim.datasets import Tables

EARTH_RADIUS_KM = 6371.0
DOCUMENT_LEVELS = ("internal_passport", "foreign_passport", "schengen_visa", "schengen_exempt")
LAND, AIR = 0, 1


def haversine_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray,
                 lon2: np.ndarray) -> np.ndarray:
    """Great-circle distance, broadcasting over the inputs."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(lon2) - np.radians(lon1)
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


@dataclass(frozen=True)
class World:
    """Everything static about the world, as arrays indexed by position.

    Nodes for travel are the regions (0..R-1) followed by the gates' locations (R..R+G-1): a
    person is either at home or at the post or airport of a gate.
    """

    graph: nx.DiGraph
    region_ids: list[str]
    region_men: np.ndarray  # men at risk (int)
    region_deaths_per_100k: np.ndarray
    region_income: np.ndarray
    region_poverty_pct: np.ndarray
    gate_ids: list[str]  # "GE-01", "AIR-SVO>TR"
    gate_site: list[str]  # the post or airport id
    gate_mode: np.ndarray  # LAND or AIR
    gate_region: np.ndarray  # region index of the post or airport
    gate_country: np.ndarray  # destination country index
    gate_capacity: np.ndarray  # persons/day, base (already x the network capacity factors)
    gate_normal: np.ndarray  # ordinary travellers/day, base
    gate_fare: np.ndarray  # RUB, money cost of using the exit
    gate_open: np.ndarray  # bool: open in the data (Azerbaijan's land border was not)
    country_ids: list[str]
    country_names: list[str]  # for reports and for matching observations by name
    country_kind: list[str]
    country_documents: np.ndarray  # index into DOCUMENT_LEVELS
    country_attractiveness: np.ndarray
    country_normal_stay_days: np.ndarray
    country_dead_end: np.ndarray  # bool: no legal way on (Abkhazia)
    onward_from: np.ndarray  # country index
    onward_to: np.ndarray
    onward_rate: np.ndarray  # daily probability (prior central value)
    onward_is_return: np.ndarray  # bool: to Russia
    travel_days: np.ndarray  # [R + G, G] from a node to a gate
    return_country: int  # index of RU
    # the course of the call-up (sim/data/callup_2022.csv): reported cumulative numbers by date
    callup_dates: tuple[dt.date, ...]
    callup_cumulative: np.ndarray
    # [R] the date each region declared its quota met (region_quota_complete.csv), or None
    region_quota_complete: tuple[dt.date | None, ...]
    # [C] destination features of route choice (sim/destinations.py), e.g. russian_spoken
    country_features: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    # names for people: post or airport id -> its name in the data ("Verkhny Lars (...) - ...",
    # "Moscow Sheremetyevo"), airport id -> IATA code; region id -> name
    site_names: dict[str, str] = dataclasses.field(default_factory=dict)
    airport_iata: dict[str, str] = dataclasses.field(default_factory=dict)
    region_names: list[str] = dataclasses.field(default_factory=list)

    @property
    def n_regions(self) -> int:
        return len(self.region_ids)

    @property
    def n_gates(self) -> int:
        return len(self.gate_ids)

    @property
    def n_countries(self) -> int:
        return len(self.country_ids)

    def gate_index(self) -> dict[str, int]:
        return {g: i for i, g in enumerate(self.gate_ids)}

    def country_index(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.country_ids)}

    def region_index(self) -> dict[str, int]:
        return {r: i for i, r in enumerate(self.region_ids)}


def build_world(config: NetworkConfig, tables: Tables | None = None) -> World:
    """Load (or take) the tables, build the graph, derive travel times, validate the result."""
    if tables is None:
        from sim.datasets import load_tables

        tables = load_tables(config.data_dir)
    graph = _build_graph(tables)
    _validate_graph(graph, tables)
    return scaled_world(_to_arrays(graph, tables, config), config)


def unscaled(config: NetworkConfig) -> NetworkConfig:
    """The config with every capacity and traffic factor at 1: the world it builds holds the
    data's values, to which `scaled_world` applies any factors without rebuilding the graph and
    the travel times (what calibration particles and sweeps vary)."""
    return dataclasses.replace(config, capacity_factor=1.0, air_capacity_factor=1.0,
                               normal_traffic_factor=1.0, capacity_factor_by_exit={})


def scaled_world(world: World, config: NetworkConfig) -> World:
    """The data's capacities and ordinary traffic times the config's factors (`world` holds the
    data's values: a world built with every factor at 1). Land posts: capacity x
    `capacity_factor`, ordinary traffic x `normal_traffic_factor`. Air routes: seats and their
    ordinary passengers both x `air_capacity_factor`, because the data derive the passengers
    from the seats (load factor 0.85, sim/data/SOURCES.md A11): scaling one without the other
    would fill every seat, or empty the planes, by accident. Then `capacity_factor_by_exit` for
    the exits, airports or countries it names."""
    is_air = world.gate_mode == AIR
    capacity = world.gate_capacity * np.where(is_air, config.air_capacity_factor,
                                              config.capacity_factor)
    normal = world.gate_normal * np.where(is_air, config.air_capacity_factor,
                                          config.normal_traffic_factor)
    for target, factor in config.capacity_factor_by_exit.items():
        mask = resolve_targets([str(target)], world, f"network.capacity_factor_by_exit.{target}")
        capacity[mask] *= float(factor)
    return dataclasses.replace(world, gate_capacity=capacity, gate_normal=normal)


def resolve_targets(targets: list[str], world: World, where: str) -> np.ndarray:
    """[G] bool mask of the exits that `targets` name (policy actions, capacity factors)."""
    if not targets:
        raise ConfigError(where, "no targets given")
    mask = np.zeros(world.n_gates, dtype=bool)
    gate_index = world.gate_index()
    country_index = world.country_index()
    sites = np.array(world.gate_site)
    for target in targets:
        if target == "all":
            mask[:] = True
        elif target == "land":
            mask |= world.gate_mode == LAND
        elif target == "air":
            mask |= world.gate_mode == AIR
        elif target in gate_index:
            mask[gate_index[target]] = True
        elif target in country_index:
            mask |= world.gate_country == country_index[target]
        elif (sites == target).any():
            mask |= sites == target
        else:
            raise ConfigError(where, f"unknown target '{target}': use an exit id (e.g. GE-01, "
                              "AIR-SVO>TR), an airport id, a country id (e.g. FI), or "
                              "all / land / air")
    if not mask.any():  # a closure of nothing would still raise the closure rumours
        raise ConfigError(where, f"{', '.join(map(str, targets))} select no exit (a country "
                          "reached only by moving on from another has no border post of its "
                          "own; `python -m sim list posts` lists the exits)")
    return mask


def _build_graph(t: Tables) -> nx.DiGraph:
    import networkx as nx

    g = nx.DiGraph()
    for code, r in t.regions.iterrows():
        g.add_node(code, kind="region", lat=float(r.lat), lon=float(r.lon),
                   men_at_risk=int(r.men_at_risk), exclave=r.exclave == "yes")
    for cid, c in t.countries.iterrows():
        g.add_node(cid, kind="country", lat=float(c.lat), lon=float(c.lon),
                   country_kind=c.kind, documents_required=c.documents_required)
    for pid, p in t.posts.iterrows():
        g.add_node(pid, kind="land_post", lat=float(p.lat), lon=float(p.lon),
                   region=p.russian_region, status=p.status)
        g.add_edge(pid, p.destination, kind="crossing", mode="land",
                   capacity=float(p.capacity_persons_per_day),
                   normal=float(p.normal_daily_persons))
    for aid, a in t.airports.iterrows():
        g.add_node(aid, kind="airport", lat=float(a.lat), lon=float(a.lon), region=a.region,
                   status="open")
    for _, route in t.air_routes.iterrows():
        g.add_edge(route.airport, route.destination, kind="crossing", mode="air",
                   capacity=float(route.seats_per_day),
                   normal=float(route.normal_daily_passengers), fare=float(route.fare_rub))
    for _, o in t.onward_routes.iterrows():
        g.add_edge(o.from_country, o.to_country, kind="onward", mode=o["mode"],
                   rate=float(o.daily_rate))
    # every region can reach every exit site by road (distances from coordinates)
    sites = [n for n, d in g.nodes(data=True) if d["kind"] in ("land_post", "airport")]
    for code in t.regions.index:
        for site in sites:
            g.add_edge(code, site, kind="road")
    return g


def _validate_graph(g: nx.DiGraph, t: Tables) -> None:
    """Structural checks the per-file validation cannot see."""
    for n, d in g.nodes(data=True):
        if d["kind"] in ("land_post", "airport"):
            crossings = [v for v in g.successors(n) if g.edges[n, v]["kind"] == "crossing"]
            if not crossings:
                file = "posts.csv" if d["kind"] == "land_post" else "air_routes.csv"
                raise DataError(file, f"exit '{n}' leads to no destination country", row=n)
        if not (np.isfinite(d["lat"]) and np.isfinite(d["lon"])):
            raise DataError("data", f"node '{n}' has no coordinates", row=n)
    if "RU" not in t.countries.index:
        raise DataError("countries.csv", "the return node 'RU' is missing", field="id")
    reached = {v for _, v, d in g.edges(data=True) if d["kind"] == "crossing"}
    if not reached:
        raise DataError("posts.csv", "no exit leads anywhere")


def _to_arrays(g: nx.DiGraph, t: Tables, config: NetworkConfig) -> World:
    regions = t.regions
    region_ids = list(regions.index)
    country_ids = list(t.countries.index)
    c_index = {c: i for i, c in enumerate(country_ids)}
    r_index = {r: i for i, r in enumerate(region_ids)}

    gate_ids, gate_site, mode, g_region, g_country = [], [], [], [], []
    cap, normal, fare, is_open, lat, lon = [], [], [], [], [], []
    for pid, p in t.posts.iterrows():
        gate_ids.append(pid)
        gate_site.append(pid)
        mode.append(LAND)
        g_region.append(r_index[p.russian_region])
        g_country.append(c_index[p.destination])
        cap.append(float(p.capacity_persons_per_day))  # the factors: scaled_world
        normal.append(float(p.normal_daily_persons))
        fare.append(config.land_cost_rub)
        is_open.append(p.status != "closed")
        lat.append(float(p.lat))
        lon.append(float(p.lon))
    for _, route in t.air_routes.iterrows():
        a = t.airports.loc[route.airport]
        gate_ids.append(f"{route.airport}>{route.destination}")
        gate_site.append(route.airport)
        mode.append(AIR)
        g_region.append(r_index[a.region])
        g_country.append(c_index[route.destination])
        cap.append(float(route.seats_per_day))
        normal.append(float(route.normal_daily_passengers))
        fare.append(float(route.fare_rub))
        is_open.append(True)
        lat.append(float(a.lat))
        lon.append(float(a.lon))

    gate_lat, gate_lon = np.array(lat), np.array(lon)
    gate_mode = np.array(mode, dtype=np.int8)
    gate_region = np.array(g_region, dtype=np.int32)
    node_lat = np.concatenate([regions.lat.to_numpy(float), gate_lat])
    node_lon = np.concatenate([regions.lon.to_numpy(float), gate_lon])
    node_region = np.concatenate([np.arange(len(region_ids)), gate_region])
    km = haversine_km(node_lat[:, None], node_lon[:, None], gate_lat[None, :], gate_lon[None, :])
    travel = km * config.road_detour_factor / config.road_km_per_day
    travel = travel + np.where(gate_mode == AIR, config.air_overhead_days, 0.0)[None, :]
    exclave = (regions.exclave == "yes").to_numpy()
    crosses_exclave = exclave[node_region][:, None] != exclave[gate_region][None, :]
    travel = travel + np.where(crosses_exclave, config.exclave_extra_days, 0.0)

    countries = t.countries
    docs = countries.documents_required.map({d: i for i, d in enumerate(DOCUMENT_LEVELS)})
    onward = t.onward_routes
    onward_to = onward.to_country.map(c_index).to_numpy(np.int32)
    dead_end = np.zeros(len(country_ids), dtype=bool)
    posts_dead = t.posts[t.posts.status == "dead_end"].destination.unique()
    dead_end[[c_index[c] for c in posts_dead]] = True
    return World(
        graph=g,
        region_ids=region_ids,
        region_men=regions.men_at_risk.to_numpy(np.int64),
        region_deaths_per_100k=regions.mobilised_deaths_per_100k.to_numpy(float),
        region_income=regions.mean_income_rub_month.to_numpy(float),
        region_poverty_pct=regions.pct_below_subsistence.to_numpy(float),
        gate_ids=gate_ids,
        gate_site=gate_site,
        gate_mode=gate_mode,
        gate_region=gate_region,
        gate_country=np.array(g_country, dtype=np.int32),
        gate_capacity=np.array(cap),
        gate_normal=np.array(normal),
        gate_fare=np.array(fare),
        gate_open=np.array(is_open, dtype=bool),
        country_ids=country_ids,
        country_names=[str(n) for n in countries["name"]],
        country_kind=list(countries.kind),
        country_documents=docs.to_numpy(np.int8),
        country_attractiveness=countries.attractiveness.to_numpy(float),
        country_normal_stay_days=countries.normal_mean_stay_days.to_numpy(float),
        country_features={"russian_spoken": countries.russian_spoken.to_numpy(float),
                          "rail_daily_persons": countries.rail_daily_persons.to_numpy(float)},
        country_dead_end=dead_end,
        onward_from=onward.from_country.map(c_index).to_numpy(np.int32),
        onward_to=onward_to,
        onward_rate=onward.daily_rate.to_numpy(float),
        onward_is_return=onward_to == c_index["RU"],
        travel_days=travel,
        return_country=c_index["RU"],
        callup_dates=tuple(dt.date.fromisoformat(d) for d in t.callup.index),
        callup_cumulative=t.callup.called_up_cumulative.to_numpy(float),
        region_quota_complete=tuple(
            dt.date.fromisoformat(t.quota_complete.date[r]) if r in t.quota_complete.index
            else None for r in region_ids),
        site_names={**t.posts.name.astype(str).to_dict(), **t.airports.name.astype(str).to_dict()},
        airport_iata=t.airports.iata.astype(str).to_dict(),
        region_names=[str(n) for n in regions.name_en],
    )
