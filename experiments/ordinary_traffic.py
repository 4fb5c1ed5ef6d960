"""`python -m experiments.ordinary_traffic [--scale S] [--seeds N] [--out DIR]`: the configured
model's ordinary traffic against the official counts of sim/data/ordinary_counts_2022.csv
(calibration/ordinary.py); writes ordinary_traffic.csv and .md."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from calibration.ordinary import ordinary_traffic_table
from calibration.paths import project_path
from sim.errors import DataError
from sim.validation import INPUT_ERROR_EXIT


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--counts", default="sim/data/ordinary_counts_2022.csv")
    parser.add_argument("--out", default="results/calibration/ordinary_traffic")
    parser.add_argument("--scale", type=float, default=0.01)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("overrides", nargs="*",
                        help="model overrides, e.g. behaviour.pull=features")
    args = parser.parse_args(argv)
    try:
        table = ordinary_traffic_table(project_path(args.counts), project_path(args.out),
                                       list(args.overrides), args.scale,
                                       list(range(1, args.seeds + 1)))
    except DataError as err:
        print(f"invalid input: {err}", file=sys.stderr)
        sys.exit(INPUT_ERROR_EXIT)
    print((Path(project_path(args.out)) / "ordinary_traffic.md").read_text())
    daily = table[table["measure"] == "daily_before"]
    print(f"{int(daily['within_25pct'].sum())} of {len(daily)} daily counts within 25 %")


if __name__ == "__main__":
    main()
