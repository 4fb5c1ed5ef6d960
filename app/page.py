"""The page (Solara): pick or build a policy, run it beside 2022, read the map and the numbers.

Every piece of state lives in the `Page` component (`solara.use_reactive`), so each browser tab
has its own; the only thing sessions share is the world the runs read (`app.scenario`), which
nothing writes. Served by `make app` (`solara run app.page`).
"""

from __future__ import annotations

import sys
import threading
import traceback
from typing import Any

import ipywidgets
import solara
import solara.lab

from app.charts import departures_figure, entries_figure, queue_figure
from app.mapview import EXTENTS, map_png, warm_up
from app.runs import (
    MAX_RUNS,
    SCALES,
    Comparison,
    daily_csv_of,
    run_comparison,
    warm_workers,
)
from app.scenario import (
    ACTION_KINDS,
    BASELINE,
    BEHAVIOUR_FIELDS,
    CUSTOM,
    base_config,
    catalogue,
    catalogue_policy,
    categories,
    checked,
    custom_policy,
    data_world,
    describe,
    droppable,
    policy_yaml,
    scenario_config,
)
from app.summary import headline, outcome_rows

NEW_ACTION = {"kind": "close", "targets": "FI", "start": "2022-09-26", "end": "",
              "value": "", "categories": ""}
VALUE_FIELD = {"capacity_factor": "factor", "draft_office": "probability"}
if "solara.server.app" in sys.modules:  # served by `solara run` (not merely imported, as the
    # layout test does): build the shared world meanwhile, and start the runs' workers
    warm_up()
    threading.Thread(target=warm_workers, name="warm-workers", daemon=True).start()


