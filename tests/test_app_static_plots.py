"""The static plots speak the page's language: the announcement and Finland's ban marked, the
2022 baseline in the legend, bands named for what they span."""

from __future__ import annotations

import datetime as dt

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from analysis import plots
from calibration import report as calibration_report


def test_departure_plot_legend_is_complete(tmp_path, monkeypatch):
    dates = pd.date_range("2022-09-14", periods=10)
    bands = pd.concat([pd.DataFrame({"scenario": sc, "series": "departures", "date": dates,
                                     "p05": np.arange(10.0), "median": np.arange(10.0) + 1,
                                     "p95": np.arange(10.0) + 2})
                       for sc in ("historical", "open", "finland_stays_open")])
    captured = {}
    monkeypatch.setattr(plots, "_save", lambda fig, path: captured.update(fig=fig))
    # the baseline first: its own panel has no baseline line, the legend must still show it
    plots.daily_departures(tmp_path / "d.png", bands, ["historical", "open",
                                                       "finland_stays_open"],
                           {"historical": "What happened in 2022"}, "historical",
                           over="posterior particles and seeds")
    labels = [t.get_text() for t in captured["fig"].legends[0].get_texts()]
    plt.close(captured["fig"])
    assert "What happened in 2022 (median)" in labels
    assert "90 % over posterior particles and seeds" in labels
    assert "21 Sep: mobilisation announced" in labels
    assert "30 Sep: Finland bars Russian tourists" in labels


def test_fit_plot_axes_mark_the_announcement_and_finlands_ban():
    fig, ax = plt.subplots()
    calibration_report._fmt_axis(ax, dt.date(2022, 10, 15))
    _, labels = ax.get_legend_handles_labels()
    plt.close(fig)
    assert labels == ["21 Sep: mobilisation announced", "30 Sep: Finland bars Russian tourists"]
    assert "posterior plot" in calibration_report.POSTERIOR_IN_WORDS
