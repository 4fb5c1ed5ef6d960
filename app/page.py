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

import solara
import solara.lab

from app.mapview import EXTENTS, warm_up
from app.messages import NO_PROBLEM, Problem, Prose, beside, problem_of
from app.panels import Caveats, ComparisonPanel, Downloads, MapPanel
from app.plotly_view import serve_plotly_js
from app.runs import MAX_RUNS, SCALES, Comparison, run_comparison, warm_workers
from app.scenario import (
    ACTION_KINDS,
    BASELINE,
    BEHAVIOUR_FIELDS,
    CUSTOM,
    base_config,
    catalogue,
    catalogue_policy,
    categories,
    custom_policy,
    data_world,
    describe,
    droppable,
    scenario_config,
)
from app.summary import headline
from sim.errors import InputError

NEW_ACTION = {"kind": "close", "targets": "FI", "start": "2022-09-26", "end": "",
              "value": "", "categories": ""}
VALUE_FIELD = {"capacity_factor": "factor", "draft_office": "probability"}
if "solara.server.app" in sys.modules:  # served by `solara run` (not merely imported, as the
    # layout test does): build the shared world meanwhile, and start the runs' workers
    serve_plotly_js()
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
def ActionEditor(index: int, row: dict[str, str], on_change, on_remove,
                 problem: Problem) -> None:
    def set_field(name: str):
        return lambda value: on_change(index, {**row, name: value})

    def error(name: str) -> str | bool:
        return beside(problem, f"action-{index}-{name}")

    with solara.Card(f"Action {index + 1}", margin=0, classes=["action-card"]):
        solara.Select("kind", values=ACTION_KINDS, value=row["kind"],
                      on_value=set_field("kind"), dense=True)
        solara.InputText("targets (comma-separated: FI, GE-01, AIR-SVO, all, land, air)",
                         value=row["targets"], on_value=set_field("targets"),
                         continuous_update=False, error=error("targets"),
                         classes=[f"action-{index}-targets"])
        with solara.Row():
            solara.InputText("from (YYYY-MM-DD)", value=row["start"],
                             on_value=set_field("start"), continuous_update=False,
                             error=error("start"), classes=[f"action-{index}-start"])
            solara.InputText("until (empty: to the end)", value=row["end"],
                             on_value=set_field("end"), continuous_update=False,
                             error=error("end"), classes=[f"action-{index}-end"])
        kind = row["kind"]
        if kind in VALUE_FIELD:
            solara.InputText("capacity factor" if kind == "capacity_factor"
                             else "call-up probability (0-1)", value=row["value"],
                             on_value=set_field("value"), continuous_update=False,
                             error=error("value"), classes=[f"action-{index}-value"])
        if kind in ("restrict", "exit_ban"):
            solara.InputText("categories (comma-separated)", value=row["categories"],
                             on_value=set_field("categories"), continuous_update=False,
                             error=error("categories"),
                             message="e.g. " + ", ".join(categories()[:6]))
        if problem.field == f"action-{index}-kind":
            solara.Text(problem.beside, style={"color": "#b00020"})
        solara.Button("remove", on_click=lambda: on_remove(index), text=True, small=True)


