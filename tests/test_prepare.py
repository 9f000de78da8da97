"""`prepare` on a user's own table: the happy path and every kind of bad input."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from traumasynth.core.errors import DataError, ParamsError, SchemaError
from traumasynth.prepare import PrepareParams, prepare_dataset, prepare_metrics, write_prepared
from traumasynth.spec import DatasetSpec

MINI = {
    "name": "mini",
    "description": "a tiny hand-written ED table",
    "reader": "table",
    "columns": [
        {"name": "visit_id", "kind": "identifier", "role": "excluded", "description": "visit number"},
        {"name": "age", "kind": "integer", "bounds": [0, 110], "unit": "years", "description": "age"},
        {"name": "sex", "kind": "categorical", "categories": ["female", "male"], "description": "sex"},
        {
            "name": "sbp",
            "kind": "continuous",
            "bounds": [40, 250],
            "unit": "mmHg",
            "nullable": True,
            "description": "systolic blood pressure",
        },
        {"name": "note", "kind": "text", "role": "narrative", "nullable": True, "description": "triage note"},
        {"name": "ward", "kind": "text", "role": "excluded", "nullable": True, "description": "ward code"},
        {
            "name": "mechanism",
            "kind": "categorical",
            "role": "target",
            "categories": ["fall", "road", "other"],
            "description": "trauma mechanism",
        },
    ],
}
PARAMS = PrepareParams(val_size=0.2, test_size=0.2, min_class_rows=10)


@pytest.fixture()
def spec() -> DatasetSpec:
    return DatasetSpec.model_validate(MINI)


def mini_rows(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sbp = rng.normal(130, 15, n).round(0)
    sbp[rng.random(n) < 0.2] = np.nan
    return pd.DataFrame(
        {
            "visit_id": [f"V{i:05d}" for i in range(n)],
            "age": rng.integers(0, 100, n).astype(str),
            "sex": rng.choice(["female", "male"], n),
            "sbp": sbp,
            "note": "patient fell",
            "ward": "A",
            "mechanism": rng.choice(["fall", "road", "other"], n, p=[0.5, 0.3, 0.2]),
        }
    )


def write_csv(tmp_path: Path, df: pd.DataFrame) -> Path:
    path = tmp_path / "ed.csv"
    df.to_csv(path, index=False)
    return path


def run(spec, path):
    return prepare_dataset(spec=spec, params=PARAMS, dataset_path=path, seed=3)


def test_prepare_user_table(tmp_path, spec):
    data = run(spec, write_csv(tmp_path, mini_rows()))
    assert [len(data.train), len(data.val), len(data.test)] == [120, 40, 40]
    assert "ward" not in data.train.columns  # excluded
    assert {"visit_id", "note"} <= set(data.train.columns)  # id kept for traceability, narrative carried
    assert str(data.train["age"].dtype) == "Int64"
    ids = pd.concat([data.train, data.val, data.test])["visit_id"]
    assert ids.is_unique and len(ids) == 200
    # stratified: each split holds each class in about the same share
    shares = [df["mechanism"].value_counts(normalize=True)["fall"] for df in (data.train, data.val, data.test)]
    assert max(shares) - min(shares) < 0.05


def test_metrics_and_files(tmp_path, spec):
    data = run(spec, write_csv(tmp_path, mini_rows()))
    out = tmp_path / "prepared"
    metrics = write_prepared(data, spec=spec, out_dir=out, metrics_path=tmp_path / "m.json")
    assert sorted(p.name for p in out.iterdir()) == ["test.parquet", "train.parquet", "val.parquet"]
    assert metrics["rows"] == {"train": 120, "val": 40, "test": 40}
    assert sum(metrics["class_counts"]["train"].values()) == 120
    assert 0.1 < metrics["missingness"]["sbp"] < 0.3
    assert metrics == prepare_metrics(data, spec=spec)


def test_same_seed_same_split(tmp_path, spec):
    path = write_csv(tmp_path, mini_rows())
    pd.testing.assert_frame_equal(run(spec, path).train, run(spec, path).train)


def expect_problem(tmp_path, spec, df, *fragments):
    with pytest.raises(SchemaError) as info:
        run(spec, write_csv(tmp_path, df))
    text = str(info.value)
    for fragment in fragments:
        assert fragment in text, text
    return info.value


def test_missing_column(tmp_path, spec):
    expect_problem(tmp_path, spec, mini_rows().drop(columns="sex"), "Column 'sex' is missing")


def test_unknown_column(tmp_path, spec):
    expect_problem(tmp_path, spec, mini_rows().assign(bed="3"), "Column 'bed' is not in the dataset specification")


def test_unknown_category(tmp_path, spec):
    df = mini_rows()
    df.loc[[4, 9], "sex"] = "unknown"
    expect_problem(tmp_path, spec, df, "Column 'sex' has 2 value(s)", "rows 4, 9", "add the category")


def test_values_out_of_bounds_are_clipped_to_the_public_bounds_and_counted(tmp_path, spec):
    """The spec's bounds are public and set in advance: a value outside them is clipped, not a reason to widen them."""
    df = mini_rows()
    df.loc[17, "age"] = "130"
    df.loc[[3, 4], "sbp"] = [20.0, 400.0]
    data = run(spec, write_csv(tmp_path, df))
    full = pd.concat(data.splits().values())
    assert full["age"].max() == 110 and str(full["age"].dtype) == "Int64"
    assert full["sbp"].min() == 40.0 and full["sbp"].max() == 250.0
    assert data.clipped == {"age": 1, "sbp": 2}
    metrics = prepare_metrics(data, spec=spec)
    assert metrics["clipped_share"] == {"age": 0.005, "sbp": 0.01}


