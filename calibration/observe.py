"""The observation operator: what a simulated run says about each reported crossing figure.

A row of an observations file (schema: `sim/data/observations_2022.csv`, described in
docs/calibration.md) reports one number: a daily count, a period total, a peak day, a queue in
vehicles... for a destination country (or all of Russia's exits), optionally restricted to some
border posts, in one direction. `map_observations` turns every row into a `Target` (which series of
the run, which days, which reduction) or into an `Unmapped` entry that says why the model cannot
produce that number; `calibration.measure.simulate_targets` then evaluates all targets on a
run's `Results`.

Conventions (the agencies' counts include everyone who crossed, so do these):

- entered_destination = people fleeing who entered + ordinary travellers who entered
  (+ people arriving onward from a third country, for a country-level row);
- left_destination_onward = people fleeing who moved on or returned + ordinary travellers
  going home (only those going back to Russia if counted at its border);
- left_russia = people passing Russian exit control (fleeing + ordinary) at the exits;
- both_directions = crossings from Russia into the country + crossings back to Russia;
- net = entered - left over the period (`daily`, `period_total`); a `cumulative` net figure is a
  stock: without a start date, everyone present on `date`; with one, those who arrived from
  `period_start` on and are still present on `date` (a cohort: "of the 400,000 who came since
  21 September, 100,000 remain").

Dates: `date` is the (last) day, `period_start` the first day, both inclusive. A `daily` row with a
`period_start` is a 24-hour window over two calendar days (e.g. 10:00 to 10:00) and is the mean of
those days. A queue `on date` is the mean of the queue at the end of the day before and at the end
of the day (the hour is not in the schema). Period figures that start before the simulated horizon
(e.g. the whole of September, when the horizon starts on 14 September) are completed with the
model's own pre-announcement daily mean for the missing days - the model is in its ordinary-traffic
steady state before the announcement - and say so in `Target.extrapolated_days`.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from sim.errors import DataError

USES = ("fit", "claim", "context")
DIRECTIONS = ("entered_destination", "left_destination_onward", "left_russia",
              "both_directions", "net")
KINDS = ("daily", "period_total", "cumulative", "peak_daily", "queue_vehicles",
         "period_total_vehicles", "queue_km", "queue_hours", "pct_change")
REQUIRED_COLUMNS = ("id", "use", "post_ids", "date", "period_start", "destination", "direction",
                    "kind", "value")
# what a count includes, when its source says (`modes`, ';'-separated): road and air are the
# model's exits; rail is not an exit of the model, its ordinary traffic is the country's counted
# `rail_daily_persons` (countries.csv), added to the run's count
MODES = ("road", "rail", "air")
OPTIONAL_COLUMNS = ("modes", "crossing", "value_low", "value_high", "notes", "who_reported",
                    "outlet", "source_url_or_title")
ALL_RUSSIA = ("all (russia total)", "all", "russia (all exits)")
QUEUE_DIRECTIONS = ("left_russia", "entered_destination", "both_directions")


# -- reading -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Observation:
    """One row of an observations file, parsed. `problem` is set (and the row left unchecked)
    only for `context` rows, which are never scored."""

    id: str
    use: str
    row: int  # 1-based data row in the file
    post_ids: tuple[str, ...]
    date: dt.date | None
    period_start: dt.date | None
    destination: str
    direction: str
    kind: str
    value: float
    value_low: float | None = None
    value_high: float | None = None
    crossing: str = ""
    modes: tuple[str, ...] = ()  # what the count includes; () = what `crossing` says
    notes: str = ""
    problem: str = ""


def _where(n: int, ident: str) -> str:
    return f"{n} (id '{ident}')" if ident else str(n)


def _parse_date(text: str, file: str, where: str, name: str) -> dt.date | None:
    if text == "":
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise DataError(file, f"{text!r} is not a date (YYYY-MM-DD)", row=where,
                        field=name) from None


def _parse_number(text: str, file: str, where: str, name: str,
                  required: bool) -> float | None:
    if text == "":
        if required:
            raise DataError(file, "required value is empty", row=where, field=name)
        return None
    try:
        value = float(text)
    except ValueError:
        raise DataError(file, f"{text!r} is not a number", row=where, field=name) from None
    if not math.isfinite(value) or value < 0:
        raise DataError(file, f"{text!r} must be a finite number >= 0", row=where, field=name)
    return value


def _parse_row(rec: dict[str, str], n: int, file: str) -> Observation:
    """Check one row strictly; raise DataError naming file, row, field and value."""
    ident = rec["id"]
    where = _where(n, ident)
    use = rec["use"]
    if use not in USES:
        raise DataError(file, f"unknown value {use!r}; expected one of {list(USES)}", row=where,
                        field="use")
    for name, choices in (("direction", DIRECTIONS), ("kind", KINDS)):
        if rec[name] not in choices:
            raise DataError(file, f"unknown value {rec[name]!r}; expected one of "
                            f"{list(choices)}", row=where, field=name)
    date = _parse_date(rec["date"], file, where, "date")
    if date is None:
        raise DataError(file, "required value is empty", row=where, field="date")
    start = _parse_date(rec["period_start"], file, where, "period_start")
    if start is not None and start > date:
        raise DataError(file, f"period_start {start} is after date {date}", row=where,
                        field="period_start")
    value = _parse_number(rec["value"], file, where, "value", required=True)
    low = _parse_number(rec.get("value_low", ""), file, where, "value_low", required=False)
    high = _parse_number(rec.get("value_high", ""), file, where, "value_high", required=False)
    if low is not None and high is not None and low > high:
        raise DataError(file, f"value_low {low:g} exceeds value_high {high:g}", row=where,
                        field="value_low")
    if rec["destination"] == "":
        raise DataError(file, "required value is empty", row=where, field="destination")
    posts = tuple(p.strip() for p in rec["post_ids"].split(";") if p.strip())
    modes = tuple(m.strip() for m in rec.get("modes", "").split(";") if m.strip())
    for mode in modes:
        if mode not in MODES:
            raise DataError(file, f"unknown mode {mode!r}; expected some of {list(MODES)}",
                            row=where, field="modes")
    if modes and posts:
        raise DataError(file, "a count at named posts (post_ids) is by their mode; leave "
                        "`modes` blank", row=where, field="modes")
    assert value is not None
    return Observation(id=ident, use=use, row=n, post_ids=posts, date=date, period_start=start,
                       destination=rec["destination"], direction=rec["direction"],
                       kind=rec["kind"], value=value, value_low=low, value_high=high,
                       crossing=rec.get("crossing", ""), notes=rec.get("notes", ""),
                       modes=modes)


def _lenient_row(rec: dict[str, str], n: int, file: str) -> Observation:
    """A row kept even if malformed: parse what can be parsed; anything odd becomes its
    `problem`, which the operator reports as the reason the row is not mapped."""
    try:
        return _parse_row(rec, n, file)
    except DataError as err:
        posts = tuple(p.strip() for p in rec["post_ids"].split(";") if p.strip())
        try:
            value = float(rec["value"])
        except ValueError:
            value = float("nan")
        return Observation(id=rec["id"], use=rec["use"], row=n, post_ids=posts, date=None,
                           period_start=None, destination=rec["destination"],
                           direction=rec["direction"], kind=rec["kind"], value=value,
                           crossing=rec.get("crossing", ""), notes=rec.get("notes", ""),
                           problem=str(err).split(": ", 1)[-1])


def read_observations(path: str | Path, strict: bool = True) -> list[Observation]:
    """Read and validate an observations CSV of the reference schema.

    `fit` and `claim` rows are checked strictly (dates, numbers, known direction and kind);
    `context` rows are kept but never scored, so a malformed context row is not an error. With
    `strict=False` (scoring a file someone else wrote) a malformed `fit` or `claim` row is kept
    too, with its problem as the reason it is not scored; the file's structure (columns, ids) is
    always checked.
    """
    path = Path(path)
    file = str(path)
    if not path.is_file():
        raise DataError(file, f"file not found: {path}")
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            rows = [r for r in csv.reader(fh) if any(c.strip() for c in r)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(file, f"cannot be read as UTF-8 CSV: {exc}") from None
    if not rows:
        raise DataError(file, "file is empty (no header row)")
    header = [h.strip() for h in rows[0]]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise DataError(file, f"missing column(s): {', '.join(missing)}", field=missing[0])
    dupes = sorted({c for c in header if header.count(c) > 1})
    if dupes:
        raise DataError(file, f"duplicate column(s): {', '.join(dupes)}", field=dupes[0])
    out: list[Observation] = []
    seen: dict[str, int] = {}
    for n, raw in enumerate(rows[1:], start=1):
        if len(raw) != len(header):
            raise DataError(file, f"has {len(raw)} fields, the header has {len(header)}", row=n)
        rec = {h: cell.strip() for h, cell in zip(header, raw, strict=True)}
        for c in OPTIONAL_COLUMNS:
            rec.setdefault(c, "")
        ident = rec["id"]
        if not ident:
            raise DataError(file, "required value is empty", row=n, field="id")
        if ident in seen:
            raise DataError(file, f"duplicate id {ident!r} (first at row {seen[ident]})",
                            row=_where(n, ident), field="id")
        seen[ident] = n
        # not strict: every malformed row - an unknown `use` too - is kept and listed, not fatal
        if rec["use"] == "context" or not strict:
            out.append(_lenient_row(rec, n, file))
        else:
            out.append(_parse_row(rec, n, file))
    return out


# -- the model's geography -----------------------------------------------------------------------


@dataclass(frozen=True)
class Geography:
    """What the operator needs to know about the world: exits and countries by position.

    Built from a `sim.network.World` (`from_world`) or by hand in tests."""

    gate_ids: list[str]
    gate_site: list[str]  # the post or airport of each exit
    gate_is_air: np.ndarray  # [G] bool
    gate_country: np.ndarray  # [G] country index
    country_ids: list[str]
    country_names: list[str]
    return_country: int  # index of Russia
    country_schengen: np.ndarray | None = None  # [C] bool: a Schengen state
    # [C] ordinary daily entries of Russian citizens by rail, which the model does not simulate
    country_rail_daily: np.ndarray | None = None

    @classmethod
    def from_world(cls, world) -> Geography:
        from sim.network import AIR, DOCUMENT_LEVELS

        schengen = np.asarray(world.country_documents) == DOCUMENT_LEVELS.index("schengen_visa")
        return cls(gate_ids=list(world.gate_ids), gate_site=list(world.gate_site),
                   gate_is_air=np.asarray(world.gate_mode) == AIR,
                   gate_country=np.asarray(world.gate_country),
                   country_ids=list(world.country_ids),
                   country_names=list(world.country_names),
                   return_country=int(world.return_country), country_schengen=schengen,
                   country_rail_daily=world.country_features.get("rail_daily_persons"))

    @property
    def n_gates(self) -> int:
        return len(self.gate_ids)

    @property
    def n_countries(self) -> int:
        return len(self.country_ids)


# -- mapping rows to targets ----------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A row the model can reproduce: the series, its days, and how to reduce them.

    Day indices are relative to the first simulated day; `first` may be negative when the
    period starts before the horizon (those days are extrapolated)."""

    obs: Observation
    countries: np.ndarray  # [C] bool: the destination(s)
    gates: np.ndarray  # [G] bool: the exits the row counts (all exits into the destination if
    #                    post_ids is blank)
    by_posts: bool  # post_ids given: counts at those exits only
    all_russia: bool
    first: int
    last: int
    group: str = ""  # rows measuring the same quantity share a group
    weight: float = 1.0  # 1 / size of its group
    extrapolated_days: int = 0
    at_russian_border: bool = False  # see `counted_at_russian_border`
    rail_daily: float = 0.0  # real persons a day by rail (modes include rail), added to the run

    @property
    def id(self) -> str:
        return self.obs.id


