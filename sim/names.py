"""Names beside codes: what a person reads for 'GE-01', 'AIR-SVO>TR', 'KZ' or 'RU-AD'.

The data files name every post, airport, country and region; a world carries those names
(`World.site_names`, `country_names`, `region_names`). Reports, daily.csv, summary.json, the
listings of `python -m sim list` and the policy's target resolution all take them from here.
"""

from __future__ import annotations

import re

import numpy as np

from sim.network import AIR, World

_ALIAS_SPLIT = re.compile(r"\s+-\s+|[()/,;]")


def short_name(name: str) -> str:
    """The first name of a post ('Verkhny Lars (Верхний Ларс) - Dariali / Kazbegi' ->
    'Verkhny Lars'); an airport's or country's name as it is."""
    return _ALIAS_SPLIT.split(name)[0].strip() or name


def aliases(name: str) -> list[str]:
    """Every name a post goes by: the whole name and each of its parts ('Verkhny Lars',
    'Верхний Ларс', 'Dariali', 'Kazbegi', 'Stepantsminda')."""
    parts = [p.strip() for p in _ALIAS_SPLIT.split(name)]
    return list(dict.fromkeys([name.strip(), *(p for p in parts if len(p) >= 3)]))


def site_name(world: World, site: str) -> str:
    return world.site_names.get(site, site)


def gate_names(world: World, short: bool = False) -> list[str]:
    """Per exit: a post's name, or 'airport → country' for an air route."""
    out = []
    for gate, site, country, mode in zip(world.gate_ids, world.gate_site, world.gate_country,
                                         world.gate_mode, strict=True):
        name = site_name(world, site)
        if short:
            name = short_name(name)
        if mode == AIR or gate != site:
            name = f"{name} → {world.country_names[country]}"
        out.append(name)
    return out


def region_names(world: World) -> list[str]:
    return list(world.region_names) or list(world.region_ids)


def exit_label(world: World, index: int) -> str:
    """'Verkhny Lars (GE-01), to Georgia' for a report's tables."""
    gate = world.gate_ids[index]
    country = world.country_names[int(world.gate_country[index])]
    if world.gate_mode[index] == AIR:
        return f"{short_name(site_name(world, world.gate_site[index]))} → {country} ({gate})"
    return f"{short_name(site_name(world, gate))} ({gate}), to {country}"


def land_mask(world: World) -> np.ndarray:
    return world.gate_mode != AIR
