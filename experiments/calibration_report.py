"""`python -m experiments.calibration_report [variant=NAME] [key=value ...]`: redraw the
calibration's report from its saved files without re-running anything
(calibration/report.py)."""

from __future__ import annotations

import sys

from calibration.report import redraw


def main(argv: list[str] | None = None) -> None:
    folder = redraw(list(argv if argv is not None else sys.argv[1:]))
    print(f"report redrawn in {folder}")


if __name__ == "__main__":
    main()
