"""A shared optuna study stops at n_trials overall, however many processes work on it."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from omegaconf import OmegaConf

from calibration.optimise import _run_optuna
from calibration.parameters import Param


def test_a_shared_study_stops_at_n_trials_overall(tmp_path):
    optuna = pytest.importorskip("optuna")
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    params = [Param("a", "behaviour.a", "uniform", 0.0, 1.0),
              Param("b", "behaviour.b", "uniform", 0.0, 1.0)]
    cfg = OmegaConf.create({"optimiser": {"optuna": {
        "storage": storage, "study_name": "shared", "n_trials": 6, "seed": 1}}})
    distributions = {n: optuna.distributions.FloatDistribution(0.0, 1.0) for n in "ab"}
    calls = []

    def objective(u):
        """Each of this process's trials, while another process finishes two of its own."""
        calls.append(list(u))
        other = optuna.load_study(study_name="shared", storage=storage)
        for _ in range(2):
            other.add_trial(optuna.trial.create_trial(
                params={"a": 0.5, "b": 0.5}, distributions=distributions, value=1.0))
        return float(np.sum(np.square(u)))

    _run_optuna(SimpleNamespace(params=params), cfg, objective, np.array([0.2, 0.2]))
    study = optuna.load_study(study_name="shared", storage=storage)
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    # without the callback this process would run its 6 trials (18 in all); with it, it stops
    # as soon as the study holds 6, the trial in flight included
    assert len(calls) == 2
    assert len(complete) == 6
