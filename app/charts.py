"""The charts against 2022: medians and 90 % bands over posterior particles and seeds, the
paired difference, reported figures on the entries, the queue at one exit; the scenario's own
action dates marked on each."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from app.mapview import DATA
from app.runs import Comparison
from app.scenario import BASELINE, BASELINE_LABEL, catalogue_policy, scenario_config
from app.summary import band
from sim.config import ActionConfig, PolicyConfig

MARKS = ((dt.date(2022, 9, 21), "mobilisation announced"),
         (dt.date(2022, 9, 30), "Finland bars tourists"))
COLOURS = {BASELINE_LABEL: "#555555", "scenario": "#d9541e"}
ACTION_COLOUR = "#b8860b"
MAX_ACTION_MARKS = 6
Mark = tuple[dt.date, str]


def _key(action: ActionConfig) -> tuple:
    return (action.kind.value, tuple(action.targets), action.start, action.end,
            action.factor, action.probability, tuple(action.categories))


def _words(action: ActionConfig) -> str:
    return f"{action.kind.value} {','.join(action.targets)}"


@lru_cache(maxsize=1)
def _baseline_actions() -> tuple[ActionConfig, ...]:
    return tuple(scenario_config(catalogue_policy(BASELINE), 0.01).policy.actions)


def action_marks(policy: PolicyConfig) -> list[Mark]:
    """The dates where the scenario departs from 2022: its own actions' starts (and ends), and
    the starts of 2022's actions it leaves out. At most MAX_ACTION_MARKS, the earliest first."""
    base = _baseline_actions()
    base_keys = {_key(a) for a in base}
    own_keys = {_key(a) for a in policy.actions}
    marks: list[Mark] = []
    for action in policy.actions:
        if _key(action) in base_keys:
            continue
        marks.append((dt.date.fromisoformat(action.start), _words(action)))
        if action.end:
            marks.append((dt.date.fromisoformat(action.end), f"end: {_words(action)}"))
    marks += [(dt.date.fromisoformat(a.start), f"without {a.id or _words(a)}")
              for a in base if _key(a) not in own_keys]
    merged: dict[dt.date, list[str]] = {}
    for day, text in sorted(marks):
        merged.setdefault(day, []).append(text)
    return [(day, "; ".join(texts)) for day, texts in merged.items()][:MAX_ACTION_MARKS]


@lru_cache(maxsize=1)
def reported_daily_entries() -> pd.DataFrame:
    """Reported daily entries from Russia by destination (sim/data/observations_2022.csv rows
    of kind 'daily', direction 'entered_destination', all crossings). A small reader of its own:
    the page may not import experiments/, whose observation operator does much more."""
    obs = pd.read_csv(DATA / "observations_2022.csv", dtype=str)
    keep = ((obs["direction"] == "entered_destination") & (obs["kind"] == "daily")
            & obs["crossing"].fillna("").str.startswith("all")
            & obs["use"].isin(["fit", "context"]))
    rows = obs[keep].copy()
    rows["date"] = pd.to_datetime(rows["date"], errors="coerce", format="%Y-%m-%d")
    rows["value"] = pd.to_numeric(rows["value"], errors="coerce")
    return rows.dropna(subset=["date", "value"])[["date", "destination", "value", "id"]]


def _marks(ax: Axes, actions: list[Mark]) -> None:
    """2022's two landmarks, and the scenario's own action dates (dashed, in ochre)."""
    for i, (day, text) in enumerate(MARKS):
        ax.axvline(day, color="#3a3a8c", lw=0.9, ls=":")
        ax.annotate(text, (mdates.date2num(day), 1.0), xycoords=("data", "axes fraction"),
                    xytext=(3, -10 - 10 * i), textcoords="offset points", fontsize=7,
                    color="#3a3a8c")
    for i, (day, text) in enumerate(actions):
        ax.axvline(day, color=ACTION_COLOUR, lw=1.1, ls="--",
                   label="the scenario's actions" if i == 0 else None)
        ax.annotate(text, (mdates.date2num(day), 1.0), xycoords=("data", "axes fraction"),
                    xytext=(3, -10 - 10 * (i + len(MARKS))), textcoords="offset points",
                    fontsize=7, color=ACTION_COLOUR)


