"""Shared fixtures: small, fast configurations of the real world."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest
from hypothesis import HealthCheck, settings

from sim.config import SimConfig, load_config
from sim.model import MobilisationModel

SMALL = ["population.scale=0.004", "progress=false"]

# Property-based tests (tests/test_fuzz.py): a quick search in `make test`; a long one with
# HYPOTHESIS_PROFILE=long (`make fuzz`; HYPOTHESIS_MAX_EXAMPLES sets its size per test).
_SLOW_OK = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
settings.register_profile("quick", max_examples=25, deadline=None, print_blob=True,
                          suppress_health_check=_SLOW_OK)
settings.register_profile("long", deadline=None, print_blob=True, suppress_health_check=_SLOW_OK,
                          max_examples=int(os.environ.get("HYPOTHESIS_MAX_EXAMPLES", "400")))
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "quick"))


def pytest_configure(config) -> None:
    """Built worlds are cached in a temporary folder of this test session (and of the
    commands it starts), never in the user's cache (sim/world_cache.py)."""
    from sim.world_cache import CACHE_ENV

    folder = tempfile.mkdtemp(prefix="sim-world-cache-")
    config._world_cache = (folder, os.environ.get(CACHE_ENV))
    os.environ[CACHE_ENV] = folder


def pytest_unconfigure(config) -> None:
    from sim.world_cache import CACHE_ENV

    folder, before = config._world_cache
    shutil.rmtree(folder, ignore_errors=True)
    if before is None:
        os.environ.pop(CACHE_ENV, None)
    else:
        os.environ[CACHE_ENV] = before


@pytest.fixture(scope="session", autouse=True)
def invariants_on_every_day():
    """Every model stepped in this test process asserts the invariants after each day
    (tests/invariants.py): people conserved, capacity respected, closed exits silent, stocks
    equal to flows. Runs in worker processes and subprocesses are checked by the tests that
    start them (their outputs), not here."""
    from .invariants import Invariants

    original = MobilisationModel.step

    def checked_step(model: MobilisationModel) -> None:
        checks = model.__dict__.get("_invariants")
        if checks is None:
            checks = model.__dict__["_invariants"] = Invariants(model)
        t = model.day
        original(model)
        if t < model.n_days:
            checks.check_day(t)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(MobilisationModel, "step", checked_step)
        yield


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
