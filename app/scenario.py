"""Scenarios the page runs: a policy of the catalogue, or one built in the page, checked whole
before anything runs, and written back as YAML that `python -m sim policy=NAME` runs unchanged.

What is typed in the page is data: every text field is refused if it holds `${` and is never
given to OmegaConf to resolve (the page's config is a plain `SimConfig`, validated by
`sim.config.to_sim_config`); names are plain names (sim/path_names.py); catalogue policies are read
as data (sim/policy_file.py).
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import math
import threading
from functools import lru_cache
from typing import Any

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from sim import load_config
from sim.config import CONF_DIR, ActionConfig, ActionKind, PolicyConfig, SimConfig, parse_date
from sim.errors import ConfigError, InputError
from sim.network import World, build_world, scaled_world, unscaled
from sim.path_names import check_name
from sim.policy import compile_policy, known_categories
from sim.policy_file import read_policy_file, reject_interpolation
from sim.population import make_strata

BASELINE = "historical"  # what happened in 2022: every comparison is against it
BASELINE_LABEL = "2022"  # its runs' label (the chosen scenario may be `historical` too)
CUSTOM = "custom"  # the page's own policy, built from the editor's actions
# the behaviour parameters the page offers (the calibrated values are the defaults)
BEHAVIOUR_FIELDS = ("hazard_base", "pressure_decay_days", "peer_weight", "beta_time",
                    "beta_wait", "beta_draft")
ACTION_KINDS = [k.value for k in ActionKind]


def catalogue() -> list[str]:
    """The policies of conf/policy, 2022 first."""
    names = sorted(p.stem for p in (CONF_DIR / "policy").glob("*.yaml"))
    return [BASELINE, *[n for n in names if n != BASELINE]]


def describe(name: str) -> str:
    """The catalogue policy's one-line description ('' for a name that is not one)."""
    try:
        return str(read_policy_file(name).get("description", ""))
    except (OSError, InputError):
        return ""


@lru_cache(maxsize=1)
def base_config() -> SimConfig:
    """The calibrated configuration, composed once (Hydra is slow to compose); copied per use."""
    return load_config(["progress=false"])


_WORLD_LOCK = threading.Lock()


def data_world() -> World:
    """The world with every capacity factor at 1, shared read-only by every session; each run
    applies its own factors with `scaled_world` (cheap) instead of rebuilding it. Built once,
    by whichever session (or the warm-up, `app.mapview.warm_up`) asks first."""
    with _WORLD_LOCK:
        return _data_world()


@lru_cache(maxsize=1)
def _data_world() -> World:
    return build_world(unscaled(base_config().network))


def world_for(config: SimConfig) -> World:
    return scaled_world(data_world(), config.network)


def categories() -> list[str]:
    return known_categories(make_strata(list(base_config().population.age_bands)))


