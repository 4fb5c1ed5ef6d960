"""Built worlds kept on disk: a fresh process loads the world in milliseconds instead of reading
and checking the tables and building the graph (about a second, most of a small run's start).

An entry is keyed by a SHA-256 of what the world is made of: the bytes of every data file
`sim.datasets` reads, the network config's geometry (every field but the factors that
`sim.network.scaled_world` applies afterwards), the source of the modules that build a world,
and the versions of numpy and pandas. A changed file, setting or code is another key: a miss,
never a stale world. An entry is two files, written atomically (`sim.atomic`): `<key>.npz`,
the arrays (read back with `allow_pickle=False`), and `<key>.json`, everything else plus the
npz's SHA-256. Nothing is unpickled; an entry whose JSON does not parse, whose npz does not
match its hash, or that lacks a field or has the wrong shapes, is rebuilt from the data and
written again.

The folder: `$SIM_WORLD_CACHE` if set (`off` turns the cache off), else
`$XDG_CACHE_HOME/mobilisation-exodus/worlds` (`~/.cache/...` by default). A per-user cache
folder named after the project, outside the results: it is shared by every checkout and every
working directory (results/ is relative to where a command runs), and a checkout's `git clean`
or a results folder's removal does not take it. Nothing in it is ever deleted: entries are
small (about 0.7 MB) and are replaced only by a rebuilt entry of the same key.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import io
import json
import os
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.atomic import atomic_file
from sim.config import NetworkConfig
from sim.network import World

if TYPE_CHECKING:
    import networkx as nx

FORMAT = 1  # of an entry's files; part of the key
CACHE_ENV = "SIM_WORLD_CACHE"
# the modules whose code decides what a world holds
BUILDERS = ("network.py", "datasets.py", "world_cache.py", "config.py")


def cache_folder() -> Path | None:
    """Where entries live, or None when the cache is turned off."""
    chosen = os.environ.get(CACHE_ENV)
    if chosen:
        return None if chosen.strip().lower() == "off" else Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mobilisation-exodus" / "worlds"


def world_key(geometry: NetworkConfig) -> str | None:
    """The entry's key for a world built with every factor at 1 (`sim.network.unscaled`); None
    if a data file is missing (the build then reports it)."""
    from sim.datasets import FILES, default_data_dir

    folder = default_data_dir() if geometry.data_dir is None else Path(geometry.data_dir)
    h = hashlib.sha256(f"world cache format {FORMAT}\n".encode())
    h.update(repr(geometry).encode())
    for package in ("numpy", "pandas"):
        h.update(f"{package} {metadata.version(package)}\n".encode())
    here = Path(__file__).resolve().parent
    for name in BUILDERS:
        h.update(name.encode() + (here / name).read_bytes())
    for spec in FILES:
        path = folder / spec.file
        if not path.is_file():
            return None
        h.update(spec.file.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def cached_world(geometry: NetworkConfig, build: Callable[[], World]) -> World:
    """The world of `geometry` (all factors at 1) from the cache, or `build()` and kept."""
    folder = cache_folder()
    key = world_key(geometry) if folder is not None else None
    if folder is None or key is None:
        return build()
    world = read_entry(folder, key)
    if world is None:
        world = build()
        with contextlib.suppress(OSError):  # a read-only or full disk: no cache, same run
            write_entry(folder, key, world)
    return world


def load_world(network: NetworkConfig) -> World:
    """`sim.network.build_world(network)`, through the cache: the world of the network's
    geometry, with its capacity and traffic factors applied."""
    from sim.network import build_world, scaled_world, unscaled

    geometry = unscaled(network)
    return scaled_world(cached_world(geometry, lambda: build_world(geometry)), network)


# ---- an entry's files -----------------------------------------------------------------------
def write_entry(folder: Path, key: str, world: World) -> None:
    """`<key>.npz` (arrays) then `<key>.json` (the rest and the npz's hash), each atomically:
    a reader sees a whole entry or a mismatch, never half of one."""
    arrays: dict[str, np.ndarray] = {}
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(World):
        value = getattr(world, f.name)
        if f.name == "graph":
            fields[f.name] = {"graph": graph_data(value)}
        elif isinstance(value, np.ndarray):
            arrays[f.name] = value
            fields[f.name] = {"array": f.name}
        elif f.name == "country_features":
            for name, column in value.items():
                arrays[f"country_features.{name}"] = column
            fields[f.name] = {"arrays": {name: f"country_features.{name}" for name in value}}
        elif f.name in ("callup_dates", "region_quota_complete"):
            fields[f.name] = {"dates": [None if d is None else d.isoformat() for d in value]}
        else:  # lists of text, dicts of text, an int
            fields[f.name] = {"value": value}
    buffer = io.BytesIO()
    np.savez(buffer, allow_pickle=False, **arrays)
    data = buffer.getvalue()
    with atomic_file(folder / f"{key}.npz", "wb") as fh:
        fh.write(data)
    manifest = {"format": FORMAT, "key": key, "npz_sha256": hashlib.sha256(data).hexdigest(),
                "fields": fields}
    with atomic_file(folder / f"{key}.json") as fh:
        json.dump(manifest, fh)


def read_entry(folder: Path, key: str) -> World | None:
    """The entry's world, or None if it is missing, corrupt or not this key's."""
    try:
        manifest = json.loads((folder / f"{key}.json").read_text(encoding="utf-8"))
        data = (folder / f"{key}.npz").read_bytes()
        if (manifest.get("format") != FORMAT or manifest.get("key") != key
                or manifest.get("npz_sha256") != hashlib.sha256(data).hexdigest()):
            return None
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
        world = World(**{f.name: _field(f.name, manifest["fields"][f.name], arrays)
                         for f in dataclasses.fields(World)})
    except Exception:  # any damage of an entry (a cache file is rebuilt, never trusted)
        return None
    return world if consistent(world) else None


def _field(name: str, stored: dict[str, Any], arrays: dict[str, np.ndarray]) -> Any:
    if "array" in stored:
        return arrays[stored["array"]]
    if "arrays" in stored:
        return {column: arrays[entry] for column, entry in stored["arrays"].items()}
    if "dates" in stored:
        return tuple(None if d is None else dt.date.fromisoformat(d) for d in stored["dates"])
    if "graph" in stored:
        return StoredGraph(stored["graph"])
    return stored["value"]


def consistent(world: World) -> bool:
    """The shapes that tie a world's arrays together (what a damaged entry would break)."""
    n_r, n_g, n_c = world.n_regions, world.n_gates, world.n_countries
    per_gate = (world.gate_mode, world.gate_region, world.gate_country, world.gate_capacity,
                world.gate_normal, world.gate_fare, world.gate_open)
    per_country = (world.country_documents, world.country_attractiveness,
                   world.country_normal_stay_days, world.country_dead_end,
                   *world.country_features.values())
    return (world.travel_days.shape == (n_r + n_g, n_g)
            and all(a.shape == (n_g,) for a in per_gate)
            and all(a.shape == (n_c,) for a in per_country)
            and world.region_men.shape == (n_r,) and len(world.region_names) == n_r
            and len(world.region_quota_complete) == n_r and len(world.gate_site) == n_g
            and len(world.country_names) == n_c and 0 <= world.return_country < n_c
            and len(world.callup_dates) == len(world.callup_cumulative)
            and len({len(world.onward_from), len(world.onward_to), len(world.onward_rate),
                     len(world.onward_is_return)}) == 1)


# ---- the graph ------------------------------------------------------------------------------
def graph_data(graph: nx.DiGraph | StoredGraph) -> dict[str, Any]:
    """The graph as node-link JSON data (every attribute is a number, a bool or text)."""
    if isinstance(graph, StoredGraph):
        return graph.data
    import networkx as nx

    return nx.node_link_data(graph, edges="edges")


class StoredGraph:
    """A world's networkx graph as the cache holds it, built on first use: importing networkx
    takes most of a second, and a run never reads the graph (the model runs on the arrays;
    the Flee export does)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self._graph: nx.DiGraph | None = None

    def built(self) -> nx.DiGraph:
        if self._graph is None:
            import networkx as nx

            self._graph = nx.node_link_graph(self.data, edges="edges")
        return self._graph

    def __getattr__(self, name: str) -> Any:  # nodes, edges, successors, ... of the graph
        if name.startswith("_") or name == "data":
            raise AttributeError(name)
        return getattr(self.built(), name)

    def __len__(self) -> int:
        return len(self.built())

    def __iter__(self):
        return iter(self.built())

    def __contains__(self, node: object) -> bool:
        return node in self.built()

    def __getitem__(self, node: Any) -> Any:
        return self.built()[node]
