"""The world's exits: capacity factors by exit, airport or country."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from sim.config import NetworkConfig, load_config
from sim.errors import ConfigError
from sim.network import AIR, build_world


def test_capacity_factor_by_exit_scales_only_the_named_exits_on_top_of_the_global_factor(world):
    config = NetworkConfig(capacity_factor=0.5, capacity_factor_by_exit={"KZ": 0.6, "GE-01": 2.0,
                                                                         "AIR-SVO": 3.0})
    scaled = build_world(config)
    ratio = scaled.gate_capacity / world.gate_capacity
    country = np.array(world.country_ids)[world.gate_country]
    ids, sites = np.array(world.gate_ids), np.array(world.gate_site)
    land, air = world.gate_mode != AIR, world.gate_mode == AIR
    assert np.allclose(ratio[land & (country == "KZ")], 0.5 * 0.6)
    assert np.allclose(ratio[ids == "GE-01"], 0.5 * 2.0)
    assert np.allclose(ratio[land & (country != "KZ") & (ids != "GE-01")], 0.5)
    # air routes keep their own global factor (1.0 here); only Sheremetyevo's are tripled,
    # including its route to Kazakhstan (a country key multiplies in as well)
    svo = sites == "AIR-SVO"
    assert svo.any()
    expected_air = np.where(svo, 3.0, 1.0) * np.where(country == "KZ", 0.6, 1.0)
    assert np.allclose(ratio[air], expected_air[air])
    assert np.array_equal(scaled.gate_normal, world.gate_normal)


def test_unknown_exit_in_capacity_factor_by_exit_is_named():
    config = dataclasses.replace(NetworkConfig(), capacity_factor_by_exit={"XX-99": 0.5})
    with pytest.raises(ConfigError, match=r"capacity_factor_by_exit\.XX-99.*unknown target"):
        build_world(config)


def test_negative_capacity_factor_by_exit_is_rejected_at_load():
    with pytest.raises(ConfigError, match=r"capacity_factor_by_exit\.KZ.*-1"):
        load_config(["++network.capacity_factor_by_exit.KZ=-1"])


def test_air_factor_keeps_the_load_factor_and_the_traffic_factor_stays_on_land(world):
    """The data derive ordinary air passengers from the seats (load factor 0.85): scaling the
    seats scales them too, so spare seats stay 15 % of the seats; ordinary land traffic has its
    own factor."""
    scaled = build_world(NetworkConfig(air_capacity_factor=0.6, normal_traffic_factor=1.4))
    air = world.gate_mode == AIR
    assert np.allclose(scaled.gate_capacity[air], 0.6 * world.gate_capacity[air])
    assert np.allclose(scaled.gate_normal[air], 0.6 * world.gate_normal[air])
    spare = scaled.gate_capacity[air] - scaled.gate_normal[air]
    assert np.allclose(spare, 0.6 * 0.15 * world.gate_capacity[air], rtol=0.01, atol=1.0)
    assert np.allclose(scaled.gate_normal[~air], 1.4 * world.gate_normal[~air])
    assert np.allclose(scaled.gate_capacity[~air], world.gate_capacity[~air])
