"""The engine's shortcuts in drawing take the same random numbers as the full draws they
replace: a binomial skips the cells where numpy draws nothing, and a categorical draw builds its
table only for the rows that draw. Equal draws and equal generator states afterwards."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from sim.draws import binomial_where_drawn, categorical_draws


def full_table_draws(weights, counts, row_member, streams, stream):
    """The categorical draw as first written: every row of every member in the table."""
    n_rows, n_cat = weights.shape
    empty = np.zeros(0, dtype=np.int64)
    if n_rows == 0 or counts.sum() == 0:
        return empty, empty
    cumulative = np.cumsum(weights, axis=1)
    totals = cumulative[:, -1:]
    shares = cumulative / np.where(totals > 0, totals, 1.0)
    order = np.argsort(row_member, kind="stable")
    per = np.bincount(row_member, minlength=len(streams))
    rows_out, cats_out, start = [], [], 0
    for m in np.flatnonzero(per):
        rows_m = order[start: start + per[m]]
        start += per[m]
        total = int(counts[rows_m].sum())
        if total == 0:
            continue
        local = np.repeat(np.arange(len(rows_m)), counts[rows_m])
        table = (shares[rows_m] + np.arange(len(rows_m))[:, None]).ravel()
        position = np.searchsorted(table, local + streams[m][stream].random(total),
                                   side="right")
        rows_out.append(rows_m[local])
        cats_out.append(np.minimum(position - local * n_cat, n_cat - 1))
    if not rows_out:
        return empty, empty
    return np.concatenate(rows_out), np.concatenate(cats_out)


@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(0, 40), cats=st.integers(1, 9),
       members=st.integers(1, 4))
def test_drawing_only_the_rows_that_draw_gives_the_full_tables_draws(seed, rows, cats,
                                                                      members):
    rng = np.random.default_rng(seed)
    weights = rng.random((rows, cats)) * (rng.random((rows, cats)) < 0.6)  # zero columns
    counts = rng.integers(0, 3, rows) * (rng.random(rows) < 0.5)  # rows that draw nothing
    counts[weights.sum(axis=1) == 0] = 0
    row_member = np.sort(rng.integers(0, members, rows)) if rng.random() < 0.5 else \
        rng.integers(0, members, rows)  # grouped by member, as the engine has them, or not
    fresh = [{"s": np.random.default_rng([seed, m])} for m in range(members)]
    old = [{"s": np.random.default_rng([seed, m])} for m in range(members)]
    got = categorical_draws(weights, counts, row_member, fresh, "s")
    expected = full_table_draws(weights, counts, row_member, old, "s")
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1])
    for a, b in zip(fresh, old, strict=True):
        assert a["s"].bit_generator.state == b["s"].bit_generator.state


def test_a_binomial_skips_no_random_number_where_numpy_draws_none():
    """numpy's binomial returns 0 for n = 0 or p = 0 without a uniform: drawing only the other
    cells gives the same values and leaves the generator where the full call leaves it."""
    rng = np.random.default_rng(7)
    n = rng.integers(0, 50, (30, 40)) * (rng.random((30, 40)) < 0.7)
    p = rng.random((30, 40)) * 0.2 * (rng.random((30, 40)) < 0.8)
    p[:3] = 0.9  # the other branch of numpy's algorithm (n - draw with 1 - p)
    p[3, :5] = 1.0
    full, skipping = np.random.default_rng(11), np.random.default_rng(11)
    np.testing.assert_array_equal(binomial_where_drawn(skipping, n, p), full.binomial(n, p))
    assert skipping.bit_generator.state == full.bit_generator.state
    assert skipping.random() == full.random()
