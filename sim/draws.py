"""Random draws for many members at once, each from the member's own named stream.

A member's draws must not depend on the other members of its batch: every draw here takes,
for each member in turn, the same number of values from that member's generator, in the same
order, as the member's single run would, and puts them back where its items are. Members are
drawn in ascending order, and each member's items in the order they appear.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

Draw = Callable[[np.random.Generator, np.ndarray], np.ndarray]


def per_member(streams: Sequence[dict[str, np.random.Generator]], stream: str,
               member: np.ndarray, draw: Draw, out_dtype: type = np.float64) -> np.ndarray:
    """One draw per item: `draw(rng, items)` with member m's generator and the positions of
    member m's items (in their order), for every member with items. Returns [len(member)]."""
    out = np.empty(len(member), dtype=out_dtype)
    if len(member) == 0:
        return out
    if len(streams) == 1:  # the ensemble of one: no sorting
        out[:] = draw(streams[0][stream], np.arange(len(member)))
        return out
    order = np.argsort(member, kind="stable")
    counts = np.bincount(member, minlength=len(streams))
    start = 0
    for m in np.flatnonzero(counts):
        items = order[start: start + counts[m]]
        out[items] = draw(streams[m][stream], items)
        start += counts[m]
    return out


def uniforms(streams: Sequence[dict[str, np.random.Generator]], stream: str,
             member: np.ndarray) -> np.ndarray:
    """One uniform on [0, 1) per item, from its member's stream."""
    return per_member(streams, stream, member, lambda rng, items: rng.random(len(items)))


def categorical_draws(weights: np.ndarray, counts: np.ndarray, row_member: np.ndarray,
                      streams: Sequence[dict[str, np.random.Generator]],
                      stream: str) -> tuple[np.ndarray, np.ndarray]:
    """Draw counts[i] categories from row i of non-negative `weights` ([k, G]), with the
    uniforms of row i's member (`row_member`).

    Inverse-CDF sampling on each member's rows' cumulative shares laid end to end (its j-th row
    occupies [j, j + 1)), so one `searchsorted` serves all of a member's rows: the same
    distribution as a multinomial per row, at the cost of one uniform per draw instead of one
    binomial per category; a member's rows are numbered as in its single run, so that the
    rounding, and the draws, are the same. Returns (row, category) of every draw, member by
    member, each member's rows in order; rows with zero weight must have zero count.
    """
    drawn = np.flatnonzero(counts)
    return drawn_rows_categories(weights[drawn], counts[drawn], row_member,
                                 row_numbers(row_member, len(streams))[drawn], drawn, streams,
                                 stream)


def row_numbers(row_member: np.ndarray, n_members: int) -> np.ndarray:
    """Each row's position among its member's rows (0, 1, ... in the order they appear)."""
    if n_members == 1:
        return np.arange(len(row_member))
    order = np.argsort(row_member, kind="stable")
    starts = np.cumsum(np.bincount(row_member, minlength=n_members)) - np.bincount(
        row_member, minlength=n_members)
    numbers = np.empty(len(row_member), dtype=np.int64)
    numbers[order] = np.arange(len(row_member)) - starts[row_member[order]]
    return numbers


def drawn_rows_categories(weights: np.ndarray, counts: np.ndarray, row_member: np.ndarray,
                          row_number: np.ndarray, rows: np.ndarray,
                          streams: Sequence[dict[str, np.random.Generator]],
                          stream: str) -> tuple[np.ndarray, np.ndarray]:
    """`categorical_draws` given only the rows that draw (counts > 0): `weights` and `counts`
    of those rows, their place `rows` in the full table (and `row_member[rows]` their members),
    and `row_number` each one's position among all its member's rows, drawn or not.

    A row that draws nothing takes no uniform, and its shares are never compared with one: the
    searchsorted table holds only the drawing rows, each offset by its own row number as in the
    full table, so every comparison, and so every category, is the one the full table gives
    (a uniform that rounds up to the next row's start is clamped to the last category in both).
    """
    n_rows, n_cat = weights.shape
    if n_rows == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    cumulative = np.cumsum(weights, axis=1)
    totals = cumulative[:, -1:]
    shares = cumulative / np.where(totals > 0, totals, 1.0)
    shares += row_number[:, None]
    member = row_member[rows]
    if len(streams) == 1:  # the ensemble of one: its rows in order, no copies
        local = np.repeat(np.arange(n_rows), counts)
        position = np.searchsorted(shares.ravel(), row_number[local]
                                   + streams[0][stream].random(len(local)), side="right")
        return rows[local], np.minimum(position - local * n_cat, n_cat - 1)
    order = np.argsort(member, kind="stable")
    per = np.bincount(member, minlength=len(streams))
    rows_out, cats_out = [], []
    start = 0
    for m in np.flatnonzero(per):
        rows_m = order[start: start + per[m]]
        start += per[m]
        local = np.repeat(np.arange(len(rows_m)), counts[rows_m])
        table = shares[rows_m].ravel()
        position = np.searchsorted(table, row_number[rows_m][local]
                                   + streams[m][stream].random(len(local)), side="right")
        rows_out.append(rows[rows_m[local]])
        cats_out.append(np.minimum(position - local * n_cat, n_cat - 1))
    return np.concatenate(rows_out), np.concatenate(cats_out)


