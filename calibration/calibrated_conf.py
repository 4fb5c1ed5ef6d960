"""Stage 4 of the calibration: the configured point written as conf/{behaviour,network}/
calibrated.yaml, each inheriting its group's default.yaml and overriding only the calibrated
values."""

from __future__ import annotations

from pathlib import Path

from calibration.parameters import Param
from sim.atomic import atomic_write_text
from sim.config import SimConfig


def write_calibrated_conf(conf_dir: Path, params: list[Param], values: dict[str, float],
                          note: str, base: SimConfig | None = None) -> list[Path]:
    """conf/{behaviour,network}/calibrated.yaml: inherit the group's default.yaml, override only
    the calibrated values. An element of a list field is written as the whole list, the other
    elements from `base` (the calibration's model config)."""
    written = []
    for group in ("behaviour", "network"):
        chosen = {p.path.split(".", 1)[1]: values[p.name] for p in params
                  if p.path.startswith(group + ".")}
        if not chosen:
            continue
        lines = [f"# Calibrated {group} parameters, written by `python -m experiments.calibrate`",
                 f"# ({note}). Everything else comes from default.yaml; the posterior and its",
                 "# report are in results/calibration/, the method in docs/calibration.md.",
                 "defaults:", "  - default", "  - _self_", ""]
        nested: dict[str, dict[str, float]] = {}
        for key, v in chosen.items():
            field, _, sub = key.partition(".")
            if sub:  # a mapping field, e.g. network.capacity_factor_by_exit.KZ
                nested.setdefault(field, {})[sub] = v
            else:
                lines.append(f"{key}: {float(v):.6g}")
        for field, entries in nested.items():
            if all(k.isdigit() for k in entries):
                if base is None:
                    raise ValueError(f"{group}.{field}: writing list elements needs the base "
                                     "config")
                items = [float(x) for x in getattr(getattr(base, group), field)]
                for k, v in entries.items():
                    items[int(k)] = float(v)
                lines.append(f"{field}: [{', '.join(f'{x:.6g}' for x in items)}]")
                continue
            lines.append(f"{field}:")
            lines += [f"  \"{k}\": {float(v):.6g}" for k, v in entries.items()]  # NO: Norway
        path = conf_dir / group / "calibrated.yaml"
        atomic_write_text(path, "\n".join(lines) + "\n")
        written.append(path)
    return written
