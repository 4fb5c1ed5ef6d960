"""Tests for sim.datasets: the shipped data loads; each kind of bad input is reported clearly."""

from __future__ import annotations

import csv
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from sim.datasets import FILES, Tables, default_data_dir, load_tables
from sim.errors import DataError

# Sum of men_16_61_census2021 over the 85 rows of the reference regions.csv, computed when the
# data were prepared: pandas.read_csv("shared/reference/regions.csv").men_16_61_census2021.sum()
REFERENCE_MEN_AT_RISK = 44_434_799


@pytest.fixture(scope="module")
def shipped() -> Tables:
    return load_tables()


def test_shipped_data_loads(shipped: Tables) -> None:
    assert len(shipped.regions) == 85
    assert int(shipped.regions.men_at_risk.sum()) == REFERENCE_MEN_AT_RISK
    assert shipped.regions.index[0] == "RU-AD"  # file order kept
    open_posts = shipped.posts[shipped.posts.status == "open"]
    assert (open_posts.capacity_persons_per_day > 0).all()
    assert "RU" in shipped.countries.index
    assert shipped.air_routes.index.equals(
        shipped.air_routes.reset_index(drop=True).index)  # RangeIndex


def test_shipped_data_is_consistent(shipped: Tables) -> None:
    regions = shipped.regions
    assert set(regions.loc[regions.annexed == "yes"].index) == {"UA-40", "UA-43"}
    assert list(regions.loc[regions.exclave == "yes"].index) == ["RU-KGD"]
    assert shipped.posts.loc["AZ-01", "status"] == "closed"
    assert shipped.posts.loc["AB-01", "status"] == "dead_end"
    assert not shipped.posts.index.str.startswith(("AIR-", "KZ-ALL")).any()
    # every airport has at least one route, so no exit leads nowhere
    assert set(shipped.air_routes.airport) == set(shipped.airports.index)
    onward = shipped.onward_routes
    assert ((onward.rate_low <= onward.daily_rate) & (onward.daily_rate <= onward.rate_high)).all()


def test_typed_columns(shipped: Tables) -> None:
    assert shipped.regions.men_at_risk.dtype == "int64"
    assert shipped.posts.lat.dtype == "float64"
    assert shipped.air_routes.fare_rub.dtype == "int64"
    assert shipped.onward_routes.daily_rate.dtype == "float64"


def test_default_data_dir_is_the_package_folder() -> None:
    folder = default_data_dir()
    assert folder.name == "data" and folder.parent.name == "sim"
    for spec in FILES:
        assert (folder / spec.file).is_file()


# -- bad inputs --------------------------------------------------------------------------------


