"""Compare policies: every scenario x the same seeds, then medians, intervals, paired differences.

    python -m experiments.compare_policies                      # the catalogue, 20 seeds
    python -m experiments.compare_policies policies=[open,historical,russia_closes] seeds=5
    python -m experiments.compare_policies --config-name experiment/compare_close_day

Configuration: conf/experiment/compare.yaml. Every scenario runs with the same seeds (common
random numbers: `sim.member.random_streams`, or with `draws: keyed` draws keyed by place,
`sim.keyed`), so the difference between a scenario and the baseline in one seed is the policy's
effect plus much less noise than the difference between independent runs; the report gives
the median and the 90 % interval of those paired differences over seeds. Runs go to
`parallel` (local processes, or a Dask or Ray cluster: `sim.parallel.run_many`), each worker
building the World once.

The report folder (results/comparisons/NAME) appears whole or not at all: comparison.csv,
runs.csv, daily.csv, plots, summary.md, and the configuration used.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import datetime as dt
import json
import logging
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from hydra.errors import HydraException
from omegaconf import DictConfig, ListConfig, OmegaConf

import analysis.config  # noqa: F401 - registers the config schemas
from sim.atomic import atomic_file, atomic_folder
from sim.config import CONF_DIR, SimConfig, load_config, parse_date
from sim.dotted import set_path
from sim.errors import ConfigError
from sim.fingerprint import fingerprint
from sim.parallel import as_parallel_config, describe, run_many, world_for
from sim.path_names import check_name, confined
from sim.posterior import Posterior
from sim.results import DAILY_SERIES, OUTCOMES, Outcome, round_to_support
from sim.validation import check_writable

log = logging.getLogger("analysis.comparison")

POLICY_DIR = CONF_DIR / "policy"
@dataclass(frozen=True)
class Scenario:
    """A named configuration: a policy file and any further overrides of the simulation."""

    name: str
    label: str
    overrides: tuple[str, ...]


@dataclass(frozen=True)
class Job:
    scenario: str
    seed: int
    config: SimConfig
    particle: int = -1  # the posterior particle's row, or -1: the configured parameters


# ---- what to run --------------------------------------------------------------------------------
def catalogue() -> list[str]:
    """Every policy file in conf/policy/, the baseline-like ones first."""
    names = sorted(p.stem for p in POLICY_DIR.glob("*.yaml"))
    first = [n for n in ("open", "historical") if n in names]
    return first + [n for n in names if n not in first]


def _label(name: str, labels: dict[str, str]) -> str:
    return labels.get(name) or name.replace("_", " ").capitalize()


def scenarios_from(cfg: DictConfig) -> list[Scenario]:
    """The scenarios of the experiment config: policies (a list, or `all` = the catalogue), the
    named variants, and the baseline (added if missing: every difference is taken from it)."""
    labels = dict(cfg.get("labels") or {})
    policies = cfg.policies
    if isinstance(policies, str):
        if policies != "all":
            raise ConfigError("policies", f"'{policies}': give a list of policy names or 'all'")
        names = catalogue()
    else:
        names = [str(p) for p in policies]
    scenarios = [Scenario(n, _label(n, labels), (f"policy={n}",)) for n in names]
    for name, overrides in (cfg.get("variants") or {}).items():
        if not isinstance(overrides, ListConfig | list):
            raise ConfigError(f"variants.{name}", "give a list of overrides, e.g. "
                              "[policy=russia_closes, policy.actions.0.start=2022-09-23]")
        scenarios.append(Scenario(str(name), _label(str(name), labels),
                                  tuple(str(o) for o in overrides)))
    seen = [s.name for s in scenarios]
    duplicates = sorted({n for n in seen if seen.count(n) > 1})
    if duplicates:
        raise ConfigError("policies", f"scenario names given twice: {duplicates}")
    if cfg.baseline not in seen:
        base = str(cfg.baseline)
        scenarios.insert(0, Scenario(base, _label(base, labels), (f"policy={base}",)))
    return scenarios


def seeds_from(cfg: DictConfig) -> list[int]:
    """`seeds: 20` means 20 seeds from `first_seed`; a list is taken as it is."""
    try:
        if isinstance(cfg.seeds, ListConfig | list):
            seeds = [int(s) for s in cfg.seeds]
        else:
            seeds = list(range(int(cfg.first_seed), int(cfg.first_seed) + int(cfg.seeds)))
    except (TypeError, ValueError):
        raise ConfigError("seeds", f"{cfg.seeds!r} is neither a number of seeds nor a list of "
                          "seeds") from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise ConfigError("seeds", f"{seeds}: need at least one seed, none repeated")
    return seeds


def posterior_draws(path: str | Path, parameters: str | Path, n: int,
                    seed: int) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """n particles drawn from a calibration's posterior.csv the one way every ensemble draws
    them (`sim.posterior.Posterior.draw`: the command line and the page draw the same for the
    same runs and first seed), with their rows in `particle`, and the (column, config path) of
    every model parameter in it (conf/calibration/parameters.yaml)."""
    posterior = Posterior.read(path, parameters)
    rows = posterior.draw(n, seed)
    draws = posterior.table.iloc[rows].reset_index(drop=True)
    draws.insert(0, "particle", rows)
    return draws, list(posterior.paths.items())


def build_jobs(scenarios: list[Scenario], seeds: list[int], scale: float,
               model_overrides: list[str], draws: pd.DataFrame | None = None,
               columns: list[tuple[str, str]] | None = None) -> list[Job]:
    """Compose and check every scenario once (bad input stops here, before any run), then one
    job per scenario and seed, seed-major so that partial progress covers every scenario. With
    posterior `draws`, the i-th seed runs the i-th particle under every scenario: the paired
    differences then carry the parameters' uncertainty and still share random numbers."""
    from sim.policy import compile_policy
    from sim.population import make_strata

    configs: dict[str, SimConfig] = {}
    for sc in scenarios:
        overrides = [f"population.scale={scale}", "progress=false", *model_overrides,
                     *sc.overrides]
        try:
            cfg = load_config(overrides)
        except HydraException as err:
            raise ConfigError(f"scenario {sc.name}", str(err)) from None
        world = world_for(cfg.network)
        compile_policy(cfg.policy, world, make_strata(list(cfg.population.age_bands)),
                       parse_date(cfg.start, "start"), parse_date(cfg.end, "end"))
        configs[sc.name] = cfg
    if draws is None:
        return [Job(sc.name, seed, dataclasses.replace(configs[sc.name], seed=seed))
                for seed in seeds for sc in scenarios]
    jobs = []
    for i, seed in enumerate(seeds):
        row = draws.iloc[i]
        for sc in scenarios:
            config = copy.deepcopy(dataclasses.replace(configs[sc.name], seed=seed))
            for name, path in columns or []:
                set_path(config, path, float(row[name]))
            jobs.append(Job(sc.name, seed, config, int(row["particle"])))
    return jobs


