"""Policies: timed actions on exits, compiled into per-day arrays before the run starts.

A policy (conf/policy/*.yaml) is a list of actions, each of a kind (see `ActionKind`), on targets
(exit ids, airport ids, destination country ids, or `all` / `land` / `air`), between two dates.
Targets may be written in any case and by name ('ge-01', 'Verkhny Lars', 'Kazakhstan', 'SVO',
'Moscow Sheremetyevo'); a name that matches nothing gets a "did you mean".
`compile_policy` resolves every target and category and checks every value, so that an invalid
policy stops with an error naming the action and the value before anything runs.
"""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass

import numpy as np

from sim.config import MAX_FACTOR, ActionConfig, ActionKind, PolicyConfig, parse_date
from sim.errors import ConfigError
from sim.names import aliases
from sim.network import DOCUMENT_LEVELS, World, resolve_targets
from sim.population import MEANS_LEVELS, Strata

# New actions of these kinds feed rumours that the borders will close (behaviour: hazard). Draft
# offices are left out: they deter (through the exits' utility), they do not close a border, and
# removing one must never lower departures.
RESTRICTING = {ActionKind.close, ActionKind.restrict, ActionKind.exit_ban, ActionKind.visa_ban}


@dataclass(frozen=True)
class CompiledPolicy:
    """Per-day, per-exit (and per-stratum) policy state; index 0 is the first simulated day."""

    name: str
    open: np.ndarray  # [T, G] bool
    capacity_factor: np.ndarray  # [T, G]
    draft_probability: np.ndarray  # [T, G]
    normal_factor: np.ndarray  # [T, G] factor on ordinary traffic
    allowed: np.ndarray  # [T, G, S] bool: stratum may pass (restrict)
    local_only: np.ndarray  # [T, G] bool: only residents of the exit's region may pass
    exit_banned: np.ndarray  # [T, G, S] bool
    visa_ban: np.ndarray  # [T, G] bool: only exempt travellers may enter the destination
    news: np.ndarray  # [T] number of new restrictions starting that day

    @property
    def n_days(self) -> int:
        return self.open.shape[0]


def category_mask(name: str, strata: Strata) -> np.ndarray | None:
    """Strata in a category; None for an unknown name."""
    docs = strata.documents
    fixed = {
        "all": np.ones(strata.size, dtype=bool),
        "military_experience": strata.military.copy(),
        "no_military_experience": ~strata.military,
        "foreign_passport": docs >= DOCUMENT_LEVELS.index("foreign_passport"),
        "schengen_visa": docs >= DOCUMENT_LEVELS.index("schengen_visa"),
        "exempt": docs == DOCUMENT_LEVELS.index("schengen_exempt"),
    }
    if name in fixed:
        return fixed[name]
    for i, band in enumerate(strata.age_bands):
        if name == f"age_{band}":
            return strata.age == i
    for i, level in enumerate(MEANS_LEVELS):
        if name == f"means_{level}":
            return strata.means == i
    return None


def known_categories(strata: Strata) -> list[str]:
    return (["all", "military_experience", "no_military_experience", "foreign_passport",
             "schengen_visa", "exempt", "local"] + [f"age_{b}" for b in strata.age_bands]
            + [f"means_{m}" for m in MEANS_LEVELS])


CATEGORY_TARGETS = ("all", "land", "air")


def target_index(world: World) -> dict[str, tuple[str, set[str]]]:
    """Every way of writing a target, case-folded -> (as the data spell it, the canonical ids
    it stands for): the ids of exits, airports and countries, `all` / `land` / `air`, airports'
    IATA codes, countries' names and every name of a post or airport."""
    index: dict[str, tuple[str, set[str]]] = {}

    def add(text: str, canonical: str) -> None:
        index.setdefault(text.casefold().strip(), (text.strip(), set()))[1].add(canonical)

    for word in CATEGORY_TARGETS:
        add(word, word)
    for ident in [*world.gate_ids, *dict.fromkeys(world.gate_site), *world.country_ids]:
        add(ident, ident)
    for cid, name in zip(world.country_ids, world.country_names, strict=True):
        add(name, cid)
    for airport, iata in world.airport_iata.items():
        add(iata, airport)
    sites = set(world.gate_site)
    for site, name in world.site_names.items():
        if site in sites:
            for alias in aliases(name):
                add(alias, site)
    return index


def canonical_targets(targets: list[str], world: World, where: str) -> list[str]:
    """The ids that the targets as written name; a ConfigError naming the field and the value,
    with the nearest names, for one that names nothing or more than one place."""
    index = target_index(world)
    out = []
    for target in targets:
        entry = index.get(str(target).casefold().strip())
        if entry is None:
            near = difflib.get_close_matches(str(target).casefold().strip(), list(index), n=3,
                                             cutoff=0.6)
            hint = ("; did you mean " + " or ".join(f"'{index[n][0]}'" for n in near) + "?"
                    if near else "")
            raise ConfigError(where, f"unknown target '{target}'{hint} (an exit, airport or "
                              "country id or name, e.g. GE-01, Verkhny Lars, AIR-SVO>TR, SVO, "
                              "FI, Kazakhstan; or all / land / air; `python -m sim list posts` "
                              "lists them)")
        found = entry[1]
        if len(found) > 1:
            raise ConfigError(where, f"'{target}' names {len(found)} places: "
                              f"{sorted(found)}; give one id")
        out.append(next(iter(found)))
    return out


