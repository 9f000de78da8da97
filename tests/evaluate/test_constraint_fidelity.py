"""fidelity.constraint_violation_rate (before enforcement, from sample) and _released (on the table)."""

from __future__ import annotations

import pandas as pd

from traumasynth.evaluate.fidelity import constraint_fidelity
from traumasynth.spec import DatasetSpec


def test_before_and_after_enforcement(sim_spec: DatasetSpec, sim_rows: pd.DataFrame) -> None:
    broken = sim_rows.copy()
    home = broken.index[broken["disposition"] == "home"][:6]
    broken.loc[home, "length_of_stay_h"] = 500.0  # a week in the ED after discharge home
    out = constraint_fidelity(sample_metrics={"constraint_violation_rate": 0.125}, synthetic=broken, spec=sim_spec)
    assert out == {
        "constraint_violation_rate": 0.125,
        "constraint_violation_rate_released": round(6 / len(broken), 6),
    }
    assert constraint_fidelity(sample_metrics={}, synthetic=sim_rows, spec=sim_spec) == {
        "constraint_violation_rate": None,  # a sample run older than the rules
        "constraint_violation_rate_released": 0.0,
    }


def test_a_spec_without_rules_reports_none(sim_spec: DatasetSpec, sim_rows: pd.DataFrame) -> None:
    bare = sim_spec.model_copy(update={"constraints": ()})
    out = constraint_fidelity(sample_metrics={"constraint_violation_rate": 0.0}, synthetic=sim_rows, spec=bare)
    assert out == {"constraint_violation_rate": None, "constraint_violation_rate_released": None}
