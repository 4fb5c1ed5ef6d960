"""One way to run many models: `run_many`, over joblib, on local processes or a cluster.

    run_many(run_one, jobs, ParallelConfig(backend="loky", n_jobs=-1))           # this machine
    run_many(run_one, jobs, ParallelConfig(backend="dask", address="tcp://HOST:8786"))
    run_many(run_one, jobs, ParallelConfig(backend="ray", address="HOST:6379"))

Models are run in batches (`run_batched`: each job is a list of members, stepped together
by `sim.batch.run_members`); the calibration's generations, the policy comparison, the
sensitivity analysis and the evaluation all call it; the backend is chosen in their config
(`parallel=local|dask|ray`, the config group registered below). Every member carries its own
seed and streams, so the same members give identical numbers on every backend, with any number
of workers and any batch size; results come back in the jobs' order.

Workers are reused across jobs, so per-process caches such as `world_for` serve many runs.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

from hydra.core.config_store import ConfigStore

from sim.config import ParallelConfig  # the schema; re-exported here
from sim.errors import ConfigError

if TYPE_CHECKING:
    from sim.config import NetworkConfig
    from sim.datasets import Tables
    from sim.network import World

__all__ = ["ParallelConfig", "run_many"]

log = logging.getLogger(__name__)
BACKENDS = ("loky", "sequential", "dask", "ray")


def register_configs() -> None:
    """The `parallel` config group: `parallel=dask parallel.address=tcp://HOST:8786`."""
    cs = ConfigStore.instance()
    cs.store(group="parallel", name="local", node=ParallelConfig())
    cs.store(group="parallel", name="dask", node=ParallelConfig(backend="dask"))
    cs.store(group="parallel", name="ray", node=ParallelConfig(backend="ray"))


register_configs()


def as_parallel_config(value: Any) -> ParallelConfig:
    """A checked `ParallelConfig` from a config node, a dict or an int (n_jobs, local)."""
    if isinstance(value, ParallelConfig):
        par = value
    elif isinstance(value, int) and not isinstance(value, bool):
        par = ParallelConfig(n_jobs=value)
    else:
        items = dict(value)
        par = ParallelConfig(backend=str(items.get("backend", "loky")),
                             n_jobs=items.get("n_jobs", -1),
                             address=items.get("address"))
    if par.backend not in BACKENDS:
        raise ConfigError("parallel.backend", f"'{par.backend}' is not one of {list(BACKENDS)}")
    if isinstance(par.n_jobs, bool) or not isinstance(par.n_jobs, int) or par.n_jobs == 0:
        raise ConfigError("parallel.n_jobs", f"{par.n_jobs!r}: give a number of processes "
                          "(>= 1), or -1 for all cores, -2 for all but one, ...; not 0")
    cores = os.cpu_count() or 1
    if par.backend in ("loky", "sequential") and par.n_jobs < -cores:
        raise ConfigError("parallel.n_jobs", f"{par.n_jobs} leaves no core of {cores}")
    return par


def effective_jobs(n_jobs: int) -> int:
    """Processes on this machine: n >= 1 as given, or -1 all cores, -2 all but one, ..."""
    par = as_parallel_config(n_jobs)
    cores = os.cpu_count() or 1
    return par.n_jobs if par.n_jobs >= 1 else cores + 1 + par.n_jobs


def describe(parallel: ParallelConfig | int) -> str:
    """Where the runs went, in the words of a report: '2 processes', 'a Dask cluster ...'."""
    par = as_parallel_config(parallel)
    if par.backend in ("loky", "sequential"):
        n = 1 if par.backend == "sequential" else effective_jobs(par.n_jobs)
        return f"{n} process{'es' if n > 1 else ''}"
    name = {"dask": "Dask", "ray": "Ray"}[par.backend]
    return f"a {name} cluster ({par.address or 'local'})"


@contextlib.contextmanager
def _backend(par: ParallelConfig) -> Iterator[dict[str, Any]]:
    """joblib's parallel_config for the backend; yields the Parallel arguments."""
    from joblib import parallel_config

    if par.backend == "dask":
        from dask.distributed import Client

        client = Client(par.address) if par.address else Client(processes=True)
        try:
            with parallel_config(backend="dask"):
                yield {"n_jobs": par.n_jobs}
        finally:
            client.close()
    elif par.backend == "ray":
        import ray
        from ray.util.joblib import register_ray

        started = not ray.is_initialized()
        if started:
            # a local instance listens on loopback only; a cluster's head names its own address
            local = {} if par.address else {"_node_ip_address": "127.0.0.1"}
            ray.init(address=par.address, log_to_driver=False, include_dashboard=False, **local)
        register_ray()
        try:
            with parallel_config(backend="ray"):
                yield {"n_jobs": par.n_jobs}
        finally:
            if started:
                ray.shutdown()
    else:
        yield {"n_jobs": effective_jobs(par.n_jobs)}


