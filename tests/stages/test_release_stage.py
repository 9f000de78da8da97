"""Stage `release` through its command line: the folder and its card, and a missing input as a one-line error."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from tests.conftest import REPO, load_stage
from tests.test_release import _stage_outputs
from traumasynth.spec import DatasetSpec

runner = CliRunner()
app = load_stage("release")


def _invoke(root: Path) -> object:
    params = root / "params.yaml"
    base = {"seed": 42, "dataset": "ed_trauma_sim", "models": ["vae"]}
    params.write_text(yaml.safe_dump({"base": base, "prepare": {}, "sample": {}}))
    args = [
        "--params", str(params), "--synthetic-dir", str(root / "synthetic"),
        "--narratives-dir", str(root / "narratives"), "--metrics-dir", str(root / "metrics"),
        "--out-dir", str(root / "release"), "--datasets-dir", str(REPO / "datasets"),
    ]  # fmt: skip
    return runner.invoke(app, args)


def test_release_writes_the_folder_and_its_card(tmp_path: Path, sim_spec: DatasetSpec) -> None:
    _stage_outputs(tmp_path, sim_spec, "vae", epsilon=1.0)
    result = _invoke(tmp_path)
    assert result.exit_code == 0, result.output
    card = json.loads((tmp_path / "release" / "privacy.json").read_text())
    assert card["differentially_private"] and card["epsilon"] <= 1.0 and card["epsilon_per_model"] == [1.0]
    assert card["rare_class_policy"].startswith("error")


def test_a_missing_narratives_file_is_one_line_and_exit_1(tmp_path: Path, sim_spec: DatasetSpec) -> None:
    _stage_outputs(tmp_path, sim_spec, "vae", epsilon=1.0)
    (tmp_path / "narratives" / "vae.parquet").unlink()
    result = _invoke(tmp_path)
    assert result.exit_code == 1
    assert result.output.startswith("error: ") and "narrate@vae" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "release").exists()