def _form_to_action(row: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {k: row.get(k, "") for k in ("kind", "targets", "start", "end",
                                                          "categories")}
    field = VALUE_FIELD.get(row.get("kind", ""))
    if field:
        out[field] = row.get("value", "") or ("1.0" if field == "factor" else "0.0")
    return out


@solara.component
def ActionEditor(index: int, row: dict[str, str], on_change, on_remove) -> None:
    def set_field(name: str):
        return lambda value: on_change(index, {**row, name: value})

    with solara.Card(f"Action {index + 1}", margin=0, classes=["action-card"]):
        solara.Select("kind", values=ACTION_KINDS, value=row["kind"],
                      on_value=set_field("kind"), dense=True)
        solara.InputText("targets (ids, comma-separated: FI, GE-01, AIR-SVO, all, land, air)",
                         value=row["targets"], on_value=set_field("targets"),
                         continuous_update=False, classes=[f"action-{index}-targets"])
        with solara.Row():
            solara.InputText("from (YYYY-MM-DD)", value=row["start"],
                             on_value=set_field("start"), continuous_update=False,
                             classes=[f"action-{index}-start"])
            solara.InputText("until (empty: to the end)", value=row["end"],
                             on_value=set_field("end"), continuous_update=False)
        kind = row["kind"]
        if kind in VALUE_FIELD:
            solara.InputText("capacity factor" if kind == "capacity_factor"
                             else "call-up probability (0-1)", value=row["value"],
                             on_value=set_field("value"), continuous_update=False,
                             classes=[f"action-{index}-value"])
        if kind in ("restrict", "exit_ban"):
            solara.InputText("categories (comma-separated)", value=row["categories"],
                             on_value=set_field("categories"), continuous_update=False,
                             message="e.g. " + ", ".join(categories()[:6]))
        solara.Button("remove", on_click=lambda: on_remove(index), text=True, small=True)


@solara.component
def Page() -> None:
    world = data_world()
    policy_name = solara.use_reactive("finland_stays_open")
    base_name = solara.use_reactive(BASELINE)
    actions = solara.use_reactive([dict(NEW_ACTION)])
    dropped = solara.use_reactive([])  # the base's actions left out
    scale = solara.use_reactive(0.01)
    n_runs = solara.use_reactive(10)
    over_posterior = solara.use_reactive(True)
    calibrated = base_config().behaviour
    behaviour = solara.use_reactive({k: str(getattr(calibrated, k)) for k in BEHAVIOUR_FIELDS})
    message = solara.use_reactive("")
    progress = solara.use_reactive((0.0, ""))
    comparison = solara.use_reactive(None)
    built_policy = solara.use_reactive(None)
    day = solara.use_reactive(20)
    extent = solara.use_reactive(next(iter(EXTENTS)))
    shown = solara.use_reactive("scenario")
    country = solara.use_reactive("Kazakhstan")
    post = solara.use_reactive("GE-01")

    def current_policy():
        if policy_name.value == CUSTOM:
            return custom_policy(base_name.value, [_form_to_action(r) for r in actions.value],
                                 drop=[d for d in dropped.value
                                       if d in droppable(base_name.value)])
        return catalogue_policy(policy_name.value)

    def behaviour_edits() -> dict[str, str]:
        return {k: v for k, v in behaviour.value.items()
                if v.strip() != str(getattr(calibrated, k))}

    def work() -> Comparison | None:
        message.set("")
        progress.set((0.0, "checking the inputs"))
        try:
            policy, error = checked(current_policy)
            config = None
            if error is None:
                config, error = checked(scenario_config, policy, scale.value, behaviour_edits())
            if error is not None:  # invalid: say so, run nothing
                message.set(error)
                progress.set((0.0, ""))
                return None
            built_policy.set(policy)
            comp, error = checked(
                run_comparison, config, n_runs.value, over_posterior.value,
                {f"behaviour.{k}" for k in behaviour_edits()},
                lambda share, text: progress.set((share, text)))
            if error is not None:
                message.set(error)
                progress.set((0.0, ""))
                return None
            comparison.set(comp)
            progress.set((1.0, f"done: {2 * len(comp.of(comp.scenario))} runs in "
                               f"{comp.seconds:.1f} s"))
            return comp
        except Exception as err:  # never let an input take the server down
            traceback.print_exc()
            message.set(f"Unexpected error ({type(err).__name__}): {err}")
            progress.set((0.0, ""))
            return None

    task = solara.lab.use_task(work, dependencies=None)
    comp: Comparison | None = comparison.value

    with solara.Sidebar():
        solara.Markdown("### Policy")
        solara.Select("policy", values=[*catalogue(), CUSTOM], value=policy_name,
                      classes=["policy-select"])
        if policy_name.value == CUSTOM:
            solara.Select("on top of", values=catalogue(), value=base_name)
            solara.SelectMultiple("without these of its actions (e.g. to open a border)",
                                  values=[d for d in dropped.value
                                          if d in droppable(base_name.value)],
                                  all_values=droppable(base_name.value),
                                  on_value=dropped.set, dense=True)

            def change(i: int, row: dict[str, str]) -> None:
                rows = list(actions.value)
                rows[i] = row
                actions.set(rows)

            def remove(i: int) -> None:
                actions.set([r for j, r in enumerate(actions.value) if j != i])

            for i, row in enumerate(actions.value):
                ActionEditor(i, row, change, remove)
            solara.Button("add an action", text=True,
                          on_click=lambda: actions.set([*actions.value, dict(NEW_ACTION)]))
        else:
            solara.Text(describe(policy_name.value), style={"font-size": "0.85em"})
        solara.Markdown("### Runs")
        solara.Select("population scale", values=list(SCALES), value=scale)
        solara.InputInt(f"runs of each (1-{MAX_RUNS})", value=n_runs, classes=["n-runs"])
        solara.Checkbox(label="over posterior particles (else the calibrated point)",
                        value=over_posterior)
        with solara.Details("behaviour parameters (calibrated values)"):
            for key in BEHAVIOUR_FIELDS:
                solara.InputText(key, value=behaviour.value[key], continuous_update=False,
                                 on_value=lambda v, k=key: behaviour.set(
                                     {**behaviour.value, k: v}))
        solara.Button("Run against 2022", color="primary", on_click=task,
                      disabled=task.pending, classes=["run-button"])
        Progress(progress, task.pending)
        if message.value:
            solara.Error(message.value, classes=["input-error"])

    solara.Title("The exodus after the 2022 mobilisation")
    with solara.Column():
        if comp is not None:
            resolution = comp.resolution
            solara.Div(children=[solara.Text(headline(comp, resolution))],
                       classes=["headline"], style={"font-size": "1.1em", "font-weight": "bold"})
        with solara.lab.Tabs(lazy=True):  # draw only the tab in view
            with solara.lab.Tab("Map"):
                MapPanel(world, comp, day, extent, shown)
            with solara.lab.Tab("Against 2022"):
                if comp is None:
                    solara.Info("Run a policy to compare it with 2022.")
                else:
                    ComparisonPanel(comp, country, post, world)
            with solara.lab.Tab("Take it away"):
                Downloads(comp, built_policy.value)


@solara.component
def Progress(progress, pending: bool) -> None:
    """Its own component: a progress update redraws the bar, not the page."""
    share, text = progress.value
    if pending:
        solara.ProgressLinear(value=share * 100 if share > 0 else True)
    solara.Text(text, classes=["progress-text"])


@solara.component
def MapPanel(world, comp: Comparison | None, day, extent, shown) -> None:
    n_days = len(comp.dates) if comp is not None else 78
    with solara.Row(style={"align-items": "center"}):
        ipywidgets.Play.element(value=day.value, min=0, max=n_days - 1, step=1, interval=900,
                                on_value=day.set)
        with solara.Div(style={"flex-grow": "1"}):
            solara.SliderInt("day", value=day, min=0, max=n_days - 1)
    with solara.Row():
        solara.Select("extent", values=list(EXTENTS), value=extent, dense=True)
        if comp is not None:
            solara.Select("map of", values=["scenario", "2022"], value=shown, dense=True)
    frames, title, dates = None, "", []
    if comp is not None:
        label = comp.scenario if shown.value == "scenario" else "2022"
        frames = comp.frames.get(label)
        title, dates = f"{label} (run 1)", comp.dates
    image = solara.use_memo(
        lambda: map_png(world, day.value, frames, dates, extent.value, title),
        dependencies=[id(comp), day.value, extent.value, shown.value])
    solara.Div(children=[solara.Image(image)], classes=["map"])


@solara.component
def ComparisonPanel(comp: Comparison, country, post, world) -> None:
    resolution = comp.resolution
    rows = outcome_rows(comp, resolution)
    solara.Markdown("#### Outcomes: median (90 % interval) over "
                    + ("posterior particles and seeds" if comp.over_posterior else "seeds")
                    + f", {len(comp.of(comp.scenario))} paired runs; rounded to what they "
                    "support")
    table = ["| outcome | 2022 | " + comp.scenario + " | paired difference |",
             "|---|---|---|---|"]
    table += [f"| {r.words} | {r.baseline} | {r.scenario} | {r.difference} |" for r in rows]
    solara.Div(children=[solara.Markdown("\n".join(table))], style={"font-size": "0.85em"})
    solara.Div(children=[solara.Markdown("\n".join(f"- {r.sentence}" for r in rows))],
               classes=["outcome-sentences"])
    solara.FigureMatplotlib(solara.use_memo(lambda: departures_figure(comp),
                                            dependencies=[id(comp)]), format="png")
    names = [n for n, k in zip(world.country_names, world.country_kind, strict=True)
             if k != "return"]
    solara.Select("entries into", values=names, value=country)
    c = list(world.country_names).index(country.value)
    solara.FigureMatplotlib(solara.use_memo(lambda: entries_figure(comp, c, country.value),
                                            dependencies=[id(comp), c]), format="png")
    land = [g for g, s in zip(world.gate_ids, world.gate_site, strict=True) if g == s]
    solara.Select("queue at", values=land, value=post)
    g = list(world.gate_ids).index(post.value)
    solara.FigureMatplotlib(solara.use_memo(lambda: queue_figure(comp, g, post.value),
                                            dependencies=[id(comp), g]), format="png")


@solara.component
def Downloads(comp: Comparison | None, policy) -> None:
    if comp is None or policy is None:
        solara.Info("Run a policy first: then its daily.csv and its YAML are here.")
        return
    solara.Markdown(
        "The scenario's first run (seed 1) as `python -m sim` writes it, and the policy the "
        f"page built. Save the YAML as `conf/policy/{policy.name}.yaml` and run "
        f"`python -m sim policy={policy.name} population.scale=0.01`.")
    first = comp.first_config
    solara.FileDownload(lambda: daily_csv_of(first), filename="daily.csv",
                        label="Download daily.csv")
    text = policy_yaml(policy)
    solara.FileDownload(text, filename=f"{policy.name}.yaml",
                        label=f"Download {policy.name}.yaml")
    solara.Markdown(f"```yaml\n{text}```")
