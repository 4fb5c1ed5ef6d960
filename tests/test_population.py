"""The population: strata, initial counts and the growable people arrays."""

import numpy as np
import pytest

from sim.config import PopulationConfig
from sim.network import DOCUMENT_LEVELS
from sim.population import (
    People,
    document_shares,
    initial_counts,
    make_strata,
    means_shares,
    stratum_probabilities,
)


def test_strata_cover_every_combination_once():
    strata = make_strata(["a", "b", "c", "d"])
    combos = set(zip(strata.age, strata.military, strata.means, strata.documents, strict=True))
    assert len(combos) == strata.size == 4 * 2 * 3 * len(DOCUMENT_LEVELS)


def test_shares_are_probabilities(world):
    cfg = PopulationConfig()
    means = means_shares(world, cfg)
    docs = document_shares(world, cfg)
    assert (means >= 0).all() and np.allclose(means.sum(axis=1), 1)
    assert (docs >= -1e-12).all() and np.allclose(docs.sum(axis=2), 1)
    probs = stratum_probabilities(world, make_strata(cfg.age_bands), cfg)
    assert np.allclose(probs.sum(axis=1), 1)


def test_visa_needs_a_passport_even_with_a_large_regional_multiplier(world):
    cfg = PopulationConfig(visa_region_multiplier={world.region_ids[0]: 100.0})
    docs = document_shares(world, cfg)
    assert (docs[0, :, 1] >= -1e-12).all()  # passport-without-visa share never negative


@pytest.mark.parametrize("scale", [1.0, 0.01, 0.0001])
def test_initial_counts_match_the_census_at_any_scale(world, scale):
    cfg = PopulationConfig(scale=scale)
    rng = np.random.default_rng(0)
    counts = initial_counts(world, make_strata(cfg.age_bands), cfg, rng)
    expected = world.region_men * scale
    per_region = counts.sum(axis=1)
    assert ((per_region == np.floor(expected)) | (per_region == np.ceil(expected))).all()


def test_people_grow_and_keep_their_values():
    people = People(capacity=2)
    first = people.add(region=np.array([1, 2, 3]), state=np.array([1, 1, 2]))
    second = people.add(region=np.array([9]), state=np.array([3]))
    assert list(first) == [0, 1, 2] and list(second) == [3]
    np.testing.assert_array_equal(people.view("region"), [1, 2, 3, 9])
    assert (people.view("gate") == -1).all()
