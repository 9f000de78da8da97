"""Reject and redraw: no released row breaks a rule, rates are reported, the same seed gives the same rows."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from traumasynth.core.errors import DataError
from traumasynth.models.marginals import MarginalsSynthesizer
from traumasynth.sampling.draw import sample_rows
from traumasynth.sampling.enforce import draw_valid
from traumasynth.sampling.params import SampleParams
from traumasynth.sampling.stage import generate_synthetic
from traumasynth.spec import DatasetSpec
from traumasynth.spec.constraints import check_constraints
from traumasynth.training import TrainParams


@pytest.fixture(scope="module")
def model(sim_spec: DatasetSpec, sim_rows: pd.DataFrame) -> MarginalsSynthesizer:
    """Independent marginals per class: they ignore the links between columns, so they break rules often."""
    synth = MarginalsSynthesizer(spec=sim_spec)
    synth.fit(sim_rows, params=TrainParams(epsilon=5.0, delta=1e-5), device=torch.device("cpu"), seed=0)
    return synth


def _generate(model: MarginalsSynthesizer, sim_rows: pd.DataFrame, **params: object):
    sample = SampleParams(strategy="balanced", n_rows=700, augment_target=150, **params)  # type: ignore[arg-type]
    return generate_synthetic(
        model="marginals", synthesizer=model, labels=sim_rows["mechanism"], plan=None, params=sample, seed=11
    )


def test_no_released_row_breaks_a_rule(model: MarginalsSynthesizer, sim_rows: pd.DataFrame) -> None:
    spec = model.spec
    result = _generate(model, sim_rows)
    for frame in (result.table, result.augment):
        assert check_constraints(frame, spec.constraints).violation_rate == 0.0
    assert result.table["mechanism"].value_counts().to_dict() == dict.fromkeys(spec.classes, 100)
    metrics = result.to_metrics()
    assert 0.0 < metrics["constraint_violation_rate"] < 0.9
    assert metrics["constraint_rejection_rate"] > 0.0
    table = metrics["constraints"]["table"]
    assert table["enforced"] and table["rounds"] >= 2 and table["rows_drawn"] > 700
    assert set(table["rejection_rate_per_rule"]) == {r.name for r in spec.constraints}
    assert table["violation_rate_per_rule"]["discharged_home_ed_stay"] > 0.0
    assert metrics["constraints"]["augment"]["rows_rejected"] > 0
    real = sim_rows["mechanism"].value_counts()
    assert metrics["augment_rows_per_class"] == {c: max(0, 150 - int(real.get(c, 0))) for c in spec.classes}


def test_enforcement_is_deterministic(model: MarginalsSynthesizer, sim_rows: pd.DataFrame) -> None:
    a, b = _generate(model, sim_rows), _generate(model, sim_rows)
    pd.testing.assert_frame_equal(a.table, b.table)
    pd.testing.assert_frame_equal(a.augment, b.augment)
    assert a.to_metrics()["constraints"] == b.to_metrics()["constraints"]


def test_without_enforcement_rows_are_released_as_drawn(model: MarginalsSynthesizer, sim_rows: pd.DataFrame) -> None:
    result = _generate(model, sim_rows, enforce_constraints=False)
    metrics = result.to_metrics()
    released = check_constraints(result.table, model.spec.constraints).violation_rate
    assert metrics["constraint_violation_rate"] == round(released, 6) > 0.0
    assert metrics["constraint_rejection_rate"] == 0.0
    counts = dict.fromkeys(model.spec.classes, 100)
    pd.testing.assert_frame_equal(
        result.table.drop(columns="patient_id"), sample_rows(synthesizer=model, counts=counts, seed=11)
    )


def test_a_class_that_cannot_be_filled_is_named(model: MarginalsSynthesizer) -> None:
    spec = model.spec
    impossible = spec.model_copy(
        update={
            "constraints": (
                *spec.constraints,
                type(spec.constraints[0]).model_validate(
                    {
                        "name": "no_self_harm_over_5",
                        "description": "deliberately almost never true",
                        "if": {"column": "mechanism", "in": ["self_harm"]},
                        "then": {"column": "age", "le": 1},
                    }
                ),
            )
        }
    )
    with pytest.raises(DataError, match=r"Cannot fill class 'self_harm'.*no_self_harm_over_5 .*enforce_constraints"):
        draw_valid(
            draw=lambda c, s: sample_rows(synthesizer=model, counts=c, seed=s),
            counts={"fall": 50, "self_harm": 100},
            rules=impossible.constraints,
            target="mechanism",
            seed=0,
        )
