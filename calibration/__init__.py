"""The calibration library: fitting the model to reported crossing figures.

parameters (priors, shared with the sensitivity analysis) -> observe (the observation operator:
reported rows as functions of a run) -> problem (model + observations, one simulation) ->
abc (ABC-SMC posterior) -> optimise (a point estimate) -> ensemble (posterior predictive runs)
-> scores (errors, intervals, summaries) -> report; checkpoints keep every stage resumable and
pipeline runs the stages. evaluate and holdout score a posterior on any observations file.

Commands live in experiments/ (`python -m experiments.calibrate`, `.evaluate`, `.holdout`);
nothing here imports them, and the simulator (sim/) imports nothing from here.
"""
