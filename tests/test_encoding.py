"""TableEncoder: spec-driven, data-independent, and decode(encode(x)) == x within bounds."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from traumasynth.core.errors import ModelMismatchError, SchemaError
from traumasynth.encoding.table import MISSING_LEVEL, EncodedTable, TableEncoder
from traumasynth.spec import DatasetSpec
from traumasynth.spec.schema import validate


def make_spec(parts: list[str], name: str = "tiny") -> DatasetSpec:
    return DatasetSpec.model_validate(
        {
            "name": name,
            "description": "hand-written test spec",
            "columns": [
                {"name": "rid", "kind": "identifier", "role": "excluded", "description": "id"},
                {"name": "age", "kind": "integer", "bounds": [0, 105], "description": "age"},
                {"name": "gcs", "kind": "integer", "bounds": [3, 15], "nullable": True, "description": "gcs"},
                {"name": "temp", "kind": "continuous", "bounds": [32, 42], "nullable": True, "description": "t"},
                {"name": "los", "kind": "continuous", "bounds": [0, 720], "transform": "log1p", "description": "los"},
                {"name": "sex", "kind": "categorical", "categories": ["female", "male"], "description": "sex"},
                {
                    "name": "place",
                    "kind": "categorical",
                    "categories": ["home", "road", "other"],
                    "nullable": True,
                    "description": "place",
                },
                {
                    "name": "arrival",
                    "kind": "datetime",
                    "bounds": ["2018-01-01", "2023-12-31"],
                    "parts": parts,
                    "nullable": True,
                    "description": "arrival time",
                },
                {"name": "note", "kind": "text", "role": "narrative", "description": "free text"},
                {
                    "name": "mechanism",
                    "kind": "categorical",
                    "role": "target",
                    "categories": ["fall", "assault", "self_harm"],
                    "description": "mechanism",
                },
            ],
        }
    )


SPEC = make_spec(["year", "month", "weekday", "hour"])
SPEC_DOY = make_spec(["year", "dayofyear", "hour"], name="tiny_doy")
MODELLED = [c.name for c in SPEC.modelled_columns]

_hours = st.datetimes(min_value=dt.datetime(2018, 1, 1), max_value=dt.datetime(2023, 12, 31, 23)).map(
    lambda d: d.replace(minute=0, second=0, microsecond=0)
)
_row = st.fixed_dictionaries(
    {
        "age": st.integers(0, 105),
        "gcs": st.none() | st.integers(3, 15),
        "temp": st.none() | st.floats(32, 42),
        "los": st.floats(0, 720),
        "sex": st.sampled_from(["female", "male"]),
        "place": st.none() | st.sampled_from(["home", "road", "other"]),
        "arrival": st.none() | _hours,
        "mechanism": st.sampled_from(["fall", "assault", "self_harm"]),
    }
)


def to_frame(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=MODELLED)
    return pd.DataFrame(
        {
            "age": pd.array(df["age"], dtype="Int64"),
            "gcs": pd.array(df["gcs"].astype(object), dtype="Int64"),
            "temp": df["temp"].astype("float64"),
            "los": df["los"].astype("float64"),
            "sex": df["sex"].astype("str"),
            "place": pd.Series(df["place"].astype(object), dtype="str"),
            "arrival": pd.to_datetime(df["arrival"]).astype("datetime64[ns]"),
            "mechanism": df["mechanism"].astype("str"),
        }
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(_row, min_size=1, max_size=30))
def test_round_trip_within_bounds(rows):
    df = to_frame(rows)
    enc = TableEncoder(SPEC)
    out = enc.decode(enc.encode(df), seed=0)
    validate(out, SPEC, columns=MODELLED)
    for col in ["age", "gcs", "sex", "place", "mechanism"]:  # exact
        pd.testing.assert_series_equal(out[col], df[col], check_names=False)
    for col in ["temp", "los"]:
        np.testing.assert_allclose(out[col].to_numpy(), df[col].to_numpy(), rtol=1e-5, atol=1e-4)
    # the declared datetime parts survive; the day of month is drawn to match the weekday
    assert out["arrival"].isna().tolist() == df["arrival"].isna().tolist()
    present = df["arrival"].notna()
    got, want = out.loc[present, "arrival"].dt, df.loc[present, "arrival"].dt
    for part in ["year", "month", "day_of_week", "hour"]:
        assert getattr(got, part).tolist() == getattr(want, part).tolist()


@settings(max_examples=40, deadline=None)
@given(stamps=st.lists(_hours, min_size=1, max_size=20))
def test_datetime_with_dayofyear_is_exact(stamps):
    enc = TableEncoder(SPEC_DOY)
    rows = [
        {
            "age": 30,
            "gcs": 15,
            "temp": 37.0,
            "los": 2.0,
            "sex": "male",
            "place": "home",
            "arrival": s,
            "mechanism": "fall",
        }
        for s in stamps
    ]
    df = to_frame(rows)
    out = enc.decode(enc.encode(df), seed=3)
    assert out["arrival"].tolist() == df["arrival"].tolist()


def test_layout_comes_from_the_spec_only():
    enc = TableEncoder(SPEC)
    assert enc.num_names == [
        "age",
        "gcs",
        "temp",
        "los",
        "arrival.year",
        "arrival.month",
        "arrival.weekday",
        "arrival.hour",
    ]
    assert enc.cat_names == ["gcs.__missing__", "temp.__missing__", "sex", "place", "arrival.__missing__"]
    assert enc.cat_sizes == [2, 2, 2, 4, 2]
    assert enc.classes == ("fall", "assault", "self_harm")
    miss = enc.num_missing_slot
    assert miss[:4] == [-1, 0, 1, -1] and miss[4:] == [4, 4, 4, 4]


def test_scaling_uses_spec_bounds_not_data_statistics():
    enc = TableEncoder(SPEC)
    rows = [
        {
            "age": a,
            "gcs": None,
            "temp": 37.0,
            "los": 0.0,
            "sex": "male",
            "place": None,
            "arrival": None,
            "mechanism": "fall",
        }
        for a in (0, 21, 105)
    ]
    x = enc.encode(to_frame(rows))
    np.testing.assert_allclose(x.x_num[:, 0], [-1.0, -0.6, 1.0], atol=1e-6)
    one = enc.encode(to_frame(rows[1:2]))  # the same row alone encodes the same way
    np.testing.assert_array_equal(one.x_num[0], x.x_num[1])
    np.testing.assert_allclose(x.x_num[:, 3], -1.0)  # los = 0 -> log1p(0) = low bound
    assert x.x_cat[0, enc.cat_names.index("place")] == 3  # the __missing__ level
    assert x.x_cat[0, enc.cat_names.index("gcs.__missing__")] == 1
    assert x.x_num[0, 1] == 0.0  # a missing numeric is a neutral 0
    assert MISSING_LEVEL == "__missing__"


def test_decode_of_arbitrary_model_output_passes_the_schema():
    enc = TableEncoder(SPEC)
    rng = np.random.default_rng(1)
    n = 300
    arrays = EncodedTable(
        x_num=rng.uniform(-1.5, 1.5, (n, enc.n_num)).astype(np.float32),
        x_cat=np.stack([rng.integers(0, k, n) for k in enc.cat_sizes], axis=1),
        y=rng.integers(0, enc.n_classes, n),
    )
    out = enc.decode(arrays, seed=5)
    validate(out, SPEC, columns=MODELLED)
    assert out["gcs"].isna().sum() == (arrays.x_cat[:, 0] == 1).sum()
    pd.testing.assert_frame_equal(out, enc.decode(arrays, seed=5))  # seeded


def test_encode_reports_every_problem_at_once():
    rows = [
        {
            "age": 200,
            "gcs": 15,
            "temp": 37.0,
            "los": 1.0,
            "sex": "alien",
            "place": "home",
            "arrival": None,
            "mechanism": "fall",
        }
    ]
    with pytest.raises(SchemaError) as err:
        TableEncoder(SPEC).encode(to_frame(rows))
    text = str(err.value)
    assert "'age'" in text and "outside 0..105" in text and "alien" in text


def test_missing_column_is_named():
    df = to_frame(
        [
            {
                "age": 1,
                "gcs": 15,
                "temp": 37.0,
                "los": 1.0,
                "sex": "male",
                "place": "home",
                "arrival": None,
                "mechanism": "fall",
            }
        ]
    ).drop(columns=["sex"])
    with pytest.raises(SchemaError, match="Column 'sex' is missing"):
        TableEncoder(SPEC).encode(df)


def test_dict_round_trip_and_spec_mismatch():
    enc = TableEncoder(SPEC)
    again = TableEncoder.from_dict(enc.to_dict(), spec=SPEC)
    assert again.cat_sizes == enc.cat_sizes and again.num_names == enc.num_names
    with pytest.raises(ModelMismatchError, match="Retrain"):
        TableEncoder.from_dict(enc.to_dict(), spec=SPEC_DOY)


def test_decode_rejects_a_wrong_layout():
    enc = TableEncoder(SPEC)
    bad = EncodedTable(np.zeros((2, 3), np.float32), np.zeros((2, enc.n_cat), np.int64), np.zeros(2, np.int64))
    with pytest.raises(SchemaError, match="x_num has shape"):
        enc.decode(bad, seed=0)
