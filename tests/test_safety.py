"""Files and text one is handed are data: no code or environment reachable from a policy file,
the page's text fields or the command line, and every name that becomes a path confined to its
folder (docs/safety.md). Each test names the hostile input it stands for."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sim.config import CONF_DIR, load_config
from sim.errors import ConfigError, InputError

ROOT = Path(__file__).resolve().parents[1]
TINY = ["population.scale=0.001", "progress=false"]


def handed_policy(tmp_path: Path, name: str, text: str) -> list[str]:
    """A policy file as a colleague hands it over: in a config folder of its own, chosen through
    Hydra's search path (conf/policy is left as it is)."""
    folder = tmp_path / "handed"
    (folder / "policy").mkdir(parents=True, exist_ok=True)
    (folder / "policy" / f"{name}.yaml").write_text(text, encoding="utf-8")
    return [f"hydra.searchpath=[file://{folder}]", f"policy={name}"]


# ---- policy files: only the policy, no code, no environment --------------------------------------
@pytest.mark.parametrize(("text", "named"), [
    # the file sets the population's scale while the results carry the policy's name
    ("# @package _global_\npolicy:\n  name: handed\n  actions: []\npopulation:\n  scale: 0.5\n",
     "@package"),
    # OmegaConf would read the server's environment into the description
    ("name: handed\ndescription: ${oc.env:HOME}\nactions: []\n", "${"),
    # an alias: the smallest of the alias bombs that hang a YAML reader
    ("name: handed\ndescription: &d closed\nactions:\n  - kind: close\n    start: '2022-09-20'\n"
     "    note: *d\n", "alias"),
    # a file far larger than any policy
    ("name: handed\ndescription: " + "x" * 300_000 + "\nactions: []\n", "KiB"),
    # a key the schema does not know: a typo, or a key meant for another part of the config
    ("name: handed\nactions: []\nscale: 0.5\n", "unknown key"),
])
def test_a_handed_policy_file_may_set_only_the_policy(tmp_path, text, named):
    with pytest.raises(ConfigError, match=re.escape(named) if named != "${" else r"\$\{"):
        load_config([*handed_policy(tmp_path, "handed", text), *TINY])


def test_a_policy_file_cannot_add_hydra_callbacks_that_write_files(tmp_path):
    """`# @package _global_` + `hydra.callbacks` instantiates any callable: here `open(PATH,
    'w')`, which creates a file. The run stops with exit 2 before Hydra reads the file."""
    planted = tmp_path / "written_by_a_policy_file"
    text = ("# @package _global_\npolicy:\n  name: handed\n  actions: []\nhydra:\n  callbacks:\n"
            f"    evil:\n      _target_: builtins.open\n      file: {planted}\n      mode: w\n")
    proc = subprocess.run([sys.executable, "-m", "sim", *handed_policy(tmp_path, "handed", text),
                           f"hydra.run.dir={tmp_path / 'run'}", *TINY], capture_output=True,
                          text=True, timeout=240, cwd=ROOT)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "@package" in proc.stderr and "Traceback" not in proc.stderr
    assert not planted.exists() and not (tmp_path / "run").exists()


def test_a_plain_handed_policy_file_is_accepted(tmp_path):
    cfg = load_config([*handed_policy(tmp_path, "handed", "name: handed\nactions: []\n"), *TINY])
    assert cfg.policy.name == "handed" and cfg.population.scale == 0.001


# ---- typed text: never interpolated -------------------------------------------------------------
SECRET = "s3cr3t-of-the-server"


def test_the_pages_text_never_reads_the_servers_environment(monkeypatch):
    from app.scenario import checked, custom_policy, scenario_config

    monkeypatch.setenv("SAFETY_TEST_SECRET", SECRET)
    form = {"kind": "close", "targets": "${oc.env:SAFETY_TEST_SECRET}", "start": "2022-09-25"}
    config, error = checked(lambda: scenario_config(custom_policy("historical", [form]), 0.001))
    assert config is None and error is not None
    assert SECRET not in error and "${" in error


@pytest.mark.parametrize("field", ["start", "end", "categories", "factor"])
def test_every_text_field_of_the_page_refuses_interpolation(monkeypatch, field):
    from app.scenario import action_from_form

    monkeypatch.setenv("SAFETY_TEST_SECRET", SECRET)
    form = {"kind": "capacity_factor", "targets": "KZ", "start": "2022-09-25",
            field: "${oc.env:SAFETY_TEST_SECRET}"}
    with pytest.raises(ConfigError, match="not allowed") as err:  # refused for the `${` itself
        action_from_form(form, 0)
    assert SECRET not in str(err.value)


def test_an_override_is_taken_literally(monkeypatch):
    monkeypatch.setenv("SAFETY_TEST_SECRET", "7")
    with pytest.raises(ConfigError, match=r"seed.*not allowed"):
        load_config(["seed=${oc.env:SAFETY_TEST_SECRET}", *TINY])


# ---- names that become paths ---------------------------------------------------------------------
@pytest.mark.parametrize("name", ["x/../victim", "x/../../../../elsewhere", "", "..", ".hidden",
                                  "a/b", "/etc/passwd", "a" * 101, "ok\n", "dots..here"])
def test_a_name_that_is_not_plain_is_refused(name):
    from sim.path_names import check_name

    with pytest.raises(ConfigError, match="not a valid name"):
        check_name(name, "name")