def _number(value: Any, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(where, f"'{value}' is not a number") from None
    if not math.isfinite(number):
        raise ConfigError(where, f"'{value}' is not a finite number")
    return number


def action_from_form(form: dict[str, Any], i: int) -> ActionConfig:
    """One action of the page's editor (strings as typed) as a typed `ActionConfig`."""
    where = f"policy 'custom' actions[{i}]"
    reject_interpolation({str(k): str(v) for k, v in form.items() if v is not None}, where)
    kind = str(form.get("kind", ""))
    if kind not in ACTION_KINDS:
        raise ConfigError(f"{where}.kind", f"'{kind}' is not one of {ACTION_KINDS}")
    targets = [t.strip() for t in str(form.get("targets", "")).split(",") if t.strip()]
    if not targets:
        raise ConfigError(f"{where}.targets", "name at least one exit, airport or country id "
                          "(or all / land / air)")
    start = str(form.get("start", "")).strip()
    end = str(form.get("end", "") or "").strip() or None
    parse_date(start, f"{where}.start")
    if end is not None:
        parse_date(end, f"{where}.end")
    cats = [c.strip() for c in str(form.get("categories", "") or "").split(",") if c.strip()]
    action = ActionConfig(kind=ActionKind(kind), targets=targets, start=start, end=end,
                          categories=cats if kind in ("restrict", "exit_ban") else [])
    if kind == "capacity_factor":
        action.factor = _number(form.get("factor", 1.0), f"{where}.factor")
    if kind == "draft_office":
        action.probability = _number(form.get("probability", 0.0), f"{where}.probability")
    return action


def custom_policy(base: str, actions: list[dict[str, Any]], name: str = CUSTOM,
                  drop: list[str] | None = None) -> PolicyConfig:
    """The page's own policy: its actions on top of a catalogue policy (`base`), less the
    base's actions named in `drop` (how the page opens what the base closes)."""
    check_name(name, "policy.name")
    reject_interpolation([str(d) for d in drop or []], "policy.drop")
    if base not in catalogue():
        raise ConfigError("policy.base", f"no policy '{base}' in {CONF_DIR / 'policy'}")
    typed = [action_from_form(a, i) for i, a in enumerate(actions)]
    return PolicyConfig(name=name, description=f"Built in the web page on top of '{base}'.",
                        base=base, drop=list(drop or []), actions=typed)


def droppable(base: str) -> list[str]:
    """Ids of the actions of a catalogue policy (after its own base), which the page may drop."""
    from sim.config import resolve_policy

    try:
        return [a.id for a in resolve_policy(catalogue_policy(base)).actions if a.id]
    except InputError:
        return []


def catalogue_policy(name: str) -> PolicyConfig:
    if name not in catalogue():
        raise ConfigError("policy", f"no policy '{name}' in {CONF_DIR / 'policy'}")
    written = read_policy_file(name, schema=PolicyConfig)  # as data: no `${`, no aliases
    try:
        loaded = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(PolicyConfig),
                                                     written))
    except OmegaConfBaseException as err:
        raise ConfigError(f"policy '{name}'", str(err).splitlines()[0]) from None
    assert isinstance(loaded, PolicyConfig)
    return loaded


def scenario_config(policy: PolicyConfig, scale: float,
                    behaviour: dict[str, float] | None = None) -> SimConfig:
    """The calibrated configuration with this policy, scale and behaviour values, validated
    (`sim.config`) and its policy compiled against the world (`sim.policy`): any invalid value
    raises `ConfigError` here, before a run starts."""
    cfg = copy.deepcopy(base_config())
    cfg.population.scale = _number(scale, "population.scale")
    for key, value in (behaviour or {}).items():
        if key not in BEHAVIOUR_FIELDS:
            raise ConfigError(f"behaviour.{key}", "not a parameter the page sets")
        setattr(cfg.behaviour, key, _number(value, f"behaviour.{key}"))
    cfg.policy = copy.deepcopy(policy)
    reject_interpolation(dataclasses.asdict(cfg.policy), "policy")
    from sim.config import to_sim_config  # validates ranges and expands the policy's base

    cfg = to_sim_config(cfg)  # the dataclass itself: nothing typed is resolved by OmegaConf
    compile_policy(cfg.policy, data_world(), make_strata(list(cfg.population.age_bands)),
                   parse_date(cfg.start, "start"), parse_date(cfg.end, "end"))
    return cfg


def checked(fn, *args, **kwargs) -> tuple[Any, str | None]:
    """(result, None), or (None, the message) for bad input: what the page shows."""
    try:
        return fn(*args, **kwargs), None
    except InputError as err:
        return None, str(err)


def policy_yaml(policy: PolicyConfig) -> str:
    """The policy as a conf/policy file: only the fields that differ from the defaults."""
    defaults = ActionConfig(kind=ActionKind.close, start="")
    actions = []
    for action in policy.actions:
        row: dict[str, Any] = {"kind": action.kind.value}
        for f in dataclasses.fields(ActionConfig):
            if f.name == "kind":
                continue
            value = getattr(action, f.name)
            if f.name in ("targets", "start") or value != getattr(defaults, f.name):
                row[f.name] = list(value) if isinstance(value, list) else value
        actions.append(row)
    doc: dict[str, Any] = {"name": policy.name, "description": policy.description}
    if policy.base:
        doc["base"] = policy.base
    if policy.drop:
        doc["drop"] = list(policy.drop)
    doc["actions"] = actions
    header = (f"# Built in the web page on {dt.date.today().isoformat()}. Save as "
              f"conf/policy/{policy.name}.yaml, then: python -m sim policy={policy.name}\n")
    return header + OmegaConf.to_yaml(OmegaConf.create(doc))
