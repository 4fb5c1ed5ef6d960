"""The Flee exporter: files in Flee's formats, consistent with each other, readable by Flee."""

from __future__ import annotations

import csv
import datetime as dt
import random
from pathlib import Path
from types import SimpleNamespace

import networkx as nx
import numpy as np
import pytest

from sim.config import NetworkConfig
from sim.flee_export import (
    CLOSURE_COLUMNS,
    LOCATION_COLUMNS,
    ROUTE_COLUMNS,
    export_flee,
    load_flee_ecosystem,
)
from sim.network import AIR, LAND, World, haversine_km

N_DAYS = 12


def tiny_world(net: NetworkConfig | None = None) -> World:
    """Two regions, two land posts, one airport with two routes, five countries."""
    net = net or NetworkConfig()
    regions = {"RU-MOW": (55.75, 37.62, 5_000_000), "RU-SE": (43.02, 44.68, 150_000)}
    posts = {"GE-01": (42.74, 44.63, "RU-SE", "GE"), "KZ-01": (51.2, 55.1, "RU-MOW", "KZ")}
    airports = {"SVO": (55.97, 37.41, "RU-MOW")}
    routes = [("SVO", "TR"), ("SVO", "AM")]
    countries = {"RU": (55.75, 37.62), "GE": (41.72, 44.79), "KZ": (51.17, 71.43),
                 "TR": (41.01, 28.98), "AM": (40.18, 44.51)}
    onward = [("GE", "TR", 0.02), ("TR", "GE", 0.01), ("KZ", "RU", 0.03), ("GE", "RU", 0.01)]

    g = nx.DiGraph()
    for r, (lat, lon, men) in regions.items():
        g.add_node(r, kind="region", lat=lat, lon=lon, men_at_risk=men)
    for c, (lat, lon) in countries.items():
        g.add_node(c, kind="country", lat=lat, lon=lon)
    for p, (lat, lon, region, dest) in posts.items():
        g.add_node(p, kind="land_post", lat=lat, lon=lon, region=region)
        g.add_edge(p, dest, kind="crossing")
    for a, (lat, lon, region) in airports.items():
        g.add_node(a, kind="airport", lat=lat, lon=lon, region=region)
    for a, dest in routes:
        g.add_edge(a, dest, kind="crossing")

    region_ids, country_ids = list(regions), list(countries)
    r_index = {r: i for i, r in enumerate(region_ids)}
    c_index = {c: i for i, c in enumerate(country_ids)}
    gate_ids = [*posts, *(f"{a}>{d}" for a, d in routes)]
    gate_site = [*posts, *(a for a, _ in routes)]
    gate_mode = np.array([LAND] * len(posts) + [AIR] * len(routes), dtype=np.int8)
    gate_region = np.array([r_index[g.nodes[s]["region"]] for s in gate_site], dtype=np.int32)
    gate_country = np.array([c_index[p[3]] for p in posts.values()]
                            + [c_index[d] for _, d in routes], dtype=np.int32)
    nodes = [*region_ids, *gate_site]
    node_lat = np.array([g.nodes[n]["lat"] for n in nodes])
    node_lon = np.array([g.nodes[n]["lon"] for n in nodes])
    gate_lat, gate_lon = node_lat[len(regions):], node_lon[len(regions):]
    km = haversine_km(node_lat[:, None], node_lon[:, None], gate_lat[None, :], gate_lon[None, :])
    travel = (km * net.road_detour_factor / net.road_km_per_day
              + np.where(gate_mode == AIR, net.air_overhead_days, 0.0)[None, :])
    n_g, n_c = len(gate_ids), len(country_ids)
    onward_to = np.array([c_index[t] for _, t, _ in onward], dtype=np.int32)
    return World(
        graph=g, region_ids=region_ids,
        region_men=np.array([v[2] for v in regions.values()], dtype=np.int64),
        region_deaths_per_100k=np.ones(2), region_income=np.ones(2), region_poverty_pct=np.ones(2),
        gate_ids=gate_ids, gate_site=gate_site, gate_mode=gate_mode, gate_region=gate_region,
        gate_country=gate_country, gate_capacity=np.array([1000.0, 500.0, 300.0, 200.0]),
        gate_normal=np.zeros(n_g), gate_fare=np.zeros(n_g), gate_open=np.ones(n_g, dtype=bool),
        country_ids=country_ids, country_names=list(country_ids),
        country_kind=["origin"] + ["destination"] * (n_c - 1),
        country_documents=np.zeros(n_c, dtype=np.int8), country_attractiveness=np.zeros(n_c),
        country_normal_stay_days=np.ones(n_c), country_dead_end=np.zeros(n_c, dtype=bool),
        onward_from=np.array([c_index[f] for f, _, _ in onward], dtype=np.int32),
        onward_to=onward_to, onward_rate=np.array([r for _, _, r in onward]),
        onward_is_return=onward_to == c_index["RU"], travel_days=travel,
        return_country=c_index["RU"],
        # a call-up course and quota dates (the export writes neither; the World needs them)
        callup_dates=(dt.date(2022, 9, 21), dt.date(2022, 10, 4)),
        callup_cumulative=np.array([0.0, 200_000.0]),
        region_quota_complete=(None, dt.date(2022, 10, 1)),
    )


