"""Hydra multirun: parallel jobs, resuming a sweep, failures reported; the policy catalogue."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.atomic import atomic_folder
from sim.config import CONF_DIR, ActionKind, load_config, parse_date
from sim.policy import compile_policy
from sim.population import make_strata
from sim.sweep import (
    STATUS_FILE,
    SweepSummary,
    config_fingerprint,
    job_is_complete,
    write_job_status,
)

ROOT = Path(__file__).resolve().parents[1]
POLICIES = sorted(p.stem for p in (CONF_DIR / "policy").glob("*.yaml"))
TINY = ["population.scale=0.001", "progress=false", "runs=1"]


def run_sim(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


def job_dirs(sweep: Path) -> dict[str, Path]:
    """Job folder per 'policy,seed', found from each job's own overrides."""
    found = {}
    for status in sweep.glob(f"*/{STATUS_FILE}"):
        record = json.loads(status.read_text())
        keys = dict(o.split("=", 1) for o in record["overrides"])
        found[f"{keys['policy']},{keys.get('seed', '1')}"] = status.parent
    return found


# ---- the catalogue ------------------------------------------------------------------------------
def test_catalogue_has_the_required_policies():
    assert {"open", "historical", "russia_closes", "draft_offices_everywhere",
            "finland_stays_open", "finland_closes_earlier", "kazakhstan_closes",
            "georgia_closes_lars", "capacity_doubled", "flights_unaffordable",
            "reservist_exit_ban"} <= set(POLICIES)


@pytest.mark.parametrize("name", POLICIES)
def test_every_catalogue_policy_compiles(name, world):
    cfg = load_config([f"policy={name}", *TINY])
    assert cfg.policy.name == name
    assert cfg.policy.description
    strata = make_strata(list(cfg.population.age_bands))
    start, end = parse_date(cfg.start, "start"), parse_date(cfg.end, "end")
    compiled = compile_policy(cfg.policy, world, strata, start, end)
    # every policy but `open` changes something the model reads
    baseline = compile_policy(load_config(["policy=open", *TINY]).policy, world, strata,
                              start, end)
    arrays = ("open", "visa_ban", "exit_banned", "draft_probability", "capacity_factor",
              "normal_factor", "allowed", "local_only")
    differs = [a for a in arrays if not np.array_equal(getattr(compiled, a),
                                                       getattr(baseline, a))]
    assert bool(differs) == (name != "open"), differs


def _actions(name: str, *overrides: str) -> list:
    return list(load_config([f"policy={name}", *overrides]).policy.actions)


def _is_fi_ban(action) -> bool:
    return action.kind is ActionKind.visa_ban and list(action.targets) == ["FI"]


@pytest.mark.parametrize("name", [p for p in POLICIES if p not in (
    "open", "historical", "finland_stays_open", "finland_closes_earlier")])
def test_counterfactuals_keep_every_historical_action(name):
    """Each variant builds on historical.yaml (`base: historical`): all its actions follow."""
    historical = _actions("historical")
    actions = _actions(name)
    assert actions[-len(historical):] == historical
    assert len(actions) > len(historical)  # the counterfactual comes first (actions.0)


def test_finland_variants_change_only_finlands_ban():
    historical = _actions("historical")
    fi_ban = [a for a in historical if _is_fi_ban(a)]
    others = [a for a in historical if not _is_fi_ban(a)]
    assert len(fi_ban) == 1
    assert _actions("finland_stays_open") == others
    earlier = _actions("finland_closes_earlier")
    assert earlier[1:] == others
    assert earlier[0].start == "2022-09-23"
    same = ("kind", "targets", "end", "normal_traffic_factor", "categories")
    assert all(getattr(earlier[0], f) == getattr(fi_ban[0], f) for f in same)


def test_closure_day_is_a_sweepable_parameter(world):
    cfg = load_config(["policy=russia_closes", "policy.actions.0.start=2022-09-23", *TINY])
    start = parse_date(cfg.start, "start")
    compiled = compile_policy(cfg.policy, world, make_strata(list(cfg.population.age_bands)),
                              start, parse_date(cfg.end, "end"))
    first = (parse_date("2022-09-23", "d") - start).days
    assert not compiled.exit_banned[first - 1].any()
    assert compiled.exit_banned[first].all()


