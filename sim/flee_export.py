"""Export the project's network to the input files of Flee 3.1 (https://flee.readthedocs.io).

Flee reads a folder of CSV files; this module writes them from a `World` (and optionally a
compiled policy), so that the same network can be run in Flee, e.g. for the benchmarks in
`benchmarks/`. The mapping:

| project                       | Flee                                                         |
| ----------------------------- | ------------------------------------------------------------ |
| region (federal subject)      | `conflict_zone` from the announcement day; pop = men at risk |
| land post, airport            | `town` on the Russian side (pop 0)                           |
| destination, onward country   | `camp`; capacity = what its exits could pass in the horizon  |
| Russia (the return node)      | `town` (returns from abroad end there)                       |
| road region -> exit site      | link, km = travel days x `road_km_per_day`, flight excluded  |
| crossing exit site -> country | link: `crossing_km` by land, the flight's days x km/day      |
| onward link between countries | link, great-circle km x `road_detour_factor`                 |
| closed exit (`policy.open`)   | closure: `location` for a land post, `link` for an air route |

Routes are written with the distance that makes Flee's travel time equal to the project's when
Flee's `max_move_speed` is `road_km_per_day` (which `simsetting.yml` sets). Flee links are
two-way, so each pair of locations is written once. Closures use Flee's day numbers (0 = the
first simulated day); Flee closes on `closure_start` and reopens on `closure_end` (exclusive);
a closure that lasts to the horizon ends on the day after it.

Two quirks of Flee 3.1 that a runner must know: `close_link(a, b, twoway=True)` closes only the
direction b -> a, so a closed air route is written as two `link` rows, one per orientation; and
`_remove_link_1way` compares location names with `is`, so a runner must replace the names in
`Ecosystem.closures` by the `Location.name` objects before link closures take effect
(`load_flee_ecosystem` does both). Location closures work as read.

Files written: `locations.csv`, `routes.csv`, `closures.csv`, `conflicts.csv` (each region's
conflict intensity per day: 0 before the announcement, 1 from it), `sim_period.csv` and
`simsetting.yml`, all in Flee's formats (Flee's readers skip lines starting with `#`).
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from pathlib import Path

import numpy as np
import yaml

from sim.config import NetworkConfig, SimConfig
from sim.network import AIR, World, haversine_km

LOCATION_COLUMNS = ("name", "region", "country", "lat", "lon", "location_type", "conflict_date",
                    "pop/cap")
ROUTE_COLUMNS = ("name1", "name2", "distance", "forced_redirection")
CLOSURE_COLUMNS = ("closure_type", "name1", "name2", "closure_start", "closure_end")
MIN_KM = 1.0  # Flee needs a positive length; an airport in a region's capital is 0 km away


def _default_days() -> tuple[dt.date, int]:
    cfg = SimConfig()
    start, end = dt.date.fromisoformat(cfg.start), dt.date.fromisoformat(cfg.end)
    return start, (end - start).days + 1


def _node_xy(world: World, node: str) -> tuple[float, float]:
    data = world.graph.nodes[node]
    return float(data["lat"]), float(data["lon"])


def _closed_runs(is_open: np.ndarray) -> list[tuple[int, int]]:
    """[(first closed day, first open day after it)] of a boolean per-day series."""
    closed = np.concatenate([[False], ~is_open.astype(bool), [False]])
    edges = np.flatnonzero(np.diff(closed.astype(np.int8)))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def flee_locations(world: World, *, scale: float = 1.0, announcement_day: int = 0,
                   n_days: int) -> list[list[str]]:
    """Rows of `locations.csv`: regions, then exit sites, then countries (Russia first)."""
    home = world.country_ids[world.return_country]
    rows: list[list[str]] = []
    for i, region in enumerate(world.region_ids):
        lat, lon = _node_xy(world, region)
        pop = round(float(world.region_men[i]) * scale)
        rows.append([region, region, home, f"{lat:.5f}", f"{lon:.5f}", "conflict_zone",
                     str(announcement_day), str(pop)])
    for site, g in _sites(world).items():
        lat, lon = _node_xy(world, site)
        region = world.region_ids[world.gate_region[g]]
        rows.append([site, region, home, f"{lat:.5f}", f"{lon:.5f}", "town", "", "0"])
    # what the open exits into each country could pass over the horizon (0 = unbounded)
    daily = np.bincount(world.gate_country, weights=world.gate_capacity * world.gate_open,
                        minlength=world.n_countries)
    order = [world.return_country] + [c for c in range(world.n_countries)
                                      if c != world.return_country]
    for c in order:
        cid = world.country_ids[c]
        lat, lon = _node_xy(world, cid)
        if c == world.return_country:
            rows.append([cid, cid, cid, f"{lat:.5f}", f"{lon:.5f}", "town", "", "0"])
        else:
            cap = math.ceil(daily[c] * n_days * scale)
            rows.append([cid, cid, cid, f"{lat:.5f}", f"{lon:.5f}", "camp", "", str(cap)])
    return rows


def _sites(world: World) -> dict[str, int]:
    """Each exit site (post or airport) and its first gate, in gate order."""
    sites: dict[str, int] = {}
    for g, site in enumerate(world.gate_site):
        sites.setdefault(site, g)
    return sites


def flee_routes(world: World, network: NetworkConfig | None = None, *,
                crossing_km: float = 10.0) -> list[list[str]]:
    """Rows of `routes.csv` (each unordered pair once; Flee links both ways)."""
    net = network or NetworkConfig()
    km_per_day = net.road_km_per_day
    rows: list[list[str]] = []
    seen: set[frozenset[str]] = set()

    def add(a: str, b: str, km: float) -> None:
        key = frozenset((a, b))
        if a == b or key in seen:
            return
        seen.add(key)
        rows.append([a, b, f"{max(km, MIN_KM):.1f}", "0"])

    sites = _sites(world)
    for r, region in enumerate(world.region_ids):
        for site, g in sites.items():
            days = world.travel_days[r, g]
            if world.gate_mode[g] == AIR:
                days -= net.air_overhead_days  # the flight is the crossing link
            add(region, site, days * km_per_day)
    for g, site in enumerate(world.gate_site):
        km = net.air_overhead_days * km_per_day if world.gate_mode[g] == AIR else crossing_km
        add(site, world.country_ids[world.gate_country[g]], km)
    for f, t in zip(world.onward_from, world.onward_to, strict=True):
        a, b = world.country_ids[f], world.country_ids[t]
        (lat1, lon1), (lat2, lon2) = _node_xy(world, a), _node_xy(world, b)
        km = float(haversine_km(np.float64(lat1), np.float64(lon1), np.float64(lat2),
                                np.float64(lon2)))
        add(a, b, km * net.road_detour_factor)
    return rows


def flee_closures(world: World, is_open: np.ndarray) -> list[list[str]]:
    """Rows of `closures.csv` from a [T, G] open array: a closed land post closes its location,
    a closed air route the link from its airport to its destination."""
    rows: list[list[str]] = []
    for g in range(world.n_gates):
        site, country = world.gate_site[g], world.country_ids[world.gate_country[g]]
        for start, end in _closed_runs(is_open[:, g]):
            if world.gate_mode[g] == AIR:
                # both orientations: Flee 3.1's close_link(twoway=True) closes only name2 -> name1
                rows.append(["link", site, country, str(start), str(end)])
                rows.append(["link", country, site, str(start), str(end)])
            else:
                rows.append(["location", site, site, str(start), str(end)])
    return rows


def _write_csv(path: Path, header: tuple[str, ...], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["#" + header[0], *header[1:]])
        writer.writerows(rows)
    return path


def simsetting(n_days: int, network: NetworkConfig | None = None) -> dict:
    """Flee's `simsetting.yml`: move at the project's road speed, log nothing, spawn nothing
    by itself (the caller inserts the agents)."""
    net = network or NetworkConfig()
    return {
        "number_of_steps": n_days,
        "conflict_input_file": "conflicts.csv",
        "log_levels": {"agent": 0, "link": 0, "camp": 0, "init": 0, "conflict": 0,
                       "idp_totals": 0},
        "spawn_rules": {"take_from_population": False, "insert_day0": False},
        "move_rules": {"max_move_speed": float(net.road_km_per_day), "awareness_level": 1},
        "optimisations": {"hasten": 1},
    }


def export_flee(world: World, folder: Path, policy=None, *,
                network: NetworkConfig | None = None, scale: float = 1.0,
                start_date: dt.date | None = None, n_days: int | None = None,
                announcement_day: int = 0, crossing_km: float = 10.0) -> dict[str, Path]:
    """Write Flee 3.1 input files for `world` into `folder`; returns {file stem: path}.

    `policy` (a `sim.policy.CompiledPolicy`) gives the closures and the horizon; without it the
    exits closed in the data are closed throughout. `network` must be the config the world was
    built with (for km per day). `scale` multiplies populations and capacities, as
    `population.scale` does in the project. `announcement_day` is the day (0 = first) the
    regions become conflict zones.
    """
    default_start, default_days = _default_days()
    if n_days is None:
        n_days = policy.n_days if policy is not None else default_days
    start_date = start_date or default_start
    if policy is not None:
        is_open = np.asarray(policy.open, dtype=bool)[:n_days]
    else:
        is_open = np.broadcast_to(world.gate_open, (n_days, world.n_gates))
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {
        "locations": _write_csv(folder / "locations.csv", LOCATION_COLUMNS,
                                flee_locations(world, scale=scale, n_days=n_days,
                                               announcement_day=announcement_day)),
        "routes": _write_csv(folder / "routes.csv", ROUTE_COLUMNS,
                             flee_routes(world, network, crossing_km=crossing_km)),
        "closures": _write_csv(folder / "closures.csv", CLOSURE_COLUMNS,
                               flee_closures(world, is_open)),
    }
    conflict = (np.arange(n_days) >= announcement_day).astype(int)
    conflicts = folder / "conflicts.csv"
    with conflicts.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["#Day", *world.region_ids])
        for t in range(n_days):
            writer.writerow([t, *([conflict[t]] * world.n_regions)])
    paths["conflicts"] = conflicts
    period = folder / "sim_period.csv"
    period.write_text(f"StartDate,{start_date.isoformat()}\nLength,{n_days}\n", encoding="utf-8")
    paths["sim_period"] = period
    settings = folder / "simsetting.yml"
    settings.write_text(yaml.safe_dump(simsetting(n_days, network), sort_keys=False),
                        encoding="utf-8")
    paths["simsetting"] = settings
    return paths


def load_flee_ecosystem(paths: dict[str, Path]):
    """Flee's Ecosystem from the files `export_flee` wrote, as Flee's own run.py builds it, with
    the closures' names replaced by Flee's own name objects (see the module docstring).
    Returns (ecosystem, input geography, locations by name). Needs flee (and mpi4py)."""
    from flee import InputGeography, flee

    flee.SimulationSettings.ReadFromYML(str(paths["simsetting"]))
    flee.SimulationSettings.ConflictInputFile = str(paths["conflicts"])
    ig = InputGeography.InputGeography()
    ig.ReadConflictInputCSV(str(paths["conflicts"]))
    ig.ReadLocationsFromCSV(str(paths["locations"]))
    ig.ReadLinksFromCSV(str(paths["routes"]))
    ig.ReadClosuresFromCSV(str(paths["closures"]))
    eco, locations = ig.StoreInputGeographyInEcosystem(flee.Ecosystem())
    names = {loc.name: loc.name for loc in eco.locations}
    eco.closures = [[c[0], names[c[1]], names[c[2]], c[3], c[4]] for c in eco.closures]
    return eco, ig, locations
