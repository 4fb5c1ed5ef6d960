"""run_many: checked settings, results in the jobs' order whatever the backend; and the model's
stopping point, which the calibration uses instead of its own day loop."""

from __future__ import annotations

import numpy as np
import pytest

from sim.errors import ConfigError
from sim.model import MobilisationModel
from sim.parallel import ParallelConfig, as_parallel_config, describe, run_many
from tests.conftest import small_config


def square(x: int) -> int:
    return x * x


@pytest.mark.parametrize("setting", [0, -999, ParallelConfig(n_jobs=0),
                                     {"backend": "spark"}, {"n_jobs": 1.5}])
def test_bad_settings_are_named_before_any_run(setting):
    with pytest.raises(ConfigError, match="parallel"):
        run_many(square, [1, 2], setting)


def test_results_come_back_in_order_on_processes_and_in_this_one():
    items = list(range(12))
    assert run_many(square, items, 2) == [x * x for x in items]
    assert run_many(square, items, ParallelConfig("sequential")) == [x * x for x in items]
    assert describe(as_parallel_config(1)) == "1 process"
    assert describe(ParallelConfig("dask", -1, "tcp://h:8786")) == "a Dask cluster (tcp://h:8786)"


def test_a_run_stopped_and_continued_equals_one_run():
    whole = MobilisationModel(small_config("policy=open", "end=2022-10-05"))
    whole.run()
    parts = MobilisationModel(small_config("policy=open", "end=2022-10-05"))
    parts.run(until=9)
    assert parts.day == 10 and not parts.stopped_early
    parts.run()
    for metric, values in whole.record.gate.items():
        np.testing.assert_array_equal(values, parts.record.gate[metric], err_msg=metric)


def test_a_stop_condition_ends_the_run_after_that_day():
    model = MobilisationModel(small_config("policy=open", "end=2022-10-05"))
    model.run(stop=lambda m: m.record.region["departures"][: m.day].sum() > 0)
    assert model.stopped_early
    departures = model.record.region["departures"].sum(axis=1)
    assert departures[model.day - 1] > 0 and departures[: model.day - 1].sum() == 0
    assert model.day < model.n_days


def watcher_threads(_: int) -> list[str]:
    import threading

    return [t.name for t in threading.enumerate() if t.name == "exit-with-parent"]


def test_workers_watch_their_parent_from_their_start_not_their_first_job():
    """A sweep SIGKILLed while its loky workers were starting left them idle for minutes: the
    watch must start in the worker's initializer. A bare job (no exit_with_parent call of its
    own) finds the watch running, in the launcher's loky backend and in run_many's."""
    from joblib import Parallel, delayed, register_parallel_backend
    from joblib.parallel import LokyBackend

    from sim.parallel import start_loky_workers_watching_their_parent

    start_loky_workers_watching_their_parent()
    try:
        found = Parallel(n_jobs=2, backend="loky")(delayed(watcher_threads)(i) for i in range(4))
    finally:
        register_parallel_backend("loky", LokyBackend)
    assert all(names == ["exit-with-parent"] for names in found)
    assert all(names == ["exit-with-parent"]
               for names in run_many(watcher_threads, range(4), ParallelConfig(n_jobs=2)))