@dataclass(frozen=True)
class Unmapped:
    obs: Observation
    reason: str


@dataclass
class MappedObservations:
    """The result of `map_observations`: targets per use, and rows that could not be mapped."""

    targets: list[Target] = field(default_factory=list)
    unmapped: list[Unmapped] = field(default_factory=list)

    def of_use(self, use: str) -> list[Target]:
        return [t for t in self.targets if t.obs.use == use]


def _norm(text: str) -> str:
    return " ".join(text.lower().replace("_", " ").split())


def resolve_destination(name: str, geo: Geography) -> tuple[np.ndarray | None, bool, str]:
    """(country mask, is all-Russia, reason if unknown). Accepts ids, names, 'A+B' lists."""
    key = _norm(name)
    mask = np.zeros(geo.n_countries, dtype=bool)
    if key in ALL_RUSSIA:
        mask[:] = True
        mask[geo.return_country] = False
        return mask, True, ""
    lookup: dict[str, int] = {}
    for i, (cid, cname) in enumerate(zip(geo.country_ids, geo.country_names, strict=True)):
        if i == geo.return_country:
            continue
        lookup[_norm(cid)] = i
        lookup[_norm(cname)] = i
    for part in key.split("+"):
        part = part.strip()
        if part not in lookup:
            return None, False, f"destination '{name}' is not a country of the model"
        mask[lookup[part]] = True
    return mask, False, ""


