"""The map: country outlines shipped with the page (app/data/countries.geojson, Natural Earth),
regions, land posts, airports, destinations and the flows region -> exit -> country, as a Plotly
figure that the browser zooms and hovers (app/plotly_view.py draws it; no tile server, no CDN).

Colours and sizes are scaled to the whole run, not to the day shown, so that a day's map can be
compared with another's; the key in the corner says what the sizes stand for.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go

import sim
from app.routes import counted_destinations
from app.runs import MapFrames
from app.scenario import data_world
from sim.network import AIR, World

GEOJSON = Path(__file__).with_name("data") / "countries.geojson"
DATA = Path(sim.__file__).with_name("data")
EXTENTS = {  # lon_min, lon_max, lat_min, lat_max
    "Western Russia and neighbours": (8.0, 92.0, 30.0, 72.0),
    "All of Russia": (8.0, 180.0, 22.0, 78.0),
    "The Caucasus": (36.0, 52.0, 38.0, 47.0),
    "The Baltic and Finland": (18.0, 36.0, 52.0, 67.0),
}
ASPECT = 1.0 / np.cos(np.radians(52.0))  # equirectangular, true to scale near 52 N
MAX_FLOWS = 80
MAP_WIDTH, LEGEND_X = 0.72, 0.74  # shares of the figure's width: the map; the key on its right
KEY_BOTTOM, KEY_TOP = 0.36, 0.56  # the key to sizes, beside the map, between legend and bars
# label placement where capitals crowd (the Baltics, Finland, the Caucasus); others: top right
LABEL_POSITION = {"FI": "top center", "EE": "middle left", "LV": "middle left",
                  "LT": "middle left", "BY": "top right", "PL": "bottom right",
                  "SCHENGEN": "middle left",
                  "GE": "top right", "AB": "top left", "AM": "bottom left",
                  "AZ": "middle right", "TR": "bottom center", "NO": "top center"}
REGION_SCALE = "YlOrRd"
QUEUE_SCALE = "RdPu"
SEA, RUSSIA, DESTINATION, OTHER = "#dce9f2", "#f4efe1", "#e3ecd6", "#ececec"
FLOW_OUT, FLOW_IN = "rgba(217,84,30,0.45)", "rgba(42,109,176,0.5)"


@lru_cache(maxsize=1)
def outlines() -> list[tuple[str, list[np.ndarray]]]:
    """(country name, outer rings) of every country in the shipped GeoJSON."""
    features = json.loads(GEOJSON.read_text(encoding="utf-8"))["features"]
    return [(f["properties"]["name"], [np.asarray(poly[0]) for poly in
                                       f["geometry"]["coordinates"]]) for f in features]


@dataclass(frozen=True)
class Places:
    """Coordinates (lon, lat) and names of every node of the world, in the world's order."""

    region: np.ndarray  # [R, 2]
    region_names: list[str]
    site: np.ndarray  # [G, 2] the post or airport of each exit
    country: np.ndarray  # [C, 2]
    country_names: list[str]
    site_ids: list[str]  # distinct posts and airports
    site_names: list[str]
    site_xy: np.ndarray  # [S, 2]
    site_is_air: np.ndarray  # [S] bool
    site_of_gate: np.ndarray  # [G] index into site_ids


def _table(name: str, key: str, label: str) -> dict[str, tuple[float, float, str]]:
    frame = pd.read_csv(DATA / f"{name}.csv", usecols=[key, "lat", "lon", label])
    return {str(r[key]): (float(r["lon"]), float(r["lat"]), str(r[label]))
            for _, r in frame.iterrows()}


_PLACES: dict[int, Places] = {}


def places(world: World) -> Places:
    """The world's places (kept per world: the page has one, shared by every session)."""
    if id(world) not in _PLACES:
        _PLACES[id(world)] = _places_of(world)
    return _PLACES[id(world)]