def read_data_yaml(path: Path, field: str) -> DictConfig:
    """A YAML file the user names, read as data: safe loader, no `${` (nothing resolved)."""
    import yaml

    from sim.policy_file import reject_interpolation

    try:
        content = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(field, f"{path}: {str(err).splitlines()[0]}") from None
    reject_interpolation(content, f"{field} ({path})")
    if not isinstance(content, dict):
        raise ConfigError(field, f"{path} holds no mapping")
    return OmegaConf.create(content)


# ---- one run ------------------------------------------------------------------------------------
def run_job(job: Job) -> dict[str, Any]:
    """Run one scenario and seed on this process's World; return its outcomes and series."""
    return run_jobs([job])[0]


def run_jobs(jobs: list[Job]) -> list[dict[str, Any]]:
    """`run_job` for a batch of jobs, stepped together (`sim.batch.run_members`)."""
    from sim.batch import Member, run_members

    runs = run_members([Member(j.config, world_for(j.config.network)) for j in jobs])
    return [{"scenario": j.scenario, "seed": j.seed, "particle": j.particle,
             **run.results.outcomes()} for j, run in zip(jobs, runs, strict=True)]


# Resumable runs: each run's result is stored as it finishes, under the report's name, so a
# comparison killed after hours loses only the runs in hand and its re-run (same name) computes
# only the rest. The store is JSON, read back as data and checked: a file planted or damaged
# there is recomputed, never executed (no pickle).
STORE_VERSION = 1


def job_key(job: Job) -> str:
    """What a stored result must match: the job's full config, the input data and the code."""
    from sim.provenance import code_version

    return fingerprint([repr(job), code_version()], job.config.network.data_dir)[:20]