def tiny_policy(world: World) -> SimpleNamespace:
    """KZ-01 closed on days 3-5; the SVO -> AM route closed from day 6 to the horizon."""
    is_open = np.ones((N_DAYS, world.n_gates), dtype=bool)
    gi = world.gate_index()
    is_open[3:6, gi["KZ-01"]] = False
    is_open[6:, gi["SVO>AM"]] = False
    return SimpleNamespace(open=is_open, n_days=N_DAYS)


def read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


@pytest.fixture
def exported(tmp_path: Path) -> tuple[World, dict[str, Path]]:
    world = tiny_world()
    return world, export_flee(world, tmp_path / "flee", tiny_policy(world), announcement_day=2)


def test_files_columns_and_rows(exported) -> None:
    world, paths = exported
    assert set(paths) == {"locations", "routes", "closures", "conflicts", "sim_period",
                          "simsetting"}
    for key, columns in (("locations", LOCATION_COLUMNS), ("routes", ROUTE_COLUMNS),
                         ("closures", CLOSURE_COLUMNS)):
        header, rows = read_rows(paths[key])
        assert header == ["#" + columns[0], *columns[1:]]
        assert all(len(row) == len(columns) for row in rows)

    _, locations = read_rows(paths["locations"])
    n_sites = len(set(world.gate_site))
    assert len(locations) == world.n_regions + n_sites + world.n_countries
    by_name = {row[0]: row for row in locations}
    assert by_name["RU-MOW"][5] == "conflict_zone" and by_name["RU-MOW"][6] == "2"
    assert by_name["RU-MOW"][7] == "5000000"
    assert by_name["GE-01"][5] == "town" and by_name["SVO"][5] == "town"
    assert by_name["TR"][5] == "camp" and int(by_name["TR"][7]) == 300 * N_DAYS
    assert locations[0][2] == "RU"  # Flee takes the first location's country as home

    _, routes = read_rows(paths["routes"])
    # roads (every region to every site), one crossing per exit, onward pairs once
    assert len(routes) == world.n_regions * n_sites + world.n_gates + 3
    names = set(by_name)
    for a, b, km, forced in routes:
        assert a in names and b in names
        assert float(km) > 0 and forced == "0"
    pairs = [frozenset(r[:2]) for r in routes]
    assert len(pairs) == len(set(pairs))


