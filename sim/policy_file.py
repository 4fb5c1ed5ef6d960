"""Reading a policy file (conf/policy/NAME.yaml) as data.

A policy file is often one a colleague handed over, so it is read by the project, before Hydra
composes it, as plain YAML (PyYAML's safe loader: no Python objects), and it may only set the
policy:

- at most `MAX_POLICY_BYTES`, and no YAML aliases (`*name`: an alias bomb expands a few lines
  into billions of nodes);
- no `# @package` header (it would let the file set any key of the configuration, Hydra's
  callbacks among them, while the results carry the policy's name);
- no `${...}` anywhere (OmegaConf would resolve it: `${oc.env:NAME}` reads the environment);
- only the keys of `PolicyConfig` and its actions; a plain `name` (sim/path_names.py).

Hydra then composes a file that passed these checks, so what it reads is what was checked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml

from sim.errors import ConfigError
from sim.path_names import check_name, confined

MAX_POLICY_BYTES = 256 * 1024
PACKAGE_HEADER = re.compile(r"^\s*#\s*@package\b", re.MULTILINE)
INTERPOLATION = "${"
DEFAULT_POLICY = "historical"  # conf/config.yaml's defaults list


def policy_dir() -> Path:
    """conf/policy (sim.config.CONF_DIR / "policy"; computed here: sim.config reads policies
    through this module)."""
    return Path(__file__).resolve().parents[1] / "conf" / "policy"


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        yield value


def reject_interpolation(value: Any, where: str) -> None:
    """A ConfigError naming `where` if any string in `value` holds `${` (OmegaConf would
    resolve it: text a user typed or a file supplied is data, never an expression)."""
    for text in _strings(value):
        if INTERPOLATION in text:
            raise ConfigError(where, f"{text!r}: '${{' is not allowed here (values are taken "
                              "literally, never interpolated)")


def parse_policy_text(text: str, where: str, schema: type | None = None) -> dict[str, Any]:
    """The checked content of a policy file's text (see the module's docstring); with
    `schema` (sim.config.PolicyConfig), every key is one of its fields."""
    from sim.validation import check_known_keys, describe_composition_error

    if len(text.encode("utf-8")) > MAX_POLICY_BYTES:
        raise ConfigError(where, f"larger than {MAX_POLICY_BYTES // 1024} KiB: not a policy")
    if PACKAGE_HEADER.search(text):
        raise ConfigError(where, "a '# @package' header is not allowed: a policy file sets "
                          "the policy only")
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                raise ConfigError(where, f"YAML alias '*{event.anchor}' is not allowed in a "
                                  "policy file (write the value out)")
        content = yaml.safe_load(text)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = f"line {mark.line + 1}: " if mark else ""
        raise ConfigError(where, f"{line}YAML syntax error: {err.problem or err.context}"
                          ) from None
    except yaml.YAMLError as err:
        raise ConfigError(where, describe_composition_error(err)) from None
    if content is None:
        return {}
    if not isinstance(content, dict):
        raise ConfigError(where, f"holds a {type(content).__name__}, not a mapping of policy "
                          "fields")
    reject_interpolation(content, where)
    if schema is not None:
        check_known_keys(content, schema, where)
    if "name" in content:
        check_name(content["name"], f"{where}: name")
    if content.get("base") is not None:
        check_name(content["base"], f"{where}: base")
    return content


def search_dirs(overrides: Sequence[str] = ()) -> list[Path]:
    """Where a policy name is looked up: conf/policy, then `policy/` of each `file://` folder
    of a `hydra.searchpath=[...]` override (Hydra's order)."""
    dirs = [policy_dir()]
    for override in overrides:
        key, _, value = override.lstrip("+~").partition("=")
        if key.strip() != "hydra.searchpath":
            continue
        for entry in value.strip().strip("[]").split(","):
            entry = entry.strip().strip("'\"")
            if entry.startswith("file://"):
                dirs.append(Path(entry.removeprefix("file://")) / "policy")
    return dirs


def policy_path(name: object, field: str = "policy", dirs: Sequence[Path] = ()) -> Path:
    """NAME.yaml in the first of `dirs` (conf/policy by default) that holds it, the name checked
    and the path confined to that folder."""
    paths = [confined(folder, name, field, ".yaml") for folder in (dirs or [policy_dir()])]
    return next((p for p in paths if p.is_file()), paths[0])


def read_policy_file(name: object, field: str = "policy", dirs: Sequence[Path] = (),
                     schema: type | None = None) -> dict[str, Any]:
    """The checked content of the policy file `name` (a ConfigError naming the file)."""
    path = policy_path(name, field, dirs)
    if not path.is_file():
        raise ConfigError(field, f"no policy '{name}' ({path} does not exist)")
    if path.stat().st_size > MAX_POLICY_BYTES:
        raise ConfigError(f"policy '{name}' ({path})", f"larger than "
                          f"{MAX_POLICY_BYTES // 1024} KiB: not a policy")
    return parse_policy_text(path.read_text(encoding="utf-8"), f"policy '{name}' ({path})",
                             schema)


def policy_choices(overrides: Sequence[str]) -> list[str]:
    """The policy file(s) a command line chooses: `policy=a` or a sweep `policy=a,b`; the
    default (conf/config.yaml) when none is chosen."""
    chosen: list[str] = []
    for override in overrides:
        key, sep, value = override.lstrip("+~").partition("=")
        if sep and key.strip() == "policy":
            chosen = [v.strip() for v in value.split(",") if v.strip()] or [value]
    return chosen or [DEFAULT_POLICY]


def check_policy_choices(overrides: Sequence[str], dirs: Sequence[Path] = (),
                         schema: type | None = None) -> None:
    """Read every policy file the overrides choose as data, before Hydra composes them."""
    for name in policy_choices(overrides):
        read_policy_file(name, dirs=dirs, schema=schema)


def check_overrides_literal(overrides: Sequence[str]) -> None:
    """Override values of the simulation's keys are literals: `${` is refused (Hydra's own keys,
    `hydra.*`, are the command's business)."""
    for override in overrides:
        key = override.lstrip("+~").partition("=")[0]
        if key.startswith(("hydra.", "hydra/")):
            continue
        if INTERPOLATION in override:
            raise ConfigError(key or override, f"'{override}': '${{' is not allowed in an "
                              "override (values are taken literally)")
