"""A destination's pull in route choice, from features every country has.

Route choice (sim/behaviour.py) already prices what separates exits: travel time from each
region, fares against a stratum's budget, queues, the documents a country requires and its entry
bans (policy). What remains is a country's pull: why, at equal cost, men chose Kazakhstan over
Mongolia. With `behaviour.pull=table` it is the `attractiveness` column of countries.csv, set by
hand, which only a country with counts pins down. With `behaviour.pull=features` it is

    pull[c] = sum_k pull_weights[k] x feature_k[c]  +  pull_deviation_sd x pull_deviation_z[c]

with two features:

- `traffic`: log of the country's share of the ordinary daily traffic of Russian citizens
  before 21 September (the exits' `normal_daily` summed per country): where Russians already
  went - business, family, tourism, diaspora - is where they knew how to go;
- `russian_spoken` (countries.csv): 1 Russian an official language, 0.5 a lingua franca, 0.25
  spoken by a large minority, 0 neither.

The per-country deviations are partially pooled: each is the shared scale `pull_deviation_sd`
times a standardised term z[c] (a non-centred hierarchical prior, z with mean 0 and sd 1). A
country whose counts inform z moves away from the shared structure by as much as they demand
and the scale allows; a country without counts keeps z = 0 in a point estimate (its prior
mean) and its prior spread in an ensemble, so its flow comes from the same features as every
other country's, never from what the fitted countries leave over.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.errors import ConfigError

if TYPE_CHECKING:
    from sim.config import BehaviourConfig
    from sim.network import World

PULLS = ("table", "features")
FEATURES = ("traffic", "russian_spoken")
# the share of a country that receives no ordinary traffic by a direct exit (it is reached only
# onward): a floor under the log, a thousandth of the smallest share of any exit country
TRAFFIC_SHARE_FLOOR = 1e-6


def traffic_share(gate_country: np.ndarray, gate_normal: np.ndarray,
                  n_countries: int) -> np.ndarray:
    """[C] each country's share of the ordinary daily traffic over all exits."""
    per_country = np.bincount(gate_country, weights=gate_normal, minlength=n_countries)
    total = per_country.sum()
    return per_country / total if total > 0 else np.zeros(n_countries)


def destination_features(world: World) -> dict[str, np.ndarray]:
    """[C] arrays of the features, by name."""
    share = traffic_share(np.asarray(world.gate_country), np.asarray(world.gate_normal, float),
                          world.n_countries)
    features = {"traffic": np.log(np.maximum(share, TRAFFIC_SHARE_FLOOR))}
    for name in FEATURES:
        if name != "traffic":
            if name not in world.country_features:
                raise ConfigError("behaviour.pull", f"the data have no feature '{name}' "
                                  "(countries.csv)")
            features[name] = np.asarray(world.country_features[name], dtype=float)
    return features


def feature_pull(features: dict[str, np.ndarray], weights: dict[str, float],
                 country_ids: list[str], deviation_sd: float = 0.0,
                 deviation_z: dict[str, float] | None = None) -> np.ndarray:
    """[C] the weighted features plus each country's pooled deviation (sd x z; z = 0 for a
    country not named)."""
    unknown = sorted(set(weights) - set(features))
    if unknown:
        raise ConfigError("behaviour.pull_weights", f"unknown feature(s) {unknown}; the "
                          f"features are {list(features)}")
    pull = np.zeros(len(country_ids))
    for name, weight in weights.items():
        pull += float(weight) * features[name]
    for country, z in (deviation_z or {}).items():
        if country not in country_ids:
            raise ConfigError(f"behaviour.pull_deviation_z.{country}",
                              f"unknown country; the countries are {', '.join(country_ids)}")
        pull[country_ids.index(country)] += float(deviation_sd) * float(z)
    return pull


def destination_pull(world: World, beh: BehaviourConfig) -> np.ndarray:
    """[C] the pull of each country under `beh.pull`: the data's attractiveness, or features."""
    if beh.pull == "table":
        return world.country_attractiveness.astype(float)
    if beh.pull != "features":
        raise ConfigError("behaviour.pull", f"'{beh.pull}' is not one of {list(PULLS)}")
    return feature_pull(destination_features(world), dict(beh.pull_weights),
                        list(world.country_ids), beh.pull_deviation_sd,
                        dict(beh.pull_deviation_z))
