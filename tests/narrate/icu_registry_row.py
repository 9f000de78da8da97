"""One row of the made-up ICU-registry layout (``tests/data/statement_labels/icu_registry.yaml``), for the
unsupported-statement and number-guard tests: a layout the checker was not written on."""

from __future__ import annotations

import pandas as pd

from tests.conftest import REPO

REGISTRY_SPEC = REPO / "tests" / "data" / "statement_labels" / "icu_registry.yaml"


def registry_row(**changes: object) -> dict[str, object]:
    """A 66-year-old man, ICU 60.8 h, not ventilated, no cervical level injured; ``changes`` on top."""
    row: dict[str, object] = dict(
        age=66, sex="M", injury_date=pd.Timestamp("2017-06-18"), admission_time=pd.Timestamp("2017-06-18 18:28"),
        mechanism="low_fall", gcs_ed=14, sbp_ed=147, weight_kg=86.6, iss=32, icu_hours=60.8,
        ventilation_hours=None, hospital_days=9.3, outcome="alive", **{f"spine_c{i}": "N" for i in range(1, 8)},
    )  # fmt: skip
    row.update(changes)
    return row
