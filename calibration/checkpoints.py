"""Checkpoints of a calibration: state.json in the work folder (the fingerprint of what the
checkpoints depend on, and which stages are done), locked so that one calibration at a time
uses a work folder."""

from __future__ import annotations

import dataclasses
import fcntl
import json
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from calibration.paths import project_path
from calibration.problem import Problem
from sim.atomic import atomic_write_text
from sim.errors import InputError
from sim.fingerprint import fingerprint as sim_fingerprint


def fingerprint(cfg: DictConfig, problem: Problem) -> str:
    """What the checkpoints depend on: observations, data, parameters, the model's fully
    resolved configuration (config files and policy bases expanded, not the overrides that name
    them), the code, and the settings."""
    from sim.provenance import code_version

    obs_text = project_path(cfg.observations).read_text(encoding="utf-8")
    spec = {"params": [dataclasses.asdict(p) | {"why": ""} for p in problem.params],
            "model": dataclasses.asdict(problem.base), "code": code_version(),
            "scale": cfg.scale, "loss": cfg.loss,
            "abort_departures": cfg.abort_departures,
            "max_extrapolated_days": cfg.max_extrapolated_days,
            # the budgets decide when ABC stops, not what a generation computes: a calibration
            # stopped by its time budget resumes with a larger one
            "abc": {k: v for k, v in OmegaConf.to_container(cfg.abc).items()
                    if k not in ("max_walltime_minutes", "max_simulations")}}
    return sim_fingerprint(spec, problem.base.network.data_dir, obs_text)


class State:
    """state.json in the work folder: the fingerprint and which stages are done."""

    def __init__(self, folder: Path, key: str, restart: bool) -> None:
        self.path = folder / "state.json"
        folder.mkdir(parents=True, exist_ok=True)
        # one calibration per work folder: a second one would overwrite the first's checkpoints
        self._lock = (folder.parent / f".{folder.name}.lock").open("w")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SystemExit(f"another calibration is using {folder}; wait for it or stop it"
                             ) from None
        old = json.loads(self.path.read_text()) if self.path.exists() else None
        if old is None and any(f.is_file() for f in folder.iterdir()):
            self.close()
            raise InputError(f"work folder {folder} holds files but no calibration state.json: "
                             "not a calibration's work folder (choose an empty work_dir)")
        if restart or old is None:
            for f in folder.iterdir():  # a calibration's own checkpoints (state.json found)
                if f.is_file() and f.suffix != ".lock":
                    f.unlink()
            self.data: dict[str, Any] = {"fingerprint": key}
            self.save()
        elif old.get("fingerprint") != key:
            raise SystemExit(
                f"{folder} holds checkpoints of a different calibration (observations, data, "
                f"parameters or settings changed). Re-run with restart=true to start over.")
        else:
            self.data = old

    def close(self) -> None:
        """Release the work folder for the next calibration."""
        fcntl.flock(self._lock, fcntl.LOCK_UN)
        self._lock.close()

    def save(self) -> None:
        atomic_write_text(self.path, json.dumps(self.data, indent=2, default=float))

    def __getitem__(self, key: str) -> Any:
        return self.data.get(key)

    def __setitem__(self, key: str, value: Any) -> None:
        self.data[key] = value
        self.save()
