"""Faults: a sweep SIGKILLed at a random moment leaves no worker behind, and its re-run ends
with the same results as a sweep never interrupted; nothing is lost or deleted that a command did
not create (concurrent runs into one folder, a rejected run into a full folder, a comparison
resumed from a planted store), and resumes trust only what is unchanged."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SWEEP = ["-m", "policy=open", "seed=1,2", "end=2022-10-15", "population.scale=0.001", "runs=1",
         "progress=false"]
# summary.json fields that describe the run, not its results (the checkout's commit moves when
# a commit lands between the reference run and the resumed one)
NOT_RESULTS = ("runtime_seconds", "git_commit")


def sweep_command(folder: Path) -> list[str]:
    return [sys.executable, "-m", "sim", *SWEEP, f"hydra.sweep.dir={folder}"]


def results(folder: Path) -> dict[str, object]:
    """Every job's daily.csv bytes and summary.json (less its runtime), by job folder."""
    found: dict[str, object] = {}
    for daily in sorted(folder.glob("*/daily.csv")):
        job = daily.parent.name
        summary = json.loads((daily.parent / "summary.json").read_text())
        for key in NOT_RESULTS:
            summary.pop(key)
        found[job] = (daily.read_bytes(), summary)
    return found


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_sweep_killed_at_a_random_moment_resumes_to_identical_results(tmp_path):
    reference = tmp_path / "reference"
    started = time.perf_counter()
    done = subprocess.run(sweep_command(reference), cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    duration = time.perf_counter() - started
    assert done.returncode == 0, done.stderr[-2000:]
    expected = results(reference)
    assert len(expected) == 2

    moment = random.Random().uniform(0.3, 0.9) * duration
    interrupted = tmp_path / "interrupted"
    proc = subprocess.Popen(sweep_command(interrupted), cwd=ROOT, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(moment)
    os.kill(proc.pid, signal.SIGKILL)  # the launcher only, as the OOM killer would
    proc.wait()
    deadline = time.monotonic() + 15
    while group_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = group_alive(proc.pid)
    if left:
        os.killpg(proc.pid, signal.SIGKILL)
    assert not left, f"workers outlived the sweep killed after {moment:.1f} s"

    again = subprocess.run(sweep_command(interrupted), cwd=ROOT, capture_output=True,
                           text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    assert results(interrupted) == expected, f"killed after {moment:.1f} s of {duration:.1f}"
    report = json.loads((interrupted / "sweep_summary.json").read_text())
    assert report["complete"] == 2 and not report["failed"]
    assert not list(interrupted.glob("*/.*.tmp")), "a temporary file was kept as a result"


# ---- the policy comparison --------------------------------------------------------------------
COMPARE = ["policies=[historical,open]", "seeds=2", "scale=0.001", "n_jobs=1", "plots=false",
           "posterior=null",  # the jobs the tests build themselves: configured parameters
           "progress=false"]
REPORT_FILES = ("comparison.csv", "runs.csv", "daily.csv")  # summary.md also holds the times


def compare_command(root: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "experiments.compare_policies", *COMPARE, "name=c",
            f"output_root={root}", *extra]


def test_a_comparison_killed_at_a_random_moment_resumes_to_identical_results(tmp_path):
    reference = tmp_path / "reference"
    started = time.perf_counter()
    done = subprocess.run(compare_command(reference), cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    duration = time.perf_counter() - started
    assert done.returncode == 0, done.stderr[-2000:]

    moment = random.Random().uniform(0.4, 0.95) * duration
    interrupted = tmp_path / "interrupted"
    proc = subprocess.Popen(compare_command(interrupted), cwd=ROOT, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(moment)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    stored = len(list((interrupted / ".c.runs").glob("*.json")))
    again = subprocess.run(compare_command(interrupted), cwd=ROOT, capture_output=True,
                           text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    if stored:  # the re-run took the stored runs instead of computing them again
        assert f"resuming: {stored} of 4 runs stored" in again.stdout + again.stderr
    for name in REPORT_FILES:
        assert (interrupted / "c" / name).read_bytes() == (reference / "c" / name).read_bytes(), \
            f"{name}: killed after {moment:.1f} s of {duration:.1f}"
    assert [p.name for p in interrupted.iterdir()] == ["c"]  # the stored runs are gone


def test_a_comparison_into_an_unwritable_folder_stops_before_any_run(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")  # even root cannot create a folder inside a file
    proc = subprocess.run(compare_command(blocker / "reports"), cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "cannot be written" in proc.stdout + proc.stderr
    assert "policies x seeds" not in proc.stderr  # no run started


def test_too_little_space_is_found_before_any_run(tmp_path, monkeypatch):
    import shutil

    from sim.errors import InputError
    from sim.validation import check_writable

    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(shutil, "disk_usage", lambda _: usage._replace(free=1_000_000))
    with pytest.raises(InputError, match=r"1 MB free, the results need about 5 MB"):
        check_writable(tmp_path / "out", need_bytes=5_000_000)


class Planted:
    """A pickle that, when loaded, creates a file: what a store that unpickles would run."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_comparison_resumed_from_a_planted_store_runs_no_code(tmp_path):
    """A `.pkl` planted in the resume store of a shared output_root ran arbitrary code when the
    comparison was resumed; now the store is JSON, read as data, and a file that is not a
    result is computed again."""
    import pickle

    from hydra import compose, initialize_config_dir

    import analysis.config  # noqa: F401 - registers the schema
    from analysis.comparison import build_jobs, scenarios_from, seeds_from, stored_path
    from sim.config import CONF_DIR

    reference = tmp_path / "reference"
    done = subprocess.run(compare_command(reference), cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="experiment/compare", overrides=[*COMPARE, "name=c"])
    jobs = build_jobs(scenarios_from(cfg), seeds_from(cfg), float(cfg.scale), [])
    planted = tmp_path / "planted"
    marker = tmp_path / "code_ran"
    for job in jobs:
        path = stored_path(job, planted / ".c.runs")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps(Planted(marker)))
    (planted / ".c.runs" / "someone_elses.txt").write_text("not the comparison's")
    again = subprocess.run(compare_command(planted), cwd=ROOT, capture_output=True, text=True,
                           timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    assert not marker.exists(), "a planted file in the resume store ran code"
    for name in REPORT_FILES:
        assert (planted / "c" / name).read_bytes() == (reference / "c" / name).read_bytes()
    # the store's own files are removed, a file the comparison did not write is not
    assert [p.name for p in (planted / ".c.runs").iterdir()] == ["someone_elses.txt"]


def test_a_bad_comparison_deletes_nothing_in_the_working_directory(tmp_path):
    """Its Hydra run folder is `.`: a rejected call removed every *.log of the working
    directory (and, from tests/test_compare.py, of the repository's root)."""
    (tmp_path / "my_notes.log").write_text("the user's")
    proc = subprocess.run(
        [sys.executable, "-m", "experiments.compare_policies", *COMPARE, "name=c",
         f"output_root={tmp_path / 'out'}", f"posterior={tmp_path / 'missing.csv'}"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert (tmp_path / "my_notes.log").read_text() == "the user's"


# ---- run folders: claimed by one run, cleared of only what it wrote ----------------------------
RUN = ["policy=open", "end=2022-10-01", "population.scale=0.001", "progress=false"]


def test_concurrent_runs_into_one_folder_lose_no_result(tmp_path):
    """Two runs started at once into one folder: one runs, the other stops with exit 2 before
    writing anything, so the folder's results are those of the run that owns it."""
    folder = tmp_path / "shared"
    procs = {seed: subprocess.Popen([sys.executable, "-m", "sim", *RUN, f"seed={seed}",
                                     f"hydra.run.dir={folder}"], cwd=ROOT,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for seed in (1, 2)}
    codes = {seed: proc.wait(timeout=300) for seed, proc in procs.items()}
    assert sorted(codes.values()) == [0, 2], {s: p.stderr.read()[-1000:] for s, p in
                                             procs.items()}
    winner = next(seed for seed, code in codes.items() if code == 0)
    loser = next(seed for seed, code in codes.items() if code == 2)
    assert "already holds a run" in procs[loser].stderr.read()
    assert json.loads((folder / "summary.json").read_text())["seed"] == winner


def test_runs_started_in_the_same_instant_get_folders_of_their_own(tmp_path, monkeypatch):
    from sim.preflight import preflight

    monkeypatch.chdir(tmp_path)  # the default folder is results/runs/... of the working dir
    first, second = preflight(RUN), preflight(RUN)
    assert first != second and len(first) == len(second) == 1
    folders = [Path(args[0].split("=", 1)[1].strip("'")) for args in (first, second)]
    assert all(f.is_dir() and tmp_path in f.parents for f in folders)


def test_a_rejected_run_into_a_full_folder_deletes_nothing(tmp_path):
    """A run into a folder holding another run: refused before Hydra writes, so the earlier
    run's `.hydra/`, its log and the user's logs are kept as they were."""
    folder = tmp_path / "earlier_run"
    (folder / ".hydra").mkdir(parents=True)
    files = {".hydra/config.yaml": "seed: 7\n", "__main__.log": "earlier run's log",
             "my_notes.log": "the user's", "summary.json": json.dumps({"seed": 7})}
    for name, text in files.items():
        (folder / name).write_text(text)
    for bad in ("policy.actions.0.targets=[NOWHERE]", "seed=-1", "seed=3"):
        proc = subprocess.run([sys.executable, "-m", "sim", "policy=historical", bad,
                               "population.scale=0.001", "progress=false",
                               f"hydra.run.dir={folder}"], cwd=ROOT, capture_output=True,
                              text=True, timeout=300)
        assert proc.returncode == 2, proc.stderr[-2000:]
        assert {name: (folder / name).read_text() for name in files} == files, bad
        assert sorted(p.name for p in folder.iterdir()) == sorted(
            {".hydra", *(n for n in files if "/" not in n)})


def test_a_rejection_removes_only_what_this_process_wrote(tmp_path):
    from sim.run_folder import claim_run_folder, release_rejected

    mine = claim_run_folder(tmp_path / "new" / "run")  # created here, with its parent
    (mine / "unmapped.csv").write_text("x")
    assert release_rejected(mine) == [tmp_path / "new"] and not (tmp_path / "new").exists()
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "theirs.log").write_text("kept")
    claimed = claim_run_folder(shared)
    (claimed / "mine.log").write_text("removed")
    release_rejected(claimed)
    assert sorted(p.name for p in shared.iterdir()) == ["theirs.log"]
    assert release_rejected(tmp_path / "never_claimed") == []


# ---- resumes trust only what is unchanged ------------------------------------------------------
def test_a_sweep_job_is_recomputed_when_the_policy_it_builds_on_changes(tmp_path, monkeypatch):
    """The fingerprint held `base: zz_base`, not the base's actions: an edited base kept the
    stale results of every job built on it."""
    from omegaconf import OmegaConf

    import sim.policy_file
    from sim.config import load_config
    from sim.sweep import config_fingerprint

    cfg = OmegaConf.structured(load_config(["policy=open", *RUN[1:]]))
    monkeypatch.setattr(sim.policy_file, "policy_dir", lambda: tmp_path)  # bases read here
    base = tmp_path / "zz_base.yaml"
    base.write_text("name: zz_base\nactions:\n  - kind: close\n    targets: [FI]\n"
                    "    start: '2022-09-30'\n")
    cfg.policy.name, cfg.policy.base = "zz_child", "zz_base"
    before = config_fingerprint(cfg)
    assert before == config_fingerprint(cfg)
    base.write_text(base.read_text().replace("2022-09-30", "2022-09-27"))
    assert config_fingerprint(cfg) != before


def test_fingerprints_and_summaries_carry_the_codes_version(monkeypatch):
    from omegaconf import OmegaConf

    import sim.provenance
    from sim.config import load_config
    from sim.outputs import provenance
    from sim.sweep import config_fingerprint

    written = provenance()  # what every summary.json records (sim.outputs.summary)
    assert written["git_commit"] and written["package_version"]
    cfg = OmegaConf.structured(load_config(["policy=open", *RUN[1:]]))
    before = config_fingerprint(cfg)
    monkeypatch.setattr(sim.provenance, "code_version", lambda: "other code")
    assert config_fingerprint(cfg) != before


def _toy_abc(tmp_path: Path):
    import numpy as np

    from calibration.abc import ReplenishmentABC
    from calibration.parameters import Param

    params = [Param("a", "x.a", "uniform", 0.0, 1.0), Param("b", "x.b", "uniform", 0.0, 1.0)]

    def simulate(values, seeds):
        return [np.array([v["a"], v["b"]]) for v in values]

    def distance(sims):
        return np.array([abs(s[0] - 0.3) + abs(s[1] - 0.6) for s in sims])

    return ReplenishmentABC(params, distance, simulate, tmp_path / "abc.npz", n=20, alpha=0.5,
                            c=0.05, min_acceptance=0.0, mcmc_scale=None, max_steps=3, seed=1)


def test_the_abc_stops_after_its_generations_not_on_the_clock(tmp_path):
    """A wall-clock budget made the posterior depend on the machine's load: without one, the
    same settings give the same particles; a budget that stops it early says so."""
    import numpy as np

    runs = []
    for i in range(2):
        abc = _toy_abc(tmp_path / str(i))
        abc.run(3, None, 10**6)
        assert abc.generation == 3 and abc.stopped_by == "generations"
        runs.append(abc.z.copy())
    assert np.array_equal(runs[0], runs[1])
    hurried = _toy_abc(tmp_path / "hurried")
    hurried.run(3, 0.0, 10**6)
    assert hurried.stopped_by == "time_budget" and hurried.generation < 3


def test_a_calibration_never_empties_a_folder_that_is_not_its_own(tmp_path):
    from calibration.checkpoints import State
    from sim.errors import InputError

    work = tmp_path / "work"
    work.mkdir()
    (work / "thesis.tex").write_text("the user's")
    with pytest.raises(InputError, match="not a calibration's work folder"):
        State(work, "key", restart=True)
    assert (work / "thesis.tex").read_text() == "the user's"


def test_the_pages_workers_end_with_a_killed_server():
    """The page's warm worker processes used to outlive a SIGKILLed server for loky's idle
    timeout (5 minutes), holding their memory: they now end within seconds of it."""
    import os
    import signal

    import psutil

    script = ("import time; from app.runs import warm_workers; warm_workers(); "
              "print('ready', flush=True); time.sleep(120)")
    server = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, text=True,
                              stdout=subprocess.PIPE, env={**os.environ, "APP_WORKERS": "2"})
    try:
        assert server.stdout.readline().strip() == "ready"
        workers = psutil.Process(server.pid).children(recursive=True)
        assert workers, "the page started no worker process"
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()
    _, alive = psutil.wait_procs(workers, timeout=20)
    assert not alive, f"{len(alive)} worker(s) outlived the killed server"


def test_a_calibrations_checkpoints_depend_on_the_code_and_the_resolved_model(monkeypatch):
    """Checkpoints were reused by other code, and the fingerprint held the overrides that name a
    policy rather than the policy: now a change of code, or of what a policy's base resolves
    to, makes the calibration start again."""
    from types import SimpleNamespace

    from omegaconf import OmegaConf

    import sim.provenance
    from calibration.checkpoints import fingerprint
    from sim.config import load_config

    cfg = OmegaConf.create({"observations": "sim/data/observations_2022.csv", "scale": 0.01,
                            "loss": "mean_abs", "abort_departures": None,
                            "max_extrapolated_days": 31, "abc": {"particles": 10}})
    problem = SimpleNamespace(params=[], base=load_config(["policy=finland_stays_open"]))
    before = fingerprint(cfg, problem)
    assert fingerprint(cfg, problem) == before
    edited = load_config(["policy=finland_stays_open"])
    edited.policy.actions[0].start = "2022-09-28"  # as if its base's first action were edited
    assert fingerprint(cfg, SimpleNamespace(params=[], base=edited)) != before
    monkeypatch.setattr(sim.provenance, "code_version", lambda: "other code")
    assert fingerprint(cfg, problem) != before
