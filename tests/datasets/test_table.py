"""The `table` reader on a user's own file: unlisted columns, blank and repeated headers, date formats, bad files.

Every row is invented here.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from traumasynth.core.errors import DataError, SchemaError, SpecError
from traumasynth.datasets import load_raw
from traumasynth.prepare import PrepareParams, prepare_dataset
from traumasynth.spec import DatasetSpec, load_spec

DATASETS = Path(__file__).resolve().parents[2] / "datasets"
PARAMS = PrepareParams(val_size=0.2, test_size=0.2, min_class_rows=10)

#: Four modelled columns and an arrival date of a made-up ED.
SPEC = {
    "name": "wide",
    "description": "an invented ED export",
    "reader": "table",
    "columns": [
        {"name": "age", "kind": "integer", "bounds": [0, 110], "description": "age"},
        {"name": "sex", "kind": "categorical", "categories": ["female", "male"], "description": "sex"},
        {
            "name": "arrival",
            "kind": "datetime",
            "bounds": ["2003-01-01", "2005-12-31"],
            "parts": ["year", "month"],
            "description": "arrival date",
        },
        {
            "name": "mechanism",
            "kind": "categorical",
            "role": "target",
            "categories": ["fall", "road"],
            "description": "mechanism",
        },
    ],
}


def make_spec(*, column_fields: dict[str, dict] | None = None, **top: object) -> DatasetSpec:
    """SPEC with top-level fields replaced, and per-column fields set as ``{column: {field: value}}``."""
    raw = copy.deepcopy({**SPEC, **top})
    for column in raw["columns"]:
        column.update((column_fields or {}).get(column["name"], {}))
    return DatasetSpec.model_validate(raw)


def rows(n: int = 120, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    days = pd.Timestamp("2004-01-01") + pd.to_timedelta(rng.integers(0, 700, n), unit="D")
    return pd.DataFrame(
        {
            "age": rng.integers(0, 100, n).astype(str),
            "sex": rng.choice(["female", "male"], n),
            "arrival": days.strftime("%Y-%m-%d"),
            "mechanism": rng.choice(["fall", "road"], n),
        }
    )


def write(tmp_path: Path, text: str | bytes, name: str = "ed.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


# --- 1. unlisted columns -----------------------------------------------------------------
def wide_file(tmp_path: Path, extra: int = 168) -> Path:
    df = rows()
    for i in range(extra):
        df[f"filler_{i}"] = "x"
    path = tmp_path / "wide.csv"
    df.to_csv(path, index=False)
    return path


def test_unlisted_columns_excluded_are_dropped_as_read(tmp_path: Path) -> None:
    spec = make_spec(unlisted_columns="exclude")
    path = wide_file(tmp_path)
    raw = load_raw(spec=spec, path=path, n_rows=0, seed=0)
    assert list(raw.columns) == ["age", "sex", "arrival", "mechanism"]
    data = prepare_dataset(spec=spec, params=PARAMS, dataset_path=path, seed=1)
    assert all(list(split.columns) == spec.column_names for split in data.splits().values())


def test_unlisted_columns_are_an_error_by_default_naming_the_option(tmp_path: Path) -> None:
    with pytest.raises(SchemaError) as err:
        prepare_dataset(spec=make_spec(), params=PARAMS, dataset_path=wide_file(tmp_path), seed=1)
    assert len(err.value.problems) == 1  # one line for all 168, not 168 lines
    problem = err.value.problems[0]
    assert "Columns 'filler_0', 'filler_1'" in problem and "(168 in all)" in problem
    assert "`unlisted_columns: exclude`" in problem


def test_reading_options_leave_the_spec_hash_alone() -> None:
    """Specs written before `source`, `format` and `unlisted_columns` keep their hash (and their models)."""
    plain = make_spec()
    # Pinned: the hash this spec had before the reading options existed (a change here invalidates saved models).
    assert plain.spec_hash == "421fdfc055cae49f60d186a0956c65d32cdd9810210377b85b1c8be9fa2d81e8"
    assert make_spec(unlisted_columns="error").spec_hash == plain.spec_hash
    with_options = make_spec(
        unlisted_columns="exclude", column_fields={"age": {"source": "#1"}, "arrival": {"format": "%m/%d/%y"}}
    )
    assert with_options.spec_hash == plain.spec_hash
    assert make_spec(column_fields={"age": {"bounds": [0, 120]}}).spec_hash != plain.spec_hash
    for name in ("ed_trauma_sim", "neiss"):  # the committed specs: their hash is what it was before these options
        spec = load_spec(DATASETS / f"{name}.yaml")
        assert spec.unlisted_columns == "error" and all(c.source is None and c.format is None for c in spec.columns)


def test_unlisted_columns_option_is_for_the_table_reader_only() -> None:
    raw = copy.deepcopy(SPEC) | {"reader": "ed_trauma_sim", "unlisted_columns": "exclude"}
    with pytest.raises(ValueError, match="`unlisted_columns` applies to the `table` reader only"):
        DatasetSpec.model_validate(raw)


# --- 2. blank and repeated headers ------------------------------------------------------------
# Header: a blank one (#2) and `sex` twice (#3 and #4); the spec reads age by header text.
HEADERS = "Age (years),,sex,sex,arrival,mechanism\n"


def headers_file(tmp_path: Path) -> Path:
    body = "".join(
        f"{30 + i},{i % 3},{'female' if i % 2 else 'male'},x,2004-01-{1 + i % 28:02d},{('fall', 'road')[i % 2]}\n"
        for i in range(40)
    )
    return write(tmp_path, HEADERS + body)


def test_columns_named_by_header_text_and_by_position(tmp_path: Path) -> None:
    spec = make_spec(
        unlisted_columns="exclude",
        columns=[
            *SPEC["columns"],
            {"name": "code", "source": "#2", "kind": "integer", "bounds": [0, 5], "description": "blank header"},
        ],
        column_fields={"age": {"source": "Age (years)"}, "sex": {"source": "#3"}},
    )
    raw = load_raw(spec=spec, path=headers_file(tmp_path), n_rows=0, seed=0)
    assert list(raw.columns) == ["age", "code", "sex", "arrival", "mechanism"]  # the file's order
    assert raw["code"].tolist()[:4] == ["0", "1", "2", "0"]
    assert raw["sex"].tolist()[:2] == ["male", "female"]  # #3, not the `x` of #4


def test_a_repeated_header_must_be_named_by_position(tmp_path: Path) -> None:
    spec = make_spec(unlisted_columns="exclude", column_fields={"age": {"source": "Age (years)"}})
    with pytest.raises(SchemaError) as err:
        load_raw(spec=spec, path=headers_file(tmp_path), n_rows=0, seed=0)
    assert "Column 'sex': header 'sex' appears 2 times (columns #3, #4)" in str(err.value)
    assert 'source: "#3"' in str(err.value)


def test_an_unlisted_blank_header_is_reported_by_position_not_by_a_pandas_name(tmp_path: Path) -> None:
    spec = make_spec(column_fields={"age": {"source": "Age (years)"}, "sex": {"source": "#3"}})
    with pytest.raises(SchemaError) as err:
        prepare_dataset(spec=spec, params=PARAMS, dataset_path=headers_file(tmp_path), seed=1)
    text = str(err.value)
    assert "Columns '#2', '#4' (2 in all) are not in the dataset specification" in text
    assert "blank or repeated" in text and "Unnamed" not in text and "sex.1" not in text


def test_source_position_beyond_the_file_and_missing_source_header(tmp_path: Path) -> None:
    spec = make_spec(unlisted_columns="exclude", column_fields={"age": {"source": "#9"}})
    with pytest.raises(SchemaError, match=r"'age' reads column #9 \(`source`\), but the file has 6 columns"):
        load_raw(spec=spec, path=headers_file(tmp_path), n_rows=0, seed=0)
    spec = make_spec(unlisted_columns="exclude", column_fields={"age": {"source": "Âge"}, "sex": {"source": "#3"}})
    with pytest.raises(SchemaError, match=r"Column 'age' \(header 'Âge', its `source`\) is missing"):
        prepare_dataset(spec=spec, params=PARAMS, dataset_path=headers_file(tmp_path), seed=1)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"age": {"source": "#0"}}, "positions count from 1"),
        ({"age": {"source": "sex"}}, r"several columns read the same column of the file: \['sex'\]"),
        ({"age": {"source": "#2"}, "sex": {"source": "#2"}}, r"same column of the file: \['#2'\]"),
        ({"age": {"format": "%m/%d/%y"}}, "`format` is only for datetime columns"),
        ({"arrival": {"format": "%Q"}}, "not a strftime date format"),
    ],
)
def test_bad_reading_options_in_the_spec(fields: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_spec(column_fields=fields)


def test_source_is_for_the_table_reader_only(tmp_path: Path) -> None:
    spec_file = tmp_path / "neiss.yaml"
    text = (DATASETS / "neiss.yaml").read_text().replace("  - name: age\n", '  - name: age\n    source: "#3"\n')
    spec_file.write_text(text)
    with pytest.raises(SpecError, match="`source` is read by the `table` reader only, not `neiss`"):
        load_spec(spec_file)


# --- 3. date formats ----------------------------------------------------------------------------
def test_dates_in_a_declared_format(tmp_path: Path) -> None:
    df = rows()
    df["arrival"] = pd.to_datetime(df["arrival"]).map(lambda d: f"{d.month}/{d.day}/{d:%y}")  # 1/1/04
    df.loc[0, "arrival"] = "1/1/04"
    path = tmp_path / "us.csv"
    df.to_csv(path, index=False)
    spec = make_spec(column_fields={"arrival": {"format": "%m/%d/%y"}})
    data = prepare_dataset(spec=spec, params=PARAMS, dataset_path=path, seed=1)
    arrival = pd.concat(data.splits().values())["arrival"]
    assert arrival.dtype == "datetime64[ns]" and pd.Timestamp("2004-01-01") in set(arrival)

    with pytest.raises(SchemaError) as err:  # without `format`, the message says to add one
        prepare_dataset(spec=make_spec(), params=PARAMS, dataset_path=path, seed=1)
    assert "Column 'arrival'" in str(err.value) and "e.g. 1/1/04" in str(err.value)
    assert 'format: "%m/%d/%y"' in str(err.value)


def test_a_date_not_in_the_format_names_column_value_and_format(tmp_path: Path) -> None:
    df = rows()
    df["arrival"] = pd.to_datetime(df["arrival"]).dt.strftime("%m/%d/%y")
    df.loc[7, "arrival"] = "2004-02-03"
    path = tmp_path / "mixed.csv"
    df.to_csv(path, index=False)
    spec = make_spec(column_fields={"arrival": {"format": "%m/%d/%y"}})
    with pytest.raises(SchemaError) as err:
        prepare_dataset(spec=spec, params=PARAMS, dataset_path=path, seed=1)
    (problem,) = err.value.problems
    assert "Column 'arrival' has 1 value(s)" in problem and "(rows 7)" in problem
    assert "e.g. 2004-02-03" in problem and "format '%m/%d/%y'" in problem


# --- 6. malformed files: a clear message, never a traceback -----------------------------------------
MALFORMED = {
    "missing column": ("ed.csv", "age,sex,mechanism\n30,male,fall\n", SchemaError, "Column 'arrival' is missing"),
    "bad date": (
        "ed.csv",
        "age,sex,arrival,mechanism\n30,male,2004-13-45,fall\n",
        SchemaError,
        "Column 'arrival' has 1 value(s) of the wrong type (rows 0), e.g. 2004-13-45",
    ),
    "empty file": ("ed.csv", "", DataError, "is empty. Export the table again with a header row."),
    "header only": ("ed.csv", "age,sex,arrival,mechanism\n", DataError, "has a header but no rows"),
    "non-CSV bytes": ("ed.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", DataError, "is not UTF-8 text"),
    "long rows": ("ed.csv", "age,sex\n30,male,fall,x\n", DataError, "rows with more fields than its header"),
    "ragged rows": ("ed.csv", "age,sex\n30,male\n31,male,x\n", DataError, "cannot be read as a .csv file"),
    "not Parquet": ("ed.parquet", b"PAR1 this is not parquet", DataError, "cannot be read as a .parquet file"),
    "other suffix": ("ed.xlsx", b"PK\x03\x04", DataError, "has suffix '.xlsx'; use a .csv or .parquet file"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_files_give_one_clear_message(tmp_path: Path, case: str) -> None:
    name, content, error, message = MALFORMED[case]
    with pytest.raises(error) as err:
        prepare_dataset(spec=make_spec(), params=PARAMS, dataset_path=write(tmp_path, content, name), seed=1)
    text = str(err.value)
    assert message in text, text
    lines = err.value.problems if isinstance(err.value, SchemaError) else [text]
    assert len(lines) == 1 and "\n" not in lines[0], text  # one line per problem


# --- 7. tools/fake_table.py: a made-up wide export the spec reads --------------------------------------
def test_fake_table_writes_a_wide_export_the_spec_reads(tmp_path: Path) -> None:
    """`--extra-columns` appends columns the spec does not list; `#N` gets its blank header, dates their format."""
    import importlib.util

    import yaml
    from typer.testing import CliRunner

    spec = make_spec(
        unlisted_columns="exclude", column_fields={"sex": {"source": "#2"}, "arrival": {"format": "%m/%d/%y"}}
    )
    spec_path = tmp_path / "wide.yaml"
    spec_path.write_text(yaml.safe_dump(spec.model_dump(mode="json", exclude_none=True)))
    module_spec = importlib.util.spec_from_file_location("tool_fake_table", DATASETS.parent / "tools" / "fake_table.py")
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    out = tmp_path / "wide.csv"
    result = CliRunner().invoke(module.app, [str(spec_path), str(out), "--rows", "40", "--extra-columns", "7"])
    assert result.exit_code == 0, result.output
    assert "40 made-up rows, 11 columns" in result.output
    header = out.read_text().splitlines()[0].split(",")
    assert header == ["age", "", "arrival", "mechanism", *(f"extra_{i}" for i in range(1, 8))]
    assert pd.read_csv(out, dtype=str)["arrival"].str.fullmatch(r"\d\d/\d\d/\d\d").all()
    raw = load_raw(spec=spec, path=out, n_rows=0, seed=0)
    assert list(raw.columns) == ["age", "sex", "arrival", "mechanism"] and len(raw) == 40