# ---- bookkeeping --------------------------------------------------------------------------------
def test_job_is_complete_only_with_its_own_config(tmp_path):
    # the fingerprint is of the resolved config: the rest from the schema's defaults
    cfg = {"seed": 1, "progress": True, "network": {"data_dir": None}, "policy": {"name": "open"}}
    fingerprint = config_fingerprint(cfg)
    assert fingerprint == config_fingerprint({**cfg, "progress": False})  # not a result
    assert fingerprint != config_fingerprint({**cfg, "seed": 2})
    (tmp_path / "daily.csv").write_text("date,node,node_type,metric,value\n")
    (tmp_path / "summary.json").write_text(json.dumps(
        {"policy": "open", "seed": 1, "left_russia": 1, "left_russia_by_2022_10_04": 1,
         "runtime_seconds": 1.0}))
    assert not job_is_complete(tmp_path, fingerprint)  # no status yet
    write_job_status(tmp_path, "complete", fingerprint)
    assert job_is_complete(tmp_path, fingerprint)
    assert not job_is_complete(tmp_path, config_fingerprint({**cfg, "seed": 2}))
    (tmp_path / "summary.json").write_text("{\"policy\": \"open\"")  # cut short
    assert not job_is_complete(tmp_path, fingerprint)


def test_atomic_folder_replaces_whole_or_not_at_all(tmp_path):
    final = tmp_path / "report"
    with atomic_folder(final) as tmp:
        (tmp / "a.txt").write_text("1")
    assert (final / "a.txt").read_text() == "1"
    with pytest.raises(RuntimeError), atomic_folder(final) as tmp:
        (tmp / "a.txt").write_text("2")
        raise RuntimeError("interrupted")
    assert (final / "a.txt").read_text() == "1"
    with atomic_folder(final) as tmp:
        (tmp / "b.txt").write_text("3")
    assert sorted(p.name for p in final.iterdir()) == ["b.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["report"]  # no temporary leftovers


def test_exit_code_of_a_sweep():
    SweepSummary.failed = []
    assert SweepSummary.exit_code() == 0
    SweepSummary.failed = [{"error_type": "ConfigError"}]
    assert SweepSummary.exit_code() == 2
    SweepSummary.failed = [{"error_type": "ConfigError"}, {"error_type": "MemoryError"}]
    assert SweepSummary.exit_code() == 1
    SweepSummary.failed = []


# ---- multirun end to end ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """Two policies x two seeds, once for the module."""
    folder = tmp_path_factory.mktemp("multirun") / "demo"
    proc = run_sim("-m", "policy=open,historical", "seed=1,2", *TINY,
                   f"hydra.sweep.dir={folder}")
    return folder, proc


def test_multirun_runs_every_job_into_its_own_folder(sweep):
    folder, proc = sweep
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Joblib" in proc.stdout + proc.stderr  # the local parallel launcher by default
    jobs = job_dirs(folder)
    assert set(jobs) == {"open,1", "open,2", "historical,1", "historical,2"}
    for key, job in jobs.items():
        summary = json.loads((job / "summary.json").read_text())
        assert f"{summary['policy']},{summary['seed']}" == key
        assert (job / "daily.csv").exists() and (job / ".hydra" / "config.yaml").exists()
    table = pd.read_csv(folder / "sweep_summary.csv")
    assert len(table) == 4 and (table.status == "complete").all()
    assert (table.action == "ran").all()
    # the same seed in two jobs of different policies: the same population at the start
    starts = {k: json.loads((j / "summary.json").read_text())["men_at_risk"]
              for k, j in jobs.items()}
    assert starts["open,1"] == starts["historical,1"] != starts["open,2"]


def test_rerun_sweep_runs_only_the_jobs_not_complete(sweep):
    folder, first = sweep
    assert first.returncode == 0
    jobs = job_dirs(folder)
    interrupted = jobs["historical,2"]
    (interrupted / "summary.json").unlink()  # as if killed before writing its results
    # what a writer SIGKILLed mid-write leaves: in the job that re-runs and in one complete
    leftovers = [interrupted / ".daily.csv.k1ll3d.tmp", jobs["open,1"] / ".job_status.json.x.tmp"]
    for leftover in leftovers:
        leftover.write_text("half a file")
    before = {k: (j / "summary.json").stat().st_mtime_ns for k, j in jobs.items()
              if k != "historical,2"}
    proc = run_sim("-m", "policy=open,historical", "seed=1,2", *TINY,
                   f"hydra.sweep.dir={folder}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (interrupted / "summary.json").exists()
    assert not [p for p in leftovers if p.exists()], "a killed writer's temporary was kept"
    for key, mtime in before.items():
        assert (jobs[key] / "summary.json").stat().st_mtime_ns == mtime, key
    table = pd.read_csv(folder / "sweep_summary.csv").set_index("job")
    actions = {k: table.loc[str(j.relative_to(folder)), "action"] for k, j in jobs.items()}
    assert actions == {"open,1": "skipped", "open,2": "skipped", "historical,1": "skipped",
                       "historical,2": "ran"}


def test_failing_job_is_reported_and_does_not_stop_the_others(tmp_path):
    # historical's actions run to 28 Oct: with the horizon cut to 10 Oct it is invalid input,
    # found only inside its job; the open policy's job is fine. Jobs record their own failures
    # whatever the launcher: the in-process one saves starting worker processes here.
    folder = tmp_path / "sweep"
    proc = run_sim("-m", "hydra/launcher=basic", "policy=open,historical", "end=2022-10-10",
                   *TINY, f"hydra.sweep.dir={folder}")
    assert proc.returncode == 2, proc.stderr[-3000:]
    report = json.loads((folder / "sweep_summary.json").read_text())
    assert report["jobs"] == 2 and report["complete"] == 1
    (failed,) = report["failed"]
    assert "historical" in failed["job"]
    assert failed["error_type"] == "ConfigError"
    assert "outside the simulated horizon" in failed["error"]
    jobs = job_dirs(folder)
    assert (jobs["open,1"] / "summary.json").exists()
    assert not (jobs["historical,1"] / "summary.json").exists()
    status = json.loads((jobs["historical,1"] / STATUS_FILE).read_text())
    assert status["status"] == "failed" and "Traceback" in status["traceback"]


def test_bad_input_still_stops_a_single_run_with_exit_code_2(tmp_path):
    proc = run_sim(f"hydra.run.dir={tmp_path}", "population.scale=1.5", "progress=false")
    assert proc.returncode == 2
    assert "population.scale" in proc.stdout + proc.stderr
    assert not (tmp_path / "summary.json").exists()


def test_ray_launcher_on_a_local_instance(tmp_path):
    pytest.importorskip("ray")
    pytest.importorskip("hydra_plugins.hydra_ray_launcher")
    folder = tmp_path / "ray"
    proc = run_sim("-m", "hydra/launcher=ray_local", "+hydra.launcher.ray.init.num_cpus=2",
                   "policy=open", "seed=1,2", "end=2022-10-10", *TINY,
                   f"hydra.sweep.dir={folder}", timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = job_dirs(folder)
    assert set(jobs) == {"open,1", "open,2"}
    assert all((j / "summary.json").exists() for j in jobs.values())


def test_launcher_configs_compose():
    """The cluster launchers' configs are valid (their plugins are installed here)."""
    from hydra import compose, initialize_config_dir

    for launcher, plugin in (("slurm", "hydra_plugins.hydra_submitit_launcher"),
                             ("local", "hydra_plugins.hydra_joblib_launcher"),
                             ("ray_cluster", "hydra_plugins.hydra_ray_launcher")):
        pytest.importorskip(plugin)
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            cfg = compose("config", overrides=[f"hydra/launcher={launcher}"],
                          return_hydra_config=True)
        assert "_target_" in cfg.hydra.launcher


def test_dataclass_configs_pickle_for_worker_processes():
    import pickle

    cfg = load_config(["policy=russia_closes", *TINY])
    again = pickle.loads(pickle.dumps(dataclasses.replace(cfg, seed=3)))
    assert again.seed == 3 and again.policy.actions == cfg.policy.actions


def test_world_for_applies_factors_to_one_cached_geometry():
    """Posterior particles and sensitivity samples differ in capacity factors: each gets the
    same world build_world would give, from one cached geometry."""
    from sim import parallel as sweep
    from sim.config import NetworkConfig
    from sim.network import build_world

    sweep._WORLDS.clear()
    configs = [NetworkConfig(capacity_factor=f, air_capacity_factor=2 - f,
                             capacity_factor_by_exit={"KZ": f}) for f in (0.5, 0.8, 1.3)]
    for config in configs:
        world = sweep.world_for(config)
        built = build_world(config)
        assert np.allclose(world.gate_capacity, built.gate_capacity)
        assert np.allclose(world.gate_normal, built.gate_normal)
    assert len(sweep._WORLDS) == 1
