"""Early rejection: an ABC proposal stops being simulated once it provably misses the tolerance.

A Metropolis step of the ABC keeps a proposal only if its distance is at most the tolerance,
and the distance of a rejected proposal is never used. The distance is a weighted mean of
non-negative terms, one per `fit` target (`calibration.scores.loss`: |log ratio|, or its
square under the root for `rms`), and a target's simulated value depends only on the days up to
its last (and the baseline days before the announcement). So once the targets already final
put the distance above the tolerance, no later day can bring it back: the run stops there and
the proposal is rejected exactly as the whole run would have been. In the calibration on every
row most fit targets end within four weeks of the announcement, and most proposals of the late
generations are rejected by then: their remaining days are not simulated.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from calibration.measure import simulate_targets
from calibration.observe import Target
from calibration.scores import log_ratio
from sim.results import Results

if TYPE_CHECKING:
    from calibration.problem import Problem
    from sim.engine import Ensemble

# a bound is compared with the tolerance with this relative margin: the whole run's distance
# sums the same terms in another order, which may differ from the bound in the last bits
MARGIN = 1e-9


def final_day(target: Target, baseline_days: int) -> int:
    """The last day a target's value depends on (days before the horizon are extrapolated
    from the baseline days' mean)."""
    return max(target.last, baseline_days - 1) if target.extrapolated_days else target.last


class BeyondTolerance:
    """A stopping rule for `sim.batch.run_members`: a member stops after the day on which the
    fit targets final so far put a lower bound on its distance above its tolerance.

    `tolerances` and `persons_per_vehicle` are per member of the batch (inf: never stop)."""

    def __init__(self, problem: Problem, tolerances: Sequence[float],
                 persons_per_vehicle: Sequence[float]) -> None:
        self.problem = problem
        self.kind = problem.loss_kind
        if self.kind not in ("mean_abs", "rms"):
            raise ValueError(f"loss: unknown kind {self.kind!r}")
        weights = problem.weights[problem.fit_index]
        self.weights, self.total_weight = weights, float(weights.sum())
        self.observed = problem.observed[problem.fit_index]
        final = np.array([final_day(t, problem.baseline_days) for t in problem.fit_targets])
        self.final_on = {int(d): np.flatnonzero(final == d) for d in np.unique(final)}
        self.tolerances = np.asarray(tolerances, dtype=float)
        self.ppv = np.asarray(persons_per_vehicle, dtype=float)
        self.terms = np.zeros(len(self.tolerances))  # the final targets' weighted terms, summed

    def bound(self, members: np.ndarray) -> np.ndarray:
        """The members' lower bounds on their distance, on the loss's own scale."""
        mean = self.terms[members] / self.total_weight
        return np.sqrt(mean) if self.kind == "rms" else mean

    def __call__(self, ensemble: Ensemble, members: np.ndarray) -> np.ndarray:
        """[running] bool after the day just simulated; `members` are the running members'
        indices in the batch."""
        newly = self.final_on.get(ensemble.day - 1)
        if newly is None or not np.isfinite(self.tolerances[members]).any():
            return np.zeros(len(members), dtype=bool)
        p = self.problem
        targets = [p.fit_targets[i] for i in newly]
        for position, index in enumerate(members):
            if not np.isfinite(self.tolerances[index]):
                continue
            member = int(ensemble.member_ids[position])
            setup = ensemble.setups[member]
            results = Results(ensemble.records[member], setup.config.population.scale,
                              setup.world)
            simulated = simulate_targets(targets, results, p.geo, float(self.ppv[index]),
                                         p.baseline_days)
            r = log_ratio(simulated, self.observed[newly])
            term = np.abs(r) if self.kind == "mean_abs" else r**2
            self.terms[index] += float(np.sum(term * self.weights[newly]))
        return self.bound(members) > self.tolerances[members] * (1.0 + MARGIN)
