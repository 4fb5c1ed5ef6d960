"""A destination's pull from its features, and the per-country deviations partially pooled
under one shared scale (sim/destinations.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.config import load_config
from sim.destinations import destination_pull, feature_pull, traffic_share
from sim.errors import ConfigError
from sim.network import build_world

COUNTRIES = ["AA", "BB", "CC"]
# ordinary traffic 600, 300 and 100 a day over four exits (AA has two): shares 0.6, 0.3, 0.1
SHARE = traffic_share(np.array([0, 0, 1, 2]), np.array([400.0, 200.0, 300.0, 100.0]), 3)
FEATURES = {"traffic": np.log(SHARE), "russian_spoken": np.array([1.0, 0.5, 0.0])}


def test_a_destinations_pull_from_its_features_by_hand():
    assert np.allclose(SHARE, [0.6, 0.3, 0.1])
    pull = feature_pull(FEATURES, {"traffic": 1.0, "russian_spoken": 2.0}, COUNTRIES,
                        deviation_sd=0.5, deviation_z={"BB": 1.0})
    assert pull == pytest.approx([math.log(0.6) + 2.0, math.log(0.3) + 1.0 + 0.5,
                                  math.log(0.1)])


def test_pooling_shrinks_a_country_without_rows_to_the_shared_structure():
    weights = {"traffic": 1.2, "russian_spoken": 0.7}
    shared = feature_pull(FEATURES, weights, COUNTRIES)
    # AA and BB have counts (their z are fitted); CC has none: z = 0, its prior mean
    fitted = {"AA": 1.5, "BB": -0.8}
    for sd in (0.0, 0.3, 2.0):
        pull = feature_pull(FEATURES, weights, COUNTRIES, sd, fitted)
        assert pull[2] == pytest.approx(shared[2])  # whatever the scale
        assert pull[:2] - shared[:2] == pytest.approx(sd * np.array([1.5, -0.8]))
    # a shared scale of 0 pools completely: every country on the shared structure
    assert feature_pull(FEATURES, weights, COUNTRIES, 0.0, fitted) == pytest.approx(shared)


def test_unknown_features_and_countries_are_config_errors():
    with pytest.raises(ConfigError, match="pull_weights"):
        feature_pull(FEATURES, {"diaspora": 1.0}, COUNTRIES)
    with pytest.raises(ConfigError, match=r"pull_deviation_z\.XX"):
        feature_pull(FEATURES, {"traffic": 1.0}, COUNTRIES, 1.0, {"XX": 1.0})


def test_the_model_world_gives_every_exit_country_a_pull_from_its_features():
    cfg = load_config(["behaviour.pull=features", "progress=false"])
    world = build_world(cfg.network)
    pull = destination_pull(world, cfg.behaviour)
    assert np.isfinite(pull).all()
    ids = world.country_ids
    # with the default weights (traffic 1) the pull orders countries by their ordinary traffic
    assert pull[ids.index("TR")] > pull[ids.index("KZ")] > pull[ids.index("NO")]
    table = load_config(["progress=false"])
    assert destination_pull(world, table.behaviour) == pytest.approx(
        world.country_attractiveness)
