"""Property-based tests that look for what nobody thought of.

Each draw - a config, a policy, a data cell, an observation row - either runs (tiny scale,
short horizon) with every invariant holding on every day (tests/invariants.py), or is rejected
before any run with an input error that names the drawn field. Anything else - a numpy error,
a crash, an invariant broken - is a failure that hypothesis shrinks to a minimal example.

Hostile text (interpolations, path fragments, YAML aliases and headers, pickles) is drawn into
the page's text fields, policy files, posterior files and names: each is refused with an input
error or taken as plain data, never resolved, executed or followed out of its folder.

Profiles (tests/conftest.py): `quick` in `make test`; `HYPOTHESIS_PROFILE=long` for a search of
many examples (`make fuzz`).
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import datetime as dt
import math
import shutil
import tempfile
import typing
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from sim.config import (
    ActionConfig,
    ActionKind,
    BehaviourConfig,
    NetworkConfig,
    PolicyConfig,
    PopulationConfig,
    SimConfig,
    load_config,
    to_sim_config,
)
from sim.datasets import FILES, default_data_dir, load_tables
from sim.errors import DataError, InputError
from sim.model import MobilisationModel
from sim.network import build_world
from sim.parallel import world_for

from .invariants import run_checked

# a RuntimeWarning (overflow, invalid value) is numpy computing with what it should never see
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

START, END = dt.date(2022, 9, 14), dt.date(2022, 10, 5)
BASE = ["policy=open", "population.scale=0.0005", f"end={END}", "progress=false"]
# the harness's own settings: not drawn (a drawn scale of 1.0 would be a full-size run)
NOT_DRAWN = {"population.scale", "network.data_dir"}


@cache
def base_config() -> SimConfig:
    return load_config(BASE)


# ---- numbers: valid, at the edges, and the ones that broke things before ------------------------
SPECIAL = st.sampled_from([math.nan, math.inf, -math.inf, -1.0, 0.0, 1e-300, 1e300])


def numbers(default: float) -> st.SearchStrategy[float]:
    scale = max(abs(default), 1.0)
    return st.one_of(SPECIAL, st.floats(0.0, 3 * scale, allow_nan=False),
                     st.floats(-scale, 3 * scale, allow_nan=False))


def _numeric_leaves(obj: object, path: str) -> list[tuple[str, object]]:
    """(dotted path, value) of every number in a config dataclass: new fields are fuzzed too."""
    leaves: list[tuple[str, object]] = []
    for f in dataclasses.fields(obj):  # type: ignore[arg-type]
        value, where = getattr(obj, f.name), f"{path}.{f.name}"
        if where in NOT_DRAWN:
            continue
        if isinstance(value, bool | str):
            continue
        if isinstance(value, int | float):
            leaves.append((where, value))
        elif isinstance(value, list) and value and isinstance(value[0], int | float):
            leaves.extend((f"{where}[{i}]", v) for i, v in enumerate(value))
        elif isinstance(value, dict):
            leaves.extend((f"{where}.{k}", v) for k, v in value.items()
                          if isinstance(v, int | float))
    return leaves


def _leaves() -> list[tuple[str, object]]:
    cfg = base_config()
    return [*_numeric_leaves(cfg.network, "network"),
            *_numeric_leaves(cfg.population, "population"),
            *_numeric_leaves(cfg.behaviour, "behaviour")]


def _set(cfg: SimConfig, path: str, value: object) -> None:
    head, _, last = path.rpartition(".")
    node: typing.Any = cfg
    for part in head.split("."):
        node = getattr(node, part)
    if last.endswith("]"):
        name, index = last[:-1].split("[")
        getattr(node, name)[int(index)] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        setattr(node, last, value)


@st.composite
def config_edits(draw) -> list[tuple[str, object]]:
    leaves = _leaves()
    chosen = draw(st.permutations(range(len(leaves))))[: draw(st.integers(1, 3))]
    edits = []
    for i in chosen:
        path, default = leaves[i]
        if isinstance(default, int):
            value: object = draw(st.one_of(st.integers(-3, 3 * max(default, 1)),
                                           st.sampled_from([2**40, -(2**40)])))
        else:
            value = draw(numbers(float(default)))
        edits.append((path, value))
    return edits


def _named(err: InputError, paths: list[str]) -> bool:
    text = str(err)
    return any(p.split("[")[0] in text or p.rsplit(".", 1)[-1].split("[")[0] in text
               for p in paths)


def _runs_or_is_named(cfg: SimConfig, paths: list[str], world=None) -> None:
    """The property: a clean rejection naming one of `paths`, or a run whose every day holds."""
    try:
        checked = to_sim_config(cfg)
        model = MobilisationModel(checked, world=world if world is not None
                                  else world_for(checked.network))
    except InputError as err:
        assert _named(err, paths), f"{err!s} names none of {paths}"
        event(f"rejected: {type(err).__name__}")
        return
    run_checked(model)
    event("ran, invariants held")


@given(config_edits())
def test_drawn_configs_run_with_invariants_or_are_rejected_by_name(edits):
    cfg = copy.deepcopy(base_config())
    for path, value in edits:
        _set(cfg, path, value)
    _runs_or_is_named(cfg, [p for p, _ in edits])


# ---- policies -----------------------------------------------------------------------------------
# valid values several times over, so that most draws run; one bogus value each
TARGETS = ["all", "land", "air", "GE-01", "FI", "KZ", "AIR-SVO", "AIR-SVO>TR"] * 4 + ["NOWHERE"]
CATEGORIES = ["all", "military_experience", "foreign_passport", "exempt", "local", "age_16-26",
              "means_high"] * 3 + ["bogus"]


@st.composite
def actions(draw) -> ActionConfig:
    kind = draw(st.sampled_from(list(ActionKind)))
    day = draw(st.integers(-3, (END - START).days + 3))
    start = START + dt.timedelta(days=day)
    length = draw(st.one_of(st.none(), st.integers(-2, 30)))
    fields: dict[str, typing.Any] = {
        "kind": kind, "start": start.isoformat(),
        "end": None if length is None else (start + dt.timedelta(days=length)).isoformat(),
        "targets": draw(st.lists(st.sampled_from(TARGETS), min_size=1, max_size=3)),
        "id": draw(st.sampled_from(["", "", "a", "b"])),
        "normal_traffic_factor": draw(st.one_of(st.just(1.0), st.just(1.0), numbers(1.0))),
    }
    wants = {ActionKind.capacity_factor: "factor", ActionKind.draft_office: "probability",
             ActionKind.restrict: "categories", ActionKind.exit_ban: "categories"}
    extra = draw(st.sampled_from([wants.get(kind)] * 6 + [None, "factor", "probability",
                                                          "categories"]))
    if extra == "factor":
        fields["factor"] = draw(numbers(1.0))
    elif extra == "probability":
        fields["probability"] = draw(st.one_of(SPECIAL, st.floats(0, 1)))
    elif extra == "categories":
        fields["categories"] = draw(st.lists(st.sampled_from(CATEGORIES), min_size=0,
                                             max_size=2))
    return ActionConfig(**fields)


@given(st.lists(actions(), max_size=4))
def test_drawn_policies_run_with_invariants_or_are_rejected_by_name(drawn):
    cfg = copy.deepcopy(base_config())
    cfg.policy = PolicyConfig(name="fuzz", actions=drawn)
    _runs_or_is_named(cfg, ["actions[", "policy"], world=world_for(cfg.network))


# ---- data cells ---------------------------------------------------------------------------------
NUMERIC_CELLS = [(spec.file, col.name) for spec in FILES for col in spec.columns
                 if col.kind in ("int", "float")]
CELL_TEXT = st.one_of(
    st.sampled_from(["nan", "inf", "-inf", "", "abc", "1e400", "-0", "0", "0.5",
                     "99999999999999999999999", "900000000000", "1,5", " 7 "]),
    st.integers(-10, 10**7).map(str),
    st.floats(-1e3, 1e6, allow_nan=False).map(lambda v: f"{v:g}"),
)


@given(st.sampled_from(NUMERIC_CELLS), st.integers(1, 200), CELL_TEXT)
def test_drawn_data_cells_load_and_run_or_are_named(cell, row, text):
    file, column = cell
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for spec in FILES:
            shutil.copy(default_data_dir() / spec.file, folder / spec.file)
        with (folder / file).open(newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
        target = rows[1 + (row - 1) % (len(rows) - 1)]
        target[rows[0].index(column)] = text
        with (folder / file).open("w", newline="", encoding="utf-8") as fh:
            csv.writer(fh, lineterminator="\n").writerows(rows)
        try:
            tables = load_tables(folder)
        except DataError as err:
            # the drawn column, or a row rule that quotes it (rate_low exceeds daily_rate ...)
            assert err.file == file and column in str(err), str(err)
            event("rejected: DataError")
            return
        world = build_world(NetworkConfig(), tables)
        cfg = copy.deepcopy(base_config())
        run_checked(MobilisationModel(cfg, world=world))
        event("ran, invariants held")


# ---- observation rows ---------------------------------------------------------------------------
OBS_HEADER = ["id", "use", "post_ids", "date", "period_start", "destination", "direction",
              "kind", "value", "value_low", "value_high", "crossing"]


VALID_ROW = {"id": "o1", "use": "fit", "post_ids": "GE-01", "date": "2022-09-27",
             "period_start": "", "destination": "Georgia", "direction": "entered_destination",
             "kind": "daily", "value": "5000", "value_low": "", "value_high": "", "crossing": ""}


@st.composite
def observation_rows(draw) -> dict[str, str]:
    """A valid row with up to three fields redrawn from valid, odd and malformed values."""
    from calibration.observe import DIRECTIONS, KINDS, USES

    day = st.integers(-40, 90).map(lambda d: (START + dt.timedelta(days=d)).isoformat())
    choices = {
        "use": st.sampled_from([*USES, "fitt"]),
        "post_ids": st.sampled_from(["", "GE-01", "FI-01;FI-02", "AIR-SVO", "NOWHERE"]),
        "date": st.one_of(day, st.sampled_from(["", "2022-13-01"])),
        "period_start": st.one_of(st.just(""), day),
        "destination": st.sampled_from(["Georgia", "Finland", "Kazakhstan", "all", "",
                                        "Atlantis"]),
        "direction": st.sampled_from([*DIRECTIONS, "up"]),
        "kind": st.sampled_from([*KINDS, "weekly"]),
        "value": st.one_of(st.sampled_from(["0", "-1", "nan", "inf", "x", ""]),
                           st.floats(0, 1e6, allow_nan=False).map(lambda v: f"{v:g}")),
        "value_low": st.sampled_from(["", "10", "nan"]),
        "value_high": st.sampled_from(["", "5", "1e9"]),
        "crossing": st.sampled_from(["", "all land border", "air", "Upper Lars"]),
    }
    row = dict(VALID_ROW)
    for name in draw(st.permutations(list(choices)))[: draw(st.integers(0, 3))]:
        row[name] = draw(choices[name])
    return row


@given(observation_rows(), st.booleans())
def test_drawn_observation_rows_are_scored_or_listed_or_named(historical_run, row, strict):
    from calibration.measure import simulate_targets
    from calibration.observe import (
        Geography,
        map_observations,
        read_observations,
    )
    from calibration.scores import log_ratio
    from sim.results import Results

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "obs.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows([OBS_HEADER, [row[h] for h in OBS_HEADER]])
        try:
            observations = read_observations(path, strict=strict)
        except DataError as err:
            assert err.field in OBS_HEADER and str(path) in str(err), str(err)
            assert strict or err.field == "id", str(err)  # lenient: only the structure
            event("rejected: DataError")
            return
    model = historical_run
    geo = Geography.from_world(model.world)
    mapping = map_observations(observations, geo, model.record.dates, baseline_days=7,
                               uses=("fit",))
    assert len(mapping.targets) + len(mapping.unmapped) == 1
    for unmapped in mapping.unmapped:
        assert unmapped.reason
        event("listed as unmapped")
    if mapping.targets:
        simulated = simulate_targets(mapping.targets, Results.of(model), geo,
                                     persons_per_vehicle=2.5, baseline_days=7)
        observed = np.array([t.obs.value for t in mapping.targets])
        assert np.isfinite(simulated).all()
        assert np.isfinite(log_ratio(simulated, observed)).all()
        event("scored")


def test_fuzzed_fields_cover_every_config_dataclass():
    """The generic walk sees the fields of each group (so new fields are fuzzed for free)."""
    paths = {p.split("[")[0].rsplit(".", 1)[0] for p, _ in _leaves()}
    assert {"network", "population", "behaviour"} <= paths
    for cls, group in ((BehaviourConfig, "behaviour"), (PopulationConfig, "population"),
                       (NetworkConfig, "network")):
        numeric = [f.name for f in dataclasses.fields(cls)
                   if f.type in ("float", "int") and f"{group}.{f.name}" not in NOT_DRAWN]
        assert {f"{group}.{n}" for n in numeric} <= {p for p, _ in _leaves()}


# ---- hostile text: the page's fields, policy files, posterior files, names ----------------------
HOSTILE_SECRET = "fuzz-secret-of-the-server"
INTERPOLATIONS = ["${oc.env:FUZZ_SECRET}", "${oc.env:FUZZ_SECRET,x}", "${now:%Y}", "${policy}",
                  "${oc.decode:'1'}", "${hydra:runtime.cwd}", "$${x}", "${", "}{$"]
PATH_FRAGMENTS = ["../", "../../etc/passwd", "/etc/passwd", "x/../victim", "..", ".", "~",
                  "a\\..\\b", "\x00", "C:\\x", "file:///etc/passwd", "%2e%2e%2f"]
YAML_TRICKS = ["&a x", "*a", "!!python/object/apply:os.system ['true']", "# @package _global_",
               "{a: b}", "[1, 2]", "? x", "|\n  x", "'quoted'", "\"dq\"", "null", "~"]
PICKLES = [__import__("pickle").dumps(obj).decode("latin-1") for obj in
           (None, {"a": 1}, [1.0], Path("/etc/passwd"))]
HOSTILE_TEXT = st.one_of(
    st.sampled_from(INTERPOLATIONS + PATH_FRAGMENTS + YAML_TRICKS + PICKLES),
    st.lists(st.sampled_from(INTERPOLATIONS + PATH_FRAGMENTS + YAML_TRICKS + ["KZ", "2022-09-25",
                                                                            "all", "1.5"]),
             min_size=1, max_size=3).map("".join),
    st.text(max_size=12),
)
FORM_VALUES = {"kind": ["close", "capacity_factor", "draft_office", "restrict"],
               "targets": ["KZ", "GE-01", "all"], "start": ["2022-09-25"],
               "end": ["", "2022-10-01"], "categories": ["", "exempt"],
               "factor": ["0.5"], "probability": ["0.2"]}


@st.composite
def page_forms(draw) -> dict[str, str]:
    """An action as the page's editor sends it, with up to two fields typed by an attacker."""
    form = {key: draw(st.sampled_from(values)) for key, values in FORM_VALUES.items()}
    for key in draw(st.permutations(list(FORM_VALUES)))[: draw(st.integers(1, 2))]:
        form[key] = draw(HOSTILE_TEXT)
    return form


