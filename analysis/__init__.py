"""Analyses on top of the simulation: policy comparisons with common random numbers and paired
differences (`analysis.comparison`), and the sensitivity analysis, Morris then Sobol
(`analysis.sensitivity`); their plots and config schemas. The commands are in experiments/
(`python -m experiments.compare_policies`, `python -m experiments.sensitivity`)."""
