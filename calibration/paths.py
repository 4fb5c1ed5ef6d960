"""Where the calibration's files are: config paths are relative to the project root, wherever
the command runs from."""

from __future__ import annotations

from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
CONF_DIR = PROJECT / "conf" / "calibration"


def project_path(path: str | Path) -> Path:
    """`path` as given if absolute, else relative to the project root."""
    p = Path(path)
    return p if p.is_absolute() else PROJECT / p