def _places_of(world: World) -> Places:
    regions = _table("regions", "code", "name_en")
    sites = {**_table("posts", "id", "name"), **_table("airports", "id", "name")}
    countries = _table("countries", "id", "name")
    site_ids = list(dict.fromkeys(world.gate_site))
    index = {s: i for i, s in enumerate(site_ids)}
    air = {s for s, m in zip(world.gate_site, world.gate_mode, strict=True) if m == AIR}
    return Places(
        region=np.array([regions[r][:2] for r in world.region_ids]),
        region_names=[regions[r][2] for r in world.region_ids],
        site=np.array([sites[s][:2] for s in world.gate_site]),
        country=np.array([countries[c][:2] for c in world.country_ids]),
        country_names=list(world.country_names),
        site_ids=site_ids, site_names=[sites[s][2] for s in site_ids],
        site_xy=np.array([sites[s][:2] for s in site_ids]),
        site_is_air=np.array([s in air for s in site_ids]),
        site_of_gate=np.array([index[s] for s in world.gate_site]))


def short(n: float) -> str:
    """A count in a few characters for labels: 1.2M, 45k, 800."""
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


def _flow_traces(segs: np.ndarray, widths: np.ndarray, colour: str,
                 name: str) -> list[go.Scatter]:
    """Links as lines, in five widths (one trace each: a trace has one line width)."""
    traces = []
    if not len(segs):
        return traces
    bins = np.ceil(widths / max(float(widths.max()), 1e-9) * 5).clip(1, 5)
    for level in range(1, 6):
        chosen = segs[bins == level]
        if not len(chosen):
            continue
        xs = np.column_stack([chosen[:, 0, 0], chosen[:, 1, 0], np.full(len(chosen), np.nan)])
        ys = np.column_stack([chosen[:, 0, 1], chosen[:, 1, 1], np.full(len(chosen), np.nan)])
        traces.append(go.Scatter(x=xs.ravel(), y=ys.ravel(), mode="lines", name=name,
                                 legendgroup=name, showlegend=not traces, hoverinfo="skip",
                                 line={"color": colour, "width": 1.2 * level}))
    return traces


@dataclass(frozen=True)
class Day:
    """What the map shows on one day, per site and per country, and the run's maxima (the
    scales the whole run shares)."""

    region_share: np.ndarray  # [R] share of men at risk who set off, so far
    region_left: np.ndarray  # [R] men who set off, so far
    site_queue: np.ndarray  # [S]
    site_crossed: np.ndarray  # [S] fleeing men through it, so far
    site_open: np.ndarray  # [S] bool: any of its exits open
    site_draft: np.ndarray  # [S] call-up probability of a draft office there
    present: np.ndarray  # [C] fleeing men present
    entered: np.ndarray  # [C] fleeing men entered, so far
    share_top: float
    queue_top: float
    present_top: float


def day_of(world: World, frames: MapFrames | None, t: int) -> Day:
    pl = places(world)
    n_sites = len(pl.site_ids)

    def per_site(values: np.ndarray, how: str = "sum") -> np.ndarray:
        out = np.zeros(n_sites)
        if how == "sum":
            np.add.at(out, pl.site_of_gate, values)
        else:
            np.maximum.at(out, pl.site_of_gate, values)
        return out

    men = np.maximum(world.region_men.astype(float), 1.0)
    if frames is None:
        zeros_c = np.zeros(world.n_countries)
        return Day(np.zeros(world.n_regions), np.zeros(world.n_regions), np.zeros(n_sites),
                   np.zeros(n_sites), per_site(world.gate_open.astype(float), "max") > 0,
                   np.zeros(n_sites), zeros_c, zeros_c, 1.0, 1.0, 1.0)
    site_queue_all = np.stack([per_site(q) for q in frames.gate_queue])
    return Day(
        region_share=frames.region_departed[t] / men,
        region_left=frames.region_departed[t],
        site_queue=site_queue_all[t],
        site_crossed=per_site(frames.gate_crossed[t]),
        site_open=per_site(frames.gate_open[t].astype(float), "max") > 0,
        site_draft=per_site(frames.gate_draft[t], "max"),
        present=frames.country_present[t], entered=frames.country_entered[t],
        share_top=max(float((frames.region_departed[-1] / men).max()), 1e-4),
        queue_top=max(float(site_queue_all.max()), 1.0),
        present_top=max(float(frames.country_present.max()), 1.0))