def _bands(ax: Axes, dates: list[dt.date], stacks: dict[str, np.ndarray],
           band_words: str) -> None:
    for label, stack in stacks.items():
        colour = COLOURS.get(label, COLOURS["scenario"])
        lo, mid, hi = band(stack)
        name = "2022 as it happened (historical)" if label == BASELINE_LABEL else label
        ax.fill_between(dates, lo, hi, color=colour, alpha=0.2, lw=0,
                        label=f"{name}: {band_words}")
        ax.plot(dates, mid, color=colour, lw=1.8, label=f"{name}: median")


def _finish(ax: Axes, title: str, ylabel: str, actions: list[Mark]) -> None:
    _marks(ax, actions)
    ax.set_title(title, fontsize=10, loc="left")
    ax.set_ylabel(ylabel)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper right")


def _stacks(comp: Comparison, series: Callable[[Any], np.ndarray]) -> dict[str, np.ndarray]:
    """[runs, days] of `series(run)` for 2022 and the scenario."""
    return {label: np.vstack([series(r) for r in comp.of(label)])
            for label in (BASELINE_LABEL, comp.scenario)}


def _banded_figure(comp: Comparison, series: Callable[[Any], np.ndarray],
                   height: float) -> tuple[Figure, Axes]:
    """One panel: 2022 and the scenario, medians and bands of `series(run)`."""
    fig = Figure(figsize=(10, height), dpi=80, layout="constrained")
    ax = fig.add_subplot()
    _bands(ax, comp.dates, _stacks(comp, series), band_words(comp))
    return fig, ax


def band_words(comp: Comparison) -> str:
    n = len(comp.of(comp.scenario))
    over = "posterior particles and seeds" if comp.over_posterior else "seeds"
    return f"90 % over {over} ({n} runs)"


def departures_figure(comp: Comparison, actions: list[Mark]) -> Figure:
    fig = Figure(figsize=(10, 6.4), dpi=80, layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2])
    words = band_words(comp)
    _bands(top, comp.dates, _stacks(comp, lambda r: r.departures), words)
    _finish(top, "Men leaving Russia each day", "people a day", actions)
    diff = np.vstack([own.departures - base.departures for own, base in comp.paired()])
    lo, mid, hi = band(diff)
    bottom.axhline(0, color="black", lw=0.6)
    bottom.fill_between(comp.dates, lo, hi, color=COLOURS["scenario"], alpha=0.2, lw=0,
                        label=f"paired difference: {words}")
    bottom.plot(comp.dates, mid, color=COLOURS["scenario"], lw=1.6,
                label="paired difference: median")
    _finish(bottom, f"{comp.scenario} minus 2022, same seeds and particles", "people a day",
            actions)
    return fig


def entries_figure(comp: Comparison, country: int, name: str, actions: list[Mark]) -> Figure:
    fig, ax = _banded_figure(comp, lambda r: r.entries[:, country], height=3.8)
    reported = reported_daily_entries()
    mine = reported[reported["destination"] == name]
    if len(mine):
        ax.scatter(mine["date"], mine["value"], color="black", zorder=5, s=18,
                   label="reported entries (observations_2022.csv)")
    _finish(ax, f"Entries into {name} from Russia each day (fleeing and ordinary travellers)",
            "people a day", actions)
    return fig


def queue_figure(comp: Comparison, gate: int, name: str, actions: list[Mark]) -> Figure:
    fig, ax = _banded_figure(comp, lambda r: r.queue[:, gate], height=3.6)
    _finish(ax, f"Queue at {name} at the end of each day", "people queued", actions)
    return fig