def _action_days(action: ActionConfig, where: str, start: dt.date, end: dt.date) -> slice:
    first = parse_date(action.start, f"{where}.start")
    last = parse_date(action.end, f"{where}.end") if action.end is not None else None
    if last is not None and last < first:
        raise ConfigError(f"{where}.end", f"{action.end} is before start {action.start}")
    for name, day in (("start", first), ("end", last)):
        if day is not None and not start <= day <= end:
            raise ConfigError(f"{where}.{name}", f"{day} is outside the simulated horizon "
                              f"{start}..{end}")
    last = end if last is None else last
    return slice((first - start).days, (last - start).days + 1)


def _check_action(action: ActionConfig, where: str, strata: Strata) -> np.ndarray | None:
    """Kind-specific value checks; returns the category mask where the kind has one."""
    if not 0 <= action.normal_traffic_factor <= MAX_FACTOR:
        raise ConfigError(f"{where}.normal_traffic_factor",
                          f"{action.normal_traffic_factor} must be in [0, {MAX_FACTOR:g}]")
    if action.kind is ActionKind.capacity_factor and action.factor < 0:
        raise ConfigError(f"{where}.factor", f"{action.factor} is negative: a capacity "
                          "cannot be below zero")
    if action.kind is ActionKind.capacity_factor and action.factor > MAX_FACTOR:
        raise ConfigError(f"{where}.factor", f"{action.factor} is above {MAX_FACTOR:g}: no "
                          "border's capacity can be multiplied so much")
    if action.kind is ActionKind.draft_office and not 0.0 <= action.probability <= 1.0:
        raise ConfigError(f"{where}.probability", f"{action.probability} is not in [0, 1]")
    if action.kind not in (ActionKind.restrict, ActionKind.exit_ban):
        if action.categories:
            raise ConfigError(f"{where}.categories", f"a {action.kind.value} action takes no "
                              "categories")
        return None
    if not action.categories:
        raise ConfigError(f"{where}.categories", f"a {action.kind.value} action needs at least "
                          f"one category of {known_categories(strata)}")
    if "local" in action.categories:
        if action.kind is not ActionKind.restrict or len(action.categories) > 1:
            raise ConfigError(f"{where}.categories", "'local' stands alone, in a restrict action")
        return None
    mask = np.zeros(strata.size, dtype=bool)
    for name in action.categories:
        found = category_mask(name, strata)
        if found is None:
            raise ConfigError(f"{where}.categories", f"unknown category '{name}'; known: "
                              f"{known_categories(strata)}")
        mask |= found
    return mask


def compile_policy(policy: PolicyConfig, world: World, strata: Strata, start: dt.date,
                   end: dt.date) -> CompiledPolicy:
    """Check every action and turn the policy into per-day arrays."""
    n_days, n_gates, n_strata = (end - start).days + 1, world.n_gates, strata.size
    is_open = np.broadcast_to(world.gate_open, (n_days, n_gates)).copy()
    capacity = np.ones((n_days, n_gates))
    not_drafted = np.ones((n_days, n_gates))
    normal = np.ones((n_days, n_gates))
    allowed = np.ones((n_days, n_gates, n_strata), dtype=bool)
    local_only = np.zeros((n_days, n_gates), dtype=bool)
    banned = np.zeros((n_days, n_gates, n_strata), dtype=bool)
    visa_ban = np.zeros((n_days, n_gates), dtype=bool)
    news = np.zeros(n_days)
    for i, action in enumerate(policy.actions):
        where = f"policy '{policy.name}' actions[{i}]"
        days = _action_days(action, where, start, end)
        gates = resolve_targets(canonical_targets(list(action.targets), world,
                                                  f"{where}.targets"), world, f"{where}.targets")
        cats = _check_action(action, where, strata)
        normal[days, gates] *= action.normal_traffic_factor
        kind = action.kind
        if kind is ActionKind.close:
            is_open[days, gates] = False
        elif kind is ActionKind.capacity_factor:
            capacity[days, gates] *= action.factor
        elif kind is ActionKind.draft_office:
            not_drafted[days, gates] *= 1.0 - action.probability
        elif kind is ActionKind.restrict:
            if cats is None:
                local_only[days, gates] = True
            else:
                allowed[days, gates] &= cats
        elif kind is ActionKind.exit_ban:
            banned[days, gates] |= cats
        elif kind is ActionKind.visa_ban:
            visa_ban[days, gates] = True
        if kind in RESTRICTING:
            news[days.start] += 1.0
    return CompiledPolicy(name=policy.name, open=is_open, capacity_factor=capacity,
                          draft_probability=1.0 - not_drafted, normal_factor=normal,
                          allowed=allowed, local_only=local_only, exit_banned=banned,
                          visa_ban=visa_ban, news=news)