def region_size(men: np.ndarray) -> np.ndarray:
    return 4 + 18 * np.sqrt(men / max(float(men.max()), 1.0))


def queue_size(queue: np.ndarray, top: float) -> np.ndarray:
    return 8 + 22 * np.sqrt(np.clip(queue / top, 0, 1))


def present_size(present: np.ndarray, top: float) -> np.ndarray:
    return 8 + 36 * np.sqrt(np.clip(present / top, 0, 1))


def _round_down(x: float) -> float:
    """The largest 1, 2 or 5 times a power of ten not above x (a key's reference value)."""
    if x < 1:
        return 1.0
    power = 10 ** np.floor(np.log10(x))
    return float(max(m * power for m in (1, 2, 5) if m * power <= x))


def _outline_traces(world: World, day: Day) -> list[go.Scatter]:
    pl = places(world)
    by_name = {n: i for i, n in enumerate(pl.country_names)}
    counted = counted_destinations()
    traces = []
    for name, rings in outlines():
        xs = np.concatenate([np.append(r[:, 0], np.nan) for r in rings])
        ys = np.concatenate([np.append(r[:, 1], np.nan) for r in rings])
        c = by_name.get(name)
        fill = RUSSIA if name == "Russia" else DESTINATION if c is not None else OTHER
        hover = name
        if c is not None and name != "Russia":
            hover = (f"<b>{name}</b><br>men present: {day.present[c]:,.0f}<br>"
                     f"entered so far: {day.entered[c]:,.0f}<br>"
                     + ("reported counts constrain this route" if name in counted
                        else "<i>no reported count constrains this route</i>"))
        traces.append(go.Scatter(x=xs, y=ys, mode="lines", fill="toself", fillcolor=fill,
                                 line={"color": "#9a9a9a", "width": 0.6}, hoveron="fills",
                                 text=hover, hoverinfo="text", showlegend=False, name=name))
    return traces


