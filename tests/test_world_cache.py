"""The cache of built worlds (sim/world_cache.py): a cached world equals the built one, a
changed data file misses the cache, a damaged entry is rebuilt, never trusted."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest

from sim.config import NetworkConfig
from sim.datasets import default_data_dir
from sim.network import World, build_world
from sim.world_cache import CACHE_ENV, cached_world, load_world


def assert_same_world(a: World, b: World) -> None:
    for f in dataclasses.fields(World):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if f.name == "graph":
            assert list(x.nodes(data=True)) == list(y.nodes(data=True))
            assert list(x.edges(data=True)) == list(y.edges(data=True))
        elif isinstance(x, np.ndarray):
            assert x.dtype == y.dtype, f.name
            np.testing.assert_array_equal(x, y, err_msg=f.name)
        elif f.name == "country_features":
            assert list(x) == list(y)
            for name in x:
                assert x[name].dtype == y[name].dtype
                np.testing.assert_array_equal(x[name], y[name])
        else:
            assert type(x) is type(y) and x == y, f.name


@pytest.fixture
def data_copy(tmp_path, monkeypatch) -> Path:
    """A copy of the data in a temporary folder, and a cache folder of its own."""
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    return Path(shutil.copytree(default_data_dir(), tmp_path / "data"))


def counting_build(geometry: NetworkConfig) -> tuple[list[int], callable]:
    builds: list[int] = []

    def build() -> World:
        builds.append(1)
        return build_world(geometry)

    return builds, build


def test_the_cached_world_equals_the_built_one_and_is_read_back(data_copy):
    geometry = NetworkConfig(data_dir=str(data_copy))
    builds, build = counting_build(geometry)
    first = cached_world(geometry, build)
    again = cached_world(geometry, build)
    assert len(builds) == 1  # the second came from the cache
    assert_same_world(again, build_world(geometry))
    assert_same_world(first, again)
    factors = dataclasses.replace(geometry, capacity_factor=0.7, normal_traffic_factor=1.2)
    assert_same_world(load_world(factors), build_world(factors))


def test_a_changed_data_file_misses_the_cache(data_copy):
    geometry = NetworkConfig(data_dir=str(data_copy))
    builds, build = counting_build(geometry)
    cached_world(geometry, build)
    posts = data_copy / "posts.csv"
    text = posts.read_text(encoding="utf-8")
    assert text.count(",open,9000,derived,") == 1  # Verkhny Lars's capacity
    posts.write_text(text.replace(",open,9000,derived,", ",open,9001,derived,"),
                     encoding="utf-8")
    changed = cached_world(geometry, build)
    assert len(builds) == 2
    assert changed.gate_capacity[changed.gate_ids.index("GE-01")] == 9001


@pytest.mark.parametrize("damage", ["npz", "json", "npz-missing"])
def test_a_damaged_entry_is_rebuilt(data_copy, damage):
    geometry = NetworkConfig(data_dir=str(data_copy))
    builds, build = counting_build(geometry)
    cached_world(geometry, build)
    folder = data_copy.parent / "cache"
    (npz,) = folder.glob("*.npz")
    json_file = npz.with_suffix(".json")
    if damage == "npz":  # one byte flipped in the middle of the arrays
        data = bytearray(npz.read_bytes())
        data[len(data) // 2] ^= 0xFF
        npz.write_bytes(bytes(data))
    elif damage == "json":
        json_file.write_text(json_file.read_text()[:-20], encoding="utf-8")
    else:
        npz.unlink()
    rebuilt = cached_world(geometry, build)
    assert len(builds) == 2
    assert_same_world(rebuilt, build_world(geometry))
    cached_world(geometry, build)  # the rebuilt entry was written again, whole
    assert len(builds) == 2
