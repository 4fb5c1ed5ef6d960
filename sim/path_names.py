"""Names that become paths: a policy's name in a run folder, a comparison's report folder, a
policy's `base`, a file the page offers for download.

Every such name goes through `confined`: it must match `NAME_PATTERN` (letters, digits, `_`,
`-`, and inner dots; no separator, no `..`, no leading dot, at most `MAX_NAME` characters), and
the path it names is resolved and must lie under its root. A name from a policy file, the command
line or the page can then never reach another run's folder or a file outside the project.
"""

from __future__ import annotations

import re
from pathlib import Path

from sim.errors import ConfigError

MAX_NAME = 100
NAME_PATTERN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_\-]|\.(?!\.))*")
NAME_RULE = "letters, digits, _, - and single inner dots, starting with a letter or digit"


def check_name(name: object, field: str) -> str:
    """`name` if it is a plain name (NAME_PATTERN); a ConfigError naming `field` if not."""
    text = name if isinstance(name, str) else ""
    if not text or len(text) > MAX_NAME or not NAME_PATTERN.fullmatch(text) or text.endswith("."):
        raise ConfigError(field, f"{name!r} is not a valid name ({NAME_RULE}; at most "
                          f"{MAX_NAME} characters)")
    return text


def confined(root: str | Path, name: object, field: str, suffix: str = "") -> Path:
    """The path of `name` + `suffix` under `root`, resolved; a ConfigError naming `field` when
    the name is not plain or the resolved path (symbolic links followed) leaves `root`."""
    text = check_name(name, field)
    base = Path(root).resolve()
    path = (base / f"{text}{suffix}").resolve()
    if path.parent != base:
        raise ConfigError(field, f"{name!r} leads outside {base}")
    return path


def within(root: str | Path, path: str | Path, field: str) -> Path:
    """`path` (relative paths taken from `root`) resolved, if it lies under `root`; a
    ConfigError naming `field` otherwise (for a path a user gives, not a bare name)."""
    base = Path(root).resolve()
    given = Path(path)
    resolved = (given if given.is_absolute() else base / given).resolve()
    if resolved != base and base not in resolved.parents:
        raise ConfigError(field, f"'{path}' is outside {base}")
    return resolved
