"""What a policy's effect rests on: the policy comparison re-run with each fixed, uncalibrated
assumption at a low and a high value, the effects shown beside the assumptions.

    python -m experiments.compare_assumptions                  # conf/experiment/assumptions.yaml
    python -m experiments.compare_assumptions seeds=5 'policies=[historical,finland_closes_earlier]'

Why: a comparison's interval covers seed noise and, with a posterior, the calibrated
parameters' uncertainty - but not the values nobody calibrated. "Finland closes a week earlier:
+42,000" rests on `restriction_rumour_weight` (how much news of a new restriction speeds
departures), a fixed guess no count constrains. The reader needs that value and how far the
effect moves with it, beside the effect.

Every setting is a whole comparison (`analysis.comparison.compare`) with the same seeds and
posterior particles (common random numbers), so the effects at the low and the high value
differ by the assumption, not by noise. The report folder (`output_root/name`) holds the
central comparison in comparison/, each setting's table in settings/, and assumptions.csv and
assumptions.md (every policy's effect with each assumption's low and high value beside it).
"""

from __future__ import annotations

import copy
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import DictConfig, OmegaConf

from analysis.comparison import compare
from calibration.parameters import load_parameters
from calibration.paths import project_path
from sim.atomic import atomic_folder
from sim.config import load_config
from sim.dotted import get_path
from sim.errors import ConfigError
from sim.results import round_to_support

CENTRAL = "central"


@dataclass(frozen=True)
class Assumption:
    """A fixed value of the simulation config the effects may rest on, and the range that
    would be as defensible."""

    path: str  # dotted field of the simulation config, e.g. behaviour.restriction_rumour_weight
    low: float
    high: float
    why: str  # what it means and why it is not calibrated
    value: float  # the configured value every other comparison uses
    calibrated: bool  # a parameter of the calibration (without a posterior: its point)

    @property
    def name(self) -> str:
        return self.path.rsplit(".", 1)[-1]

    def label(self, side: str) -> str:
        return f"{self.name}_{side}"


def calibrated_paths(parameters_file: str | Path) -> set[str]:
    """The config paths the calibration fits (conf/calibration/parameters.yaml)."""
    spec = OmegaConf.load(project_path(str(parameters_file))).parameters
    return {p.path for p in load_parameters(spec)}


def assumptions_from(cfg: DictConfig) -> list[Assumption]:
    """The assumptions of the experiment config, each checked against the simulation config
    (the field exists and is a number, low < high); bad input stops here, before any run."""
    if not cfg.assumptions:
        raise ConfigError("assumptions", "empty: name at least one field, e.g. "
                          "{path: behaviour.restriction_rumour_weight, low: 0.0, high: 2.0}")
    sim_cfg = load_config([str(o) for o in cfg.model_overrides])
    fitted = calibrated_paths(cfg.posterior_parameters)
    out, seen = [], set()
    for i, a in enumerate(cfg.assumptions):
        where = f"assumptions[{i}]"
        try:
            value = get_path(sim_cfg, str(a.path))
        except KeyError as err:
            raise ConfigError(f"{where}.path", str(err).strip("\"'")) from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where}.path", f"'{a.path}' is {value!r}, not a number")
        if not float(a.low) < float(a.high):
            raise ConfigError(where, f"low {a.low} is not below high {a.high}")
        if a.path in seen:
            raise ConfigError(f"{where}.path", f"'{a.path}' is given twice")
        seen.add(a.path)
        calibrated = str(a.path) in fitted
        if calibrated and cfg.get("posterior"):
            raise ConfigError(f"{where}.path", f"'{a.path}' is calibrated: the posterior "
                              "particles set it in every run, so its uncertainty is in the "
                              "intervals already")
        out.append(Assumption(str(a.path), float(a.low), float(a.high), str(a.why or ""),
                              float(value), calibrated))
    return out


def settings_of(assumptions: list[Assumption]) -> list[tuple[str, list[str]]]:
    """(label, extra overrides) of every comparison to run: the central one, then each
    assumption at its low and its high value (the others at their configured values)."""
    settings = [(CENTRAL, [])]
    for a in assumptions:
        settings += [(a.label("low"), [f"{a.path}={a.low!r}"]),
                     (a.label("high"), [f"{a.path}={a.high!r}"])]
    return settings


