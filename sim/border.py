"""Border service: each exit passes up to its daily capacity, first come first served.

Queues are kept as cohorts by the day people joined. Ordinary travellers are counts per cohort;
people fleeing are individuals. At a land post both kinds share one queue; within a day's cohort
they are interleaved at random, so the number of fleeing people among those served from a
partly-served cohort is hypergeometric. On an air route ordinary travellers hold tickets bought
beforehand and board first; people fleeing get the seats left, in the order they asked.
"""

from __future__ import annotations

from collections.abc import Callable

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
    normal, fleeing = serve_queues_by_member(capacity[None], normal_first, normal_queue[None],
                                             fleeing_counts[None], [{"border": rng}])
    return normal[0], fleeing[0]


def pick_served(gate: np.ndarray, day: np.ndarray, order_key: np.ndarray,
                served: np.ndarray) -> np.ndarray:
    """Bool mask over queued individuals: the first `served[g, d]` of each cohort by order_key."""
    return pick_served_by_member(np.zeros(len(gate), dtype=np.int64), gate, day, order_key,
                                 served[None])


def stochastic_round(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Integers whose expectation equals `values` (capacities and flows at a reduced scale)."""
    floor = np.floor(values)
    return (floor + (rng.random(values.shape) < values - floor)).astype(np.int64)


def pick_served_by_member(member: np.ndarray, gate: np.ndarray, day: np.ndarray,
                          order_key: np.ndarray, served: np.ndarray) -> np.ndarray:
    """Bool mask over queued individuals: the first `served[b, g, d]` of each (member, exit,
    day joined) cohort by order_key."""
    if len(gate) == 0:
        return np.zeros(0, dtype=bool)
    _, n_g, n_days = served.shape
    cohort = (member.astype(np.int64) * n_g + gate) * n_days + day
    order = np.lexsort((order_key, cohort))
    sorted_cohort = cohort[order]
    first_of_group = np.flatnonzero(np.r_[True, sorted_cohort[1:] != sorted_cohort[:-1]])
    group_sizes = np.diff(np.r_[first_of_group, len(order)])
    rank = np.arange(len(order)) - np.repeat(first_of_group, group_sizes)
    mask = np.zeros(len(gate), dtype=bool)
    mask[order] = rank < served.ravel()[sorted_cohort]
    return mask


def serve_queues_by_member(capacity: np.ndarray, normal_first: np.ndarray,
                           normal_queue: np.ndarray, fleeing_counts: np.ndarray,
                           streams: list | None,
                           mixed: Callable[..., np.ndarray] | None = None
                           ) -> tuple[np.ndarray, np.ndarray]:
    """`serve_queues` for every member of an ensemble: capacity [B, G], queues [B, G, D];
    member b's hypergeometric draws from its own `border` stream, its cells in the order of
    its single run, or from `mixed(b, cells, fleeing, normal, served)` when given (keyed
    draws, `sim.keyed`)."""
    size, n_g, n_d = normal_queue.shape
    total = normal_queue + fleeing_counts
    served = fifo_served(capacity.ravel(), total.reshape(size * n_g, n_d)).reshape(total.shape)
    partial = (served > 0) & (served < total) & (normal_queue > 0) & (fleeing_counts > 0)
    fleeing_mixed = np.where(normal_queue == 0, served, 0)
    fleeing_mixed = np.where(fleeing_counts == 0, 0, fleeing_mixed)
    fleeing_mixed = np.where(served == total, fleeing_counts, fleeing_mixed)
    for m in np.flatnonzero(partial.any(axis=(1, 2))):
        cells = partial[m]
        draw = (streams[m]["border"].hypergeometric if mixed is None
                else lambda *counts, m=m, cells=cells: mixed(m, cells, *counts))
        fleeing_mixed[m][cells] = draw(fleeing_counts[m][cells], normal_queue[m][cells],
                                       served[m][cells])
    normal_mixed = served - fleeing_mixed
    normal_priority = fifo_served(capacity.ravel(), normal_queue.reshape(size * n_g, n_d))
    left = capacity.ravel() - normal_priority.sum(axis=1)
    fleeing_priority = fifo_served(left, fleeing_counts.reshape(size * n_g, n_d))
    first = normal_first[None, :, None]
    return (np.where(first, normal_priority.reshape(total.shape), normal_mixed),
            np.where(first, fleeing_priority.reshape(total.shape), fleeing_mixed))
