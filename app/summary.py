"""The comparison in numbers: 90 % bands, and outcomes in words, rounded to what the runs support.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from app.runs import Comparison
from app.scenario import BASELINE_LABEL
from sim.ensemble import band
from sim.results import OUTCOMES as RESULTS_OUTCOMES
from sim.results import support_unit

# the page's words for the outcomes of `sim.results` (its keys and units); the horizon's end is
# the page's, 30 Nov
WORDS = {
    "left_by_2022_09_24": "Left Russia by 24 Sep",
    "left_by_2022_10_04": "Left Russia by 4 Oct",
    "left_by_end": "Left Russia by 30 Nov",
    "abroad_at_end": "Abroad on 30 Nov",
    "refused_at_border": "Turned back at the border (exit bans, restrictions)",
    "stopped_at_border": "Called up at a draft office at the border",
    "refused_entry": "Refused entry by the destination",
    "mean_wait_days": "Mean wait at the border",
}
OUTCOMES = {o.key: (WORDS[o.key], o.unit) for o in RESULTS_OUTCOMES if o.key in WORDS}

__all__ = ["OUTCOMES", "band", "fmt", "headline", "outcome_rows", "step_for"]


def step_for(lo: float, hi: float, resolution: float) -> float:
    """A rounding step the spread supports (`sim.results.support_unit`): a power of ten no
    finer than a tenth of the 90 % interval's width, nor than what one agent stands for."""
    return support_unit(min(lo, hi), max(lo, hi), resolution)


def rounded(value: float, step: float) -> float:
    return round(value / step) * step if np.isfinite(value) else float("nan")


def fmt(value: float, step: float, unit: str, signed: bool = False) -> str:
    if not np.isfinite(value):
        return "–"
    v = rounded(value, step)
    if unit == "days":
        decimals = max(0, -math.floor(math.log10(step))) if step < 1 else 0
        text = f"{v:.{min(decimals, 2)}f}"
    else:
        text = f"{v:,.0f}"
    if signed and v > 0:
        text = "+" + text
    return text.replace("-", "−")


@dataclass(frozen=True)
class OutcomeRow:
    key: str
    words: str
    baseline: str  # "median (90 %: lo – hi)"
    scenario: str
    difference: str  # paired: scenario − 2022, same seeds and particles
    sentence: str


def outcome_rows(comp: Comparison, resolution: float) -> list[OutcomeRow]:
    """One row per outcome; `resolution` is what one agent stands for (1 / scale)."""
    pairs = comp.paired()
    rows = []
    for key, (words, unit) in OUTCOMES.items():
        res = 0.01 if unit == "days" else resolution
        own = np.array([p[0].outcomes[key] for p in pairs])
        base = np.array([p[1].outcomes[key] for p in pairs])
        diff = own - base
        cells = []
        for values, signed in ((base, False), (own, False), (diff, True)):
            lo, mid, hi = (float(x) for x in band(values)) if len(values) else (
                float("nan"),) * 3
            step = step_for(lo, hi, res)
            cells.append((f"{fmt(mid, step, unit, signed)} ({fmt(lo, step, unit, signed)} to "
                          f"{fmt(hi, step, unit, signed)})", mid, lo, hi, step))
        d_mid, d_lo, d_hi, d_step = cells[2][1], cells[2][2], cells[2][3], cells[2][4]
        unit_words = " days" if unit == "days" else ""
        if not np.isfinite(d_mid):
            sentence = f"{words}: no runs to compare."
        elif rounded(d_lo, d_step) <= 0 <= rounded(d_hi, d_step):
            sentence = (f"{words}: no clear difference from 2022 ({fmt(d_lo, d_step, unit, True)}"
                        f" to {fmt(d_hi, d_step, unit, True)}{unit_words}).")
        else:
            direction = "more" if d_mid > 0 else "fewer"
            if unit == "days":
                direction = "longer" if d_mid > 0 else "shorter"
            sentence = (f"{words}: {fmt(abs(d_mid), d_step, unit)}{unit_words} {direction} than "
                        f"in 2022 (90 %: {fmt(d_lo, d_step, unit, True)} to "
                        f"{fmt(d_hi, d_step, unit, True)}).")
        rows.append(OutcomeRow(key, words, cells[0][0], cells[1][0], cells[2][0], sentence))
    return rows


def headline(comp: Comparison, resolution: float) -> str:
    """The one number everybody asks for, in words."""
    own = np.array([r.outcomes["left_by_end"] for r in comp.of(comp.scenario)])
    if not len(own):
        return ""
    lo, mid, hi = (float(x) for x in band(own))
    step = step_for(lo, hi, resolution)
    return (f"Under '{comp.scenario}', about {fmt(mid, step, 'people')} men left Russia by "
            f"30 Nov (90 % over {'posterior particles and ' if comp.over_posterior else ''}"
            f"seeds: {fmt(lo, step, 'people')} to {fmt(hi, step, 'people')}; "
            f"{len(own)} runs).")


def baseline_label() -> str:
    return BASELINE_LABEL
