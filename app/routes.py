"""Which routes a reported count constrains: destinations with a `fit` row in
sim/data/observations_2022.csv (the rows the calibration fits). The others (Belarus, Abkhazia,
...) take whatever the model sends them, and every total includes them."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

import sim

OBSERVATIONS = Path(sim.__file__).with_name("data") / "observations_2022.csv"
MIN_RUNS_FOR_INTERVAL = 20


@lru_cache(maxsize=1)
def counted_destinations(path: Path = OBSERVATIONS) -> frozenset[str]:
    """Names of the destinations that a fitted reported figure counts."""
    obs = pd.read_csv(path, dtype=str, usecols=["use", "destination"])
    return frozenset(obs.loc[obs["use"] == "fit", "destination"].dropna().str.strip())


def uncounted(country_names: list[str], country_kinds: list[str]) -> list[str]:
    """The destinations of the world that no reported count constrains, in the world's order."""
    counted = counted_destinations()
    return [n for n, k in zip(country_names, country_kinds, strict=True)
            if k != "return" and n not in counted]


def uncounted_caveat(country_names: list[str], country_kinds: list[str]) -> str:
    """The sentence to read beside any total."""
    names = uncounted(country_names, country_kinds)
    return ("Totals include routes no reported count constrains (" + ", ".join(names)
            + "): read them as an upper bound, and the counted destinations as the model's "
            "answer.")


def few_runs_warning(n_runs: int) -> str:
    """A warning when too few runs make an interval ('' when there are enough)."""
    if n_runs >= MIN_RUNS_FOR_INTERVAL:
        return ""
    return (f"Only {n_runs} run{'s' if n_runs != 1 else ''} of each: too few for a 90 % "
            f"interval (its ends are nearly the extreme runs); use {MIN_RUNS_FOR_INTERVAL} or "
            "more for figures to quote.")
