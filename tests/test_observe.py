"""The observation operator on a hand-made run: every kind and direction against numbers
computed by hand, the date conventions, grouping of duplicates, unmappable rows, and the
validation of observations files."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from calibration.measure import simulate_targets
from calibration.observe import (
    Geography,
    Observation,
    crossing_scope,
    map_observations,
    read_observations,
)
from calibration.scores import ard, log_ratio, loss, weighted_median
from sim.errors import DataError
from sim.results import Results

START = dt.date(2022, 9, 19)  # days 0..4 = 19..23 Sep; the announcement is on day 2
DATES = [START + dt.timedelta(days=t) for t in range(5)]
BASELINE_DAYS = 2
SCALE = 0.5  # every agent count is doubled in real units
PPV = 2.5

# exits: AA-01, AA-02 (land, to Alphaland), AIR-X>AA (a flight), BB-01 (land, to Betaland)
GEO = Geography(gate_ids=["AA-01", "AA-02", "AIR-X>AA", "BB-01"],
                gate_site=["AA-01", "AA-02", "AIR-X", "BB-01"],
                gate_is_air=np.array([False, False, True, False]),
                gate_country=np.array([0, 0, 0, 1]),
                country_ids=["AA", "BB", "RU"],
                country_names=["Alphaland", "Betaland", "Russia"], return_country=2)


class FakeRecord:
    """A RunRecord with hand-chosen numbers (agent units)."""

    def __init__(self) -> None:
        def cols(*series):
            return np.array(series, dtype=float).T  # one series per exit/country -> [T, n]

        self.dates = DATES
        # as in sim/model.py: crossed_fleeing = let in; refused_entry = passed Russian control,
        # then refused by the destination. Day 3: 27 passed into Alphaland, 4 were refused.
        self.gate = {
            "crossed_fleeing": cols([0, 0, 10, 17, 30], [0, 0, 5, 4, 5], [0, 0, 2, 2, 2],
                                    [0, 0, 1, 1, 1]),
            "refused_entry": cols([0, 0, 0, 3, 0], [0, 0, 0, 1, 0], [0] * 5, [0] * 5),
            "crossed_normal": cols([4] * 5, [2] * 5, [3] * 5, [1] * 5),
            "queue_fleeing": cols([0, 0, 6, 10, 4], [0] * 5, [0] * 5, [0] * 5),
            "queue_normal": cols([1, 1, 2, 2, 0], [0] * 5, [0] * 5, [0] * 5),
            "wait_days_sum": cols([0, 0, 5, 20, 30], [0] * 5, [0] * 5, [0] * 5),
        }
        self.country = {
            "entered_fleeing": cols([0, 0, 17, 23, 37], [0, 0, 1, 1, 1], [0] * 5),
            "refused_entry": cols([0, 0, 0, 4, 0], [0] * 5, [0] * 5),
            "entered_normal": cols([9] * 5, [1] * 5, [0] * 5),
            "entered_onward": cols([0, 0, 0, 0, 3], [0, 0, 0, 2, 0], [0] * 5),
            "onward_fleeing": cols([0, 0, 0, 1, 2], [0] * 5, [0] * 5),
            "returned_fleeing": cols([0, 0, 0, 1, 1], [0] * 5, [0] * 5),
            "left_normal": cols([8] * 5, [1] * 5, [0] * 5),
            "present_fleeing": cols([0, 0, 17, 38, 70], [0] * 5, [0] * 5),
            "present_normal": cols([50] * 5, [5] * 5, [0] * 5),
        }
        self.region = {}


def obs(direction: str = "entered_destination", kind: str = "daily", date: str = "2022-09-23",
        start: str | None = None, destination: str = "Alphaland", posts: str = "",
        crossing: str = "all", use: str = "fit", ident: str = "x1",
        value: float = 100.0) -> Observation:
    return Observation(id=ident, use=use, row=1,
                       post_ids=tuple(p for p in posts.split(";") if p),
                       date=dt.date.fromisoformat(date),
                       period_start=dt.date.fromisoformat(start) if start else None,
                       destination=destination, direction=direction, kind=kind, value=value,
                       crossing=crossing)


def simulated(o: Observation) -> float:
    mapping = map_observations([o], GEO, DATES, BASELINE_DAYS)
    assert not mapping.unmapped, mapping.unmapped[0].reason
    results = Results(FakeRecord(), SCALE, world=None)
    return float(simulate_targets(mapping.targets, results, GEO, PPV, BASELINE_DAYS)[0])


def unmapped_reason(o: Observation) -> str:
    mapping = map_observations([o], GEO, DATES, BASELINE_DAYS)
    assert not mapping.targets
    return mapping.unmapped[0].reason


# Alphaland by day, by hand (agent units):
#   entries from Russia = entered_fleeing + entered_normal: 9, 9, 26, 32, 46
#   entries incl. onward arrivals:                           9, 9, 26, 32, 49
#   departures = onward + returned + ordinary going home:    8, 8, 8, 10, 11


@pytest.mark.parametrize(("row", "expected"), [
    # daily: day 4 = 37 fleeing + 9 ordinary + 3 onward arrivals
    (obs(), 49 * 2),
    # a 24-hour window over two calendar days is the mean of the two days
    (obs(start="2022-09-22"), (32 + 49) / 2 * 2),
    (obs(kind="period_total", start="2022-09-21"), (26 + 32 + 49) * 2),
    (obs(kind="cumulative", start="2022-09-21"), (26 + 32 + 49) * 2),
    (obs(kind="peak_daily", start="2022-09-19"), 49 * 2),
    (obs(direction="left_destination_onward"), (2 + 1 + 8) * 2),
    (obs(direction="left_destination_onward", kind="period_total", start="2022-09-22"),
     (10 + 11) * 2),
    # left Russia through every exit into Alphaland: fleeing let in + fleeing refused entry
    # (they passed Russian control) + ordinary
    (obs(direction="left_russia", date="2022-09-22"), (17 + 4 + 2 + 3 + 1 + 4 + 2 + 3) * 2),
    (obs(direction="left_russia", date="2022-09-22", destination="all (Russia total)"),
     (17 + 4 + 2 + 1 + 3 + 1 + 4 + 2 + 3 + 1) * 2),
    # both directions: crossings from Russia (no onward arrivals) + crossings back to Russia
    (obs(direction="both_directions"), ((37 + 9) + (1 + 8)) * 2),
    (obs(direction="net", kind="period_total", start="2022-09-22"), ((32 - 10) + (49 - 11)) * 2),
    # a net stock without a start date is the number present on the day
    (obs(direction="net", kind="cumulative"), (70 + 50) * 2),
    # with a start date, those who came since then and are still there: the 70 fleeing (none
    # was abroad before 21 Sep) and the ordinary travellers present on 23 Sep less what is left
    # of the 50 present on 20 Sep, who leave at 8 of 50 a day on 21, 22 and 23 Sep
    (obs(direction="net", kind="cumulative", start="2022-09-21"),
     (70 + 50 - 50 * (1 - 8 / 50) ** 3) * 2),
    # from before the horizon: 4 days more at the baseline's rate (8 of 50 ordinary, 0 fleeing)
    (obs(direction="net", kind="cumulative", start="2022-09-15"),
     (70 + 50 - 50 * (1 - 8 / 50) ** (5 + 4)) * 2),
    (obs(destination="AA"), 49 * 2),  # ids work as well as names
    (obs(destination="Alphaland+Betaland"), (49 + 2) * 2),
])
def test_country_rows(row, expected):
    assert simulated(row) == pytest.approx(expected)


def test_post_rows_count_only_their_exits():
    # day 3 at AA-01: 4 ordinary + 17 fleeing let in; 3 more were refused by Alphaland, and
    # count as leaving Russia but not as entering
    assert simulated(obs(posts="AA-01", date="2022-09-22")) == pytest.approx((4 + 17) * 2)
    assert simulated(obs(posts="AA-01", direction="left_russia", date="2022-09-22")) == (
        pytest.approx((17 + 3 + 4) * 2))
    # an airport id names its routes
    assert simulated(obs(posts="AIR-X", direction="left_russia")) == pytest.approx((2 + 3) * 2)


def test_post_rows_attribute_departures_by_share_of_entries():
    # entries so far through each exit (agent units), days 0..4
    a1 = [4, 4, 14, 4 + 17, 34]
    a2 = [2, 2, 7, 2 + 4, 7]
    air = [3, 3, 5, 3 + 2, 5]
    share = sum(a1) / (sum(a1) + sum(a2) + sum(air))
    # a post on Russia's border sees those going back to Russia (1 fleeing + 8 ordinary on
    # day 4), not the 2 moving on to a third country
    assert simulated(obs(posts="AA-01", direction="left_destination_onward")) == (
        pytest.approx(share * (1 + 8) * 2))
    assert simulated(obs(posts="AA-01", direction="both_directions")) == pytest.approx(
        (34 + share * (1 + 8)) * 2)
    assert simulated(obs(posts="AA-01", direction="net")) == pytest.approx(
        (34 - share * (1 + 8)) * 2)


def test_departures_counted_at_the_border_with_russia_are_returns():
    # day 4: 1 fleeing + 8 ordinary go back to Russia; the 2 moving on to a third country cross
    # another border (a country's own count, `crossing` all, has them: test_country_rows)
    assert simulated(obs(direction="left_destination_onward",
                         crossing="all eastern border")) == pytest.approx((1 + 8) * 2)


def test_land_counts_of_a_schengen_state_are_at_the_border_with_russia():
    """A Schengen state checks no other land border: its land exits are returns to Russia. A
    land count elsewhere (Georgia: Armenia, Turkey) includes the moves onward."""
    entries = {"AA-01": 4 + 4 + 14 + 21 + 34, "AA-02": 2 + 2 + 7 + 6 + 7, "AIR": 3 + 3 + 5 + 5 + 5}
    land_share = (entries["AA-01"] + entries["AA-02"]) / sum(entries.values())
    row = obs(direction="left_destination_onward", crossing="all land border")
    results = Results(FakeRecord(), SCALE, world=None)
    for schengen, expected in ((True, land_share * (1 + 8) * 2),
                               (False, land_share * (2 + 1 + 8) * 2)):
        geo = dataclasses.replace(GEO, country_schengen=np.array([schengen, False, False]))
        mapping = map_observations([row], geo, DATES, BASELINE_DAYS)
        value = simulate_targets(mapping.targets, results, geo, PPV, BASELINE_DAYS)[0]
        assert value == pytest.approx(expected)


def test_entries_counted_at_the_border_with_russia_leave_out_onward_arrivals():
    # day 4: 37 fleeing + 9 ordinary from Russia; the 3 arriving onward from a third country
    # cross another border
    assert simulated(obs(crossing="all eastern border")) == pytest.approx((37 + 9) * 2)
    assert simulated(obs(direction="net", kind="period_total", start="2022-09-22",
                         crossing="all eastern border")) == pytest.approx(
        ((32 - 9) + (46 - 9)) * 2)


def test_vehicles_and_waits():
    # queue during 22 Sep = mean of the end of 21 Sep (6 + 2) and of 22 Sep (10 + 2)
    assert simulated(obs(posts="AA-01", direction="left_russia", kind="queue_vehicles",
                         date="2022-09-22")) == pytest.approx((8 + 12) / 2 * 2 / PPV)
    assert simulated(obs(posts="AA-01", direction="left_russia", start="2022-09-22",
                         kind="period_total_vehicles")) == pytest.approx((24 + 34) * 2 / PPV)
    # vehicle rows without posts count the destination's land posts only
    assert simulated(obs(direction="left_russia", kind="period_total_vehicles",
                         start="2022-09-23")) == pytest.approx((30 + 4 + 5 + 2) * 2 / PPV)
    # mean wait of the people fleeing who crossed 21-23 Sep, in hours
    assert simulated(obs(posts="AA-01", direction="left_russia", kind="queue_hours",
                         start="2022-09-21")) == pytest.approx(24 * 55 / 57)


def test_crossing_text_sets_the_scope():
    assert crossing_scope("all eastern border") == "all"
    assert crossing_scope("all land border") == "land"
    assert crossing_scope("all (land)") == "land"
    assert crossing_scope("all (air)") == "air"
    assert crossing_scope("") == "all"
    assert crossing_scope("Pavlodar region checkpoints") == "narrow"
    # land only: AA-01 + AA-02 on day 4, entries from Russia
    assert simulated(obs(crossing="all land border")) == pytest.approx((34 + 7) * 2)
    # a narrow crossing is unambiguous when the destination has a single exit
    assert simulated(obs(destination="Betaland", crossing="Some post")) == pytest.approx(
        (1 + 1) * 2)
    assert "narrower" in unmapped_reason(obs(crossing="Pavlodar region checkpoints"))


def test_periods_before_the_horizon_use_the_pre_announcement_mean():
    # 17-20 Sep: two days before the horizon at the mean of days 0-1 (9 a day), then 9 + 9
    row = obs(kind="period_total", start="2022-09-17", date="2022-09-20")
    mapping = map_observations([row], GEO, DATES, BASELINE_DAYS)
    assert mapping.targets[0].extrapolated_days == 2
    assert simulated(row) == pytest.approx(4 * 9 * 2)
    assert "no pre-announcement" in map_observations([row], GEO, DATES, 0).unmapped[0].reason
    assert "more than" in map_observations([row], GEO, DATES, BASELINE_DAYS,
                                           max_extrapolated_days=1).unmapped[0].reason


@pytest.mark.parametrize(("row", "reason"), [
    (obs(destination="Atlantis"), "not a country of the model"),
    (obs(date="2022-10-30"), "outside the simulated horizon"),
    (obs(kind="queue_km", posts="AA-01", direction="left_russia"), "no counterpart"),
    (obs(kind="pct_change"), "no counterpart"),
    (obs(posts="ZZ-99"), "not an exit of the model"),
    (obs(posts="BB-01"), "does not lead to the destination"),
    (obs(kind="cumulative"), "without a start date"),
    (obs(kind="period_total"), "needs a period_start"),
    (obs(kind="queue_vehicles", posts="AIR-X", direction="left_russia"), "land post"),
    (obs(kind="queue_vehicles", direction="net"), "measured at exits"),
    (obs(kind="queue_vehicles", posts="AA-01", start="2022-09-20"), "a moment"),
    (obs(use="context"), "not scored"),
])
def test_rows_that_cannot_be_mapped_say_why(row, reason):
    assert reason in unmapped_reason(row)


def test_conflicting_duplicates_share_one_weight():
    rows = [obs(ident="a", value=11200), obs(ident="b", value=11143),
            obs(ident="c", kind="period_total", start="2022-09-22"),
            obs(ident="d", posts="AA-01")]
    mapping = map_observations(rows, GEO, DATES, BASELINE_DAYS)
    weights = {t.id: t.weight for t in mapping.targets}
    assert weights == {"a": 0.5, "b": 0.5, "c": 1.0, "d": 1.0}
    groups = {t.id: t.group for t in mapping.targets}
    assert groups["a"] == groups["b"] == "a+b"


def test_scores():
    assert log_ratio(np.array([0.0]), np.array([0.0]))[0] == 0.0
    assert log_ratio(np.array([199.0]), np.array([99.0]))[0] == pytest.approx(math.log(2))
    # 500 vs 1000 and 100,000 vs 200,000 weigh about the same
    r = log_ratio(np.array([500.0, 100_000.0]), np.array([1000.0, 200_000.0]))
    assert r[0] == pytest.approx(r[1], abs=1e-3)
    assert weighted_median(np.array([1.0, 2.0, 10.0]), np.array([1.0, 1.0, 1.0])) == 2.0
    assert weighted_median(np.array([1.0, 2.0, 10.0]), np.array([0.5, 0.5, 1.0])) == 6.0
    assert ard(np.array([110.0, 90.0]), np.array([100.0, 100.0])) == pytest.approx(0.1)
    assert loss(np.array([math.e - 1]), np.array([0.0]), np.array([1.0])) == pytest.approx(1.0)


# -- reading files --------------------------------------------------------------------------

HEADER = ("id,use,post_ids,date,period_start,destination,crossing,direction,kind,value,"
          "who_reported,outlet,source_url_or_title,notes,value_low,value_high")
GOOD = "o1,fit,,2022-09-25,,Georgia,all,entered_destination,daily,11200,,,,,11200,11400"


def write(tmp_path: Path, *rows: str, header: str = HEADER) -> Path:
    path = tmp_path / "obs.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def test_reads_a_valid_file(tmp_path):
    rows = read_observations(write(tmp_path, GOOD))
    assert rows[0].value == 11200 and rows[0].value_high == 11400
    assert rows[0].date == dt.date(2022, 9, 25) and rows[0].period_start is None


@pytest.mark.parametrize(("row", "field", "value"), [
    (GOOD.replace("2022-09-25", "25/09/2022"), "date", "25/09/2022"),
    (GOOD.replace(",fit,", ",maybe,"), "use", "maybe"),
    (GOOD.replace("entered_destination", "arrived"), "direction", "arrived"),
    (GOOD.replace(",daily,", ",weekly,"), "kind", "weekly"),
    (GOOD.replace("11200,,,,,", "many,,,,,"), "value", "many"),
    (GOOD.replace("11200,,,,,", "-5,,,,,"), "value", "-5"),
    (GOOD.replace(",,Georgia", ",2022-09-30,Georgia"), "period_start", "2022-09-30"),
    (GOOD.replace("11200,11400", "11400,11200"), "value_low", "11400"),
])
def test_errors_name_file_row_field_and_value(tmp_path, row, field, value):
    path = write(tmp_path, GOOD.replace("o1", "o0"), row)
    with pytest.raises(DataError) as err:
        read_observations(path)
    message = str(err.value)
    assert str(path) in message and "row 2 (id 'o1')" in message
    assert f"field '{field}'" in message and value in message


def test_file_level_errors(tmp_path):
    with pytest.raises(DataError, match="missing column"):
        read_observations(write(tmp_path, GOOD, header=HEADER.replace(",kind", ",sort")))
    with pytest.raises(DataError, match="duplicate id 'o1'"):
        read_observations(write(tmp_path, GOOD, GOOD))
    with pytest.raises(DataError, match="file not found"):
        read_observations(tmp_path / "nope.csv")


def test_malformed_context_rows_are_kept_but_not_scored(tmp_path):
    context = GOOD.replace("o1,fit", "o2,context").replace("2022-09-25", "2022-10")
    rows = read_observations(write(tmp_path, GOOD, context))
    assert rows[1].problem and "date" in rows[1].problem
    mapping = map_observations(rows, GEO, DATES, BASELINE_DAYS, uses=("fit", "context"))
    reasons = {u.obs.id: u.reason for u in mapping.unmapped}
    assert "malformed" in reasons["o2"]


def test_training_file_every_fit_row_is_mapped_or_explained(world):
    geo = Geography.from_world(world)
    rows = read_observations(Path(__file__).resolve().parents[1] / "sim" / "data"
                             / "observations_2022.csv")
    dates = [dt.date(2022, 9, 14) + dt.timedelta(days=t) for t in range(78)]
    mapping = map_observations(rows, geo, dates, baseline_days=7)
    fit = [r for r in rows if r.use == "fit"]
    mapped = {t.id for t in mapping.targets}
    reasons = {u.obs.id: u.reason for u in mapping.unmapped}
    assert all(r.id in mapped or r.id in reasons for r in fit)
    assert len(mapped) + len(reasons) == len(rows)
    assert len([r for r in fit if r.id in mapped]) >= 70
    # the reference file's conflicting duplicates count once
    weights = {t.id: t.weight for t in mapping.targets}
    for a, b in [("obs051", "obs052"), ("obs053", "obs054"), ("obs058", "obs059"),
                 ("obs132", "obs133"), ("obs106", "obs107")]:
        assert weights[a] == weights[b] == 0.5


def test_lenient_reading_keeps_a_malformed_fit_row_as_unmapped(tmp_path):
    bad = GOOD.replace("o1,fit", "o2,fit").replace("2022-09-25", "2022-10")
    path = write(tmp_path, GOOD, bad)
    with pytest.raises(DataError, match="o2"):
        read_observations(path)
    rows = read_observations(path, strict=False)
    assert rows[1].use == "fit" and "date" in rows[1].problem
    reasons = {u.obs.id: u.reason for u in map_observations(rows, GEO, DATES,
                                                             BASELINE_DAYS).unmapped}
    assert "malformed" in reasons["o2"] and "2022-10" in reasons["o2"]
    assert "malformed" not in reasons.get("o1", "")  # the good row is judged on its own


@settings(max_examples=40, deadline=None)
@given(start=st.integers(-20, 70), length=st.integers(0, 60),
       country=st.sampled_from(["KZ", "GE", "FI", "TR", "BY"]))
def test_the_cohort_still_present_is_at_most_everyone_present(historical_run, start, length,
                                                              country):
    """On a whole run: those who came since a date and are still there are never fewer than
    none nor more than everyone present that day."""
    model = historical_run
    geo = Geography.from_world(model.world)
    dates = model.record.dates
    first = dates[0] + dt.timedelta(days=start)
    last = min(first + dt.timedelta(days=length), dates[-1])
    assume(first <= last)  # a start within the horizon or before it
    row = obs(direction="net", kind="cumulative", start=first.isoformat(),
              date=last.isoformat(), destination=country)
    mapping = map_observations([row], geo, dates, baseline_days=7)
    assume(mapping.targets)  # not a period starting too far before the horizon
    results = Results.of(model)
    cohort = simulate_targets(mapping.targets, results, geo, PPV, 7)[0]
    everyone = simulate_targets(map_observations(
        [obs(direction="net", kind="cumulative", date=last.isoformat(), destination=country)],
        geo, dates, baseline_days=7).targets, results, geo, PPV, 7)[0]
    assert -1e-6 <= cohort <= everyone + 1e-6


def test_a_count_covering_several_modes_is_summed_over_them():
    """`modes` says what a count includes: road and air exits summed, rail (not an exit of
    the model) added from the country's counted ordinary rail traffic."""
    geo = dataclasses.replace(GEO, country_rail_daily=np.array([5.0, 0.0, 0.0]))

    def sim(o: Observation) -> float:
        mapping = map_observations([o], geo, DATES, BASELINE_DAYS)
        assert not mapping.unmapped, mapping.unmapped[0].reason
        results = Results(FakeRecord(), SCALE, world=None)
        return float(simulate_targets(mapping.targets, results, geo, PPV, BASELINE_DAYS)[0])

    def row(modes: str, **kw) -> Observation:
        return dataclasses.replace(obs(**kw), modes=tuple(modes.split(";")))

    # day 4 by hand (agent units, x2 to real): road exits AA-01 30 + 4, AA-02 5 + 2; the
    # flight 2 + 3; every mode: 37 + 9 fleeing and ordinary + 3 onward arrivals = 49
    assert sim(row("road")) == pytest.approx((34 + 7) * 2)
    assert sim(row("air")) == pytest.approx(5 * 2)
    assert sim(row("road;air")) == pytest.approx(49 * 2)
    assert sim(row("road;rail")) == pytest.approx((34 + 7) * 2 + 5)
    assert sim(row("road;rail;air")) == pytest.approx(49 * 2 + 5)
    # over a period, each day's trains; both ways, each way's; a net figure, none
    assert sim(row("road;rail;air", kind="period_total", start="2022-09-21")) == \
        pytest.approx((26 + 32 + 49) * 2 + 3 * 5)
    assert sim(row("road;rail;air", direction="both_directions")) == \
        pytest.approx(((37 + 9) + (1 + 8)) * 2 + 2 * 5)
    assert sim(row("road;rail;air", direction="net", kind="period_total",
                   start="2022-09-22")) == pytest.approx(((32 - 10) + (49 - 11)) * 2)