def _no_secret(text: str) -> None:
    assert HOSTILE_SECRET not in text, f"the server's environment reached the user: {text}"


@given(st.lists(page_forms(), min_size=1, max_size=2), st.one_of(st.just("custom"), HOSTILE_TEXT),
       st.lists(HOSTILE_TEXT, max_size=1))
def test_the_pages_text_fields_are_data(monkeypatch, forms, name, drop):
    from app.scenario import custom_policy, policy_yaml, scenario_config

    monkeypatch.setenv("FUZZ_SECRET", HOSTILE_SECRET)
    try:
        config = scenario_config(custom_policy("historical", forms, name=name, drop=drop), 0.001)
    except InputError as err:
        _no_secret(str(err))
        event("rejected: InputError")
        return
    written = policy_yaml(config.policy)
    _no_secret(written)
    for action in config.policy.actions:
        for text in (*action.targets, *action.categories, action.start, action.end or ""):
            assert "${" not in text, text
    event("accepted as data")


VALID_POLICY = {"name": "handed", "description": "Handed over.",
                "actions": [{"kind": "close", "targets": ["FI"], "start": "2022-09-30"}]}


@st.composite
def policy_texts(draw) -> str:
    """A policy file: a valid one with a hostile value in one of its fields, and perhaps a
    hostile line (a header, an alias, another part of the configuration) added to it."""
    import yaml

    policy = copy.deepcopy(VALID_POLICY)
    field = draw(st.sampled_from(["name", "description", "note", "targets", "base", None]))
    value = draw(HOSTILE_TEXT)
    if field in ("note", "targets"):
        policy["actions"][0][field] = [value] if field == "targets" else value
    elif field is not None:
        policy[field] = value
    text = yaml.safe_dump(policy, sort_keys=False)
    line = draw(st.one_of(st.none(), st.sampled_from([
        "# @package _global_", "#@package policy", "population: {scale: 0.5}",
        "hydra: {callbacks: {x: {_target_: builtins.print}}}", "base: ../x", "drop: [a]",
        "description: &n x\nnote_of_mine: *n", "description: ${oc.env:FUZZ_SECRET}",
        "actions: !!python/object/apply:os.getcwd []", "'${x}': 1"])))
    if line is None:
        return text
    return f"{line}\n{text}" if draw(st.booleans()) else f"{text}{line}\n"


