"""One validation pass over configurations and policies, and the command-line pre-flight.

Types are Hydra's structured configs (sim/config.py); what types cannot say is checked here,
generically, so that a field added to any config dataclass is covered without a new line:

- every float anywhere in a config (lists, dicts, nested dataclasses, policy actions) is finite:
  NaN compares false with every bound and would pass any range check;
- no key the schema does not know (Hydra's `+key=value` would store it and the model ignore it);
- every field of a policy action means something for its kind;
- a policy names itself with a plain name (sim/path_names.py), `drop` has a `base`, action ids are
  unique.

`preflight` composes the configuration of `python -m sim` the way Hydra will, before Hydra
creates a run folder, so that composition errors (a YAML syntax error, a misspelt `kind`, an
unknown key) stop with one line and the documented exit code `INPUT_ERROR_EXIT` (2).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sim.errors import ConfigError, InputError

INPUT_ERROR_EXIT = 2  # documented in README.md: bad input of any kind

# action fields that only some kinds read, with their neutral default
KIND_FIELDS: dict[str, tuple[Any, tuple[str, ...]]] = {
    "factor": (1.0, ("capacity_factor",)),
    "probability": (0.0, ("draft_office",)),
    "categories": ([], ("restrict", "exit_ban")),
}


# ---- generic walks over the config dataclasses ---------------------------------------------------
def _walk(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    """(path, leaf) for every leaf of a dataclass / list / dict tree."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from _walk(getattr(value, f.name), f"{path}.{f.name}" if path else f.name)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from _walk(item, f"{path}[{i}]")
    else:
        yield path, value


# No quantity of the model needs more: a larger value is a typing error, and products of a few
# of them would overflow to infinity (then inf x 0 = NaN deep inside numpy).
MAX_MAGNITUDE = 1e9
# Utility coefficients enter exp(): |beta| x (a term up to ~11, ln of a capacity) must stay far
# from exp's overflow at 709. A utility of 20 already multiplies the odds by 5e8.
MAX_UTILITY = 20.0
UTILITY_FIELDS = ("home_utility", "switch_cost")


def check_finite(config: Any, prefix: str = "") -> None:
    """Every number of `config` is finite and of a magnitude the model's arithmetic can hold;
    every utility coefficient (a `beta_*` field, wherever it is) can go through exp()."""
    for path, value in _walk(config, prefix):
        if not isinstance(value, int | float) or isinstance(value, bool):
            continue
        if not math.isfinite(value):
            raise ConfigError(path, f"{value} is not a finite number")
        name = path.rsplit(".", 1)[-1].split("[")[0]
        if name == "seed":
            continue  # any integer seeds numpy's generator
        if abs(value) > MAX_MAGNITUDE:
            raise ConfigError(path, f"{value:g} is beyond any plausible value (|x| <= "
                              f"{MAX_MAGNITUDE:g})")
        if (name.startswith("beta_") or name in UTILITY_FIELDS) and abs(value) > MAX_UTILITY:
            raise ConfigError(path, f"{value:g}: a utility coefficient must be within "
                              f"+-{MAX_UTILITY:g} (it goes through exp())")


