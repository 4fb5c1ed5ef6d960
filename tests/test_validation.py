"""Every class of bad input found by issue 11: stopped before the run, with a message naming the
field (or file, row and column) and the value, exit code 2, and no folder left behind; and the
faults: resume re-checks what it skips, readable result files, n_jobs=0."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from sim.config import ActionConfig, ActionKind, PolicyConfig, load_config, to_sim_config
from sim.datasets import FILES, default_data_dir, load_tables
from sim.errors import ConfigError, DataError, InputError
from sim.model import MobilisationModel

from .conftest import small_config

ROOT = Path(__file__).resolve().parents[1]
TINY = ["population.scale=0.001", "progress=false", "runs=1"]


def run_sim(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


# ---- non-finite numbers ----------------------------------------------------------------------
@pytest.mark.parametrize("override", [
    "behaviour.beta_time=nan", "behaviour.hazard_base=nan", "behaviour.hazard_base=inf",
    "population.high_means_share_at_median_income=nan", "network.road_km_per_day=inf",
    "population.age_shares=[0.2,0.24,nan,0.23]", "network.capacity_factor_by_exit.KZ=nan",
])
def test_non_finite_config_values_are_rejected_naming_the_field(override):
    field = override.lstrip("+").split("=")[0].split("[")[0]
    with pytest.raises(ConfigError, match=r"not a finite number") as err:
        load_config([override])
    assert field in str(err.value)


@pytest.mark.parametrize(("field", "value"), [("factor", math.nan),
                                              ("probability", math.inf),
                                              ("normal_traffic_factor", math.nan)])
def test_non_finite_policy_values_are_rejected(field, value):
    kind = {"factor": ActionKind.capacity_factor, "probability": ActionKind.draft_office,
            "normal_traffic_factor": ActionKind.close}[field]
    cfg = small_config("policy=open")
    cfg.policy.actions = [ActionConfig(kind=kind, targets=["GE-01"], start="2022-09-20",
                                       **{field: value})]
    with pytest.raises(ConfigError, match=rf"actions\[0\]\.{field}': .* not a finite"):
        to_sim_config(cfg)


@pytest.mark.parametrize(("override", "expected"), [
    ("behaviour.beta_air=800", "utility coefficient"),  # 1e300 found by tests/test_fuzz.py
    ("behaviour.budget_rub=[5e-324,120000,500000]", "budget_rub[0]"),
    ("network.normal_traffic_factor=1e12", "normal_traffic_factor"),
    ("behaviour.peer_weight=1e300", "beyond any plausible value"),
    ("behaviour.peer_cap=4.7e-308", "behaviour.peer_cap"),  # found by the fourth fuzz run
    ("behaviour.peer_memory_days=5e-324", "behaviour.peer_memory_days"),
])
def test_finite_values_the_arithmetic_cannot_hold_are_rejected(override, expected):
    with pytest.raises(ConfigError, match=re.escape(expected)):
        load_config([override])


def test_policy_factors_beyond_any_border_are_rejected():
    cfg = small_config("policy=open")
    cfg.policy.actions = [ActionConfig(kind=ActionKind.restrict, categories=["all"],
                                       start="2022-09-14", normal_traffic_factor=1e300)]
    with pytest.raises(ConfigError, match=r"normal_traffic_factor'"):
        MobilisationModel(cfg)  # was: 'lam value too large' from numpy's Poisson mid-run


# ---- inputs that would silently run another scenario ---------------------------------------------
def test_unknown_keys_added_with_plus_are_rejected():
    with pytest.raises(ConfigError, match=r"behaviour\.beta_tim'.*did you mean 'beta_time'"):
        load_config(["+behaviour.beta_tim=0.1"])
    with pytest.raises(ConfigError, match=r"policy\.actions\[0\]\.facter"):
        load_config(["+policy.actions.0.facter=2"])


@pytest.mark.parametrize(("kind", "extra", "field"), [
    (ActionKind.close, {"factor": 0.5}, "factor"),
    (ActionKind.restrict, {"categories": ["all"], "probability": 0.3}, "probability"),
    (ActionKind.draft_office, {"probability": 0.1, "factor": 2.0}, "factor"),
    (ActionKind.capacity_factor, {"factor": 2.0, "categories": ["all"]}, "categories"),
])
def test_fields_meaningless_for_the_action_kind_are_rejected(kind, extra, field):
    cfg = small_config("policy=open")
    cfg.policy.actions = [ActionConfig(kind=kind, targets=["GE-01"], start="2022-09-20",
                                       **extra)]
    with pytest.raises(ConfigError, match=rf"actions\[0\]\.{field}'.*does not read it"):
        to_sim_config(cfg)


def test_duplicate_action_ids_are_rejected():
    cfg = small_config("policy=open")
    cfg.policy.actions = [ActionConfig(kind=ActionKind.close, id="x", start="2022-09-20"),
                          ActionConfig(kind=ActionKind.close, id="x", start="2022-09-25")]
    with pytest.raises(ConfigError, match=r"actions\[1\]\.id'.*duplicate id 'x'"):
        to_sim_config(cfg)
    with pytest.raises(ConfigError, match="duplicate id 'finland_tourist_ban'"):
        load_config(["policy=russia_closes", "policy.actions.0.id=finland_tourist_ban"])


def test_drop_without_base_and_a_policy_without_name_are_rejected():
    with pytest.raises(ConfigError, match=r"policy\.drop'.*no `base:`"):
        to_sim_config({"policy": {"name": "p", "drop": ["finland_tourist_ban"]}})
    with pytest.raises(ConfigError, match=r"policy\.name'.*empty"):
        to_sim_config({"policy": {"actions": []}})


def test_an_action_after_the_horizon_says_so():
    cfg = small_config("policy=open")
    cfg.policy.actions = [ActionConfig(kind=ActionKind.close, start="2023-01-01")]
    with pytest.raises(ConfigError, match=r"start': 2023-01-01 is outside the simulated horizon"):
        MobilisationModel(cfg)


# ---- the command line: one line, exit code 2, no folder ----------------------------------------
@pytest.fixture
def policy_file(tmp_path):
    """Write a policy file into a config folder of the test's own, chosen through Hydra's search
    path (conf/policy is left as it is); returns the overrides that select it."""
    folder = tmp_path / "conf_of_test"

    def write(name: str, text: str) -> list[str]:
        (folder / "policy").mkdir(parents=True, exist_ok=True)
        (folder / "policy" / f"{name}.yaml").write_text(text)
        return [f"hydra.searchpath=[file://{folder}]", f"policy={name}"]

    return write


def test_an_empty_policy_file_or_a_misspelt_kind_in_one_is_named(policy_file):
    with pytest.raises(ConfigError, match=r"policy\.name'.*empty"):
        load_config(policy_file("zz_empty_policy", ""))
    chosen = policy_file("zz_kind_policy", "name: t\nactions:\n  - kind: clsoe\n    start: x\n")
    with pytest.raises(InputError) as err:  # the project's own error, as on the command line
        load_config(chosen)
    line = str(err.value)
    assert "zz_kind_policy" in line and "'clsoe'" in line and "\n" not in line


def test_a_yaml_syntax_error_exits_2_in_one_line_before_any_folder(tmp_path, policy_file):
    text = "name: t\nactions:\n  - kind: close\n    targets: [GE-01\n    start: 2022-09-20\n"
    expected = "line 5: YAML syntax error"
    chosen = policy_file("zz_test_policy", text)
    run_dir = tmp_path / "run"
    proc = run_sim(*chosen, f"hydra.run.dir={run_dir}", *TINY)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert expected in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not run_dir.exists()


@pytest.mark.parametrize("override", ["policy.actions.0.kind=clse"])
def test_composition_errors_exit_2_without_folder(tmp_path, override):
    proc = run_sim(override, f"hydra.run.dir={tmp_path / 'run'}", *TINY)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert override.lstrip("+").split("=")[0].split(".")[-1] in proc.stderr
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(("command", "override", "named"), [
    ("experiments.evaluate", "observatons=x.csv", "observatons"),
    ("experiments.compare_policies", "nme=x", "nme"),
    ("experiments.compare_policies", "seeds=abc", "seeds"),
    # the evaluation's numbers: a crash (or an empty ensemble) after the folder existed
    ("experiments.evaluate", "particles=0", "particles"),
    ("experiments.evaluate", "seeds=0", "seeds"),
    ("experiments.evaluate", "interval=1.5", "interval"),
    # calibrate and sensitivity skipped the pre-flight: Hydra's traceback, exit code 1
    ("experiments.calibrate", "abc.particls=3", "particls"),
    ("experiments.sensitivity", "sedes=[1]", "sedes"),
])
def test_the_other_commands_reject_bad_input_with_exit_2_and_no_folder(tmp_path, command,
                                                                      override, named):
    extra = {"experiments.compare_policies": [f"output_root={tmp_path / 'out'}"],
             "experiments.evaluate": ["n_workers=1"],
             "experiments.calibrate": [f"out_dir={tmp_path / 'out'}",
                                       f"work_dir={tmp_path / 'work'}", "conf_dir=null"],
             "experiments.sensitivity": [f"output_root={tmp_path / 'out'}"]}[command]
    proc = subprocess.run([sys.executable, "-m", command, override,
                           f"hydra.run.dir={tmp_path / 'run'}", *extra],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 2, proc.stderr[-2000:]
    output = proc.stdout + proc.stderr
    assert named in output and "Traceback" not in output
    assert not any(tmp_path.iterdir()), sorted(tmp_path.iterdir())


def test_an_error_found_with_the_world_removes_the_run_folder(tmp_path):
    proc = run_sim("policy.actions.0.targets=[NOWHERE]", f"hydra.run.dir={tmp_path / 'run'}",
                   *TINY)
    assert proc.returncode == 2 and "NOWHERE" in proc.stdout + proc.stderr
    assert not (tmp_path / "run").exists()


def test_a_sweep_with_a_broken_choice_stops_before_any_job(tmp_path, policy_file):
    search, choice = policy_file("zz_test_policy", "name: t\nactions: [\n")
    proc = run_sim("-m", search, choice.replace("policy=", "policy=open,"),
                   f"hydra.sweep.dir={tmp_path / 's'}", *TINY)
    assert proc.returncode == 2 and "YAML syntax error" in proc.stderr
    assert not (tmp_path / "s").exists()


# ---- data files ----------------------------------------------------------------------------------
def _data_with(tmp_path: Path, file: str, key: str, column: str, value: str) -> Path:
    import csv

    folder = tmp_path / "data"
    folder.mkdir()
    for spec in FILES:
        shutil.copy(default_data_dir() / spec.file, folder / spec.file)
    with (folder / file).open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    row = next(r for r in rows[1:] if r[0] == key)
    row[rows[0].index(column)] = value
    with (folder / file).open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    return folder


@pytest.mark.parametrize(("file", "key", "column", "value", "expected"), [
    ("countries.csv", "FI", "normal_mean_stay_days", "0.5", ">= 1"),
    ("regions.csv", "RU-AD", "men_at_risk", "99999999999999999999999", "64-bit"),
    ("regions.csv", "RU-AD", "men_at_risk", "900000000000", "<= 5e+06"),
    ("posts.csv", "GE-01", "capacity_persons_per_day", "1e400", "not an integer"),
    ("countries.csv", "FI", "lat", "inf", "not a finite number"),
    ("countries.csv", "FI", "normal_mean_stay_days", "99999999999999999999999", "<= 3650"),
    # found by the long fuzz run: a call-up number above a later one made the pace negative
    ("callup_2022.csv", "2022-09-21", "called_up_cumulative", "95764", "cumulative"),
])
def test_data_values_the_model_cannot_use_are_named(tmp_path, file, key, column, value,
                                                    expected):
    folder = _data_with(tmp_path, file, key, column, value)
    with pytest.raises(DataError) as err:
        load_tables(folder)
    message = str(err.value)
    for part in (file, f"'{key}'", column, expected):
        assert part in message, message


# ---- faults ----------------------------------------------------------------------------------
def test_result_files_are_readable_by_others(tmp_path):
    from sim.atomic import atomic_write_text

    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "summary.json", "{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "summary.json").stat().st_mode) == 0o644


def test_resume_rechecks_the_files_it_would_skip(tmp_path):
    from sim.sweep import job_is_complete, write_job_status

    (tmp_path / "daily.csv").write_text("date,node,node_type,metric,value\n2022-09-14,a,b,c,1\n")
    (tmp_path / "summary.json").write_text(json.dumps(
        {"policy": "open", "seed": 1, "left_russia": 1, "left_russia_by_2022_10_04": 1,
         "runtime_seconds": 1.0}))
    write_job_status(tmp_path, "complete", "f")
    assert job_is_complete(tmp_path, "f")
    text = (tmp_path / "daily.csv").read_text()
    (tmp_path / "daily.csv").write_text(text[:40])  # truncated by a crash or a full disk
    assert not job_is_complete(tmp_path, "f")
    (tmp_path / "daily.csv").write_text(text)
    assert job_is_complete(tmp_path, "f")
    (tmp_path / "daily.csv").unlink()
    assert not job_is_complete(tmp_path, "f")


def test_zero_jobs_is_an_error_not_three_processes():
    from sim.parallel import effective_jobs

    with pytest.raises(InputError, match="n_jobs"):
        effective_jobs(0)
    assert effective_jobs(1) == 1 and effective_jobs(-1) == (os.cpu_count() or 1)


def test_policy_config_needs_a_name():
    assert PolicyConfig().name == ""  # the schema has no default name: see validation


# ---- domain checks where the arithmetic needs them -----------------------------------------------
@pytest.mark.parametrize(("override", "field"), [
    ("seed=-1", "seed"),  # numpy's generator: a traceback after the folder existed
    ("behaviour.intensity_exponent=400", "intensity_exponent"),  # overflow to NaN
    ("start=0001-01-01", "start"),  # a horizon of 2,000 years: 9.8 GiB allocated
])
def test_values_the_arithmetic_cannot_use_are_named_before_the_run(tmp_path, override, field):
    with pytest.raises(ConfigError, match=field):
        load_config(["policy=open", override, *TINY])
    proc = run_sim("policy=open", override, f"hydra.run.dir={tmp_path / 'run'}", *TINY)
    assert proc.returncode == 2 and field in proc.stderr, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and not (tmp_path / "run").exists()


def test_a_misspelt_region_code_is_named_not_ignored():
    cfg = small_config("policy=open", "+population.visa_region_multiplier.RU-SPX=3.0")
    with pytest.raises(ConfigError, match=r"RU-SPX.*did you mean 'RU-SP"):
        MobilisationModel(cfg)
    from sim.preflight import check_with_world

    with pytest.raises(ConfigError, match="RU-SPX"):
        check_with_world(cfg)


def _posterior(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "posterior.csv"
    path.write_text("hazard_base,weight\n" + "\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize(("rows", "expected"), [
    (["0.001,0", "0.002,0"], "every weight is zero"),
    (["0.001,1", "0.002,-1"], "row 2, field 'weight'"),
    (["0.001,1", "about 0.002,1"], "row 2, field 'hazard_base'"),
    (["0.001,1", "nan,1"], "row 2, field 'hazard_base'"),
])
def test_a_posterior_file_is_checked_cell_by_cell(tmp_path, rows, expected):
    """All-zero or negative weights were drawn from silently (NaN cumulative weights pick the
    last particle), a text cell failed deep inside a run."""
    from analysis.comparison import posterior_draws

    path = _posterior(tmp_path, rows)
    with pytest.raises(DataError) as err:
        posterior_draws(path, ROOT / "conf" / "calibration" / "parameters.yaml", 5, 1)
    assert expected in str(err.value) and str(path) in str(err.value)


EVAL = ["particles=1", "seeds=1", "scale=0.002", "n_workers=1", "model_error=0"]


def evaluate_one_row(tmp_path, obs_id: str, *extra: str) -> subprocess.CompletedProcess:
    """`python -m experiments.evaluate` on a file holding only the shipped row `obs_id`."""
    rows = (ROOT / "sim" / "data" / "observations_2022.csv").read_text().splitlines()
    path = tmp_path / f"{obs_id}.csv"
    path.write_text("\n".join([rows[0], next(r for r in rows if r.startswith(f"{obs_id},"))])
                    + "\n")
    return subprocess.run([sys.executable, "-m", "experiments.evaluate", f"observations={path}",
                           *EVAL, *extra, f"hydra.run.dir={tmp_path / 'run'}"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)


def test_evaluate_scores_a_file_of_which_one_row_maps(tmp_path):
    """One mapped row was an AxisError from the forecast scores (a batch of one)."""
    proc = evaluate_one_row(tmp_path, "obs015", "model_error=calibration")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Scored 1 fit rows" in proc.stdout


def test_a_rejected_evaluation_leaves_no_folder(tmp_path):
    proc = evaluate_one_row(tmp_path, "obs013")
    assert proc.returncode == 2 and "no fit row could be mapped" in proc.stdout + proc.stderr
    assert not (tmp_path / "run").exists()  # unmapped.csv kept it before