def test_validation_out_of_bounds_does_not_ask_to_widen_the_bounds_from_the_data(spec):
    from traumasynth.core.errors import SchemaError
    from traumasynth.spec.schema import validate

    frame = pd.DataFrame({"age": pd.array([130], dtype="Int64")})
    with pytest.raises(SchemaError) as err:
        validate(frame, spec, columns=["age"])
    assert "from public knowledge" in str(err.value.problems) and "widen" not in str(err.value.problems)


def test_wrong_type(tmp_path, spec):
    df = mini_rows()
    df.loc[[1, 2, 3], "age"] = "forty"
    df.loc[[5], "age"] = "4.5"
    expect_problem(tmp_path, spec, df, "Column 'age' has 4 value(s) of the wrong type", "forty")


def test_all_problems_reported_at_once(tmp_path, spec):
    df = mini_rows().drop(columns="note")
    df.loc[3, "sex"] = "x"
    df.loc[8, "age"] = "old"
    df["sbp"] = df["sbp"].astype(object)
    df.loc[9, "sbp"] = "high"
    err = expect_problem(tmp_path, spec, df, "'note' is missing", "'sex'", "'age'", "'sbp'")
    assert len(err.problems) == 4


def test_forbidden_null(tmp_path, spec):
    df = mini_rows()
    df.loc[6, "sex"] = None
    expect_problem(tmp_path, spec, df, "Column 'sex'", "nullable: true")


def test_duplicate_identifiers(tmp_path, spec):
    df = mini_rows()
    df.loc[10, "visit_id"] = df.loc[11, "visit_id"]
    expect_problem(tmp_path, spec, df, "Column 'visit_id' has 2 value(s)", "must be unique")


def test_empty_file(tmp_path, spec):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match="is empty"):
        run(spec, empty)
    header_only = tmp_path / "header.csv"
    header_only.write_text(",".join(mini_rows().columns) + "\n")
    with pytest.raises(DataError, match="no rows"):
        run(spec, header_only)


def test_file_not_found(tmp_path, spec):
    with pytest.raises(DataError, match="not found.*base.dataset_path"):
        run(spec, tmp_path / "nowhere.csv")
    with pytest.raises(DataError, match="`base.dataset_path` is empty"):
        run(spec, None)


def test_parquet_input(tmp_path, spec):
    path = tmp_path / "ed.parquet"
    mini_rows().to_parquet(path)
    assert len(run(spec, path).train) == 120


def test_rare_class_error_or_merge(tmp_path, spec):
    df = mini_rows()
    df.loc[df.index[df["mechanism"] == "road"][5:], "mechanism"] = "fall"  # 5 road rows left
    path = write_csv(tmp_path, df)
    with pytest.raises(DataError, match=r"fewer than 10 rows: 'road'\. .*prepare.merge_classes") as err:
        run(spec, path)
    assert "5 rows" not in str(err.value)  # names only: exact counts would invite finer decisions on them
    merge = {"rare_class_policy": "merge", "merge_classes": ("road",)}
    merged = prepare_dataset(spec=spec, params=PARAMS.model_copy(update=merge), dataset_path=path, seed=3)
    assert merged.merged_classes == ("road",)
    assert "road" not in set(merged.train["mechanism"])
    with pytest.raises(ParamsError, match="name 'misc', not classes of 'mechanism'"):
        prepare_dataset(
            spec=spec, params=PARAMS.model_copy(update={**merge, "merge_into": "misc"}), dataset_path=path, seed=3
        )
    with pytest.raises(ParamsError, match="needs `prepare.merge_classes`"):  # merge without naming the classes
        prepare_dataset(
            spec=spec, params=PARAMS.model_copy(update={"rare_class_policy": "merge"}), dataset_path=path, seed=3
        )


