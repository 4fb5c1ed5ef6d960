"""Every multi-run path on a cluster: an ABC generation and a two-policy comparison on a local
Dask cluster and on a local Ray head give the very numbers of local processes, and the Hydra
`ray_cluster` launcher runs a 2 x 2 sweep against a running head.

Marked `distributed` (deselect with `-m "not distributed"`); the dev extra installs Dask and
Ray, so in CI they run, never skip. One Dask cluster and one Ray head serve the whole session:
starting them costs far more than the runs.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from sim.config import CONF_DIR
from sim.parallel import ParallelConfig

pytestmark = pytest.mark.distributed
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def dask_address():
    from dask.distributed import LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=None)
    yield cluster.scheduler_address
    cluster.close()


@pytest.fixture(scope="session")
def ray_address():
    """A Ray head started by this process (and stopped by it: `ray stop` would stop every Ray
    on the machine). Other processes - a Hydra sweep - connect to it by its address."""
    import ray

    context = ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                       _node_ip_address="127.0.0.1",  # loopback only
                       object_store_memory=100 * 1024**2)
    yield context.address_info["gcs_address"]
    ray.shutdown()


@pytest.fixture(scope="module")
def backends(dask_address, ray_address) -> dict[str, ParallelConfig]:
    return {"loky": ParallelConfig("loky", 2),
            "dask": ParallelConfig("dask", -1, dask_address),
            "ray": ParallelConfig("ray", 2, ray_address)}


@pytest.fixture(scope="module")
def problem():
    from calibration.parameters import load_parameters
    from calibration.problem import make_problem

    params = load_parameters(OmegaConf.load(ROOT / "conf/calibration/parameters.yaml")
                             .parameters)
    return make_problem(ROOT / "sim/data/observations_2022.csv",
                        ["network=default", "behaviour=default", "policy=historical"],
                        params, scale=0.001)


def abc_generation(problem, parallel: ParallelConfig, path: Path):
    """The prior sample and one generation of ABC-SMC, its simulations on `parallel`."""
    from calibration.abc import ReplenishmentABC
    from calibration.problem import FitJob, simulate_fit_batch
    from sim.parallel import run_batched

    def simulate(values, seeds):
        jobs = [FitJob(problem, v, s) for v, s in zip(values, seeds, strict=True)]
        return run_batched(simulate_fit_batch, jobs, parallel, batch_size=2)

    def distance(sims):
        return np.array([problem.fit_loss(s) for s in sims])

    abc = ReplenishmentABC(problem.params, distance, simulate, path, n=6, alpha=0.5, c=0.5,
                           min_acceptance=0.0, mcmc_scale=None, max_steps=1, seed=5)
    abc.run(max_generations=1, max_seconds=600, max_sims=100)
    return abc


def test_an_abc_generation_is_identical_on_every_backend(problem, backends, tmp_path):
    results = {name: abc_generation(problem, par, tmp_path / f"{name}.npz")
               for name, par in backends.items()}
    local = results.pop("loky")
    assert local.generation == 1 and local.sims == 9
    assert len(np.unique(local.rho)) > 1  # the runs differ: the comparison is not vacuous
    for name, abc in results.items():
        np.testing.assert_array_equal(abc.z, local.z, err_msg=name)
        np.testing.assert_array_equal(abc.rho, local.rho, err_msg=name)


def compare_on(parallel: ParallelConfig, folder: Path) -> pd.DataFrame:
    from analysis.comparison import compare

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("experiment/compare", overrides=[
            "policies=[open,russia_closes]", "baseline=open", "seeds=2", "scale=0.001",
            "model_overrides=['end=2022-10-28']", "plots=false", "progress=false",
            f"output_root={folder}", f"name={parallel.backend}",
            f"parallel.backend={parallel.backend}", f"parallel.n_jobs={parallel.n_jobs}",
            f"parallel.address={parallel.address or 'null'}"])
    return pd.read_csv(compare(cfg) / "runs.csv")


def test_a_two_policy_comparison_is_identical_on_every_backend(backends, tmp_path):
    runs = {name: compare_on(par, tmp_path) for name, par in backends.items()}
    local = runs.pop("loky")
    assert len(local) == 4
    assert local.groupby("scenario")["left_by_end"].mean().nunique() == 2  # policies differ
    for name, frame in runs.items():
        pd.testing.assert_frame_equal(frame, local, obj=name)


def test_hydra_ray_cluster_launcher_runs_a_sweep_on_a_running_head(ray_address, tmp_path):
    folder = tmp_path / "sweep"
    proc = subprocess.run(
        [sys.executable, "-m", "sim", "-m", "hydra/launcher=ray_cluster",
         f"hydra.launcher.ray.init.address={ray_address}", "policy=open,historical",
         "seed=1,2", "end=2022-10-28", "population.scale=0.001", "progress=false",
         f"hydra.sweep.dir={folder}"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summaries = sorted(folder.glob("*/summary.json"))
    assert len(summaries) == 4
    table = pd.read_csv(folder / "sweep_summary.csv")
    assert (table["status"] == "complete").all() and len(table) == 4