def run_many[T, R](func: Callable[[T], R], items: Sequence[T],
                   parallel: ParallelConfig | int = -1, desc: str = "runs",
                   progress: bool = False) -> list[R]:
    """`[func(item) for item in items]` on the configured backend, in the order of `items`.

    `func` and the items must pickle (a module-level function, dataclass configs)."""
    from tqdm.auto import tqdm

    par = as_parallel_config(parallel)
    results: list[Any] = [None] * len(items)
    with tqdm(total=len(items), desc=desc, unit="run", disable=not progress) as bar:
        # one job, or one process, on this machine: run here rather than start a worker
        # (a process, its imports and its own world)
        if par.backend == "sequential" or (par.backend == "loky" and (
                effective_jobs(par.n_jobs) == 1 or len(items) == 1)):
            for i, item in enumerate(items):
                results[i] = func(item)
                bar.update()
            return results
        from joblib import Parallel, delayed

        with _backend(par) as kwargs:
            if par.backend != "loky":  # the cluster backends return a list, in order
                results = Parallel(**kwargs)(delayed(func)(item) for item in items)
                bar.update(len(items))
                return results
            parallel_ = Parallel(return_as="generator_unordered", initializer=exit_with_parent,
                                 **kwargs)
            for i, value in parallel_(delayed(_indexed)(func, i, item)
                                      for i, item in enumerate(items)):
                results[i] = value
                bar.update()
    return results


def run_batched[T, R](func: Callable[[list[T]], list[R]], items: Sequence[T],
                      parallel: ParallelConfig | int = -1, desc: str = "runs",
                      progress: bool = False, batch_size: int | None = None,
                      batches_per_worker: int = 1) -> list[R]:
    """`[r for batch in batches for r in func(batch)]`: the items cut into batches (each
    worker's share, or a `batches_per_worker`-th of it, at most `batch_size` items;
    `sim.batch.BATCH_SIZE` if None), each batch a job of `run_many`, the results in the items'
    order. `func` runs a whole batch at once (`sim.batch.run_members`): the same items give
    the same results whatever the cut. Several batches per worker keep both busy to the end
    when items take unequal times (runs stopped early)."""
    from sim.batch import BATCH_SIZE

    if not items:
        return []
    par = as_parallel_config(parallel)
    workers = 1 if par.backend == "sequential" else (
        effective_jobs(par.n_jobs) if par.backend == "loky" else max(par.n_jobs, 1))
    size = max(1, min(batch_size or BATCH_SIZE,
                      -(-len(items) // (workers * max(1, batches_per_worker)))))
    batches = [list(items[i: i + size]) for i in range(0, len(items), size)]
    done = run_many(func, batches, par, desc=desc, progress=progress)
    return [r for batch in done for r in batch]


def _indexed[T, R](func: Callable[[T], R], index: int, item: T) -> tuple[int, R]:
    exit_with_parent()
    return index, func(item)


@cache
def exit_with_parent(poll_seconds: float = 1.0) -> None:
    """In a worker process: exit as soon as the process that started it is gone.

    A SIGKILLed sweep or comparison gets no chance to stop its workers, and joblib's (loky)
    would idle for minutes holding their memory - or finish a job into a folder that a re-run
    is writing. Called at the start of every job; the first call starts the watch (cached),
    and outside a worker (no multiprocessing parent) it does nothing."""
    import multiprocessing
    import threading
    import time

    parent = multiprocessing.parent_process()
    if parent is None:
        return
    if os.getppid() != parent.pid:  # orphaned before its first job
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent.pid:
            time.sleep(poll_seconds)
        os._exit(1)  # orphaned: the results of the job in hand are written atomically or not

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def start_loky_workers_watching_their_parent() -> None:
    """Make joblib's `loky` backend, as Hydra's joblib launcher uses it, run `exit_with_parent`
    when each worker starts, not only when it gets its first job: a sweep SIGKILLed while its
    workers were starting left them idle for loky's five-minute timeout. For a command's entry
    point (it re-registers the backend name in this process), never called on import."""
    from joblib import register_parallel_backend
    from joblib.parallel import LokyBackend

    class WatchingLokyBackend(LokyBackend):
        def configure(self, *args: Any, **kwargs: Any) -> int:
            kwargs.setdefault("initializer", exit_with_parent)
            return super().configure(*args, **kwargs)

    register_parallel_backend("loky", WatchingLokyBackend)


def stop_local_workers() -> None:
    """End the local (loky) worker processes that `run_many` keeps between calls (a server
    exiting normally calls this)."""
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor().shutdown(wait=False, kill_workers=True)


# ---- per-process caches of the inputs ---------------------------------------------------------
@cache
def tables_for(data_dir: str | None) -> Tables:
    """The checked data tables, read once per process."""
    from sim.datasets import load_tables

    return load_tables(data_dir)


_WORLDS: dict[str, World] = {}


def world_for(network: NetworkConfig) -> World:
    """The `World` of a network config, built once per worker process and geometry: building
    it (reading and checking the tables, the graph, the travel-time matrix) costs more than a
    small run. Capacity and traffic factors - what posterior particles and sensitivity samples
    vary - are applied to the cached world, not rebuilt."""
    from sim.network import build_world, scaled_world, unscaled
    from sim.world_cache import cached_world

    geometry = unscaled(network)
    key = repr(geometry)
    if key not in _WORLDS:
        if len(_WORLDS) > 4:  # sensitivity runs vary travel speeds too: keep memory bounded
            _WORLDS.clear()
        _WORLDS[key] = cached_world(
            geometry, lambda: build_world(geometry, tables_for(network.data_dir)))
    return scaled_world(_WORLDS[key], network)
