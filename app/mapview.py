"""The map: country outlines shipped with the page (app/data/countries.geojson, Natural Earth),
regions, land posts, airports, destinations and the flows region -> exit -> country, drawn with
matplotlib (no tile server, no CDN: the page works offline)."""

from __future__ import annotations

import datetime as dt
import io
import json
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection, PatchCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Polygon

import sim
from app.runs import MapFrames
from app.scenario import data_world
from sim.network import AIR, World

GEOJSON = Path(__file__).with_name("data") / "countries.geojson"
DATA = Path(sim.__file__).with_name("data")
EXTENTS = {  # lon_min, lon_max, lat_min, lat_max
    "Western Russia and neighbours": (8.0, 92.0, 22.0, 72.0),
    "All of Russia": (8.0, 180.0, 22.0, 78.0),
}
ASPECT = 1.0 / np.cos(np.radians(52.0))  # equirectangular, true to scale near 52 N
MAX_FLOWS = 80


@lru_cache(maxsize=1)
def outlines() -> list[tuple[str, list[np.ndarray]]]:
    """(country name, outer rings) of every country in the shipped GeoJSON."""
    features = json.loads(GEOJSON.read_text(encoding="utf-8"))["features"]
    return [(f["properties"]["name"], [np.asarray(poly[0]) for poly in
                                       f["geometry"]["coordinates"]]) for f in features]


@dataclass(frozen=True)
class Places:
    """Coordinates (lon, lat) of every node of the world, in the world's order."""

    region: np.ndarray  # [R, 2]
    site: np.ndarray  # [G, 2] the post or airport of each exit
    country: np.ndarray  # [C, 2]
    country_names: list[str]
    site_ids: list[str]  # distinct posts and airports
    site_of_gate: np.ndarray  # [G] index into site_ids


def _lonlat(table: str, key: str) -> dict[str, tuple[float, float]]:
    frame = pd.read_csv(DATA / f"{table}.csv", usecols=[key, "lat", "lon"])
    return {str(r[key]): (float(r["lon"]), float(r["lat"])) for _, r in frame.iterrows()}


def places(world: World) -> Places:
    regions = _lonlat("regions", "code")
    sites = {**_lonlat("posts", "id"), **_lonlat("airports", "id")}
    countries = _lonlat("countries", "id")
    site_ids = list(dict.fromkeys(world.gate_site))
    index = {s: i for i, s in enumerate(site_ids)}
    return Places(
        region=np.array([regions[r] for r in world.region_ids]),
        site=np.array([sites[s] for s in world.gate_site]),
        country=np.array([countries[c] for c in world.country_ids]),
        country_names=list(world.country_names),
        site_ids=site_ids,
        site_of_gate=np.array([index[s] for s in world.gate_site]))


def _short(n: float) -> str:
    if n >= 1e6:
        return f"{n / 1e6:.1f}M"
    if n >= 1e3:
        return f"{n / 1e3:.0f}k"
    return f"{n:.0f}"


def _segments(a: np.ndarray, b: np.ndarray, weights: np.ndarray,
              max_width: float) -> tuple[np.ndarray, np.ndarray, float]:
    """The heaviest MAX_FLOWS links a -> b, widths in proportion to their weight."""
    order = np.argsort(-weights)[:MAX_FLOWS]
    order = order[weights[order] > 0]
    top = weights[order].max() if len(order) else 1.0
    return (np.stack([a[order], b[order]], axis=1), weights[order] / top * max_width, top)