def effects_table(tables: dict[str, pd.DataFrame], assumptions: list[Assumption],
                  outcome: str) -> pd.DataFrame:
    """One row per scenario and assumption: the effect (paired difference from the baseline,
    median and 90 % interval) at the configured value, the low and the high value, and the
    swing (effect at high minus effect at low)."""
    central = tables[CENTRAL]
    central = central[central["outcome"] == outcome].set_index("scenario")
    rows = []
    for scenario, c in central.iterrows():
        for a in assumptions:
            row = {"scenario": scenario, "scenario_label": c["scenario_label"],
                   "outcome": outcome, "unit": c["unit"], "assumption": a.path,
                   "calibrated": a.calibrated, "value": a.value, "low": a.low, "high": a.high,
                   "effect_median": c["diff_median"], "effect_p05": c["diff_p05"],
                   "effect_p95": c["diff_p95"]}
            for side in ("low", "high"):
                t = tables[a.label(side)]
                r = t[(t["outcome"] == outcome) & (t["scenario"] == scenario)].iloc[0]
                row |= {f"at_{side}_median": r["diff_median"], f"at_{side}_p05": r["diff_p05"],
                        f"at_{side}_p95": r["diff_p95"]}
            row["swing"] = row["at_high_median"] - row["at_low_median"]
            rows.append(row)
    return pd.DataFrame(rows)


def _effect(median: float, low: float, high: float) -> str:
    """A paired difference: median (90 % interval), rounded to what the runs support."""
    values = np.array([median, low, high], dtype=float)
    if not np.isfinite(values).all():
        return "-"
    if high > low:
        values = round_to_support(values, low, high)
    m, lo, hi = values
    return f"{'+' if m > 0 else ''}{m:,.0f} ({lo:,.0f} to {hi:,.0f})"


def _value(x: float) -> str:
    return f"{x:g}"


def _swing(x: float) -> str:
    """A swing to two significant figures: it is the difference of two medians of a few
    dozen runs."""
    if not np.isfinite(x) or x == 0:
        return "0"
    rounded = float(f"{x:.2g}")
    return f"{'+' if rounded > 0 else ''}{rounded:,.0f}"


def headline_rows(effects: pd.DataFrame, baseline: str) -> list[str]:
    """Per policy: its effect, and the assumption that moves it most with the effect at that
    assumption's low and high value."""
    lines = ["| Policy | Effect | Rests most on | Effect at low ... high |",
             "| --- | ---: | --- | ---: |"]
    for scenario, rows in effects.groupby("scenario", sort=False):
        if scenario == baseline:
            continue
        top = rows.loc[rows["swing"].abs().idxmax()]
        lines.append(
            f"| {top['scenario_label']} "
            f"| {_effect(top['effect_median'], top['effect_p05'], top['effect_p95'])} "
            f"| `{top['assumption']}` = {_value(top['value'])} "
            f"| {_effect(top['at_low_median'], top['at_low_p05'], top['at_low_p95'])} at "
            f"{_value(top['low'])} ... "
            f"{_effect(top['at_high_median'], top['at_high_p05'], top['at_high_p95'])} at "
            f"{_value(top['high'])} |")
    return lines


