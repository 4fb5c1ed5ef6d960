"""The ordinary-traffic table (calibration/ordinary.py, `python -m experiments.ordinary_traffic`):
the command on the committed counts, what is held to the criterion, and bad input."""

from __future__ import annotations

import pandas as pd
import pytest

from calibration.ordinary import DESCRIBES, read_counts, summary
from calibration.paths import project_path
from experiments.ordinary_traffic import main
from sim.validation import INPUT_ERROR_EXIT

COUNTS = "sim/data/ordinary_counts_2022.csv"


def test_the_command_measures_every_committed_count(tmp_path, capsys):
    """Every row of the committed counts gets a positive model value and a ratio; the printed
    table ends with the criterion's line (a small, fast run: scale 0.01, one seed)."""
    out = tmp_path / "ot"
    main([f"out_dir={out}", "scale=0.01", "seeds=1"])
    table = pd.read_csv(out / "ordinary_traffic.csv")
    counts = read_counts(project_path(COUNTS))
    assert len(table) == len(counts)
    assert list(table["country"]) == list(counts["country"])
    assert (table["model"] > 0).all()
    assert table["ratio"].to_numpy() == pytest.approx((table["model"] / table["value"]).to_numpy(),
                                                      rel=1e-3)
    assert set(table["describes"]) <= set(DESCRIBES.values())
    printed = capsys.readouterr().out
    assert (out / "ordinary_traffic.md").read_text() == printed
    assert printed.rstrip().endswith("the summer quarters are cross-checks")


def test_only_septembers_counts_are_held_to_the_criterion():
    """By hand: two September counts (ratios 1.2 and 0.7) and a summer quarter at 0.2 give
    '1 of 2'; the quarter does not count either way."""
    table = pd.DataFrame({"describes": ["September", "September", "summer quarter"],
                          "within_25pct": [True, False, False]})
    assert summary(table).startswith("1 of 2 counts of September's traffic within 25%")


@pytest.mark.parametrize("arg", ["scale=0", "seeds=x", "no_equals_sign", "network.nope=1",
                                 "counts=missing.csv"])
def test_bad_input_is_one_line_exit_2_and_no_folder(tmp_path, capsys, arg):
    out = tmp_path / "ot"
    with pytest.raises(SystemExit) as stop:
        main([f"out_dir={out}", arg])
    assert stop.value.code == INPUT_ERROR_EXIT
    err = capsys.readouterr().err.strip()
    assert err.startswith("invalid input:") and "\n" not in err
    assert not out.exists()


def test_the_model_is_given_to_three_significant_figures():
    from calibration.ordinary import significant
    assert significant(1_805_783) == "1,810,000"
    assert significant(217.4) == "217"
    assert significant(3_249.6) == "3,250"


def test_a_seasonal_quarter_adds_its_summer_days_excess_by_hand():
    """A quarter measured at 100 with a steady state of 10 a day and July-August at 1.5 times
    September: 62 summer days add 0.5 x 10 x 62 = 310. Without a factor, as measured."""
    from calibration.ordinary import seasonal, summer_days
    assert summer_days("2022-07-01", "2022-09-30") == 62
    assert summer_days("2022-08-30", "2022-09-02") == 2
    assert summer_days("2022-09-14", "2022-09-20") == 0
    quarter = pd.Series({"season_factor": 1.5, "period_start": "2022-07-01",
                         "period_end": "2022-09-30"})
    values = {"count01": 100.0, "steady01": 10.0}
    assert seasonal(values, 0, quarter) == pytest.approx(410.0)
    assert seasonal(values, 0, quarter.copy().replace(1.5, 1.0)) == pytest.approx(100.0)


def test_a_season_factor_is_checked(tmp_path):
    from sim.errors import DataError
    path = tmp_path / "counts.csv"
    counts = pd.read_csv(project_path(COUNTS), dtype=str, keep_default_na=False)
    daily = counts.index[counts["measure"] == "daily_before"][0]
    counts.loc[daily, "season_factor"] = "1.5"
    counts.to_csv(path, index=False)
    with pytest.raises(DataError, match="applies to a quarter's summer days only"):
        read_counts(path)
    counts.loc[daily, "season_factor"] = "-1"
    counts.to_csv(path, index=False)
    with pytest.raises(DataError, match="not a positive number"):
        read_counts(path)