def test_a_name_cannot_leave_its_folder_through_a_symbolic_link(tmp_path):
    from sim.path_names import confined

    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "link").symlink_to(tmp_path)
    assert confined(tmp_path / "root", "fine", "name") == (tmp_path / "root" / "fine").resolve()
    with pytest.raises(ConfigError, match="outside"):
        confined(tmp_path / "root", "link", "name")


@pytest.mark.parametrize("override", ["policy.name=x/../victim",
                                      "policy.name=x/../../../../elsewhere"])
def test_a_policy_name_cannot_move_the_run_folder(tmp_path, override):
    """The run folder is results/runs/<stamp>_<policy name>_seed<seed>: a name with `..` put
    it over another run or outside the project."""
    with pytest.raises(ConfigError, match=r"policy\.name"):
        load_config([override, *TINY])
    from sim.preflight import preflight

    with pytest.raises(InputError, match=r"policy\.name"):
        preflight([override, *TINY, f"hydra.run.dir={tmp_path / 'run'}"])
    assert not (tmp_path / "run").exists()


def test_a_policy_base_cannot_read_a_file_outside_conf_policy(tmp_path):
    outside = tmp_path / "outside.yaml"
    outside.write_text("name: outside\nactions: []\n")
    relative = os.path.relpath(outside.with_suffix(""), CONF_DIR / "policy")
    with pytest.raises(ConfigError, match=r"policy\.base"):
        load_config(["policy=open", f"policy.base={relative}", *TINY])


def test_the_pages_policy_description_cannot_read_outside_conf_policy(tmp_path):
    from app.scenario import describe

    outside = tmp_path / "outside.yaml"
    outside.write_text(f"name: outside\ndescription: {SECRET}\nactions: []\n")
    assert describe(os.path.relpath(outside.with_suffix(""), CONF_DIR / "policy")) == ""
    assert describe("historical")  # a catalogue policy's description is still shown


@pytest.mark.parametrize("name", ["", "../../x", "a/b"])
def test_a_comparison_name_cannot_replace_or_leave_its_output_root(tmp_path, name):
    """`name=` (empty) made the report folder the output_root itself: the comparison replaced
    the whole folder, and everything in it, with its report."""
    from analysis.comparison import compare

    out = tmp_path / "out"
    out.mkdir()
    (out / "earlier_report.txt").write_text("keep me")
    cfg = compare_config(f"name={name}", f"output_root={out}")
    with pytest.raises(ConfigError, match="name"):
        compare(cfg)
    assert (out / "earlier_report.txt").read_text() == "keep me"
    assert sorted(p.name for p in out.iterdir()) == ["earlier_report.txt"]


def compare_config(*overrides: str):
    from hydra import compose, initialize_config_dir

    import analysis.config  # noqa: F401 - registers the schema

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name="experiment/compare", overrides=[
            "policies=[open]", "seeds=1", "scale=0.0005", "plots=false", "progress=false",
            "n_jobs=1", "model_overrides=['end=2022-10-01']", "baseline=open", *overrides])


# ---- the page's server ---------------------------------------------------------------------------
def _scope(kind: str, host: str, origin: str | None = None) -> dict:
    headers = [(b"host", host.encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    return {"type": kind, "headers": headers}


@pytest.mark.parametrize(("kind", "host", "origin", "refused"), [
    ("websocket", "127.0.0.1:8765", "http://127.0.0.1:8765", False),
    ("websocket", "localhost:8765", "http://localhost:8765", False),
    ("websocket", "127.0.0.1:8765", "http://evil.example", True),  # another site's page
    ("websocket", "127.0.0.1:8765", "http://127.0.0.1:9999", True),  # another local server
    ("websocket", "evil.example:8765", "http://evil.example:8765", True),  # DNS rebinding
    ("http", "evil.example:8765", None, True),
    ("http", "127.0.0.1:8765", None, False),
])
def test_the_page_serves_only_its_own_host_and_origin(kind, host, origin, refused):
    from app.serve import refusal

    assert (refusal(_scope(kind, host, origin)) is not None) == refused


def test_a_team_server_names_its_host(monkeypatch):
    from app.serve import refusal

    scope = _scope("websocket", "sim.example.org:8765", "http://sim.example.org:8765")
    assert refusal(scope) is not None
    monkeypatch.setenv("APP_ALLOWED_HOSTS", "sim.example.org")
    assert refusal(scope) is None


def test_a_refused_websocket_is_closed_before_the_page_sees_it():
    import asyncio

    from app.serve import OriginCheck

    reached, sent = [], []

    async def page(scope, receive, send):
        reached.append(scope)

    async def send(message):
        sent.append(message)

    check = OriginCheck(page)
    asyncio.run(check(_scope("websocket", "127.0.0.1:1", "http://evil.example"), None, send))
    assert not reached and sent[0]["type"] == "websocket.close"
    asyncio.run(check(_scope("websocket", "127.0.0.1:1", "http://127.0.0.1:1"), None, send))
    assert len(reached) == 1


def test_make_app_binds_to_this_machine_by_default():
    makefile = (ROOT / "Makefile").read_text()
    assert "APP_HOST ?= 127.0.0.1" in makefile and "-m app.serve" in makefile

