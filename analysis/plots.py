"""Plots of the experiments, labelled for readers who work on policy rather than on the model.

Every figure shows medians over seeds with 90 % intervals (bands or whiskers); policies keep
the order of the experiment config; counts are in thousands of people.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: works on servers and in worker processes

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

ANNOUNCEMENT = dt.date(2022, 9, 21)
FINLAND_BAN = dt.date(2022, 9, 30)  # Finland bars Russian tourists
BASE_COLOUR = "0.45"
COLOUR = "tab:blue"
DPI = 130


def _save(fig: Any, path: Path) -> None:
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)


def _rows(table: pd.DataFrame, outcome: str, scenarios: Sequence[str]) -> pd.DataFrame:
    rows = table[table.outcome == outcome].set_index("scenario")
    return rows.loc[[s for s in scenarios if s in rows.index]]


def daily_departures(path: Path, bands: pd.DataFrame, scenarios: Sequence[str],
                     labels: dict[str, str], baseline: str,
                     series: str = "departures",
                     title: str = "Men leaving Russia per day, thousands",
                     over: str = "seeds") -> None:
    """Small multiples, one per policy, each with the baseline's median for reference.
    `over`: what the bands span ("posterior particles and seeds" with a posterior)."""
    n = len(scenarios)
    ncols = min(4, n)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.6 * ncols, 2.6 * nrows), sharex=True,
                             sharey=True, squeeze=False)
    data = bands[bands.series == series]
    base = data[data.scenario == baseline]
    for ax, sc in zip(axes.flat, scenarios, strict=False):
        own = data[data.scenario == sc]
        ax.fill_between(own.date, own.p05 / 1e3, own.p95 / 1e3, color=COLOUR, alpha=0.25,
                        linewidth=0, label=f"90 % over {over}")
        ax.plot(own.date, own["median"] / 1e3, color=COLOUR, linewidth=1.5, label="median")
        if sc != baseline:
            ax.plot(base.date, base["median"] / 1e3, color=BASE_COLOUR, linewidth=1,
                    linestyle="--", label=f"{labels.get(baseline, baseline)} (median)")
        ax.axvline(ANNOUNCEMENT, color="0.7", linewidth=0.8,
                   label="21 Sep: mobilisation announced")
        ax.axvline(FINLAND_BAN, color="0.7", linewidth=0.8, linestyle=":",
                   label="30 Sep: Finland bars Russian tourists")
        ax.set_title(labels.get(sc, sc), fontsize=9)
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%-d %b"))
        ax.xaxis.set_major_locator(mdates.WeekdayLocator(byweekday=mdates.WE, interval=2))
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    legend: dict[str, Any] = {}  # every entry of every panel (the baseline's line is not on its
    for ax in axes.flat[:n]:  # own panel)
        for handle, name in zip(*ax.get_legend_handles_labels(), strict=True):
            legend.setdefault(name, handle)
    fig.legend(list(legend.values()), list(legend), loc="lower center", ncol=5, fontsize=8,
               frameon=False, bbox_to_anchor=(0.5, -0.02))
    fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    _save(fig, path)


def destinations(path: Path, table: pd.DataFrame, scenarios: Sequence[str],
                 labels: dict[str, str], outcome_labels: dict[str, str], top: int = 6,
                 over: str = "seeds") -> None:
    """Where the men went first, by policy: one panel per leading country, the median and 90 %
    interval of every policy (a stacked bar would hide the intervals)."""
    keys = [k for k in outcome_labels if k.startswith("entered_")]
    medians = pd.DataFrame({k: _rows(table, k, scenarios)["median"] for k in keys}).fillna(0)
    shown = list(medians.sum().sort_values(ascending=False).index[:top])
    names = [labels.get(s, s) for s in medians.index]
    fig, axes = plt.subplots(1, len(shown), figsize=(2.3 * len(shown) + 2.2,
                                                     0.38 * len(names) + 1.6),
                             sharey=True, squeeze=False)
    y = np.arange(len(names))
    for ax, key in zip(axes[0], shown, strict=True):
        rows = _rows(table, key, scenarios)
        mid, lo, hi = (rows[c].to_numpy() / 1e3 for c in ("median", "p05", "p95"))
        ax.errorbar(mid, y, xerr=[mid - lo, hi - mid], fmt="o", ms=4, color="tab:blue",
                    ecolor="tab:blue", elinewidth=1.2, capsize=2)
        ax.set_title(outcome_labels[key].removeprefix("Entered "), fontsize=9)
        ax.set_xlim(left=0)
        ax.grid(axis="x", alpha=0.3)
        ax.tick_params(labelsize=8)
    axes[0][0].set_yticks(y, names)
    axes[0][0].invert_yaxis()
    fig.supxlabel(f"Men who entered first, thousands: median and 90 % interval over {over}",
                  fontsize=9)
    fig.suptitle("Where they went: first country entered, by the end of the period")
    _save(fig, path)


def interval_bars(path: Path, table: pd.DataFrame, scenarios: Sequence[str],
                  labels: dict[str, str], panels: Sequence[tuple[str, str, float]],
                  title: str, over: str = "seeds") -> None:
    """One horizontal bar chart per outcome: median and 90 % interval over seeds.

    panels: (outcome key, axis label, divisor) each.
    """
    fig, axes = plt.subplots(1, len(panels), figsize=(4.3 * len(panels),
                                                     0.4 * len(scenarios) + 1.6),
                             sharey=True, squeeze=False)
    for ax, (key, xlabel, divisor) in zip(axes[0], panels, strict=True):
        rows = _rows(table, key, scenarios)
        mid = rows["median"].to_numpy() / divisor
        err = np.vstack([mid - rows.p05.to_numpy() / divisor,
                         rows.p95.to_numpy() / divisor - mid])
        ax.barh([labels.get(s, s) for s in rows.index], mid, color=COLOUR, alpha=0.8,
                xerr=np.nan_to_num(np.maximum(err, 0)), ecolor="0.2", capsize=2)
        ax.set_xlabel(xlabel, fontsize=9)
        ax.grid(axis="x", alpha=0.3)
    axes[0][0].invert_yaxis()
    fig.suptitle(f"{title} (bars: median; whiskers: 90 % over {over})", fontsize=11)
    fig.tight_layout()
    _save(fig, path)


def change_from_baseline(path: Path, table: pd.DataFrame, scenarios: Sequence[str],
                         labels: dict[str, str], baseline: str,
                         panels: Sequence[tuple[str, str]], over: str = "seeds") -> None:
    """Paired differences from the baseline (same seeds), median and 90 % interval."""
    others = [s for s in scenarios if s != baseline]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels),
                                                     0.4 * len(others) + 1.8),
                             sharey=True, squeeze=False)
    for ax, (key, xlabel) in zip(axes[0], panels, strict=True):
        rows = _rows(table, key, others)
        mid = rows.diff_median.to_numpy() / 1e3
        err = np.vstack([mid - rows.diff_p05.to_numpy() / 1e3,
                         rows.diff_p95.to_numpy() / 1e3 - mid])
        y = np.arange(len(rows))
        ax.errorbar(mid, y, xerr=np.maximum(err, 0), fmt="none", ecolor="0.3", capsize=2)
        ax.scatter(mid, y, color=COLOUR, zorder=3)
        ax.axvline(0, color="0.3", linewidth=0.8)
        ax.set_yticks(y, [labels.get(s, s) for s in rows.index])
        ax.set_xlabel(xlabel, fontsize=9)
        ax.grid(axis="x", alpha=0.3)
    axes[0][0].invert_yaxis()
    fig.suptitle(f"Difference from '{labels.get(baseline, baseline)}', same seeds "
                 f"(dot: median; whiskers: 90 % over {over})", fontsize=11)
    fig.tight_layout()
    _save(fig, path)


def comparison_plots(folder: Path, table: pd.DataFrame, bands: pd.DataFrame, *,
                     scenarios: Sequence[str], labels: dict[str, str], baseline: str,
                     outcomes: Sequence[Any], over: str = "seeds") -> list[Path]:
    """Every figure of a policy comparison, written into `folder`; returns their paths.
    `over`: what the 90 % intervals span, "posterior particles and seeds" with a posterior."""
    folder = Path(folder)
    outcome_labels = {o.key: o.label for o in outcomes}
    paths = {name: folder / f"{name}.png" for name in (
        "departures_per_day", "destinations", "stopped_at_border", "queue_waits",
        "change_from_baseline")}
    daily_departures(paths["departures_per_day"], bands, scenarios, labels, baseline,
                     over=over)
    destinations(paths["destinations"], table, scenarios, labels, outcome_labels,
                 over=over)
    interval_bars(paths["stopped_at_border"], table, scenarios, labels, [
        ("stopped_at_border", "Called up at the border, thousands", 1e3),
        ("refused_at_border", "Turned back at the border (closure, ban), thousands", 1e3),
        ("refused_entry", "Refused entry by the destination, thousands", 1e3),
    ], title="Stopped at the border", over=over)
    interval_bars(paths["queue_waits"], table, scenarios, labels, [
        ("mean_wait_days", "Mean wait of those who crossed, days", 1.0),
        ("peak_wait_days", "Longest mean wait at one exit on one day, days", 1.0),
        ("still_queued_at_end", "Still queuing at the end, thousands", 1e3),
    ], title="Queues at the border", over=over)
    change_from_baseline(paths["change_from_baseline"], table, scenarios, labels, baseline, [
        ("left_by_2022_10_04", "Men who left Russia by 4 Oct, thousands"),
        ("left_by_end", "Men who left Russia by the end, thousands"),
        ("stopped_at_border", "Called up at the border, thousands"),
    ], over=over)
    return list(paths.values())
