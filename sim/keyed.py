"""Draws keyed by (member, stage, day, place): common random numbers that hold.

With named streams (`sim.draws.StreamDraws`) a stage's draws are taken in sequence, so once a
policy changes how many draws one exit or region takes, every later draw of that stage shifts,
at every other place. Here each value is a pure function of its key: Philox4x64-10
(`sim.philox`) with key (the member's seed, the stage) at counter (day, place, item), turned
into a variate by inversion (`sim.inversion`). What one place draws never depends on what
another drew, and a member's draws never depend on its batch. The places:

- departures: the (region, stratum) cell, four strata to one Philox call (its four words);
- a man's own draws (his exit when he leaves, his travel time, his time to get ready, his
  re-choices, the draft office, his stay abroad): his *person key*, (the day he left, his cell,
  his rank among the men who left that cell that day), so that the same man draws the same
  numbers in two scenarios as long as he exists in both; a re-choice adds the node he chooses
  from, which tells apart his re-choices of one day;
- an exit's ordinary travellers, capacity rounding and mixed cohorts: the exit (and the
  cohort's day);
- ordinary travellers going home from abroad: the country.

The population at the start is drawn from the member's `population` stream as in streams mode
(no policy acts before it). `log`, when a list, records every uniform drawn (tests).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from sim import inversion
from sim.philox import philox, unit_interval

# a stage's number is part of its key: never renumber, only append
STAGES = {name: number for number, name in enumerate((
    "departures", "route", "travel", "prepare", "think", "reroute", "reconsider", "travel_on",
    "normal", "capacity", "mixed", "draft", "stay_abroad", "onward", "left_normal"), start=1)}
WORDS = 4  # Philox4x64 gives four 64-bit words per counter
RANK_BITS = 32  # a person key: (day left * cells + cell) << RANK_BITS | rank in the cell


class KeyedDraws:
    """The draws of the running members of an ensemble, keyed by their seeds."""

    keyed = True
    streams = None

    def __init__(self, seeds: Sequence[int], n_regions: int, n_strata: int) -> None:
        self.seeds = np.asarray([int(s) for s in seeds], dtype=np.uint64)
        self.n_regions, self.n_strata = n_regions, n_strata
        self.log: list | None = None

    @property
    def size(self) -> int:
        return len(self.seeds)

    def select(self, keep: np.ndarray) -> KeyedDraws:
        kept = KeyedDraws(self.seeds[keep], self.n_regions, self.n_strata)
        kept.log = self.log
        return kept

    # ---- the generator ----------------------------------------------------------------------
    def words(self, stage: str, day: int, member: np.ndarray, place: np.ndarray,
              item: np.ndarray | int = 0) -> np.ndarray:
        """[4, n] Philox words at key (seed of `member`, stage), counter (day, place, item, 0)."""
        place = np.asarray(place, dtype=np.int64).astype(np.uint64)
        item = np.asarray(item, dtype=np.int64).astype(np.uint64)
        return philox((np.uint64(day), place, item, np.uint64(0)),
                      (self.seeds[member], np.uint64(STAGES[stage])))

    def unit(self, stage: str, day: int, member: np.ndarray, place: np.ndarray,
             item: np.ndarray | int = 0, word: int = 0) -> np.ndarray:
        """One uniform on [0, 1) per key (word `word` of its Philox block)."""
        u = unit_interval(self.words(stage, day, member, place, item)[word])
        if self.log is not None:
            shape = np.broadcast_shapes(np.shape(member), np.shape(place), np.shape(item))
            self.log.append((stage, day, word, self.seeds[np.broadcast_to(member, shape)],
                             np.broadcast_to(place, shape), np.broadcast_to(item, shape), u))
        return u

    def person_key(self, day: int, cell: np.ndarray, rank: np.ndarray) -> np.ndarray:
        n_cells = self.n_regions * self.n_strata
        return ((day * n_cells + cell.astype(np.int64)) << RANK_BITS) | rank.astype(np.int64)

    # ---- what the engine draws --------------------------------------------------------------
    def departures(self, day: int, act: np.ndarray, at_home: np.ndarray,
                   p_leave: np.ndarray) -> np.ndarray:
        """[A, R, S] men leaving each cell of the members at `act`: Binomial(at home, p)."""
        n_act, n_regions, n_strata = at_home.shape
        blocks = -(-n_strata // WORDS)
        member = np.repeat(act, n_regions * blocks)
        place = np.tile(np.arange(n_regions * blocks), n_act)
        words = self.words("departures", day, member, place).reshape(WORDS, n_act, n_regions,
                                                                     blocks)
        strata = np.arange(n_strata)
        u = unit_interval(words[strata % WORDS, :, :, strata // WORDS])  # [S, A, R]
        u = np.moveaxis(u, 0, -1)
        if self.log is not None:
            self.log.append(("departures", day, -1, self.seeds[act], None, None, u))
        return inversion.binomial(u.ravel(), at_home.ravel(), p_leave.ravel()).reshape(
            at_home.shape)

    def routes(self, day: int, weights: np.ndarray, counts: np.ndarray, member: np.ndarray,
               region: np.ndarray, stratum: np.ndarray) -> tuple[np.ndarray, ...]:
        """Each man leaving draws his exit from his cell's row of `weights`; returns his row,
        his exit and his person key (men in row order, each row's by rank)."""
        row = np.repeat(np.arange(len(counts)), counts)
        rank = np.arange(len(row)) - np.repeat(np.cumsum(counts) - counts, counts)
        keys = self.person_key(day, region[row] * self.n_strata + stratum[row], rank)
        u = self.unit("route", day, member[row], keys)
        return row, inversion.categorical(weights, row, u), keys

    def uniforms(self, stage: str, day: int, member: np.ndarray, keys: np.ndarray,
                 item: np.ndarray | int = 0) -> np.ndarray:
        """A uniform per person (his key; `item` tells apart his draws of one stage and day)."""
        return self.unit(stage, day, member, keys, item)

    def exponential(self, stage: str, day: int, member: np.ndarray, keys: np.ndarray,
                    mean: np.ndarray) -> np.ndarray:
        return inversion.exponential(self.unit(stage, day, member, keys), mean)

    def geometric(self, stage: str, day: int, member: np.ndarray, keys: np.ndarray,
                  p: np.ndarray) -> np.ndarray:
        return inversion.geometric(self.unit(stage, day, member, keys), p)

    def choice_uniforms(self, stage: str, day: int, member: np.ndarray, keys: np.ndarray,
                        node: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Two uniforms per person choosing again from `node`: among {switch, home, stay},
        then among the exits (two words of one Philox block)."""
        words = self.words(stage, day, member, keys, node)
        if self.log is not None:
            self.unit(stage, day, member, keys, node)  # recorded, not used twice
        return unit_interval(words[0]), unit_interval(words[1])

    def place_uniforms(self, stage: str, day: int, shape: tuple[int, int]) -> np.ndarray:
        """[B, P] a uniform per running member and place (an exit, a country)."""
        member, place = np.indices(shape)
        return self.unit(stage, day, member.ravel(), place.ravel()).reshape(shape)

    def poisson(self, stage: str, day: int, mean: np.ndarray) -> np.ndarray:
        return inversion.poisson(self.place_uniforms(stage, day, mean.shape).ravel(),
                                 mean.ravel()).reshape(mean.shape)

    def binomial(self, stage: str, day: int, n: np.ndarray, p: np.ndarray | float) -> np.ndarray:
        p = np.broadcast_to(p, n.shape)
        return inversion.binomial(self.place_uniforms(stage, day, n.shape).ravel(),
                                  n.ravel(), p.ravel()).reshape(n.shape)

    def mixed_cohorts(self, day: int, first_day: int) -> Callable[..., np.ndarray]:
        """How many of the people served from a cohort mixing ordinary travellers and people
        fleeing are fleeing (hypergeometric), keyed by (exit, the cohort's day)."""
        def draw(m: int, cells: np.ndarray, fleeing: np.ndarray, normal: np.ndarray,
                 served: np.ndarray) -> np.ndarray:
            gate, cohort = np.nonzero(cells)
            u = self.unit("mixed", day, np.full(len(gate), m), gate, first_day + cohort)
            return inversion.hypergeometric(u, fleeing, normal, served)
        return draw