@solara.component
def Page() -> None:
    world = data_world()
    policy_name = solara.use_reactive("finland_stays_open")
    custom_name = solara.use_reactive("my_policy")
    base_name = solara.use_reactive(BASELINE)
    actions = solara.use_reactive([dict(NEW_ACTION)])
    dropped = solara.use_reactive([])  # the base's actions left out
    scale = solara.use_reactive(0.01)
    n_runs = solara.use_reactive(20)
    over_posterior = solara.use_reactive(True)
    calibrated = base_config().behaviour
    behaviour = solara.use_reactive({k: str(getattr(calibrated, k)) for k in BEHAVIOUR_FIELDS})
    problem = solara.use_reactive(NO_PROBLEM)
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
                                 name=custom_name.value.strip(),
                                 drop=[d for d in dropped.value
                                       if d in droppable(base_name.value)])
        return catalogue_policy(policy_name.value)

    def behaviour_edits() -> dict[str, str]:
        return {k: v for k, v in behaviour.value.items()
                if v.strip() != str(getattr(calibrated, k))}

    def refuse(err: Exception) -> None:
        problem.set(problem_of(err))
        progress.set((0.0, ""))

    def work() -> Comparison | None:
        problem.set(NO_PROBLEM)
        progress.set((0.0, "checking the inputs"))
        try:
            policy = current_policy()
            config = scenario_config(policy, scale.value, behaviour_edits())
            built_policy.set(policy)
            comp = run_comparison(config, n_runs.value, over_posterior.value,
                                  {f"behaviour.{k}" for k in behaviour_edits()},
                                  lambda share, text: progress.set((share, text)))
        except InputError as err:  # invalid: say so beside the field and at the top
            refuse(err)
            return None
        except Exception as err:  # never let an input take the server down
            traceback.print_exc()
            problem.set(Problem(f"Unexpected error ({type(err).__name__}): {err}", "", ""))
            progress.set((0.0, ""))
            return None
        comparison.set(comp)
        progress.set((1.0, f"done: {2 * len(comp.of(comp.scenario))} runs in "
                           f"{comp.seconds:.1f} s"))
        return comp

    task = solara.lab.use_task(work, dependencies=None)
    comp: Comparison | None = comparison.value

    with solara.Sidebar():
        Sidebar(policy_name, custom_name, base_name, actions, dropped, scale, n_runs,
                over_posterior, behaviour, problem.value)
        solara.Button("Run against 2022", color="primary", on_click=task,
                      disabled=task.pending, classes=["run-button"])
        Progress(progress, task.pending)

    solara.Title("The exodus after the 2022 mobilisation")
    with solara.Column(gap="4px"):
        if problem.value.message:  # at the top, where it is seen without scrolling
            solara.Error(problem.value.message, dense=True, classes=["input-error"])
        if comp is not None:
            solara.Text(headline(comp, comp.resolution), classes=["run-headline"],
                        style={"font-weight": "bold", "font-size": "0.95rem",
                               "line-height": "1.3", "display": "block"})
            Caveats(comp, world)
        with solara.lab.Tabs(lazy=True):  # draw only the tab in view
            with solara.lab.Tab("Map"):
                MapPanel(world, comp, day, extent, shown)
            with solara.lab.Tab("Against 2022"):
                if comp is None:
                    solara.Info("Run a policy to compare it with 2022.")
                else:
                    ComparisonPanel(comp, country, post, world)
            with solara.lab.Tab("Take it away"):
                Downloads(comp, built_policy.value, world)


@solara.component
def Sidebar(policy_name, custom_name, base_name, actions, dropped, scale, n_runs,
            over_posterior, behaviour, problem: Problem) -> None:
    """The policy and the runs' settings; an invalid value's message beside its field."""
    solara.Select("policy", values=[*catalogue(), CUSTOM], value=policy_name,
                  classes=["policy-select"])
    if policy_name.value == CUSTOM:
        solara.InputText("name of this policy (letters, digits, _ and -)", value=custom_name,
                         continuous_update=False, error=beside(problem, "name"),
                         classes=["policy-name"])
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
            ActionEditor(i, row, change, remove, problem)
        solara.Button("add an action", text=True,
                      on_click=lambda: actions.set([*actions.value, dict(NEW_ACTION)]))
    else:
        Prose(describe(policy_name.value), style="font-size: 0.85em")
    solara.Select("population scale", values=list(SCALES), value=scale)
    solara.InputInt(f"runs of each (1-{MAX_RUNS}; 20 or more for an interval)", value=n_runs,
                    classes=["n-runs"])
    if problem.field == "runs":
        solara.Text(problem.beside, style={"color": "#b00020", "font-size": "0.85em"})
    solara.Checkbox(label="over posterior particles (else the calibrated point)",
                    value=over_posterior)
    with solara.Details("behaviour parameters (calibrated values)",
                        expand=problem.field.startswith("behaviour-")):
        for key in BEHAVIOUR_FIELDS:
            solara.InputText(key, value=behaviour.value[key], continuous_update=False,
                             error=beside(problem, f"behaviour-{key}"),
                             classes=[f"behaviour-{key}"],
                             on_value=lambda v, k=key: behaviour.set({**behaviour.value, k: v}))


@solara.component
def Progress(progress, pending: bool) -> None:
    """Its own component: a progress update redraws the bar, not the page."""
    share, text = progress.value
    if pending:
        solara.ProgressLinear(value=share * 100 if share > 0 else True)
    solara.Text(text, classes=["progress-text"])
