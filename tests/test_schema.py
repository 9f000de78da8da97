"""Pandera schemas are generated from the spec, never written by hand."""

import pandas as pd
import pytest

from traumasynth.core.errors import SchemaError
from traumasynth.spec import DatasetSpec
from traumasynth.spec.schema import build_schema, conform, empty_frame, validate

SPEC = DatasetSpec.model_validate(
    {
        "name": "gen",
        "description": "schema generation",
        "columns": [
            {"name": "id", "kind": "identifier", "role": "excluded", "description": "id"},
            {"name": "gcs", "kind": "integer", "bounds": [3, 15], "nullable": True, "description": "GCS"},
            {"name": "los", "kind": "continuous", "bounds": [0, 720], "transform": "log1p", "description": "LOS"},
            {
                "name": "seen",
                "kind": "datetime",
                "bounds": ["2020-01-01", "2020-12-31"],
                "parts": ["month"],
                "description": "arrival",
            },
            {"name": "mech", "kind": "categorical", "role": "target", "categories": ["a", "b"], "description": "m"},
        ],
    }
)


def good() -> pd.DataFrame:
    return conform(
        pd.DataFrame(
            {
                "id": ["1", "2"],
                "gcs": ["15", ""],
                "los": ["2.5", "48"],
                "seen": ["2020-03-01", "2020-12-31 23:00"],
                "mech": ["a", "b"],
            }
        ),
        SPEC,
    )


def test_schema_mirrors_spec():
    schema = build_schema(SPEC)
    assert list(schema.columns) == SPEC.column_names
    assert schema.strict is True
    assert schema.columns["gcs"].nullable and not schema.columns["los"].nullable
    assert schema.columns["id"].unique
    assert str(schema.columns["gcs"].dtype) == "Int64"
    assert schema.columns["mech"].description == "m"
    assert list(build_schema(SPEC, ["gcs", "mech"]).columns) == ["gcs", "mech"]


def test_canonical_frame_validates_and_keeps_nulls():
    df = good()
    assert validate(df, SPEC).equals(df)
    assert df["gcs"].isna().tolist() == [False, True]
    assert str(df["seen"].dtype) == "datetime64[ns]"


@pytest.mark.parametrize(
    ("column", "value", "fragment"),
    [
        ("gcs", 2, "within bounds 3..15"),
        ("los", 721.0, "within bounds 0..720"),
        ("seen", pd.Timestamp("2021-01-01"), "within dates"),
        ("mech", "c", "category in"),
        ("los", None, "nullable: true"),
    ],
)
def test_each_check_fails(column, value, fragment):
    df = good()
    df.loc[0, column] = value
    with pytest.raises(SchemaError, match=fragment):
        validate(df, SPEC)


def test_subset_schema_is_strict():
    with pytest.raises(SchemaError, match="'id' is not in"):
        validate(good(), SPEC.model_copy(), columns=["gcs", "los", "seen", "mech"])


def test_empty_frame_has_canonical_dtypes():
    frame = empty_frame(SPEC)
    assert list(frame.columns) == SPEC.column_names
    assert validate(frame, SPEC).empty


def test_genuine_nulls_are_reported_with_the_type_errors_of_the_same_column():
    """One pass lists both: the wrong-type values, and the values missing in the raw table (not the former again)."""
    raw = pd.DataFrame(
        {
            "id": ["1", "2", "3", "4"],
            "gcs": ["15", "", "3", "4"],
            "los": ["abc", "", "2.5", "x"],  # not nullable: 2 of the wrong type, 1 missing
            "seen": ["2020-03-01", "31/12/2020", "", "2020-05-01"],  # not nullable: 1 of the wrong type, 1 missing
            "mech": ["a", "b", "a", "b"],
        }
    )
    with pytest.raises(SchemaError) as caught:
        conform(raw, SPEC)
    problems = caught.value.problems
    los = [p for p in problems if "'los'" in p]
    seen = [p for p in problems if "'seen'" in p]
    assert len(los) == 2 and "2 value(s) of the wrong type (rows 0, 3)" in los[0]
    assert "1 value(s) failing 'not_nullable' (rows 1)" in los[1] and "nullable: true" in los[1]
    assert len(seen) == 2 and "1 value(s) of the wrong type (rows 1)" in seen[0]
    assert "1 value(s) failing 'not_nullable' (rows 2)" in seen[1]


def test_a_type_error_alone_is_not_echoed_as_a_null():
    raw = pd.DataFrame({"id": ["1"], "gcs": ["15"], "los": ["abc"], "seen": ["2020-03-01"], "mech": ["a"]})
    with pytest.raises(SchemaError) as caught:
        conform(raw, SPEC)
    assert len(caught.value.problems) == 1 and "wrong type" in caught.value.problems[0]