def resolve_posts(posts: Sequence[str], countries: np.ndarray, all_russia: bool,
                  geo: Geography) -> tuple[np.ndarray | None, str]:
    """[G] mask of exits named by post ids (an airport id names all its routes, restricted to
    the destination country unless the row is about all of Russia's exits)."""
    mask = np.zeros(geo.n_gates, dtype=bool)
    ids = np.asarray(geo.gate_ids)
    sites = np.asarray(geo.gate_site)
    to_dest = countries[geo.gate_country] if not all_russia else np.ones(geo.n_gates, bool)
    for post in posts:
        hit = (ids == post) | (sites == post)
        if not hit.any():
            return None, f"post '{post}' is not an exit of the model"
        if not (hit & to_dest).any():
            return None, f"post '{post}' does not lead to the destination"
        mask |= hit & to_dest
    return mask, ""


def crossing_scope(crossing: str) -> str:
    """What a row without post_ids covers, from its `crossing` text: 'all' exits (blank, 'all',
    'all eastern border'), only 'land' or 'air' exits ('all land border', 'all (air)'), or
    something 'narrow' that only post_ids could pin down ('Pavlodar region checkpoints')."""
    text = _norm(crossing)
    if not text:
        return "all"
    if not text.startswith("all"):
        return "narrow"
    if "air" in text.split() or "(air)" in text:
        return "air"
    if "land" in text.replace("(", " ").replace(")", " ").split():
        return "land"
    return "all"


