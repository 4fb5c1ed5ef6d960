"""One fingerprint of a computation's inputs: its settings and the data tables it reads.

A sweep job's results are reused, and a calibration's checkpoints resumed, only when this
matches, so that editing a config file or a data table between two runs never silently keeps
stale results."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any


@cache
def data_fingerprint(data_dir: str | None) -> str:
    """Hash of the input tables (every CSV of the data folder)."""
    from sim.datasets import default_data_dir

    folder = Path(data_dir) if data_dir else default_data_dir()
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.csv")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def fingerprint(settings: Any, data_dir: str | None = None, *texts: str) -> str:
    """Hash of `settings` (anything JSON can write, keys sorted), further input `texts` (an
    observations file, say) and the data tables of `data_dir`."""
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    for text in texts:
        digest.update(text.encode())
    digest.update(data_fingerprint(data_dir).encode())
    return digest.hexdigest()[:16]
