"""Load and validate the project's data tables (sim/data/*.csv).

Every table is checked before a run starts, so that a bad file stops the program with a message
that names the file, the row (1-based data row, and the id where the table has one), the field
and the offending value, instead of a pandas or numpy traceback deep inside the model.

The checks are declarative: each file has a small table of column specs (`Col`) plus a few
row rules and cross-table references, and one checker (`_parse_table`) applies them all.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pandas as pd

from sim.errors import DataError

__all__ = ["FILES", "Tables", "default_data_dir", "load_tables"]

BASIS = ("reported", "derived", "assumption")
COORD_QUALITY = ("sourced", "sourced_approx", "estimate")
YES_NO = ("yes", "no")
POST_STATUS = ("open", "closed", "dead_end")
COUNTRY_KIND = ("first_entry", "onward", "return")
DOCUMENTS = ("internal_passport", "foreign_passport", "schengen_visa")
ONWARD_MODE = ("road", "air", "any")
CALLUP_KIND = ("reported", "assumption")

_INT_RE = re.compile(r"^[+-]?\d+$")

ColKind = Literal["str", "int", "float", "enum"]


@dataclass(frozen=True)
class Col:
    """How one column is parsed and checked.

    kind: "str" (free text), "int", "float" or "enum" (one of `choices`).
    lo/hi: inclusive numeric bounds; lo_open: the lower bound itself is not allowed (> lo).
    """

    name: str
    kind: ColKind = "str"
    required: bool = True
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class RowRule:
    """A check across columns of one row: `ok(row)` must hold.

    `message` is formatted with the row's values, so the error shows the offending numbers.
    """

    field: str
    message: str
    ok: Callable[[dict], bool]


@dataclass(frozen=True)
class Ref:
    """`column` of this file must be an id (index) of the `target` table."""

    column: str
    target: str


@dataclass(frozen=True)
class FileSpec:
    """One data file: its columns, its key, its row rules and its references."""

    table: str
    file: str
    columns: tuple[Col, ...]
    index: str | None = None  # unique id column, becomes the DataFrame index
    unique: tuple[str, ...] = ()  # a unique key when there is no id column
    rules: tuple[RowRule, ...] = ()
    refs: tuple[Ref, ...] = field(default_factory=tuple)


def _lat(name: str = "lat") -> Col:
    return Col(name, "float", lo=-90, hi=90)


def _lon(name: str = "lon") -> Col:
    return Col(name, "float", lo=-180, hi=180)


def _enum(name: str, choices: tuple[str, ...]) -> Col:
    return Col(name, "enum", choices=choices)


def _count(name: str, positive: bool = False) -> Col:
    return Col(name, "int", lo=0, lo_open=positive)


def _rate(name: str) -> Col:
    return Col(name, "float", lo=0, hi=1)


def _is_iso_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10


def _date_rule(column: str = "date") -> RowRule:
    return RowRule(column, f"{{{column}!r}} is not a date (YYYY-MM-DD)",
                   lambda r: _is_iso_date(r[column]))


FILES: tuple[FileSpec, ...] = (
    FileSpec(
        "regions", "regions.csv",
        (
            Col("code"), Col("name_en"), Col("federal_district"), Col("capital"),
            _lat(), _lon(),
            _count("men_at_risk", positive=True),
            Col("mobilised_deaths_per_100k", "float", lo=0),
            Col("mean_income_rub_month", "float", lo=0, lo_open=True),
            Col("pct_below_subsistence", "float", lo=0, hi=100),
            Col("timezone_utc_offset", "int", lo=-12, hi=14),
            _enum("annexed", YES_NO), _enum("exclave", YES_NO),
        ),
        index="code",
    ),
    FileSpec(
        "countries", "countries.csv",
        (
            Col("id"), Col("name"), _enum("kind", COUNTRY_KIND),
            _enum("documents_required", DOCUMENTS), _lat(), _lon(),
            _rate("attractiveness"),
            Col("normal_mean_stay_days", "float", lo=0, lo_open=True),
            Col("notes", required=False), Col("source"),
        ),
        index="id",
    ),
    FileSpec(
        "posts", "posts.csv",
        (
            Col("id"), Col("name"), Col("russian_region"), Col("destination"),
            _lat(), _lon(), _enum("coord_quality", COORD_QUALITY),
            _enum("status", POST_STATUS),
            _count("capacity_persons_per_day"), _enum("capacity_basis", BASIS),
            _count("normal_daily_persons"), _enum("normal_basis", BASIS),
            Col("notes", required=False), Col("source"),
        ),
        index="id",
        rules=(
            RowRule("capacity_persons_per_day",
                    "capacity {capacity_persons_per_day} for an open post (must be > 0)",
                    lambda r: r["status"] != "open" or r["capacity_persons_per_day"] > 0),
        ),
        refs=(Ref("russian_region", "regions"), Ref("destination", "countries")),
    ),
    FileSpec(
        "airports", "airports.csv",
        (
            Col("id"), Col("iata"), Col("name"), Col("region"), _lat(), _lon(),
            _enum("coord_quality", COORD_QUALITY), Col("notes", required=False), Col("source"),
        ),
        index="id",
        refs=(Ref("region", "regions"),),
    ),
    FileSpec(
        "air_routes", "air_routes.csv",
        (
            Col("airport"), Col("destination"),
            _count("seats_per_day", positive=True), _count("normal_daily_passengers"),
            _count("fare_rub", positive=True), _enum("basis", BASIS),
            Col("notes", required=False),
        ),
        unique=("airport", "destination"),
        rules=(
            RowRule("normal_daily_passengers",
                    "{normal_daily_passengers} ordinary passengers exceed {seats_per_day} seats",
                    lambda r: r["normal_daily_passengers"] <= r["seats_per_day"]),
        ),
        refs=(Ref("airport", "airports"), Ref("destination", "countries")),
    ),
    FileSpec(
        "onward_routes", "onward_routes.csv",
        (
            Col("from_country"), Col("to_country"), _enum("mode", ONWARD_MODE),
            _rate("daily_rate"), _rate("rate_low"), _rate("rate_high"),
            _enum("basis", BASIS), Col("notes", required=False), Col("source"),
        ),
        unique=("from_country", "to_country"),
        rules=(
            RowRule("rate_low", "rate_low {rate_low:g} exceeds daily_rate {daily_rate:g}",
                    lambda r: r["rate_low"] <= r["daily_rate"]),
            RowRule("rate_high", "rate_high {rate_high:g} is below daily_rate {daily_rate:g}",
                    lambda r: r["daily_rate"] <= r["rate_high"]),
            RowRule("to_country", "route from {from_country!r} back to itself",
                    lambda r: r["from_country"] != r["to_country"]),
        ),
        refs=(Ref("from_country", "countries"), Ref("to_country", "countries")),
    ),
    FileSpec(
        "callup", "callup_2022.csv",
        (
            Col("date"), _count("called_up_cumulative"), _enum("kind", CALLUP_KIND),
            Col("source"), Col("notes", required=False),
        ),
        index="date",
        rules=(_date_rule(),),
    ),
    FileSpec(
        "quota_complete", "region_quota_complete.csv",
        (Col("region_code"), Col("date"), Col("source"), Col("notes", required=False)),
        index="region_code",
        rules=(_date_rule(),),
        refs=(Ref("region_code", "regions"),),
    ),
)


@dataclass(frozen=True)
class Tables:
    """The validated data tables, ready for the network builder."""

    regions: pd.DataFrame  # index: code, in file order
    posts: pd.DataFrame  # index: id
    airports: pd.DataFrame  # index: id
    air_routes: pd.DataFrame  # RangeIndex; columns airport, destination, ...
    countries: pd.DataFrame  # index: id
    onward_routes: pd.DataFrame
    callup: pd.DataFrame  # index: date (ISO text); called_up_cumulative
    quota_complete: pd.DataFrame  # index: region_code; date the region declared its quota met


def default_data_dir() -> Path:
    """The data shipped with the package, so runs never depend on the working directory."""
    return Path(__file__).resolve().parent / "data"


def load_tables(data_dir: Path | str | None = None) -> Tables:
    """Read, type and validate every table, then resolve the references between them."""
    folder = default_data_dir() if data_dir is None else Path(data_dir)
    parsed: dict[str, pd.DataFrame] = {}
    for spec in FILES:
        parsed[spec.table] = _parse_table(folder, spec)
    for spec in FILES:
        _check_refs(spec, parsed)
    return Tables(**parsed)


# -- the checker -------------------------------------------------------------------------------


def _key_columns(spec: FileSpec) -> tuple[str, ...]:
    return (spec.index,) if spec.index else spec.unique


def _where(n: int, spec: FileSpec, values: dict) -> str:
    """Row label for messages: the 1-based data row, plus its id or key where it has one."""
    keys = _key_columns(spec)
    shown = "/".join(str(values.get(k, "")).strip() for k in keys)
    if not shown.strip("/"):
        return str(n)
    name = "id" if spec.index else "/".join(keys)
    return f"{n} ({name} '{shown}')"


def _read_rows(path: Path, spec: FileSpec) -> tuple[list[str], list[list[str]]]:
    """Raw header and rows as strings (the csv module never guesses types or NaN)."""
    if not path.is_file():
        raise DataError(spec.file, f"file not found: {path}")
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(spec.file, f"cannot be read as UTF-8 CSV: {exc}") from None
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise DataError(spec.file, "file is empty or its first line (the header) is blank")
    header = [h.strip() for h in rows[0]]
    return header, rows[1:]


def _check_header(header: list[str], spec: FileSpec) -> None:
    expected = [c.name for c in spec.columns]
    missing = [c for c in expected if c not in header]
    if missing:
        raise DataError(spec.file, f"missing column(s): {', '.join(missing)}", field=missing[0])
    extra = [c for c in header if c not in expected]
    if extra:
        raise DataError(spec.file, f"unexpected column(s): {', '.join(extra)}", field=extra[0])
    dupes = sorted({c for c in header if header.count(c) > 1})
    if dupes:
        raise DataError(spec.file, f"duplicate column(s): {', '.join(dupes)}", field=dupes[0])


def _parse_value(raw: str, col: Col, file: str, where: str) -> object:
    """Parse one cell per its column spec; raise DataError naming the cell and value."""
    text = raw.strip()
    if text == "":
        if col.required:
            raise DataError(file, "required value is empty", row=where, field=col.name)
        return ""
    if col.kind == "str":
        return text
    if col.kind == "enum":
        if text not in col.choices:
            raise DataError(file, f"unknown value {text!r}; expected one of {list(col.choices)}",
                            row=where, field=col.name)
        return text
    if col.kind == "int":
        if not _INT_RE.match(text):
            raise DataError(file, f"{text!r} is not an integer", row=where, field=col.name)
        value: float = int(text)
    else:
        try:
            value = float(text)
        except ValueError:
            raise DataError(file, f"{text!r} is not a number", row=where, field=col.name) from None
        if not math.isfinite(value):
            raise DataError(file, f"{text!r} is not a finite number", row=where, field=col.name)
    _check_range(value, text, col, file, where)
    return value


def _check_range(value: float, text: str, col: Col, file: str, where: str) -> None:
    too_low = col.lo is not None and (value <= col.lo if col.lo_open else value < col.lo)
    too_high = col.hi is not None and value > col.hi
    if too_low or too_high:
        lo = "" if col.lo is None else ("> " if col.lo_open else ">= ") + f"{col.lo:g}"
        hi = "" if col.hi is None else f"<= {col.hi:g}"
        bound = " and ".join(b for b in (lo, hi) if b)
        raise DataError(file, f"value {text} out of range (must be {bound})",
                        row=where, field=col.name)


def _parse_table(folder: Path, spec: FileSpec) -> pd.DataFrame:
    """Apply the column specs, key uniqueness and row rules of one file."""
    header, rows = _read_rows(folder / spec.file, spec)
    _check_header(header, spec)
    pos = {name: header.index(name) for name in (c.name for c in spec.columns)}
    records: list[dict] = []
    seen: dict[tuple[str, ...], int] = {}
    key_cols = _key_columns(spec)
    for n, raw in enumerate(rows, start=1):
        if not any(cell.strip() for cell in raw):
            continue  # blank line: skipped, but still counted so row numbers match the file
        if len(raw) != len(header):
            raise DataError(spec.file, f"has {len(raw)} fields, the header has {len(header)}",
                            row=n)
        where = _where(n, spec, {k: raw[pos[k]] for k in key_cols})
        rec = {c.name: _parse_value(raw[pos[c.name]], c, spec.file, where) for c in spec.columns}
        if key_cols:
            key = tuple(str(rec[k]) for k in key_cols)
            if key in seen:
                shown = key[0] if len(key) == 1 else "/".join(key)
                raise DataError(spec.file, f"duplicate {'/'.join(key_cols)} {shown!r} "
                                f"(first at row {seen[key]})", row=where, field=key_cols[0])
            seen[key] = n
        for rule in spec.rules:
            if not rule.ok(rec):
                raise DataError(spec.file, rule.message.format(**rec), row=where,
                                field=rule.field)
        records.append(rec)
    return _to_frame(records, spec)


def _to_frame(records: list[dict], spec: FileSpec) -> pd.DataFrame:
    """Typed DataFrame in the spec's column order; ints as int64, floats as float64."""
    names = [c.name for c in spec.columns]
    frame = pd.DataFrame.from_records(records, columns=names)
    for col in spec.columns:
        if col.kind == "int":
            frame[col.name] = frame[col.name].astype("int64")
        elif col.kind == "float":
            frame[col.name] = frame[col.name].astype("float64")
        else:
            frame[col.name] = frame[col.name].astype(object)
    if spec.index:
        frame = frame.set_index(spec.index, drop=True)
    return frame


def _check_refs(spec: FileSpec, tables: dict[str, pd.DataFrame]) -> None:
    """Every reference must name an existing id of its target table."""
    frame = tables[spec.table].reset_index()
    for ref in spec.refs:
        known = set(tables[ref.target].index)
        target_file = next(s.file for s in FILES if s.table == ref.target)
        for n, row in enumerate(frame.to_dict("records"), start=1):
            if row[ref.column] not in known:
                raise DataError(spec.file, f"{row[ref.column]!r} is not an id in {target_file}",
                                row=_where(n, spec, row), field=ref.column)
