"""The men at risk of call-up: identical men at home as counts, individuals once they act.

A *stratum* is one combination of the attributes that matter to the decision: age band, military
experience, means (low/mid/high) and travel documents (internal passport only, a foreign passport,
a Schengen visa, a Schengen visa with a reason that exempts from entry bans). Men at home are kept
as counts per (region, stratum); each day the number who decide to flee is drawn binomially, which
is exactly the distribution of independent daily Bernoulli decisions by identical men. From that
moment each is an individual in `People`, a struct of arrays (never one Python object per person).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar

import numpy as np

from sim.config import PopulationConfig
from sim.network import DOCUMENT_LEVELS, World
from sim.validation import check_ids

MEANS_LEVELS = ("low", "mid", "high")


class State(IntEnum):
    """Where an individual is. Men at home are counts, not individuals (see module docstring)."""

    TRAVELLING = 1  # on the way to an exit
    QUEUED = 2  # waiting at an exit
    ABROAD = 3  # crossed, in the first country of entry
    ONWARD = 4  # moved on to a further country
    RETURNED = 5  # went back to Russia from abroad
    STOPPED = 6  # called up at the border (draft office)
    WENT_HOME = 7  # gave up or was turned back; counted at home again


@dataclass(frozen=True)
class Strata:
    """The attribute values of each stratum (length S arrays)."""

    age: np.ndarray
    military: np.ndarray  # bool
    means: np.ndarray
    documents: np.ndarray  # index into DOCUMENT_LEVELS
    age_bands: tuple[str, ...]

    @property
    def size(self) -> int:
        return len(self.age)


def make_strata(age_bands: list[str]) -> Strata:
    n_age, n_doc = len(age_bands), len(DOCUMENT_LEVELS)
    age, mil, means, docs = np.meshgrid(np.arange(n_age), [False, True],
                                        np.arange(len(MEANS_LEVELS)), np.arange(n_doc),
                                        indexing="ij")
    return Strata(age=age.ravel().astype(np.int8), military=mil.ravel(),
                  means=means.ravel().astype(np.int8), documents=docs.ravel().astype(np.int8),
                  age_bands=tuple(age_bands))


def means_shares(world: World, cfg: PopulationConfig) -> np.ndarray:
    """[R, 3] shares of low, mid and high means, from regional poverty and income.

    Assumption (docs/ODD.md): the low-means share is proportional to the share below the
    subsistence level; the high-means share grows with income relative to the national median.
    """
    low = np.clip(cfg.low_means_per_poverty_point * world.region_poverty_pct, 0.02, 0.8)
    rel_income = world.region_income / np.median(world.region_income)
    high = np.clip(cfg.high_means_share_at_median_income
                   * rel_income ** cfg.high_means_income_elasticity, 0.01, 0.6)
    high = np.minimum(high, 1.0 - low - 0.05)
    return np.stack([low, 1.0 - low - high, high], axis=1)


def document_shares(world: World, cfg: PopulationConfig) -> np.ndarray:
    """[R, 3 means, 4 document levels] shares; documents are nested (a visa needs a passport)."""
    check_ids(cfg.visa_region_multiplier, world.region_ids, "population.visa_region_multiplier")
    mult = np.array([cfg.visa_region_multiplier.get(r, 1.0) for r in world.region_ids])
    passport = np.asarray(cfg.passport_share_by_means)[None, :]
    visa = np.minimum(np.asarray(cfg.visa_share_by_means)[None, :] * mult[:, None], passport)
    passport = np.broadcast_to(passport, visa.shape)
    exempt = visa * cfg.exempt_share_of_visa_holders
    return np.stack([1.0 - passport, passport - visa, visa - exempt, exempt], axis=2)


def stratum_probabilities(world: World, strata: Strata, cfg: PopulationConfig) -> np.ndarray:
    """[R, S] probability that a man of region r belongs to stratum s."""
    age = np.asarray(cfg.age_shares)[strata.age]
    mil_share = np.asarray(cfg.military_share_by_age)[strata.age]
    mil = np.where(strata.military, mil_share, 1.0 - mil_share)
    means = means_shares(world, cfg)[:, strata.means]
    docs = document_shares(world, cfg)[:, strata.means, strata.documents]
    probs = (age * mil)[None, :] * means * docs
    return probs / probs.sum(axis=1, keepdims=True)


def initial_counts(world: World, strata: Strata, cfg: PopulationConfig,
                   rng: np.random.Generator) -> np.ndarray:
    """[R, S] men at home at the start: each region's men at risk x scale, split by stratum.

    The region total is rounded stochastically so that its expectation is exact at any scale.
    """
    expected = world.region_men * cfg.scale
    totals = np.floor(expected).astype(np.int64)
    totals += rng.random(len(totals)) < (expected - totals)
    return rng.multinomial(totals, stratum_probabilities(world, strata, cfg))


class People:
    """Individuals who have acted, as growable parallel arrays; `member` is the ensemble member
    (`sim.engine.Ensemble`) each belongs to."""

    FIELDS: ClassVar[dict[str, type]] = {
        "member": np.int32, "region": np.int16, "stratum": np.int16, "state": np.int8,
        "gate": np.int32, "node": np.int32, "country": np.int16, "t_arrive": np.float64,
        "t_depart": np.float64, "queue_day": np.int32, "t_cross": np.int32, "t_next": np.int32,
        "key": np.int64,  # who he is to keyed draws (`sim.keyed`); -1 with named streams
    }

    def __init__(self, capacity: int = 1024) -> None:
        self.n = 0
        for name, dtype in self.FIELDS.items():
            setattr(self, name, np.zeros(capacity, dtype=dtype))

    def __len__(self) -> int:
        return self.n

    def add(self, **values: np.ndarray) -> np.ndarray:
        """Append individuals; returns their indices. Unnamed fields start at -1."""
        k = len(next(iter(values.values())))
        needed = self.n + k
        capacity = len(self.state)
        if needed > capacity:
            new_capacity = max(needed, 2 * capacity)
            for name in self.FIELDS:
                old = getattr(self, name)
                grown = np.zeros(new_capacity, dtype=old.dtype)
                grown[: self.n] = old[: self.n]
                setattr(self, name, grown)
        idx = np.arange(self.n, needed)
        for name in self.FIELDS:
            getattr(self, name)[idx] = values.get(name, -1)
        self.n = needed
        return idx

    def keep(self, mask: np.ndarray) -> None:
        """Keep only the individuals at `mask` (over the live part), in their order."""
        kept = int(np.count_nonzero(mask))
        for name in self.FIELDS:
            values = getattr(self, name)
            values[:kept] = values[: self.n][mask]
        self.n = kept

    def view(self, name: str) -> np.ndarray:
        """The live part of one field."""
        return getattr(self, name)[: self.n]
