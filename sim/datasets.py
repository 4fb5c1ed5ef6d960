"""Load and validate the project's data tables (sim/data/*.csv).

Every table is checked before a run starts, so that a bad file stops the program with a message
that names the file, the row (1-based data row, and the id where the table has one), the field
and the offending value, instead of a pandas or numpy traceback deep inside the model.

The checks are declarative: each file has a small table of column specs (`Col`) plus a few
row rules and cross-table references. Cells are parsed as text by one reader (`_parse_table`:
types, 64-bit integer width, finite floats, unique keys); the domains - bounds, allowed values,
row rules - are a pandera schema per file (`table_schema`), built from the same specs, whose
failures are reported with file, row, column and value.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import pandas as pd

from sim.errors import DataError

if TYPE_CHECKING:  # pandera only to check tables as they are read (a cached world reads none)
    import pandera.pandas as pa

__all__ = ["FILES", "Tables", "default_data_dir", "load_tables", "table_schema"]

BASIS = ("reported", "derived", "assumption")
COORD_QUALITY = ("sourced", "sourced_approx", "estimate")
YES_NO = ("yes", "no")
POST_STATUS = ("open", "closed", "dead_end")
COUNTRY_KIND = ("first_entry", "onward", "return")
DOCUMENTS = ("internal_passport", "foreign_passport", "schengen_visa")
ONWARD_MODE = ("road", "air", "any")
CALLUP_KIND = ("reported", "assumption")

_INT_RE = re.compile(r"^[+-]?\d+$")
INT64 = (-(2**63), 2**63 - 1)
# Plausible maxima: values above them are typing errors that would run for hours, not data.
# Moscow, the largest region, has about 13 million people, some 4.1 million men aged 16-61.
MAX_MEN_AT_RISK = 5_000_000
MAX_PERSONS_PER_DAY = 1_000_000  # the busiest land crossings in the world pass ~100,000 a day

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
    return Col(name, "int", lo=0, lo_open=positive, hi=MAX_PERSONS_PER_DAY)


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
            Col("men_at_risk", "int", lo=0, lo_open=True, hi=MAX_MEN_AT_RISK),
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
            # 1: Russian an official language; 0.5: a lingua franca; 0.25: spoken by a large
            # minority; 0: neither (SOURCES.md, countries.csv): a feature of destination pull
            _rate("russian_spoken"),
            # ordinary daily entries of Russian citizens by passenger train (not simulated: a
            # count that includes rail adds it, calibration/measure.py); SOURCES.md A16
            Col("rail_daily_persons", "float", lo=0),
            # the model leaves with probability 1/stay a day: a stay under a day is no probability
            Col("normal_mean_stay_days", "float", lo=1, hi=3650),  # 1 day to 10 years
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
                    "normal_daily_passengers {normal_daily_passengers} exceed seats_per_day "
                    "{seats_per_day}",
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
    _check_callup_course(parsed["callup"])
    _check_exits_leave_russia(parsed)
    return Tables(**parsed)


def _check_exits_leave_russia(parsed: dict[str, pd.DataFrame]) -> None:
    """An exit from Russia leads out of it: a border post or air route into RU would count men
    as gone who never left."""
    for table, file in (("posts", "posts.csv"), ("air_routes", "air_routes.csv")):
        into = (parsed[table]["destination"] == "RU").to_numpy()
        if into.any():
            first = int(into.argmax())
            raise DataError(file, "leads into Russia: an exit must lead out of it",
                            row=f"{first + 1} ({parsed[table].index[first]})",
                            field="destination")


def _check_callup_course(callup: pd.DataFrame) -> None:
    """The call-up is cumulative: by date, each reported number at least the one before (the
    pressure follows its increase, which must not be negative)."""
    if callup.empty:  # the pressure would follow nothing and stay at its top all autumn
        raise DataError("callup_2022.csv", "holds no row: the call-up's course needs at least "
                        "one reported number")
    ordered = callup.sort_index()
    values = ordered["called_up_cumulative"].to_numpy()
    for i in range(1, len(values)):
        if values[i] < values[i - 1]:
            raise DataError("callup_2022.csv", f"{values[i]} called up by {ordered.index[i]} is "
                            f"fewer than the {values[i - 1]} of '{ordered.index[i - 1]}': the "
                            "numbers are cumulative", row=f"date {ordered.index[i]}",
                            field="called_up_cumulative")


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
    """Parse one cell to its column's type; raise DataError naming the cell and value.

    Only what a schema cannot see once the text is typed is checked here: integers that do not
    fit 64 bits, text that is no number, NaN and infinity. Bounds and allowed values are the
    schema's (`table_schema`)."""
    text = raw.strip()
    if text == "":
        if col.required:
            raise DataError(file, "required value is empty", row=where, field=col.name)
        return ""
    if col.kind in ("str", "enum"):
        return text
    if col.kind == "int":
        if not _INT_RE.match(text):
            raise DataError(file, f"{text!r} is not an integer", row=where, field=col.name)
        number = int(text)
        if not INT64[0] <= number <= INT64[1]:
            raise DataError(file, f"{text} does not fit a 64-bit integer", row=where,
                            field=col.name)
        return number
    try:
        value = float(text)
    except ValueError:
        raise DataError(file, f"{text!r} is not a number", row=where, field=col.name) from None
    if not math.isfinite(value):
        raise DataError(file, f"{text!r} is not a finite number", row=where, field=col.name)
    return value


