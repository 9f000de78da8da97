"""The `prepare` stage through its command line, as `dvc repro` runs it."""

import json
import shutil

import pytest
import yaml
from typer.testing import CliRunner

from tests.conftest import DATASETS, load_stage
from tests.test_prepare import MINI, mini_rows

runner = CliRunner()
app = load_stage("prepare")


def write_params(tmp_path, *, dataset="mini", dataset_path="", **prepare):
    params = {
        "base": {"seed": 1, "dataset": dataset, "dataset_path": str(dataset_path)},
        "prepare": {"n_rows": 600, "val_size": 0.2, "test_size": 0.2, "min_class_rows": 10, **prepare},
    }
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


def cli(tmp_path, params):
    return runner.invoke(
        app,
        [
            "--params",
            str(params),
            "--out-dir",
            str(tmp_path / "prepared"),
            "--metrics",
            str(tmp_path / "m.json"),
            "--datasets-dir",
            str(tmp_path / "datasets"),
        ],
    )


def user_dataset(tmp_path, df):
    (tmp_path / "datasets").mkdir(exist_ok=True)
    (tmp_path / "datasets" / "mini.yaml").write_text(yaml.safe_dump(MINI))
    df.to_csv(tmp_path / "ed.csv", index=False)
    return write_params(tmp_path, dataset_path=tmp_path / "ed.csv")


def test_simulated_default_dataset(tmp_path):
    shutil.copytree(DATASETS, tmp_path / "datasets")
    result = cli(tmp_path, write_params(tmp_path, dataset="ed_trauma_sim"))
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["rows"] == {"train": 360, "val": 120, "test": 120}
    assert metrics["dataset"] == "ed_trauma_sim"


def test_user_table(tmp_path):
    result = cli(tmp_path, user_dataset(tmp_path, mini_rows()))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "prepared" / "train.parquet").is_file()


def test_bad_table_exits_1_and_writes_nothing(tmp_path):
    df = mini_rows()
    df.loc[0, "sex"] = "alien"
    result = cli(tmp_path, user_dataset(tmp_path, df))
    assert result.exit_code == 1
    assert "Column 'sex' has 1 value(s)" in result.output
    assert not (tmp_path / "prepared").exists() and not (tmp_path / "m.json").exists()


def test_failed_rerun_keeps_previous_outputs(tmp_path):
    assert cli(tmp_path, user_dataset(tmp_path, mini_rows())).exit_code == 0
    before = (tmp_path / "prepared" / "train.parquet").read_bytes()
    result = cli(tmp_path, user_dataset(tmp_path, mini_rows().drop(columns="age")))
    assert result.exit_code == 1 and "Column 'age' is missing" in result.output
    assert (tmp_path / "prepared" / "train.parquet").read_bytes() == before


def test_unknown_dataset_and_bad_params(tmp_path):
    (tmp_path / "datasets").mkdir()
    result = cli(tmp_path, write_params(tmp_path, dataset="nope"))
    assert result.exit_code == 1 and "nope.yaml not found" in result.output
    result = cli(tmp_path, write_params(tmp_path, dataset="nope", val_size=2))
    assert result.exit_code == 1 and "prepare.val_size" in result.output


# Malformed raw files, for the `table` reader (the user's spec, MINI plus a date) and the `neiss` reader.
ARRIVAL = {
    "name": "arrival",
    "kind": "datetime",
    "bounds": ["2003-01-01", "2005-12-31"],
    "parts": ["year"],
    "description": "arrival date",
}
NEISS_HEADER = (
    "CPSC_Case_Number,Treatment_Date,Age,Sex,Race,Body_Part,Diagnosis,Disposition,Location,Fire_Involvement,"
    "Product_1,Narrative,Stratum,PSU,Weight\n"
)
NEISS_CODES = (
    "Format name,Starting value for format,Ending value for format,Format value label\n"
    "PROD,1842,1842,1842 - STAIRS OR STEPS\n"
)
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\x00"


def _table_with_bad_date() -> str:
    df = mini_rows().assign(arrival="2004-01-01")
    df.loc[3, "arrival"] = "1/31/04"
    return df.to_csv(index=False)


CONTENT = {
    ("table", "missing column"): "visit_id,age\nV1,30\n",
    ("table", "bad date"): _table_with_bad_date(),
    ("table", "empty file"): "",
    ("table", "non-CSV bytes"): PNG,
    ("neiss", "missing column"): "CPSC_Case_Number,Age\n1,30\n",
    ("neiss", "bad date"): NEISS_HEADER
    + "1,31.12.2019,30,MALE,WHITE,HEAD,CONCUSSION,RELEASED,HOME,NO/?,STAIRS OR STEPS,FELL,V,1,1\n",
    ("neiss", "empty file"): "",
    ("neiss", "non-CSV bytes"): PNG,
}
EXPECTED = {
    ("table", "missing column"): "Column 'sex' is missing",
    ("table", "bad date"): "Column 'arrival' has 1 value(s) of the wrong type (rows 3), e.g. 1/31/04",
    ("table", "empty file"): "is empty",
    ("table", "non-CSV bytes"): "is not UTF-8 text",
    ("neiss", "missing column"): "is missing required column(s)",
    ("neiss", "bad date"): "'Treatment_Date' has 1 value(s) that are not dates",
    ("neiss", "empty file"): "is empty",
    ("neiss", "non-CSV bytes"): "is not UTF-8 text",
}


def _malformed(tmp_path, reader, case):
    (tmp_path / "datasets").mkdir(exist_ok=True)
    if reader == "neiss":
        shutil.copy(DATASETS / "neiss.yaml", tmp_path / "datasets" / "neiss.yaml")
        (tmp_path / "neiss_code_text_mapping.csv").write_text(NEISS_CODES)
    else:
        spec = dict(MINI, columns=[*MINI["columns"], ARRIVAL])
        (tmp_path / "datasets" / "mini.yaml").write_text(yaml.safe_dump(spec))
    content = CONTENT[reader, case]
    path = tmp_path / "raw.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return write_params(tmp_path, dataset="neiss" if reader == "neiss" else "mini", dataset_path=path)


@pytest.mark.parametrize(("reader", "case"), list(EXPECTED))
def test_malformed_files_exit_1_with_a_message_not_a_traceback(tmp_path, reader, case):
    result = cli(tmp_path, _malformed(tmp_path, reader, case))
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # stage_errors handled it: no traceback
    assert "Traceback" not in result.output
    assert f"error: {'The dataset' if EXPECTED[reader, case].startswith('Column') else ''}" in result.output
    assert EXPECTED[reader, case] in result.output, result.output
    assert not (tmp_path / "prepared").exists()


def test_a_raw_file_outside_raw_dir_is_warned_about(tmp_path):
    params = user_dataset(tmp_path, mini_rows())  # the table lies in tmp_path
    inside = runner.invoke(app, ["--params", str(params), "--raw-dir", str(tmp_path), *_outputs(tmp_path)])
    assert inside.exit_code == 0, inside.output
    assert "DVC cannot see changes" not in inside.output
    outside = runner.invoke(app, ["--params", str(params), "--raw-dir", str(tmp_path / "raw"), *_outputs(tmp_path)])
    assert outside.exit_code == 0, outside.output
    assert f"is outside {tmp_path / 'raw'}/: DVC cannot see changes to it" in outside.output


def _outputs(tmp_path):
    return [
        "--out-dir",
        str(tmp_path / "prepared"),
        "--metrics",
        str(tmp_path / "m.json"),
        "--datasets-dir",
        str(tmp_path / "datasets"),
    ]
