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