def map_figure(world: World, day: int, frames: MapFrames | None, dates: list[dt.date],
               extent: str = "Western Russia and neighbours") -> go.Figure:
    """The map on day `day` of a run (flows cumulative to that day); without a run, the world
    as it stands before it (regions by men at risk, every post and airport)."""
    pl = places(world)
    t = min(max(day, 0), len(dates) - 1) if dates else 0
    d = day_of(world, frames, t)
    with_run = frames is not None
    lon0, lon1, lat0, lat1 = EXTENTS.get(extent, EXTENTS["Western Russia and neighbours"])
    data: list[go.Scatter] = _outline_traces(world, d)
    if frames is not None:  # flows region -> exit, and exit -> country, cumulative to day t
        so_far = frames.flow_day <= t
        pair = frames.flow_region[so_far] * world.n_gates + frames.flow_gate[so_far]
        counts = (np.bincount(pair, minlength=world.n_regions * world.n_gates)
                  * frames.people_per_agent)
        counts = counts.reshape(world.n_regions, world.n_gates)
        r_idx, g_idx = np.nonzero(counts)
        segs, widths, _ = _segments(pl.region[r_idx], pl.site[g_idx], counts[r_idx, g_idx], 7)
        data += _flow_traces(segs, widths, FLOW_OUT, "flow region→exit (width: men)")
        segs, widths, _ = _segments(pl.site, pl.country[world.gate_country],
                                    frames.gate_crossed[t], 9)
        data += _flow_traces(segs, widths, FLOW_IN, "flow exit→country")
    men = world.region_men.astype(float)
    data.append(go.Scatter(
        x=pl.region[:, 0], y=pl.region[:, 1], mode="markers", name="region (size: men at risk)",
        marker={"size": region_size(men), "color": d.region_share * 100, "cmin": 0,
                "cmax": d.share_top * 100, "colorscale": REGION_SCALE, "showscale": with_run,
                "line": {"color": "#7a5c3a", "width": 0.5}, "opacity": 0.85,
                "colorbar": {"title": {"text": "regions:<br>% of men<br>set off", "side": "top",
                                       "font": {"size": 10}},
                             "x": LEGEND_X, "xanchor": "left", "y": 0.0, "yanchor": "bottom",
                             "len": 0.32, "thickness": 10, "tickfont": {"size": 9}}},
        customdata=np.column_stack([pl.region_names, men, d.region_left, d.region_share * 100]),
        hovertemplate=("<b>%{customdata[0]}</b><br>men at risk: %{customdata[1]:,.0f}<br>"
                       "set off so far: %{customdata[2]:,.0f} (%{customdata[3]:.1f} %)"
                       "<extra>region</extra>")))
    draft = d.site_draft > 0  # rings under the posts, so that the queue's colour shows
    sizes = queue_size(d.site_queue, d.queue_top)
    data.append(go.Scatter(
        x=pl.site_xy[draft, 0], y=pl.site_xy[draft, 1], mode="markers",
        name="draft office (ring: call-up probability)",
        marker={"symbol": "circle-open", "size": sizes[draft] + 12, "color": "#c0001a",
                "line": {"width": 1 + 6 * d.site_draft[draft]}},
        text=[f"draft office at {n}: call-up probability {p:.2f}" for n, p in
              zip(np.array(pl.site_names)[draft], d.site_draft[draft], strict=True)],
        hoverinfo="text"))
    status = np.where(d.site_open, "open", "closed")
    custom = np.column_stack([pl.site_names, pl.site_ids, d.site_queue, d.site_crossed, status,
                              d.site_draft])
    for is_air, symbol, label in ((False, "triangle-up", "land post"), (True, "square",
                                                                         "airport")):
        mine = pl.site_is_air == is_air
        data.append(go.Scatter(
            x=pl.site_xy[mine, 0], y=pl.site_xy[mine, 1], mode="markers",
            name=f"{label} (size, colour: queue)" if not is_air else label,
            marker={"symbol": symbol, "size": sizes[mine], "color": d.site_queue[mine],
                    "cmin": 0, "cmax": d.queue_top, "colorscale": QUEUE_SCALE,
                    "line": {"color": "#3b1f47", "width": 0.8},
                    "showscale": with_run and not is_air,
                    "colorbar": {"title": {"text": "queue<br>(people)", "side": "top",
                                           "font": {"size": 10}},
                                 "x": LEGEND_X + 0.1, "xanchor": "left", "y": 0.0,
                                 "yanchor": "bottom", "len": 0.32, "thickness": 10,
                                 "tickfont": {"size": 9}}},
            customdata=custom[mine],
            hovertemplate=("<b>%{customdata[0]}</b> (%{customdata[1]})<br>"
                           "queue: %{customdata[2]:,.0f}<br>"
                           "fleeing men through it so far: %{customdata[3]:,.0f}<br>"
                           "%{customdata[4]}; draft office call-up probability "
                           "%{customdata[5]:.2f}<extra>" + label + "</extra>")))
    closed = ~d.site_open
    data.append(go.Scatter(x=pl.site_xy[closed, 0], y=pl.site_xy[closed, 1], mode="markers",
                           name="closed", hoverinfo="skip",
                           marker={"symbol": "x-thin", "size": 11,
                                   "line": {"color": "black", "width": 2}}))
    dest = np.array([k != "return" for k in world.country_kind])
    labels = [pl.country_names[c] + (f" {short(d.present[c])}" if d.present[c] >= 1 else "")
              for c in np.nonzero(dest)[0]]
    data.append(go.Scatter(
        x=pl.country[dest, 0], y=pl.country[dest, 1], mode="markers+text",
        name="destination (size: men present)", text=labels,
        textposition=[LABEL_POSITION.get(world.country_ids[c], "top right")
                      for c in np.nonzero(dest)[0]],
        textfont={"size": 11, "color": "#173d66"},
        marker={"size": present_size(d.present[dest], d.present_top), "color": "#2a6db0",
                "opacity": 0.55, "line": {"color": "white", "width": 1}},
        customdata=np.column_stack([np.array(pl.country_names)[dest], d.present[dest],
                                    d.entered[dest]]),
        hovertemplate=("<b>%{customdata[0]}</b><br>men present: %{customdata[1]:,.0f}<br>"
                       "entered so far: %{customdata[2]:,.0f}<extra>destination</extra>")))
    data += _size_key(d, with_run)
    fig = go.Figure(data=data)
    fig.update_layout(
        margin={"l": 40, "r": 10, "t": 8, "b": 30}, plot_bgcolor="white",
        paper_bgcolor="white",
        hovermode="closest", dragmode="zoom", uirevision=extent,
        legend={"orientation": "v", "x": LEGEND_X, "y": 1.0, "yanchor": "top",
                "font": {"size": 10}, "itemwidth": 30, "itemsizing": "constant",
                "tracegroupgap": 0,
                "bgcolor": "rgba(255,255,255,0.8)"},
        xaxis={"range": [lon0, lon1], "showgrid": False, "zeroline": False,
               "ticksuffix": "°E", "domain": [0, MAP_WIDTH]},
        yaxis={"range": [lat0, lat1], "showgrid": False, "zeroline": False, "ticksuffix": "°N",
               "scaleanchor": "x", "scaleratio": ASPECT},
        xaxis2={"domain": [LEGEND_X, 1.0], "anchor": "y2", "range": [0, 4.4],
                "visible": False, "fixedrange": True},
        yaxis2={"domain": [KEY_BOTTOM, KEY_TOP], "anchor": "x2", "range": [0, 3.2],
                "visible": False, "fixedrange": True})
    # the sea: the map's own ground (the key's small axes stay white)
    fig.add_shape(type="rect", xref="x domain", yref="y domain", x0=0, x1=1, y0=0, y1=1,
                  fillcolor=SEA, line={"width": 0}, layer="below")
    return fig


