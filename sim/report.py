"""The answer in words and pictures: report.md and its plots, from an ensemble and its summary.

How many left by 24 September, 4 October and the end, and how many were abroad at the end; by
route (land posts by country, air by destination, the busiest exits by name); by date (daily and
cumulative, the policy's action dates marked); queues; and which routes no count constrains.
Every figure is a median with its 90 % interval over the runs, rounded to what they support.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.answer import answer
from sim.atomic import atomic_write_text
from sim.results import band, supported

if TYPE_CHECKING:
    from sim.ensemble import Ensemble

HEADLINE = ("left_by_2022_09_24", "left_by_2022_10_04", "left_by_end", "abroad_at_end")
PLOTS = {"by_date": "by_date.png", "routes": "routes.png", "queues": "queues.png"}
TOP_QUEUES = 5


def number(value: float, unit: str = "people") -> str:
    if not np.isfinite(value):
        return "–"
    if unit == "days":
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return f"{value:,.0f}"


def figure_text(fig: dict[str, Any], unit: str = "people", runs: int = 2) -> str:
    """'840,000 (90 %: 510,000 to 1,440,000)', rounded to what the runs support."""
    r = fig["rounded"]
    if runs == 1:
        return number(r["median"], unit)
    return (f"{number(r['median'], unit)} (90 %: {number(r['p05'], unit)} to "
            f"{number(r['p95'], unit)})")


def _end_label(ens: Ensemble) -> str:
    end = dt.date.fromisoformat(str(ens.config.end)[:10])
    return f"{end.day} {end:%b}"


def headline_sentences(ens: Ensemble, found: dict[str, Any] | None = None) -> list[str]:
    """The headline figures, a sentence each."""
    found = found or answer(ens)
    fig, runs, end = found["figures"], ens.runs, _end_label(ens)
    words = {"left_by_2022_09_24": "left Russia by 24 Sep",
             "left_by_2022_10_04": "left Russia by 4 Oct",
             "left_by_end": f"left Russia by {end}",
             "abroad_at_end": f"were abroad on {end}"}
    lines = [f"Under '{ens.label}', {figure_text(fig[k], runs=runs)} men {words[k]}."
             for k in HEADLINE]
    half, ninety = (found["dates_by_which_left"].get(k) for k in ("half", "ninety_percent"))
    if half and ninety:
        lines.append(f"Half of those who left by {end} had left by {_day(half['median'])}, "
                     f"90 % by {_day(ninety['median'])} (medians over the runs).")
    lines.append(f"{ens.describe_draws()[0].upper()}{ens.describe_draws()[1:]}.")
    if ens.caveat():
        lines.append(ens.caveat())
    return lines


def _day(iso: str) -> str:
    day = dt.date.fromisoformat(iso)
    return f"{day.day} {day:%b}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |",
            "| " + " | ".join(["---"] + ["---:"] * (len(header) - 1)) + " |",
            *("| " + " | ".join(r) + " |" for r in rows), ""]


def report_markdown(ens: Ensemble, summary: dict[str, Any]) -> str:
    """report.md: the answer in words, with tables and the plots."""
    runs = ens.runs
    fig = summary["figures"]
    policy = ens.config.policy
    routes = summary["routes"]
    lines = [f"# {policy.name}: who left Russia, by which routes, by when", ""]
    if policy.description:
        lines += [policy.description.strip(), ""]
    lines += [f"Population scale {ens.config.population.scale} (one agent stands for "
              f"{number(ens.resolution)} men), {ens.config.start} to {ens.config.end}; "
              f"{ens.describe_draws()}; {ens.seconds:.1f} s. Figures are real-population "
              "equivalents: the median over the runs and its 90 % interval, rounded to what the "
              "runs support.", ""]
    if ens.caveat():
        lines += [f"**{ens.caveat()}**", ""]
    lines += ["## How many", ""]
    lines += [f"- {s}" for s in headline_sentences(ens, summary)[:-1 if not ens.caveat()
                                                                   else -2]]
    lines += [""]
    lines += _table(["Outcome", "Median (90 % interval)"],
                    [[f["label"], figure_text(f, f["unit"], runs)] for k, f in fig.items()
                     if not k.startswith("entered_")])
    lines += ["## By route", "",
              "Land posts by destination country (men let in over the whole horizon):", ""]
    lines += _table(["Country", "Men", "Counted"],
                    [[r["name"], figure_text(r, runs=runs), "yes" if r["counted"] else "**no**"]
                     for r in routes["land_by_country"]])
    lines += ["Air, by destination:", ""]
    lines += _table(["Destination", "Men", "Counted"],
                    [[r["name"], figure_text(r, runs=runs), "yes" if r["counted"] else "**no**"]
                     for r in routes["air_by_destination"]])
    lines += ["The busiest exits:", ""]
    lines += _table(["Exit", "Men"], [[r["label"], figure_text(r, runs=runs)]
                                      for r in routes["top_exits"]])
    lines += [f"![routes]({PLOTS['routes']})", "", "## By date", ""]
    actions = summary["actions"]
    if actions:
        lines += ["The policy's actions (dashed lines on the charts):", ""]
        lines += [f"- {a['start']}{' to ' + a['end'] if a['end'] else ''}: {a['kind']} at "
                  f"{', '.join(a['target_names'])}" for a in actions]
        lines += [""]
    lines += [f"![by date]({PLOTS['by_date']})", "", "## Queues", ""]
    lines += _table(["Exit", "Longest queue (people)", "Around"],
                    [[q["label"], figure_text(q, runs=runs), _day(q["day"])]
                     for q in summary["peak_queues"]])
    lines += [f"![queues]({PLOTS['queues']})", "", "## Routes no count constrains", ""]
    uncounted = summary["uncounted_routes"]
    if uncounted:
        total = fig["left_by_end"]["median"]
        lines += ["No reported count of these destinations was fitted: the model sends men "
                  "there as its route choice gives, and nothing checks the numbers. Read the "
                  "totals with them in mind.", ""]
        lines += _table(["Destination", "Men", "Share of the median total"],
                        [[u["name"], figure_text(_as_figure(u, ens), runs=runs),
                          _share(u["median"], total)]
                         for u in uncounted])
    else:
        lines += ["Every destination that men entered is constrained by at least one count.",
                  ""]
    lines += ["## Files", "",
              "daily.csv (every exit, country and region by day: median and 90 % band; the "
              "`kind` column says whether a metric is a daily flow or a stock), runs.csv (one "
              "row per run), summary.json (these figures, with ids and names).", ""]
    return "\n".join(lines)


def _share(part: float, total: float) -> str:
    if total <= 0:
        return "–"
    share = 100 * part / total
    return "under 1 %" if share < 1 else f"{share:.0f} %"


def _as_figure(row: dict[str, Any], ens: Ensemble) -> dict[str, Any]:
    mid, lo, hi = supported(row["median"], row["p05"], row["p95"], ens.resolution)
    return {"rounded": {"median": mid, "p05": lo, "p95": hi}}


# ---- plots ------------------------------------------------------------------------------------
def _action_lines(ax: Any, ens: Ensemble) -> None:
    for i, action in enumerate(ens.config.policy.actions):
        day = np.datetime64(str(action.start)[:10])
        ax.axvline(day, color="0.4", linestyle="--", linewidth=0.8,
                   label="policy actions" if i == 0 else None)


def plot_all(ens: Ensemble, folder: Path, summary: dict[str, Any] | None = None
             ) -> list[Path]:
    """by_date.png, routes.png and queues.png into `folder`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = summary or answer(ens)
    series = ens.series()
    paths = []

    fig, (daily, cumulative) = plt.subplots(2, 1, figsize=(9, 7), sharex=True)
    for ax, name, title in ((daily, "departures", "Men leaving Russia per day"),
                            (cumulative, "left_cumulative", "Men who had left Russia")):
        s = series[series.series == name]
        ax.fill_between(s.date, s.p05, s.p95, alpha=0.3, label="90 % of runs")
        ax.plot(s.date, s["median"], label="median")
        _action_lines(ax, ens)
        ax.set_title(title)
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    for day in ("2022-09-24", "2022-10-04"):
        cumulative.axvline(np.datetime64(day), color="tab:red", linewidth=0.6, alpha=0.6)
    daily.legend(loc="upper right")
    fig.autofmt_xdate()
    fig.tight_layout()
    paths.append(_save(fig, folder / PLOTS["by_date"]))

    routes = summary["routes"]
    rows = ([(f"land: {r['name']}", r) for r in routes["land_by_country"]]
            + [(f"air: {r['name']}", r) for r in routes["air_by_destination"]])
    rows = sorted(rows, key=lambda x: x[1]["median"])
    fig, ax = plt.subplots(figsize=(9, max(3, 0.3 * len(rows) + 1)))
    y = np.arange(len(rows))
    med = np.array([r["median"] for _, r in rows])
    lo = np.array([r["p05"] for _, r in rows])
    hi = np.array([r["p95"] for _, r in rows])
    colours = ["tab:blue" if r["counted"] else "tab:orange" for _, r in rows]
    ax.barh(y, med, color=colours, xerr=[med - lo, hi - med], ecolor="0.3", capsize=2)
    ax.set_yticks(y, [name for name, _ in rows])
    ax.set_title("Men let in, by route (blue: counted; orange: no count constrains it)")
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    fig.tight_layout()
    paths.append(_save(fig, folder / PLOTS["routes"]))

    fig, ax = plt.subplots(figsize=(9, 4.5))
    dates = np.array(ens.results[0].dates, dtype="datetime64[D]")
    index = ens.results[0].world.gate_index()
    for q in summary["peak_queues"][:TOP_QUEUES]:
        stack = np.stack([r.queue[:, index[q["id"]]] for r in ens.results])
        lo_q, mid_q, hi_q = band(stack)
        line = ax.plot(dates, mid_q, label=q["label"])[0]
        ax.fill_between(dates, lo_q, hi_q, alpha=0.2, color=line.get_color())
    _action_lines(ax, ens)
    ax.set_title("People queuing at the busiest exits (median, 90 % of runs)")
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.legend(fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    paths.append(_save(fig, folder / PLOTS["queues"]))
    return paths


def _save(fig: Any, path: Path) -> Path:
    import matplotlib.pyplot as plt

    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    tmp.replace(path)
    return path


def write_report(ens: Ensemble, summary: dict[str, Any], folder: Path) -> Path:
    """report.md and its plots into `folder`."""
    plot_all(ens, folder, summary)
    path = Path(folder) / "report.md"
    atomic_write_text(path, report_markdown(ens, summary))
    return path
