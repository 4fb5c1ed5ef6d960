"""The error of a destination the calibration never saw: fitted to other destination folds'
out-of-fold residuals, added in quadrature to the rows of unfitted destinations only."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import numpy as np
import pytest

from calibration.crossval import Fold, fold_discrepancy
from calibration.forecast import Discrepancy, PredictiveError, fit_extra_sd


def test_the_extra_error_is_the_maximum_likelihood_one_hand_computed():
    residuals = np.array([1.0, -1.0, 2.0, -2.0])
    # no known error: s^2 = mean r^2 = 2.5
    assert fit_extra_sd(residuals, np.zeros(4)) == pytest.approx(np.sqrt(2.5), rel=1e-4)
    # a known error of 1 on every row: s^2 = mean r^2 - 1 = 1.5
    assert fit_extra_sd(residuals, np.ones(4)) == pytest.approx(np.sqrt(1.5), rel=1e-4)
    # weights: the two rows of weight 0.5 count as one
    weighted = fit_extra_sd(np.array([1.0, 1.0, 3.0]), np.zeros(3), np.array([0.5, 0.5, 1.0]))
    assert weighted == pytest.approx(np.sqrt((1 + 9) / 2), rel=1e-4)
    # residuals smaller than the known error need none
    assert fit_extra_sd(np.array([0.1, -0.1]), np.ones(2)) == 0.0
    assert fit_extra_sd(np.array([]), np.array([])) == 0.0


def test_only_rows_of_unfitted_destinations_are_widened():
    problem = SimpleNamespace(
        geo=SimpleNamespace(country_ids=["KZ", "GE", "FI", "RU"]),
        targets=[SimpleNamespace(countries=np.array(m, bool), obs=SimpleNamespace(date=None))
                 for m in ([1, 0, 0, 0], [0, 1, 0, 0], [1, 1, 1, 0], [0, 0, 1, 0])])
    discrepancy = Discrepancy(base_sd=0.3, unfitted_sd=0.4)
    error = PredictiveError(0.0, discrepancy, dt.date(2022, 11, 29), ("KZ", "GE"))
    unfitted = error.unfitted_rows(problem)
    assert unfitted.tolist() == [False, False, True, True]  # an aggregate with FI counts
    sd = error.sd([None] * 4, unfitted)
    assert sd == pytest.approx([0.3, 0.3, 0.5, 0.5])  # sqrt(0.3^2 + 0.4^2)
    # without the list of fitted countries (an older calibration), nothing is widened
    assert PredictiveError(0.0, discrepancy, dt.date(2022, 11, 29)).unfitted_rows(
        problem) is None


def _fold(name: str, residuals: list[float], training_sd: float = 0.0):
    return SimpleNamespace(
        fold=Fold(name, train=None, test=None, countries=(name,)),  # type: ignore[arg-type]
        trained={"model_error_sd": training_sd}, residuals=np.array(residuals),
        model_sd=np.zeros(len(residuals)), weights=np.ones(len(residuals)))


def test_a_destination_folds_unfitted_error_comes_from_the_other_folds_only():
    kz, ge, fi = _fold("KZ", [3.0, -3.0]), _fold("GE", [1.0, -1.0]), _fold("FI", [0.5, -0.5])
    disc = fold_discrepancy(kz, [], [ge, fi])
    assert disc.unfitted_sd == pytest.approx(np.sqrt((1 + 1 + 0.25 + 0.25) / 4), rel=1e-4)
    assert "GE" in disc.unfitted_fitted_on and "KZ" not in disc.unfitted_fitted_on
    # the held-out fold's own misses do not widen its own intervals
    worse = fold_discrepancy(_fold("KZ", [9.0, -9.0]), [], [ge, fi])
    assert worse.unfitted_sd == pytest.approx(disc.unfitted_sd)
    # a training error already in a fold's intervals is not counted twice
    wide = fold_discrepancy(kz, [], [_fold("GE", [1.0, -1.0], training_sd=1.0)])
    assert wide.unfitted_sd == 0.0


def test_the_evaluation_adds_the_cross_validations_error_to_the_calibrations(tmp_path):
    import json

    from omegaconf import OmegaConf

    from calibration.evaluate import predictive_error

    summary = {"model_error_sd": 0.2, "train_end": "2022-11-29", "fitted_countries": ["GE"],
               "discrepancy": {"base_sd": 0.18, "growth_per_day": 0.007}}
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    Discrepancy(unfitted_sd=0.9, unfitted_fitted_on="folds").to_json(tmp_path / "dest.json")
    cfg = OmegaConf.create({"model_error": "calibration",
                            "calibration_summary": str(tmp_path / "summary.json"),
                            "destination_discrepancy": str(tmp_path / "dest.json")})
    error = predictive_error(cfg)
    assert error.fitted_countries == ("GE",) and error.origin == dt.date(2022, 11, 29)
    assert error.discrepancy.base_sd == 0.18 and error.discrepancy.unfitted_sd == 0.9
    # a calibration without a discrepancy: its constant error becomes the base
    del summary["discrepancy"]
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    error = predictive_error(cfg)
    assert error.discrepancy.base_sd == 0.2 and error.discrepancy.growth_per_day == 0.0
    # none configured: the calibration's error alone
    assert predictive_error(OmegaConf.merge(cfg, {"destination_discrepancy": None})
                            ).discrepancy is None
