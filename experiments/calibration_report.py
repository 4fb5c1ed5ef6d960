"""`python -m experiments.calibration_report [variant=NAME] [key=value ...]`: redraw the
calibration's report from its saved files without re-running anything (calibration/report.py).
The intervals are drawn through the predictive error the calibration recorded in its
summary.json (the structural discrepancy, or the scalar model error), as the calibration drew
them."""

from __future__ import annotations

import sys

from calibration.report import redraw


def main(argv: list[str] | None = None) -> None:
    folder = redraw(list(argv if argv is not None else sys.argv[1:]))
    print(f"report redrawn in {folder}")


if __name__ == "__main__":
    main()
