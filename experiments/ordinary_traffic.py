"""`python -m experiments.ordinary_traffic [out_dir=DIR] [counts=FILE] [scale=S] [seeds=N]
[MODEL_OVERRIDES...]`: the configured model's ordinary traffic against the official counts of
sim/data/ordinary_counts_2022.csv (calibration/ordinary.py); writes ordinary_traffic.csv and .md
into out_dir (default results/calibration/ordinary_traffic). Any other key=value is a model
override, e.g. behaviour.pull=features. Bad input: one line, exit code 2, no folder."""

from __future__ import annotations

import sys
from pathlib import Path

from calibration.ordinary import ordinary_traffic_table
from calibration.paths import project_path
from sim.errors import ConfigError, InputError
from sim.validation import INPUT_ERROR_EXIT

DEFAULTS = {"counts": "sim/data/ordinary_counts_2022.csv",
            "out_dir": "results/calibration/ordinary_traffic",
            # the whole population: at 0.01 a small post's ordinary traffic is a few agents a day
            "scale": "1.0", "seeds": "3"}


def parse(argv: list[str]) -> tuple[dict[str, str], list[str]]:
    """The command's own keys (DEFAULTS) and the model overrides, in their order."""
    own, overrides = dict(DEFAULTS), []
    for arg in argv:
        key, sep, value = arg.partition("=")
        if sep and key in DEFAULTS:
            own[key] = value
        elif sep:
            overrides.append(arg)
        else:
            raise ConfigError(arg, "expected key=value (out_dir, counts, scale, seeds, or a "
                              "model override)")
    return own, overrides


def _number(own: dict[str, str], key: str, kind: type) -> float | int:
    try:
        value = kind(own[key])
    except ValueError:
        what = "an integer" if kind is int else "a number"
        raise ConfigError(key, f"{own[key]!r} is not {what}") from None
    if not 0 < value <= (1.0 if key == "scale" else 100):
        raise ConfigError(key, f"{value} is out of range ({'0 < scale <= 1' if key == 'scale'
                                                          else '1 <= seeds <= 100'})")
    return value


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if {"-h", "--help"} & set(args):
        print(__doc__)
        return
    try:
        own, overrides = parse(args)
        scale, seeds = _number(own, "scale", float), _number(own, "seeds", int)
        out_dir = project_path(own["out_dir"])
        ordinary_traffic_table(project_path(own["counts"]), out_dir, overrides,
                                       float(scale), list(range(1, int(seeds) + 1)))
    except InputError as err:
        print(f"invalid input: {err}", file=sys.stderr)
        sys.exit(INPUT_ERROR_EXIT)
    print((Path(out_dir) / "ordinary_traffic.md").read_text(), end="")


if __name__ == "__main__":
    main()
