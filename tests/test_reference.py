"""docs/reference.md is generated from the schemas: the committed file must be what
`python -m experiments.reference` writes now, and it must name every setting and data file."""

from __future__ import annotations

import dataclasses

from experiments.reference import OUT, reference
from sim import datasets
from sim.config import BehaviourConfig, NetworkConfig, PopulationConfig


def test_the_committed_reference_is_up_to_date():
    assert OUT.read_text(encoding="utf-8") == reference(), (
        "docs/reference.md is stale: run `python -m experiments.reference` and commit it")


def test_the_reference_names_every_setting_and_data_column():
    text = reference()
    for prefix, cls in (("network", NetworkConfig), ("population", PopulationConfig),
                        ("behaviour", BehaviourConfig)):
        for f in dataclasses.fields(cls):
            assert f"`{prefix}.{f.name}`" in text, f"{prefix}.{f.name}"
    for spec in datasets.FILES:
        assert f"### {spec.file}" in text
        for col in spec.columns:
            assert f"| `{col.name}` |" in text, (spec.file, col.name)
    assert "**Calibrated**, prior loguniform 0.0002 to 0.04" in text  # behaviour.hazard_base