def test_road_km_reproduce_travel_days(exported) -> None:
    world, paths = exported
    net = NetworkConfig()
    km = {(a, b): float(d) for a, b, d, _ in read_rows(paths["routes"])[1]}
    for r, region in enumerate(world.region_ids):
        for g, site in enumerate(world.gate_site):
            flight = km[site, world.country_ids[world.gate_country[g]]] if world.gate_mode[g] \
                == AIR else 0.0
            total_days = (km[region, site] + flight) / net.road_km_per_day
            assert total_days == pytest.approx(world.travel_days[r, g], abs=1e-3)


def test_closures_for_closed_exits(exported) -> None:
    _, paths = exported
    _, closures = read_rows(paths["closures"])
    assert sorted(closures) == sorted([["location", "KZ-01", "KZ-01", "3", "6"],
                                       ["link", "SVO", "AM", "6", str(N_DAYS)],
                                       ["link", "AM", "SVO", "6", str(N_DAYS)]])


def test_conflicts_and_period(exported) -> None:
    world, paths = exported
    header, rows = read_rows(paths["conflicts"])
    assert header == ["#Day", *world.region_ids]
    assert len(rows) == N_DAYS
    assert [int(r[1]) for r in rows[:4]] == [0, 0, 1, 1]
    assert paths["sim_period"].read_text().splitlines() == ["StartDate,2022-09-14",
                                                            f"Length,{N_DAYS}"]


def test_without_policy_closes_exits_closed_in_the_data(tmp_path: Path) -> None:
    world = tiny_world()
    world.gate_open[world.gate_index()["GE-01"]] = False
    paths = export_flee(world, tmp_path, n_days=5)
    _, closures = read_rows(paths["closures"])
    assert closures == [["location", "GE-01", "GE-01", "0", "5"]]


def test_real_world_exports(world, tmp_path: Path) -> None:
    paths = export_flee(world, tmp_path)
    _, locations = read_rows(paths["locations"])
    names = {row[0] for row in locations}
    assert len(names) == len(locations)
    assert set(world.region_ids) <= names and set(world.gate_site) <= names
    assert set(world.country_ids) <= names
    _, routes = read_rows(paths["routes"])
    assert all(a in names and b in names for a, b, _, _ in routes)
    closed = {world.gate_site[g] for g in np.flatnonzero(~world.gate_open)}
    _, closures = read_rows(paths["closures"])
    assert {row[1] for row in closures} >= closed


def test_flee_reads_and_runs_the_export(exported) -> None:
    pytest.importorskip("mpi4py")
    pytest.importorskip("flee.flee")
    world, paths = exported
    random.seed(1)
    np.random.seed(1)
    eco, ig, lm = load_flee_ecosystem(paths)
    assert set(lm) == {row[0] for row in read_rows(paths["locations"])[1]}
    assert len(eco.closures) == 3
    n_links = sum(len(loc.links) for loc in eco.locations)
    assert n_links == 2 * len(read_rows(paths["routes"])[1])

    for t in range(N_DAYS):
        ig.AddNewConflictZones(eco, t)
        if t >= 2:
            for region in world.region_ids:
                for _ in range(20):
                    eco.addAgent(lm[region], attributes={})
        eco.enact_border_closures(t)
        eco.evolve()
        if t == 4:  # KZ-01 is closed: its location has no open links
            assert lm["KZ-01"].links == [] and lm["KZ-01"].closed_links
        if t == 7:  # SVO -> AM closed, SVO -> TR open
            assert {link.endpoint.name for link in lm["SVO"].links} >= {"TR"}
            assert "AM" not in {link.endpoint.name for link in lm["SVO"].links}
            assert "SVO" not in {link.endpoint.name for link in lm["AM"].links}
    assert lm["RU-MOW"].conflict > 0  # the regions became conflict zones
    assert len(eco.agents) == 20 * world.n_regions * (N_DAYS - 2)
    in_camps = sum(loc.numAgents for loc in eco.locations if loc.camp)
    assert in_camps > 0
