"""Which code produced a result: the package's version, the git commit, and a digest of the
source that computes results.

Every summary.json records the version and the commit; every fingerprint that decides whether a
stored result may be reused (a sweep job, a comparison's run, a calibration's checkpoints)
includes `code_version`, so that results computed by other code are computed again.
"""

from __future__ import annotations

import hashlib
import subprocess
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
# the packages whose code decides a result (the model and its calibration)
RESULT_PACKAGES = ("sim", "calibration")


@cache
def package_version() -> str:
    try:
        return version("mobilisation-exodus")
    except PackageNotFoundError:
        return "unknown"


@cache
def git_commit() -> str:
    """The checkout's commit, with `-dirty` when tracked files differ from it; `unknown`
    outside a git checkout."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT, capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=PROJECT, capture_output=True, text=True, timeout=10,
                               check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{commit}-dirty" if dirty else commit


@cache
def source_digest() -> str:
    """sha256 of the Python source of `RESULT_PACKAGES` (uncommitted edits included)."""
    digest = hashlib.sha256()
    for package in RESULT_PACKAGES:
        for path in sorted((PROJECT / package).rglob("*.py")):
            digest.update(str(path.relative_to(PROJECT)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def code_version() -> str:
    """The package version and the digest of its result-computing source."""
    return f"{package_version()}+{source_digest()}"
