"""A run's folder: claimed by one process before Hydra writes into it, and on rejection cleared
of what that process wrote, and of nothing else.

`claim_run_folder` creates the folder's `.hydra/` directory exclusively (one `mkdir`, atomic on
POSIX file systems): of two runs started into one folder at the same moment, one gets it and the
other stops with one line, before writing anything. A folder that already holds a run (its
`.hydra/` or a `summary.json`) is never written into again by a single run. The default folder
of a run is made unique by a sub-second stamp and, should two runs still meet, a numbered
suffix.

`release_rejected` removes, for a run rejected after Hydra started, only what appeared since
the claim: the whole folder (and any parents) if this process created it, else the entries that
were not there before. A folder this process did not claim is left alone.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from sim.errors import InputError

MAX_FOLDER_NAME = 80
MARKER = ".hydra"  # Hydra's snapshot of the run's config: a folder holding it holds a run


def run_folder_name(policy: str, overrides: str) -> str:
    """A run folder's name after the policy and the overrides that change results
    ('finland_closes_earlier_runs=40,seed=3'): only letters, digits and . , = _ - kept, and a
    long one shortened with a hash of the whole, so two different commands get two folders."""
    others = ",".join(o for o in str(overrides or "").split(",") if o and o != f"policy={policy}")
    text = f"{policy}_{others}" if others else policy
    text = re.sub(r"[^A-Za-z0-9.,=_-]+|\.{2,}", "_", text).strip("._") or "run"
    if len(text) > MAX_FOLDER_NAME:
        digest = hashlib.sha256(text.encode()).hexdigest()[:8]
        text = f"{text[:MAX_FOLDER_NAME - 9]}_{digest}"
    return text


@dataclass(frozen=True)
class Claim:
    folder: Path
    created: Path | None  # the topmost folder this process created, if any
    before: frozenset[str]  # the entries present before the claim


_CLAIMS: dict[Path, Claim] = {}


def _first_missing(folder: Path) -> Path | None:
    """The topmost ancestor of `folder` (itself included) that does not exist yet."""
    missing = None
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            break
        missing = candidate
    return missing


def claim_run_folder(folder: str | Path, unique: bool = False) -> Path:
    """Claim `folder` for this process's run; returns the folder claimed.

    `unique` (the default folder, named by the time): a folder that exists gets a numbered
    sibling instead. Otherwise (a folder the user named) an existing empty folder, or one
    holding other files, is used, but not one holding a run: InputError naming it."""
    folder = Path(folder).absolute()
    if unique:
        missing_parent = _first_missing(folder.parent)
        folder.parent.mkdir(parents=True, exist_ok=True)
        for n in range(1000):
            candidate = folder if n == 0 else folder.with_name(f"{folder.name}-{n}")
            try:
                candidate.mkdir()  # exclusive: a second run of the same name gets -1, -2...
            except FileExistsError:
                continue
            folder, created = candidate, missing_parent or candidate
            break
        else:
            raise InputError(f"run folder {folder}: a thousand folders of that name exist")
    else:
        if folder.exists() and not folder.is_dir():
            raise InputError(f"run folder {folder} is a file, not a folder")
        created = _first_missing(folder)
        folder.mkdir(parents=True, exist_ok=True)
    before = frozenset(os.listdir(folder))
    try:
        (folder / MARKER).mkdir()
    except FileExistsError:
        raise InputError(f"run folder {folder} already holds a run (its {MARKER}/); choose "
                         "another hydra.run.dir, or remove that folder") from None
    if "summary.json" in before:
        (folder / MARKER).rmdir()
        raise InputError(f"run folder {folder} already holds a run's summary.json; choose "
                         "another hydra.run.dir, or remove that folder")
    _CLAIMS[folder] = Claim(folder, created, before)
    return folder


def claim_if_new(folder: str | Path) -> Path:
    """For a command whose Hydra folder is its output folder (no `.hydra/` written): if the
    folder does not exist yet, create it and claim it, so that a rejection removes it with what
    Hydra put there (its log); an existing folder is not claimed, and nothing in it is removed."""
    folder = Path(folder).absolute()
    created = _first_missing(folder)
    if created is not None:
        folder.mkdir(parents=True, exist_ok=True)
        _CLAIMS[folder] = Claim(folder, created, frozenset())
    return folder


def claimed(folder: str | Path) -> Claim | None:
    return _CLAIMS.get(Path(folder).absolute())


def release_rejected(folder: str | Path) -> list[Path]:
    """Remove what this process wrote into a claimed run folder that was rejected; returns
    what was removed (nothing for a folder this process did not claim)."""
    claim = _CLAIMS.pop(Path(folder).absolute(), None)
    if claim is None:
        return []
    if claim.created is not None:
        shutil.rmtree(claim.created, ignore_errors=True)
        return [claim.created]
    removed = []
    for name in sorted(set(os.listdir(claim.folder)) - claim.before):
        path = claim.folder / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed
