"""The commands, thin Hydra apps on top of the libraries: `python -m experiments.compare_policies`
and `experiments.sensitivity` (analysis/), `experiments.calibrate`, `experiments.evaluate`,
`experiments.holdout` and `experiments.calibration_report` (calibration/). No module imports a
command (tests/test_layout.py). See docs/experiments.md and docs/calibration.md.
"""
