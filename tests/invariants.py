"""The model's invariants, asserted after every day of a run: use `run_checked(model)` in place
of `model.run()` in any test scenario.

- people are conserved: men at home plus individuals not back home equal the initial count;
- capacity is respected: people fleeing plus ordinary travellers served <= the day's capacity;
- closed exits are silent: nobody crosses, queues or is served there;
- stocks equal flows: queues, people abroad (fleeing and ordinary) and the states of the
  individuals follow from the day's recorded flows;
- ordinary travellers queue no longer than their patience.
"""

from __future__ import annotations

import numpy as np

from sim.model import MobilisationModel
from sim.population import State


class Invariants:
    """Remembers yesterday's stocks, and checks today's against them and today's flows."""

    def __init__(self, model: MobilisationModel) -> None:
        self.model = model
        self.total = int(model.initial_home.sum())
        n_g, n_c = model.world.n_gates, model.world.n_countries
        self.queue_normal = np.zeros(n_g)
        self.present_fleeing = np.zeros(n_c)
        self.present_normal = model.normal_abroad.astype(float).copy()
        self.crossed = 0.0
        self.stopped = 0.0

    def check_day(self, t: int) -> None:
        m = self.model
        g, c = m.record.gate, m.record.country
        where = f"{m.policy.name} seed {m.seed}, day {t} ({m.record.dates[t]})"
        # people conserved
        assert m.people_accounted() == self.total, where
        assert (m.at_home >= 0).all(), where
        assert (m.normal_queue >= 0).all() and (m.normal_abroad >= 0).all(), where
        # capacity respected
        passed = g["served_fleeing"][t] + g["crossed_normal"][t]
        assert (passed <= g["capacity"][t]).all(), where
        assert (g["crossed_fleeing"][t] + g["stopped"][t] <= g["served_fleeing"][t]).all(), where
        # closed exits silent
        closed = ~m.policy.open[t]
        for metric in ("capacity", "served_fleeing", "crossed_fleeing", "crossed_normal",
                       "queue_fleeing", "queue_normal", "arrived_normal"):
            assert not g[metric][t][closed].any(), f"{where}: {metric} at a closed exit"
        # stocks equal flows: ordinary queues
        expected_queue = (self.queue_normal + g["arrived_normal"][t] - g["crossed_normal"][t]
                          - g["normal_gave_up"][t])
        np.testing.assert_array_equal(g["queue_normal"][t], expected_queue, err_msg=where)
        self.queue_normal = g["queue_normal"][t].copy()
        patience = m.config.network.normal_patience_days
        assert not m.normal_queue[:, : max(t - patience + 1, 0)].any(), where
        # people fleeing abroad: entries and departures by country
        present = (self.present_fleeing + c["entered_fleeing"][t] + c["entered_onward"][t]
                   - c["onward_fleeing"][t] - c["returned_fleeing"][t])
        np.testing.assert_array_equal(c["present_fleeing"][t], present, err_msg=where)
        self.present_fleeing = c["present_fleeing"][t].copy()
        np.testing.assert_array_equal(
            c["entered_fleeing"][t],
            np.bincount(m.world.gate_country, weights=g["crossed_fleeing"][t],
                        minlength=m.world.n_countries), err_msg=where)
        # ordinary travellers abroad
        normal = self.present_normal + c["entered_normal"][t] - c["left_normal"][t]
        np.testing.assert_array_equal(c["present_normal"][t], normal, err_msg=where)
        self.present_normal = c["present_normal"][t].copy()
        # individuals' states against the cumulative flows
        state = m.people.view("state")
        self.crossed += g["crossed_fleeing"][t].sum()
        self.stopped += g["stopped"][t].sum()
        out = np.count_nonzero(np.isin(state, [State.ABROAD, State.ONWARD, State.RETURNED]))
        assert out == self.crossed, where
        assert np.count_nonzero(state == State.STOPPED) == self.stopped, where
        assert np.count_nonzero(state == State.QUEUED) == g["queue_fleeing"][t].sum(), where


def run_checked(model: MobilisationModel) -> MobilisationModel:
    """Run every remaining day of `model`, asserting the invariants after each one."""
    checks = Invariants(model)
    while model.day < model.n_days:
        t = model.day
        model.step()
        checks.check_day(t)
    return model
