"""Shared fixtures: small, fast configurations of the real world."""

from __future__ import annotations

import pytest

from sim.config import SimConfig, load_config
from sim.model import MobilisationModel

SMALL = ["population.scale=0.004", "progress=false"]


def small_config(*overrides: str) -> SimConfig:
    return load_config([*SMALL, *overrides])


@pytest.fixture(scope="session")
def historical_run() -> MobilisationModel:
    """One small historical run shared by read-only tests."""
    from .invariants import run_checked

    return run_checked(MobilisationModel(small_config()))


@pytest.fixture(scope="session")
def world():
    from sim.config import NetworkConfig
    from sim.network import build_world

    return build_world(NetworkConfig())