def stored_path(job: Job, store: str | Path) -> Path:
    return Path(store) / f"{job.scenario}_seed{job.seed}_{job_key(job)}.json"


def _to_json(result: dict[str, Any], key: str) -> str:
    series = {name: [float(v) for v in np.asarray(values, dtype=float)]
              for name, values in result["series"].items()}
    return json.dumps({"version": STORE_VERSION, "key": key, **result, "series": series})


def read_stored(path: Path, job: Job) -> dict[str, Any] | None:
    """The result stored for `job`, or None when there is none or it is not one (damaged,
    planted, of another job): then the job runs again and its result replaces the file."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    try:
        if (value.get("version") != STORE_VERSION or value.get("key") != job_key(job)
                or value.get("scenario") != job.scenario or value.get("seed") != job.seed):
            return None
        outcomes = {str(k): float(v) for k, v in value["outcomes"].items()}
        destinations = {str(k): float(v) for k, v in value["destinations"].items()}
        dates = [str(d) for d in value["dates"]]
        series = {name: np.asarray(value["series"][name], dtype=float)
                  for name in DAILY_SERIES}
    except (AttributeError, KeyError, TypeError, ValueError):
        return None
    if set(outcomes) != {o.key for o in OUTCOMES} or any(len(v) != len(dates)
                                                         for v in series.values()):
        return None
    return {"scenario": job.scenario, "seed": job.seed, "particle": int(value["particle"]),
            "outcomes": outcomes, "destinations": destinations, "dates": dates,
            "series": series}


def run_stored(item: tuple[Job, str]) -> dict[str, Any]:
    """`run_job`, or the result an interrupted earlier call stored for the same job."""
    job, store = item
    path = stored_path(job, store)
    stored = read_stored(path, job)
    if stored is not None:
        return stored
    result = run_job(job)
    with atomic_file(path) as fh:  # never a half-written result
        fh.write(_to_json(result, job_key(job)))
    return result


def remove_store(store: Path, jobs: list[Job]) -> None:
    """After the report: the stored results of these jobs, then the folder if nothing else is
    in it (a file this command did not write there is left alone)."""
    for job in jobs:
        stored_path(job, store).unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        store.rmdir()


def check_settings(cfg: DictConfig) -> None:
    """The comparison's own settings, before any folder exists: a plain report name under
    `output_root`, seeds, the scenarios' names."""
    confined(Path(str(cfg.output_root)), cfg.name, "name")
    seeds_from(cfg)
    for scenario in scenarios_from(cfg):
        check_name(scenario.name, f"scenario '{scenario.name}'")


# ---- tables -------------------------------------------------------------------------------------
def quantiles(values: Any, probs: tuple[float, ...] = (0.05, 0.5, 0.95)) -> list[float]:
    """Empirical quantiles (linear interpolation), NaN when there are no values."""
    arr = np.asarray(list(values), dtype=float)
    arr = arr[~np.isnan(arr)]
    if arr.size == 0:
        return [float("nan")] * len(probs)
    return [float(q) for q in np.quantile(arr, probs)]


