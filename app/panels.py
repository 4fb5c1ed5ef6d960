"""The page's three tabs: the map, the comparison against 2022, and what to take away (the run's
daily.csv, the ensemble's table of medians and bands, the policy's YAML)."""

from __future__ import annotations

import datetime as dt

import ipywidgets
import solara

from app.charts import action_marks, band_words, departures_figure, entries_figure, queue_figure
from app.mapview import EXTENTS, map_figure, map_heading, world_figure
from app.messages import Prose
from app.plotly_view import PlotlyView, figure_json
from app.routes import few_runs_warning, uncounted_caveat
from app.runs import Comparison, daily_csv_of
from app.scenario import base_config, policy_yaml
from app.summary import outcome_rows
from app.tables import csv_text, ensemble_table, outcomes_table
from sim.config import parse_date

# the map fills the window's height below the headline, the tabs and the slider (all of it in
# view at 1366 x 768), never less than 320 px
MAP_HEIGHT = "max(320px, calc(100vh - 330px))"


def horizon_dates() -> list[dt.date]:
    """The simulated days (the slider's dates before any run)."""
    cfg = base_config()
    start, end = parse_date(cfg.start, "start"), parse_date(cfg.end, "end")
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


@solara.component
def Caveats(comp: Comparison, world) -> None:
    """What to read beside any total: too few runs for an interval; the uncounted routes."""
    warning = few_runs_warning(len(comp.paired()))
    small = {"font-size": "0.78rem", "display": "block", "line-height": "1.25"}
    if warning:
        solara.Text("⚠ " + warning, classes=["few-runs"], style={**small, "color": "#b00020"})
    solara.Text(uncounted_caveat(list(world.country_names), list(world.country_kind)),
                classes=["uncounted-caveat"], style={**small, "color": "#6b4e00"})


@solara.component
def MapPanel(world, comp: Comparison | None, day, extent, shown) -> None:
    dates = comp.dates if comp is not None and comp.dates else horizon_dates()
    t = min(day.value, len(dates) - 1)
    with solara.Row(style={"align-items": "center", "flex-wrap": "nowrap"}, gap="12px"):
        ipywidgets.Play.element(value=t, min=0, max=len(dates) - 1, step=1, interval=900,
                                on_value=day.set)
        with solara.Div(style={"flex-grow": "1"}, classes=["day-slider"]):
            solara.SliderInt(f"{dates[t]:%a %d %b %Y} (day {t})", value=t, min=0,
                             max=len(dates) - 1, on_value=day.set, thumb_label=False,
                             tick_labels="end_points")
        with solara.Div(style={"width": "210px"}):
            solara.Select("extent", values=list(EXTENTS), value=extent, dense=True)
        if comp is not None:
            with solara.Div(style={"width": "150px"}):
                solara.Select("map of", values=["scenario", "2022"], value=shown, dense=True)
    frames, label = None, ""
    if comp is not None:
        label = comp.scenario if shown.value == "scenario" else "2022"
        frames = comp.frames.get(label)
    figure = solara.use_memo(
        lambda: figure_json(map_figure(world, t, frames, dates, extent.value)
                            if frames is not None else world_figure(extent.value)),
        dependencies=[id(comp), t, extent.value, shown.value])
    solara.Text(map_heading(label, t, frames, list(dates) if frames is not None else []),
                classes=["map-heading"], style={"font-weight": "bold", "font-size": "0.9em"})
    PlotlyView(figure=figure, height=MAP_HEIGHT, css_class="map")


@solara.component
def ComparisonPanel(comp: Comparison, country, post, world) -> None:
    resolution = comp.resolution
    rows = outcome_rows(comp, resolution)
    marks = action_marks(comp.first_config.policy) if comp.first_config is not None else []
    solara.Text("Outcomes: median (90 % interval) over "
                + ("posterior particles and seeds" if comp.over_posterior else "seeds")
                + f", {len(comp.paired())} paired runs; rounded to what they support",
                style={"font-weight": "bold"})
    table = ["| outcome | 2022 | " + comp.scenario + " | paired difference |",
             "|---|---|---|---|"]
    table += [f"| {r.words} | {r.baseline} | {r.scenario} | {r.difference} |" for r in rows]
    Prose("\n".join(table), style="font-size: 0.85em")
    Prose("\n".join(f"- {r.sentence}" for r in rows), classes=["outcome-sentences"])
    if marks:
        solara.Text("Dashed ochre lines: " + "; ".join(f"{d:%d %b} {w}" for d, w in marks),
                    style={"font-size": "0.8em"})
    solara.FigureMatplotlib(solara.use_memo(lambda: departures_figure(comp, marks),
                                            dependencies=[id(comp)]), format="png")
    names = [n for n, k in zip(world.country_names, world.country_kind, strict=True)
             if k != "return"]
    solara.Select("entries into", values=names, value=country)
    c = list(world.country_names).index(country.value)
    solara.FigureMatplotlib(solara.use_memo(lambda: entries_figure(comp, c, country.value, marks),
                                            dependencies=[id(comp), c]), format="png")
    land = [g for g, s in zip(world.gate_ids, world.gate_site, strict=True) if g == s]
    solara.Select("queue at", values=land, value=post)
    g = list(world.gate_ids).index(post.value)
    solara.FigureMatplotlib(solara.use_memo(lambda: queue_figure(comp, g, post.value, marks),
                                            dependencies=[id(comp), g]), format="png")
    solara.Text(band_words(comp), style={"font-size": "0.8em"})


@solara.component
def Downloads(comp: Comparison | None, policy, world) -> None:
    if comp is None or policy is None:
        solara.Info("Run a policy first: then its tables, daily.csv and YAML are here.")
        return
    Prose("**The ensemble**: medians and 90 % bands over the runs, by date, for 2022, the "
          "scenario and their paired difference (departures, cumulative departures, entries "
          "by destination, queues by exit), and the outcomes table as shown.")
    solara.FileDownload(lambda: csv_text(ensemble_table(comp, list(world.country_names),
                                                        list(world.gate_ids))),
                        filename=f"{policy.name}_ensemble.csv",
                        label="Download the ensemble's medians and bands (CSV)")
    solara.FileDownload(lambda: csv_text(outcomes_table(comp)),
                        filename=f"{policy.name}_outcomes.csv",
                        label="Download the outcomes table (CSV)")
    Prose("**One run**: the scenario's first run (seed 1) as `python -m sim` writes it, and the "
          f"policy the page built. Save the YAML as `conf/policy/{policy.name}.yaml` and run "
          f"`python -m sim policy={policy.name} population.scale=0.01`.")
    first = comp.first_config
    solara.FileDownload(lambda: daily_csv_of(first), filename="daily.csv",
                        label="Download daily.csv")
    text = policy_yaml(policy)
    solara.FileDownload(text, filename=f"{policy.name}.yaml",
                        label=f"Download {policy.name}.yaml")
    solara.Preformatted(text)
