from __future__ import annotations

import datetime as dt

import pandas as pd

from traumasynth.review.records import MISSING, column_label, format_record, format_value
from traumasynth.spec import ColumnSpec, DatasetSpec


def test_values_are_formatted_alike_whatever_their_dtype(sim_spec: DatasetSpec) -> None:
    sbp = sim_spec.column("sbp")
    # A real Int64 value, a decoded float and a plain int all read the same.
    assert format_value(sbp, pd.array([129], dtype="Int64")[0]) == "129 mmHg"
    assert format_value(sbp, 129.0) == "129 mmHg"
    assert format_value(sbp, 129) == "129 mmHg"
    temp = sim_spec.column("temperature")
    assert format_value(temp, 37.23456) == "37.2 °C"
    assert format_value(sim_spec.column("arrival_mode"), "mobile_icu") == "mobile icu"


def test_missing_values_read_the_same_for_every_kind(sim_spec: DatasetSpec) -> None:
    for value in (None, pd.NA, float("nan")):
        assert format_value(sim_spec.column("gcs"), value) == MISSING
        assert format_value(sim_spec.column("temperature"), value) == MISSING


def test_unit_repeating_the_column_name_is_dropped(sim_spec: DatasetSpec) -> None:
    assert format_value(sim_spec.column("triage_level"), 2) == "2"
    assert format_value(sim_spec.column("arrival_hour"), 14) == "14"
    assert format_value(sim_spec.column("injury_to_arrival_min"), 62) == "62 minutes"


def test_datetime_shows_only_the_modelled_parts() -> None:
    col = ColumnSpec(
        name="arrival",
        kind="datetime",
        description="Arrival time.",
        bounds=(dt.date(2017, 1, 1), dt.date(2021, 12, 31)),
        parts=("year", "month", "weekday"),
    )
    # Minutes and day of month are not modelled: showing them would unblind real rows.
    assert format_value(col, pd.Timestamp("2019-03-05 14:37")) == "2019, March, Tuesday"


def test_record_lists_modelled_columns_in_spec_order(sim_spec: DatasetSpec, sim_rows: pd.DataFrame) -> None:
    fields = format_record(sim_spec, sim_rows.iloc[0])
    assert [f[0] for f in fields] == [column_label(c) for c in sim_spec.modelled_columns]
    assert "Patient id" not in [f[0] for f in fields]
    assert fields[-1] == ["Mechanism", sim_rows.iloc[0]["mechanism"].replace("_", " ")]


def test_neiss_rows_format_without_gaps(neiss_dir) -> None:
    from traumasynth.datasets import load_raw
    from traumasynth.spec import load_spec

    spec = load_spec("datasets/neiss.yaml")
    rows = load_raw(spec=spec, path=neiss_dir / "NEISS_17-21_sample.csv", n_rows=200, seed=1).head(200)
    records = [format_record(spec, row) for _, row in rows.iterrows()]
    assert all(len(r) == len(spec.modelled_columns) for r in records)
    assert all(value for r in records for _, value in r)
