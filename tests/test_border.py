"""Border service on small cases computed by hand."""

import numpy as np

from sim.border import fifo_served, pick_served, serve_queues, stochastic_round


def test_fifo_serves_oldest_cohort_first():
    served = fifo_served(np.array([5, 0, 10]), np.array([[3, 4], [2, 2], [3, 4]]))
    np.testing.assert_array_equal(served, [[3, 2], [0, 0], [3, 4]])


def test_land_post_mixes_normal_and_fleeing_within_capacity():
    rng = np.random.default_rng(0)
    normal = np.array([[4, 10]])
    fleeing = np.array([[2, 10]])
    normal_served, fleeing_served = serve_queues(np.array([11]), np.array([False]), normal,
                                                 fleeing, rng)
    # the first cohort (6 people) passes whole; 5 places are left for the second
    assert normal_served[0, 0] == 4 and fleeing_served[0, 0] == 2
    assert normal_served[0, 1] + fleeing_served[0, 1] == 5
    assert (normal_served <= normal).all() and (fleeing_served <= fleeing).all()


def test_partly_served_cohort_splits_hypergeometrically():
    rng = np.random.default_rng(1)
    draws = [serve_queues(np.array([10]), np.array([False]), np.array([[30]]),
                          np.array([[10]]), rng)[1][0, 0] for _ in range(4000)]
    # 10 of 40, of whom 10 flee: expected 2.5 fleeing
    assert abs(np.mean(draws) - 2.5) < 0.1


def test_air_route_boards_ticket_holders_first():
    rng = np.random.default_rng(0)
    normal_served, fleeing_served = serve_queues(np.array([10]), np.array([True]),
                                                 np.array([[0, 8]]), np.array([[5, 0]]), rng)
    assert normal_served.sum() == 8 and fleeing_served.sum() == 2
    assert fleeing_served[0, 0] == 2


def test_pick_served_takes_earliest_arrivals_of_each_cohort():
    gate = np.array([0, 0, 0, 1, 1])
    day = np.array([0, 0, 1, 0, 0])
    key = np.array([0.9, 0.1, 1.5, 0.3, 0.2])
    served = np.array([[1, 1], [1, 0]])
    mask = pick_served(gate, day, key, served)
    np.testing.assert_array_equal(mask, [False, True, True, False, True])


def test_stochastic_round_is_unbiased():
    rng = np.random.default_rng(2)
    values = np.full(100_000, 2.3)
    rounded = stochastic_round(values, rng)
    assert set(np.unique(rounded)) == {2, 3}
    assert abs(rounded.mean() - 2.3) < 0.01
