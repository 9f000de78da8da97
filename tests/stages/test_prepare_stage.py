"""The `prepare` stage through its command line, as `dvc repro` runs it."""

import json
import shutil

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
