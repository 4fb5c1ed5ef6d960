"""Border service: each exit passes up to its daily capacity, first come first served.

Queues are kept as cohorts by the day people joined. Ordinary travellers are counts per cohort;
people fleeing are individuals. At a land post both kinds share one queue; within a day's cohort
they are interleaved at random, so the number of fleeing people among those served from a
partly-served cohort is hypergeometric. On an air route ordinary travellers hold tickets bought
beforehand and board first; people fleeing get the seats left, in the order they asked.
"""

from __future__ import annotations

import numpy as np


def fifo_served(capacity: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """[G, D] served per cohort when each row's cohorts are served oldest first."""
    before = np.cumsum(counts, axis=1) - counts
    return np.clip(capacity[:, None] - before, 0, counts)


def serve_queues(capacity: np.ndarray, normal_first: np.ndarray, normal_queue: np.ndarray,
                 fleeing_counts: np.ndarray,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """How many ordinary and fleeing travellers each cohort passes today.

    capacity [G] int, normal_first [G] bool, normal_queue and fleeing_counts [G, D] int.
    Returns (normal_served, fleeing_served), both [G, D].
    """
    total = normal_queue + fleeing_counts
    served = fifo_served(capacity, total)
    partial = (served > 0) & (served < total) & (normal_queue > 0) & (fleeing_counts > 0)
    fleeing_mixed = np.where(normal_queue == 0, served, 0)
    fleeing_mixed = np.where(fleeing_counts == 0, 0, fleeing_mixed)
    fleeing_mixed = np.where(served == total, fleeing_counts, fleeing_mixed)
    if partial.any():
        fleeing_mixed[partial] = rng.hypergeometric(fleeing_counts[partial],
                                                     normal_queue[partial], served[partial])
    normal_mixed = served - fleeing_mixed

    normal_priority = fifo_served(capacity, normal_queue)
    left = capacity - normal_priority.sum(axis=1)
    fleeing_priority = fifo_served(left, fleeing_counts)

    first = normal_first[:, None]
    return (np.where(first, normal_priority, normal_mixed),
            np.where(first, fleeing_priority, fleeing_mixed))


def pick_served(gate: np.ndarray, day: np.ndarray, order_key: np.ndarray,
                served: np.ndarray) -> np.ndarray:
    """Bool mask over queued individuals: the first `served[g, d]` of each cohort by order_key."""
    if len(gate) == 0:
        return np.zeros(0, dtype=bool)
    n_days = served.shape[1]
    cohort = gate.astype(np.int64) * n_days + day
    order = np.lexsort((order_key, cohort))
    sorted_cohort = cohort[order]
    first_of_group = np.flatnonzero(np.r_[True, sorted_cohort[1:] != sorted_cohort[:-1]])
    group_sizes = np.diff(np.r_[first_of_group, len(order)])
    rank = np.arange(len(order)) - np.repeat(first_of_group, group_sizes)
    mask = np.zeros(len(gate), dtype=bool)
    mask[order] = rank < served.ravel()[sorted_cohort]
    return mask


def stochastic_round(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Integers whose expectation equals `values` (capacities and flows at a reduced scale)."""
    floor = np.floor(values)
    return (floor + (rng.random(values.shape) < values - floor)).astype(np.int64)
