"""The analyst's web page: a map of the exodus, a policy switch, runs against 2022 (Solara).

Serve it with `make app` (http://127.0.0.1:8765). It sits on top of the model and reads it only
through its public API (`sim`, `sim.config`, `sim.policy`, `sim.network`, the `RunRecord`).
"""