def assumptions_markdown(effects: pd.DataFrame, assumptions: list[Assumption],
                         meta: dict) -> str:
    """Each policy's effect with every assumption beside it: its value, whether it is
    calibrated, and the effect at its low and high value."""
    baseline = meta["baseline"]
    lines = [
        f"# What the policies' effects rest on: {meta['name']}",
        "",
        f"Effect = change in '{meta['outcome_label']}' from '{meta['baseline_label']}', paired "
        f"by seed: median over {meta['n_seeds']} seeds (90 % interval), population scale "
        f"{meta['scale']}. {meta['parameters']} Each assumption below is a fixed value no "
        "count constrains; the comparison was re-run with it at a low and a high value (the "
        "others as configured, the same seeds and particles), so the spread between those "
        "columns is what the assumption alone can move.",
        "",
        *headline_rows(effects, baseline),
        "",
        "## The assumptions",
        "",
        "| assumption | value | low | high | calibrated | what it means |",
        "| --- | ---: | ---: | ---: | --- | --- |",
    ]
    for a in assumptions:
        status = "yes (its point; no posterior used)" if a.calibrated else "no, fixed"
        lines.append(f"| `{a.path}` | {_value(a.value)} | {_value(a.low)} | {_value(a.high)} "
                     f"| {status} | {' '.join(a.why.split())} |")
    lines += ["", "## Effects and what they rest on", ""]
    for scenario, rows in effects.groupby("scenario", sort=False):
        if scenario == baseline:
            continue
        first = rows.iloc[0]
        lines += [f"### {first['scenario_label']}: "
                  f"{_effect(first['effect_median'], first['effect_p05'], first['effect_p95'])}",
                  "",
                  "| rests on | value | effect at low | effect at high | swing |",
                  "| --- | ---: | ---: | ---: | ---: |"]
        for _, r in rows.reindex(rows["swing"].abs().sort_values(ascending=False).index
                                 ).iterrows():
            swing = _swing(r["swing"])
            lines.append(
                f"| `{r['assumption']}` | {_value(r['value'])} "
                f"| {_effect(r['at_low_median'], r['at_low_p05'], r['at_low_p95'])} at "
                f"{_value(r['low'])} "
                f"| {_effect(r['at_high_median'], r['at_high_p05'], r['at_high_p95'])} at "
                f"{_value(r['high'])} | {swing} |")
        lines.append("")
    lines += ["swing: the effect's median at the high value minus at the low value. Files: "
              "assumptions.csv (this table), comparison/ (the comparison at the configured "
              "values), settings/<assumption>_<low|high>.csv (each re-run's comparison.csv).",
              ""]
    return "\n".join(lines)


def run_assumptions(cfg: DictConfig) -> Path:
    """Run every setting's comparison and write the report folder; returns it."""
    assumptions = assumptions_from(cfg)
    outcome = str(cfg.outcome)
    name, root = str(cfg.name), Path(str(cfg.output_root))
    parts = root / f".{name}.settings"  # each setting's comparison folder until the report
    tables, folders = {}, {}
    for label, extra in settings_of(assumptions):
        sub = copy.deepcopy(cfg)
        sub.name, sub.output_root = label, str(parts)
        sub.model_overrides = [*cfg.model_overrides, *extra]
        sub.plots = bool(cfg.plots) and label == CENTRAL
        folders[label] = compare(sub)
        tables[label] = pd.read_csv(folders[label] / "comparison.csv")
    if outcome not in set(tables[CENTRAL]["outcome"]):
        raise ConfigError("outcome", f"'{outcome}' is not an outcome of the comparison; "
                          f"expected one of {sorted(set(tables[CENTRAL]['outcome']))}")
    effects = effects_table(tables, assumptions, outcome)
    central = tables[CENTRAL]
    row = central[(central["outcome"] == outcome)].iloc[0]
    base = central[central["scenario"] == str(cfg.baseline)].iloc[0]
    meta = {
        "name": name, "outcome_label": row["outcome_label"], "baseline": str(cfg.baseline),
        "baseline_label": base["scenario_label"], "n_seeds": int(row["n_seeds"]),
        "scale": float(cfg.scale),
        "parameters": (f"Calibrated parameters: posterior particles of {cfg.posterior} "
                       "(their uncertainty is in every interval)." if cfg.get("posterior")
                       else "Calibrated parameters: the configured point; the intervals are "
                       "seed noise only."),
    }
    with atomic_folder(root / name) as tmp:
        shutil.copytree(folders[CENTRAL], tmp / "comparison")
        (tmp / "settings").mkdir()
        for label, table in tables.items():
            if label != CENTRAL:
                table.to_csv(tmp / "settings" / f"{label}.csv", index=False,
                             float_format="%.6g")
        effects.to_csv(tmp / "assumptions.csv", index=False, float_format="%.6g")
        (tmp / "assumptions.md").write_text(assumptions_markdown(effects, assumptions, meta),
                                            encoding="utf-8")
        OmegaConf.save(cfg, tmp / "config.yaml", resolve=True)
    shutil.rmtree(parts, ignore_errors=True)
    return root / name