def check_known_keys(node: Any, schema: type, prefix: str = "") -> None:
    """Every key of a composed config (DictConfig or dict) is a field of its schema dataclass.

    OmegaConf keeps keys added with Hydra's `+` even under a structured schema; the model would
    silently ignore them, so a typo would run the default instead of the intended value.
    """
    from omegaconf import DictConfig, ListConfig

    if not (dataclasses.is_dataclass(schema) and isinstance(node, dict | DictConfig)):
        return
    fields = {f.name: f for f in dataclasses.fields(schema)}
    for key in node:
        path = f"{prefix}.{key}" if prefix else str(key)
        if key not in fields:
            close = difflib.get_close_matches(str(key), list(fields), n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"known: {sorted(fields)}"
            raise ConfigError(path, f"unknown key ({schema.__name__}); {hint}")
        item_type = _field_dataclass(schema, str(key))
        if item_type is None:
            continue
        value = node[key]
        if isinstance(value, list | ListConfig):
            for i, item in enumerate(value):
                check_known_keys(item, item_type, f"{path}[{i}]")
        else:
            check_known_keys(value, item_type, path)


def _field_dataclass(owner: type, name: str) -> type | None:
    """The config dataclass a field holds, directly or as list items, if any."""
    import sys
    import typing

    hint = typing.get_type_hints(owner, vars(sys.modules[owner.__module__]))[name]
    for candidate in (hint, *typing.get_args(hint)):
        if dataclasses.is_dataclass(candidate):
            return candidate  # type: ignore[return-value]
    return None


def check_ids(mapping: Any, known: Any, field: str) -> None:
    """Every key of a mapping keyed by ids (`{RU-SPE: 3.0}`) is an id of the data: a misspelt
    region code would otherwise be a value silently unused."""
    known = [str(k) for k in known]
    for key in mapping:
        if str(key) not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise ConfigError(f"{field}.{key}", f"'{key}' is not an id of the data{hint}")


# ---- policies ------------------------------------------------------------------------------------
def check_policy_declaration(policy: Any) -> None:
    """Checks of a policy as written (before `base` is expanded)."""
    if not policy.name:
        raise ConfigError("policy.name", "missing: the policy file is empty or has no `name:` "
                          "(it would otherwise run silently as the open policy)")
    from sim.path_names import check_name

    check_name(policy.name, "policy.name")  # it becomes part of a run folder's path
    if policy.base is not None:
        check_name(policy.base, "policy.base")
    if policy.drop and not policy.base:
        raise ConfigError("policy.drop", f"{list(policy.drop)} are dropped but the policy has "
                          "no `base:` to drop them from")


def check_action_fields(action: Any, where: str) -> None:
    """A field that the action's kind does not read is a mistake, not a no-op."""
    kind = getattr(action.kind, "value", action.kind)
    for name, (neutral, kinds) in KIND_FIELDS.items():
        value = getattr(action, name)
        given = list(value) != neutral if isinstance(neutral, list) else value != neutral
        if kind not in kinds and given:
            raise ConfigError(f"{where}.{name}", f"{value!r} is given, but a {kind} action does "
                              f"not read it (only {', '.join(kinds)} actions do)")


def check_resolved_policy(policy: Any) -> None:
    """Checks of the flat list of actions a policy resolves to."""
    seen: dict[str, int] = {}
    for i, action in enumerate(policy.actions):
        check_action_fields(action, f"policy '{policy.name}' actions[{i}]")
        if not action.id:
            continue
        if action.id in seen:
            raise ConfigError(f"policy '{policy.name}' actions[{i}].id",
                              f"duplicate id '{action.id}' (also actions[{seen[action.id]}] "
                              "after resolving `base`)")
        seen[action.id] = i


# ---- command line --------------------------------------------------------------------------------
def describe_composition_error(err: BaseException) -> str:
    """One line for an error Hydra or PyYAML raise while composing a config."""
    import yaml
    from omegaconf.errors import OmegaConfBaseException

    for cause in (err, err.__cause__, err.__context__):
        if isinstance(cause, yaml.MarkedYAMLError):
            mark = cause.problem_mark or cause.context_mark
            where = f"{mark.name}, line {mark.line + 1}" if mark else "a YAML file"
            problem = cause.problem or cause.context or "syntax error"
            return f"{where}: YAML syntax error: {problem}"
        if isinstance(cause, OmegaConfBaseException) and cause is not err:
            key = getattr(cause, "full_key", "") or ""
            first = str(cause).splitlines()[0] if str(cause) else type(cause).__name__
            head = str(err).split(":", 1)[0]  # Hydra names the file: "In 'policy/x'"
            origin = f"{head}: " if head.startswith("In '") else ""
            return f"{origin}config '{key}': {first}" if key else f"{err}: {first}"
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    if not lines:
        return type(err).__name__
    # Hydra's own text: "In 'policy/x': ValidationError raised while composing config:",
    # then the problem, then "full_key: ...": one line of the three
    text = " ".join(lines[:2]) if lines[0].endswith(":") and len(lines) > 1 else lines[0]
    key = next((line for line in lines if line.startswith("full_key:")), "")
    return f"{text} ({key})" if key else text


def check_writable(folder: Path, need_bytes: int) -> None:
    """Before the first run of a long command: its output folder can be created and written,
    and its disk has room for what it will write, so that hours of runs are not lost to an
    OSError at the end. Raises InputError naming the folder."""
    import tempfile

    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder) as probe:
            probe.write(b"probe")
    except OSError as err:
        raise InputError(f"output folder {folder} cannot be written: "
                         f"{err.strerror or err}") from None
    free = shutil.disk_usage(folder).free
    if free < need_bytes:
        raise InputError(f"output folder {folder}: {free / 1e6:.0f} MB free, the results need "
                         f"about {need_bytes / 1e6:.0f} MB")