def draw_map(world: World, day: int, frames: MapFrames | None, dates: list[dt.date],
             extent: str = "Western Russia and neighbours", title: str = "") -> Figure:
    """The map on day `day` of a run (cumulative flows up to that day); without a run, the
    world as it stands before it (regions by men at risk, every post and airport)."""
    pl = places(world)
    lon0, lon1, lat0, lat1 = EXTENTS.get(extent, EXTENTS["Western Russia and neighbours"])
    height = 7.0  # inches; the width follows the extent, so that the map fills the figure
    width = min(14.0, height * (lon1 - lon0) / ((lat1 - lat0) * ASPECT) + 1.6)
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    ax.set_xlim(lon0, lon1)
    ax.set_ylim(lat0, lat1)
    ax.set_aspect(ASPECT)
    ax.set_facecolor("#dce9f2")
    destinations = set(pl.country_names)
    patches, colours = [], []
    for name, rings in outlines():
        for ring in rings:
            patches.append(Polygon(ring, closed=True))
            colours.append("#f4efe1" if name == "Russia" else
                           "#e3ecd6" if name in destinations else "#ececec")
    ax.add_collection(PatchCollection(patches, facecolors=colours, edgecolors="#9a9a9a",
                                      linewidths=0.4, zorder=0))
    t = min(max(day, 0), len(dates) - 1) if dates else 0
    is_air = world.gate_mode == AIR
    men = world.region_men.astype(float)
    region_size = 6 + 120 * np.sqrt(men / men.max())
    if frames is None:
        share = np.zeros(world.n_regions)
    else:
        share = frames.region_departed[t] / np.maximum(men, 1)
    cmap = matplotlib.colormaps["YlOrRd"]
    region_pts = ax.scatter(pl.region[:, 0], pl.region[:, 1], s=region_size, c=share * 100,
                            cmap=cmap, vmin=0, vmax=max(2.0, float(share.max() * 100)),
                            edgecolors="#7a5c3a", linewidths=0.5, alpha=0.85, zorder=3)
    fig.colorbar(region_pts, ax=ax, shrink=0.6, pad=0.01,
                 label="regions: % of men at risk who set off")
    left_so_far = 0.0
    if frames is not None:
        # flows region -> exit, cumulative to this day
        so_far = frames.flow_day <= t
        pair = frames.flow_region[so_far] * world.n_gates + frames.flow_gate[so_far]
        counts = (np.bincount(pair, minlength=world.n_regions * world.n_gates)
                  * frames.people_per_agent)
        counts = counts.reshape(world.n_regions, world.n_gates)
        r_idx, g_idx = np.nonzero(counts)
        segs, widths, _ = _segments(pl.region[r_idx], pl.site[g_idx], counts[r_idx, g_idx], 7)
        ax.add_collection(LineCollection(segs, linewidths=widths, colors="#d9541e", alpha=0.45,
                                         zorder=2, capstyle="round"))
        # flows exit -> country
        crossed = frames.gate_crossed[t]
        left_so_far = float(frames.country_entered[t].sum())
        segs, widths, _ = _segments(pl.site, pl.country[world.gate_country], crossed, 9)
        ax.add_collection(LineCollection(segs, linewidths=widths, colors="#2a6db0", alpha=0.5,
                                         zorder=2, capstyle="round"))
        present = frames.country_present[t]
        queue = frames.gate_queue[t]
        is_open = frames.gate_open[t]
        draft_p = frames.gate_draft[t]
        queue_top = max(float(frames.gate_queue.max()), 1.0)
    else:
        present = np.zeros(world.n_countries)
        queue = np.zeros(world.n_gates)
        is_open = world.gate_open.astype(bool)
        draft_p = np.zeros(world.n_gates)
        queue_top = 1.0
    # destinations: people present, with their names
    dest = np.array([k != "return" for k in world.country_kind])
    size = 30 + 900 * np.sqrt(present / max(float(present.max()), 1.0))
    ax.scatter(pl.country[dest, 0], pl.country[dest, 1], s=size[dest], c="#2a6db0",
               alpha=0.55, edgecolors="white", linewidths=0.8, zorder=4)
    for c in np.nonzero(dest)[0]:
        x, y = pl.country[c]
        if lon0 <= x <= lon1 and lat0 <= y <= lat1:
            label = pl.country_names[c] + (f"\n{_short(present[c])}" if present[c] >= 1 else "")
            ax.annotate(label, (x, y), xytext=(4, 4), textcoords="offset points", fontsize=6.5,
                        color="#173d66", zorder=6)
    # land posts (triangles) and airports (squares): queue on this day; closed; draft office
    qcmap = matplotlib.colormaps["RdPu"]
    for mode, marker, base_size in ((~is_air, "^", 40), (is_air, "s", 30)):
        ax.scatter(pl.site[mode, 0], pl.site[mode, 1], marker=marker,
                   s=base_size + 160 * np.sqrt(queue[mode] / queue_top),
                   c=queue[mode], cmap=qcmap, vmin=-0.2 * queue_top, vmax=queue_top,
                   edgecolors="#3b1f47",
                   linewidths=0.6, zorder=5)
    closed = ~is_open
    draft = draft_p > 0
    ax.scatter(pl.site[closed, 0], pl.site[closed, 1], marker="x", s=70, c="black",
               linewidths=1.6, zorder=6)
    ax.scatter(pl.site[draft, 0], pl.site[draft, 1], marker="o", s=150, facecolors="none",
               edgecolors="#c0001a", linewidths=0.5 + 30 * draft_p[draft], zorder=6)
    when = dates[t].strftime("%d %b %Y") if dates else ""
    heading = title or "The world before the run: regions by men at risk"
    if frames is not None:
        heading = f"{title} — {when}: {_short(left_so_far)} men have left Russia so far"
    ax.set_title(heading, fontsize=11, loc="left")
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    handles = [
        Line2D([], [], marker="o", ls="", color="#f0a040", mec="#7a5c3a",
               label="region (size: men at risk)"),
        Line2D([], [], marker="^", ls="", color="#d47fb0", mec="#3b1f47",
               label="land post (size, colour: queue)"),
        Line2D([], [], marker="s", ls="", color="#d47fb0", mec="#3b1f47",
               label="airport (size, colour: queue)"),
        Line2D([], [], marker="x", ls="", color="black", label="closed"),
        Line2D([], [], marker="o", ls="", mfc="none", mec="#c0001a",
               label="draft office (ring width: call-up probability)"),
        Line2D([], [], marker="o", ls="", color="#2a6db0", alpha=0.55,
               label="destination (size: men present)"),
        Line2D([], [], color="#d9541e", lw=3, alpha=0.6, label="flow region → exit"),
        Line2D([], [], color="#2a6db0", lw=3, alpha=0.6, label="flow exit → country"),
    ]
    ax.legend(handles=handles, loc="lower left", fontsize=7, framealpha=0.9, ncols=2)
    return fig


def png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


@lru_cache(maxsize=len(EXTENTS))
def world_png(extent: str) -> bytes:
    """The map before any run, drawn once per extent and shared by every session (read-only):
    a new visitor sees it without waiting for matplotlib."""
    return png(draw_map(data_world(), 0, None, [], extent))


def warm_up() -> None:
    """Compose the config, build the world and draw the first map in the background when the
    server starts, so that the first visitor does not wait for them."""
    def build() -> None:
        data_world()
        world_png(next(iter(EXTENTS)))

    threading.Thread(target=build, name="warm-up", daemon=True).start()


def map_png(world: World, day: int, frames: MapFrames | None, dates: list[dt.date],
            extent: str, title: str = "") -> bytes:
    if frames is None:
        return world_png(extent)
    return png(draw_map(world, day, frames, dates, extent, title))