def _copy_data(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    for spec in FILES:
        shutil.copy(default_data_dir() / spec.file, folder / spec.file)
    return folder


def _rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def _write(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)


def set_cell(file: str, row: int, column: str, value: str) -> Callable[[Path], None]:
    """Mutation: data row `row` (1-based) of `file` gets `value` in `column`."""

    def apply(folder: Path) -> None:
        rows = _rows(folder / file)
        rows[row][rows[0].index(column)] = value
        _write(folder / file, rows)

    return apply


def drop_column(file: str, column: str) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        rows = _rows(folder / file)
        i = rows[0].index(column)
        _write(folder / file, [r[:i] + r[i + 1:] for r in rows])

    return apply


def add_column(file: str, column: str) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        rows = _rows(folder / file)
        _write(folder / file, [[*rows[0], column], *[[*r, "x"] for r in rows[1:]]])

    return apply


def duplicate_row(file: str, row: int) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        rows = _rows(folder / file)
        _write(folder / file, [*rows, rows[row]])

    return apply


def remove_file(file: str) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        (folder / file).unlink()

    return apply


def set_where(file: str, key: str, key_value: str, column: str,
              value: str) -> Callable[[Path], None]:
    """Mutation on the first row whose `key` column equals `key_value`."""

    def apply(folder: Path) -> None:
        rows = _rows(folder / file)
        k, c = rows[0].index(key), rows[0].index(column)
        for r in rows[1:]:
            if r[k] == key_value:
                r[c] = value
                break
        else:
            raise AssertionError(f"{key_value} not in {file}")
        _write(folder / file, rows)

    return apply


# (mutation, the strings the message must contain: file, row or id, field or bad value)
BAD_INPUTS: dict[str, tuple[Callable[[Path], None], tuple[str, ...]]] = {
    "missing file": (remove_file("airports.csv"), ("airports.csv", "not found")),
    "missing column": (drop_column("posts.csv", "capacity_basis"),
                       ("posts.csv", "missing column", "capacity_basis")),
    "extra column": (add_column("countries.csv", "population"),
                     ("countries.csv", "unexpected column", "population")),
    "empty required field": (set_cell("regions.csv", 4, "capital", ""),
                             ("regions.csv", "row 4 (id 'RU-AMU')", "capital", "empty")),
    "non-numeric": (set_cell("regions.csv", 2, "men_at_risk", "lots"),
                    ("regions.csv", "row 2 (id 'RU-AL')", "men_at_risk", "'lots'")),
    "float where int": (set_cell("posts.csv", 1, "capacity_persons_per_day", "9000.5"),
                        ("posts.csv", "row 1 (id 'GE-01')", "capacity_persons_per_day",
                         "'9000.5'")),
    "nan": (set_cell("countries.csv", 1, "lat", "nan"),
            ("countries.csv", "row 1 (id 'KZ')", "'lat'", "'nan'")),
    "lat out of range": (set_cell("posts.csv", 2, "lat", "123"),
                         ("posts.csv", "row 2 (id 'KZ-01')", "'lat'", "123", "<= 90")),
    "lon out of range": (set_cell("airports.csv", 1, "lon", "-190.5"),
                         ("airports.csv", "row 1 (id 'AIR-SVO')", "'lon'", "-190.5")),
    "negative capacity": (set_cell("posts.csv", 3, "capacity_persons_per_day", "-5"),
                          ("posts.csv", "row 3 (id 'KZ-02')", "capacity_persons_per_day", "-5")),
    "negative count": (set_cell("air_routes.csv", 1, "normal_daily_passengers", "-1"),
                       ("air_routes.csv", "row 1 (airport/destination 'AIR-SVO/TR')",
                        "normal_daily_passengers", "-1")),
    "zero capacity open post": (
        set_where("posts.csv", "id", "FI-01", "capacity_persons_per_day", "0"),
        ("posts.csv", "(id 'FI-01')", "capacity_persons_per_day", "open post", "capacity 0")),
    "unknown status": (set_cell("posts.csv", 1, "status", "ajar"),
                       ("posts.csv", "row 1 (id 'GE-01')", "status", "'ajar'")),
    "unknown kind": (set_cell("countries.csv", 2, "kind", "transit"),
                     ("countries.csv", "(id 'GE')", "kind", "'transit'")),
    "unknown documents": (set_cell("countries.csv", 2, "documents_required", "visa"),
                          ("countries.csv", "(id 'GE')", "documents_required", "'visa'")),
    "unknown coord quality": (set_cell("posts.csv", 2, "coord_quality", "UNVERIFIED_ESTIMATE"),
                              ("posts.csv", "(id 'KZ-01')", "coord_quality",
                               "'UNVERIFIED_ESTIMATE'")),
    "unknown basis": (set_cell("air_routes.csv", 2, "basis", "guess"),
                      ("air_routes.csv", "row 2", "basis", "'guess'")),
    "bad yes/no flag": (set_cell("regions.csv", 1, "annexed", "maybe"),
                        ("regions.csv", "(id 'RU-AD')", "annexed", "'maybe'")),
    "duplicate id": (duplicate_row("posts.csv", 5),
                     ("posts.csv", "duplicate id", "'KZ-04'", "first at row 5")),
    "duplicate route": (duplicate_row("air_routes.csv", 1),
                        ("air_routes.csv", "duplicate airport/destination", "AIR-SVO/TR")),
    "unknown post region": (set_cell("posts.csv", 1, "russian_region", "RU-XXX"),
                            ("posts.csv", "(id 'GE-01')", "russian_region", "'RU-XXX'",
                             "regions.csv")),
    "unknown post destination": (set_cell("posts.csv", 1, "destination", "ZZ"),
                                 ("posts.csv", "(id 'GE-01')", "destination", "'ZZ'",
                                  "countries.csv")),
    "unknown air destination": (set_cell("air_routes.csv", 3, "destination", "GE2"),
                                ("air_routes.csv", "row 3", "destination", "'GE2'")),
    "unknown airport": (set_cell("air_routes.csv", 1, "airport", "AIR-XXX"),
                        ("air_routes.csv", "row 1", "airport", "'AIR-XXX'", "airports.csv")),
    "unknown airport region": (set_cell("airports.csv", 1, "region", "RU-MOSCOW"),
                               ("airports.csv", "(id 'AIR-SVO')", "region", "'RU-MOSCOW'")),
    "unknown onward endpoint": (set_cell("onward_routes.csv", 2, "to_country", "XX"),
                                ("onward_routes.csv", "row 2", "to_country", "'XX'")),
    "rate above 1": (set_cell("onward_routes.csv", 1, "rate_high", "1.5"),
                     ("onward_routes.csv", "row 1", "rate_high", "1.5", "<= 1")),
    "rate_low above daily_rate": (set_cell("onward_routes.csv", 1, "rate_low", "0.09"),
                                  ("onward_routes.csv", "row 1 (from_country/to_country 'KZ/UZ')",
                                   "rate_low", "0.09", "daily_rate 0.02")),
    "rate_high below daily_rate": (set_cell("onward_routes.csv", 1, "rate_high", "0.001"),
                                   ("onward_routes.csv", "row 1", "rate_high", "0.001",
                                    "daily_rate 0.02")),
    "attractiveness above 1": (set_cell("countries.csv", 3, "attractiveness", "1.2"),
                               ("countries.csv", "(id 'FI')", "attractiveness", "1.2")),
    "zero stay": (set_cell("countries.csv", 3, "normal_mean_stay_days", "0"),
                  ("countries.csv", "(id 'FI')", "normal_mean_stay_days", ">= 1")),
    "post into Russia": (set_cell("posts.csv", 1, "destination", "RU"),
                         ("posts.csv", "row 1 (GE-01)", "destination", "leads into Russia")),
    "air route into Russia": (set_cell("air_routes.csv", 1, "destination", "RU"),
                              ("air_routes.csv", "row 1", "destination", "leads into Russia")),
    "header-only call-up": (lambda folder: (folder / "callup_2022.csv").write_text(
        (folder / "callup_2022.csv").read_text(encoding="utf-8").splitlines()[0] + "\n",
        encoding="utf-8"), ("callup_2022.csv", "holds no row")),
    "empty file": (lambda folder: (folder / "countries.csv").write_text("", encoding="utf-8"),
                   ("countries.csv", "empty")),
    "ragged row": (lambda folder: (folder / "regions.csv").write_text(
        (folder / "regions.csv").read_text(encoding="utf-8") + "RU-ZZZ,Nowhere\n",
        encoding="utf-8"), ("regions.csv", "row 86", "fields")),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_reported(tmp_path: Path, case: str) -> None:
    mutate, expected = BAD_INPUTS[case]
    folder = _copy_data(tmp_path)
    mutate(folder)
    with pytest.raises(DataError) as info:
        load_tables(folder)
    message = str(info.value)
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"
    assert "Traceback" not in message


def test_blank_lines_keep_row_numbers(tmp_path: Path) -> None:
    """A blank line is skipped but counted, so the row number still matches the file."""
    folder = _copy_data(tmp_path)
    rows = _rows(folder / "posts.csv")
    rows.insert(2, [])
    rows[3][rows[0].index("lat")] = "95"
    _write(folder / "posts.csv", rows)
    with pytest.raises(DataError, match=r"row 3 \(id 'KZ-01'\)"):
        load_tables(folder)


def test_error_attributes(tmp_path: Path) -> None:
    folder = _copy_data(tmp_path)
    set_cell("posts.csv", 2, "lat", "123")(folder)
    with pytest.raises(DataError) as info:
        load_tables(folder)
    assert info.value.file == "posts.csv"
    assert info.value.field == "lat"
    assert info.value.row == "2 (id 'KZ-01')"  # the data row, and the post it names


def test_small_data_dir_loads(tmp_path: Path) -> None:
    """The loader needs consistent references, not the full 85 regions."""
    folder = _copy_data(tmp_path)
    rows = _rows(folder / "regions.csv")
    posts = _rows(folder / "posts.csv")
    airports = _rows(folder / "airports.csv")
    keep = {r[posts[0].index("russian_region")] for r in posts[1:]}
    keep |= {r[airports[0].index("region")] for r in airports[1:]}
    code = rows[0].index("code")
    _write(folder / "regions.csv", [rows[0], *[r for r in rows[1:] if r[code] in keep]])
    quota = _rows(folder / "region_quota_complete.csv")  # quota dates of the kept regions only
    quota_region = quota[0].index("region_code")
    kept_quota = [r for r in quota[1:] if r[quota_region] in keep]
    _write(folder / "region_quota_complete.csv", [quota[0], *kept_quota])
    tables = load_tables(str(folder))
    assert 0 < len(tables.regions) < 85
    assert kept_quota, "no quota date left: the reference check would be vacuous"
