"""Which parameters drive the outcomes: Morris screening, then Sobol indices for the few that do.

    python -m experiments.sensitivity                       # conf/experiment/sensitivity.yaml
    python -m experiments.sensitivity scale=0.002 morris.trajectories=4 sobol.top=2

Morris elementary effects (SALib) rank every parameter of `parameters` (ranges in the config) by
mu* (mean absolute effect) and sigma (non-linearity and interactions) at a cost of
trajectories x (k + 1) runs. The `sobol.top` parameters with the largest normalised mu* over all
outcomes then get first-order and total Sobol indices (Saltelli/Sobol' sampling, n_base x
(top + 2) runs), the others staying at their configured values. Every sample runs with the same
seeds (common random numbers), so differences between samples are the parameters' doing rather
than the dice's.

The report folder (results/sensitivity/NAME) appears whole or not at all: morris.csv,
sobol.csv, samples_*.csv, morris.png, sobol.png, summary.md and the configuration used.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf

import analysis.config  # noqa: F401 - registers the config schemas
from calibration.parameters import load_parameters, ranges_of
from calibration.paths import project_path
from sim.atomic import atomic_folder
from sim.config import SimConfig, load_config, to_sim_config
from sim.dotted import get_path, set_path
from sim.errors import ConfigError
from sim.parallel import (
    ParallelConfig,
    as_parallel_config,
    describe,
    run_batched,
    tables_for,
    world_for,
)
from sim.results import OUTCOME_LABELS

log = logging.getLogger("analysis.sensitivity")


@dataclass(frozen=True)
class Parameter:
    name: str  # dotted path in the simulation config, e.g. behaviour.beta_wait
    low: float
    high: float


@dataclass(frozen=True)
class SampleJob:
    design: str  # morris / sobol
    index: int  # row of the design matrix
    seed: int
    config: SimConfig


# ---- parameters ---------------------------------------------------------------------------------
def parameters_from(cfg: DictConfig, base: SimConfig) -> list[Parameter]:
    """The parameters to vary, each checked to be a number in the simulation config. An entry
    without `low` and `high` takes the range of the calibration's prior for the same field
    (`priors`, conf/calibration/parameters.yaml), so the two cannot drift apart."""
    priors: dict[str, tuple[float, float]] = {}
    if cfg.get("priors"):
        priors = ranges_of(load_parameters(OmegaConf.load(project_path(str(cfg.priors)))
                                           .parameters))
    params = []
    for i, item in enumerate(cfg.parameters):
        name = str(item.name)
        if item.get("low") is None or item.get("high") is None:
            if name not in priors:
                raise ConfigError(f"parameters[{i}]", f"{name}: give low and high (no prior "
                                  f"for it in {cfg.get('priors')})")
            low, high = priors[name]
        else:
            low, high = float(item.low), float(item.high)
        if not low < high:
            raise ConfigError(f"parameters[{i}]", f"{name}: low {low} must be below high {high}")
        current = _get(base, name)
        if isinstance(current, bool) or not isinstance(current, int | float):
            raise ConfigError(f"parameters[{i}]", f"{name} is not a number in the simulation "
                              f"config (it is {current!r})")
        params.append(Parameter(name, low, high))
    names = [p.name for p in params]
    if len(set(names)) != len(names) or len(params) < 2:
        raise ConfigError("parameters", "give at least two parameters, each once")
    return params


def _get(cfg: Any, path: str) -> Any:
    try:
        return get_path(cfg, path)
    except KeyError:
        raise ConfigError("parameters", f"'{path}' is not a field of the simulation config"
                          ) from None


def with_values(base: SimConfig, names: list[str], values: np.ndarray) -> SimConfig:
    """A validated copy of `base` with the named fields set (integers rounded)."""
    cfg = copy.deepcopy(base)
    for name, value in zip(names, values, strict=True):
        set_path(cfg, name, round(value) if isinstance(get_path(cfg, name), int) else
                 float(value))
    return to_sim_config(cfg)


# ---- running a design ---------------------------------------------------------------------------
def run_sample(job: SampleJob) -> dict[str, Any]:
    return run_samples([job])[0]


def run_samples(jobs: list[SampleJob]) -> list[dict[str, Any]]:
    """A batch of samples, stepped together (`sim.batch.run_members`)."""
    from sim.batch import Member, run_members

    runs = run_members([Member(j.config, world_for(j.config.network)) for j in jobs])
    rows = []
    for job, run in zip(jobs, runs, strict=True):
        result = run.results.outcomes()
        values = dict(result["outcomes"])
        values.update({f"entered_{c}": v for c, v in result["destinations"].items()})
        rows.append({"design": job.design, "index": job.index, "seed": job.seed, **values})
    return rows


def evaluate(design: str, X: np.ndarray, names: list[str], base: SimConfig, seeds: list[int],
             outcomes: list[str], parallel: ParallelConfig, progress: bool) -> pd.DataFrame:
    """Run every row of the design matrix with every seed; outcome = mean over seeds."""
    jobs = []
    for i, row in enumerate(X):
        cfg = with_values(base, names, row)
        jobs.extend(SampleJob(design, i, s, dataclasses.replace(cfg, seed=s)) for s in seeds)
    rows = run_batched(run_samples, jobs, parallel, desc=f"{design} samples",
                       progress=progress)
    frame = pd.DataFrame(rows)
    mean = frame.groupby("index")[outcomes].mean().sort_index()
    samples = pd.DataFrame(X, columns=names)
    return pd.concat([samples, mean.reset_index(drop=True)], axis=1)


def morris_screening(params: list[Parameter], base: SimConfig, cfg: DictConfig,
                     outcomes: list[str], parallel: ParallelConfig
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Elementary effects of every parameter on every outcome; returns (indices, samples)."""
    from SALib.analyze import morris as morris_analyze
    from SALib.sample import morris as morris_sample

    problem = _problem(params)
    levels, seed = int(cfg.morris.levels), int(cfg.morris.seed)
    X = morris_sample.sample(problem, N=int(cfg.morris.trajectories), num_levels=levels,
                             seed=seed)
    samples = evaluate("morris", X, problem["names"], base, _seeds(cfg), outcomes, parallel,
                       bool(cfg.progress))
    rows = []
    for out in outcomes:
        y = samples[out].to_numpy(float)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a constant outcome: all effects 0
            res = morris_analyze.analyze(problem, X, y, num_levels=levels, seed=seed,
                                         print_to_console=False)
        top = np.nanmax(res["mu_star"]) if np.any(np.isfinite(res["mu_star"])) else 0.0
        for j, name in enumerate(problem["names"]):
            mu_star = float(res["mu_star"][j])
            rows.append({"outcome": out, "parameter": name, "mu": float(res["mu"][j]),
                         "mu_star": mu_star, "sigma": float(res["sigma"][j]),
                         "mu_star_conf": float(res["mu_star_conf"][j]),
                         "mu_star_normalised": mu_star / top if top > 0 else 0.0})
    table = pd.DataFrame(rows)
    table["rank"] = table.groupby("outcome")["mu_star"].rank(ascending=False, method="min")
    return table, samples