def counted_at_russian_border(obs: Observation, scope: str, countries: np.ndarray,
                              geo: Geography) -> bool:
    """Whether a row counts only crossings of the border with Russia (people leaving there go
    back to Russia): named exits (Russia's posts and air routes), the 'eastern border' (the
    Finnish and Baltic border guards' term) or the land border of a Schengen state (no other)."""
    by_land = scope == "land" or (scope == "modes" and "air" not in obs.modes)
    land_of_schengen = (by_land and geo.country_schengen is not None
                        and geo.country_schengen[countries].all())
    return bool(obs.post_ids or "eastern border" in _norm(obs.crossing) or land_of_schengen)


def map_observations(observations: Iterable[Observation], geo: Geography,
                     dates: Sequence[dt.date], baseline_days: int,
                     max_extrapolated_days: int = 31,
                     uses: Sequence[str] = ("fit", "claim")) -> MappedObservations:
    """Map every row of the given uses to a target, or say why it cannot be mapped.

    `baseline_days`: simulated days before the announcement (used to extend periods that start
    before the horizon). Context rows and rows of other uses are listed as unmapped, with the
    reason, so nothing disappears silently."""
    result = MappedObservations()
    start, end = dates[0], dates[-1]
    for obs in observations:
        if obs.use not in USES:
            result.unmapped.append(Unmapped(obs, f"unknown use '{obs.use}' (expected one of "
                                                 f"{list(USES)})"))
            continue
        if obs.use not in uses:
            result.unmapped.append(Unmapped(obs, f"use '{obs.use}' is not scored"))
            continue
        reason, target = _map_one(obs, geo, start, end, baseline_days, max_extrapolated_days)
        if target is None:
            result.unmapped.append(Unmapped(obs, reason))
        else:
            result.targets.append(target)
    result.targets = assign_groups(result.targets)
    return result