def _bound_text(col: Col) -> str:
    lo = "" if col.lo is None else ("> " if col.lo_open else ">= ") + f"{col.lo:g}"
    hi = "" if col.hi is None else f"<= {col.hi:g}"
    return " and ".join(b for b in (lo, hi) if b)


def _column_checks(col: Col) -> list[pa.Check]:
    """The column's domain as pandera checks; each check's error is the message's bound."""
    import pandera.pandas as pa

    if col.kind == "enum":
        return [pa.Check.isin(list(col.choices),
                              error=f"expected one of {list(col.choices)}")]
    if col.kind not in ("int", "float"):
        return []
    bound = f"out of range (must be {_bound_text(col)})"
    checks = []
    if col.lo is not None:
        checks.append(pa.Check.gt(col.lo, error=bound) if col.lo_open
                      else pa.Check.ge(col.lo, error=bound))
    if col.hi is not None:
        checks.append(pa.Check.le(col.hi, error=bound))
    return checks


@cache
def table_schema(spec: FileSpec) -> pa.DataFrameSchema:
    """The pandera schema of one file: typed columns with their domains, and its row rules."""
    import pandera.pandas as pa

    dtypes = {"int": "int64", "float": "float64"}
    columns = {c.name: pa.Column(dtypes.get(c.kind), checks=_column_checks(c), nullable=False)
               for c in spec.columns}
    rules = [pa.Check(lambda frame, rule=rule: frame.apply(rule.ok, axis=1), error=rule.field)
             for rule in spec.rules]
    return pa.DataFrameSchema(columns, checks=rules, strict=True, ordered=True)


def _check_schema(frame: pd.DataFrame, spec: FileSpec) -> None:
    """Validate a typed table (indexed by data row) and report its first failure."""
    import pandera.pandas as pa

    try:
        table_schema(spec).validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases.dropna(subset=["index"])
        if cases.empty:  # a failure without a row (a dtype): name the column
            case = errors.failure_cases.iloc[0]
            raise DataError(spec.file, f"{case['check']}: {case['failure_case']}",
                            field=case["column"]) from None
        # the first row; in it, a column's own domain before a rule across columns
        cases = cases.assign(row=cases["index"].astype(int),
                             rule=cases["schema_context"] == "DataFrameSchema")
        case = cases.sort_values(["row", "rule"], kind="stable").iloc[0]
        row = int(case["row"])
        record = frame.loc[row].to_dict()
        where = _where(row, spec, record)
        if case["schema_context"] == "DataFrameSchema":  # a row rule: its own message
            rule = next(r for r in spec.rules if r.field == case["check"])
            raise DataError(spec.file, rule.message.format(**record), row=where,
                            field=rule.field) from None
        column, value = case["column"], case["failure_case"]
        shown = f"{value!r}" if isinstance(value, str) else f"{value:g}"
        message = (f"unknown value {shown}; {case['check']}" if isinstance(value, str)
                   else f"value {shown} {case['check']}")
        raise DataError(spec.file, message, row=where,
                        field=column) from None


def _parse_table(folder: Path, spec: FileSpec) -> pd.DataFrame:
    """Parse every cell, check key uniqueness, then the file's schema."""
    header, rows = _read_rows(folder / spec.file, spec)
    _check_header(header, spec)
    pos = {name: header.index(name) for name in (c.name for c in spec.columns)}
    records: list[dict] = []
    numbers: list[int] = []
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
        records.append(rec)
        numbers.append(n)
    frame = _to_frame(records, spec, numbers)
    _check_schema(frame, spec)
    return frame.set_index(spec.index) if spec.index else frame.reset_index(drop=True)


def _to_frame(records: list[dict], spec: FileSpec, numbers: list[int]) -> pd.DataFrame:
    """Typed DataFrame in the spec's column order, indexed by data row; ints as int64."""
    names = [c.name for c in spec.columns]
    frame = pd.DataFrame.from_records(records, columns=names)
    frame.index = pd.Index(numbers, dtype="int64")
    for col in spec.columns:
        if col.kind == "int":
            frame[col.name] = frame[col.name].astype("int64")
        elif col.kind == "float":
            frame[col.name] = frame[col.name].astype("float64")
        else:
            frame[col.name] = frame[col.name].astype(object)
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