def select_influential(morris: pd.DataFrame, top: int) -> list[str]:
    """The `top` parameters with the largest mu* relative to the strongest, on any outcome."""
    score = morris.groupby("parameter")["mu_star_normalised"].max().sort_values(ascending=False)
    return [str(p) for p in score.index[:top]]


def sobol_indices(params: list[Parameter], chosen: list[str], base: SimConfig, cfg: DictConfig,
                  outcomes: list[str], parallel: ParallelConfig
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """First-order and total Sobol indices of the chosen parameters; (indices, samples)."""
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import sobol as sobol_sample

    problem = _problem([p for p in params if p.name in chosen])
    second = bool(cfg.sobol.second_order)
    seed = int(cfg.sobol.seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # n_base not a power of 2: still valid
        X = sobol_sample.sample(problem, int(cfg.sobol.n_base), calc_second_order=second,
                                seed=seed)
    samples = evaluate("sobol", X, problem["names"], base, _seeds(cfg), outcomes, parallel,
                       bool(cfg.progress))
    rows = []
    for out in outcomes:
        y = samples[out].to_numpy(float)
        if not np.all(np.isfinite(y)) or np.ptp(y) == 0:
            res = {k: np.full(problem["num_vars"], np.nan)
                   for k in ("S1", "S1_conf", "ST", "ST_conf")}
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                res = sobol_analyze.analyze(problem, y, calc_second_order=second, seed=seed,
                                            print_to_console=False)
        for j, name in enumerate(problem["names"]):
            rows.append({"outcome": out, "parameter": name,
                         **{k: float(res[k][j]) for k in ("S1", "S1_conf", "ST", "ST_conf")}})
    return pd.DataFrame(rows), samples


def _problem(params: list[Parameter]) -> dict[str, Any]:
    return {"num_vars": len(params), "names": [p.name for p in params],
            "bounds": [[p.low, p.high] for p in params]}


def _seeds(cfg: DictConfig) -> list[int]:
    seeds = [int(s) for s in cfg.seeds]
    if not seeds:
        raise ConfigError("seeds", "need at least one seed")
    return seeds


# ---- report -------------------------------------------------------------------------------------
def outcome_labels(outcomes: list[str], countries: dict[str, str]) -> dict[str, str]:
    """Readable names of the outcomes (countries by name)."""
    labels = {}
    for out in outcomes:
        if out.startswith("entered_"):
            code = out.removeprefix("entered_")
            labels[out] = f"Entered {countries.get(code, code)}"
        else:
            labels[out] = OUTCOME_LABELS.get(out, out)
    return labels


def _grid(table: pd.DataFrame, values: str) -> pd.DataFrame:
    """parameter x outcome, outcomes in the config's order."""
    grid = table.pivot(index="parameter", columns="outcome", values=values)
    return grid[list(dict.fromkeys(table.outcome))]


def plot_morris(path: Path, morris: pd.DataFrame, labels: dict[str, str]) -> None:
    """Heat map of normalised mu*: which parameter moves which outcome."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid = _grid(morris, "mu_star_normalised")
    grid = grid.loc[grid.max(axis=1).sort_values(ascending=False).index]
    fig, ax = plt.subplots(figsize=(1.2 * grid.shape[1] + 3.5, 0.42 * grid.shape[0] + 1.8))
    im = ax.imshow(grid.to_numpy(), cmap="Blues", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(grid.shape[1]), [labels[c] for c in grid.columns], rotation=35,
                  ha="right", fontsize=8)
    ax.set_yticks(range(grid.shape[0]), grid.index, fontsize=8)
    for (i, j), v in np.ndenumerate(grid.to_numpy()):
        ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7,
                color="white" if v > 0.6 else "black")
    fig.colorbar(im, ax=ax, label="mu* relative to the strongest parameter")
    ax.set_title("Morris screening: how strongly each parameter moves each outcome")
    fig.savefig(path, dpi=130, bbox_inches="tight")
    plt.close(fig)


def plot_sobol(path: Path, sobol: pd.DataFrame, labels: dict[str, str]) -> None:
    """First-order and total indices with their confidence intervals, one panel per outcome."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    outcomes = list(sobol.outcome.unique())
    ncols = min(3, len(outcomes))
    nrows = int(np.ceil(len(outcomes) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.0 * nrows), squeeze=False,
                             sharey=True)
    for ax, out in zip(axes.flat, outcomes, strict=False):
        rows = sobol[sobol.outcome == out]
        x = np.arange(len(rows))
        ax.bar(x - 0.2, rows.S1, width=0.4, yerr=rows.S1_conf, label="alone (first order)",
               color="tab:blue", capsize=2)
        ax.bar(x + 0.2, rows.ST, width=0.4, yerr=rows.ST_conf,
               label="with interactions (total)", color="tab:orange", capsize=2)
        ax.set_xticks(x, [p.split(".")[-1] for p in rows.parameter], rotation=30, ha="right",
                      fontsize=8)
        ax.set_title(labels[out], fontsize=9)
        # never clip: an index below 0 or above 1, or a wide interval, is an estimate too noisy
        # to read (too few samples), and the reader must see it
        low = min(0.0, float(np.nanmin(rows.S1 - rows.S1_conf)))
        high = max(1.05, float(np.nanmax(rows.ST + rows.ST_conf)) + 0.05)
        ax.set_ylim(low, high)
        ax.axhline(0, color="black", lw=0.6)
        ax.axhline(1, color="grey", lw=0.6, ls=":")
        ax.grid(axis="y", alpha=0.3)
    for ax in axes.flat[len(outcomes):]:
        ax.set_visible(False)
    axes[0][0].set_ylabel("Share of the outcome's variance")
    handles, names = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=2, frameon=False,
               bbox_to_anchor=(0.5, -0.03))
    fig.suptitle("Sobol indices: share of each outcome's variance due to each parameter")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    fig.savefig(path, dpi=130, bbox_inches="tight")
    plt.close(fig)


def summary_markdown(morris: pd.DataFrame, sobol: pd.DataFrame | None, chosen: list[str],
                     meta: dict[str, Any], labels: dict[str, str]) -> str:
    lines = [
        f"# Sensitivity analysis: {meta['name']}",
        "",
        f"Policy {meta['policy']}, population scale {meta['scale']}, seeds {meta['seeds']} "
        f"(the same for every sample); {meta['runs']} runs in {meta['seconds']:.0f} s on "
        f"{meta['workers']}.",
        "",
        "## Morris screening (mu* relative to the strongest parameter, per outcome)",
        "",
    ]
    grid = _grid(morris, "mu_star_normalised")
    grid = grid.loc[grid.max(axis=1).sort_values(ascending=False).index]
    lines.append("| Parameter | " + " | ".join(labels[c] for c in grid.columns) + " |")
    lines.append("| --- | " + " | ".join("---:" for _ in grid.columns) + " |")
    for name, row in grid.iterrows():
        lines.append(f"| {name} | " + " | ".join(f"{v:.2f}" for v in row) + " |")
    lines += ["", f"Chosen for Sobol indices: {', '.join(chosen) if chosen else 'none'}.", ""]
    if sobol is not None and not sobol.empty:
        lines += ["## Sobol indices (total, with first order in brackets)", ""]
        st, s1 = _grid(sobol, "ST"), _grid(sobol, "S1")
        lines.append("| Parameter | " + " | ".join(labels[c] for c in st.columns) + " |")
        lines.append("| --- | " + " | ".join("---:" for _ in st.columns) + " |")
        for name in st.index:
            cells = [f"{st.loc[name, c]:.2f} ({s1.loc[name, c]:.2f})" for c in st.columns]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
        lines += sobol_warnings(sobol, labels)
    return "\n".join(lines)


SOBOL_WIDE = 0.2  # a 95 % half-width above this cannot separate a weak parameter from a strong


def sobol_warnings(sobol: pd.DataFrame, labels: dict[str, str]) -> list[str]:
    """Lines naming the indices that are outside [0, 1] or whose confidence interval is wide:
    the sample is too small for them, and they must not be read as shares of variance."""
    notes = []
    for _, r in sobol.iterrows():
        for key in ("S1", "ST"):
            value, conf = float(r[key]), float(r[f"{key}_conf"])
            problems = []
            if not 0.0 <= value <= 1.0:
                problems.append("outside [0, 1]")
            if conf > SOBOL_WIDE:
                problems.append(f"95 % interval ±{conf:.2f}")
            if problems:
                notes.append(f"- {r['parameter']} on {labels.get(r['outcome'], r['outcome'])}: "
                             f"{key} = {value:.2f}, {' and '.join(problems)}")
    if not notes:
        return ["Every index lies in [0, 1] with a 95 % half-width below "
                f"{SOBOL_WIDE:.1f}.", ""]
    return ["**Not to be read as shares of variance** (too few samples for these indices; "
            "raise the Sobol sample size):", "", *notes, ""]


def sensitivity(cfg: DictConfig) -> Path:
    """Run the analysis described by `cfg` (conf/experiment/sensitivity.yaml); returns the
    report folder."""
    started = time.perf_counter()
    parallel = as_parallel_config(cfg.parallel)
    overrides = [f"policy={cfg.base_policy}", f"population.scale={cfg.scale}", "progress=false",
                 *[str(o) for o in cfg.model_overrides]]
    try:
        base = load_config(overrides)
    except HydraException as err:
        raise ConfigError("model_overrides", str(err)) from None
    params = parameters_from(cfg, base)
    outcomes = [str(o) for o in cfg.outcomes]
    known = [*OUTCOME_LABELS, *(f"entered_{c}" for c in world_for(base.network).country_ids)]
    unknown = [o for o in outcomes if o not in known]
    if unknown or not outcomes:
        raise ConfigError("outcomes", f"unknown outcomes {unknown}; known: {known}")
    morris, morris_samples = morris_screening(params, base, cfg, outcomes, parallel)
    chosen = select_influential(morris, int(cfg.sobol.top))
    sobol, sobol_samples = (sobol_indices(params, chosen, base, cfg, outcomes, parallel)
                            if len(chosen) >= 2 else (None, None))
    seconds = time.perf_counter() - started
    runs = len(morris_samples) * len(cfg.seeds) + (
        0 if sobol_samples is None else len(sobol_samples) * len(cfg.seeds))
    meta = {"name": str(cfg.name), "policy": str(cfg.base_policy), "scale": float(cfg.scale),
            "seeds": [int(s) for s in cfg.seeds], "runs": runs, "seconds": seconds,
            "workers": describe(parallel)}
    countries = tables_for(base.network.data_dir).countries["name"]
    labels = outcome_labels(outcomes, {str(k): str(v) for k, v in countries.items()})
    folder = Path(str(cfg.output_root)) / str(cfg.name)
    with atomic_folder(folder) as tmp:
        morris.to_csv(tmp / "morris.csv", index=False, float_format="%.6g")
        morris_samples.to_csv(tmp / "samples_morris.csv", index=False, float_format="%.6g")
        plot_morris(tmp / "morris.png", morris, labels)
        if sobol is not None and sobol_samples is not None:
            sobol.to_csv(tmp / "sobol.csv", index=False, float_format="%.6g")
            sobol_samples.to_csv(tmp / "samples_sobol.csv", index=False, float_format="%.6g")
            plot_sobol(tmp / "sobol.png", sobol, labels)
        (tmp / "summary.md").write_text(summary_markdown(morris, sobol, chosen, meta, labels),
                                        encoding="utf-8")
        OmegaConf.save(cfg, tmp / "config.yaml", resolve=True)
    log.info("%d runs in %.0f s; report in %s", runs, seconds, folder)
    return folder
