"""Experiments on top of the simulation: calibration, evaluation, policy comparisons, sensitivity.

Each module is a command (`python -m experiments.compare_policies`, `python -m
experiments.sensitivity`, `python -m experiments.calibrate`, `python -m experiments.evaluate`).
The sweep machinery they share with `python -m sim -m` lives in `sim.sweep`.
See docs/experiments.md and docs/calibration.md.
"""