def logit_weights(utilities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """exp(utility - the row's largest) ([k, G], 0 where unavailable) and whether each row has
    an option."""
    finite = np.isfinite(utilities)
    any_option = finite.any(axis=1)
    top = np.max(np.where(finite, utilities, -np.inf), axis=1, keepdims=True)
    weights = np.exp(utilities - np.where(any_option[:, None], top, 0.0))
    return np.where(finite, weights, 0.0), any_option


def logit_choice(utilities: np.ndarray, row_member: np.ndarray,
                 streams: Sequence[dict[str, np.random.Generator]], stream: str) -> np.ndarray:
    """One logit draw per row of `utilities` ([k, G], -inf = unavailable), from the row's
    member's stream; -1 where no option is available."""
    n_rows = utilities.shape[0]
    if n_rows == 0:
        return np.zeros(0, dtype=np.int64)
    weights, any_option = logit_weights(utilities)
    rows, choice = categorical_draws(weights, any_option.astype(np.int64), row_member,
                                     streams, stream)
    result = np.full(n_rows, -1, dtype=np.int64)
    result[rows] = choice
    return result


def binomial_where_drawn(rng: np.random.Generator, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """`rng.binomial(n, p)` drawn only where n != 0 and p != 0: numpy returns 0 there without
    taking a random number (`random_binomial` in numpy's distributions.c), so the draws, and
    the stream after them, are those of the full call (tests/test_draws_identity.py)."""
    out = np.zeros(n.shape, dtype=np.int64)
    cells = np.flatnonzero((n != 0) & (p != 0))
    out.flat[cells] = rng.binomial(n.ravel()[cells], p.ravel()[cells])
    return out


# each stage of the engine and the named stream it draws from
STREAM_OF = {"travel": "travel", "prepare": "prepare", "think": "reconsider",
             "travel_on": "reconsider", "reroute": "reconsider", "reconsider": "reconsider",
             "draft": "border", "capacity": "border", "stay_abroad": "abroad",
             "onward": "abroad", "left_normal": "abroad", "normal": "normal"}


class StreamDraws:
    """The draws of the running members of an ensemble from their named streams, in the order
    of their single runs (the default; `sim.keyed.KeyedDraws` keys them by place instead).
    Every method takes the day and the keys the keyed draws need, and ignores them."""

    keyed = False

    def __init__(self, streams: Sequence[dict[str, np.random.Generator]]) -> None:
        self.streams = list(streams)

    @property
    def size(self) -> int:
        return len(self.streams)

    def select(self, keep: np.ndarray) -> StreamDraws:
        return StreamDraws([s for s, k in zip(self.streams, keep, strict=True) if k])

    def _each(self, draw: Callable[[int], np.ndarray]) -> np.ndarray:
        if self.size == 1:
            return draw(0)[None]
        return np.stack([draw(m) for m in range(self.size)])

    def departures(self, day: int, act: np.ndarray, at_home: np.ndarray,
                   p_leave: np.ndarray) -> np.ndarray:
        leaving = np.zeros_like(at_home)
        for i, m in enumerate(act):
            leaving[i] = binomial_where_drawn(self.streams[m]["departures"], at_home[i],
                                              p_leave[i])
        return leaving

    def routes(self, day: int, weights: np.ndarray, counts: np.ndarray, member: np.ndarray,
               region: np.ndarray, stratum: np.ndarray) -> tuple[np.ndarray, ...]:
        row, gate = categorical_draws(weights, counts, member, self.streams, "routes")
        return row, gate, np.full(len(row), -1, dtype=np.int64)

    def uniforms(self, stage: str, day: int, member: np.ndarray, keys: np.ndarray,
                 item: np.ndarray | int = 0) -> np.ndarray:
        return uniforms(self.streams, STREAM_OF[stage], member)

    def exponential(self, stage: str, day: int, member: np.ndarray, keys: np.ndarray,
                    mean: np.ndarray) -> np.ndarray:
        return per_member(self.streams, STREAM_OF[stage], member,
                          lambda rng, items: rng.exponential(mean[items[0]], len(items)))

    def geometric(self, stage: str, day: int, member: np.ndarray, keys: np.ndarray,
                  p: np.ndarray) -> np.ndarray:
        return per_member(self.streams, STREAM_OF[stage], member,
                          lambda rng, items: rng.geometric(p[items]), np.int64)

    def place_uniforms(self, stage: str, day: int, shape: tuple[int, int]) -> np.ndarray:
        return self._each(lambda m: self.streams[m][STREAM_OF[stage]].random(shape[1]))

    def poisson(self, stage: str, day: int, mean: np.ndarray) -> np.ndarray:
        return self._each(lambda m: self.streams[m][STREAM_OF[stage]].poisson(mean[m]))

    def binomial(self, stage: str, day: int, n: np.ndarray, p: np.ndarray | float) -> np.ndarray:
        return self._each(lambda m: self.streams[m][STREAM_OF[stage]].binomial(n[m], p))

    def mixed_cohorts(self, day: int, first_day: int) -> None:
        return None  # sim.border draws from each member's `border` stream