def _map_one(obs: Observation, geo: Geography, start: dt.date, end: dt.date, baseline_days: int,
             max_extra: int) -> tuple[str, Target | None]:
    if obs.problem:
        return f"malformed row: {obs.problem}", None
    if not obs.value > 0:  # a log ratio needs a positive value: 0 would dominate any score
        return f"observed value {obs.value:g} cannot be scored on a log scale (needs > 0)", None
    if obs.kind in ("queue_km", "pct_change"):
        return f"kind '{obs.kind}' has no counterpart in the model (no road lengths, no " \
               "reference period for a percentage)", None
    assert obs.date is not None
    if obs.date < start or obs.date > end:
        return f"date {obs.date} is outside the simulated horizon {start}..{end}", None
    countries, all_russia, reason = resolve_destination(obs.destination, geo)
    if countries is None:
        return reason, None
    scope = "modes" if obs.modes else crossing_scope(obs.crossing)
    if obs.post_ids:
        gates, reason = resolve_posts(obs.post_ids, countries, all_russia, geo)
        if gates is None:
            return reason, None
        by_posts = True
    else:
        gates = countries[geo.gate_country].copy()
        if all_russia:
            gates[:] = True
        every = gates.copy()
        if scope == "modes":  # the count's modes, summed: road exits, air exits (rail below)
            if "road" not in obs.modes:
                gates &= geo.gate_is_air
            if "air" not in obs.modes:
                gates &= ~geo.gate_is_air
        elif scope == "land":
            gates &= ~geo.gate_is_air
        elif scope == "air":
            gates &= geo.gate_is_air
        elif scope == "narrow" and gates.sum() != 1:
            return (f"crossing '{obs.crossing}' is narrower than the destination but post_ids "
                    "is blank (which would count every crossing); name its exits in post_ids"
                    ), None
        # 'all land border' of a country reached by land only is every crossing into it
        by_posts = scope in ("land", "air", "modes") and not np.array_equal(gates, every)
        if scope in ("land", "air") and not gates.any():
            return f"the destination has no {scope} exit in the model", None
        if scope == "modes" and not gates.any() and "rail" not in obs.modes:
            return f"the destination has no {'/'.join(obs.modes)} exit in the model", None
    kind, direction = obs.kind, obs.direction
    exit_kinds = ("queue_vehicles", "queue_hours", "period_total_vehicles")
    if kind in exit_kinds and direction not in QUEUE_DIRECTIONS:
        return f"kind '{kind}' is measured at exits; direction '{direction}' has none", None
    if kind in ("queue_vehicles", "period_total_vehicles"):
        gates = gates & ~geo.gate_is_air  # vehicles cross at land posts only
        if not gates.any():
            return f"kind '{kind}' needs a land post; the row's exits are all flights", None
        by_posts = True
    if not gates.any() and (direction == "left_russia" or kind.startswith("queue")):
        return "no exit of the model leads to the destination", None
    last = (obs.date - start).days
    if obs.period_start is None:
        if kind in ("period_total", "period_total_vehicles"):
            return f"kind '{kind}' needs a period_start", None
        if kind == "cumulative" and direction != "net":
            return "a cumulative figure without a start date (only a net stock can be)", None
        first = last
    else:
        first = (obs.period_start - start).days
    if kind in ("queue_vehicles",) and first != last:
        return "a queue is a moment, not a period", None
    extra = max(0, -first)
    if extra:
        if kind in ("queue_vehicles", "queue_hours") or (kind == "cumulative"
                                                         and direction == "net"
                                                         and obs.period_start is None):
            return "period starts before the simulated horizon", None
        if baseline_days <= 0:
            return (f"period starts {extra} days before the horizon and the horizon has no "
                    "pre-announcement days to extend it with"), None
        if extra > max_extra:
            return (f"period starts {extra} days before the horizon (more than "
                    f"{max_extra} days of extrapolation)"), None
    rail = 0.0
    if "rail" in obs.modes and geo.country_rail_daily is not None:
        rail = float(np.asarray(geo.country_rail_daily)[countries].sum())
    return "", Target(obs=obs, countries=countries, gates=gates, by_posts=by_posts,
                      all_russia=all_russia, first=first, last=last, extrapolated_days=extra,
                      at_russian_border=counted_at_russian_border(obs, scope, countries, geo),
                      rail_daily=rail)


def group_key(t: Target) -> str:
    """Rows measuring the same quantity (destination, exits, direction, kind, days)."""
    o = t.obs
    where = ",".join(map(str, np.flatnonzero(t.countries)))
    exits = ",".join(map(str, np.flatnonzero(t.gates))) if t.by_posts else "*"
    return f"{where}|{exits}|{o.direction}|{o.kind}|{t.first}|{t.last}|{o.use}"


def assign_groups(targets: list[Target]) -> list[Target]:
    """Give conflicting duplicates (same quantity, same days) one target's weight in total."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, t in enumerate(targets):
        groups[group_key(t)].append(i)
    out = list(targets)
    for members in groups.values():
        label = "+".join(targets[i].id for i in members)
        for i in members:
            out[i] = replace(targets[i], group=label if len(members) > 1 else targets[i].id,
                             weight=1.0 / len(members))
    return out