def _size_key(d: Day, with_run: bool) -> list[go.Scatter]:
    """The key to the sizes, beside the map (its own small axes, which do not zoom)."""
    if not with_run:
        return []
    queue_refs = sorted({_round_down(d.queue_top), _round_down(d.queue_top / 10)})
    present_refs = sorted({_round_down(d.present_top), _round_down(d.present_top / 10)})
    xs = [0.3 + 2.1 * i for i in range(len(queue_refs))] + [0.5 + 2.1 * i for i in
                                                             range(len(present_refs))]
    ys = [2.1] * len(queue_refs) + [0.8] * len(present_refs)
    sizes = [*queue_size(np.array(queue_refs), d.queue_top),
             *present_size(np.array(present_refs), d.present_top)]
    colours = ["#d47fb0"] * len(queue_refs) + ["rgba(42,109,176,0.55)"] * len(present_refs)
    labels = [f"queue {short(q)}" for q in queue_refs] + [f"{short(p)} present" for p in
                                                          present_refs]
    return [go.Scatter(x=[0.15], y=[3.0], xaxis="x2", yaxis="y2", mode="text",
                       textposition="middle right",
                       text=["key to sizes"], showlegend=False, hoverinfo="skip",
                       textfont={"size": 10}),
            go.Scatter(x=xs, y=ys, xaxis="x2", yaxis="y2", mode="markers+text", text=labels,
                       textposition="middle right", textfont={"size": 9}, showlegend=False,
                       hoverinfo="skip", marker={"size": sizes, "color": colours,
                                                 "line": {"color": "#3b1f47", "width": 0.5}})]


def map_heading(label: str, day: int, frames: MapFrames | None, dates: list[dt.date]) -> str:
    """The words above the map: whose run, which day, how many have left by then."""
    if frames is None or not dates:
        return "The world before a run: regions by men at risk, every post and airport"
    t = min(max(day, 0), len(dates) - 1)
    left = float(frames.country_entered[t].sum())
    return (f"{label} (run 1 of the ensemble), {dates[t]:%d %b %Y}: "
            f"{left:,.0f} men have left Russia so far")


@lru_cache(maxsize=len(EXTENTS))
def world_figure(extent: str) -> go.Figure:
    """The map before any run, built once per extent and shared by every session (read-only)."""
    return map_figure(data_world(), 0, None, [], extent)


def warm_up() -> None:
    """Compose the config, build the world and the first map in the background when the server
    starts, so that the first visitor does not wait for them."""
    def build() -> None:
        world_figure(next(iter(EXTENTS)))

    threading.Thread(target=build, name="warm-up", daemon=True).start()