def runs_table(results: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per scenario and seed: every outcome, and entries by destination."""
    rows = []
    for r in results:
        row = {"scenario": r["scenario"], "seed": r["seed"], "particle": r.get("particle", -1),
               **r["outcomes"]}
        row.update({f"entered_{c}": v for c, v in r["destinations"].items()})
        rows.append(row)
    return pd.DataFrame(rows)


def destination_outcomes(runs: pd.DataFrame, names: dict[str, str]) -> list[Outcome]:
    """One outcome per destination that anyone entered, in any scenario."""
    cols = [c for c in runs.columns if c.startswith("entered_")]
    totals = runs[cols].sum().sort_values(ascending=False)
    return [Outcome(c, f"Entered {names.get(c.removeprefix('entered_'), c)}", "people")
            for c in totals.index if totals[c] > 0]


def comparison_table(runs: pd.DataFrame, scenarios: list[Scenario], baseline: str,
                     outcomes: list[Outcome]) -> pd.DataFrame:
    """Per scenario and outcome: median and 90 % interval over seeds, and the same for the
    paired difference from the baseline (same seed: common random numbers)."""
    base = runs[runs.scenario == baseline].set_index("seed")
    rows = []
    for sc in scenarios:
        own = runs[runs.scenario == sc.name].set_index("seed")
        paired = own.index.intersection(base.index)
        for out in outcomes:
            lo, mid, hi = quantiles(own[out.key])
            diff = own.loc[paired, out.key] - base.loc[paired, out.key]
            d_lo, d_mid, d_hi = quantiles(diff)
            rows.append({
                "scenario": sc.name, "scenario_label": sc.label,
                "outcome": out.key, "outcome_label": out.label, "unit": out.unit,
                "median": mid, "p05": lo, "p95": hi,
                "baseline": baseline,
                "diff_median": d_mid, "diff_p05": d_lo, "diff_p95": d_hi,
                "n_seeds": int(own[out.key].notna().sum()),
            })
    return pd.DataFrame(rows)


def daily_bands(results: list[dict[str, Any]]) -> pd.DataFrame:
    """Per scenario, series and day: median and 90 % band over seeds (tidy)."""
    frames = []
    scenarios = list(dict.fromkeys(r["scenario"] for r in results))
    dates = pd.to_datetime(results[0]["dates"])
    for sc in scenarios:
        runs = [r for r in results if r["scenario"] == sc]
        for series in DAILY_SERIES:
            stack = np.vstack([r["series"][series] for r in runs])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN days: nobody crossed
                q = np.nanquantile(stack, [0.05, 0.5, 0.95], axis=0)
            frames.append(pd.DataFrame({"scenario": sc, "series": series, "date": dates,
                                        "p05": q[0], "median": q[1], "p95": q[2]}))
    return pd.concat(frames, ignore_index=True)


def _fmt(value: float, unit: str) -> str:
    if not np.isfinite(value):
        return "–"
    if unit == "days":
        return f"{value:.1f}"
    return f"{value:,.0f}"


def _with_interval(row: pd.Series, prefix: str = "") -> str:
    """Median (90 % interval), rounded to what the runs support (a tenth of the interval)."""
    unit = row["unit"]
    mid, lo, hi = row[f"{prefix}median"], row[f"{prefix}p05"], row[f"{prefix}p95"]
    if unit != "days" and np.isfinite([mid, lo, hi]).all() and hi > lo:
        mid, lo, hi = round_to_support(np.array([mid, lo, hi]), lo, hi)
    sign = "+" if prefix and mid > 0 else ""
    return f"{sign}{_fmt(mid, unit)} ({_fmt(lo, unit)} to {_fmt(hi, unit)})"


def summary_markdown(table: pd.DataFrame, scenarios: list[Scenario], meta: dict[str, Any]
                     ) -> str:
    """A short table for readers: headline outcomes per scenario, with 90 % intervals."""
    end = meta["end_label"]
    columns = [
        ("left_by_2022_10_04", "", "Left Russia by 4 Oct"),
        ("left_by_end", "", f"Left Russia by {end}"),
        ("left_by_end", "diff_", f"Change by {end}"),
        ("stopped_at_border", "", "Called up at the border"),
        ("mean_wait_days", "", "Mean wait (days)"),
        ("still_queued_at_end", "", f"Still queuing {end}"),
    ]
    lines = [
        f"# Policy comparison: {meta['name']}",
        "",
        f"{meta['n_seeds']} seeds per policy (the same seeds for every policy), population "
        f"scale {meta['scale']}, {meta['start']} to {meta['end']}; {meta['runs']} runs in "
        f"{meta['seconds']:.0f} s on {meta['workers']}. Figures are real-population "
        "equivalents: median over seeds (90 % interval). Changes are from "
        f"'{meta['baseline_label']}', paired by seed"
        + (" (random numbers keyed by place: a policy leaves the draws elsewhere unchanged). "
           if meta.get("draws") == "keyed" else ". ")
        + (f"Parameters: seed i runs particle i of the posterior {meta['posterior']} under "
           "every policy, so the intervals include the parameters' uncertainty."
           if meta.get("posterior") else
           "Parameters: the configured (calibrated point) values; the intervals are seed "
           "noise only, not the parameters' uncertainty (posterior=PATH adds it)."),
        "",
        "| Policy | " + " | ".join(c[2] for c in columns) + " |",
        "| --- | " + " | ".join("---:" for _ in columns) + " |",
    ]
    indexed = table.set_index(["scenario", "outcome"])
    for sc in scenarios:
        cells = [_with_interval(indexed.loc[(sc.name, key)], prefix) for key, prefix, _ in
                 columns]
        lines.append(f"| {sc.label} | " + " | ".join(cells) + " |")
    lines += ["", "Files: comparison.csv (every outcome, incl. entries by destination), "
              "runs.csv (every run), daily.csv (daily medians and bands), *.png (plots).", ""]
    return "\n".join(lines)


# ---- the experiment -----------------------------------------------------------------------------
def compare(cfg: DictConfig) -> Path:
    """Run the experiment described by `cfg` (conf/experiment/compare.yaml); returns the
    report folder."""
    check_settings(cfg)
    scenarios = scenarios_from(cfg)
    seeds = seeds_from(cfg)
    parallel = as_parallel_config(cfg.parallel)
    started = time.perf_counter()
    draws, columns = None, None
    if cfg.get("posterior"):
        draws, columns = posterior_draws(cfg.posterior, cfg.posterior_parameters, len(seeds),
                                         seeds[0])
    model_overrides = [f"draws={cfg.get('draws', 'streams')}",
                       *(str(o) for o in cfg.model_overrides)]
    jobs = build_jobs(scenarios, seeds, float(cfg.scale), model_overrides, draws, columns)
    log.info("%d scenarios x %d seeds = %d runs on %s (n_jobs %s)", len(scenarios), len(seeds),
             len(jobs), parallel.backend, parallel.n_jobs)
    output_root = Path(str(cfg.output_root))
    folder = confined(output_root, cfg.name, "name")  # the report: a folder of output_root
    check_writable(output_root, need_bytes=5_000_000 + 100_000 * len(jobs))  # before any run
    store = folder.with_name(f".{folder.name}.runs")  # each run's result as it finishes
    stored = sum(stored_path(job, store).is_file() for job in jobs)
    if stored:
        log.info("resuming: %d of %d runs stored by an interrupted earlier call", stored,
                 len(jobs))
    results = run_many(run_stored, [(job, str(store)) for job in jobs], parallel,
                       desc="policies x seeds", progress=bool(cfg.progress))
    seconds = time.perf_counter() - started
    sim_cfg = jobs[0].config
    world = world_for(sim_cfg.network)
    names = dict(zip(world.country_ids, world.country_names, strict=True))
    runs = runs_table(results)
    outcomes = [*OUTCOMES, *destination_outcomes(runs, names)]
    table = comparison_table(runs, scenarios, str(cfg.baseline), outcomes)
    bands = daily_bands(results)
    end = parse_date(sim_cfg.end, "end")
    labels = {s.name: s.label for s in scenarios}
    meta = {
        "name": str(cfg.name), "n_seeds": len(seeds), "seeds": seeds,
        "scale": float(cfg.scale), "start": sim_cfg.start, "end": sim_cfg.end,
        "end_label": f"{end.day} {end:%b}", "runs": len(jobs), "seconds": seconds,
        "n_jobs": parallel.n_jobs, "workers": describe(parallel), "baseline": str(cfg.baseline),
        "posterior": str(cfg.posterior) if cfg.get("posterior") else None,
        "draws": str(cfg.get("draws", "streams")),
        "baseline_label": labels[str(cfg.baseline)],
        "written": dt.datetime.now().isoformat(timespec="seconds"),
    }
    with atomic_folder(folder) as tmp:
        table.to_csv(tmp / "comparison.csv", index=False, float_format="%.6g")
        runs.to_csv(tmp / "runs.csv", index=False, float_format="%.6g")
        bands.to_csv(tmp / "daily.csv", index=False, float_format="%.6g")
        (tmp / "summary.md").write_text(summary_markdown(table, scenarios, meta),
                                        encoding="utf-8")
        OmegaConf.save(cfg, tmp / "config.yaml", resolve=True)
        OmegaConf.save(OmegaConf.create({
            "meta": meta,
            "scenarios": {s.name: {"label": s.label, "overrides": list(s.overrides)}
                          for s in scenarios},
        }), tmp / "scenarios.yaml")
        if cfg.plots:
            from analysis.plots import comparison_plots

            over = "posterior particles and seeds" if cfg.posterior else "seeds"
            comparison_plots(tmp, table, bands, scenarios=[s.name for s in scenarios],
                             labels=labels, baseline=str(cfg.baseline), outcomes=outcomes,
                             over=over)
    remove_store(store, jobs)  # the report holds everything now
    log.info("%d runs in %.0f s; report in %s", len(jobs), seconds, folder)
    return folder