def test_merge_does_not_depend_on_the_counts(tmp_path, spec):
    """Named classes are folded however many rows they have: one row more or less relabels nothing else."""
    df = mini_rows()
    merge = PARAMS.model_copy(update={"rare_class_policy": "merge", "merge_classes": ("road",)})
    labels = []
    for name, rows in (("all", df), ("one_less", df.drop(df.index[df["mechanism"] == "road"][0]))):
        (tmp_path / name).mkdir()
        data = prepare_dataset(spec=spec, params=merge, dataset_path=write_csv(tmp_path / name, rows), seed=3)
        assert data.merged_classes == ("road",)
        labels.append(pd.concat(data.splits().values())["mechanism"].value_counts().to_dict())
    assert "road" not in labels[0] and "road" not in labels[1]
    assert labels[0]["other"] - labels[1]["other"] == 1  # only the removed row's label differs
    assert {k: v for k, v in labels[0].items() if k != "other"} == {k: v for k, v in labels[1].items() if k != "other"}
    assert merge.merge_description().startswith("merge: road folded into other")


def test_params_reject_impossible_split():
    with pytest.raises(ValueError, match="at least 10 %"):
        PrepareParams(val_size=0.5, test_size=0.45)


def test_broken_clinical_rules_are_reported_not_fatal(tmp_path, spec, caplog):
    rules = [
        {
            "name": "no_hypotension_in_falls",
            "description": "a deliberately false rule: fallers keep a systolic pressure of 140 or more",
            "if": {"column": "mechanism", "in": ["fall"]},
            "then": {"column": "sbp", "ge": 140},
        },
        {"name": "adult_pressure", "description": "always true here", "require": {"column": "sbp", "ge": 40}},
    ]
    ruled = DatasetSpec.model_validate({**MINI, "constraints": rules})
    rows = mini_rows()
    with caplog.at_level("WARNING", logger="traumasynth.prepare"):
        data = run(ruled, write_csv(tmp_path, rows))
    assert sum(len(df) for df in data.splits().values()) == len(rows)  # every row kept
    assert "break clinical rule 'no_hypotension_in_falls'" in caplog.text
    assert "adult_pressure" not in caplog.text
    report = prepare_metrics(data, spec=ruled)["constraints"]
    sbp = pd.to_numeric(rows["sbp"])
    expected = int(((rows["mechanism"] == "fall") & sbp.notna() & (sbp < 140)).sum())
    assert report["rules"]["no_hypotension_in_falls"]["rows"] == expected > 0
    assert report["rules"]["adult_pressure"] == {"rows": 0, "rate": 0.0}
    assert report["violation_rate"] == round(expected / len(rows), 6)
    assert prepare_metrics(run(spec, write_csv(tmp_path, rows)), spec=spec)["constraints"]["rules"] == {}


def test_rows_without_a_target_value_are_left_out_and_counted(tmp_path, spec):
    """A nullable target's missing values are rows with nothing to learn: dropped and counted, no traceback."""
    nullable = DatasetSpec.model_validate(
        {**MINI, "columns": [{**c, "nullable": True} if c["name"] == "mechanism" else c for c in MINI["columns"]]}
    )
    df = mini_rows()
    df.loc[[2, 5, 11], "mechanism"] = None
    data = run(nullable, write_csv(tmp_path, df))
    assert sum(len(s) for s in data.splits().values()) == len(df) - 3
    assert data.rows_without_target == 3 and prepare_metrics(data, spec=nullable)["rows_without_target"] == 3
    df["mechanism"] = None
    with pytest.raises(DataError, match="No row has a value of the target 'mechanism'"):
        run(nullable, write_csv(tmp_path, df))


def test_top_coded_ages_are_read_as_the_code_and_counted(tmp_path, spec):
    """A source writing ages over 89 as '>89' (or leaving one at 95) validates, and prepare keeps 90 for them."""
    rows = mini_rows()
    rows.loc[:9, "age"] = ">89"
    rows.loc[10:11, "age"] = "95"  # past the code: read as the code too
    rows.loc[12:14, "age"] = "<1"
    path = write_csv(tmp_path, rows)
    with pytest.raises(SchemaError, match=r"'age' has 13 value\(s\) of the wrong type"):  # no code: '>89' is text
        run(spec, path)
    columns = [c | {"top_code": {"value": 90, "label": ">89"}, "bottom_code": {"value": 0, "label": "<1"}}
               if c["name"] == "age" else c for c in MINI["columns"]]  # fmt: skip
    coded = DatasetSpec.model_validate(MINI | {"columns": columns})
    data = run(coded, path)
    ages = pd.concat(data.splits().values())["age"]
    assert ages.max() == 90 and (ages == 90).sum() >= 12 and (ages == 0).sum() >= 3
    metrics = prepare_metrics(data, spec=coded)
    assert metrics["coded_share"]["age"]["top"] == pytest.approx((ages == 90).mean(), abs=1e-6)
    assert set(metrics["coded_share"]) == {"age"}
