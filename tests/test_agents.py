"""The places as Mesa agents: views onto the model's arrays in real-population units, and the
DataCollector's tables by date equal to reading every agent every day."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from sim.agents import AGENT_COLUMNS, CountryAgent, ExitAgent, RegionAgent
from sim.model import MobilisationModel
from tests.conftest import small_config


@pytest.fixture(scope="module")
def stepped():
    """A short run, every agent's properties read at the end of every day."""
    model = MobilisationModel(small_config("policy=open", "end=2022-10-01"))
    read = {kind: [] for kind in AGENT_COLUMNS}
    while model.running and model.day < model.n_days:
        model.step()
        for kind, columns in AGENT_COLUMNS.items():
            agents = sorted(model.agents_by_type[kind], key=lambda a: a.index)
            read[kind].append([[getattr(a, c) for c in columns] for a in agents])
    return model, read


@pytest.mark.parametrize("kind", [RegionAgent, ExitAgent, CountryAgent])
def test_the_collector_reports_what_the_agents_say_every_day(stepped, kind):
    model, read = stepped
    table = model.datacollector.get_agenttype_vars_dataframe(kind)
    expected = np.array(read[kind]).reshape(-1, len(AGENT_COLUMNS[kind]))
    np.testing.assert_array_equal(table.to_numpy(), expected)
    assert table.index.get_level_values("date")[0] == dt.date(2022, 9, 14)
    assert len(table) == model.n_days * len(model.agents_by_type[kind])


def test_agents_are_the_model_places_in_real_units(stepped):
    model, _ = stepped
    assert len(model.agents_by_type[ExitAgent]) == model.world.n_gates
    total_home = sum(a.men_at_home for a in model.agents_by_type[RegionAgent])
    assert total_home == pytest.approx(model.at_home.sum() / model.scale)
    exits = model.datacollector.get_agenttype_vars_dataframe(ExitAgent)
    crossed = exits.groupby("date")["crossed_today"].sum().to_numpy()
    np.testing.assert_allclose(crossed, model.record.gate["crossed_fleeing"].sum(axis=1)
                               / model.scale)
    series = model.datacollector.get_model_vars_dataframe()
    assert series.index[-1] == dt.date(2022, 10, 1)
    assert series["left_russia"].iloc[-1] == pytest.approx(crossed.sum())
    busiest = max(model.agents_by_type[ExitAgent], key=lambda a: a.queue)
    assert busiest.queue == exits.loc[(dt.date(2022, 10, 1), busiest.name), "queue"] > 0
