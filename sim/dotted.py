"""One dotted-path accessor for configuration fields: 'behaviour.beta_time',
'behaviour.documents_multiplier.0' (a list element), 'network.capacity_factor_by_exit.KZ' (a
mapping entry). Used by the calibration's parameters, the sensitivity analysis and the policy
comparison over posterior particles."""

from __future__ import annotations

import dataclasses
from typing import Any

_MISSING = object()


def _step(node: Any, part: str, path: str, default: Any = _MISSING) -> Any:
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        if part not in {f.name for f in dataclasses.fields(node)}:
            raise KeyError(f"'{path}': '{part}' is not a field of {type(node).__name__}")
        return getattr(node, part)
    if isinstance(node, list | tuple):
        try:
            return node[int(part)]
        except (ValueError, IndexError):
            raise KeyError(f"'{path}': '{part}' is not an index of a list of {len(node)}"
                           ) from None
    if isinstance(node, dict):
        if part in node:
            return node[part]
        if default is not _MISSING:
            return default
        raise KeyError(f"'{path}': no key '{part}'")
    raise KeyError(f"'{path}': cannot look up '{part}' in a {type(node).__name__}")


def get_path(cfg: Any, path: str, default: Any = _MISSING) -> Any:
    """The value at `path`; `default` stands in for an absent mapping key (e.g. a capacity
    factor of 1 for an exit the mapping does not name)."""
    node = cfg
    parts = path.split(".")
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        node = _step(node, part, path, default if last else _MISSING)
    return node


def set_path(cfg: Any, path: str, value: Any) -> None:
    """Set the value at `path` in place (a mapping entry is added if absent)."""
    *parents, last = path.split(".")
    node = cfg
    for part in parents:
        node = _step(node, part, path)
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        _step(node, last, path)  # the field must exist: a typo would set nothing the model reads
        setattr(node, last, value)
    elif isinstance(node, list):
        _step(node, last, path)
        node[int(last)] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise KeyError(f"'{path}': cannot set '{last}' in a {type(node).__name__}")
