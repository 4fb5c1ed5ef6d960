"""Philox4x64-10, the counter-based generator behind numpy's `Philox`, vectorised over keys.

numpy's `Philox` steps one stream at a time; a draw keyed by (member, stage, day, place) needs
one value per key, for thousands of keys a day, and building a `Generator` per key costs about
15 us (tests and `benchmarks/keyed_draws.py`). A counter-based generator is a keyed bijection of
its counter, so the same rounds applied to arrays of keys and counters give every key's value
at once. These are Salmon et al.'s Philox4x64 rounds (SC'11; the Random123 library), the same
as numpy's: `philox(counter, key)` equals `numpy.random.Philox(counter=counter - 1,
key=key).random_raw(4)` (numpy adds one to the counter before it draws), which
tests/test_keyed_draws.py checks.
"""

from __future__ import annotations

import numpy as np

ROUNDS = 10  # numpy's and Random123's default
_MULTIPLIERS = (np.uint64(0xD2E7470EE14C6C93), np.uint64(0xCA5A826395121157))
_WEYL = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBB67AE8584CAA73B))  # the key's schedule
_LOW = np.uint64(0xFFFFFFFF)
_HALF = np.uint64(32)
_DOUBLE_BITS = np.uint64(11)  # a double's 53 bits from a 64-bit word, as numpy's random()


def _mulhilo(multiplier: np.uint64, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The high and low 64 bits of the 128-bit product, from 32-bit halves (numpy has no
    128-bit integers); no partial sum overflows."""
    m0, m1 = multiplier & _LOW, multiplier >> _HALF
    x0, x1 = x & _LOW, x >> _HALF
    t = m1 * x0 + ((m0 * x0) >> _HALF)
    w1 = (t & _LOW) + m0 * x1
    high = m1 * x1 + (t >> _HALF) + (w1 >> _HALF)
    return high, multiplier * x


def philox(counter: tuple[np.ndarray, ...], key: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """[4, n] uint64: the four words of Philox4x64-10 at each (counter, key); `counter` is four
    arrays, `key` two, all broadcast to one shape (n,)."""
    c0, c1, c2, c3 = (np.asarray(c, dtype=np.uint64) for c in counter)
    k0, k1 = (np.asarray(k, dtype=np.uint64) for k in key)
    with np.errstate(over="ignore"):  # products and the key's schedule wrap modulo 2**64
        for r in range(ROUNDS):
            if r:
                k0, k1 = k0 + _WEYL[0], k1 + _WEYL[1]
            high0, low0 = _mulhilo(_MULTIPLIERS[0], c0)
            high1, low1 = _mulhilo(_MULTIPLIERS[1], c2)
            c0, c1, c2, c3 = high1 ^ c1 ^ k0, low1, high0 ^ c3 ^ k1, low0
    return np.stack(np.broadcast_arrays(c0, c1, c2, c3))


def unit_interval(words: np.ndarray) -> np.ndarray:
    """Uniforms on [0, 1) from 64-bit words: the top 53 bits, as numpy's `random()`."""
    return (words >> _DOUBLE_BITS).astype(np.float64) * (1.0 / 9007199254740992.0)