def test_modes_are_checked(tmp_path):
    path = tmp_path / "obs.csv"
    path.write_text("id,use,post_ids,date,period_start,destination,direction,kind,value,modes\n"
                    "m1,fit,,2022-09-20,,Alphaland,entered_destination,daily,5,road;ship\n")
    with pytest.raises(DataError, match="unknown mode 'ship'"):
        read_observations(path)


def test_every_official_count_is_measured_by_the_operator_over_its_modes(tmp_path):
    """sim/data/ordinary_counts_2022.csv: each count maps to a target over its modes (the
    quarter's days before the horizon at the model's own baseline)."""
    from calibration.ordinary import as_observations, read_counts
    from calibration.paths import project_path
    from calibration.problem import make_problem

    counts = read_counts(project_path("sim/data/ordinary_counts_2022.csv"))
    path = tmp_path / "counts.csv"
    as_observations(counts).to_csv(path, index=False)
    problem = make_problem(path, [], [], 0.01, max_extrapolated_days=100, uses=("fit",))
    assert not problem.mapping.unmapped
    by_id = {t.id: t for t in problem.targets}
    lithuania = by_id[f"count{int(counts.index[counts['country'] == 'LT'][0]) + 1:02d}"]
    assert lithuania.rail_daily == 650 and "rail" in lithuania.obs.modes