@given(policy_texts())
def test_policy_files_set_only_the_policy_as_data(monkeypatch, text):
    monkeypatch.setenv("FUZZ_SECRET", HOSTILE_SECRET)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "policy").mkdir()
        (Path(tmp) / "policy" / "handed.yaml").write_text(text, encoding="utf-8")
        try:
            cfg = load_config([f"hydra.searchpath=[file://{tmp}]", "policy=handed", *BASE[1:]])
        except InputError as err:
            _no_secret(str(err))
            event("rejected: InputError")
            return
    # accepted: it set the policy, and nothing else of the configuration
    assert cfg.population.scale == base_config().population.scale
    assert cfg.behaviour == base_config().behaviour and cfg.network == base_config().network
    _no_secret(repr(cfg.policy))
    assert "${" not in repr(cfg.policy) and "/" not in cfg.policy.name
    event("accepted as data")


POSTERIOR_CELLS = st.one_of(
    st.sampled_from(["0", "-1", "nan", "inf", "-inf", "", "1e400", "0.001", "1", "abc"]),
    st.floats(-1.0, 1.0, allow_nan=False).map(repr), HOSTILE_TEXT)


@given(st.lists(st.tuples(POSTERIOR_CELLS, POSTERIOR_CELLS), min_size=1, max_size=4))
def test_posterior_files_are_drawn_from_or_named(rows):
    from analysis.comparison import posterior_draws

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "posterior.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows([["hazard_base", "weight"], *rows])
        try:
            draws, columns = posterior_draws(path, Path(__file__).resolve().parents[1] / "conf"
                                             / "calibration" / "parameters.yaml", 5, 1)
        except InputError as err:
            assert str(path) in str(err), str(err)
            event(f"rejected: {type(err).__name__}")
            return
    values = draws["hazard_base"].to_numpy(float)
    assert len(values) == 5 and np.isfinite(values).all() and columns
    event("drawn")


@given(HOSTILE_TEXT)
def test_a_name_is_plain_or_refused_and_stays_in_its_folder(name):
    from sim.errors import ConfigError
    from sim.path_names import confined

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp).resolve()
        try:
            path = confined(root, name, "name", ".yaml")
        except ConfigError:
            event("refused")
            return
        assert path.parent == root and ".." not in name and "/" not in name
        event("plain")
